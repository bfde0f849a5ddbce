// Generation through batch engines: submit the missing (row, model) pairs as provider batches, keep
// every uploaded file id and batch id in `<dataset>.pisar-batches.jsonl` (append-only, beside the
// dataset), and collect finished batches into the same results sidecar as live calls, scored the same
// way. A killed CLI or a closed editor resumes from the sidecar: nothing is submitted (or paid) twice.
import * as crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ModelConfig } from '../config/models';
import type { Dataset } from '../dataset/datasetReader';
import { ResponseError } from '../http/errors';
import { completionOf } from '../runner/provider';
import { buildChatRequest } from '../runner/preview';
import { PromptError } from '../runner/prompt';
import { ImageError } from '../runner/images';
import { planRun } from '../runner/plan';
import type { ReasoningOptions } from '../runner/responses';
import type { ResultsStore, StoredResult } from '../store/results';
import type { ReferenceCorrection } from '../store/annotations';
import { pendingJudgementKey, type BatchLedger, type BatchRecord, type EngineName, type JudgeBatch, type RequestEntry } from '../store/batchLedger';
import { judgeablePairs, judgePromptOf, judgeRequestOf, judgeVerdictOf, withVerdict } from '../judge/judgeRun';
import { isCurrentJudgement } from '../rules/judgePrompt';
import { openaiOutcome, type BatchEngine, type BatchLine, type BatchRequest, type BatchState } from './engines';

/** The model a pending batch is read with: the configured one while its endpoint is where the batch was submitted, else just that endpoint. */
export function batchModelOf(models: readonly ModelConfig[], batch: Extract<BatchRecord, { kind: 'submitted' }>): ModelConfig | { name: string; baseUrl: string } {
  // The batch lives where it was submitted: the configured model's settings (headers) only while its endpoint is that one.
  const configured = models.find((m) => m.name === batch.model && m.baseUrl === batch.baseUrl);
  return configured ?? { name: batch.model, baseUrl: batch.baseUrl };
}

const ID_CHARS = /[^A-Za-z0-9_-]+/g;

/**
 * The custom_id of a request: the row id and model (as far as Anthropic's [A-Za-z0-9_-]{1,64} allows)
 * and a hash of row id, model and request body, so two rows whose ids look alike never share one.
 */
export function customIdOf(rowId: string, model: string, body: unknown): string {
  const hash = crypto.createHash('sha256').update(`${rowId}\u0000${model}\u0000${JSON.stringify(body)}`).digest('hex').slice(0, 16);
  const part = (text: string, n: number) => text.replace(ID_CHARS, '_').slice(0, n);
  return `${part(rowId, 30)}-${part(model, 12)}-${hash}`;
}

export interface PlannedRequest extends BatchRequest {
  readonly entry: RequestEntry;
}

export interface PlannedModel {
  readonly model: ModelConfig;
  readonly requests: PlannedRequest[];
  /** Pairs that could not become a request (prompt or image problems), with the reason: stored as failures. */
  readonly failures: StoredResult[];
  /** Set for the judge model's requests (a judge batch). */
  readonly judge?: JudgeBatch;
}

/** A judge batch's plan (`batch submit --judge`): the requests `judge` would send, to the judge model. */
export interface JudgeBatchPlan {
  /** The judge model (one of the configured models). */
  readonly model: ModelConfig;
  /** The prompt template ({reference}, {output}, {input}). */
  readonly template: string;
  /** Reviewers' corrected references in force, by row id (the judge reads them instead of the file's). */
  readonly corrections?: ReadonlyMap<string, ReferenceCorrection>;
  /** Told of each output in scope that is not judged, and why (as `judge` skips it). */
  readonly onSkip?: (rowId: string, model: string, reason: string) => void;
}

export interface BatchPlanInput {
  dataset: Dataset;
  results: ResultsStore;
  ledger: BatchLedger;
  models: readonly ModelConfig[];
  /** The models to generate for; with `judge`, the models whose outputs are judged (default: every model with results). */
  modelNames?: readonly string[];
  rerun?: boolean;
  maxImageBytes?: number;
  /** Plan the judge's requests instead of generation. */
  judge?: JudgeBatchPlan;
}

