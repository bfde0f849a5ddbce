import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CollectReport, PendingBatch } from '../../core/batch/batchRun';
import type { BatchLedger, EngineName } from '../../core/store/batchLedger';
import { batchView, PollSchedule, progressed, type BatchView } from '../../core/batch/batchWatch';
import type { BatchState } from '../../core/batch/engines';
import type { ModelConfig } from '../../core/config/models';
import { correctionsInForce } from '../../core/store/corrections';
import { sidecarFileFor } from '../../core/store/sidecarNames';
import { showNoModels, type ConfigService } from '../config';
import { Disposable } from '../dispose';
import { Commands, ContextKeys, ViewCommands } from '../ids';
import { loadEngine } from '../loadEngine';
import type { ReviewLog } from '../log';
import type { ApiKeyStore } from '../secrets';
import { pick, showError, showInfo, showModalWarning, showWarning, ui } from '../surfaces';
import { refuseUntrusted, type ScoringController } from './scoring';
import type { DatasetSession } from './session';
import type { SessionManager } from './sessions';

/** One open dataset's batches: the ledger as last read, the provider's states, and the next read. */
interface Watch {
  readonly session: DatasetSession;
  readonly schedule: PollSchedule;
  states: Map<string, BatchState>;
  last: PendingBatch[];
  view: BatchView | undefined;
  collecting: boolean;
  readError: string | undefined;
  timer: NodeJS.Timeout | undefined;
  /** The read in flight; a second asks for the same. */
  busy: Promise<void> | undefined;
  closed: boolean;
}

const ENGINES: readonly (vscode.QuickPickItem & { engine: EngineName })[] = [
  { label: 'OpenAI Batch API', description: '/files + /batches: OpenAI and the providers that speak it', engine: 'openai' },
  { label: 'Anthropic Message Batches', description: '/messages/batches', engine: 'anthropic' },
];


/**
 * Batch generation from the editor (`Score File via Batch`): submits through the CLI's core, keeps the
 * ids in the batches sidecar, and follows every open dataset's pending batches: read on an interval
 * that backs off, collected when they end (results reach the views through the results store's own
 * events), resumed from the sidecar when the dataset opens again. Its state is in a status bar item.
 */
export class BatchController extends Disposable implements vscode.Disposable {
  private readonly watches = new Map<DatasetSession, Watch>();
  private readonly item = this._register(vscode.window.createStatusBarItem('pisarReview.batch', vscode.StatusBarAlignment.Left, 49));
  private readonly changed = this._register(new vscode.EventEmitter<DatasetSession>());
  /** A dataset's batch view changed. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly sessions: SessionManager,
    private readonly scoring: ScoringController,
    private readonly config: ConfigService,
    private readonly keys: ApiKeyStore,
    private readonly log: ReviewLog,
  ) {
    super();
    this.item.name = 'PiSAR Review Batches';
    this._register(vscode.Disposable.from(
      sessions.onDidOpen((s) => this.watch(s)),
      sessions.onDidClose((s) => this.unwatch(s)),
      sessions.onDidChangeActive(() => this.render()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => { for (const w of this.watches.values()) void this.read(w); }),
      // Another process (the CLI) submitting or collecting: read again now rather than at the next tick.
      this.watchLedgers(),
    ));
    for (const s of sessions.all()) this.watch(s);
  }

  /** The status line of a dataset's batches, as shown (tests, the panel). */
  viewOf(session: DatasetSession): BatchView | undefined {
    return this.watches.get(session)?.view;
  }

  private watchLedgers(): vscode.Disposable {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.pisar-batches.jsonl');
    const onEvent = (uri: vscode.Uri) => {
      for (const w of this.watches.values()) {
        if (batchesFileOf(w.session) === uri.fsPath && !w.busy && !w.timer) void this.read(w);
      }
    };
    return vscode.Disposable.from(watcher, watcher.onDidCreate(onEvent), watcher.onDidChange(onEvent));
  }

  private watch(session: DatasetSession): void {
    if (this.watches.has(session)) return;
    const firstMs = this.config.current.batch.pollSeconds * 1000;
    const w: Watch = { session, schedule: new PollSchedule(firstMs), states: new Map(), last: [], view: undefined, collecting: false, readError: undefined, timer: undefined, busy: undefined, closed: false };
    this.watches.set(session, w);
    // Nothing is read (and no engine loaded) for a dataset that never had a batch.
    if (existsSync(batchesFileOf(session))) void this.read(w);
  }

  private unwatch(session: DatasetSession): void {
    const w = this.watches.get(session);
    if (!w) return;
    w.closed = true;
    clearTimeout(w.timer);
    w.timer = undefined;
    this.watches.delete(session);
    this.render();
  }

