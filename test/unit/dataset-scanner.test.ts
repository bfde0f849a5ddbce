import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { Indexer } from '../../src/core/dataset/indexer';
import type { FieldMapping, OpenDatasetOptions } from '../../src/core/dataset/types';
import { makeTempDir } from '../support/files';

/**
 * The index reads simple lines with a byte scanner (and knows rows by their shape) instead of JSON.parse. Whatever
 * the line, the dataset must be the one JSON.parse and the full checks give (scan: false): the same rows, lines,
 * ids, hashes, findings, fields and models. Lines are generated (every role, every kind of value) and hostile
 * (escapes, repeated keys, odd whitespace, bad numbers, control characters, bad UTF-8, deep nesting, cut lines),
 * and random bytes of them are changed.
 */

let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];

const KEYS = ['id', 'row_id', 'uid', 'sample_id', 'input', 'prompt', 'question', 'instruction', 'output', 'context', 'messages', 'conversations',
  'image', 'image_path', 'images', 'rationale', 'reference', 'explanation', 'target', 'outputs', 'predictions', 'label', 'meta', 'meta.id',
  '__proto__', 'constructor', 'toString', 'ïd', ''];

const TEXTS = ['', ' ', '   ', 'plain text', 'x', 'café ✓', '\u3000', '\u00a0\u2003', '日本語の文', 'has <image> in it', '<image>', 'a <img>pic.png</img> b',
  'line\nbreak', 'quote " and \\ slash', 'tab\there', '\u0000nul', 'lone \ud800 surrogate', '\u2028sep', 'data:image/png;base64,AAAA',
  'https://example.com/a.png', '../outside.png', '/etc/passwd', 'pics/a.png', '=HYPERLINK("x")', 'r1', 'line:3', 'r1#L2'];

function value(depth: number): unknown {
  const kind = Math.floor(rand() * (depth > 2 ? 6 : 10));
  switch (kind) {
    case 0:
    case 1:
    case 2:
      return pick(TEXTS);
    case 3:
      return pick([0, -0, 1, -7, 1.5, 1e21, 12345678901234567000, 3e-7]);
    case 4:
      return pick([true, false]);
    case 5:
      return null;
    case 6:
      return Array.from({ length: Math.floor(rand() * 3) }, () => value(depth + 1));
    case 7:
      return pick([
        [{ role: 'user', content: pick(TEXTS) }, { role: 'assistant', content: pick(TEXTS) }],
        [{ from: 'human', value: pick(TEXTS) }, { from: 'gpt', value: pick(TEXTS) }],
        [{ role: 'user', content: [{ type: 'text', text: pick(TEXTS) }, { type: 'image_url', image_url: { url: 'a.png' } }] }],
      ]);
    case 8:
      return pick([{ m1: pick(TEXTS), m2: pick(TEXTS) }, { ft: { text: pick(TEXTS) } }, { m: 3 }, { m: null }, {}, { bytes: 'iVBORw0KGgo=', path: 'x.png' }]);
    default: {
      const nested: Record<string, unknown> = {};
      for (let i = 0; i < 3; i++) nested[pick(KEYS)] = value(depth + 1);
      return nested;
    }
  }
}

function generatedRow(i: number): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  // most rows look like a dataset's (so shapes repeat); some are anything
  if (rand() < 0.6) {
    row[pick(['id', 'row_id', 'uid'])] = pick([`r${i}`, `r${i % 7}`, i, '', ' ', '12345678901234567891', null]);
    row[pick(['input', 'prompt', 'question'])] = pick(TEXTS);
    if (rand() < 0.8) row[pick(['rationale', 'reference', 'explanation'])] = pick(TEXTS);
    if (rand() < 0.3) row.outputs = value(3);
    if (rand() < 0.3) row.label = pick(TEXTS);
  }
  for (let k = Math.floor(rand() * 4); k > 0; k--) Object.defineProperty(row, pick(KEYS), { value: value(0), enumerable: true, configurable: true, writable: true });
  return row;
}

