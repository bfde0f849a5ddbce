import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** A full collection (mocha runs without --expose-gc: the flag is set before the function is taken from a new context). */
export const collectGarbage = runInNewContext('gc') as () => void;

/** Collects garbage until the memory held by array buffers stops shrinking (their backing stores are freed after the collection that finds them). */
export async function settledGarbage(): Promise<void> {
  for (let last = Infinity, i = 0; i < 10; i++) {
    collectGarbage();
    await new Promise((resolve) => setImmediate(resolve));
    const now = process.memoryUsage().arrayBuffers;
    if (now >= last) return;
    last = now;
  }
}
