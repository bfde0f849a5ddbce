import * as crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setMaxListeners } from 'node:events';
import { MAX_DURATION_MS, MODEL_DEFAULTS, type ModelConfig } from '../config/models';
import type { Dataset } from '../dataset/datasetReader';
import { EMPTY_OUTPUT_NOTE, isEmptyOutput } from '../rules/rules';
import { effectiveReferences } from '../store/corrections';
import { referencesOf } from '../dataset/fields';
import type { ReferenceCorrection } from '../store/annotations';
import type { DatasetRow } from '../dataset/types';
import { repeatsFailure, type ResultsStore, type StoredResult } from '../store/results';
import { isVerified } from '../store/provenance';
import { ImageError } from './images';
import { Cancelled, ModelLane, type LaneContext } from './modelLane';
import { planRun } from './plan';
import { PromptError } from './prompt';
import { buildChatRequest } from './preview';
import { cachedAnswer, type Completion } from './provider';
import { splitReasoning, type ReasoningMarker } from '../rules/reasoning';
import { ResponseError } from '../http/errors';
import { visibleAnswer, type ReasoningOptions } from './responses';
import { RequestCache } from './requestCache';
import { ResultWriter } from './resultWriter';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../http/retry';
import { RowFeed } from './rowFeed';
import type { ModelFailure, ModelRunStats, RunNliChecker, RunScorer } from './runTypes';
import { ScoreBatcher } from './scoreBatcher';
import type { MultiReference } from '../rules/multiReference';
import { ownValue } from '../security/ownKeys';
import { LockError, RunLock } from '../store/runLock';
import { UnsafeFileError, writeSafe } from '../store/safeFile';
import { encodeRecord } from '../store/sidecar';
import { BAD_EMBEDDING } from './scoreBatcher';
import { BatchLedger } from '../store/batchLedger';

export interface RunSummary {
  /** (row, model) pairs in scope. */
  pairs: number;
  /** Pairs that needed work (a call, a precomputed output to store, or a score). */
  total: number;
  done: number;
  called: number;
  cacheHits: number;
  precomputed: number;
  reused: number;
  scored: number;
  succeeded: number;
  failed: number;
  /** Failed pairs whose failure repeated the one already stored (counted in `failed`, not appended again). */
  repeatedFailures: number;
  retries: number;
  cancelled: boolean;
  /** Models stopped early (401/403/404, unreachable), each with its reason and fix. */
  modelFailures: ModelFailure[];
  /** Set when scoring failed as a whole (e.g. the embedding model did not load); outputs were kept unscored. */
  scoringError?: string;
  /** Set when the contradiction check failed as a whole (e.g. the NLI model did not load); scores were kept, unchecked. */
  contradictionError?: string;
  /** Up to 100 failed pairs with their reasons. */
  failures: { rowId: string; model: string; kind: string; message: string }[];
  /** Pairs left to a pending provider batch (batches sidecar): not called, the batch answers them. */
  inBatch: number;
  models: ModelRunStats[];
  durationMs: number;
}

export type RunEvent =
  | { kind: 'start'; total: number; pairs: number; models: string[] }
  /** done counts every finished pair, failed ones included; failed says how many of them failed; remaining = total - done. */
  | { kind: 'result'; result: StoredResult; done: number; failed: number; total: number }
  | { kind: 'skip'; rowId: string; model: string; reason: string; done: number; failed: number; total: number }
  | { kind: 'retry'; model: string; rowId: string; retry: number; delayMs: number; reason: string }
  /** A model holds off because its server asked it to wait (Retry-After): told once per pause. */
  | { kind: 'wait'; model: string; delayMs: number; until: string; reason: string }
  | { kind: 'model-failed'; model: string; message: string; fix: string }
  | { kind: 'scoring-failed'; message: string }
  | { kind: 'contradiction-failed'; message: string }
  | { kind: 'done'; summary: RunSummary };

