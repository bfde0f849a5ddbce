// What a shell needs to follow batches it did not start itself (a reopened editor, a second terminal):
// when to read a pending batch again, and one state for a status line (submitted, running n of m,
// collecting, done, expired with requeued requests, failed with the provider's reason). No timers, no
// UI and no network here (types only from the batch engine, so the editor loads this at activation).
import type { BatchLedger, BatchRecord } from '../store/batchLedger';
import type { PendingBatch } from './batchRun';
import type { BatchState } from './engines';

/** The longest wait between two reads, however long a batch runs (providers give 24 hours). */
export const MAX_POLL_MS = 10 * 60_000;

/**
 * When to read pending batches again: `firstMs` after a read that saw progress (or the first), doubling
 * after each read that saw none, at most 20 times `firstMs` and never over 10 minutes.
 */
export class PollSchedule {
  private waitMs: number;
  readonly maxMs: number;

  constructor(readonly firstMs: number) {
    this.waitMs = firstMs;
    this.maxMs = Math.max(firstMs, Math.min(firstMs * 20, MAX_POLL_MS));
  }

  /** The wait before the next read, given whether the read just made saw any batch move. */
  next(progressed: boolean): number {
    if (progressed) this.waitMs = this.firstMs;
    const wait = this.waitMs;
    this.waitMs = Math.min(this.waitMs * 2, this.maxMs);
    return wait;
  }

  /** Back to the first wait (a batch was just submitted, or the user asked to collect now). */
  reset(): void {
    this.waitMs = this.firstMs;
  }
}

/** Whether a read moved anything: a batch ended, or more of its lines are done than before. */
export function progressed(before: readonly PendingBatch[], after: readonly PendingBatch[]): boolean {
  return after.some((b) => {
    const was = before.find((p) => p.batchId === b.batchId)?.state;
    return !was || !b.state || was.phase !== b.state.phase || was.done !== b.state.done || was.failed !== b.state.failed || was.status !== b.state.status;
  });
}

export type BatchPhase = 'submitted' | 'running' | 'collecting' | 'done' | 'requeued' | 'failed';

/** The state of a dataset's batches for a status line: plain text (the shell escapes it and adds its icon). */
export interface BatchView {
  readonly phase: BatchPhase;
  /** Short: `batch running 120 of 1322`. */
  readonly text: string;
  /** Every batch on its own line, with the provider's status and reason. */
  readonly detail: string[];
}

export interface BatchViewInput {
  /** The ledger as read now. */
  readonly ledger: BatchLedger;
  /** The provider's states as last read (by batch id). */
  readonly states?: ReadonlyMap<string, BatchState>;
  /** Ended batches are being read and stored now. */
  readonly collecting?: boolean;
  /** Why the last read of the provider failed (its words), if it did. */
  readonly readError?: string;
}

type Collected = Extract<BatchRecord, { kind: 'collected' }>;
type Submitted = Extract<BatchRecord, { kind: 'submitted' }>;

/**
 * The last round of batches: those submitted since the last submit that followed a collect (one
 * `Score via Batch` or `batch submit`, with any batch still pending from before).
 */
export function lastRound(ledger: BatchLedger): Submitted[] {
  const records = ledger.records;
  const submitSide = (r: BatchRecord) => r.kind === 'submitted' || r.kind === 'uploaded';
  let end = records.length - 1;
  while (end >= 0 && !submitSide(records[end])) end--;
  let start = end;
  while (start > 0 && submitSide(records[start - 1])) start--;
  const round = (end < 0 ? [] : records.slice(start, end + 1)).filter((r): r is Submitted => r.kind === 'submitted');
  const pending = ledger.pending.filter((b) => !round.includes(b));
  return [...pending, ...round];
}

const count = (n: number) => n.toLocaleString('en-US');

/** The status line of a dataset's batches; undefined when it has none. */
export function batchView(input: BatchViewInput): BatchView | undefined {
  const { ledger } = input;
  const round = lastRound(ledger);
  if (round.length === 0) return undefined;
  const collected = new Map<string, Collected>();
  for (const r of ledger.records) if (r.kind === 'collected') collected.set(r.batchId, r);
  const pending = round.filter((b) => !collected.has(b.batchId));
  const detail = round.map((b) => {
    const c = collected.get(b.batchId);
    // A judge batch's model is the judge: say so, its answers are verdicts.
    const model = b.judge ? `judge ${b.model}` : b.model;
    if (c) return `${model} · ${b.batchId}: ${c.status}; ${count(c.answered)} answered, ${count(c.failed)} failed${c.requeued ? `, ${count(c.requeued)} not run (sent again by the next submit)` : ''}${c.reason ? ` (${c.reason})` : ''}`;
    const s = input.states?.get(b.batchId);
    if (!s) return `${model} · ${b.batchId}: submitted, ${count(b.requests.length)} requests`;
    return `${model} · ${b.batchId}: ${s.status}, ${count(s.done)} of ${count(s.total || b.requests.length)} done${s.failed ? `, ${count(s.failed)} failed` : ''}${s.errors ? ` (${s.errors})` : ''}`;
  });
  if (input.readError) detail.unshift(`Reading the batches failed: ${input.readError}`);
  if (pending.length > 0) {
    if (input.collecting) return { phase: 'collecting', text: 'batch collecting', detail };
    const states = pending.map((b) => input.states?.get(b.batchId));
    if (input.readError) return { phase: 'failed', text: 'batch status unknown', detail };
    if (states.some((s) => s === undefined)) {
      const requests = sum(pending.map((b) => b.requests.length));
      return { phase: 'submitted', text: `batch submitted · ${count(requests)} request${requests === 1 ? '' : 's'}`, detail };
    }
    const total = sum(pending.map((b, i) => states[i]!.total || b.requests.length));
    const done = sum(states.map((s) => s!.done));
    return { phase: 'running', text: `batch running ${count(done)} of ${count(total)}`, detail };
  }
  const records = round.map((b) => collected.get(b.batchId)!);
  const refused = records.filter((c) => c.status === 'failed');
  if (refused.length > 0) return { phase: 'failed', text: `batch failed${refused[0].reason ? `: ${refused[0].reason}` : ''}`, detail };
  const requeued = sum(records.map((c) => c.requeued));
  const answered = sum(records.map((c) => c.answered));
  const failed = sum(records.map((c) => c.failed));
  if (requeued > 0) {
    const why = [...new Set(records.filter((c) => c.requeued > 0).map((c) => c.status))].join('/');
    return { phase: 'requeued', text: `batch ${why}: ${count(answered)} answered, ${count(requeued)} to send again`, detail };
  }
  return { phase: 'done', text: `batch done · ${count(answered)} answered${failed ? `, ${count(failed)} failed` : ''}`, detail };
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
