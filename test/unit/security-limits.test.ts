import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, parseModelList } from '../../src/core/config/models';
import { ResultsStore } from '../../src/core/store/results';
import { jsonl, makeTempDir, repoRoot } from '../support/files';

const CLI = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

describe('security: limits a hostile folder or config cannot push past', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('pisar-limits-')));
  afterEach(() => tmp.cleanup());

  for (const timeoutMs of [1e12, 2 ** 31]) {
    it(`timeoutMs ${timeoutMs} is refused (setTimeout would fire at once), naming the limit`, () => {
      assert.throws(
        () => parseModelList([{ name: 'm', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', timeoutMs }], 'cfg.json'),
        (err: unknown) => err instanceof ConfigError && /timeoutMs/.test(err.message) && /2147483647/.test(err.message),
      );
    });
  }

  it('scores outside [-1, 1] or not numbers in a sidecar are ignored with a warning; the outputs are kept', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl([{ id: 'a', input: 'q', rationale: 'r' }]));
    const base = { rowId: 'a', rowHash: 'h', source: 'precomputed', output: 'out', at: '2026-01-01T00:00:00Z' };
    await fsp.writeFile(path.join(tmp.dir, 'data.pisar-results.jsonl'), jsonl([
      { ...base, model: 'ok', score: 0.5 },
      { ...base, model: 'big', score: 7 },
      { ...base, model: 'low', score: -1.5 },
      { ...base, model: 'text', score: 'NaN' },
      { ...base, model: 'null', score: null },
    ]));
    const store = await ResultsStore.open(data);
    assert.equal(store.latest('a', 'ok')?.score, 0.5);
    for (const model of ['big', 'low', 'text', 'null']) {
      const r = store.latest('a', model);
      assert.equal(r?.output, 'out', `${model}: the output was lost`);
      assert.equal(r?.score, undefined, `${model}: the bad score was kept`);
    }
    assert.deepEqual(store.problems.map((p) => [p.line, p.kind]), [[2, 'invalid-field'], [3, 'invalid-field'], [4, 'invalid-field'], [5, 'invalid-field']]);
    assert.match(store.problems[0].reason, /-1 to 1/);
  });

  it('report on 10,000 model names lists a bounded gap table in bounded memory', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl([{ id: 'a', input: 'q', rationale: 'r' }]));
    const { Dataset } = await import('../../src/core/dataset/datasetReader');
    const ds = await Dataset.open(data);
    const hash = ds.rowHash(0);
    await ds.close();
    const lines = Array.from({ length: 10_000 }, (_, i) => ({ rowId: 'a', rowHash: hash, model: `m${i}`, source: 'precomputed' as const, output: 'o', score: (i % 200) / 200, at: '2026-01-01T00:00:00Z' }));
    // Stored by this installation (as runs here would), so every model counts: a line read from the file would not.
    await (await ResultsStore.open(data)).append(lines);
    // 10,000 models make ~50 million pairs: in 512 MB that is an out-of-memory crash unless capped.
    const run = spawnSync(process.execPath, ['--max-old-space-size=512', CLI, 'report', data, '--format', 'json'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 100_000 });
    assert.equal(run.status, 0, run.stderr.slice(0, 2000));
    const doc = JSON.parse(run.stdout) as { models: unknown[]; gaps: unknown[]; gapsLimitedTo?: number };
    assert.equal(doc.models.length, 10_000);
    assert.equal(doc.gapsLimitedTo, 50);
    assert.equal(doc.gaps.length, (50 * 49) / 2);

    // The CSV's gap columns are the gapped models only: a 10,000 x 10,000 matrix of empty cells was 100 MB and 1.5 GB.
    const csv = spawnSync(process.execPath, ['--max-old-space-size=256', CLI, 'report', data, '--format', 'csv'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 100_000 });
    assert.equal(csv.status, 0, csv.stderr.slice(0, 2000));
    const summary = csv.stdout.split('\r\n\r\n')[0].split('\r\n');
    assert.equal(summary.length, 10_001, 'a line per model');
    assert.equal(summary[0].split(',').filter((c) => c.startsWith('gap_vs:')).length, 50);
    assert.ok(csv.stdout.length < 8 * 1024 * 1024, `${csv.stdout.length} bytes of CSV`);
  });
});