  /** Reads the ledger and the provider's states; collects ended batches; schedules the next read while any is pending. */
  private read(w: Watch, options: { announce?: boolean } = {}): Promise<void> {
    if (w.busy) return w.busy;
    clearTimeout(w.timer);
    w.timer = undefined;
    w.busy = this.readOnce(w, options)
      .catch((err: unknown) => {
        this.log.error(err as Error);
        w.readError = (err as Error).message;
      })
      .finally(() => {
        w.busy = undefined;
        this.render();
      });
    return w.busy;
  }

  private async readOnce(w: Watch, options: { announce?: boolean }): Promise<void> {
    const engine = loadEngine();
    const { session } = w;
    await session.whenReady();
    const ledger = await engine.BatchLedger.open(session.file);
    if (ledger.pending.length === 0) {
      this.show(w, batchView({ ledger }));
      if (options.announce) void showInfo(ui`PiSAR Review: no batch of ${path.basename(session.file)} is pending.`);
      return;
    }
    if (!vscode.workspace.isTrusted) {
      // A sidecar from a cloned repository names any endpoint: nothing is called until the workspace is trusted.
      w.readError = 'the workspace is not trusted: trust it to read and collect the batches';
      this.show(w, batchView({ ledger, readError: w.readError }));
      if (options.announce) refuseUntrusted('read and collect batches');
      return;
    }
    const models = this.config.current.models;
    const engineFor = (m: ModelConfig | { name: string; baseUrl: string }, name: EngineName) => this.engineFor(m, name);
    let states: PendingBatch[];
    try {
      states = await engine.readBatchStates(ledger, models, engineFor);
      w.readError = undefined;
    } catch (err) {
      if (!(err instanceof engine.BatchApiError)) throw err;
      w.readError = err.message;
      this.log.warn(`Batches of ${session.file}: ${err.message}`);
      this.show(w, batchView({ ledger, states: w.states, readError: w.readError }));
      this.schedule(w, false);
      return;
    }
    const moved = progressed(w.last, states);
    w.last = states;
    for (const s of states) if (s.state) w.states.set(s.batchId, s.state);
    const ended = states.filter((s) => s.state?.phase === 'ended');
    if (ended.length > 0) {
      w.collecting = true;
      this.show(w, batchView({ ledger, states: w.states, collecting: true }));
      try {
        const results = await session.resultsStore();
        const reasoning = (name: string) => ({ keepThinking: models.find((m) => m.name === name)?.keepThinking, markers: this.config.current.reasoningMarkers });
        // A judge batch's answer is stored only for the references it was asked about (a reviewer's correction counts).
        const corrections = ledger.pending.some((b) => b.judge) ? correctionsInForce((await session.annotationStore()).corrections(), session.dataset) : undefined;
        const report = await engine.collectBatches({ dataset: session.dataset, results, ledger, models, engineFor, reasoning, corrections });
        this.log.info(`Collected batches of ${session.file}: ${report.answered} answered, ${report.failed} failed, ${report.requeued} not run (sent again by the next submit); ${report.running} still running.`);
        if (report.judged > 0 || report.stale > 0) this.log.info(`Judge batches of ${session.file}: ${report.judged} verdict(s) stored (${report.verdicts.good} good, ${report.verdicts.bad} bad), ${report.judgeFailed} failed, ${report.stale} stale (the output, row or reference changed since submit).`);
        if (!w.closed) await this.scoreAnswers(session, report);
        if (!w.closed) this.announce(session, report, ledger);
      } finally {
        w.collecting = false;
      }
    } else if (options.announce) {
      const view = batchView({ ledger, states: w.states });
      if (view) void showInfo(ui`PiSAR Review: the batches of ${path.basename(session.file)} are still running (${view.text.replace(/^batch running /, '')} done); they are collected when they end.`);
    }
    this.show(w, batchView({ ledger, states: w.states }));
    if (ledger.pending.length > 0) this.schedule(w, moved);
  }

  /** Scores the stored answers as a live run would (the same scorer; no model is called for them). */
  private async scoreAnswers(session: DatasetSession, report: CollectReport): Promise<void> {
    for (const [model, rows] of report.answeredRows) {
      await this.scoring.score(session, { rowIndexes: [...new Set(rows)].sort((a, b) => a - b), models: [model] });
    }
  }

