// How a run's progress is told on every surface (CLI bar and line, VS Code progress and status bar).

/** A run's progress: pairs that succeeded, failed and remain are counted apart (a failure is no success). */
export interface RunProgress {
  readonly succeeded: number;
  readonly failed: number;
  readonly remaining: number;
  readonly total: number;
  /** e.g. "120 done · 2 failed · 878 left of 1000". */
  readonly text: string;
}

export function runProgress(done: number, failed: number, total: number): RunProgress {
  const succeeded = Math.max(0, done - failed);
  const remaining = Math.max(0, total - done);
  return { succeeded, failed, remaining, total, text: `${succeeded} done · ${failed} failed · ${remaining} left of ${total}` };
}
