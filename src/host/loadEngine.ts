import * as path from 'node:path';

export type Engine = typeof import('./engine');

let engine: Engine | undefined;

/** The engine bundle (dist/engine.js), loaded once at the first score. */
export function loadEngine(): Engine {
  // A path computed at run time: esbuild leaves it alone, so the engine stays out of dist/extension.js.
  const file = path.join(__dirname, 'engine.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a require at run time, by design (see above)
  engine ??= require(file) as Engine;
  return engine;
}
