import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { appendRecords, readSidecar, SidecarAppender } from '../../src/core/store/sidecar';

const sidecarModule = path.resolve(__dirname, '../../src/core/store/sidecar.js');

async function tempDir(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-sidecar-'));
}

/** Runs a separate node process that appends `count` large records tagged `writer` (with appendRecords, or a held-open SidecarAppender). */
function appenderProcess(file: string, writer: string, count: number, size: number, held = false): Promise<void> {
  const w = JSON.stringify(writer);
  const script = `
    const { appendRecords, SidecarAppender } = require(${JSON.stringify(sidecarModule)});
    const appender = new SidecarAppender(${JSON.stringify(file)});
    (async () => {
      for (let i = 0; i < ${count}; i++) {
        const pad = ${w}.repeat(${size});
        const records = [{ writer: ${w}, i, pad }, { writer: ${w}, i: -1 - i, pad }];
        if (${held}) { appender.append(records); await new Promise((r) => setImmediate(r)); }
        else await appendRecords(${JSON.stringify(file)}, records);
      }
      appender.close();
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`appender ${writer} exited ${code}`))));
  });
}

describe('sidecar (append-only JSONL)', () => {
  it('reads a sidecar larger than its read block whole: lines across blocks, multi-byte text at the seams, CRLF, blank and corrupt lines, a cut-off tail; a read from an offset goes on from there', async () => {
    const file = path.join(await tempDir(), 'data.pisar-results.jsonl');
    const lines: string[] = [];
    const expected: unknown[] = [];
    // ~20 MB: more than two 8 MiB blocks; line lengths vary so the seams fall inside lines and inside characters.
    for (let i = 0, length = 0; length < 20e6; i++) {
      if (i % 9973 === 5) lines.push('');
      if (i % 15013 === 7) lines.push('{"cut": tru');
      const record = { i, text: `é€😀 ${'x'.repeat(i % 997)} 東京 ${i}` };
      lines.push(JSON.stringify(record) + (i % 7 === 0 ? '\r' : ''));
      length += lines.at(-1)!.length;
      expected.push(record);
    }
    await fsp.writeFile(file, `${lines.join('\n')}\n{"i": "cut off mid-wr`);
    const read = await readSidecar(file, { repair: false });
    assert.deepEqual(read.records, expected);
    const corrupt = lines.flatMap((l, k) => (l.startsWith('{"cut"') ? [k + 1] : []));
    assert.deepEqual(read.problems.map((p) => [p.kind, p.line]), [...corrupt.map((l) => ['corrupt-line', l]), ['truncated-tail', lines.length + 1]]);
    assert.equal(read.lines, lines.length);
    assert.equal(read.end, Buffer.byteLength(`${lines.join('\n')}\n`));
    // Reading on from the middle of the file numbers its lines on and yields the records after that offset.
    const half = Math.floor(lines.length / 2);
    const offset = Buffer.byteLength(`${lines.slice(0, half).join('\n')}\n`);
    const later = await readSidecar(file, { repair: false, from: offset, firstLine: half });
    assert.deepEqual(later.records, expected.slice(expected.length - (lines.slice(half).filter((l) => l.startsWith('{"i"')).length)));
    assert.equal(later.end, read.end);
    assert.equal(later.lines, lines.length);
  });

  it('appends records as lines and reads them back in order', async () => {
    const file = path.join(await tempDir(), 'data.pisar-results.jsonl');
    await appendRecords(file, [{ a: 1 }, { a: 2, text: 'line\nbreak' }]);
    await appendRecords(file, [{ a: 3 }]);
    const text = await fsp.readFile(file, 'utf8');
    assert.equal(text.split('\n').length, 4, 'three lines and a final newline');
    const { records, problems } = await readSidecar(file);
    assert.deepEqual(records, [{ a: 1 }, { a: 2, text: 'line\nbreak' }, { a: 3 }]);
    assert.deepEqual(problems, []);
  });

  it('treats a missing file as empty', async () => {
    const { records, problems } = await readSidecar(path.join(await tempDir(), 'none.jsonl'));
    assert.deepEqual(records, []);
    assert.deepEqual(problems, []);
  });

  it('two processes appending at once (one-shot and held-open writers) never interleave partial lines', async function () {
    this.timeout(60_000);
    const file = path.join(await tempDir(), 'data.pisar-results.jsonl');
    // 200 KB lines: far larger than a page or pipe buffer, so split writes would interleave.
    const count = 60;
    const size = 200_000;
    await Promise.all([appenderProcess(file, 'A', count, size), appenderProcess(file, 'B', count, size, true)]);
    const { records, problems } = await readSidecar<{ writer: string; i: number; pad: string }>(file, { repair: false });
    assert.deepEqual(problems, [], 'every line parses');
    assert.equal(records.length, count * 2 * 2);
    for (const writer of ['A', 'B']) {
      const mine = records.filter((r) => r.writer === writer);
      assert.equal(mine.length, count * 2);
      assert.ok(mine.every((r) => r.pad === writer.repeat(size)), `no foreign bytes inside ${writer}'s lines`);
      // Each writer's own lines stay in the order it wrote them.
      assert.deepEqual(mine.filter((r) => r.i >= 0).map((r) => r.i), Array.from({ length: count }, (_, i) => i));
    }
  });

  it('skips and reports a corrupt line, keeping the lines around it', async () => {
    const file = path.join(await tempDir(), 'data.pisar-annotations.jsonl');
    await fsp.writeFile(file, '{"a":1}\n{"a":2,,}\n\n{"a":3}\n');
    const before = await fsp.readFile(file, 'utf8');
    const { records, problems } = await readSidecar(file);
    assert.deepEqual(records, [{ a: 1 }, { a: 3 }]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].file, file);
    assert.equal(problems[0].line, 2);
    assert.equal(problems[0].kind, 'corrupt-line');
    assert.match(problems[0].reason, /line 2 is not valid JSON/);
    assert.match(problems[0].fix, /line 2/);
    assert.equal(await fsp.readFile(file, 'utf8'), before, 'a corrupt middle line is reported, not rewritten');
  });

  it('reports records that fail validation', async () => {
    const file = path.join(await tempDir(), 's.jsonl');
    await fsp.writeFile(file, '{"rowId":"r1"}\n[1,2]\n');
    const { records, problems } = await readSidecar(file, {
      validate: (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? undefined : 'expected an object'),
    });
    assert.deepEqual(records, [{ rowId: 'r1' }]);
    assert.equal(problems[0].kind, 'invalid-record');
    assert.equal(problems[0].line, 2);
    assert.match(problems[0].reason, /expected an object/);
  });

  it('detects, reports and repairs a cut-off last line without losing earlier lines', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'data.pisar-results.jsonl');
    await appendRecords(file, [{ n: 1 }, { n: 2 }]);
    const good = await fsp.readFile(file, 'utf8');
    await fsp.appendFile(file, '{"n":3,"output":"half a rec'); // power loss mid-write
    const { records, problems, repairedTo } = await readSidecar(file);
    assert.deepEqual(records, [{ n: 1 }, { n: 2 }]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].kind, 'truncated-tail');
    assert.equal(problems[0].line, 3);
    assert.match(problems[0].fix, /Repaired/);
    assert.equal(await fsp.readFile(file, 'utf8'), good, 'file cut back to the last complete line');
    assert.ok(repairedTo && repairedTo.startsWith(file + '.corrupt-'));
    assert.equal(await fsp.readFile(repairedTo, 'utf8'), '{"n":3,"output":"half a rec', 'the cut-off bytes are kept');
    // Appending after the repair yields a clean file.
    await appendRecords(file, [{ n: 3 }]);
    const again = await readSidecar(file);
    assert.deepEqual(again.records, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    assert.deepEqual(again.problems, []);
  });

  it('with repair: false reports the cut-off line and leaves the file alone', async () => {
    const file = path.join(await tempDir(), 's.jsonl');
    await fsp.writeFile(file, '{"n":1}\n{"n":');
    const { records, problems } = await readSidecar(file, { repair: false });
    assert.deepEqual(records, [{ n: 1 }]);
    assert.equal(problems[0].kind, 'truncated-tail');
    assert.equal(await fsp.readFile(file, 'utf8'), '{"n":1}\n{"n":');
  });

  it('an append after a cut-off tail starts a fresh line, so the new record survives', async () => {
    const file = path.join(await tempDir(), 's.jsonl');
    await fsp.writeFile(file, '{"n":1}\n{"n":2,"x":"cut');
    await appendRecords(file, [{ n: 3 }]);
    const { records, problems } = await readSidecar(file, { repair: false });
    assert.deepEqual(records, [{ n: 1 }, { n: 3 }]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].line, 2);
    assert.equal(problems[0].kind, 'corrupt-line');
  });

  it('keeps a whole JSON last line that merely lacks its newline', async () => {
    const file = path.join(await tempDir(), 's.jsonl');
    await fsp.writeFile(file, '{"n":1}\n{"n":2}');
    const { records, problems } = await readSidecar(file);
    assert.deepEqual(records, [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(problems, []);
    await appendRecords(file, [{ n: 3 }]);
    assert.deepEqual((await readSidecar(file)).records, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('a held-open appender follows the file when it is deleted or replaced, so no result vanishes', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'data.pisar-results.jsonl');
    const appender = new SidecarAppender(file);
    try {
      appender.append([{ n: 1 }]);
      await fsp.unlink(file); // the user clears the results while a run is writing
      appender.append([{ n: 2 }]);
      assert.deepEqual((await readSidecar(file)).records, [{ n: 2 }]);
      await fsp.writeFile(path.join(dir, 'other'), '{"n":0}\n');
      await fsp.rename(path.join(dir, 'other'), file);
      appender.append([{ n: 3 }]);
      assert.deepEqual((await readSidecar(file)).records, [{ n: 0 }, { n: 3 }]);
      await fsp.appendFile(file, '{"n":4,"cut');
      appender.append([{ n: 5 }]);
      const { records, problems } = await readSidecar(file, { repair: false });
      assert.deepEqual(records, [{ n: 0 }, { n: 3 }, { n: 5 }]);
      assert.equal(problems[0].kind, 'corrupt-line');
    } finally {
      appender.close();
    }
  });
});
