import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelConfig } from '../../core/config/models';
import type { RequestCache } from '../../core/runner/requestCache';
import type { RunEvent, RunSummary } from '../../core/runner/runner';
import type { JudgeSummary } from '../../core/judge/judgeRun';
import type { Scorer } from '../../core/scoring/scorer';
import { correctionsInForce, rescoreForCorrection } from '../../core/store/corrections';
import type { ReferenceCorrection } from '../../core/store/annotations';
import type { ContradictionConfig, EmbeddingConfig } from '../../core/config/settings';
import type { NliChecker } from '../../core/scoring/nli';
import { showNoModels, type ConfigService } from '../config';
import type { ReviewLog } from '../log';
import type { ApiKeyStore } from '../secrets';
import { withFix } from '../../core/review/display';
import { Commands, ContextKeys, Settings, ViewCommands } from '../ids';
import { loadEngine, type Engine } from '../loadEngine';
import type { ScoreOptions } from './reviewApi';
import type { DatasetSession } from './session';
import type { SessionManager } from './sessions';
import { Disposable } from '../dispose';
import { runProgress, type MeterReading, type RunProgress } from '../../core/runner/progress';
import { RunProgressReporter } from './runProgress';
import { pricesOf } from '../../core/report/summary';
import { showError, showInfo, showWarning, ui } from '../surfaces';
import { uiText } from '../../core/security/escape';

export interface ScoreRequest extends ScoreOptions {
  /** Rows to score; undefined = the whole file. */
  readonly rowIndexes?: readonly number[];
}

/** The key the remote embeddings endpoint's API key is stored under. */
export const EMBEDDING_KEY_NAME = 'embedding';

interface Run {
  readonly controller: AbortController;
  readonly rows: ReadonlySet<number> | 'all';
  /** Its counts, rate, time left, tokens and cost so far per model. */
  readonly reporter: RunProgressReporter;
}

/**
 * Runs the core runner for a session: checks workspace trust first, hands API keys from
 * SecretStorage (origin-bound), turns the run's event stream into progress, and loads the heavy
 * parts (openai client, transformers.js) only on the first score.
 */
export class ScoringController extends Disposable implements vscode.Disposable {
  private scorer: { key: string; scorer: Scorer } | undefined;
  private nli: { key: string; checker: NliChecker } | undefined;
  private requestCache: RequestCache | undefined;
  private readonly runs = new Map<DatasetSession, Set<Run>>();
  private readonly progressEmitter = this._register(new vscode.EventEmitter<DatasetSession>());
  private readonly runningEmitter = this._register(new vscode.EventEmitter<DatasetSession>());
  /** A run's progress changed (for the status bar). */
  readonly onDidChangeProgress = this.progressEmitter.event;
  /** A run started or ended (for CodeLens titles: rarely, so clicks do not race lens refreshes). */
  readonly onDidChangeRunning = this.runningEmitter.event;

  constructor(
    private readonly sessions: SessionManager,
    private readonly config: ConfigService,
    private readonly keys: ApiKeyStore,
    private readonly log: ReviewLog,
    private readonly storageDir: string,
    private readonly workerPath: string,
  ) {
    super();
    this._register(config.onDidChange((c) => {
      if (this.scorer && this.scorer.key !== embeddingKey(c.embedding)) void this.disposeScorer();
    }));
  }

  isScoring(session: DatasetSession): boolean {
    return (this.runs.get(session)?.size ?? 0) > 0;
  }

  /** True while a run in this window covers the row. */
  isRowInFlight(session: DatasetSession, index: number): boolean {
    for (const run of this.runs.get(session) ?? []) {
      if (run.rows === 'all' || run.rows.has(index)) return true;
    }
    return false;
  }

  /** Rows done / total over this session's runs, or undefined when none runs. */
  progress(session: DatasetSession): RunProgress | undefined {
    const runs = this.runs.get(session);
    if (!runs || runs.size === 0) return undefined;
    let done = 0;
    let failed = 0;
    let total = 0;
    for (const { reporter } of runs) {
      done += reporter.done;
      failed += reporter.failed;
      total += reporter.total;
    }
    return runProgress(done, failed, total);
  }

