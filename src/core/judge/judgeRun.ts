// The LLM judge over a dataset's stored outputs: each current output (of the models asked) is sent, with its
// row's reference and input, to the judge model through the runner's own parts: ModelLane (retries, AIMD
// concurrency, Retry-After), the request cache (a re-run pays nothing) and the result writer; the verdict is
// stored with the result as another metric (StoredResult.judge).
import { setMaxListeners } from 'node:events';
import { MODEL_DEFAULTS, type ModelConfig } from '../config/models';
import type { Dataset } from '../dataset/datasetReader';
import type { DatasetRow } from '../dataset/types';
import type { RetryPolicy } from '../http/retry';
import type { ReasoningMarker } from '../rules/reasoning';
import { isEmptyOutput } from '../rules/rules';
import { Cancelled, ModelLane, type CallOutcome } from '../runner/modelLane';
import { cachedAnswer, requestBody, type Completion } from '../runner/provider';
import { RequestCache } from '../runner/requestCache';
import { ResultWriter } from '../runner/resultWriter';
import { RowFeed } from '../runner/rowFeed';
import { RowList } from '../runner/plan';
import { laneContextOf, RunError, safeListener, withRunLock, type RunLockOptions } from '../runner/runner';
import type { ModelFailure } from '../runner/runTypes';
import type { ReferenceCorrection } from '../store/annotations';
import { BatchLedger, pendingJudgementKey } from '../store/batchLedger';
import { effectiveReferences } from '../store/corrections';
import { isVerified } from '../store/provenance';
import type { JudgeResult, ResultsStore, StoredResult } from '../store/results';
import { isCurrentJudgement, JudgeAnswerError, judgeMessages, judgePromptHash, parseJudgeAnswer, type JudgeIdentity, type JudgeMessage } from '../rules/judgePrompt';

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
  /** Outputs whose same judge request is in a pending provider batch (`batch submit --judge`): left to it, not paid twice. */
  inBatch: number;
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

/**
 * The outputs a judge (a live run or a batch) may judge: every current output of the models asked (default: every
 * model with results), in row order; the others in scope are told to `skip` with the reason.
 */
export function judgeablePairs(dataset: Dataset, results: ResultsStore, models: readonly string[] | undefined, rowIndexes: readonly number[] | undefined, skip: (rowId: string, model: string, reason: string) => void): { rows: number[]; models: string[]; outputs: number } {
  const asked = models ?? results.models();
  const ids = dataset.rowIds();
  const indexes = rowIndexes ?? ids.map((_, i) => i);
  const pairs = { rows: [] as number[], models: [] as string[], outputs: 0 };
  for (const index of indexes) {
    const id = ids[index];
    const hash = dataset.rowHash(index);
    for (const model of asked) {
      const r = results.latest(id, model);
      if (!r || r.rowHash !== hash || r.output === undefined || r.error) continue;
      pairs.outputs++;
      // A line read from the file is not this machine's result: the judge does not sign it as one.
      if (!isVerified(r)) skip(id, model, 'read from the file, not scored on this machine: run "score" first, then judge');
      else if (isEmptyOutput(r.output)) skip(id, model, 'the output is empty: nothing to judge');
      else {
        pairs.rows.push(index);
        pairs.models.push(model);
      }
    }
  }
  return pairs;
}

/**
 * The judge request for one output: the prompt filled with the row's references in force (a reviewer's correction,
 * else the file's), the output and the input; its hash (the verdict's provenance) and the body a live call sends.
 */
export function judgeRequestOf(judge: ModelConfig, template: string, row: DatasetRow, output: string, correction: ReferenceCorrection | undefined): { promptHash: string; body: Record<string, unknown> } | { skip: string } {
  const prompt = judgePromptOf(template, row, output, correction);
  return 'skip' in prompt ? prompt : { promptHash: prompt.promptHash, body: requestBody(judge, prompt.messages) };
}

