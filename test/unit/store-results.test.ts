import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ResultsStore, resultsFileFor, type StoredResult } from '../../src/core/store/results';
import { makeTempDir } from '../support/files';
import { isScoredHere } from '../../src/core/store/provenance';

const result = (rowId: string, model: string, extra: Partial<StoredResult> = {}): StoredResult => ({
  rowId, rowHash: 'h1', model, source: 'called', output: `out ${rowId}`, at: new Date().toISOString(), ...extra,
});

describe('results store', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('pisar-results-')));
  afterEach(() => tmp.cleanup());

  it('puts the sidecar beside the dataset', () => {
    assert.equal(resultsFileFor('/d/data.jsonl'), '/d/data.pisar-results.jsonl');
    // Only .jsonl loses its extension, so set.v2.ndjson and set.v2.jsonl never share a sidecar.
    assert.equal(resultsFileFor('/d/set.v2.ndjson'), '/d/set.v2.ndjson.pisar-results.jsonl');
  });

  it('keeps the latest result per row and model, across reopen', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    const store = await ResultsStore.open(data);
    await store.append([result('r1', 'a', { error: { kind: 'timeout', message: 't' }, output: undefined }), result('r1', 'b')]);
    await store.append([result('r1', 'a', { score: 0.8, scorer: 'k' })]);
    assert.equal(store.latest('r1', 'a')?.score, 0.8);
    assert.deepEqual(store.forRow('r1').map((r) => r.model).sort(), ['a', 'b']);
    assert.deepEqual(store.models(), ['a', 'b']);
    const reopened = await ResultsStore.open(data);
    assert.equal(reopened.latest('r1', 'a')?.score, 0.8);
    assert.equal(reopened.recordCount, 3);
    assert.equal(reopened.isStale(reopened.latest('r1', 'b')!, 'h1'), false);
    assert.equal(reopened.isStale(reopened.latest('r1', 'b')!, 'h2'), true);
  });

  it('keeps each model\'s latest result of a row in first-seen order, with few models and with many (small arrays, then a map)', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    const names = Array.from({ length: 40 }, (_, i) => `m${i}`);
    const store = await ResultsStore.open(data);
    await store.append(names.map((m) => result('many', m, { score: 0.1 })));
    await store.append([result('few', 'm2', { score: 0.1 }), result('few', 'm1', { score: 0.1 })]);
    // Newer results of the first and the last model: each takes its older one's place in the order.
    await store.append([result('many', 'm39', { score: 0.5 }), result('many', 'm0', { score: 0.6 }), result('few', 'm2', { score: 0.7 })]);
    for (const opened of [store, await ResultsStore.open(data)]) {
      assert.deepEqual(opened.forRow('many').map((r) => r.model), names);
      assert.deepEqual([opened.latest('many', 'm0')?.score, opened.latest('many', 'm1')?.score, opened.latest('many', 'm39')?.score], [0.6, 0.1, 0.5]);
      assert.deepEqual(opened.forRow('few').map((r) => [r.model, r.score]), [['m2', 0.7], ['m1', 0.1]]);
      assert.equal(opened.latest('few', 'm39'), undefined);
      assert.equal(opened.latest('many', 'm40'), undefined);
      assert.equal([...opened.latestResults()].length, 42);
    }
  });

  it('checks a line\'s MAC once and keeps no MAC with a verified result; a line with a wrong MAC reads from the file', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    const writer = await ResultsStore.open(data);
    await writer.append([result('r1', 'a', { score: 0.5, scorer: 'k' })]);
    const line = (await fsp.readFile(resultsFileFor(data), 'utf8')).trim();
    const forged = JSON.stringify({ ...JSON.parse(line), rowId: 'r2', mac: 'f'.repeat(32) });
    await fsp.appendFile(resultsFileFor(data), `${forged}\n`);
    const store = await ResultsStore.open(data);
    const genuine = store.latest('r1', 'a')!;
    assert.equal(isScoredHere(genuine), true);
    assert.equal(genuine.mac, undefined);
    assert.deepEqual(Object.keys(genuine), Object.keys(JSON.parse(line)).filter((k) => k !== 'mac'));
    assert.equal(isScoredHere(store.latest('r2', 'a')!), false);
  });

  it('skips invalid and corrupt lines with file, line, reason and fix, keeping the rest', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    const file = resultsFileFor(data);
    await fsp.writeFile(file, [JSON.stringify(result('r1', 'a')), '{"rowId":"r2"}', 'garbage', JSON.stringify(result('r3', 'a'))].join('\n') + '\n');
    const store = await ResultsStore.open(data);
    assert.deepEqual([...store.latestResults()].map((r) => r.rowId), ['r1', 'r3']);
    assert.deepEqual(store.problems.map((p) => [p.line, p.kind]), [[2, 'invalid-record'], [3, 'corrupt-line']]);
    assert.ok(store.problems.every((p) => p.file === file && p.fix.length > 0));
  });

  it('refuses to store a result that would not read back', async () => {
    const store = await ResultsStore.open(path.join(tmp.dir, 'data.jsonl'));
    await assert.rejects(store.append([{ ...result('r1', 'a'), output: undefined }]), /needs "output" or "error"/);
  });

  it('sees what another writer appended after reload', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    const editor = await ResultsStore.open(data);
    const cli = await ResultsStore.open(data);
    await cli.append([result('r9', 'z')]);
    assert.equal(editor.latest('r9', 'z'), undefined);
    await editor.reload();
    assert.equal(editor.latest('r9', 'z')?.output, 'out r9');
  });

  it('refresh reads only what others appended, by byte offset, and recognises its own appends', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    const store = await ResultsStore.open(data);
    const announced: { origin: string; rowIds?: readonly string[]; n?: number; end?: number }[] = [];
    store.onDidChange((e) => announced.push({ origin: e.origin, rowIds: e.rowIds, n: e.records?.length, end: e.range?.end }));
    await store.append([result('r1', 'a'), result('r2', 'a')]);
    await store.append([result('r3', 'a')]);
    const size = (await fsp.stat(store.file)).size;
    assert.deepEqual(announced.map((a) => [a.origin, a.n, a.rowIds]), [['write', 2, ['r1', 'r2']], ['write', 1, ['r3']]]);
    assert.equal(announced[1].end, size);
    assert.equal(await store.refresh(), undefined, 'its own appends: nothing to read');
    assert.equal(announced.length, 2, 'and nothing announced twice');

    const other = await ResultsStore.open(data);
    await other.append([result('r4', 'a'), result('r1', 'a', { score: 0.5, scorer: 'k' })]);
    const change = await store.refresh();
    assert.equal(change?.whole, false, 'the tail only');
    assert.deepEqual(change?.records.map((r) => r.rowId), ['r4', 'r1']);
    assert.deepEqual(announced.slice(2).map((a) => [a.origin, a.rowIds]), [['file', ['r4', 'r1']]], 'another writer\'s lines are announced by row');
    assert.equal(store.latest('r1', 'a')?.score, 0.5);
    assert.equal(store.recordCount, 5);
    assert.equal(await store.refresh(), undefined);

    // Interleaved writers: our next append lands after theirs; the store still ends up right.
    await other.append([result('r5', 'a')]);
    await store.append([result('r6', 'a')]);
    await store.refresh();
    assert.deepEqual([...store.latestResults()].map((r) => r.rowId).sort(), ['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    assert.equal(store.recordCount, 7);

    // Rewritten shorter (results cleared): read whole.
    await fsp.writeFile(store.file, `${JSON.stringify(result('r9', 'b'))}\n`);
    const rewritten = await store.refresh();
    assert.equal(rewritten?.whole, true);
    assert.deepEqual([...store.latestResults()].map((r) => r.rowId), ['r9']);
  });
});
