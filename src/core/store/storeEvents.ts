/**
 * A store announces every change of what it holds, naming the rows: its own appends as they are
 * written ('write'), and lines another process appended, read when a watcher asks it to refresh
 * ('file'). Views patch the rows named; `rowIds` undefined means the file was read again whole.
 */
export interface StoreChange {
  readonly origin: 'write' | 'file';
  /** Row ids whose records changed; undefined: any row may have changed (a whole re-read). */
  readonly rowIds: readonly string[] | undefined;
}

export interface StoreSubscription {
  dispose(): void;
}

/** The listeners of one change event (a store's, a review's); a listener's failure never fails the write. */
export class ChangeEvents<E> {
  private readonly listeners = new Set<(e: E) => void>();

  readonly on = (listener: (e: E) => void): StoreSubscription => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(event: E): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not fail the store's write or read.
      }
    }
  }
}