/** Ways to write a row other than JSON.stringify's, and broken lines. */
function hostile(row: Record<string, unknown>, i: number): string | Buffer {
  const text = JSON.stringify(row);
  const entries = Object.entries(row).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  switch (i % 30) {
    case 0: return text.replace(/":/g, '" :\t').replace(/,"/g, ' ,\r "');
    case 1: return text.replace(/"id"/, '"\\u0069d"');
    case 2: return `{${[...entries, ...entries.slice(0, 1)].join(',')}}`; // a key written twice
    case 3: return `{"id":"dup-${i}","meta":{"a":1,"a":2},"input":"x","rationale":"y"}`;
    case 4: return ` \t${text} \t\r`;
    case 5: return `\v${text}`;
    case 6: return `${text}\f`;
    case 7: return text.slice(0, Math.floor(text.length / 2));
    case 8: return `${text} x`;
    case 9: return `{"id": 01, "input": "x"}`;
    case 10: return `{"id": 1., "input": "x"}`;
    case 11: return `{"id": -, "input": "x"}`;
    case 12: return `{"id": NaN, "input": "x", "rationale": "y"}`;
    case 13: return `{"id": "a\tb", "input": "x"}`;
    case 14: return `{"id": "bad \\x escape", "input": "x"}`;
    case 15: return `{"id": "short \\u12", "input": "x"}`;
    case 16: return Buffer.concat([Buffer.from(`{"id":"utf-${i}","input":"caf`), Buffer.from([0xe9]), Buffer.from('","rationale":"r"}')]);
    case 17: return Buffer.concat([Buffer.from('{"i'), Buffer.from([0xff]), Buffer.from(`d":"k-${i}","i`), Buffer.from([0xfe]), Buffer.from('d":"k2","input":"x"}')]);
    case 18: return Buffer.concat([Buffer.from(`{"id":"over-${i}","input":"`), Buffer.from([0xc0, 0xaf]), Buffer.from('","rationale":"r"}')]);
    case 19: return `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`;
    case 20: return `{"id":"deep-${i}","input":"x","meta":${'['.repeat(70)}${']'.repeat(70)}}`;
    case 21: return `[${text}]`;
    case 22: return '"just a string"';
    case 23: return `{"id":"big-${i}","n":12345678901234567891,"input":"x","rationale":"y"}`;
    case 24: return `{"id":12345678901234567891${i},"input":"x","rationale":"y"}`;
    case 25: return `{"id":1e400,"input":"x","rationale":"y"}`;
    case 26: return `{"__proto__":{"id":"polluted"},"input":"x","rationale":"y"}`;
    case 27: return `{"id":"del-\u007f-${i}","input":"x\u007f","rationale":"y"}`;
    case 28: return `{"id":"empty-obj-${i}","meta":{},"list":[],"input":"x","rationale":"y","outputs":{"m":"o","n":{"text":"t"}}}`;
    default: return `{}`;
  }
}

/** Changes a few random bytes of a line: a byte replaced, inserted or removed. */
function mutated(line: Buffer): Buffer {
  const bytes = [...line];
  for (let n = 1 + Math.floor(rand() * 2); n > 0 && bytes.length > 0; n--) {
    const at = Math.floor(rand() * bytes.length);
    const byte = pick([0x22, 0x5c, 0x2c, 0x3a, 0x7b, 0x7d, 0x5b, 0x5d, 0x20, 0x09, 0x0d, 0x00, 0x3c, 0x30, 0x2d, 0x65, 0x80, 0xc3, 0xe2, Math.floor(rand() * 256)]);
    const how = rand();
    if (how < 0.4) bytes[at] = byte;
    else if (how < 0.8) bytes.splice(at, 0, byte);
    else bytes.splice(at, 1);
  }
  return Buffer.from(bytes.filter((b) => b !== 0x0a));
}

function datasetBytes(count: number): Buffer {
  // a head of plain rows: the reader refuses a file whose first bytes look binary
  const lines: Buffer[] = Array.from({ length: 20 }, (_, i) => Buffer.from(JSON.stringify({ id: `head-${i}`, input: 'x', rationale: 'y' })));
  for (let i = 0; i < count; i++) {
    const row = generatedRow(i);
    const r = rand();
    const line = r < 0.55 ? JSON.stringify(row) : r < 0.8 ? hostile(row, i) : mutated(Buffer.from(JSON.stringify(row)));
    lines.push(Buffer.isBuffer(line) ? line : Buffer.from(line));
    if (rand() < 0.02) lines.push(Buffer.from(''));
  }
  return Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));
}

