// The batches sidecar, `<dataset>.pisar-batches.jsonl` (append-only, beside the dataset): every uploaded
// file id and batch id with the requests it holds, and each batch collected. Read by the batch engine
// (src/core/batch) and by the runner, which leaves a pending batch's pairs to it (never paid twice).
import { appendRecords, readSidecar } from './sidecar';
import { sidecarFileFor } from './sidecarNames';

/** The batch APIs a batch was submitted to. */
export type EngineName = 'openai' | 'anthropic';

/**
 * [custom_id, row id, row hash, prompt hash]: what a line of a batch stands for. A judge batch's line adds the
 * model whose output it judges (its prompt hash is the judge prompt's, as StoredResult.judge.promptHash).
 */
export type RequestEntry = [customId: string, rowId: string, rowHash: string, promptHash: string, judgedModel?: string];

/** What marks a judge batch (its `model` is the judge model): the judge's model id and the prompt template sent. */
export interface JudgeBatch {
  readonly modelId: string;
  readonly template: string;
}

export type BatchRecord =
  | { kind: 'uploaded'; engine: EngineName; model: string; baseUrl: string; inputFileId: string; requests: RequestEntry[]; judge?: JudgeBatch; at: string }
  | { kind: 'submitted'; engine: EngineName; model: string; baseUrl: string; batchId: string; inputFileId?: string; requests: RequestEntry[]; judge?: JudgeBatch; at: string }
  | { kind: 'collected'; batchId: string; status: string; answered: number; failed: number; requeued: number; stale?: number; reason?: string; at: string }
  | { kind: 'exported'; model: string; file: string; requests: RequestEntry[]; judge?: JudgeBatch; at: string }
  | { kind: 'imported'; file: string; answered: number; failed: number; at: string };

export function batchesFileFor(datasetFile: string): string {
  return sidecarFileFor(datasetFile, 'batches');
}

function validateRecord(value: unknown): string | undefined {
  const r = value as { kind?: unknown; requests?: unknown; batchId?: unknown; judge?: { modelId?: unknown; template?: unknown } } | null;
  if (!r || typeof r !== 'object') return 'expected a JSON object';
  if (!['uploaded', 'submitted', 'collected', 'exported', 'imported'].includes(r.kind as string)) return '"kind" must be uploaded, submitted, collected, exported or imported';
  if ((r.kind === 'submitted' || r.kind === 'collected') && typeof r.batchId !== 'string') return '"batchId" must be a string';
  if (r.requests !== undefined && !(Array.isArray(r.requests) && r.requests.every((e) => Array.isArray(e) && (e.length === 4 || e.length === 5) && e.every((x) => typeof x === 'string')))) return '"requests" must be [customId, rowId, rowHash, promptHash] lists (a judge batch\'s add the judged model)';
  if (r.judge !== undefined && !(r.judge && typeof r.judge.modelId === 'string' && typeof r.judge.template === 'string')) return '"judge" must be {"modelId": string, "template": string}';
  return undefined;
}

/** The batches sidecar as read: what was submitted, and which batches are collected. */
export class BatchLedger {
  private constructor(readonly file: string, readonly records: BatchRecord[]) {}

  static async open(datasetFile: string): Promise<BatchLedger> {
    const file = batchesFileFor(datasetFile);
    const { records } = await readSidecar<BatchRecord>(file, { validate: validateRecord });
    return new BatchLedger(file, records);
  }

  async append(record: BatchRecord): Promise<void> {
    // Durable: the batch id is what stands between a crash and paying for the batch twice.
    await appendRecords(this.file, [record], { durable: true });
    this.records.push(record);
  }

  get submitted(): Extract<BatchRecord, { kind: 'submitted' }>[] {
    return this.records.filter((r): r is Extract<BatchRecord, { kind: 'submitted' }> => r.kind === 'submitted');
  }

  collected(batchId: string): boolean {
    return this.records.some((r) => r.kind === 'collected' && r.batchId === batchId);
  }

  /** Submitted and not yet collected. */
  get pending(): Extract<BatchRecord, { kind: 'submitted' }>[] {
    return this.submitted.filter((b) => !this.collected(b.batchId));
  }

  /** Files uploaded whose batch was never created (a crash between the two). */
  get orphanUploads(): Extract<BatchRecord, { kind: 'uploaded' }>[] {
    const used = new Set(this.submitted.map((b) => b.inputFileId));
    return this.records.filter((r): r is Extract<BatchRecord, { kind: 'uploaded' }> => r.kind === 'uploaded' && !used.has(r.inputFileId));
  }

  /** `${rowId}\0${model}` of every generation request in a pending batch or orphan upload (judge batches generate nothing). */
  pendingPairs(): Set<string> {
    const pairs = new Set<string>();
    for (const b of [...this.pending, ...this.orphanUploads]) if (!b.judge) for (const [, rowId] of b.requests) pairs.add(`${rowId}\u0000${b.model}`);
    return pairs;
  }

  /** pendingJudgementKey of every judge request in a pending batch or orphan upload: a live judge run leaves these to the batch. */
  pendingJudgements(): Set<string> {
    const keys = new Set<string>();
    for (const b of [...this.pending, ...this.orphanUploads]) if (b.judge) for (const [, rowId, , promptHash, judged] of b.requests) keys.add(pendingJudgementKey(b.model, rowId, judged ?? '', promptHash));
    return keys;
  }

  /** custom_id -> (request, model, judge batch) over every record that lists requests. */
  entries(): Map<string, { entry: RequestEntry; model: string; judge?: JudgeBatch }> {
    const map = new Map<string, { entry: RequestEntry; model: string; judge?: JudgeBatch }>();
    for (const r of this.records) if ('requests' in r) for (const entry of r.requests) map.set(entry[0], { entry, model: r.model, ...(r.judge ? { judge: r.judge } : {}) });
    return map;
  }
}

/** One judgement a batch holds: the judge model, the row, the model whose output is judged, and the judge prompt's hash (same request). */
export function pendingJudgementKey(judge: string, rowId: string, judgedModel: string, promptHash: string): string {
  return `${judge}\u0000${rowId}\u0000${judgedModel}\u0000${promptHash}`;
}
