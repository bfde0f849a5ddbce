import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, repoRoot } from '../support/files';

const CLI = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');
const run = promisify(execFile);

/** The CLI as its own process: a run that loses its last handle ends the process, as it would for a user. */
async function score(dataset: string, cacheDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'score', dataset, '--embedding-model', TINY, '--cache-dir', cacheDir, '--json'], { env: { PATH: process.env.PATH }, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('CLI: scoring again with every embedding cached', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  before(() => {
    tmp = makeTempDir();
  });
  after(() => tmp.cleanup());

  it('scores every pair and prints its document, though no worker computes anything (two scorer calls at once)', async () => {
    // 1,100 rows x 2 models = 2,200 pairs: more than one scorer window (2,048), so two calls run at once,
    // and texts long enough (> 126 characters) that each call asks a worker which ones the model cuts.
    const long = (i: number, what: string) => `${what} for row ${i}: ${'the agent moved the cup to the left because the user asked for it '.repeat(3)}`;
    const dataset = path.join(tmp.dir, 'data.jsonl');
    const rows = Array.from({ length: 1100 }, (_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: long(i, 'reference'), outputs: { a: long(i, 'output a'), b: long(i, 'output b') } }));
    fs.writeFileSync(dataset, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const cache = path.join(tmp.dir, 'cache');
    const results = path.join(tmp.dir, 'data.pisar-results.jsonl');

    const first = await score(dataset, cache);
    assert.equal(first.code, 0, first.stderr);
    fs.rmSync(results);

    const again = await score(dataset, cache);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.stdout.trim().startsWith('{'), `a JSON document on stdout, got ${JSON.stringify(again.stdout.slice(0, 200))} (stderr: ${again.stderr.slice(0, 500)})`);
    const lines = fs.readFileSync(results, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { score?: number });
    assert.equal(lines.length, 2200);
    assert.equal(lines.filter((r) => typeof r.score === 'number').length, 2200);
    assert.equal(fs.existsSync(`${results}.lock`), false, 'the run lock is released');
  });
});
