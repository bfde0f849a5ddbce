import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseScoreBand, TRAINING_FORMATS, type HoldoutRule, type TrainingFilters, type TrainingFormat } from '../../core/review/trainingExport';
import { readHoldoutRule, writeTrainingFile } from '../../core/review/trainingExportFile';
import { datasetStem, isSidecarFile } from '../../core/store/sidecarNames';
import type { ReviewConfig } from '../reviewConfig';
import { ask, pick, showError, showInfo } from '../surfaces';
import type { DatasetSession } from './session';

/** Ids listed in the refusal; the rest are counted. */
const HOLDOUT_IDS_SHOWN = 20;

const FORMAT_DETAIL: Record<TrainingFormat, string> = {
  'openai-chat': 'OpenAI fine-tuning: {"messages": [system, user, assistant]} with the (corrected) reference as the answer',
  sharegpt: 'ShareGPT: {"conversations": [{"from": "human"}, {"from": "gpt"}]}',
  alpaca: 'Alpaca: {"instruction", "input", "output"}',
  dpo: 'DPO pairs: chosen (the reference or an output labelled good), rejected (an output labelled bad)',
};

type FilterItem = vscode.QuickPickItem & { readonly apply: (f: TrainingFilters) => TrainingFilters; readonly band?: true };
type HoldoutItem = vscode.QuickPickItem & { readonly holdout: 'none' | 'file' | 'browse' | 'field'; readonly file?: string };

/**
 * "Export Training Data…": format, filters and hold-out picked in quick picks, then the same core as
 * the CLI's `export` (writeTrainingFile). A selected row of the hold-out refuses the whole export:
 * the message lists the rows (as text) and nothing is written.
 */
export async function exportTrainingData(session: DatasetSession, config: ReviewConfig, toolVersion: string): Promise<void> {
  const name = path.basename(session.file);
  const format = await pick(TRAINING_FORMATS.map((f) => ({ label: f, detail: FORMAT_DETAIL[f], format: f })), { title: `Export training data from ${name}: format`, placeHolder: 'The corrected reference is the target' });
  if (!format) return;

  const filterItems: FilterItem[] = [
    ...config.labels.map((label) => ({ label: `Labelled ${label}`, description: 'settled label: adjudicated, or every reviewer gave it', apply: (f: TrainingFilters) => ({ ...f, labels: [...(f.labels ?? []), label] }) })),
    ...config.labels.map((label) => ({ label: `Not labelled ${label}`, description: 'no settled label of this name on the row', apply: (f: TrainingFilters) => ({ ...f, excludeLabels: [...(f.excludeLabels ?? []), label] }) })),
    { label: 'Score band…', description: 'the row\'s lowest current score (or one model\'s) inside a range you type next', apply: (f) => f, band: true },
    { label: 'Reviewers agree', description: 'no open disagreement', apply: (f) => ({ ...f, agreement: 'agreed' as const }) },
    { label: 'Corrected references only', apply: (f) => ({ ...f, correctedOnly: true }) },
  ];
  const picked = await pick(filterItems, { title: `Export training data from ${name}: which rows (none picked: every row)`, canPickMany: true, placeHolder: 'Pick filters, then OK' });
  if (!picked) return;
  let filters = picked.reduce<TrainingFilters>((f, item) => item.apply(f), {});
  if (picked.some((item) => item.band)) {
    const band = await pickScoreBand(session, name);
    if (!band) return;
    filters = { ...filters, ...band };
  }

  const holdout = await pickHoldout(session);
  if (!holdout) return;

  const stem = datasetStem(session.file);
  const suggested = path.join(path.dirname(session.file), `${stem}.${format.format}.jsonl`);
  const outText = await ask({
    title: `Export training data from ${name}: file to write`,
    prompt: 'Its manifest (rows, hashes, annotation events, filters) is written beside it.',
    value: suggested,
    validateInput: (v) => (v.trim() === '' ? 'Name the file to write.' : path.resolve(path.dirname(session.file), v.trim()) === session.file ? 'The dataset is never written: choose another file.' : undefined),
  });
  if (outText === undefined) return;
  const out = path.resolve(path.dirname(session.file), outText.trim());

  const written = await writeTrainingFile({
    dataset: session.dataset, results: await session.resultsStore(), annotations: await session.annotationStore(),
    format: format.format, filters, labels: config.calibration, holdout: holdout.rules, holdoutNames: holdout.names, out,
    embeddingModel: config.embedding.provider === 'remote' ? `remote:${config.embedding.remote.model}` : config.embedding.model,
    toolVersion,
  });
  if (!written.ok) {
    const listed = written.holdout.slice(0, HOLDOUT_IDS_SHOWN).map((h) => `${h.id} (line ${h.line}: ${h.why})`).join('; ');
    const more = written.holdout.length > HOLDOUT_IDS_SHOWN ? `; and ${written.holdout.length - HOLDOUT_IDS_SHOWN} more` : '';
    void showError(`PiSAR Review: export refused, nothing was written: ${written.holdout.length} selected row(s) belong to the hold-out (evaluation) set: ${listed}${more}. Narrow the filters, or take these rows out of the selection.`);
    return;
  }
  const { built, manifestFile } = written;
  const skipped = built.skipped.length ? ` ${built.skipped.length} row(s) skipped (no target).` : '';
  void showInfo(`PiSAR Review: wrote ${built.lines.length} ${format.format} record(s) from ${built.rows.length} row(s) to ${path.basename(out)}; manifest ${path.basename(manifestFile)}.${skipped}`);
}