/** The requests a submit (or export) sends: every configured model's pairs with no current output, none already in a pending batch. */
export async function planBatchRequests(input: BatchPlanInput): Promise<PlannedModel[]> {
  if (input.judge) return [await planJudgeRequests(input, input.judge)];
  const { dataset, results, ledger } = input;
  const models = input.models.filter((m) => !input.modelNames || input.modelNames.includes(m.name));
  const plan = planRun({ dataset, results, models, modelNames: models.map((m) => m.name), rerun: input.rerun });
  const pending = ledger.pendingPairs();
  const out: PlannedModel[] = [];
  for (const lane of plan.lanes) {
    if (!lane.config) continue;
    const planned: PlannedModel = { model: lane.config, requests: [], failures: [] };
    for (const index of lane.rows) {
      const row = await dataset.getRow(index);
      if (pending.has(`${row.id}\u0000${lane.name}`)) continue;
      const latest = results.latest(row.id, lane.name);
      // An output already stored for the current row only needs a score (the live run does that, no call).
      if (!input.rerun && latest && latest.rowHash === row.hash && latest.output !== undefined && !latest.error) continue;
      try {
        // The body a live call sends (the one builder, also behind `preview`), minus streaming: a batch line is answered whole.
        const { stream: _stream, ...body } = await buildChatRequest(row, lane.config, dataset.file, input.maxImageBytes);
        const promptHash = crypto.createHash('sha256').update(JSON.stringify(body.messages)).digest('hex').slice(0, 16);
        const customId = customIdOf(row.id, lane.name, body);
        planned.requests.push({ customId, body, entry: [customId, row.id, row.hash, promptHash] });
      } catch (err) {
        if (!(err instanceof PromptError || err instanceof ImageError)) throw err;
        planned.failures.push({ rowId: row.id, rowHash: row.hash, model: lane.name, source: 'called', error: { kind: err instanceof ImageError ? 'image' : 'prompt', message: `${err.message}. ${err.fix}` }, at: new Date().toISOString() });
      }
    }
    out.push(planned);
  }
  return out;
}

/** The judge requests of every current output with no current verdict (same judge model and prompt), none already in a pending batch. */
async function planJudgeRequests(input: BatchPlanInput, plan: JudgeBatchPlan): Promise<PlannedModel> {
  const { dataset, results } = input;
  const judge = plan.model;
  const skip = plan.onSkip ?? (() => undefined);
  const pending = input.ledger.pendingJudgements();
  const pairs = judgeablePairs(dataset, results, input.modelNames, undefined, skip);
  const planned: PlannedModel = { model: judge, requests: [], failures: [], judge: { modelId: judge.model, template: plan.template } };
  for (let k = 0; k < pairs.rows.length; k++) {
    const row = await dataset.getRow(pairs.rows[k]);
    const model = pairs.models[k];
    const latest = results.latest(row.id, model);
    if (!latest || latest.output === undefined || latest.rowHash !== row.hash) continue;
    // The body a live judge call sends (judgeRun's one builder), minus streaming: a batch line is answered whole.
    const request = judgeRequestOf(judge, plan.template, row, latest.output, plan.corrections?.get(row.id));
    if ('skip' in request) {
      skip(row.id, model, request.skip);
      continue;
    }
    if (!input.rerun && isCurrentJudgement(latest.judge, judge, request.promptHash)) continue;
    if (pending.has(pendingJudgementKey(judge.name, row.id, model, request.promptHash))) continue;
    const { stream: _stream, ...body } = request.body;
    const customId = customIdOf(row.id, model, body);
    planned.requests.push({ customId, body, entry: [customId, row.id, row.hash, request.promptHash, model] });
  }
  return planned;
}

/** Requests cut into batches at the engine's request and byte limits (one model per batch either way). */
export function shardRequests(requests: readonly PlannedRequest[], limits: { maxRequests: number; maxBytes: number }, encode: (r: BatchRequest) => string): { requests: PlannedRequest[]; lines: string[] }[] {
  const shards: { requests: PlannedRequest[]; lines: string[] }[] = [];
  let current: { requests: PlannedRequest[]; lines: string[] } | undefined;
  let bytes = 0;
  for (const request of requests) {
    const line = encode(request);
    const size = Buffer.byteLength(line) + 1;
    if (!current || current.requests.length >= limits.maxRequests || (bytes + size > limits.maxBytes && current.requests.length > 0)) {
      current = { requests: [], lines: [] };
      shards.push(current);
      bytes = 0;
    }
    current.requests.push(request);
    current.lines.push(line);
    bytes += size;
  }
  return shards;
}

