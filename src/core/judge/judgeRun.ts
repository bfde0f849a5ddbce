// The LLM judge over a dataset's stored outputs: each current output (of the models asked) is sent, with its
// row's reference and input, to the judge model through the runner's own parts: ModelLane (retries, AIMD
// concurrency, Retry-After), the request cache (a re-run pays nothing) and the result writer; the verdict is
// stored with the result as another metric (StoredResult.judge).
import { setMaxListeners } from 'node:events';
import { MODEL_DEFAULTS, type ModelConfig } from '../config/models';
import type { Dataset } from '../dataset/datasetReader';
import type { RetryPolicy } from '../http/retry';
import type { ReasoningMarker } from '../rules/reasoning';
import { isEmptyOutput } from '../rules/rules';
import { Cancelled, ModelLane, type CallOutcome } from '../runner/modelLane';
import { cachedAnswer, requestBody, type Completion } from '../runner/provider';
import { RequestCache } from '../runner/requestCache';
import { ResultWriter } from '../runner/resultWriter';
import { RowFeed } from '../runner/rowFeed';
import { laneContextOf, RunError, safeListener, withRunLock, type RunLockOptions } from '../runner/runner';
import type { ModelFailure } from '../runner/runTypes';
import type { ReferenceCorrection } from '../store/annotations';
import { effectiveReferences } from '../store/corrections';
import { isVerified } from '../store/provenance';
import type { JudgeResult, ResultsStore, StoredResult } from '../store/results';
import { isCurrentJudgement, JudgeAnswerError, judgeMessages, judgePromptHash, parseJudgeAnswer } from '../rules/judgePrompt';

export interface JudgeRunOptions extends RunLockOptions {
  dataset: Dataset;
  results: ResultsStore;
  /** The judge model (one of the configured models). */
  judge: ModelConfig;
  /** The prompt template ({reference}, {output}, {input}). */
  template: string;
  /** Judge the outputs of these models (default: every model with results). */
  models?: readonly string[];
  /** Rows to judge (0-based indexes); default all. */
  rowIndexes?: readonly number[];
  /** Judge again where a current verdict is stored, and ask the judge model again (no cached answer). */
  rerun?: boolean;
  /** Reviewers' corrected references in force, by row id: the judge reads them instead of the file's. */
  corrections?: ReadonlyMap<string, ReferenceCorrection>;
  apiKeyFor: (model: ModelConfig) => Promise<string | undefined>;
  requestCache?: RequestCache;
  retry?: Partial<RetryPolicy>;
  maxRetryAfterMs?: number;
  reasoningMarkers?: readonly ReasoningMarker[];
  onEvent?: (e: JudgeEvent) => void;
}

export type JudgeEvent =
  | { kind: 'start'; total: number; outputs: number }
  | { kind: 'judged'; rowId: string; model: string; judge: JudgeResult; done: number; total: number }
  | { kind: 'retry'; model: string; rowId: string; retry: number; delayMs: number; reason: string }
  | { kind: 'wait'; model: string; delayMs: number; until: string; reason: string }
  | { kind: 'model-failed'; model: string; message: string; fix: string }
  | { kind: 'done'; summary: JudgeSummary };

/** An output in scope that was not judged, and why. */
export interface JudgeSkip {
  readonly rowId: string;
  readonly model: string;
  readonly reason: string;
}

export interface JudgeSummary {
  /** The judge model's name and model id. */
  judge: { name: string; model: string };
  /** Current outputs of the models asked (what the judge may judge). */
  outputs: number;
  /** Outputs that needed a verdict this run. */
  total: number;
  /** Verdicts stored this run (failures included). */
  judged: number;
  /** Outputs whose current verdict was already stored: nothing done. */
  reused: number;
  called: number;
  cacheHits: number;
  retries: number;
  /** Judgements that failed (the call, or an answer that is not the JSON asked for). */
  failed: number;
  /** Verdicts of this run and current ones reused. */
  verdicts: { good: number; bad: number };
  /** Judge tokens of this run's verdicts (cached ones included: what judging them costs). */
  tokens: { input: number; output: number };
  /** Outputs not judged, with the reason (first 100) and their count. */
  skipped: JudgeSkip[];
  skippedCount: number;
  /** Failed judgements of this run (first 100), with their reasons. */
  failures: { rowId: string; model: string; kind: string; message: string }[];
  modelFailure: ModelFailure | null;
  cancelled: boolean;
  durationMs: number;
}