  private announce(session: DatasetSession, report: CollectReport, ledger: BatchLedger): void {
    const name = path.basename(session.file);
    const view = batchView({ ledger });
    if (ledger.pending.length > 0 || !view) return;
    if (view.phase === 'failed') {
      void showError(ui`PiSAR Review: the batch of ${name} failed: ${view.detail.join('; ')}`, 'Show Log').then((a) => a && vscode.commands.executeCommand(Commands.showLog));
    } else if (view.phase === 'requeued') {
      const again = 'Submit Again';
      void showWarning(ui`PiSAR Review: ${name}: ${view.text}. The finished lines are stored; the rest can be sent again.`, again).then((a) => a && vscode.commands.executeCommand(Commands.scoreFileViaBatch));
    } else {
      const panel = 'Show Panel';
      void showInfo(ui`PiSAR Review: batch results of ${name} collected: ${report.answered} answered${report.failed ? `, ${report.failed} failed (hover a row for the reason)` : ''}.`, panel).then((a) => a && vscode.commands.executeCommand(ViewCommands.focusPanel));
    }
  }

  private schedule(w: Watch, moved: boolean): void {
    if (w.closed) return;
    const delay = w.schedule.next(moved);
    this.log.debug(`Batches of ${w.session.file}: next read in ${Math.round(delay / 1000)} s.`);
    w.timer = setTimeout(() => {
      w.timer = undefined;
      void this.read(w);
    }, delay);
  }

  private show(w: Watch, view: BatchView | undefined): void {
    w.view = view;
    this.render();
    this.changed.fire(w.session);
  }

  private render(): void {
    const session = this.sessions.active;
    const view = session && this.watches.get(session)?.view;
    void vscode.commands.executeCommand('setContext', ContextKeys.batchPending, view !== undefined && ['submitted', 'running', 'collecting'].includes(view.phase));
    if (!view) {
      this.item.hide();
      return;
    }
    // Batch ids, statuses and reasons are the server's: text only, never an icon or a link.
    const { phase, text } = view;
    // Our icon per phase; the text (server words in it) escaped.
    this.item.text = phase === 'submitted' ? ui`$(cloud-upload) PiSAR ${text}` : phase === 'running' ? ui`$(sync~spin) PiSAR ${text}`
      : phase === 'collecting' ? ui`$(cloud-download) PiSAR ${text}` : phase === 'done' ? ui`$(check) PiSAR ${text}`
        : phase === 'requeued' ? ui`$(warning) PiSAR ${text}` : ui`$(error) PiSAR ${text}`;
    const action = view.phase === 'requeued' ? 'Click to send the rest again.' : view.phase === 'done' ? 'Click to show the panel.' : view.phase === 'failed' ? 'Click to show the log.' : 'Click to collect now.';
    this.item.tooltip = ui`${[...view.detail, action].join('\n')}`;
    this.item.command = view.phase === 'requeued' ? Commands.scoreFileViaBatch : view.phase === 'done' ? ViewCommands.focusPanel : view.phase === 'failed' ? Commands.showLog : Commands.collectBatch;
    this.item.show();
  }

  private async engineFor(model: Pick<ModelConfig, 'name' | 'baseUrl'> & Partial<ModelConfig>, name: EngineName) {
    // The key goes only to the origin it was stored for (asked otherwise), as for a live call.
    const apiKey = await this.keys.keyFor({ name: model.name, baseUrl: model.baseUrl });
    return loadEngine().batchEngineFor(name, { baseUrl: model.baseUrl, apiKey, headers: model.headers });
  }

