import * as path from 'node:path';
import * as vscode from 'vscode';
import { showNoModels, type ConfigService } from '../config';
import type { ReviewLog } from '../log';
import { originOf } from '../../core/security/keyOrigin';
import type { ApiKeyStore } from '../secrets';
import { formatThreshold } from '../../core/rules/rules';
import { reviewerOf, reviewerViewOf, type ReviewService } from './reviewService';
import { EMBEDDING_KEY_NAME, type ScoringController } from './scoring';
import type { DatasetSession } from './session';
import type { SessionManager } from './sessions';
import { isDatasetFileName } from '../../core/store/sidecarNames';
import { ask, pick, showInfo, showWarning, ui } from '../surfaces';
import type { CommandName, CommandTable } from '../commands';
import type { BatchController } from './batches';

interface RowTarget {
  readonly session: DatasetSession;
  readonly index: number;
}

/** What the review commands work with. */
export interface ReviewCommandDeps {
  readonly context: vscode.ExtensionContext;
  readonly sessions: SessionManager;
  readonly review: ReviewService;
  readonly scoring: ScoringController;
  readonly config: ConfigService;
  readonly keys: ApiKeyStore;
  readonly log: ReviewLog;
  readonly batches: BatchController;
}

/** The commands the panel registers (src/host/panel/reviewPanel.ts); the review layer handles the rest. */
export type PanelCommandName = 'exportReport' | 'showPanel' | 'useSuggestedThreshold';

/** The review commands' handlers, one small named function each (run by commandRunner, src/host/commands.ts). */
export function reviewCommands(deps: ReviewCommandDeps): Omit<CommandTable, PanelCommandName> {
  const table: { readonly [K in Exclude<CommandName, PanelCommandName>]: (deps: ReviewCommandDeps, ...args: unknown[]) => unknown } = {
    scoreRow, scoreRowWith, scoreFile, scoreFileViaBatch, judgeFile, collectBatch, cancelBatch, cancelScoring, annotateRow, correctReference, editAnnotation, removeAnnotation,
    nextSuspectReference, nextBelowThreshold, exportAnnotatedCopy, setApiKey, clearApiKey, openSample, showLog,
    openInPanel, checkModels, toggleBlindMode, exportTrainingData, previewRequest, compactSidecars,
  };
  const bound = {} as Record<Exclude<CommandName, PanelCommandName>, (...args: unknown[]) => unknown>;
  for (const name of Object.keys(table) as (keyof typeof table)[]) bound[name] = (...args) => table[name](deps, ...args);
  return bound;
}

async function scoreRow(deps: ReviewCommandDeps, uri?: unknown, rowId?: unknown): Promise<void> {
  const row = rowFor(deps, uri, rowId);
  if (row) await deps.review.scoreRows([row.index], {}, row.session);
}

async function scoreRowWith(deps: ReviewCommandDeps, uri?: unknown, rowId?: unknown): Promise<void> {
  const row = rowFor(deps, uri, rowId);
  if (!row) return;
  const models = await pickModels(deps, row.session, `Score row ${row.session.dataset.rowIds()[row.index]} with…`);
  if (models) await deps.review.scoreRows([row.index], { models, rerun: true }, row.session);
}

async function scoreFile(deps: ReviewCommandDeps): Promise<void> {
  const session = activeSession(deps);
  if (session) await deps.review.scoreAll({}, session);
}

/** Asks the judge model (pisarReview.judge.model) for a verdict on every stored output of the active file (cached, resumable). */
async function judgeFile(deps: ReviewCommandDeps): Promise<void> {
  const session = activeSession(deps);
  if (session) await deps.scoring.judge(session);
}

/** Sends the file's missing rows as provider batches (engine and models picked), then follows them in the status bar. */
async function scoreFileViaBatch(deps: ReviewCommandDeps): Promise<void> {
  const session = activeSession(deps);
  if (session) await deps.batches.submit(session);
}

/** Reads the active dataset's pending batches now and stores the results of those that ended. */
async function collectBatch(deps: ReviewCommandDeps): Promise<void> {
  const session = activeSession(deps);
  if (session) await deps.batches.collectNow(session);
}

/** Cancels the active dataset's pending batches on the provider; lines already run are kept. */
async function cancelBatch(deps: ReviewCommandDeps): Promise<void> {
  const session = activeSession(deps);
  if (session) await deps.batches.cancel(session);
}

function cancelScoring(deps: ReviewCommandDeps): void {
  deps.scoring.cancel();
}

async function annotateRow(deps: ReviewCommandDeps, uri?: unknown, rowId?: unknown): Promise<void> {
  const row = rowFor(deps, uri, rowId);
  if (row) await deps.review.annotateInteractively(row.index, undefined, row.session);
}

