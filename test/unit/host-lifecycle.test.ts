import * as assert from 'node:assert/strict';
import { Debouncer } from '../../src/host/debounce';
import { Disposable, DisposableStore } from '../../src/host/dispose';

/**
 * A positive signal that every timer of `delayMs` scheduled so far has fired: a debouncer of the same
 * delay, scheduled now, has run (timers fire in the order they are due).
 */
function ranAfter(delayMs: number): Promise<void> {
  const sentinel = new Debouncer(delayMs);
  return new Promise<void>((resolve) => sentinel.restart(undefined, resolve)).finally(() => sentinel.dispose());
}

describe('host lifecycle: the one debouncer and the one Disposable base', () => {
  it('restart waits for a pause in calls; coalesce runs once per burst; both per key', async () => {
    const d = new Debouncer<string>(20);
    const runs: string[] = [];
    d.restart('a', () => runs.push('a1'));
    d.restart('a', () => runs.push('a2'));
    d.coalesce('b', () => runs.push('b1'));
    d.coalesce('b', () => runs.push('b2'));
    assert.equal(d.isPending('a'), true);
    await ranAfter(20);
    assert.deepEqual(runs.sort(), ['a2', 'b1'], 'the last restart, the first coalesce');
    assert.equal(d.isPending('a'), false);
  });

  it('cancel says whether something was pending; nothing runs after dispose', async () => {
    const d = new Debouncer(10);
    let runs = 0;
    assert.equal(d.cancel(undefined), false);
    d.coalesce(undefined, () => runs++);
    assert.equal(d.cancel(undefined), true);
    d.coalesce(undefined, () => runs++);
    d.dispose();
    d.restart(undefined, () => runs++);
    await ranAfter(10);
    assert.equal(runs, 0);
  });

  it('disposes what an owner registered, in order, once; a late registration is disposed at once', () => {
    const order: string[] = [];
    const item = (name: string) => ({ dispose: () => order.push(name) });
    class Owner extends Disposable {
      constructor() {
        super();
        this._register(item('first'));
        this._register(item('second'));
      }
      late(): void {
        this._register(item('late'));
      }
    }
    const owner = new Owner();
    owner.dispose();
    owner.dispose();
    assert.deepEqual(order, ['first', 'second']);
    owner.late();
    assert.deepEqual(order, ['first', 'second', 'late']);
    const store = new DisposableStore();
    store.add(item('s'));
    store.dispose();
    assert.equal(store.isDisposed, true);
    assert.deepEqual(order.slice(-1), ['s']);
  });
});
