import * as crypto from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { promises as fsp } from 'node:fs';
import type { OpenAI } from 'openai';
import { MAX_DURATION_MS, MODEL_DEFAULTS, type ModelConfig } from '../config/models';
import type { Dataset } from '../dataset/dataset';
import type { DatasetRow, FieldMapping, FieldRole } from '../dataset/types';
import type { ResultsStore, StoredResult } from '../store/results';
import { ImageError } from './images';
import { buildMessages, PromptError } from './prompt';
import { completeOnce, createClient, requestBody, type Completion } from './provider';
import { RequestCache } from './requestCache';
import { redactCredentials } from '../security/redact';
import { backoffMs, classifyFailure, DEFAULT_RETRY_POLICY, type FailureClass, type RetryPolicy } from './retry';

/** What the runner needs from the scorer (src/core/scoring/scorer.ts provides it). */
export interface RunScorer {
  /** Identifies the embedding model and settings; a stored score made by another key is redone. */
  readonly cacheKey: string;
  scorePairs(pairs: { output: string; reference: string }[], options?: { signal?: AbortSignal; onEvent?: (e: never) => void }): Promise<number[]>;
}

export interface ModelFailure {
  readonly model: string;
  readonly message: string;
  readonly fix: string;
}

/** Per-model counts for one run. */
export interface ModelRunStats {
  readonly model: string;
  /** Requests sent (first attempts; retries are counted apart). */
  called: number;
  cacheHits: number;
  precomputed: number;
  /** Stored, current and scored already: nothing done. */
  reused: number;
  succeeded: number;
  failed: number;
  retries: number;
  /** Failures by kind (e.g. timeout, rate-limit, model-failed). */
  failedByKind: Record<string, number>;
}

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
  retries: number;
  cancelled: boolean;
  /** Models stopped early (401/403/404, unreachable), each with its reason and fix. */
  modelFailures: ModelFailure[];
  /** Set when scoring failed as a whole (e.g. the embedding model did not load); outputs were kept unscored. */
  scoringError?: string;
  /** Up to 100 failed pairs with their reasons. */
  failures: { rowId: string; model: string; kind: string; message: string }[];
  models: ModelRunStats[];
  durationMs: number;
}

export type RunEvent =
  | { kind: 'start'; total: number; pairs: number; models: string[] }
  | { kind: 'result'; result: StoredResult; done: number; total: number }
  | { kind: 'skip'; rowId: string; model: string; reason: string; done: number; total: number }
  | { kind: 'retry'; model: string; rowId: string; retry: number; delayMs: number; reason: string }
  | { kind: 'model-failed'; model: string; message: string; fix: string }
  | { kind: 'scoring-failed'; message: string }
  | { kind: 'done'; summary: RunSummary };

export interface RunOptions {
  dataset: Dataset;
  /** Models that may be called. Models seen only in precomputed outputs are stored and scored too. */
  models: ModelConfig[];
  results: ResultsStore;
  scorer?: RunScorer;
  /** Rows to run (0-based indexes); default all. */
  rowIndexes?: number[];
  /** Only these model names (configured or precomputed); default all. */
  modelNames?: string[];
  /** Call configured models again even where an output exists (stored or precomputed). */
  rerun?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
  /** The model's API key (extension: SecretStorage; CLI: the env var named by apiKeyEnv). Never stored. */
  apiKeyFor: (model: ModelConfig) => Promise<string | undefined>;
  /** Default: an in-memory cache for this run. */
  requestCache?: RequestCache;
  retry?: Partial<RetryPolicy>;
  /** Cap on a Retry-After wait (default 60000 ms). */
  maxRetryAfterMs?: number;
  maxImageBytes?: number;
  /** Pairs scored per scorer call (default 64). */
  scoreBatchSize?: number;
  /** Longest an output waits in memory for its score before it is written unscored (default 1500 ms). */
  scoreHoldMs?: number;
}

/** Raised when a run cannot go on (e.g. the dataset changed on disk mid-run); finished rows are kept. */
export class RunError extends Error {
  constructor(message: string, readonly fix: string) {
    super(message);
    this.name = 'RunError';
  }
}