async function facts(dataset: Dataset) {
  const rows = [];
  for (let i = 0; i < dataset.rowCount; i++) rows.push(await dataset.getRow(i));
  return { rows, findings: dataset.findings, models: dataset.modelNames, mapping: dataset.mapping, lines: dataset.lineCount, nonBlank: dataset.nonBlankLineCount };
}

const MAPPINGS: (FieldMapping | undefined)[] = [
  undefined,
  { id: 'meta.id' },
  { id: 'uid', input: 'question', reference: ['rationale', 'explanation'] },
  { image: 'meta.image', outputs: 'predictions' },
  { id: '__proto__' },
  { input: 'meta.id', reference: 'label' },
];

describe('Dataset reader: the byte scanner reads every line as JSON.parse does', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  before(() => (tmp = makeTempDir()));
  after(() => tmp.cleanup());

  MAPPINGS.forEach((mapping, m) => {
    it(`gives the dataset JSON.parse gives on generated, hostile and mutated lines (mapping ${JSON.stringify(mapping)})`, async () => {
      seed = 1000 + m;
      const file = path.join(tmp.dir, `mixed-${m}.jsonl`);
      fs.writeFileSync(file, Buffer.concat([Buffer.from('\ufeff'), datasetBytes(3000)]));
      const options: OpenDatasetOptions = { mapping, maxLineBytes: 4000 };
      const scanned = await Dataset.open(file, options);
      const parsed = await Dataset.open(file, { ...options, scan: false });
      const expected = await facts(parsed);
      assert.ok(expected.rows.length > 1000 && expected.findings.length > 300, 'the file has rows and bad lines');
      assert.deepEqual(await facts(scanned), expected);
      await scanned.close();
      await parsed.close();
    });
  });

  it('gives the same index whatever the chunks the bytes arrive in (lines cut between chunks)', () => {
    seed = 77;
    const bytes = datasetBytes(1500);
    const whole = new Indexer('/data/x.jsonl', { scan: false });
    whole.push(bytes);
    whole.end();
    for (const most of [1, 7, 200, 5000]) {
      const cut = new Indexer('/data/x.jsonl', {});
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(rand() * most);
        cut.push(bytes.subarray(at, at + size));
        at += size;
      }
      cut.end();
      for (const key of ['offsets', 'lengths', 'lines', 'ids', 'rawIds', 'findings', 'nonBlankLines', 'lineNumber'] as const) {
        assert.deepEqual(cut[key], whole[key], `${key} with chunks of up to ${most} bytes`);
      }
      assert.deepEqual([...cut.models], [...whole.models]);
      assert.deepEqual(cut.detector.counted().sort(), whole.detector.counted().sort());
    }
  });

  it('reads text four bytes at a time as byte by byte: every kind of byte at every place of a word, at every alignment', () => {
    // Each byte the text loop must stop at (or may pass), at each of the first 12 places of a text of 1 to 12 bytes
    // more, in a key and in a value, so it falls at every place of a 32-bit word and of the text's last word.
    const kinds: number[][] = [[0x01], [0x09], [0x1f], [0x0d], [0x22], [0x5c, 0x6e], [0x5c, 0x22], [0x5c, 0x78], [0x5c, 0x75, 0x30, 0x30, 0x34, 0x31],
      [0x7f], [0x80], [0xc3, 0xa9], [0xe2, 0x80, 0xa8], [0xf0, 0x9f, 0x98, 0x80], [0xff], [0x20], [0x21], [0x23], [0x5b], [0x5d], [0x7e], [0x3c], [0x00]];
    const lines: Buffer[] = [Buffer.from('{"id":"head","input":"x","rationale":"y"}')];
    let n = 0;
    for (const kind of kinds) {
      for (let at = 0; at < 12; at++) {
        for (let after = 0; after < 12; after += 1 + (at % 3)) {
          const text = Buffer.concat([Buffer.from('abcdefghijkl'.slice(0, at)), Buffer.from(kind), Buffer.from('mnopqrstuvwx'.slice(0, after))]);
          const key = n % 5 === 0;
          lines.push(Buffer.concat([Buffer.from(`{"id":"k${n++}","input":"why",`), key ? Buffer.concat([Buffer.from('"'), text, Buffer.from('":1,"rationale":"r"}')]) : Buffer.concat([Buffer.from('"rationale":"'), text, Buffer.from('"}')])]));
        }
      }
    }
    const bytes = Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));
    const whole = new Indexer('/data/x.jsonl', { scan: false });
    whole.push(bytes);
    whole.end();
    assert.ok(whole.findings.length > 200 && whole.ids.length > 1000, `good and bad lines: ${whole.findings.length} findings, ${whole.ids.length} rows`);
    for (let shift = 0; shift < 4; shift++) {
      // the same bytes from a buffer that starts `shift` bytes past a multiple of 4 in memory, whole and in chunks
      for (const chunk of [bytes.length, 4093]) {
        const scanned = new Indexer('/data/x.jsonl', {});
        const shifted = Buffer.concat([Buffer.alloc(shift), bytes]).subarray(shift);
        for (let at = 0; at < shifted.length; at += chunk) scanned.push(shifted.subarray(at, at + chunk));
        scanned.end();
        for (const key of ['offsets', 'lengths', 'lines', 'ids', 'rawIds', 'findings', 'nonBlankLines', 'lineNumber'] as const) {
          assert.deepEqual(scanned[key], whole[key], `${key}, buffer shifted by ${shift}, chunks of ${chunk}`);
        }
        assert.deepEqual(scanned.detector.counted().sort(), whole.detector.counted().sort());
      }
    }
  });

  it('finds an id written twice whichever way each was read (as bytes by its shape, or as a string)', () => {
    // The first row of a shape is read in full (its id kept as a string), the next ones by their shape (as bytes).
    // One file a pair, so the pair is the only id written twice.
    const first = '{"id":"s","input":"x","rationale":"y"}';
    const pairs: [string, string][] = [
      ['{"id":"a","input":"x","rationale":"y"}', '{"id":"a","input":"x","rationale":"y"}'], // a string, then bytes
      ['{"id":"b","input":"x","rationale":"y"}', '{"id":"b","input":"x <image>","rationale":"y"}'], // bytes, then a string ('<')
      ['{"id":7,"input":"x","rationale":"y"}', '{"id":"7","input":"x","rationale":"y"}'], // a number, then bytes
      ['{"id":"caf\\u00e9","input":"x","rationale":"y"}', '{"id":"café","input":"x","rationale":"y"}'], // not ASCII: strings
      ['{"id":"c","input":"x","rationale":"y"}', '{"id":"c","input":"x","rationale":"y"}'], // bytes, then bytes
    ];
    for (const [one, other] of pairs) {
      const bytes = Buffer.from(`${[first, one, '{"id":"t","input":"x","rationale":"y"}', other, '{"id":"c ","input":"x","rationale":"y"}'].join('\n')}\n`);
      const parsed = new Indexer('/data/x.jsonl', { scan: false });
      parsed.push(bytes);
      parsed.end();
      const scanned = new Indexer('/data/x.jsonl', {});
      scanned.push(bytes);
      scanned.end();
      assert.deepEqual(parsed.findings.filter((f) => f.code === 'duplicate-id').map((f) => f.line), [4], one);
      assert.deepEqual(scanned.findings, parsed.findings, one);
      assert.deepEqual(scanned.ids, parsed.ids, one);
      assert.deepEqual(scanned.rawIds, parsed.rawIds, one);
    }
  });

  it('reads simple rows without JSON.parse of their lines', async () => {
    const file = path.join(tmp.dir, 'simple.jsonl');
    const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ id: `r${i}`, input: `why ${i}?`, rationale: `because ${i}`, label: 'ok', score: i / 7, flag: i % 2 === 0 }));
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const parse = JSON.parse;
    let calls = 0;
    JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) => {
      calls++;
      return parse(text, reviver);
    }) as typeof JSON.parse;
    let dataset: Dataset;
    try {
      dataset = await Dataset.open(file, { rowHashes: false });
    } finally {
      JSON.parse = parse;
    }
    assert.equal(dataset.rowCount, 500);
    assert.equal(calls, 0, 'no line parsed');
    assert.deepEqual(dataset.findings, []);
    assert.equal((await dataset.getRow(499)).id, 'r499');
  });
});
