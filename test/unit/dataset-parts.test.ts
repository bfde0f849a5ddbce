import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { makeTempDir } from '../support/files';

/**
 * A large file is indexed in parts, one a worker thread. Whatever the number of parts, the dataset
 * must be the one a single pass reads: the same rows, lines, hashes, ids, findings and fields.
 */

/** Lines of every kind the reader treats apart, spread over the file so that parts split between them. */
function awkwardFile(): Buffer {
  const lines: Buffer[] = [Buffer.from('\ufeff' + JSON.stringify({ id: 'first', input: 'a', rationale: 'b' }))];
  for (let i = 0; i < 1500; i++) {
    const kind = i % 23;
    let line: string | Buffer;
    if (kind === 0) line = '';
    else if (kind === 1) line = '   \t';
    else if (kind === 2) line = `{"id": "broken-${i}", "input": `;
    else if (kind === 3) line = `[{"id": "in-array-${i}"}]`;
    else if (kind === 4) line = `{"id": "nan-${i}", "input": "x", "rationale": "y", "score": NaN}`;
    else if (kind === 5) line = Buffer.concat([Buffer.from(`{"id": "bytes-${i}", "input": "caf`), Buffer.from([0xe9]), Buffer.from('", "rationale": "r"}')]);
    else if (kind === 6) line = JSON.stringify({ id: `long-${i}`, input: 'x'.repeat(3000), rationale: 'r' });
    else if (kind === 7) line = JSON.stringify({ input: `no id ${i}`, rationale: 'r' });
    else if (kind === 8) line = JSON.stringify({ id: `dup-${i % 5}`, input: `repeat ${i}`, rationale: 'r' });
    else if (kind === 9) line = JSON.stringify({ id: `late-model-${i}`, prompt: `p ${i}`, rationale: 'r', outputs: { [`model-${Math.floor(i / 300)}`]: `o ${i}` } });
    else if (kind === 10) line = `${JSON.stringify({ id: `crlf-${i}`, input: 'i', rationale: 'r' })}\r`;
    else if (kind === 11) line = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ id: `mid-bom-${i}`, input: 'i', rationale: 'r' }))]);
    else if (kind === 12) line = JSON.stringify({ id: `no-ref-${i}`, input: 'i' });
    else if (kind === 13) line = JSON.stringify({ id: `bad-outputs-${i}`, input: 'i', rationale: 'r', outputs: { m: 3 } });
    else if (kind === 14) line = JSON.stringify({ id: `line:${i + 3}`, input: 'an id that looks made up', rationale: 'r' });
    else line = JSON.stringify({ id: `row-${i}`, input: `input ${i} ✓`, rationale: `because ${i}`, outputs: { ft: `ft ${i}`, gpt: `gpt ${i}` } });
    lines.push(Buffer.isBuffer(line) ? line : Buffer.from(line));
  }
  lines.push(Buffer.from(JSON.stringify({ id: 'last-without-newline', input: 'i', rationale: 'r' })));
  return Buffer.concat(lines.flatMap((l, i) => (i === lines.length - 1 ? [l] : [l, Buffer.from('\n')])));
}

function facts(dataset: Dataset) {
  return {
    ids: dataset.rowIds(),
    lines: dataset.rowIds().map((_, i) => dataset.rowLine(i)),
    hashes: dataset.rowIds().map((_, i) => dataset.rowHash(i)),
    findings: dataset.findings,
    models: dataset.modelNames,
    mapping: dataset.mapping,
    lineCount: dataset.lineCount,
    nonBlank: dataset.nonBlankLineCount,
  };
}

describe('Dataset reader: a large file indexed in parts', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let file: string;
  before(() => {
    tmp = makeTempDir();
    file = path.join(tmp.dir, 'awkward.jsonl');
    fs.writeFileSync(file, awkwardFile());
  });
  after(() => tmp.cleanup());

  for (const threads of [2, 3, 7]) {
    it(`reads the same dataset in ${threads} parts as in one pass: rows, lines, hashes, ids, findings, fields`, async () => {
      const options = { maxLineBytes: 2000 };
      const single = await Dataset.open(file, { ...options, threads: 1 });
      const parts = await Dataset.open(file, { ...options, threads, parallelFromBytes: 0 });
      assert.ok(single.rowCount > 1000, 'the file has its rows');
      assert.ok(single.findings.some((f) => f.code === 'duplicate-id') && single.findings.some((f) => f.code === 'line-too-long'));
      assert.deepEqual(facts(parts), facts(single));
      for (const index of [0, 1, Math.floor(single.rowCount / 2), single.rowCount - 1]) {
        assert.deepEqual(await parts.getRow(index), await single.getRow(index));
      }
      await single.close();
      await parts.close();
    });
  }

  it('opens a file over parallelFromBytes in parts, with the same rows as one pass', async () => {
    const big = path.join(tmp.dir, 'big.jsonl');
    const row = (i: number) => JSON.stringify({ id: `r${i}`, input: `input ${i} ${'words '.repeat(40)}`, rationale: `because ${i}` });
    fs.writeFileSync(big, Array.from({ length: 60_000 }, (_, i) => row(i)).join('\n') + '\n');
    assert.ok(fs.statSync(big).size > 16 << 20, 'over the size from which parts are used');
    const inParts = await Dataset.open(big, { parallelFromBytes: 16 << 20 });
    const single = await Dataset.open(big, { threads: 1 });
    assert.deepEqual(facts(inParts), facts(single));
  });
});