/** The metadata a batch is created with: the model, and what a judge batch is for. */
function batchMetadata(model: string, judge: JudgeBatch | undefined): Record<string, string> {
  return { pisar_model: model, ...(judge ? { pisar_purpose: 'judge' } : {}) };
}

export interface SubmitReport {
  /** Batches created by this call. */
  submitted: { model: string; batchId: string; requests: number }[];
  /** Batches submitted before and still pending (nothing sent again for them). */
  alreadyPending: number;
  /** Pairs that could not become requests, stored as failures. */
  failed: number;
}

export interface SubmitInput extends BatchPlanInput {
  engineFor(model: ModelConfig): Promise<BatchEngine>;
  /** Told as each batch is recorded. */
  onSubmitted?(e: { model: string; batchId: string; requests: number }): void;
}

/** Submits every missing pair; each file id and batch id is on disk before the next step. */
export async function submitBatches(input: SubmitInput): Promise<SubmitReport> {
  const { ledger, results } = input;
  const report: SubmitReport = { submitted: [], alreadyPending: ledger.pending.length, failed: 0 };
  // A file uploaded by a run killed before it created the batch: create it now, upload nothing again.
  for (const orphan of ledger.orphanUploads) {
    const model = input.models.find((m) => m.name === orphan.model);
    if (!model) continue;
    const engine = await input.engineFor(model);
    const batchId = await engine.create([], orphan.inputFileId, batchMetadata(orphan.model, orphan.judge));
    await ledger.append({ kind: 'submitted', engine: engine.name, model: orphan.model, baseUrl: orphan.baseUrl, batchId, inputFileId: orphan.inputFileId, requests: orphan.requests, ...(orphan.judge ? { judge: orphan.judge } : {}), at: new Date().toISOString() });
    report.submitted.push({ model: orphan.model, batchId, requests: orphan.requests.length });
    input.onSubmitted?.({ model: orphan.model, batchId, requests: orphan.requests.length });
  }
  for (const planned of await planBatchRequests(input)) {
    if (planned.failures.length > 0) {
      await results.append(planned.failures);
      report.failed += planned.failures.length;
    }
    if (planned.requests.length === 0) continue;
    const engine = await input.engineFor(planned.model);
    for (const shard of shardRequests(planned.requests, engine, (r) => engine.encode(r))) {
      const requests = shard.requests.map((r) => r.entry);
      const base = { engine: engine.name, model: planned.model.name, baseUrl: planned.model.baseUrl, requests, ...(planned.judge ? { judge: planned.judge } : {}) };
      const inputFileId = await engine.upload(shard.lines);
      if (inputFileId) await ledger.append({ kind: 'uploaded', ...base, inputFileId, at: new Date().toISOString() });
      const batchId = await engine.create(shard.lines, inputFileId, batchMetadata(planned.model.name, planned.judge));
      await ledger.append({ kind: 'submitted', ...base, batchId, ...(inputFileId ? { inputFileId } : {}), at: new Date().toISOString() });
      report.submitted.push({ model: planned.model.name, batchId, requests: requests.length });
      input.onSubmitted?.({ model: planned.model.name, batchId, requests: requests.length });
    }
  }
  return report;
}

export interface CollectReport {
  /** Each pending batch's state as read now (judge: set for a judge batch). */
  batches: (BatchState & { model: string; engine: EngineName; judge?: boolean })[];
  /** Answers stored this time (unscored; the caller scores them). */
  answered: number;
  /** Per-line failures stored as those rows' failures. */
  failed: number;
  /** Judge batches' verdicts stored this time (failures included), good and bad, and the judgements that failed (an unparsable answer, a failed line). */
  judged: number;
  verdicts: { good: number; bad: number };
  judgeFailed: number;
  /** Judge answers not stored: the output, its row or its reference changed since submit (the next `submit --judge` asks again). */
  stale: number;
  /** Requests of expired or cancelled batches left without a result: the next submit sends them again. */
  requeued: number;
  /** Batches still running. */
  running: number;
  /** Rows (indexes) that got an answer, per model, for scoring. */
  answeredRows: Map<string, number[]>;
}

