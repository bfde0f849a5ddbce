// Appends a run's results to the results store. Appends are coalesced: whatever finished while the
// last write ran goes out in the next one, so a fast run makes few large writes instead of one per row.
import type { ResultsStore, StoredResult } from '../store/results';

export interface WrittenResult {
  readonly result: StoredResult;
  /** False for a follow-up line (the score of an output already written and counted). */
  readonly counted: boolean;
}

export class ResultWriter {
  private queue: WrittenResult[] = [];
  private running: Promise<void> | undefined;
  private _error: Error | undefined;
  /** Results that could not be appended (the write failed, or came after a failed write): kept for a fallback file. */
  readonly unsaved: StoredResult[] = [];

  constructor(
    private readonly store: Pick<ResultsStore, 'append'>,
    /** Called for each result once it is on disk, in write order. */
    private readonly onWritten: (written: WrittenResult) => void,
    /** Called once, on the first failed write (the run should stop). */
    private readonly onError: (error: Error) => void,
  ) {}

  /** The first write failure, if any. */
  get error(): Error | undefined {
    return this._error;
  }

  write(result: StoredResult, counted = true): void {
    // After the first failed append nothing more is tried on that file: the answer is kept in memory.
    // (Kept here, not by a drain: a drain with nothing to await would finish before `running` is set, and idle() would spin.)
    if (this._error) {
      this.unsaved.push(result);
      return;
    }
    this.queue.push({ result, counted });
    this.running ??= this.drain();
  }

  /** Resolves when everything written so far is on disk (or failed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      if (this._error) {
        for (const b of batch) this.unsaved.push(b.result);
        continue;
      }
      try {
        await this.store.append(batch.map((b) => b.result));
      } catch (err) {
        for (const b of batch) this.unsaved.push(b.result);
        if (!this._error) {
          this._error = err as Error;
          this.onError(this._error);
        }
        continue;
      }
      for (const written of batch) this.onWritten(written);
    }
    this.running = undefined;
  }
}
