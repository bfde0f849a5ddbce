/**
 * Ownership of disposables: whatever a class creates that must be disposed is registered where it is
 * created, and disposed with its owner. Plain TypeScript (no vscode import), so vscode-free host
 * parts (the panel controller) use it too.
 */

export interface IDisposable {
  dispose(): unknown;
}

/** A list of disposables disposed together, in the order they were added. */
export class DisposableStore implements IDisposable {
  private items: IDisposable[] = [];
  private disposed = false;

  add<T extends IDisposable>(item: T): T {
    // Registered after disposal: nothing would ever dispose it.
    if (this.disposed) item.dispose();
    else this.items.push(item);
    return item;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    this.disposed = true;
    const items = this.items;
    this.items = [];
    for (const item of items) item.dispose();
  }
}

/** Base of the classes that own disposables: `this._register(x)` where `x` is created. */
export abstract class Disposable implements IDisposable {
  private readonly store = new DisposableStore();

  protected _register<T extends IDisposable>(item: T): T {
    return this.store.add(item);
  }

  protected get isDisposed(): boolean {
    return this.store.isDisposed;
  }

  dispose(): void {
    this.store.dispose();
  }
}