  /** Rate, time left, tokens and cost so far of the session's file run (undefined when none runs). */
  reading(session: DatasetSession): MeterReading | undefined {
    const runs = [...(this.runs.get(session) ?? [])];
    return (runs.find((r) => r.rows === 'all') ?? runs[0])?.reporter.reading();
  }

  cancel(session?: DatasetSession): void {
    for (const [s, runs] of this.runs) {
      if (session && s !== session) continue;
      for (const r of runs) r.controller.abort();
    }
  }

  /**
   * A run that found nothing to do says why: without a configured model nothing can be called (and it
   * offers to add one), whether or not the rows have precomputed outputs; else every pair is current.
   */
  private nothingToScore(session: DatasetSession, request: ScoreRequest, noModels: boolean, inBatch: number): void {
    const rows = request.rowIndexes;
    const ids = session.dataset.rowIds();
    const what = rows === undefined ? path.basename(session.file) : rows.length === 1 ? `row ${ids[rows[0]] ?? rows[0] + 1}` : `${rows.length} rows`;
    if (inBatch > 0) {
      void showInfo(`PiSAR Review: nothing to call: ${inBatch} missing result(s) of ${what} are in a pending provider batch (calling them now would pay twice). They are stored when the batch ends; "Collect Batch Results" reads it now.`);
      return;
    }
    if (noModels) {
      const precomputed = session.dataset.modelNames.length > 0;
      const outputs = precomputed ? `; the precomputed outputs of ${what} already have current scores` : `, and ${what} has no precomputed outputs to score`;
      void showNoModels(this.config.current, '', `PiSAR Review: no model is configured, so there is no model to call${outputs}. Add a model to the "pisarReview.models" setting to score ${what}.`);
      return;
    }
    if (rows === undefined) void showInfo('PiSAR Review: every row already has a current score. Use "Score with…" to re-run a model.');
    else void showInfo(`PiSAR Review: ${what} already has a current score from every model. Use "Score Row with…" to re-run a model.`);
  }

  /** Scores with a cancellable notification (whole file) or a window progress (a few rows). */
  async score(session: DatasetSession, request: ScoreRequest): Promise<RunSummary | undefined> {
    if (refuseUntrusted('score rows')) return undefined;
    const cfg = this.config.current;
    if (cfg.modelsError) {
      void showNoModels(cfg);
      return undefined;
    }
    if (request.rowIndexes === undefined && [...(this.runs.get(session) ?? [])].some((r) => r.rows === 'all')) {
      // A second file run would plan the same pairs and store them twice.
      void showInfo('PiSAR Review is already scoring this file; cancel it first to start again.');
      return undefined;
    }
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === session.uri.toString());
    if (doc) this.sessions.flush(doc);
    await session.whenReady();