/** The judge prompt's messages for one output and their hash (a batch's collect checks an answer is still for the output stored). */
export function judgePromptOf(template: string, row: DatasetRow, output: string, correction: ReferenceCorrection | undefined): { promptHash: string; messages: JudgeMessage[] } | { skip: string } {
  const references = effectiveReferences(row, correction);
  if (references.length === 0) return { skip: 'the row has no reference rationale: nothing to judge against' };
  const messages = judgeMessages(template, { input: row.input, references, output });
  return { promptHash: judgePromptHash(messages), messages };
}

/** The verdict stored for a judge's answer (read strictly: an answer that is not the JSON asked for is that output's failure), or for a failed call. */
export function judgeVerdictOf(judge: JudgeIdentity, promptHash: string, answer: { completion: Completion; cached?: boolean } | { error: { kind: string; message: string; status?: number } }): JudgeResult {
  const base = { model: judge.name, modelId: judge.model, promptHash };
  const at = new Date().toISOString();
  if ('error' in answer) return { ...base, error: answer.error, at };
  const { completion, cached } = answer;
  const extra = { ...(completion.usage ? { usage: completion.usage } : {}), ...(cached ? { cached } : {}), at };
  try {
    const read = parseJudgeAnswer(completion.output);
    return { ...base, verdict: read.verdict, ...(read.rating !== undefined ? { rating: read.rating } : {}), reason: read.reason, ...extra };
  } catch (err) {
    if (!(err instanceof JudgeAnswerError)) throw err;
    return { ...base, error: { kind: 'unparsable', message: `${err.message}; change judge.prompt or the judge model, then judge again` }, ...extra };
  }
}

/** The result as stored with the verdict beside it (the latest line of a row and model is the one that counts). */
export function withVerdict(latest: StoredResult, verdict: JudgeResult): StoredResult {
  const { mac: _mac, judge: _old, ...rest } = latest;
  return { ...rest, judge: verdict } as StoredResult;
}

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
    judge: { name: judge.name, model: judge.model }, outputs: 0, total: 0, judged: 0, reused: 0, inBatch: 0, called: 0, cacheHits: 0, retries: 0, failed: 0,
    verdicts: { good: 0, bad: 0 }, tokens: { input: 0, output: 0 }, skipped: [], skippedCount: 0, failures: [], modelFailure: null, cancelled: false, durationMs: 0,
  };
  const skip = (rowId: string, model: string, reason: string) => {
    summary.skippedCount++;
    if (summary.skipped.length < MAX_LISTED) summary.skipped.push({ rowId, model, reason });
  };

  const { rows: pairRows, models: pairModels, outputs } = judgeablePairs(dataset, results, options.models, options.rowIndexes, skip);
  summary.outputs = outputs;
  const rowUses = new Uint32Array(dataset.rowCount);
  for (const index of pairRows) rowUses[index]++;
  // Judgements a provider batch holds are its to answer (a --rerun asks again anyway).
  const inBatch = options.rerun ? undefined : (await BatchLedger.open(dataset.file)).pendingJudgements();

  const run = new AbortController();
  setMaxListeners(0, run.signal);
  const onAbort = () => run.abort();
  if (options.signal?.aborted) run.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const stopped = () => run.signal.aborted || options.stopSignal?.aborted === true;
  const lane = new ModelLane(judge.name, judge, RowList.range(pairRows.length), laneContextOf(options, run.signal, emit, (failure) => (summary.modelFailure = failure)));
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
    const request = judgeRequestOf(judge, options.template, row, latest.output, options.corrections?.get(row.id));
    if ('skip' in request) return skip(row.id, model, request.skip);
    const { promptHash, body } = request;
    if (!options.rerun && isCurrentJudgement(latest.judge, judge, promptHash)) {
      summary.reused++;
      summary.verdicts[latest.judge!.verdict!]++;
      summary.total--;
      return;
    }
    if (inBatch?.has(pendingJudgementKey(judge.name, row.id, model, promptHash))) {
      summary.inBatch++;
      summary.total--;
      return;
    }
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
    const verdict = judgeVerdictOf(judge, promptHash, completion ? { completion, cached } : { error: outcome!.ok ? { kind: 'unknown', message: 'no answer' } : outcome!.error });
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
    writer.write(withVerdict(latest, verdict));
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
