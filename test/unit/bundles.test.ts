import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** What each bundle of scripts/build.mjs carries: activation (dist/extension.js) parses no openai. */

const repo = path.resolve(__dirname, '../../..');
// A development build marks every bundled module with a `// <path>` comment.
const OPENAI_MODULE = /^\/\/ \S*node_modules\/openai\//m;

describe('bundles', function () {
  this.timeout(180_000);

  before(() => {
    execFileSync(process.execPath, [path.join(repo, 'scripts/build.mjs')], { cwd: repo, stdio: 'pipe' });
  });

  it('dist/extension.js holds no module of the openai package; dist/engine.js, loaded at the first model call, does', () => {
    const extension = readFileSync(path.join(repo, 'dist/extension.js'), 'utf8');
    const engine = readFileSync(path.join(repo, 'dist/engine.js'), 'utf8');
    assert.match(engine, OPENAI_MODULE, 'the marker of a bundled openai module is found where openai is bundled');
    assert.doesNotMatch(extension, OPENAI_MODULE, `dist/extension.js bundles openai: ${OPENAI_MODULE.exec(extension)?.[0]}; route its caller through src/host/engine.ts (loadEngine)`);
  });
});