  /** `Score File via Batch`: picks the engine and the models (those whose endpoint cannot batch named with the reason), submits, follows. */
  async submit(session: DatasetSession): Promise<void> {
    if (refuseUntrusted('submit batches')) return;
    const cfg = this.config.current;
    if (cfg.modelsError || cfg.models.length === 0) {
      await showNoModels(cfg);
      return;
    }
    const name = path.basename(session.file);
    const chosenEngine = await pick(ENGINES, { title: ui`Score ${name} via batch: which batch API?`, placeHolder: 'About half the price of live calls; results within 24 hours' });
    if (!chosenEngine) return;
    const engine = loadEngine();
    const probed = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PiSAR Review: asking which endpoints take batches…' }, () =>
      Promise.all(cfg.models.map(async (model) => {
        try {
          await (await this.engineFor(model, chosenEngine.engine)).probe();
          return { model, reason: undefined };
        } catch (err) {
          return { model, reason: err instanceof engine.BatchApiError ? err.message : (err as Error).message };
        }
      })));
    const able = probed.filter((p) => p.reason === undefined).map((p) => p.model);
    const unable = probed.filter((p): p is { model: ModelConfig; reason: string } => p.reason !== undefined);
    for (const u of unable) this.log.warn(`Model "${u.model.name}" cannot batch through the ${chosenEngine.label}: ${u.reason}`);
    if (able.length === 0) {
      void showWarning(`PiSAR Review: no configured model can batch through the ${chosenEngine.label}: ${unable.map((u) => `"${u.model.name}": ${u.reason}`).join('; ')}`);
      return;
    }
    let models = able;
    if (cfg.models.length > 1) {
      type Item = vscode.QuickPickItem & { model?: ModelConfig };
      const items: Item[] = [
        ...able.map((m) => ({ label: m.name, description: m.model, picked: true, model: m })),
        ...(unable.length > 0 ? [{ label: 'Cannot batch', kind: vscode.QuickPickItemKind.Separator }] : []),
        ...unable.map((u) => ({ label: u.model.name, description: 'cannot batch', detail: u.reason })),
      ];
      const picked = await pick(items, { title: ui`Score ${name} via the ${chosenEngine.label}`, placeHolder: 'Models to send as batches', canPickMany: true });
      if (!picked || picked.length === 0) return;
      const refused = picked.filter((p) => !p.model);
      if (refused.length > 0) void showWarning(`PiSAR Review: ${refused.map((p) => `"${p.label}"`).join(', ')} cannot batch (see the list's reasons); left out.`);
      models = picked.flatMap((p) => (p.model ? [p.model] : []));
      if (models.length === 0) return;
    }
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === session.uri.toString());
    if (doc) this.sessions.flush(doc);
    await session.whenReady();
    const ledger = await engine.BatchLedger.open(session.file);
    const results = await session.resultsStore();
    let report;
    try {
      report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: ui`PiSAR Review: submitting batches of ${name}…` }, () =>
        engine.submitBatches({
          dataset: session.dataset, results, ledger, models,
          engineFor: (m) => this.engineFor(m, chosenEngine.engine),
          onSubmitted: (e) => this.log.info(`Model "${e.model}": batch ${e.batchId} (${e.requests} requests) submitted for ${session.file}; its id is in ${ledger.file}.`),
        }));
    } catch (err) {
      if (!(err instanceof engine.BatchApiError)) throw err;
      // What was submitted before the failure is in the ledger: it is followed, and never sent twice.
      void showError(`PiSAR Review: submitting the batches of ${name} failed: ${err.message}`);
      report = undefined;
    }
    if (report && report.submitted.length === 0) {
      void showInfo(report.alreadyPending > 0
        ? `PiSAR Review: nothing new to submit for ${name}; ${report.alreadyPending} batch(es) still pending.`
        : `PiSAR Review: nothing to submit: every row of ${name} has an output from ${models.map((m) => m.name).join(', ')}.`);
    } else if (report) {
      const requests = report.submitted.reduce((n, b) => n + b.requests, 0);
      void showInfo(`PiSAR Review: ${report.submitted.length} batch(es) of ${name} submitted (${requests} requests${report.failed ? `; ${report.failed} rows could not be sent, see their hover` : ''}). They are collected when the provider finishes, within 24 hours; closing the editor is safe: reopening the dataset resumes.`);
    }
    const w = this.watches.get(session);
    if (w) {
      w.schedule.reset();
      await this.read(w);
    }
  }

  /** `Collect Batch Results`: reads the pending batches now and stores what has ended. */
  async collectNow(session: DatasetSession): Promise<void> {
    const w = this.watches.get(session);
    if (!w) return;
    if (w.busy) await w.busy;
    w.schedule.reset();
    await this.read(w, { announce: true });
  }

  /** `Cancel Batch`: cancels the pending batches on the provider; finished lines are kept, the rest can be sent again. */
  async cancel(session: DatasetSession): Promise<void> {
    const name = path.basename(session.file);
    const engine = loadEngine();
    const ledger = await engine.BatchLedger.open(session.file);
    if (ledger.pending.length === 0) {
      void showInfo(ui`PiSAR Review: no batch of ${name} is pending.`);
      return;
    }
    if (refuseUntrusted('cancel batches')) return;
    const yes = 'Cancel Batches';
    const answer = await showModalWarning(
      `Cancel ${ledger.pending.length} pending batch(es) of ${name} on the provider?`,
      'Lines already run are kept and stored; the rest are left without a result, and "Score File via Batch" sends them again.',
      yes,
    );
    if (answer !== yes) return;
    const w = this.watches.get(session);
    if (w?.busy) await w.busy;
    const cancelled = await engine.cancelBatches(ledger, this.config.current.models, (m, e) => this.engineFor(m, e));
    this.log.info(`Cancelled ${cancelled.map((c) => `${c.model} ${c.batchId}`).join(', ')} of ${session.file}.`);
    if (w) {
      w.schedule.reset();
      await this.read(w);
    }
  }

  override dispose(): void {
    for (const w of this.watches.values()) {
      w.closed = true;
      clearTimeout(w.timer);
    }
    this.watches.clear();
    super.dispose();
  }
}

function batchesFileOf(session: DatasetSession): string {
  return sidecarFileFor(session.file, 'batches');
}
