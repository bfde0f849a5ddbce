import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { datasetFindings } from '../../src/cli/datasetFindings';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { DatasetReadError } from '../../src/core/dataset/errors';
import { runCliCaptured } from '../support/cli';
import { jsonl, makeTempDir, writeFixture } from '../support/files';

const row = (i: number, pad = '') => ({ id: `r${i}`, input: `question ${i}${pad}`, rationale: `because ${i}` });

describe('Dataset reader: gzip and UTF-16 streamed, inflated size bounded, no line lost unseen', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.cleanup());

  it('refuses a gzip bomb past the limit with an error naming the setting, the flag and the fix', async () => {
    // a few KB of gzip that inflates to about 10 MB of rows
    const big = Buffer.from(jsonl(Array.from({ length: 100_000 }, () => ({ id: 'x', input: 'a'.repeat(60), rationale: 'b'.repeat(20) }))));
    const bomb = writeFixture(tmp.dir, 'bomb.jsonl.gz', zlib.gzipSync(big, { level: 9 }));
    assert.ok(fs.statSync(bomb).size < big.length / 100, 'a small file that inflates a hundredfold');
    await assert.rejects(Dataset.open(bomb, { maxInflatedBytes: 1 << 20 }), (error: unknown) => {
      assert.ok(error instanceof DatasetReadError, String(error));
      assert.match(error.message, /bomb\.jsonl\.gz: decompresses to more than 1048576 bytes/);
      assert.match(error.message, /pisarReview\.dataset\.maxInflatedBytes/);
      assert.match(error.message, /--max-inflated-bytes/);
      assert.match(error.fix, /gunzip -k/);
      return true;
    });
    // through the CLI: the flag and the config key set the limit; past it, exit 2 with the same words
    const flag = await runCliCaptured(['inspect', bomb, '--max-inflated-bytes', '1MiB'], { cwd: tmp.dir });
    assert.equal(flag.code, 2, flag.stderr);
    assert.match(flag.stderr, /decompresses to more than 1048576 bytes.*maxInflatedBytes/s);
    const config = writeFixture(tmp.dir, 'config.json', JSON.stringify({ dataset: { maxInflatedBytes: 2_000_000 } }));
    const configured = await runCliCaptured(['score', bomb, '--config', config, '--json'], { cwd: tmp.dir });
    assert.equal(configured.code, 2, configured.stderr);
    assert.match(configured.stderr, /more than 2000000 bytes/);
    // raised far enough, the same file is read
    const raised = await runCliCaptured(['inspect', bomb, '--max-inflated-bytes', '16MiB', '--json'], { cwd: tmp.dir });
    assert.equal(raised.code, 0, raised.stderr);
    assert.equal(JSON.parse(raised.stdout).rows, 100_000);
  });

  it('refuses a UTF-16 file whose UTF-8 text passes the limit', async () => {
    const text = jsonl(Array.from({ length: 2000 }, (_, i) => row(i)));
    const file = writeFixture(tmp.dir, 'wide.jsonl', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    await assert.rejects(Dataset.open(file, { maxInflatedBytes: 10_000 }), /converted to UTF-8 takes to more than 10000 bytes.*maxInflatedBytes/s);
    const dataset = await Dataset.open(file);
    assert.equal(dataset.rowCount, 2000);
    assert.equal((await dataset.getRow(1999)).input, 'question 1999');
  });

  it('streams a gzip file through the line reader: every row, rows across memory blocks, every member of a multi-member file', async () => {
    // ~6 MB inflated: rows cross the 4 MiB memory blocks; three gzip members, one cut mid-line
    const rows = Array.from({ length: 30_000 }, (_, i) => row(i, ' '.repeat(150 + (i % 50))));
    const text = Buffer.from(jsonl(rows));
    const cuts = [0, Math.floor(text.length / 3) + 17, Math.floor((2 * text.length) / 3), text.length];
    const members = cuts.slice(1).map((end, k) => zlib.gzipSync(text.subarray(cuts[k], end)));
    const file = writeFixture(tmp.dir, 'multi.jsonl.gz', Buffer.concat(members));
    const dataset = await Dataset.open(file);
    assert.equal(dataset.rowCount, rows.length);
    assert.equal(datasetFindings(dataset).skippedLines, 0);
    assert.deepEqual(dataset.rowIds(), rows.map((r) => r.id));
    const all = await dataset.readRows(0, dataset.rowCount, () => true);
    assert.deepEqual(all.map((r) => r?.input), rows.map((r) => r.input));
    for (const i of [0, 13_000, 26_000, rows.length - 1]) assert.equal((await dataset.getRow(i)).reference, `because ${i}`);
    await dataset.close();
  });

  it('counts a line over the line limit as skipped (never "0 bad lines"), with a finding', async () => {
    const file = writeFixture(tmp.dir, 'long.jsonl', jsonl([row(1), row(2, 'x'.repeat(5000)), row(3)]));
    const dataset = await Dataset.open(file, { maxLineBytes: 1000 });
    assert.equal(dataset.rowCount, 2);
    const doc = datasetFindings(dataset);
    assert.equal(doc.skippedLines, 1, 'the long line is counted among the skipped lines (score exits 3 on it)');
    assert.deepEqual(doc.findings.map((f) => [f.line, f.code]), [[2, 'line-too-long']]);
    // the same through gzip
    const gz = writeFixture(tmp.dir, 'long.jsonl.gz', zlib.gzipSync(fs.readFileSync(file)));
    const zipped = await Dataset.open(gz, { maxLineBytes: 1000 });
    assert.equal(datasetFindings(zipped).skippedLines, 1);
    assert.deepEqual(zipped.rowIds(), ['r1', 'r3']);
  });
});