export interface CollectInput {
  dataset: Dataset;
  results: ResultsStore;
  ledger: BatchLedger;
  models: readonly ModelConfig[];
  engineFor: EngineFor;
  reasoning?: (model: string) => ReasoningOptions;
  /** Reviewers' corrected references in force, by row id: a judge answer counts only for the references it was asked about. */
  corrections?: ReadonlyMap<string, ReferenceCorrection>;
}

/** Reads every pending batch; stores the lines of the ended ones and marks them collected. */
export async function collectBatches(input: CollectInput): Promise<CollectReport> {
  const report: CollectReport = { batches: [], answered: 0, failed: 0, judged: 0, verdicts: { good: 0, bad: 0 }, judgeFailed: 0, stale: 0, requeued: 0, running: 0, answeredRows: new Map() };
  for (const batch of input.ledger.pending) {
    const engine = await input.engineFor(batchModelOf(input.models, batch), batch.engine);
    const state = await engine.state(batch.batchId);
    report.batches.push({ ...state, model: batch.model, engine: batch.engine, ...(batch.judge ? { judge: true } : {}) });
    if (state.phase !== 'ended') {
      report.running++;
      continue;
    }
    const lines = await engine.results(state);
    const counts = await ingestLines(input, batch, lines, report);
    // A batch the provider refused as a whole (status failed) answered nothing: its requests are sent again.
    const requeued = batch.requests.length - counts.answered - counts.failed - counts.stale;
    report.requeued += requeued;
    await input.ledger.append({ kind: 'collected', batchId: batch.batchId, status: state.status, answered: counts.answered, failed: counts.failed, requeued, ...(counts.stale ? { stale: counts.stale } : {}), ...(state.errors ? { reason: state.errors } : {}), at: new Date().toISOString() });
  }
  return report;
}

type IngestInput = Pick<CollectInput, 'dataset' | 'results' | 'reasoning' | 'corrections'> & { models?: readonly ModelConfig[] };
type IngestTotals = Pick<CollectReport, 'answered' | 'failed' | 'judged' | 'verdicts' | 'judgeFailed' | 'stale' | 'answeredRows'>;

/** Stores a batch's lines (generation answers, or a judge batch's verdicts) and adds them to `totals`; the batch's own counts returned. */
async function ingestLines(input: IngestInput, batch: { model: string; requests: readonly RequestEntry[]; judge?: JudgeBatch }, lines: readonly BatchLine[], totals: IngestTotals): Promise<{ answered: number; failed: number; stale: number }> {
  if (batch.judge) {
    const counts = await ingestVerdicts(input, { ...batch, judge: batch.judge }, lines, totals.verdicts);
    totals.judged += counts.answered + counts.failed;
    totals.judgeFailed += counts.failed;
    totals.stale += counts.stale;
    return counts;
  }
  const counts = await ingestAnswers(input, batch.model, batch.requests, lines, totals.answeredRows);
  totals.answered += counts.answered;
  totals.failed += counts.failed;
  return { ...counts, stale: 0 };
}

/**
 * Stores a judge batch's answers as verdicts, read and stored by the live judge's own code (judgeVerdictOf: an unparsable
 * answer is that output's failure; provenance judge model, its id and the prompt hash). An answer counts only while the
 * output, its row and references are those it was asked about (the prompt rebuilt hashes the same); else it is stale.
 */
