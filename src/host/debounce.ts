import type { IDisposable } from './dispose';

/**
 * The one debouncer: actions delayed per key (a document, a session, a file, or one key for the
 * whole owner). Dispose it with its owner; nothing fires after that.
 */
export class Debouncer<K = undefined> implements IDisposable {
  private readonly timers = new Map<K, ReturnType<typeof setTimeout>>();
  private disposed = false;

  constructor(private readonly delayMs: number) {}

  /** Runs `action` once calls for `key` pause for the delay: each call restarts the wait (typing). */
  restart(key: K, action: () => void): void {
    this.cancel(key);
    this.start(key, action);
  }

  /** Runs `action` at the end of the delay from the first call; calls meanwhile join that run (bursts). */
  coalesce(key: K, action: () => void): void {
    if (!this.timers.has(key)) this.start(key, action);
  }

  isPending(key: K): boolean {
    return this.timers.has(key);
  }

  /** Drops the pending run of `key`; true if there was one. */
  cancel(key: K): boolean {
    const timer = this.timers.get(key);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.timers.delete(key);
    return true;
  }

  dispose(): void {
    this.disposed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private start(key: K, action: () => void): void {
    if (this.disposed) return;
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      action();
    }, this.delayMs));
  }
}