export interface RunOptions {
  dataset: Dataset;
  /** Models that may be called. Models seen only in precomputed outputs are stored and scored too. */
  models: readonly ModelConfig[];
  results: ResultsStore;
  scorer?: RunScorer;
  /** The contradiction check (with a scorer): every output scored is checked against the reference it matched. */
  nli?: RunNliChecker;
  /** Rows to run (0-based indexes); default all. */
  rowIndexes?: number[];
  /** Only these model names (configured or precomputed); default all. */
  modelNames?: string[];
  /** Call configured models again even where an output exists (stored or precomputed). */
  rerun?: boolean;
  /** Aborts at once: calls in flight are dropped (their answers lost). */
  signal?: AbortSignal;
  /** Stops starting new pairs; calls in flight finish and are written (a first Ctrl-C). */
  stopSignal?: AbortSignal;
  /** Where results that could not be appended to the sidecar (disk full) are saved (default: the system temp folder). */
  unsavedDir?: string;
  onEvent?: (e: RunEvent) => void;
  /** Told (once) that another run holds this dataset's lock and this one waits for it. */
  onLockWait?: (message: string) => void;
  /** Told when a stale lock (a dead run's, or one that came with the folder) is taken over, or broken by breakLock. */
  onLockNotice?: (message: string) => void;
  /** Delete the dataset's lock first: the user says no run holds it. */
  breakLock?: boolean;
  /** Longest wait for another live run's lock (default 10 minutes); then the run fails with the fix. */
  lockWaitMs?: number;
  /** The model's API key (extension: SecretStorage; CLI: the env var named by apiKeyEnv). Never stored. */
  apiKeyFor: (model: ModelConfig) => Promise<string | undefined>;
  /** Default: an in-memory cache for this run. */
  requestCache?: RequestCache;
  retry?: Partial<RetryPolicy>;
  /** Longest Retry-After waited when the model sets no maxRetryWaitMs (default 600000 ms); a longer one fails the pair with the reason. */
  maxRetryAfterMs?: number;
  /** Reasoning markers beside the built-in ones (the `reasoning.markers` setting), stripped from called and precomputed outputs. */
  reasoningMarkers?: readonly ReasoningMarker[];
  maxImageBytes?: number;
  /** Most pairs per scorer call (default 2048): the scorer sorts a whole window by length. */
  scoreBatchSize?: number;
  /** Longest an output waits in memory for its score before it is written unscored (default 1500 ms). */
  scoreHoldMs?: number;
  /** Reviewers' corrected references in force, by row id: outputs of those rows are scored against them (and the file's, as originalScore). */
  corrections?: ReadonlyMap<string, ReferenceCorrection>;
  /** A row with several references: its score is the best match (default) or the mean over them. */
  multiReference?: MultiReference;
  /** Stored with every new result of this run (`score --tag`: a checkpoint or version), for lineage in compare. */
  tag?: string;
}

/** Raised when a run cannot go on (e.g. the dataset changed on disk mid-run); finished rows are kept. */
export class RunError extends Error {
  constructor(message: string, readonly fix: string) {
    super(message);
    this.name = 'RunError';
  }
}

const MAX_LISTED_FAILURES = 100;
/** Longest wait a server may ask for before a pair fails instead (a model's maxRetryWaitMs overrides it). */
export const DEFAULT_MAX_RETRY_WAIT_MS = 600_000;

/**
 * Runs rows x models: stores precomputed outputs, calls configured models where an output is missing
 * (or on rerun), scores outputs against references, and appends every result as it completes.
 * The parts: planRun (what to do), ModelLane (a model's calls and retries), RowFeed (rows read in one
 * pass), ScoreBatcher (scoring in large windows) and ResultWriter (coalesced appends).
 */
export async function runDataset(options: RunOptions): Promise<RunSummary> {
  return withRunLock(options, () => runUnlocked(options));
}

/** What taking a dataset's run lock needs: the run's results store, its signals and the lock options of RunOptions. */
export type RunLockOptions = Pick<RunOptions, 'results' | 'signal' | 'stopSignal' | 'onLockWait' | 'onLockNotice' | 'breakLock' | 'lockWaitMs'>;

/**
 * Runs `work` holding the dataset's run lock (src/core/store/runLock.ts): one run per dataset at a time (scoring,
 * judging); a second waits, re-reads the results the first wrote, then does only what is left.
 */