const MAX_LISTED = 100;

/** Judges the dataset's current outputs; verdicts are appended to the results sidecar as they come. */
export async function judgeDataset(options: JudgeRunOptions): Promise<JudgeSummary> {
  return withRunLock(options, () => judgeUnlocked(options));
}

async function judgeUnlocked(options: JudgeRunOptions): Promise<JudgeSummary> {
  const started = performance.now();
  const { dataset, results, judge } = options;
  const cache = options.requestCache ?? RequestCache.inMemory();
  const emit = safeListener(options.onEvent);
  const summary: JudgeSummary = {
    judge: { name: judge.name, model: judge.model }, outputs: 0, total: 0, judged: 0, reused: 0, called: 0, cacheHits: 0, retries: 0, failed: 0,
    verdicts: { good: 0, bad: 0 }, tokens: { input: 0, output: 0 }, skipped: [], skippedCount: 0, failures: [], modelFailure: null, cancelled: false, durationMs: 0,
  };
  const skip = (rowId: string, model: string, reason: string) => {
    summary.skippedCount++;
    if (summary.skipped.length < MAX_LISTED) summary.skipped.push({ rowId, model, reason });
  };

  // The plan: every current output of the models asked, in row order.
  const models = options.models ?? results.models();
  const ids = dataset.rowIds();
  const indexes = options.rowIndexes ?? ids.map((_, i) => i);
  const pairRows: number[] = [];
  const pairModels: string[] = [];
  const rowUses = new Uint32Array(dataset.rowCount);
  for (const index of indexes) {
    const id = ids[index];
    const hash = dataset.rowHash(index);
    for (const model of models) {
      const r = results.latest(id, model);
      if (!r || r.rowHash !== hash || r.output === undefined || r.error) continue;
      summary.outputs++;
      // A line read from the file is not this machine's result: the judge does not sign it as one.
      if (!isVerified(r)) skip(id, model, 'read from the file, not scored on this machine: run "score" first, then judge');
      else if (isEmptyOutput(r.output)) skip(id, model, 'the output is empty: nothing to judge');
      else {
        pairRows.push(index);
        pairModels.push(model);
        rowUses[index]++;
      }
    }
  }

  const run = new AbortController();
  setMaxListeners(0, run.signal);
  const onAbort = () => run.abort();
  if (options.signal?.aborted) run.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const stopped = () => run.signal.aborted || options.stopSignal?.aborted === true;
  const lane = new ModelLane(judge.name, judge, pairRows.map((_, k) => k), laneContextOf(options, run.signal, emit, (failure) => (summary.modelFailure = failure)));
  if (pairRows.length > 0) {
    await results.checkWritable().catch((err: Error & { reason?: string; fix?: string }) => {
      options.signal?.removeEventListener('abort', onAbort);
      throw new RunError(`cannot write ${results.file}: ${err.reason ?? err.message}`, err.fix ?? 'Check the folder\'s permissions.');
    });
  }
  lane.checkBaseUrl();
  emit({ kind: 'start', total: pairRows.length, outputs: summary.outputs });

  let done = 0;
  const writer = new ResultWriter(
    results,
    ({ result }) => emit({ kind: 'judged', rowId: result.rowId, model: result.model, judge: result.judge!, done: ++done, total: summary.total }),
    () => run.abort(),
  );
  const reasoning = { keepThinking: judge.keepThinking, markers: options.reasoningMarkers };
  summary.total = pairRows.length;

  const judgePair = async (k: number) => {
    const row = await rows.get(pairRows[k]);
    const model = pairModels[k];
    const latest = results.latest(row.id, model);
    if (!latest || latest.output === undefined || latest.rowHash !== row.hash) return skip(row.id, model, 'the output changed during the run');
    const references = effectiveReferences(row, options.corrections?.get(row.id));
    if (references.length === 0) return skip(row.id, model, 'the row has no reference rationale: nothing to judge against');
    const messages = judgeMessages(options.template, { input: row.input, references, output: latest.output });
    const promptHash = judgePromptHash(messages);
    if (!options.rerun && isCurrentJudgement(latest.judge, judge, promptHash)) {
      summary.reused++;
      summary.verdicts[latest.judge!.verdict!]++;
      summary.total--;
      return;
    }
    const base = { model: judge.name, modelId: judge.model, promptHash };
    const body = requestBody(judge, messages);
    const key = RequestCache.key(judge.baseUrl, body);
    let completion: Completion | undefined;
    let outcome: CallOutcome | undefined;
    let cached = false;
    const hit = options.rerun ? undefined : cachedAnswer(cache.get(key), reasoning);
    if (hit) {
      completion = hit;
      cached = true;
      summary.cacheHits++;
    } else {
      const shared = await cache.share(key, () => lane.call(body, row.id), (o) => (o.ok ? o.completion : undefined));
      outcome = shared.outcome;
      if (outcome.ok) completion = outcome.completion;
      if (shared.shared && outcome.ok) {
        cached = true;
        summary.cacheHits++;
      }
    }
    let verdict: JudgeResult;
    const at = new Date().toISOString();
    const usage = completion?.usage ? { usage: completion.usage } : {};
    if (completion) {
      try {
        const read = parseJudgeAnswer(completion.output);
        verdict = { ...base, verdict: read.verdict, ...(read.rating !== undefined ? { rating: read.rating } : {}), reason: read.reason, ...usage, ...(cached ? { cached } : {}), at };
      } catch (err) {
        if (!(err instanceof JudgeAnswerError)) throw err;
        verdict = { ...base, error: { kind: 'unparsable', message: `${err.message}; change judge.prompt or the judge model, then judge again` }, ...usage, ...(cached ? { cached } : {}), at };
      }
    } else {
      verdict = { ...base, error: outcome!.ok ? { kind: 'unknown', message: 'no answer' } : outcome!.error, at };
    }
    summary.judged++;
    if (completion?.usage) {
      summary.tokens.input += completion.usage.promptTokens ?? 0;
      summary.tokens.output += completion.usage.completionTokens ?? 0;
    }
    if (verdict.verdict) summary.verdicts[verdict.verdict]++;
    if (verdict.error) {
      summary.failed++;
      if (summary.failures.length < MAX_LISTED) summary.failures.push({ rowId: row.id, model, kind: verdict.error.kind, message: verdict.error.message });
    }
    // The result as stored, with the verdict beside it (the latest line of a row and model is the one that counts).
    const { mac: _mac, judge: _old, ...rest } = latest;
    writer.write({ ...rest, judge: verdict } as StoredResult);
  };

  const rows = new RowFeed(dataset, rowUses);
  const work = async () => {
    for (let k = stopped() ? undefined : lane.take(); k !== undefined; k = stopped() ? undefined : lane.take()) {
      try {
        await judgePair(k);
      } catch (err) {
        if (err instanceof Cancelled || run.signal.aborted) break;
        throw err;
      } finally {
        rows.release(pairRows[k]);
      }
    }
  };
  const workers: Promise<void>[] = [];
  const concurrency = judge.concurrency ?? MODEL_DEFAULTS.concurrency;
  for (let i = 0; i < Math.min(concurrency, Math.max(1, lane.remaining)); i++) workers.push(work());
  try {
    await Promise.all(workers);
  } finally {
    await writer.idle();
    options.signal?.removeEventListener('abort', onAbort);
  }
  summary.called = lane.stats.called;
  summary.retries = lane.stats.retries;
  summary.cancelled = (options.signal?.aborted ?? false) || (options.stopSignal?.aborted ?? false);
  if (writer.error) {
    throw new RunError(`cannot write ${results.file}: ${writer.error.message}; ${writer.unsaved.length} verdict(s) were not stored`, 'Free disk space and check the folder\'s permissions, then judge again: the request cache holds the answers, so nothing is paid twice.');
  }
  summary.durationMs = Math.round(performance.now() - started);
  emit({ kind: 'done', summary });
  return summary;
}
