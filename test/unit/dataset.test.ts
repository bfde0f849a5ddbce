import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { DatasetChangedError, DatasetReadError } from '../../src/core/dataset/errors';
import { datasetStem, isDatasetFileName, isSidecarFile } from '../../src/core/store/sidecarNames';
import type { Finding } from '../../src/core/dataset/types';
import { jsonl, makeTempDir, writeFixture } from '../support/files';

function findingsAt(findings: readonly Finding[]): [number, string, string][] {
  return findings.map((f) => [f.line, f.severity, f.code]);
}

const row = (id: string, extra: Record<string, unknown> = {}) => ({ id, input: `input of ${id}`, rationale: `because of ${id}`, ...extra });

describe('Dataset reader', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.cleanup());

  it('reads a BOM, CRLF endings and blank lines, keeping every row and true line numbers', async () => {
    const text = '\ufeff' + [JSON.stringify(row('a')), '', JSON.stringify(row('b')), '   ', JSON.stringify(row('c'))].join('\r\n') + '\r\n';
    const file = writeFixture(tmp.dir, 'bom-crlf.jsonl', text);
    const dataset = await Dataset.open(file);
    assert.equal(dataset.rowCount, 3);
    assert.deepEqual(dataset.rowIds(), ['a', 'b', 'c']);
    assert.deepEqual([0, 1, 2].map((i) => dataset.rowLine(i)), [1, 3, 5]);
    assert.deepEqual(findingsAt(dataset.findings), [[1, 'info', 'bom']]);
    const first = await dataset.getRow(0);
    assert.equal(first.reference, 'because of a');
    const last = await dataset.getRow(2);
    assert.equal(last.input, 'input of c', 'no stray CR in the last row');
    await dataset.close();
  });

  it('reports each bad line with its line number, what is wrong and the fix, and keeps every good row', async () => {
    const lines = [
      JSON.stringify(row('r1')), // 1
      '{"id": "r2", "input": "x", "rationale": ', // 2 truncated
      '[1, 2, 3]', // 3 not an object
      JSON.stringify({ id: 'r4', input: 'no reference here' }), // 4
      JSON.stringify(row('r1')), // 5 duplicate of line 1
      '"just a string"', // 6
      JSON.stringify(row('r7')), // 7
    ];
    const file = writeFixture(tmp.dir, 'bad.jsonl', jsonl(lines));
    const dataset = await Dataset.open(file);
    assert.deepEqual(findingsAt(dataset.findings), [
      [2, 'error', 'invalid-json'],
      [3, 'error', 'not-an-object'],
      [4, 'warning', 'no-reference'],
      [5, 'warning', 'duplicate-id'],
      [6, 'error', 'not-an-object'],
    ]);
    for (const finding of dataset.findings) {
      assert.equal(finding.file, file);
      assert.ok(finding.message.length > 10 && finding.fix.length > 10, `finding at ${finding.line} explains itself`);
    }
    assert.match(dataset.findings[3].message, /already used on line 1/);
    assert.deepEqual(dataset.rowIds(), ['r1', 'r4', 'r1#L5', 'r7']);
    assert.equal(dataset.nonBlankLineCount, 7);
    const noReference = await dataset.getRow(1);
    assert.equal(noReference.reference, undefined);
    assert.equal(noReference.input, 'no reference here');
    const duplicate = await dataset.getRow(2);
    assert.equal(duplicate.rawId, 'r1');
    assert.equal(duplicate.line, 5);
    await dataset.close();
  });

  it('keeps a row with invalid UTF-8, reporting where the bad byte is', async () => {
    const good = Buffer.from(JSON.stringify(row('ok')) + '\n');
    const bad = Buffer.concat([Buffer.from('{"id": "broken", "input": "caf'), Buffer.from([0xe9]), Buffer.from('", "rationale": "r"}\n')]);
    const file = writeFixture(tmp.dir, 'utf8.jsonl', Buffer.concat([good, bad, good]));
    const dataset = await Dataset.open(file);
    assert.deepEqual(findingsAt(dataset.findings), [
      [2, 'warning', 'invalid-utf8'],
      [3, 'warning', 'duplicate-id'],
    ]);
    assert.match(dataset.findings[0].message, /byte 31 of the line/);
    const broken = await dataset.getRow(1);
    assert.equal(broken.input, 'caf\ufffd');
    await dataset.close();
  });

  it('tells every kind of invalid UTF-8 apart from a replacement character written as valid UTF-8', async () => {
    const kinds = ['c0af', 'eda080', 'e282', 'f888808080', 'f4908080', '80', 'ff', 'e0808f'];
    const lines = [
      Buffer.from(JSON.stringify(row('written-fffd', { input: 'a \ufffd b' }))),
      ...kinds.map((hex, i) => Buffer.concat([Buffer.from(`{"id": "bad-${i}", "input": "x`), Buffer.from(hex, 'hex'), Buffer.from('", "rationale": "r"}')])),
    ];
    const file = writeFixture(tmp.dir, 'utf8-kinds.jsonl', Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
    const dataset = await Dataset.open(file);
    assert.equal(dataset.rowCount, 1 + kinds.length);
    assert.deepEqual(dataset.findings.map((f) => [f.line, f.code]), kinds.map((_, i) => [i + 2, 'invalid-utf8']));
    await dataset.close();
  });

  it('reads a 10 MB line without trouble, and skips a line over the configured limit with a finding', async () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const file = writeFixture(tmp.dir, 'huge.jsonl', jsonl([row('before'), row('huge', { input: huge }), row('after')]));
    const dataset = await Dataset.open(file);
    assert.equal(dataset.rowCount, 3);
    assert.deepEqual(dataset.findings, []);
    assert.equal((await dataset.getRow(1)).input.length, huge.length);
    assert.equal((await dataset.getRow(2)).id, 'after');
    await dataset.close();

    const limited = await Dataset.open(file, { maxLineBytes: 1024 * 1024 });
    assert.deepEqual(findingsAt(limited.findings), [[2, 'error', 'line-too-long']]);
    assert.deepEqual(limited.rowIds(), ['before', 'after']);
    assert.equal(limited.rowLine(1), 3);
    assert.equal((await limited.getRow(1)).reference, 'because of after');
    await limited.close();
  });

  it('refuses a row nested too deeply to handle, and keeps the rows around it', async () => {
    const deep = `{"id": "deep", "input": ${'['.repeat(100_000)}${']'.repeat(100_000)}, "rationale": "r"}`;
    const file = writeFixture(tmp.dir, 'deep.jsonl', jsonl([row('a'), deep, row('b', { input: { nested: { fine: [1, [2, [3]]] } } })]));
    const dataset = await Dataset.open(file);
    assert.deepEqual(findingsAt(dataset.findings), [[2, 'error', 'too-deep']]);
    assert.deepEqual(dataset.rowIds(), ['a', 'b']);
    assert.equal((await dataset.getRow(1)).input, '{"nested":{"fine":[1,[2,[3]]]}}');
    await dataset.close();
  });

  it('reads a last line that has no newline', async () => {
    const file = writeFixture(tmp.dir, 'no-eol.jsonl', `${JSON.stringify(row('a'))}\n${JSON.stringify(row('b'))}`);
    const dataset = await Dataset.open(file);
    assert.deepEqual(dataset.rowIds(), ['a', 'b']);
    assert.equal(dataset.lineCount, 2);
    assert.equal((await dataset.getRow(1)).reference, 'because of b');
    await dataset.close();
  });

  it('detects the fields of other PiSAR shapes: prompt/reference, chat messages, predictions, images', async () => {
    const file = writeFixture(tmp.dir, 'shapes.jsonl', jsonl([
      { id: 1, prompt: 'Why did the driver brake?', reference: 'A child ran out.', predictions: { m1: 'A kid appeared.', m2: { text: 'Red light.' } } },
      { id: 2, messages: [{ role: 'system', content: 'Explain.' }, { role: 'user', content: [{ type: 'text', text: 'Look' }, { type: 'image_url', image_url: { url: 'https://example.org/a.png' } }] }], gold_rationale: 'Because.' },
      { id: 3, prompt: 'p', reference: 'r', image: 'images/cat.png' },
      { id: 4, prompt: 'p', reference: 'r', images: ['data:image/png;base64,AAAA', 'https://example.org/b.jpg'] },
    ]));
    const dataset = await Dataset.open(file);
    assert.deepEqual(dataset.findings, []);
    assert.deepEqual(dataset.mapping.fields, { id: 'id', input: 'prompt', image: 'image', reference: 'reference', outputs: 'predictions' });
    assert.deepEqual(dataset.modelNames, ['m1', 'm2']);
    const [r1, r2, r3, r4] = [await dataset.getRow(0), await dataset.getRow(1), await dataset.getRow(2), await dataset.getRow(3)];
    assert.equal(r1.id, '1');
    assert.deepEqual({ ...r1.outputs }, { m1: 'A kid appeared.', m2: 'Red light.' }); // outputs has no prototype: model names are data
    assert.equal(r2.reference, 'Because.', 'falls back to another reference key for rows that lack the majority key');
    // the image part stays where it stands in the message (its text as content, its parts in order)
    assert.deepEqual(r2.messages, [{ role: 'system', content: 'Explain.' }, { role: 'user', content: 'Look', parts: [{ text: 'Look' }, { image: 0 }] }]);
    assert.equal(r2.input, 'system: Explain.\nuser: Look');
    assert.deepEqual(r2.images, [{ kind: 'url', value: 'https://example.org/a.png' }]);
    assert.deepEqual(r3.images, [{ kind: 'path', value: 'images/cat.png' }]);
    assert.deepEqual(r4.images.map((i) => i.kind), ['data', 'url']);
    await dataset.close();
  });

  it('uses a configured field mapping over detection, and says so', async () => {
    const file = writeFixture(tmp.dir, 'mapped.jsonl', jsonl([
      { key: 'k1', text: 'in', rationale: 'detected would pick this', meta: { gold: 'configured gold' } },
    ]));
    const dataset = await Dataset.open(file, { mapping: { id: 'key', input: 'text', reference: 'meta.gold' } });
    assert.deepEqual(dataset.mapping.source, { id: 'configured', input: 'configured', image: 'detected', reference: 'configured', outputs: 'detected' });
    const r = await dataset.getRow(0);
    assert.equal(r.id, 'k1');
    assert.equal(r.input, 'in');
    assert.equal(r.reference, 'configured gold');
    await dataset.close();

    const missing = await Dataset.open(file, { mapping: { input: 'text', reference: 'nope' } });
    assert.deepEqual(findingsAt(missing.findings), [[1, 'warning', 'no-reference']]);
    assert.match(missing.findings[0].message, /"nope" \(from the field mapping\)/);
    await missing.close();
  });

  it('refuses image paths that leave the dataset folder, with a finding', async () => {
    const file = writeFixture(tmp.dir, 'img.jsonl', jsonl([
      row('up', { image: '../../etc/passwd' }),
      row('abs', { image: '/etc/passwd' }),
      row('ok', { image: 'pics/a.png' }),
    ]));
    const dataset = await Dataset.open(file);
    assert.deepEqual(findingsAt(dataset.findings), [[1, 'warning', 'bad-image'], [2, 'warning', 'bad-image']]);
    assert.match(dataset.findings[0].message, /outside the dataset's folder/);
    assert.match(dataset.findings[1].message, /absolute/);
    assert.equal(dataset.rowCount, 3, 'the rows stay usable');
    await dataset.close();
  });

  it('parses rows lazily and notices when the file changed underneath', async () => {
    const file = writeFixture(tmp.dir, 'lazy.jsonl', jsonl([row('a'), row('b')]));
    const dataset = await Dataset.open(file);
    fs.writeFileSync(file, jsonl([row('a'), row('B-edited')]));
    assert.equal((await dataset.getRow(0)).id, 'a');
    await assert.rejects(dataset.getRow(1), DatasetChangedError);
    await dataset.close();
  });

  it('gives rows a content hash that changes when the row is edited, and finds rows by id and line', async () => {
    const file = writeFixture(tmp.dir, 'h.jsonl', jsonl([row('a'), '', row('b')]));
    const before = await Dataset.open(file);
    const edited = Dataset.fromText(file, jsonl([row('a'), '', row('b', { rationale: 'changed' })]));
    assert.equal(before.rowHash(0), edited.rowHash(0));
    assert.notEqual(before.rowHash(1), edited.rowHash(1));
    assert.equal(edited.indexOfId('b'), 1);
    assert.equal(edited.indexAtLine(3), 1);
    assert.equal(edited.indexAtLine(2), undefined);
    assert.equal((await edited.getRow(1)).reference, 'changed');
    await before.close();
  });

  it('indexes an editor buffer the same way as the file', async () => {
    const text = jsonl([row('a'), 'not json', row('b')]);
    const file = writeFixture(tmp.dir, 'same.jsonl', text);
    const fromFile = await Dataset.open(file);
    const fromText = Dataset.fromText(file, text);
    assert.deepEqual(fromText.rowIds(), fromFile.rowIds());
    assert.deepEqual(fromText.findings, fromFile.findings);
    assert.deepEqual(await fromText.getRow(1), await fromFile.getRow(1));
    await fromFile.close();
  });

  it('fails to open a missing file or a directory with a clear error', async () => {
    await assert.rejects(Dataset.open(path.join(tmp.dir, 'missing.jsonl')), (error: unknown) => error instanceof DatasetReadError && /no such file/.test(error.message));
    await assert.rejects(Dataset.open(tmp.dir), (error: unknown) => error instanceof DatasetReadError && /is a directory/.test(error.message));
  });

  it('tells sidecars from datasets', () => {
    assert.equal(isSidecarFile('/d/data.pisar-results.jsonl'), true);
    assert.equal(isSidecarFile('/d/data.pisar-annotations.jsonl'), true);
    assert.equal(isSidecarFile('/d/data.jsonl'), false);
  });

  it('has one rule for a dataset file name: the names the reader opens, and the stem files made from it take', () => {
    for (const name of ['a.jsonl', 'a.ndjson', 'a.json', 'a.txt', 'a.jsonl.gz', 'A.JSONL']) assert.equal(isDatasetFileName(`/d/${name}`), true, name);
    for (const name of ['a.csv', 'a.jsonl.bak', 'jsonl']) assert.equal(isDatasetFileName(`/d/${name}`), false, name);
    assert.deepEqual(['/d/data.jsonl', '/d/data.ndjson', '/d/data.jsonl.gz', '/d/data.txt', '/d/data.v2.json'].map(datasetStem), ['data', 'data', 'data', 'data', 'data.v2']);
  });
});

describe('dataset: opened without row hashes (inspect)', () => {
  it('indexes and reads the same rows, with the same findings, without hashing them', async () => {
    const tmp = makeTempDir('pisar-nohash-');
    try {
      const file = path.join(tmp.dir, 'd.jsonl');
      fs.writeFileSync(file, '{"id":"a","input":"q","rationale":"r"}\nnot json\n{"id":"b","input":"q2"}\n');
      const hashed = await Dataset.open(file);
      const bare = await Dataset.open(file, { rowHashes: false });
      assert.deepEqual(bare.rowIds(), hashed.rowIds());
      assert.deepEqual(bare.findings.map((f) => [f.line, f.code]), hashed.findings.map((f) => [f.line, f.code]));
      assert.equal(bare.rowHash(0), '', 'no hash computed');
      assert.notEqual(hashed.rowHash(0), '');
      assert.equal((await bare.getRow(1)).id, 'b');
      await bare.close();
      await hashed.close();
    } finally {
      tmp.cleanup();
    }
  });
});
