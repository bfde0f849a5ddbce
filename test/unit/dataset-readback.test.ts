import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { DatasetChangedError } from '../../src/core/dataset/errors';
import { ByteBlocks } from '../../src/core/dataset/rowHashes';
import { makeTempDir } from '../support/files';

/**
 * A dataset read back in order (Dataset.rows: report) is checked against what was indexed a block at a time (one SHA-1 of
 * the bytes read, ByteBlocks), not a row at a time (issue 23.2: the second SHA-1 a row): a row changed on disk since the
 * index must still be found, with the same message naming the same file and line.
 */
describe('dataset: rows read back checked by block', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());

  it('ends each block at a line\'s start, covers every byte in order, and knows a changed byte, whatever the chunks', () => {
    const lines = Array.from({ length: 400 }, (_, i) => `{"id":"r${i}","rationale":"${'x'.repeat(i % 37)}"}${i % 5 === 0 ? '\r' : ''}`);
    const bytes = Buffer.from(`${lines.join('\n')}\n\n{"id":"last","no newline":1}`);
    for (const chunkBytes of [1, 7, 64, 1000, bytes.length]) {
      const blocks = new ByteBlocks(false, 512);
      for (let at = 0; at < bytes.length; at += chunkBytes) blocks.feed(bytes.subarray(at, at + chunkBytes), at);
      blocks.finish();
      assert.ok(blocks.count > 10, `${blocks.count} blocks`);
      for (let k = 0; k < blocks.count; k++) {
        const [start, end] = [blocks.start(k), blocks.end(k)];
        assert.equal(start, k === 0 ? 0 : blocks.end(k - 1), `chunks of ${chunkBytes}: block ${k} follows the one before`);
        if (k < blocks.count - 1) {
          assert.equal(bytes[end - 1], 0x0a, `chunks of ${chunkBytes}: block ${k} ends after a newline`);
          assert.ok(end - start >= 512, `block ${k} reaches its size`);
          assert.equal(bytes.subarray(start, end - 1).indexOf(0x0a, 511), -1, `block ${k} ends at the first line start past its size`);
        }
        const own = bytes.subarray(start, end);
        assert.ok(blocks.holds(k, own));
        for (const at of [0, own.length >> 1, own.length - 1]) {
          const changed = Buffer.from(own);
          changed[at] ^= 0x20;
          assert.equal(blocks.holds(k, changed), false, `block ${k}: byte ${at} changed`);
        }
        assert.equal(blocks.holds(k, own.subarray(0, own.length - 1)), false, `block ${k}: cut short`);
      }
      assert.equal(blocks.end(blocks.count - 1), bytes.length, 'every byte in a block');
      assert.equal(createHash('sha1').update(bytes.subarray(blocks.start(1), blocks.end(1))).digest('hex').length, 40);
    }
    const none = new ByteBlocks(true);
    none.feed(bytes, 0);
    none.finish();
    assert.equal(none.count, 0, 'an index without row hashes keeps no blocks');
  });

  /** A dataset over two read blocks of rows (8 MiB each), a bad line and a blank line among them. */
  function writeLarge(file: string): { lines: string[]; rowLines: number[] } {
    const lines: string[] = [];
    const rowLines: number[] = [];
    const text = 'the driver slowed because a pedestrian stepped toward the crossing '.repeat(3);
    for (let i = 0; lines.length < 45_000; i++) {
      if (i === 20_000) lines.push('{"id": broken');
      else if (i === 20_001) lines.push('');
      else {
        lines.push(JSON.stringify({ id: `r${i}`, input: `q${i}`, rationale: `${text}${i}` }));
        rowLines.push(lines.length);
      }
    }
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    return { lines, rowLines };
  }

  /** rows() to the end: the ids read, and the error it ended with. */
  async function readAll(dataset: Dataset): Promise<{ ids: string[]; error: unknown }> {
    const ids: string[] = [];
    try {
      for await (const row of dataset.rows()) ids.push(row.id);
    } catch (error) {
      return { ids, error };
    }
    return { ids, error: undefined };
  }

  /** Writes line `line` (1-based) of the file again, changed in place to the same length. */
  function changeLine(file: string, lines: string[], line: number, edit: (text: string) => string): void {
    const changed = edit(lines[line - 1]);
    assert.equal(Buffer.byteLength(changed), Buffer.byteLength(lines[line - 1]));
    const offset = lines.slice(0, line - 1).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, changed, offset);
    fs.closeSync(fd);
  }

  for (const threads of [1, 2]) {
    it(`finds a row changed since the index by its line, as a check row by row did, and reads unchanged blocks whole (${threads === 1 ? 'indexed on one thread' : 'indexed in parts on two threads'})`, async function () {
      this.timeout(120_000);
      const file = path.join(tmp.dir, 'data.jsonl');
      const { lines, rowLines } = writeLarge(file);
      const open = () => Dataset.open(file, { threads });

      const unchanged = await readAll(await open());
      assert.equal(unchanged.error, undefined);
      assert.equal(unchanged.ids.length, rowLines.length, 'every row read');
      assert.equal(unchanged.ids[44_000], 'r44002');

      // A row in the middle of the file, its text changed to the same length: the error names that row's line.
      const middle = rowLines[40_000];
      let dataset = await open();
      changeLine(file, lines, middle, (t) => t.replace('driver', 'DRIVER'));
      let read = await readAll(dataset);
      assert.ok(read.error instanceof DatasetChangedError, String(read.error));
      assert.equal((read.error as DatasetChangedError).line, middle);
      assert.equal((read.error as DatasetChangedError).message, `${file}:${middle}: the file changed on disk since it was read; reopen it to see the current rows.`);
      assert.ok(read.ids.length <= 40_000 && read.ids.length > 20_000, `${read.ids.length} rows read before it: those of the blocks before`);
      assert.equal(read.ids.at(-1), `r${read.ids.length - 1 + (read.ids.length > 20_000 ? 2 : 0)}`, 'in order, none skipped');
      fs.writeFileSync(file, `${lines.join('\n')}\n`);

      // The first and the last row.
      for (const line of [rowLines[0], rowLines.at(-1)!]) {
        dataset = await open();
        changeLine(file, lines, line, (t) => t.replace('"r', '"R'));
        read = await readAll(dataset);
        assert.equal((read.error as DatasetChangedError).line, line, `row on line ${line}`);
        fs.writeFileSync(file, `${lines.join('\n')}\n`);
      }

      // A bad line changed (no row): every row still read, as before.
      dataset = await open();
      changeLine(file, lines, 20_001, (t) => t.replace('broken', 'BROKEN'));
      read = await readAll(dataset);
      assert.equal(read.error, undefined);
      assert.deepEqual(read.ids, unchanged.ids);
      fs.writeFileSync(file, `${lines.join('\n')}\n`);

      // The file cut in the middle: the first row past its end is the one named.
      dataset = await open();
      const cutAt = lines.slice(0, rowLines[42_000] - 1).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0) + 10;
      fs.truncateSync(file, cutAt);
      read = await readAll(dataset);
      assert.equal((read.error as DatasetChangedError).line, rowLines[42_000]);
      fs.writeFileSync(file, `${lines.join('\n')}\n`);

      // Lines appended after the index: the rows indexed read as they were.
      dataset = await open();
      fs.appendFileSync(file, `${JSON.stringify({ id: 'later', rationale: 'x' })}\n`);
      read = await readAll(dataset);
      assert.equal(read.error, undefined);
      assert.deepEqual(read.ids, unchanged.ids);
    });
  }
});