export async function withRunLock<T>(options: RunLockOptions, work: () => Promise<T>): Promise<T> {
  let lock: RunLock | undefined;
  try {
    const waitSignal = options.stopSignal && options.signal ? AbortSignal.any([options.signal, options.stopSignal]) : options.stopSignal ?? options.signal;
    lock = await RunLock.acquire(options.results.file, { signal: waitSignal, onWait: options.onLockWait, onNotice: options.onLockNotice, breakLock: options.breakLock, maxWaitMs: options.lockWaitMs });
  } catch (err) {
    if (err instanceof LockError) throw new RunError(err.message, err.fix);
    if (err instanceof UnsafeFileError) throw new RunError(`cannot lock ${RunLock.fileFor(options.results.file)}: ${err.reason}`, err.fix);
    if (options.signal?.aborted || options.stopSignal?.aborted) throw new RunError('cancelled while waiting for another run on this dataset', 'Run again once the other run has finished.');
    // A folder we cannot write: no lock; the write check below names the sidecar before any call.
  }
  try {
    if (lock?.waited) await options.results.reload();
    return await work();
  } finally {
    await lock?.release();
  }
}

/** What a model lane tells a run: retries, waits the server asked for, the model stopped. */
export type LaneEvent = Extract<RunEvent, { kind: 'retry' | 'wait' | 'model-failed' }>;

/** The context of a run's model lanes: the retry policy, the Retry-After cap, keys; lane events go to `emit`, a stopped model also to `onModelFailed`. */
export function laneContextOf(
  options: Pick<RunOptions, 'retry' | 'maxRetryAfterMs' | 'apiKeyFor' | 'reasoningMarkers'>,
  runSignal: AbortSignal,
  emit: (e: LaneEvent) => void,
  onModelFailed: (failure: ModelFailure) => void,
): LaneContext {
  return {
    runSignal,
    policy: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    maxRetryAfterMs: Math.min(options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_WAIT_MS, MAX_DURATION_MS),
    apiKeyFor: options.apiKeyFor,
    reasoningMarkers: options.reasoningMarkers,
    onRetry: (e) => emit({ kind: 'retry', ...e }),
    onWait: (e) => emit({ kind: 'wait', ...e }),
    onModelFailed: (failure) => {
      onModelFailed(failure);
      emit({ kind: 'model-failed', ...failure });
    },
  };
}

/** A run's event listener whose bugs cannot break the run (a throw is dropped). */
export function safeListener<E>(listener: ((e: E) => void) | undefined): (e: E) => void {
  return (e) => {
    try {
      listener?.(e);
    } catch {
      // A listener's bug must not break the run.
    }
  };
}