class Cancelled extends Error {}

interface ModelState {
  readonly name: string;
  readonly config: ModelConfig | undefined;
  client?: OpenAI;
  clientPromise?: Promise<OpenAI>;
  /** Held only to mask it in failure messages (a server may echo it back). */
  apiKey?: string;
  readonly controller: AbortController;
  readonly signal: AbortSignal;
  failure?: ModelFailure;
  pausedUntil: number;
  readonly stats: ModelRunStats;
  readonly queue: number[];
}

type CallOutcome = { ok: true; completion: Completion; latencyMs: number } | { ok: false; error: NonNullable<StoredResult['error']> };

const MAX_LISTED_FAILURES = 100;

/**
 * Runs rows x models: stores precomputed outputs, calls configured models where an output is missing
 * (or on rerun), scores outputs against references, and appends every result as it completes.
 */
export async function runDataset(options: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const { dataset, results, scorer } = options;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const maxRetryAfterMs = Math.min(options.maxRetryAfterMs ?? 60_000, MAX_DURATION_MS);
  const cache = options.requestCache ?? RequestCache.inMemory();
  const emit = (e: RunEvent) => {
    try {
      options.onEvent?.(e);
    } catch {
      // A listener's bug must not break the run.
    }
  };

  const run = new AbortController();
  setMaxListeners(0, run.signal); // every call in flight listens for cancel
  const onUserAbort = () => run.abort();
  if (options.signal?.aborted) run.abort();
  options.signal?.addEventListener('abort', onUserAbort, { once: true });
  let fatal: RunError | undefined;

  const wanted = (name: string) => !options.modelNames || options.modelNames.includes(name);
  const states = new Map<string, ModelState>();
  const addState = (name: string, config: ModelConfig | undefined) => {
    if (states.has(name) || !wanted(name)) return;
    const controller = new AbortController();
    const signal = AbortSignal.any([run.signal, controller.signal]);
    setMaxListeners(0, signal);
    states.set(name, {
      name, config, controller, signal, pausedUntil: 0, queue: [],
      stats: { model: name, called: 0, cacheHits: 0, precomputed: 0, reused: 0, succeeded: 0, failed: 0, retries: 0, failedByKind: {} },
    });
  };
  for (const m of options.models) addState(m.name, m);
  for (const name of dataset.modelNames) addState(name, undefined);

  const summary: RunSummary = {
    pairs: 0, total: 0, done: 0, called: 0, cacheHits: 0, precomputed: 0, reused: 0, scored: 0, succeeded: 0, failed: 0,
    retries: 0, cancelled: false, modelFailures: [], failures: [], models: [...states.values()].map((s) => s.stats), durationMs: 0,
  };

  // Plan without parsing: a pair whose latest result is current, successful and scored (or unscorable) needs nothing.
  const indexes = options.rowIndexes ?? Array.from({ length: dataset.rowCount }, (_, i) => i);
  const ids = dataset.rowIds();
  const rowUses = new Map<number, number>();
  for (const index of indexes) {
    const id = ids[index];
    const hash = dataset.rowHash(index);
    for (const state of states.values()) {
      summary.pairs++;
      const latest = results.latest(id, state.name);
      // --rerun redoes configured models only: precomputed-only models have nothing to re-run.
      if (latest && isSettled(latest, hash, scorer) && !(options.rerun && state.config)) {
        state.stats.reused++;
        summary.reused++;
        continue;
      }
      state.queue.push(index);
      rowUses.set(index, (rowUses.get(index) ?? 0) + 1);
      summary.total++;
    }
  }
  if (summary.total > 0) {
    // A read-only folder or a planted link is found before the first billable call, not after it.
    await results.checkWritable().catch((err: Error) => {
      options.signal?.removeEventListener('abort', onUserAbort);
      throw new RunError(`cannot write ${results.file}: ${(err as { reason?: string }).reason ?? err.message}`, (err as { fix?: string }).fix ?? 'Check the folder\'s permissions.');
    });
  }
  emit({ kind: 'start', total: summary.total, pairs: summary.pairs, models: [...states.keys()] });
  for (const state of states.values()) {
    if (!state.config || state.queue.length === 0) continue;
    try {
      new URL(state.config.baseUrl);
    } catch {
      state.failure = { model: state.name, message: redactCredentials(`${state.name}: baseUrl "${state.config.baseUrl}" is not a URL; its rows were not called`), fix: 'Set "baseUrl" to the endpoint\'s base URL, e.g. "http://localhost:8000/v1".' };
      summary.modelFailures.push(state.failure);
      emit({ kind: 'model-failed', ...state.failure });
    }
  }

  // Rows are parsed once and shared by the models that need them, then dropped.
  const source = summary.total > 0 ? await inMemoryCopy(dataset) : undefined;
  const rowCache = new Map<number, Promise<DatasetRow>>();
  const getRow = (index: number): Promise<DatasetRow> => {
    let row = rowCache.get(index);
    if (!row) rowCache.set(index, (row = (source ?? dataset).getRow(index)));
    return row;
  };
  const releaseRow = (index: number) => {
    const left = (rowUses.get(index) ?? 1) - 1;
    if (left <= 0) {
      rowUses.delete(index);
      rowCache.delete(index);
    } else rowUses.set(index, left);
  };

  // Appends are coalesced: whatever finished while the last write ran goes out in the next one.
  // `counted: false` marks a follow-up line (the score of an output already written and counted).
  let appendQueue: { result: StoredResult; counted: boolean }[] = [];
  let appending: Promise<void> | undefined;
  let appendError: Error | undefined;
  const append = (result: StoredResult, counted = true) => {
    appendQueue.push({ result, counted });
    if (!appending) appending = drainAppends();
  };
  const drainAppends = async () => {
    while (appendQueue.length > 0) {
      const batch = appendQueue;
      appendQueue = [];
      try {
        await results.append(batch.map((b) => b.result));
      } catch (err) {
        appendError ??= err as Error;
        run.abort();
        continue;
      }
      for (const { result: r, counted } of batch) {
        if (counted) count(r);
        emit({ kind: 'result', result: r, done: summary.done, total: summary.total });
      }
    }
    appending = undefined;
  };
  const count = (r: StoredResult) => {
    summary.done++;
    const stats = states.get(r.model)?.stats;
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

  // Scoring runs beside the calls in batches; results are appended once scored. An output that waits
  // longer than scoreHoldMs (the embedding model still loading) is written unscored at once, so a crash
  // loses only calls in flight; its score follows as a second line (the latest line wins).
  interface PendingScore { result: StoredResult; reference: string; queuedAt: number; written: boolean }
  const batchSize = options.scoreBatchSize ?? 64;
  const holdMs = options.scoreHoldMs ?? 1500;
  let scoreQueue: PendingScore[] = [];
  const pendingScores = new Set<PendingScore>();
  let scoring: Promise<void> | undefined;
  let scorerBroken: string | undefined;
  const holdTimer = scorer
    ? setInterval(() => {
        const now = Date.now();
        for (const p of pendingScores) {
          if (!p.written && now - p.queuedAt >= holdMs) {
            p.written = true;
            append({ ...p.result });
          }
        }
      }, Math.max(10, Math.min(250, holdMs / 2)))
    : undefined;
  holdTimer?.unref();
  const finish = (result: StoredResult, row: DatasetRow) => {
    if (result.output === undefined) return append(result);
    if (row.reference === undefined) return append({ ...result, scoreNote: 'the row has no reference rationale' });
    if (!scorer || scorerBroken || run.signal.aborted) return append(result);
    const pending: PendingScore = { result, reference: row.reference, queuedAt: Date.now(), written: false };
    scoreQueue.push(pending);
    pendingScores.add(pending);
    if (!scoring) scoring = drainScores();
  };
  const drainScores = async () => {
    while (scoreQueue.length > 0) {
      const batch = scoreQueue.slice(0, batchSize);
      scoreQueue = scoreQueue.slice(batch.length);
      let scored = false;
      if (scorer && !scorerBroken && !run.signal.aborted) {
        try {
          const scores = await scorer.scorePairs(batch.map((b) => ({ output: b.result.output!, reference: b.reference })), { signal: run.signal });
          batch.forEach((b, i) => {
            const score = scores[i];
            if (typeof score === 'number' && Number.isFinite(score)) {
              b.result.score = score;
              b.result.scorer = scorer.cacheKey;
              summary.scored++;
            }
          });
          scored = true;
        } catch (err) {
          if (!run.signal.aborted) {
            scorerBroken = redactCredentials((err as Error).message ?? String(err));
            summary.scoringError = scorerBroken;
            emit({ kind: 'scoring-failed', message: scorerBroken });
          }
        }
      }
      // Unscored (cancelled or scorer broken) outputs are kept; a later run scores them without a call.
      for (const b of batch) {
        pendingScores.delete(b);
        if (!b.written) append(b.result);
        else if (scored && b.result.score !== undefined) append({ ...b.result, at: new Date().toISOString() }, false);
      }
    }
    scoring = undefined;
  };

  const failModel = (state: ModelState, failure: FailureClass) => {
    if (state.failure) return;
    const config = state.config!;
    const fix =
      failure.kind === 'auth' || failure.kind === 'key'
        ? `Check the API key for "${state.name}" (CLI: the environment variable named by "apiKeyEnv"${config.apiKeyEnv ? `, ${config.apiKeyEnv}` : ''}; VS Code: "PiSAR Review: Set API Key") and that it may use model "${config.model}".`
        : failure.kind === 'not-found'
          ? `Check "model" ("${config.model}") and "baseUrl" (${config.baseUrl}) of "${state.name}": the endpoint says it does not exist.`
          : `Check that the server at ${config.baseUrl} is running and reachable, then run again.`;
    const mask = (text: string) => redactCredentials(text, [state.apiKey]);
    state.failure = { model: state.name, message: mask(`${state.name}: ${failure.message}; its remaining rows were not called`), fix: mask(fix) };
    summary.modelFailures.push(state.failure);
    emit({ kind: 'model-failed', ...state.failure });
    state.controller.abort(); // stop the model's calls in flight
  };

  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });

  const clientFor = (state: ModelState): Promise<OpenAI> => {
    state.clientPromise ??= options.apiKeyFor(state.config!).then((key) => {
      state.apiKey = key;
      return (state.client = createClient(state.config!, key));
    });
    return state.clientPromise;
  };

  const callWithRetries = async (state: ModelState, body: Record<string, unknown>, rowId: string): Promise<CallOutcome> => {
    let client: OpenAI;
    try {
      client = await clientFor(state);
    } catch (err) {
      failModel(state, { action: 'model', kind: 'key', message: `could not get its API key (${(err as Error).message ?? String(err)})` });
      return { ok: false, error: { kind: 'model-failed', message: state.failure!.message } };
    }
    for (let attempt = 0; ; attempt++) {
      if (run.signal.aborted) throw new Cancelled();
      if (state.failure) return { ok: false, error: { kind: 'model-failed', message: state.failure.message } };
      const wait = state.pausedUntil - Date.now();
      if (wait > 0) await sleep(wait, state.signal);
      if (attempt === 0) {
        state.stats.called++;
        summary.called++;
      }
      const t0 = performance.now();
      try {
        const completion = await completeOnce(client, body, state.signal);
        return { ok: true, completion, latencyMs: Math.round(performance.now() - t0) };
      } catch (err) {
        // Servers and proxies may quote the request (headers, URL) in an error: mask before it is stored or shown.
        const classified = classifyFailure(err);
        const failure = { ...classified, message: redactCredentials(classified.message, [state.apiKey]) };
        if (failure.action === 'aborted' || run.signal.aborted) {
          if (run.signal.aborted) throw new Cancelled();
          return { ok: false, error: { kind: 'model-failed', message: (state.failure as ModelFailure | undefined)?.message ?? 'cancelled' } };
        }
        if (failure.action === 'model') {
          failModel(state, failure);
          return { ok: false, error: errorOf(failure) };
        }
        if (failure.action === 'retry' && attempt < policy.retries) {
          const retry = attempt + 1;
          let delay = backoffMs(retry, policy);
          if (failure.retryAfterMs !== undefined) {
            // Honour Retry-After for the whole model: its other workers hold off too.
            delay = Math.min(failure.retryAfterMs, maxRetryAfterMs) + Math.round(Math.random() * 50);
            if (failure.retryAfterMs > maxRetryAfterMs) failure.message += ` (the server asked to wait ${Math.round(failure.retryAfterMs / 1000)} s; waiting ${Math.round(maxRetryAfterMs / 1000)} s, the cap)`;
            state.pausedUntil = Math.max(state.pausedUntil, Date.now() + delay);
          }
          state.stats.retries++;
          summary.retries++;
          emit({ kind: 'retry', model: state.name, rowId, retry, delayMs: delay, reason: failure.message });
          await sleep(delay, state.signal);
          continue;
        }
        if (failure.kind === 'unreachable') {
          failModel(state, { ...failure, action: 'model', message: `cannot reach ${state.config!.baseUrl} (${failure.message})` });
        }
        const error = errorOf(failure);
        if (failure.action === 'retry') error.message += ` (gave up after ${attempt + 1} attempts)`;
        return { ok: false, error };
      }
    }
  };

  const processPair = async (state: ModelState, index: number) => {
    const row = await getRow(index);
    const now = () => new Date().toISOString();
    const base = { rowId: row.id, rowHash: row.hash, model: state.name };
    const latest = results.latest(row.id, state.name);
    const calling = state.config !== undefined;

    // A current output (stored or cached) only needs its score.
    if (latest && latest.rowHash === row.hash && latest.output !== undefined && !latest.error && !(options.rerun && calling)) {
      const { score: _score, scorer: _scorer, scoreNote: _note, ...rest } = latest;
      return finish({ ...rest, at: now() }, row);
    }
    const precomputed = row.outputs[state.name];
    if (precomputed !== undefined && !(options.rerun && calling)) {
      state.stats.precomputed++;
      summary.precomputed++;
      return finish({ ...base, source: 'precomputed', output: precomputed, at: now() }, row);
    }
    if (!calling) {
      summary.done++;
      emit({ kind: 'skip', rowId: row.id, model: state.name, reason: 'no precomputed output and the model is not configured', done: summary.done, total: summary.total });
      return;
    }
    if (state.failure) {
      return finish({ ...base, source: 'called', error: { kind: 'model-failed', message: state.failure.message }, at: now() }, row);
    }
    let body: Record<string, unknown>;
    try {
      body = requestBody(state.config!, await buildMessages(row, state.config!, dataset.file, options.maxImageBytes));
    } catch (err) {
      if (err instanceof PromptError || err instanceof ImageError) {
        const kind = err instanceof ImageError ? 'image' : 'prompt';
        return finish({ ...base, source: 'called', error: { kind, message: `${err.message}. ${err.fix}` }, at: now() }, row);
      }
      throw err;
    }
    const promptHash = crypto.createHash('sha256').update(JSON.stringify(body.messages)).digest('hex').slice(0, 16);
    const key = RequestCache.key(state.config!.baseUrl, body);
    const hit = options.rerun ? undefined : cache.get(key);
    if (hit) {
      state.stats.cacheHits++;
      summary.cacheHits++;
      return finish({ ...base, source: 'called', output: hit.output, promptHash, ...completionFields(hit), cached: true, at: now() }, row);
    }
    const { outcome, shared } = await cache.share(key, () => callWithRetries(state, body, row.id), (o) => (o.ok ? o.completion : undefined));
    if (shared && outcome.ok) {
      state.stats.cacheHits++;
      summary.cacheHits++;
    }
    if (outcome.ok) {
      return finish({ ...base, source: 'called', output: outcome.completion.output, promptHash, latencyMs: outcome.latencyMs, ...completionFields(outcome.completion), ...(shared ? { cached: true } : {}), at: now() }, row);
    }
    return finish({ ...base, source: 'called', promptHash, error: outcome.error, at: now() }, row);
  };

  const worker = async (state: ModelState) => {
    while (state.queue.length > 0 && !run.signal.aborted) {
      const index = state.queue.shift()!;
      try {
        await processPair(state, index);
      } catch (err) {
        if (err instanceof Cancelled || run.signal.aborted) break;
        const e = err as Error;
        fatal ??= e.name === 'DatasetChangedError'
          ? new RunError(e.message, 'Reopen the dataset and run again; finished rows were kept.')
          : new RunError(`${dataset.file}:${dataset.rowLine(index)}: ${e.message}`, 'Check that row; finished rows were kept.');
        run.abort();
        break;
      } finally {
        releaseRow(index);
      }
    }
  };

  const workers: Promise<void>[] = [];
  for (const state of states.values()) {
    // Precomputed-only models make no calls; a few workers overlap their row reads.
    const n = state.config ? state.config.concurrency ?? MODEL_DEFAULTS.concurrency : 4;
    for (let i = 0; i < Math.min(n, Math.max(1, state.queue.length)); i++) workers.push(worker(state));
  }
  await Promise.all(workers);
  while (scoring || appending) {
    await scoring;
    await appending;
  }
  if (holdTimer) clearInterval(holdTimer);
  options.signal?.removeEventListener('abort', onUserAbort);

  summary.cancelled = options.signal?.aborted ?? false;
  summary.durationMs = Math.round(performance.now() - started);
  if (appendError) throw new RunError(`cannot write ${results.file}: ${appendError.message}`, 'Check free disk space and the folder\'s permissions; results written before this were kept.');
  if (fatal) throw fatal;
  emit({ kind: 'done', summary });
  return summary;
}