async function ingestVerdicts(input: IngestInput, batch: { model: string; requests: readonly RequestEntry[]; judge: JudgeBatch }, lines: readonly BatchLine[], verdicts: { good: number; bad: number }): Promise<{ answered: number; failed: number; stale: number }> {
  const { dataset, results } = input;
  const byId = new Map(batch.requests.map((e) => [e[0], e]));
  const judge = { name: batch.model, model: batch.judge.modelId };
  const records: StoredResult[] = [];
  const counts = { answered: 0, failed: 0, stale: 0 };
  const seen = new Set<string>();
  for (const line of lines) {
    const entry = byId.get(line.customId);
    if (!entry || seen.has(line.customId) || line.outcome.kind === 'requeue') continue;
    seen.add(line.customId);
    const [, rowId, rowHash, promptHash, judged] = entry;
    const latest = judged === undefined ? undefined : results.latest(rowId, judged);
    const index = dataset.indexOfId(rowId);
    let current = false;
    if (latest && latest.output !== undefined && !latest.error && latest.rowHash === rowHash && index !== undefined && dataset.rowHash(index) === rowHash) {
      const prompt = judgePromptOf(batch.judge.template, await dataset.getRow(index), latest.output, input.corrections?.get(rowId));
      current = !('skip' in prompt) && prompt.promptHash === promptHash;
    }
    if (!latest || !current) {
      counts.stale++;
      continue;
    }
    let answer: Parameters<typeof judgeVerdictOf>[2];
    if (line.outcome.kind === 'error') answer = { error: line.outcome.error };
    else {
      try {
        answer = { completion: completionOf(line.outcome.body, judge.model, input.reasoning?.(batch.model)) };
      } catch (err) {
        answer = { error: err instanceof ResponseError ? { kind: err.kind, message: err.message } : { kind: 'malformed', message: (err as Error).message } };
      }
    }
    const verdict = judgeVerdictOf(judge, promptHash, answer);
    records.push(withVerdict(latest, verdict));
    if (verdict.verdict) verdicts[verdict.verdict]++;
    if (verdict.error) counts.failed++;
    else counts.answered++;
  }
  await results.append(records);
  return counts;
}

/** Stores the answers and per-line failures of a batch's results; requeued lines get nothing (a later submit sends them). */
async function ingestAnswers(
  input: IngestInput,
  model: string,
  requests: readonly RequestEntry[],
  lines: readonly BatchLine[],
  answeredRows: Map<string, number[]>,
): Promise<{ answered: number; failed: number }> {
  const byId = new Map(requests.map((e) => [e[0], e]));
  const records: StoredResult[] = [];
  let answered = 0;
  let failed = 0;
  const seen = new Set<string>();
  for (const line of lines) {
    const entry = byId.get(line.customId);
    if (!entry || seen.has(line.customId) || line.outcome.kind === 'requeue') continue;
    seen.add(line.customId);
    const [, rowId, rowHash, promptHash] = entry;
    const base = { rowId, rowHash, model, source: 'called' as const, promptHash, at: new Date().toISOString() };
    if (line.outcome.kind === 'error') {
      records.push({ ...base, error: line.outcome.error });
      failed++;
      continue;
    }
    try {
      const c = completionOf(line.outcome.body, input.models?.find((m) => m.name === model)?.model, input.reasoning?.(model));
      records.push({
        ...base, output: c.output,
        ...(c.rawOutput !== undefined ? { rawOutput: c.rawOutput } : {}),
        ...(c.reasoningStripped ? { reasoningStripped: c.reasoningStripped } : {}),
        ...(c.finishReason ? { finishReason: c.finishReason } : {}),
        ...(c.usage ? { usage: c.usage } : {}),
        ...(c.answeredBy !== undefined ? { answeredBy: c.answeredBy } : {}),
      });
      answered++;
      const index = input.dataset.indexOfId(rowId);
      if (index !== undefined) {
        const rows = answeredRows.get(model) ?? [];
        rows.push(index);
        answeredRows.set(model, rows);
      }
    } catch (err) {
      const e = err instanceof ResponseError ? { kind: err.kind, message: err.message } : { kind: 'malformed', message: (err as Error).message };
      records.push({ ...base, error: e });
      failed++;
    }
  }
  await input.results.append(records);
  return { answered, failed };
}

/** Writes the OpenAI batch JSONL for `vllm run-batch` (one model per file, in shards) and records what each line is. */
export async function exportBatches(input: BatchPlanInput & { outDir: string; maxRequests?: number; maxBytes?: number }): Promise<{ files: { model: string; file: string; requests: number }[]; failed: number }> {
  await fsp.mkdir(input.outDir, { recursive: true });
  const files: { model: string; file: string; requests: number }[] = [];
  let failed = 0;
  const encode = (r: BatchRequest) => JSON.stringify({ custom_id: r.customId, method: 'POST', url: '/v1/chat/completions', body: r.body });
  for (const planned of await planBatchRequests(input)) {
    if (planned.failures.length > 0) {
      await input.results.append(planned.failures);
      failed += planned.failures.length;
    }
    const shards = shardRequests(planned.requests, { maxRequests: input.maxRequests ?? 50_000, maxBytes: input.maxBytes ?? 200 * 1024 * 1024 }, encode);
    for (const [n, shard] of shards.entries()) {
      const file = path.join(input.outDir, `${path.basename(input.dataset.file).replace(/[^A-Za-z0-9_.-]+/g, '_')}.${planned.model.name.replace(/[^A-Za-z0-9_.-]+/g, '_')}.${String(n + 1).padStart(3, '0')}.jsonl`);
      await fsp.writeFile(file, shard.lines.join('\n') + '\n');
      await input.ledger.append({ kind: 'exported', model: planned.model.name, file, requests: shard.requests.map((r) => r.entry), ...(planned.judge ? { judge: planned.judge } : {}), at: new Date().toISOString() });
      files.push({ model: planned.model.name, file, requests: shard.requests.length });
    }
  }
  return { files, failed };
}

