import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * What each bundle of scripts/build.mjs carries: activation loads dist/extension.js alone, a small entry that
 * registers ids and forwards them; the review features (dist/review.js) load at their first use and the
 * engine (dist/engine.js, openai and the scorer) at the first model call.
 */

const repo = path.resolve(__dirname, '../../..');
// A development build marks every bundled module with a `// <path>` comment.
const OPENAI_MODULE = /^\/\/ \S*node_modules\/openai\//m;
/** What the activation entry must not carry: the panel, the review features, the scorer, the runner, datasets, stores, reports. */
const HEAVY_MODULE = /^\/\/ (\S*node_modules\/\S+|src\/host\/(panel|review)\/\S+|src\/host\/(reviewFeatures|config|secrets|log|engine)\.ts|src\/core\/(scoring|runner|report|review|judge|batch)\/\S+|src\/core\/dataset\/(?!format\.ts)\S+|src\/core\/store\/(?!sidecarNames\.ts)\S+|src\/core\/config\/(?!settingKeys\.ts)\S+)$/gm;
/** The entry's size in the development build (unminified, comments kept); it is about 11 KB. */
const ENTRY_MAX_BYTES = 24 * 1024;

describe('bundles', function () {
  this.timeout(180_000);
  let extension: string;
  let review: string;
  let engine: string;

  before(() => {
    execFileSync(process.execPath, [path.join(repo, 'scripts/build.mjs')], { cwd: repo, stdio: 'pipe' });
    extension = readFileSync(path.join(repo, 'dist/extension.js'), 'utf8');
    review = readFileSync(path.join(repo, 'dist/review.js'), 'utf8');
    engine = readFileSync(path.join(repo, 'dist/engine.js'), 'utf8');
  });

  it('dist/extension.js and dist/review.js hold no module of the openai package; dist/engine.js, loaded at the first model call, does', () => {
    assert.match(engine, OPENAI_MODULE, 'the marker of a bundled openai module is found where openai is bundled');
    assert.doesNotMatch(extension, OPENAI_MODULE, `dist/extension.js bundles openai: ${OPENAI_MODULE.exec(extension)?.[0]}; route its caller through src/host/engine.ts (loadEngine)`);
    assert.doesNotMatch(review, OPENAI_MODULE, `dist/review.js bundles openai: ${OPENAI_MODULE.exec(review)?.[0]}; route its caller through src/host/engine.ts (loadEngine)`);
  });

  it('the activation entry dist/extension.js is small and pulls none of the panel, the review features, the scorer, datasets, stores or reports; dist/review.js holds them', () => {
    const heavy = [...new Set(Array.from(extension.matchAll(HEAVY_MODULE), (m) => m[1]))];
    assert.deepEqual(heavy, [], `dist/extension.js (loaded at activation) bundles ${heavy.join(', ')}: reach it through the review features (src/host/reviewFeatures.ts, loaded by src/host/lazyReview.ts at the first use), not from src/extension.ts or what it imports`);
    assert.ok(Buffer.byteLength(extension) <= ENTRY_MAX_BYTES, `dist/extension.js is ${Buffer.byteLength(extension)} bytes, over ${ENTRY_MAX_BYTES}: activation parses all of it`);
    // The markers the check above looks for are there in the bundle that does carry those modules.
    for (const module of ['src/host/panel/panelController.ts', 'src/host/review/scoring.ts', 'src/core/dataset/datasetReader.ts', 'src/core/report/render.ts', 'src/core/config/settings.ts']) {
      assert.match(review, new RegExp(`^// ${module.replace(/[./]/g, '\\$&')}$`, 'm'), `dist/review.js holds ${module}`);
      assert.match(`// ${module}`, new RegExp(HEAVY_MODULE.source, 'm'), `${module} counts as heavy`);
    }
  });
});