async function runUnlocked(options: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const { dataset, results, scorer } = options;
  const cache = options.requestCache ?? RequestCache.inMemory();
  const emit = safeListener(options.onEvent);

  const run = new AbortController();
  setMaxListeners(0, run.signal); // every call in flight listens for cancel
  const onUserAbort = () => run.abort();
  // Stop taking new pairs (a first Ctrl-C, or a failed append); calls in flight still finish and are kept.
  const stop = new AbortController();
  const onUserStop = () => stop.abort();
  if (options.stopSignal?.aborted) stop.abort();
  options.stopSignal?.addEventListener('abort', onUserStop, { once: true });
  if (options.signal?.aborted) run.abort();
  options.signal?.addEventListener('abort', onUserAbort, { once: true });
  let fatal: RunError | undefined;

  // Pairs a pending provider batch will answer (the batches sidecar): calling them now would pay twice.
  const inBatch = options.rerun ? undefined : (await BatchLedger.open(options.dataset.file)).pendingPairs();
  const plan = planRun({ ...options, inBatch, scorerKey: scorer?.cacheKey, embedding: scorer?.identity?.(), nli: scorer ? options.nli?.identity() : undefined, corrections: options.corrections, multiReference: options.multiReference ?? 'best' });
  const summary: RunSummary = {
    pairs: plan.pairs, total: plan.total, done: 0, called: 0, cacheHits: 0, precomputed: 0, reused: 0, scored: 0, succeeded: 0, failed: 0,
    repeatedFailures: 0, retries: 0, cancelled: false, modelFailures: [], failures: [], inBatch: plan.inBatch, models: [], durationMs: 0,
  };
  const laneContext = laneContextOf(options, run.signal, emit, (failure) => summary.modelFailures.push(failure));
  const lanes = plan.lanes.map((p) => {
    const lane = new ModelLane(p.name, p.config, p.rows, laneContext);
    lane.stats.reused = p.reused;
    return lane;
  });
  const laneOf = new Map(lanes.map((lane) => [lane.name, lane]));
  summary.models = lanes.map((lane) => lane.stats);
  if (summary.total > 0) {
    // A read-only folder or a planted link is found before the first billable call, not after it.
    await results.checkWritable().catch((err: Error & { reason?: string; fix?: string }) => {
      options.signal?.removeEventListener('abort', onUserAbort);
      throw new RunError(`cannot write ${results.file}: ${err.reason ?? err.message}`, err.fix ?? 'Check the folder\'s permissions.');
    });
  }
  emit({ kind: 'start', total: summary.total, pairs: summary.pairs, models: lanes.map((lane) => lane.name) });
  for (const lane of lanes) if (lane.remaining > 0) lane.checkBaseUrl();

  const count = (r: StoredResult) => {
    summary.done++;
    const stats = laneOf.get(r.model)?.stats;
    if (r.error) {
      summary.failed++;
      if (stats) {
        stats.failed++;
        stats.failedByKind[r.error.kind] = (stats.failedByKind[r.error.kind] ?? 0) + 1;
      }
      if (summary.failures.length < MAX_LISTED_FAILURES) summary.failures.push({ rowId: r.rowId, model: r.model, kind: r.error.kind, message: r.error.message });
    } else {
      summary.succeeded++;
      if (stats) stats.succeeded++;
    }
  };
  /** An output counted as a success when it was written unscored, whose embedding then proved unusable. */
  const recount = (r: StoredResult) => {
    summary.succeeded--;
    summary.done--;
    const stats = laneOf.get(r.model)?.stats;
    if (stats) stats.succeeded--;
    count(r);
  };
  const writer = new ResultWriter(
    results,
    ({ result, counted }) => {
      if (counted) count(result);
      else if (result.error?.kind === BAD_EMBEDDING) recount(result);
      emit({ kind: 'result', result, done: summary.done, failed: summary.failed, total: summary.total });
    },
    // Start no new call; calls in flight finish and their paid answers are kept (saved apart below).
    () => stop.abort(),
  );
  const batcher = scorer
    ? new ScoreBatcher({
        scorer,
        signal: run.signal,
        write: (result, counted) => writer.write(result, counted),
        // An output that costs nothing to redo (precomputed, already stored) is not stored unscored: a line that decides nothing.
        unscored: (result) => skip(result.rowId, result.model, 'not scored (scoring failed or the run was cancelled); nothing stored, the next run scores it'),
        onFailed: (message) => {
          summary.scoringError = message;
          emit({ kind: 'scoring-failed', message });
        },
        multiReference: options.multiReference,
        nli: options.nli,
        onNliFailed: (message) => {
          summary.contradictionError = message;
          emit({ kind: 'contradiction-failed', message });
        },
        window: options.scoreBatchSize,
        holdMs: options.scoreHoldMs,
      })
    : undefined;

  const skip = (rowId: string, model: string, reason: string) => {
    summary.done++;
    emit({ kind: 'skip', rowId, model, reason, done: summary.done, failed: summary.failed, total: summary.total });
  };

  /** Hands a finished pair on: to the scorer when it has an output and a reference, else straight to disk. */
  const finish = (result: StoredResult, row: DatasetRow, costly: boolean) => {
    if (result.output === undefined) {
      const stored = results.latest(result.rowId, result.model);
      if (result.error && stored && repeatsFailure(stored, result)) {
        // The same failure as the one stored (a wrong key, run again): counted, not appended again.
        summary.repeatedFailures++;
        count(result);
        emit({ kind: 'result', result, done: summary.done, failed: summary.failed, total: summary.total });
        return;
      }
      return writer.write(result);
    }
    const correction = options.corrections?.get(row.id);
    const references = effectiveReferences(row, correction);
    if (references.length === 0) return writer.write({ ...result, scoreNote: 'the row has no reference rationale' });
    if (isEmptyOutput(result.output)) return writer.write({ ...result, scoreNote: result.scoreNote ?? EMPTY_OUTPUT_NOTE });
    if (!batcher || run.signal.aborted) return writer.write(result);
    if (correction) batcher.add({ ...result, correction: correction.id }, references, costly, referencesOf(row));
    else batcher.add(result, references, costly);
  };

  const reasoning = (lane: ModelLane): ReasoningOptions => ({ keepThinking: lane.config?.keepThinking, markers: options.reasoningMarkers });

  const processPair = async (lane: ModelLane, row: DatasetRow) => {
    const now = () => new Date().toISOString();
    const base = { rowId: row.id, rowHash: row.hash, model: lane.name, ...(options.tag !== undefined ? { tag: options.tag } : {}) };
    const latest = results.latest(row.id, lane.name);
    const calling = lane.config !== undefined;

    // A current output (stored or cached) only needs its score.
    // (An output whose embedding was unusable is kept: only its score is redone, no call is paid twice.)
    // A line read from the file (no valid MAC) is never taken as it is: a precomputed output is taken from the
    // row again; a called one is scored here and keeps saying its text came from the file (outputFrom).
    const verified = latest !== undefined && isVerified(latest);
    if (latest && latest.rowHash === row.hash && latest.output !== undefined && (!latest.error || latest.error.kind === BAD_EMBEDDING) && !(options.rerun && calling)
      && (verified || (latest.source === 'called' && calling))) {
      if (latest.source === 'precomputed') lane.stats.precomputed++;
      const { score: _score, scorer: _scorer, scoreNote: _note, scoreCut: _cut, error: _error, correction: _correction, originalScore: _original, referenceScores: _each, matchedReference: _matched, multiReference: _mode, humanScore: _human, nli: _nli, output: _output, rawOutput: _raw, reasoningStripped: _stripped,
        outputHash: _oh, referenceHash: _rh, embedding: _emb, mac: _mac, outputFrom, ...rest } = latest;
      return finish({ ...rest, ...answerFields(latest.rawOutput ?? latest.output, reasoning(lane)), ...(!verified || outputFrom ? { outputFrom: 'file' as const } : {}), at: now() }, row, false);
    }
    const precomputed = ownValue(row.outputs, lane.name);
    if (precomputed !== undefined && !(options.rerun && calling)) {
      lane.stats.precomputed++;
      return finish({ ...base, source: 'precomputed', ...answerFields(precomputed, reasoning(lane)), at: now() }, row, false);
    }
    if (!calling) return skip(row.id, lane.name, 'no precomputed output and the model is not configured');
    if (lane.failure) {
      return finish({ ...base, source: 'called', error: { kind: 'model-failed', message: lane.failure.message }, at: now() }, row, true);
    }
    let body: Record<string, unknown>;
    try {
      body = await buildChatRequest(row, lane.config!, dataset.file, options.maxImageBytes);
    } catch (err) {
      if (err instanceof PromptError || err instanceof ImageError) {
        const kind = err instanceof ImageError ? 'image' : 'prompt';
        return finish({ ...base, source: 'called', error: { kind, message: `${err.message}. ${err.fix}` }, at: now() }, row, true);
      }
      throw err;
    }
    const promptHash = crypto.createHash('sha256').update(JSON.stringify(body.messages)).digest('hex').slice(0, 16);
    const key = RequestCache.key(lane.config!.baseUrl, body);
    const hit = options.rerun ? undefined : cachedAnswer(cache.get(key), reasoning(lane));
    if (hit) {
      lane.stats.cacheHits++;
      return finish({ ...base, source: 'called', output: hit.output, promptHash, ...completionFields(hit), cached: true, at: now() }, row, true);
    }
    const { outcome, shared } = await cache.share(key, () => lane.call(body, row.id), (o) => (o.ok ? o.completion : undefined));
    if (shared && outcome.ok) lane.stats.cacheHits++;
    if (outcome.ok) {
      return finish({ ...base, source: 'called', output: outcome.completion.output, promptHash, latencyMs: outcome.latencyMs, ...completionFields(outcome.completion), ...(shared ? { cached: true } : {}), at: now() }, row, true);
    }
    return finish({ ...base, source: 'called', promptHash, error: outcome.error, at: now() }, row, true);
  };

  const stopped = () => run.signal.aborted || stop.signal.aborted;
  const rows = new RowFeed(dataset, plan.rowUses);
  const work = async (lane: ModelLane) => {
    for (let index = stopped() ? undefined : lane.take(); index !== undefined; index = stopped() ? undefined : lane.take()) {
      try {
        await batcher?.room();
        if (stopped()) break;
        await processPair(lane, await rows.get(index));
      } catch (err) {
        if (err instanceof Cancelled || run.signal.aborted) break;
        const e = err as Error;
        fatal ??= e.name === 'DatasetChangedError'
          ? new RunError(e.message, 'Reopen the dataset and run again; finished rows were kept.')
          : new RunError(`${dataset.file}:${dataset.rowLine(index)}: ${e.message}`, 'Check that row; finished rows were kept.');
        run.abort();
        break;
      } finally {
        rows.release(index);
      }
    }
  };

  const workers: Promise<void>[] = [];
  for (const lane of lanes) {
    // Precomputed-only models make no calls; a few workers overlap their row reads.
    const n = lane.config ? lane.config.concurrency ?? MODEL_DEFAULTS.concurrency : 4;
    for (let i = 0; i < Math.min(n, Math.max(1, lane.remaining)); i++) workers.push(work(lane));
  }
  await Promise.all(workers);
  await batcher?.idle();
  await writer.idle();
  batcher?.dispose();
  options.signal?.removeEventListener('abort', onUserAbort);

  for (const { stats } of lanes) {
    summary.called += stats.called;
    summary.cacheHits += stats.cacheHits;
    summary.precomputed += stats.precomputed;
    summary.reused += stats.reused;
    summary.retries += stats.retries;
  }
  summary.scored = batcher?.scored ?? 0;
  options.stopSignal?.removeEventListener('abort', onUserStop);
  summary.cancelled = (options.signal?.aborted ?? false) || (options.stopSignal?.aborted ?? false);
  summary.durationMs = Math.round(performance.now() - started);
  if (writer.error) {
    const kept = await saveUnsaved(writer.unsaved, results.file, options.unsavedDir);
    throw new RunError(`cannot write ${results.file}: ${writer.error.message}; no new call was started after it${kept.message}`, `Free disk space and check the folder's permissions, then run again: results written before this were kept${kept.fix}.`);
  }
  if (fatal) throw fatal;
  emit({ kind: 'done', summary });
  return summary;
}