    const whole = request.rowIndexes === undefined;
    const location = whole ? vscode.ProgressLocation.Notification : vscode.ProgressLocation.Window;
    const title = whole ? `PiSAR Review: scoring ${path.basename(session.file)}` : `PiSAR Review: scoring ${request.rowIndexes!.length === 1 ? 'row' : `${request.rowIndexes!.length} rows`}`;
    return vscode.window.withProgress({ location, title: uiText(title), cancellable: whole }, (progress, token) =>
      this.run(session, request, cfg.models, cfg.embedding, progress, token));
  }

  private async run(
    session: DatasetSession,
    request: ScoreRequest,
    models: readonly ModelConfig[],
    embedding: EmbeddingConfig,
    progress: vscode.Progress<{ message?: string; increment?: number }>,
    token: vscode.CancellationToken,
  ): Promise<RunSummary | undefined> {
    const reporter = new RunProgressReporter(pricesOf(models), {
      progress,
      log: this.log,
      setScoringFailure: (message) => session.setScoringFailure(message),
      changed: () => this.progressEmitter.fire(session),
    });
    const run: Run = { controller: new AbortController(), rows: request.rowIndexes ? new Set(request.rowIndexes) : 'all', reporter };
    const cancelSub = token.onCancellationRequested(() => run.controller.abort());
    this.began(session, run);
    try {
      const summary = await this.runDataset(session, request, models, embedding, run.controller.signal, reporter.onEvent);
      if (summary) this.announce(session, request, models, summary);
      return summary;
    } catch (err) {
      this.log.error(err as Error);
      void showError(`PiSAR Review: scoring failed: ${(err as Error).message}`);
      return undefined;
    } finally {
      cancelSub.dispose();
      this.ended(session, run);
    }
  }

  /** The core run over the session's dataset and stores; undefined when the runner refused it (said to the person). */
  private async runDataset(
    session: DatasetSession,
    request: ScoreRequest,
    models: readonly ModelConfig[],
    embedding: EmbeddingConfig,
    signal: AbortSignal,
    onEvent: (e: RunEvent) => void,
  ): Promise<RunSummary | undefined> {
    const started = Date.now();
    const { runDataset, RunError } = loadEngine();
    const results = await session.resultsStore();
    const scorer = await this.scorerFor(embedding, session.file);
    const nli = await this.nliFor(this.config.current.contradiction, session.file);
    const requestCache = await this.cache();
    const dataset = session.dataset;
    this.log.info(`Scoring ${session.file}: ${request.rowIndexes ? `${request.rowIndexes.length} row(s)` : 'all rows'}, models ${request.models?.join(', ') ?? 'all'}${request.rerun ? ' (re-run)' : ''}.`);
    try {
      const summary = await runDataset({
        dataset,
        models: [...models],
        results,
        scorer,
        ...(nli ? { nli } : {}),
        rowIndexes: request.rowIndexes ? [...request.rowIndexes] : undefined,
        modelNames: request.models ? [...request.models] : undefined,
        rerun: request.rerun,
        signal,
        onEvent,
        apiKeyFor: (model) => this.keys.keyFor(model),
        requestCache,
        corrections: correctionsInForce((await session.annotationStore()).corrections(), dataset),
        reasoningMarkers: this.config.current.reasoningMarkers,
        multiReference: this.config.current.multiReference,
      });
      this.log.info(`Scored ${session.file}: ${summary.done}/${summary.total} done, ${summary.called} called, ${summary.failed} failed, ${summary.reused} reused, ${Date.now() - started} ms${summary.cancelled ? ' (cancelled)' : ''}.`);
      return summary;
    } catch (err) {
      return this.refused(err, RunError);
    }
  }

  /** A run the runner refused (RunError: the lock, an unwritable sidecar) is said with its fix; anything else is rethrown. */
  private refused(err: unknown, runError: Engine['RunError']): undefined {
    if (!(err instanceof runError)) throw err;
    this.log.error(withFix(err.message, err.fix));
    void showError(`PiSAR Review: ${withFix(err.message, err.fix)}`);
    return undefined;
  }

  private began(session: DatasetSession, run: Run): void {
    const runs = this.runs.get(session) ?? new Set<Run>();
    runs.add(run);
    this.runs.set(session, runs);
    this.setScoringContext();
    this.progressEmitter.fire(session);
    this.runningEmitter.fire(session);
  }

  private ended(session: DatasetSession, run: Run): void {
    const runs = this.runs.get(session);
    runs?.delete(run);
    if (runs?.size === 0) this.runs.delete(session);
    this.setScoringContext();
    this.progressEmitter.fire(session);
    this.runningEmitter.fire(session);
  }

  /** What a finished run says: cancelled, nothing to do, done (a whole file), or failed calls (a few rows). */
  private announce(session: DatasetSession, request: ScoreRequest, models: readonly ModelConfig[], summary: RunSummary): void {
    if (summary.scored > 0 && !summary.scoringError) session.setScoringFailure(undefined);
    if (summary.cancelled) void showInfo(`PiSAR Review: scoring cancelled after ${summary.done} of ${summary.total}; finished results were kept.`);
    else if (summary.total === 0) this.nothingToScore(session, request, models.length === 0, summary.inBatch);
    else if (request.rowIndexes === undefined) this.announceDone(session, summary);
    else if (summary.failed > 0 && summary.modelFailures.length === 0) {
      void showWarning(`PiSAR Review: ${summary.failed} of ${summary.total} calls failed; hover a row for the reason, or see the log.`);
    }
  }

  /** The end of a whole-file run, with its counts: a person started it and waits to hear it is done. */
  private announceDone(session: DatasetSession, summary: RunSummary): void {
    const seconds = Math.max(1, Math.round(summary.durationMs / 1000));
    const counts = `${summary.done} of ${summary.total} results: ${summary.scored} scored, ${summary.failed} failed`;
    const problem = summary.scoringError
      ? ` Outputs were kept unscored: ${summary.scoringError}`
      : summary.modelFailures.length > 0 ? ` Stopped early: ${summary.modelFailures.map((f) => f.model).join(', ')} (see the error message or the log).`
        : summary.failed > 0 ? ' Hover a row for the reason of a failure, or see the log.' : '';
    const batched = summary.inBatch > 0 ? ` ${summary.inBatch} more are in a pending provider batch (not called: stored when it ends).` : '';
    const text = `PiSAR Review: scored ${path.basename(session.file)} (${counts}, ${seconds} s).${problem}${batched}`;
    const panel = 'Show Panel';
    const log = 'Show Log';
    const shown = problem ? showWarning(text, log, panel) : showInfo(text, panel);
    void shown.then((answer) => {
      if (answer === panel) void vscode.commands.executeCommand(ViewCommands.focusPanel);
      else if (answer === log) void vscode.commands.executeCommand(Commands.showLog);
    });
  }

  private setScoringContext(): void {
    void vscode.commands.executeCommand('setContext', ContextKeys.scoring, this.runs.size > 0);
  }

  private async cache(): Promise<RequestCache> {
    if (!this.requestCache) {
      // One cache for every run of this window: identical concurrent calls (row + file run) share one request.
      const { RequestCache } = loadEngine();
      this.requestCache = RequestCache.inMemory();
    }
    return this.requestCache;
  }

  /**
   * Judge File: the judge model's verdict on every stored output of the file, through the runner's client and this
   * window's request cache (a second run calls nothing); verdicts are stored with the results, whose store tells the views.
   */
  async judge(session: DatasetSession): Promise<JudgeSummary | undefined> {
    if (refuseUntrusted('judge outputs')) return undefined;
    const cfg = this.config.current;
    const judge = cfg.models.find((m) => m.name === cfg.judge.model);
    if (!judge) {
      const open = 'Open Settings';
      const text = cfg.judge.model
        ? ui`PiSAR Review: the judge model "${cfg.judge.model}" is not one of "pisarReview.models". Set "pisarReview.judge.model" to the name of a configured model.`
        : 'PiSAR Review: no judge model: set "pisarReview.judge.model" to the name of one of "pisarReview.models" (its prompt is "pisarReview.judge.prompt").';
      void showWarning(text, open).then((a) => a === open && vscode.commands.executeCommand('workbench.action.openSettings', `${Settings.section}.${Settings.judgeModel}`));
      return undefined;
    }
    await session.whenReady();
    const name = path.basename(session.file);
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: ui`PiSAR Review: judging ${name} with ${judge.name}`, cancellable: true }, async (progress, token) => {
      const controller = new AbortController();
      const cancelSub = token.onCancellationRequested(() => controller.abort());
      const { judgeDataset, RunError } = loadEngine();
      try {
        const summary = await judgeDataset({
          dataset: session.dataset, results: await session.resultsStore(), judge, template: cfg.judge.prompt,
          corrections: correctionsInForce((await session.annotationStore()).corrections(), session.dataset),
          apiKeyFor: (model) => this.keys.keyFor(model), requestCache: await this.cache(), reasoningMarkers: cfg.reasoningMarkers, signal: controller.signal,
          onEvent: (e) => {
            if (e.kind === 'judged') progress.report({ message: ui`${e.done} of ${e.total}`, increment: 100 / Math.max(1, e.total) });
            else if (e.kind === 'model-failed') this.log.error(withFix(e.message, e.fix));
            else if (e.kind === 'wait') progress.report({ message: ui`${e.model}: the server asked to wait ${Math.round(e.delayMs / 1000)} s` });
          },
        });
        this.log.info(`Judged ${session.file} with ${judge.name}: ${summary.judged} judged, ${summary.reused} already judged, ${summary.failed} failed, ${summary.called} called, ${summary.cacheHits} from cache.`);
        const counts = `${summary.verdicts.good} good, ${summary.verdicts.bad} bad, ${summary.failed} failed${summary.reused > 0 ? `; ${summary.reused} already judged with this prompt` : ''}${summary.skippedCount > 0 ? `; ${summary.skippedCount} not judged (see the log)` : ''}`;
        for (const s of summary.skipped) this.log.info(`Not judged: ${s.rowId} / ${s.model}: ${s.reason}`);
        for (const f of summary.failures) this.log.warn(`Judge failed: ${f.rowId} / ${f.model}: ${f.kind}: ${f.message}`);
        const text = ui`PiSAR Review: judged ${name} with ${judge.name}: ` + counts + (summary.cancelled ? ' (cancelled; run again to resume).' : '. Hover a row, or open it in the panel, for the verdict and its reason.');
        void (summary.failed > 0 || summary.modelFailure ? showWarning(text) : showInfo(text));
        return summary;
      } catch (err) {
        return this.refused(err, RunError);
      } finally {
        cancelSub.dispose();
      }
    });
  }

  /**
   * Scores a row's stored outputs again against its corrected reference (and the file's): no model
   * is called and no other row changes. Returns how many outputs were re-scored.
   */
  async rescoreCorrected(session: DatasetSession, rowIndex: number, correction: ReferenceCorrection): Promise<number> {
    const results = await session.resultsStore();
    const row = await session.dataset.getRow(rowIndex);
    const scorer = await this.scorerFor(this.config.current.embedding, session.file);
    const records = await rescoreForCorrection(row, correction, results.forRow(row.id), scorer, new Date(), this.config.current.multiReference);
    await results.append(records);
    this.log.info(`Re-scored ${records.length} output(s) of row ${row.id} against its corrected reference (no model call).`);
    return records.length;
  }

  private async scorerFor(embedding: EmbeddingConfig, datasetFile: string): Promise<Scorer> {
    // A model folder written as ./x is relative to the dataset's workspace folder, not the extension host's cwd.
    const baseDir = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(datasetFile))?.uri.fsPath ?? path.dirname(datasetFile);
    const key = `${embeddingKey(embedding)}\0${baseDir}`;
    if (this.scorer?.key === key) return this.scorer.scorer;
    await this.disposeScorer();
    const { createScorer } = loadEngine();
    let apiKey: string | undefined;
    if (embedding.provider === 'remote' && embedding.remote.baseUrl) {
      apiKey = await this.keys.keyFor({ name: EMBEDDING_KEY_NAME, baseUrl: embedding.remote.baseUrl });
    }
    const scorer = createScorer({
      provider: embedding.provider,
      model: embedding.model,
      baseDir,
      dtype: embedding.dtype,
      maxUnknownShare: embedding.maxUnknownShare,
      remote: embedding.provider === 'remote' ? { ...embedding.remote, apiKey } : undefined,
      cacheDir: this.storageDir,
      workerPath: this.workerPath,
    });
    this.scorer = { key, scorer };
    return scorer;
  }

  /** The contradiction checker while the check is on (pisarReview.contradiction.enabled); one per model and folder, kept across runs. */
  private async nliFor(contradiction: ContradictionConfig, datasetFile: string): Promise<NliChecker | undefined> {
    if (!contradiction.enabled) return undefined;
    const baseDir = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(datasetFile))?.uri.fsPath ?? path.dirname(datasetFile);
    const key = `${contradiction.model}\0${baseDir}`;
    if (this.nli?.key === key) return this.nli.checker;
    const old = this.nli;
    this.nli = undefined;
    await old?.checker.dispose().catch(() => undefined);
    const { createNliChecker } = loadEngine();
    const checker = createNliChecker({ model: contradiction.model, baseDir, cacheDir: this.storageDir });
    this.nli = { key, checker };
    return checker;
  }

  private async disposeScorer(): Promise<void> {
    const old = this.scorer;
    this.scorer = undefined;
    await old?.scorer.dispose().catch((err) => this.log.warn(`Scorer did not shut down cleanly: ${String(err)}`));
  }

  override dispose(): void {
    this.cancel();
    void this.disposeScorer();
    void this.nli?.checker.dispose().catch(() => undefined);
    super.dispose();
  }
}

/**
 * True (and says so, offering Manage Workspace Trust) when the workspace is not trusted: no model and
 * no batch endpoint is called there, since its settings and sidecars may point anywhere.
 */
export function refuseUntrusted(what: string): boolean {
  if (vscode.workspace.isTrusted) return false;
  const manage = 'Manage Workspace Trust';
  void showWarning(`PiSAR Review calls no model in an untrusted workspace. Stored scores are shown; trust this workspace to ${what}.`, manage).then((answer) => {
    if (answer === manage) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return true;
}

function embeddingKey(e: EmbeddingConfig): string {
  return JSON.stringify(e);
}
