// The batches sidecar, `<dataset>.pisar-batches.jsonl` (append-only, beside the dataset): every uploaded
// file id and batch id with the requests it holds, and each batch collected. Read by the batch engine
// (src/core/batch) and by the runner, which leaves a pending batch's pairs to it (never paid twice).
import { appendRecords, readSidecar } from './sidecar';
import { sidecarFileFor } from './sidecarNames';

/** The batch APIs a batch was submitted to. */
export type EngineName = 'openai' | 'anthropic';

/** [custom_id, row id, row hash, prompt hash]: what a line of a batch stands for. */
export type RequestEntry = [customId: string, rowId: string, rowHash: string, promptHash: string];

export type BatchRecord =
  | { kind: 'uploaded'; engine: EngineName; model: string; baseUrl: string; inputFileId: string; requests: RequestEntry[]; at: string }
  | { kind: 'submitted'; engine: EngineName; model: string; baseUrl: string; batchId: string; inputFileId?: string; requests: RequestEntry[]; at: string }
  | { kind: 'collected'; batchId: string; status: string; answered: number; failed: number; requeued: number; reason?: string; at: string }
  | { kind: 'exported'; model: string; file: string; requests: RequestEntry[]; at: string }
  | { kind: 'imported'; file: string; answered: number; failed: number; at: string };

export function batchesFileFor(datasetFile: string): string {
  return sidecarFileFor(datasetFile, 'batches');
}

function validateRecord(value: unknown): string | undefined {
  const r = value as { kind?: unknown; requests?: unknown; batchId?: unknown } | null;
  if (!r || typeof r !== 'object') return 'expected a JSON object';
  if (!['uploaded', 'submitted', 'collected', 'exported', 'imported'].includes(r.kind as string)) return '"kind" must be uploaded, submitted, collected, exported or imported';
  if ((r.kind === 'submitted' || r.kind === 'collected') && typeof r.batchId !== 'string') return '"batchId" must be a string';
  if (r.requests !== undefined && !(Array.isArray(r.requests) && r.requests.every((e) => Array.isArray(e) && e.length === 4 && e.every((x) => typeof x === 'string')))) return '"requests" must be [customId, rowId, rowHash, promptHash] lists';
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

  /** `${rowId}\0${model}` of every request in a pending batch or orphan upload. */
  pendingPairs(): Set<string> {
    const pairs = new Set<string>();
    for (const b of [...this.pending, ...this.orphanUploads]) for (const [, rowId] of b.requests) pairs.add(`${rowId}\u0000${b.model}`);
    return pairs;
  }

  /** custom_id -> (request, model) over every record that lists requests. */
  entries(): Map<string, { entry: RequestEntry; model: string }> {
    const map = new Map<string, { entry: RequestEntry; model: string }>();
    for (const r of this.records) if ('requests' in r) for (const entry of r.requests) map.set(entry[0], { entry, model: r.model });
    return map;
  }
}