/** Files up to this size are read once for a run instead of one read per row. */
const IN_MEMORY_MAX_BYTES = 32 * 1024 * 1024;

/**
 * The dataset read into memory once, when small and still identical to its index (same ids and
 * hashes): one read instead of a thread-pool round trip per row. Otherwise undefined (use the index).
 */
async function inMemoryCopy(dataset: Dataset): Promise<Dataset | undefined> {
  try {
    const stat = await fsp.stat(dataset.file);
    if (stat.size > IN_MEMORY_MAX_BYTES) return undefined;
    const text = await fsp.readFile(dataset.file, 'utf8');
    const mapping: FieldMapping = {};
    for (const [role, source] of Object.entries(dataset.mapping.source) as [FieldRole, string][]) {
      const key = dataset.mapping.fields[role];
      if (source === 'configured' && key) mapping[role] = key;
    }
    const copy = (dataset.constructor as typeof Dataset).fromText(dataset.file, text, { mapping });
    if (copy.rowCount !== dataset.rowCount) return undefined;
    const a = dataset.rowIds();
    const b = copy.rowIds();
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i] || dataset.rowHash(i) !== copy.rowHash(i)) return undefined;
    }
    return copy;
  } catch {
    return undefined;
  }
}

/** True when a stored result needs nothing more: current, successful, and scored by this scorer (or unscorable). */
function isSettled(result: StoredResult, currentHash: string, scorer: RunScorer | undefined): boolean {
  if (result.rowHash !== currentHash || result.error || result.output === undefined) return false;
  if (!scorer) return true;
  return (result.score !== undefined && result.scorer === scorer.cacheKey) || result.scoreNote !== undefined && result.score === undefined && /no reference/.test(result.scoreNote);
}

function completionFields(c: Completion): Pick<StoredResult, 'finishReason' | 'usage'> {
  return { ...(c.finishReason ? { finishReason: c.finishReason } : {}), ...(c.usage ? { usage: c.usage } : {}) };
}

function errorOf(failure: FailureClass): NonNullable<StoredResult['error']> {
  return { kind: failure.kind, message: failure.message, ...(failure.status !== undefined ? { status: failure.status } : {}) };
}