/** Replaces a row's reference with typed text or a model's output, with a reason; re-scores that row with no model call. */
async function correctReference(deps: ReviewCommandDeps, uri?: unknown, rowId?: unknown): Promise<void> {
  const target = rowFor(deps, uri, rowId);
  if (!target) return;
  const { session, index } = target;
  const row = await session.dataset.getRow(index);
  const results = await session.resultsStore();
  const outputs = results.forRow(row.id).filter((r) => r.rowHash === row.hash && !r.error && r.output?.trim());
  type Choice = vscode.QuickPickItem & { model?: string };
  const choices: Choice[] = [
    { label: 'Type the corrected reference…' },
    ...outputs.map((r) => ({ label: `Adopt the output of ${r.model}`, detail: r.output!.slice(0, 200), model: r.model })),
  ];
  const choice = await pick(choices, { title: `Correct the reference of ${row.id}`, placeHolder: 'The dataset is not written: the correction is kept beside it, with your name and reason.' });
  if (!choice) return;
  const text = choice.model !== undefined
    ? outputs.find((r) => r.model === choice.model)!.output!
    : await ask({ title: `Corrected reference of ${row.id}`, value: row.reference ?? '', validateInput: (v) => (v.trim() === '' ? 'The corrected reference cannot be empty.' : undefined) });
  if (text === undefined) return;
  const reason = await ask({ title: 'Why is the reference corrected?', placeHolder: 'e.g. the reference blames the wrong cause', validateInput: (v) => (v.trim() === '' ? 'Give a reason: it is kept with the correction.' : undefined) });
  if (reason === undefined) return;
  const store = await session.annotationStore();
  const correction = await store.correct({
    rowId: row.id, rowHash: row.hash, reference: text, reason,
    source: choice.model !== undefined ? { kind: 'output', model: choice.model } : { kind: 'text' },
    reviewer: reviewerOf(deps.config.current.reviewer, session.file),
  });
  const rescored = await deps.scoring.rescoreCorrected(session, index, correction);
  void showInfo(ui`PiSAR Review: corrected the reference of row ${row.id}; ${rescored} output(s) re-scored against it (no model call).`);
}

/** Opens the exact request the row under the cursor would send to a model (chosen when several), read-only; nothing is sent. */
async function previewRequest(deps: ReviewCommandDeps, uri?: unknown, rowId?: unknown): Promise<void> {
  const target = rowFor(deps, uri, rowId);
  if (!target) return;
  const { session, index } = target;
  const models = deps.config.current.models;
  if (models.length === 0) {
    await showNoModels(deps.config.current);
    return;
  }
  const id = session.dataset.rowIds()[index];
  const model = models.length === 1 ? models[0] : (await pick(models.map((m) => ({ label: m.name, description: m.model, model: m })), { title: `Preview the request of row ${id} to…`, placeHolder: 'Which model?' }))?.model;
  if (!model) return;
  const { previewFor, showRequestPreview } = await import('./requestPreview');
  const preview = await previewFor(await session.dataset.getRow(index), model, session.file, await deps.keys.has(model.name));
  if ('problem' in preview) void showWarning(`PiSAR Review: ${preview.problem}`);
  else await showRequestPreview(deps.context, preview.doc);
}

async function editAnnotation(deps: ReviewCommandDeps): Promise<void> {
  const row = rowFor(deps);
  if (!row) return;
  const { pickExistingAnnotation } = await import('./annotateUi');
  const id = await pickExistingAnnotation(row.session, row.index, 'Edit', reviewerViewOf(deps.config.current, row.session.file));
  const a = id ? row.session.annotations?.get(id) : undefined;
  if (a) await deps.review.annotateInteractively(row.index, a.target.kind === 'output' ? { kind: 'output', model: a.target.model } : { kind: 'reference' }, row.session);
}

async function removeAnnotation(deps: ReviewCommandDeps): Promise<void> {
  const row = rowFor(deps);
  if (!row) return;
  const { pickExistingAnnotation } = await import('./annotateUi');
  const id = await pickExistingAnnotation(row.session, row.index, 'Remove', reviewerViewOf(deps.config.current, row.session.file));
  if (id) await deps.review.removeAnnotation(id, row.session);
}

async function nextSuspectReference(deps: ReviewCommandDeps): Promise<void> {
  const session = activeSession(deps);
  if (!session) return;
  const found = await deps.review.revealNext(session, cursorIndex(session), (s) => s.suspect);
  if (!found) void showInfo(`No suspect reference: no row has every model (at least two) below ${formatThreshold(session.threshold)}.`);
}