/** Writes results the sidecar refused to a file of their own, so no paid answer is lost; says where. */
async function saveUnsaved(unsaved: readonly StoredResult[], sidecar: string, dir = os.tmpdir()): Promise<{ message: string; fix: string }> {
  if (unsaved.length === 0) return { message: '', fix: '' };
  const file = path.join(dir, `${path.basename(sidecar, '.jsonl')}.unsaved-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.jsonl`);
  try {
    await fsp.mkdir(dir, { recursive: true });
    await writeSafe(file, Buffer.concat(unsaved.map(encodeRecord)), 'create-new');
    return { message: `; the ${unsaved.length} result(s) it could not store were saved to ${file}`, fix: `; then append the saved results: cat ${JSON.stringify(file)} >> ${JSON.stringify(sidecar)}` };
  } catch (err) {
    return { message: `; ${unsaved.length} result(s) could not be stored anywhere (${(err as Error).message}): the request cache still holds the answers`, fix: '' };
  }
}

function completionFields(c: Completion): Pick<StoredResult, 'finishReason' | 'usage' | 'rawOutput' | 'reasoningStripped' | 'answeredBy'> {
  return {
    ...(c.rawOutput !== undefined ? { rawOutput: c.rawOutput } : {}),
    ...(c.reasoningStripped ? { reasoningStripped: c.reasoningStripped } : {}),
    ...(c.finishReason ? { finishReason: c.finishReason } : {}),
    ...(c.usage ? { usage: c.usage } : {}),
    ...(c.answeredBy !== undefined ? { answeredBy: c.answeredBy } : {}),
  };
}

/**
 * A stored or precomputed text as it is stored and scored: by the same rule as a called answer
 * (visibleAnswer). Text that is only reasoning is kept as `rawOutput` with an empty output: nothing to score.
 */
function answerFields(raw: string, reasoning: ReasoningOptions): Pick<StoredResult, 'output' | 'rawOutput' | 'reasoningStripped' | 'scoreNote'> {
  try {
    const visible = visibleAnswer(raw, reasoning);
    return { output: visible.output, ...(visible.rawOutput !== undefined ? { rawOutput: visible.rawOutput } : {}), ...(visible.reasoningStripped ? { reasoningStripped: visible.reasoningStripped } : {}) };
  } catch (err) {
    if (!(err instanceof ResponseError)) throw err;
    const stripped = splitReasoning(raw, reasoning.markers).stripped;
    return { output: '', rawOutput: raw, ...(stripped ? { reasoningStripped: stripped } : {}), scoreNote: `${err.message}: nothing to score` };
  }
}