/** Reads a `vllm run-batch` output file (OpenAI batch output lines) into the results sidecar. */
export async function importBatchOutput(input: IngestInput & { ledger: BatchLedger; file: string }): Promise<IngestTotals & { unknown: number }> {
  const text = await fsp.readFile(input.file, 'utf8');
  const known = input.ledger.entries();
  // One group per model (and per judge batch's judge and prompt): each is stored as its batch would be.
  const byModel = new Map<string, { model: string; judge?: JudgeBatch; requests: RequestEntry[]; lines: BatchLine[] }>();
  let unknown = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    let line: { custom_id?: unknown; response?: { status_code?: unknown; body?: unknown } | null; error?: { code?: unknown; message?: unknown } | null };
    try {
      line = JSON.parse(raw) as typeof line;
    } catch {
      unknown++;
      continue;
    }
    const found = typeof line.custom_id === 'string' ? known.get(line.custom_id) : undefined;
    if (!found) {
      unknown++;
      continue;
    }
    const key = found.judge ? JSON.stringify([found.model, found.judge.modelId, found.judge.template]) : JSON.stringify([found.model]);
    const group = byModel.get(key) ?? { model: found.model, ...(found.judge ? { judge: found.judge } : {}), requests: [], lines: [] };
    group.requests.push(found.entry);
    group.lines.push({ customId: found.entry[0], outcome: openaiOutcome(line) });
    byModel.set(key, group);
  }
  const totals: IngestTotals & { unknown: number } = { answered: 0, failed: 0, judged: 0, verdicts: { good: 0, bad: 0 }, judgeFailed: 0, stale: 0, answeredRows: new Map(), unknown };
  for (const group of byModel.values()) await ingestLines(input, group, group.lines, totals);
  await input.ledger.append({ kind: 'imported', file: input.file, answered: totals.answered + totals.judged - totals.judgeFailed, failed: totals.failed + totals.judgeFailed, at: new Date().toISOString() });
  return totals;
}

/** A pending batch with the provider's state as last read (none before the first read). */
export interface PendingBatch {
  readonly batchId: string;
  readonly model: string;
  readonly engine: EngineName;
  readonly requests: number;
  /** A judge batch (`batch submit --judge`). */
  readonly judge?: boolean;
  readonly state?: BatchState;
}

export type EngineFor = (model: ModelConfig | { name: string; baseUrl: string }, engine: EngineName) => Promise<BatchEngine>;

/** Reads the provider's state of every pending batch (`batch status`); nothing is stored. */
export async function readBatchStates(ledger: BatchLedger, models: readonly ModelConfig[], engineFor: EngineFor): Promise<PendingBatch[]> {
  const out: PendingBatch[] = [];
  for (const b of ledger.pending) {
    const engine = await engineFor(batchModelOf(models, b), b.engine);
    out.push({ batchId: b.batchId, model: b.model, engine: b.engine, requests: b.requests.length, ...(b.judge ? { judge: true } : {}), state: await engine.state(b.batchId) });
  }
  return out;
}

/**
 * Asks the provider to cancel every pending batch (`batch cancel`). Lines already run are kept: the
 * next collect stores them and leaves the rest for a later submit, as for an expired batch.
 */
export async function cancelBatches(ledger: BatchLedger, models: readonly ModelConfig[], engineFor: EngineFor): Promise<{ batchId: string; model: string }[]> {
  const cancelled: { batchId: string; model: string }[] = [];
  for (const b of ledger.pending) {
    const engine = await engineFor(batchModelOf(models, b), b.engine);
    await engine.cancel(b.batchId);
    cancelled.push({ batchId: b.batchId, model: b.model });
  }
  return cancelled;
}