async function nextBelowThreshold(deps: ReviewCommandDeps): Promise<void> {
  const session = activeSession(deps);
  if (!session) return;
  const found = await deps.review.revealNext(session, cursorIndex(session), (s) => s.below);
  if (!found) void showInfo(`No row has a current score below ${formatThreshold(session.threshold)}.`);
}

async function exportAnnotatedCopy(deps: ReviewCommandDeps): Promise<void> {
  const session = activeSession(deps);
  if (!session) return;
  if (deps.config.current.reviewBlind) {
    // The copy holds every reviewer's labels and the scores: exactly what blind mode keeps from the reviewer.
    void showInfo('PiSAR Review: blind mode is on, and the annotated copy would hold the scores and every reviewer\'s labels. Turn blind mode off (PiSAR Review: Toggle Blind Mode) to export it.');
    return;
  }
  const document = await vscode.workspace.openTextDocument(session.uri);
  const { exportAnnotatedCopy: exportCopy } = await import('./exportCopy');
  await exportCopy(session, document);
}

async function setApiKey(deps: ReviewCommandDeps): Promise<void> {
  const model = await pickKeyName(deps, 'Set API key', false);
  if (!model) return;
  const key = await ask({
    title: `API key for ${model.name}`,
    prompt: `Stored in VS Code's SecretStorage and sent only to ${originOf(model.baseUrl)} (you are asked if the model's endpoint changes).`,
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? 'Enter the key, or press Escape to cancel.' : undefined),
  });
  if (!key) return;
  await deps.keys.set(model, key.trim());
  void showInfo(`PiSAR Review: API key for "${model.name}" stored for ${originOf(model.baseUrl)}.`);
}

async function clearApiKey(deps: ReviewCommandDeps): Promise<void> {
  const model = await pickKeyName(deps, 'Clear API key', true);
  if (!model) return;
  await deps.keys.clear(model.name);
  void showInfo(`PiSAR Review: API key for "${model.name}" cleared.`);
}

async function openSample(deps: ReviewCommandDeps): Promise<void> {
  const { openSample: open } = await import('./sample');
  await open(deps.context);
}

function showLog(deps: ReviewCommandDeps): void {
  deps.log.show();
}

/** The active tab's file (a dataset too large for the editor), else one the user picks; read from disk. */
async function openInPanel(deps: ReviewCommandDeps): Promise<void> {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  let uri = input instanceof vscode.TabInputText && input.uri.scheme === 'file' && isDatasetFileName(input.uri.fsPath) ? input.uri : undefined;
  if (!uri) {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'JSON Lines datasets': ['jsonl', 'ndjson', 'json', 'gz'] }, title: 'Open a dataset in the PiSAR Review panel' });
    uri = picked?.[0];
  }
  if (uri) await deps.sessions.openFromDisk(uri);
}

/** Blind mode on or off (pisarReview.review.blind): scores and other reviewers' labels hidden while labelling. */
async function toggleBlindMode(deps: ReviewCommandDeps): Promise<void> {
  const { setBlindMode } = await import('./blindMode');
  const blind = !deps.config.current.reviewBlind;
  await setBlindMode(blind);
  void showInfo(blind
    ? 'PiSAR Review: blind mode on: scores and other reviewers\' labels are hidden while you label.'
    : 'PiSAR Review: blind mode off: scores and every reviewer\'s labels are shown.');
}

/** The reviewed rows as a fine-tuning file: format, filters and hold-out picked, written by the CLI export's core. */
async function exportTrainingData(deps: ReviewCommandDeps): Promise<void> {
  const session = activeSession(deps);
  if (!session) return;
  const { exportTrainingData: exportTraining } = await import('./exportTraining');
  await exportTraining(session, deps.config.current, String((deps.context.extension.packageJSON as { version?: unknown }).version ?? '0.0.0-dev'));
}

async function checkModels(deps: ReviewCommandDeps): Promise<void> {
  const { checkModelsInteractively } = await import('./checkModels');
  await checkModelsInteractively(deps.config, deps.keys, deps.log);
}