/** A score band, and the model it applies to when the dataset has several (default: each row's lowest score). */
async function pickScoreBand(session: DatasetSession, name: string): Promise<Pick<TrainingFilters, 'minScore' | 'maxScore' | 'scoreModel'> | undefined> {
  const text = await ask({
    title: `Export training data from ${name}: score band (inclusive)`,
    placeHolder: '0.7-1   or   >= 0.7   or   <= 0.5',
    validateInput: (v) => {
      const band = parseScoreBand(v);
      return typeof band === 'string' ? band : undefined;
    },
  });
  if (text === undefined) return undefined;
  const band = parseScoreBand(text);
  if (typeof band === 'string') return undefined;
  const models = session.models();
  if (models.length <= 1) return band;
  const choice = await pick([
    { label: 'Each row\'s lowest score', description: 'every model of the row inside the band', model: undefined },
    ...models.map((m) => ({ label: m, description: 'this model\'s score inside the band', model: m })),
  ], { title: `Export training data from ${name}: whose score` });
  if (!choice) return undefined;
  return choice.model === undefined ? band : { ...band, scoreModel: choice.model };
}

/** The hold-out: none, a file beside the dataset (ids, or an evaluation dataset), another file, or field=value. */
async function pickHoldout(session: DatasetSession): Promise<{ rules: HoldoutRule[]; names: string[] } | undefined> {
  const folder = path.dirname(session.file);
  let entries: string[] = [];
  try {
    entries = (await fsp.readdir(folder)).filter((f) => /\.(jsonl|txt|ids)$/i.test(f) && path.join(folder, f) !== session.file && !isSidecarFile(f)).sort();
  } catch {
    entries = [];
  }
  const items: HoldoutItem[] = [
    { label: 'No hold-out', description: 'export without checking an evaluation set', holdout: 'none' },
    ...entries.map((f) => ({ label: `Hold out the rows of ${f}`, description: f.endsWith('.jsonl') ? 'an evaluation dataset: its ids, rows and inputs' : 'a file of ids, one a line', holdout: 'file' as const, file: path.join(folder, f) })),
    { label: 'Hold out the rows of another file…', holdout: 'browse' },
    { label: 'Hold out rows where a field has a value (field=value)…', holdout: 'field' },
  ];
  const choice = await pick(items, { title: 'Hold-out: the evaluation set no exported row may belong to', placeHolder: 'A selected row of it refuses the export' });
  if (!choice) return undefined;
  let value: string | undefined;
  if (choice.holdout === 'none') return { rules: [], names: [] };
  if (choice.holdout === 'file') value = choice.file;
  if (choice.holdout === 'browse') {
    const uris = await vscode.window.showOpenDialog({ canSelectMany: false, defaultUri: vscode.Uri.file(folder), title: 'Hold-out: a file of ids or an evaluation dataset' });
    value = uris?.[0]?.fsPath;
  }
  if (choice.holdout === 'field') {
    value = await ask({ title: 'Hold-out rows where a field has a value', placeHolder: 'split=test', validateInput: (v) => (/^[^=]+=/.test(v.trim()) ? undefined : 'Write field=value, e.g. split=test.') });
  }
  if (value === undefined) return undefined;
  try {
    return { rules: [await readHoldoutRule(value, folder)], names: [value] };
  } catch (error) {
    void showError(`PiSAR Review: the hold-out ${value} cannot be used: ${error instanceof Error ? error.message : String(error)}.`);
    return undefined;
  }
}
