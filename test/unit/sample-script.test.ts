import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, repoRoot } from '../support/files';

/** `npm run sample` on a machine without internet: the quick start's first impression. */
describe('npm run sample offline', function () {
  this.timeout(180_000);

  it('says once that it falls back to the lexical model and prints one table, with scores', function () {
    const cache = makeTempDir('sample-cache-');
    rmSync(path.join(repoRoot, '.cache', 'sample'), { recursive: true, force: true });
    const offline = path.join(repoRoot, 'test', 'support', 'offline.cjs');
    const run = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'sample.mjs')], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, PISAR_REVIEW_CACHE_DIR: cache.dir, NODE_OPTIONS: `--require ${offline}` },
    });
    const sidecar = path.join(repoRoot, '.cache', 'sample', 'pisar-sample.pisar-results.jsonl');
    const linesAfterFirst = readFileSync(sidecar, 'utf8').split('\n').filter(Boolean).length;
    const again = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'sample.mjs')], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, PISAR_REVIEW_CACHE_DIR: cache.dir, NODE_OPTIONS: `--require ${offline}` },
    });
    cache.cleanup();
    assert.equal(run.status, 0, run.stderr);
    assert.equal(again.status, 0, again.stderr);
    const precomputed = /(\d+) precomputed/.exec(run.stderr);
    assert.ok(precomputed && Number(precomputed[1]) > 0, `the run line counts the precomputed outputs it scored: ${run.stderr}`);
    assert.doesNotMatch(run.stderr + again.stderr, /Exit 3|exit code 3/, 'a run that succeeded does not say it exited 3');
    assert.equal(readFileSync(sidecar, 'utf8').split('\n').filter(Boolean).length, linesAfterFirst, 'a second sample run appends nothing');
    const pairs = new Set(readFileSync(sidecar, 'utf8').split('\n').filter(Boolean).map((l) => { const r = JSON.parse(l) as { rowId: string; model: string }; return `${r.rowId}\u0000${r.model}`; }));
    assert.equal(linesAfterFirst, pairs.size, 'one line per output: the offline first pass stored nothing');
    assert.equal(run.stdout.match(/\| model \| rows \| scored \|/g)?.length, 1, `one summary table, got:\n${run.stdout}`);
    const ft = /^\| ft-qwen3-vl-8b \| (\d+) \| (\d+) \| ([0-9.]+) \|/m.exec(run.stdout);
    assert.ok(ft, `the fine-tuned model's row in:\n${run.stdout}`);
    assert.ok(Number(ft[2]) > 0 && Number(ft[3]) > 0, `its rows are scored: ${ft[0]}`);
    assert.equal(run.stderr.match(/lexical model instead/g)?.length, 1, run.stderr);
    assert.doesNotMatch(run.stderr, /scoring failed/, 'the failed first attempt is not shown: the fallback notice says why');
  });
});