/** Rewrites the active dataset's sidecars to the lines that still decide something (`pisar-review compact`); the views read the same after. */
async function compactSidecars(deps: ReviewCommandDeps): Promise<void> {
  const session = activeSession(deps);
  if (!session) return;
  const choice = await pick([
    { label: 'Keep the annotations\' history', description: 'drop superseded results and lines a merge doubled', dropHistory: false },
    { label: 'Drop the annotations\' history too', description: 'of each label keep its first and last version; removed labels go', dropHistory: true },
  ], { title: ui`Compact the sidecars of ${path.basename(session.file)}`, placeHolder: 'Every view reads the same numbers after; the files are replaced atomically.' });
  if (!choice) return;
  const { compactSidecars: compact } = await import('../../core/store/compact');
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PiSAR Review: compacting sidecars…' }, () =>
    compact(session.file, { dropHistory: choice.dropHistory, lock: { maxWaitMs: 15_000 } }));
  const changed = result.sidecars.filter((s) => s.rewritten);
  if (changed.length === 0) {
    void showInfo('PiSAR Review: nothing to compact: every sidecar line still decides something.');
    return;
  }
  const parts = changed.map((s) => ui`${path.basename(s.file)} ${s.before.lines} → ${s.after.lines} lines`);
  deps.log.info(`Compacted ${changed.map((s) => `${s.file}: ${s.before.lines} -> ${s.after.lines} lines, ${s.before.bytes} -> ${s.after.bytes} bytes`).join('; ')}`);
  void showInfo(`PiSAR Review: compacted ${parts.join(', ')}.`);
}

// ---- what the handlers share ----

/** The row a command acts on: from a CodeLens (uri, row id), or the cursor in the active editor. */
function rowFor({ sessions }: ReviewCommandDeps, uriArg?: unknown, rowIdArg?: unknown): RowTarget | undefined {
  if (typeof uriArg === 'string' && typeof rowIdArg === 'string') {
    const session = sessions.get(vscode.Uri.parse(uriArg));
    const index = session?.dataset.indexOfId(rowIdArg);
    if (session && index !== undefined) return { session, index };
    void showWarning('That row changed or moved; put the cursor on it and try again.');
    return undefined;
  }
  const editor = vscode.window.activeTextEditor;
  const session = editor && sessions.flush(editor.document);
  if (!editor || !session) {
    void showInfo('Open a PiSAR dataset (a .jsonl file) and put the cursor on a row.');
    return undefined;
  }
  const index = session.dataset.indexAtLine(editor.selection.active.line + 1);
  if (index === undefined) {
    void showInfo('The cursor is not on a row: put it on a line holding a JSON object.');
    return undefined;
  }
  return { session, index };
}

function activeSession({ sessions }: ReviewCommandDeps): DatasetSession | undefined {
  const editor = vscode.window.activeTextEditor;
  const session = (editor && sessions.flush(editor.document)) ?? sessions.active;
  if (!session) void showInfo('Open a PiSAR dataset (a .jsonl file) first.');
  return session;
}

/** The row at or above the cursor, when the cursor is in this session's editor; else -1 (search from the top). */
function cursorIndex(session: DatasetSession): number {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.uri.toString() !== session.uri.toString()) return -1;
  const line = editor.selection.active.line + 1;
  for (let l = line; l >= 1; l--) {
    const i = session.dataset.indexAtLine(l);
    if (i !== undefined) return i;
  }
  return -1;
}

async function pickModels({ config }: ReviewCommandDeps, session: DatasetSession, title: string): Promise<string[] | undefined> {
  const configured = config.current.models.map((m) => m.name);
  const others = session.models().filter((m) => !configured.includes(m));
  if (configured.length === 0 && others.length === 0) {
    await showNoModels(config.current);
    return undefined;
  }
  const items = [
    ...configured.map((m) => ({ label: m, description: 'call again' })),
    ...others.map((m) => ({ label: m, description: 'precomputed output: score again' })),
  ];
  const picked = await pick(items, { title, canPickMany: true, placeHolder: 'Models to run for this row' });
  return picked && picked.length > 0 ? picked.map((p) => p.label) : undefined;
}

async function pickKeyName({ config, keys }: ReviewCommandDeps, title: string, onlyStored: boolean): Promise<{ name: string; baseUrl: string } | undefined> {
  const cfg = config.current;
  const candidates = cfg.models.map((m) => ({ name: m.name, baseUrl: m.baseUrl }));
  if (cfg.embedding.provider === 'remote' && cfg.embedding.remote.baseUrl) {
    candidates.push({ name: EMBEDDING_KEY_NAME, baseUrl: cfg.embedding.remote.baseUrl });
  }
  const items: (vscode.QuickPickItem & { model: { name: string; baseUrl: string } })[] = [];
  for (const c of candidates) {
    const bound = await keys.boundOrigin(c.name);
    if (onlyStored && !bound) continue;
    items.push({
      label: c.name,
      description: c.name === EMBEDDING_KEY_NAME ? `embeddings · ${originOf(c.baseUrl)}` : originOf(c.baseUrl),
      detail: bound ? `key stored for ${bound}` : 'no key stored',
      model: c,
    });
  }
  if (items.length === 0) {
    if (onlyStored) void showInfo('No API key is stored for the configured models.');
    else await showNoModels(config.current, ' first');
    return undefined;
  }
  const picked = items.length === 1 ? items[0] : await pick(items, { title, placeHolder: 'Which model?' });
  return picked?.model;
}
