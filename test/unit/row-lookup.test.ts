import * as assert from 'node:assert/strict';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { RowIdTable } from '../../src/core/dataset/rowIds';
import { compareRuns } from '../../src/core/report/compare';
import { writeIndentedJson } from '../../src/cli/args';
import { AnnotationResolver } from '../../src/core/store/annotations';
import { summarize, summaryRowsOf } from '../../src/core/report/summary';
import type { StoredResult } from '../../src/core/store/results';
import { makeTempDir, writeFixture } from '../support/files';

/**
 * What a reader of a million results asks of the dataset and of the compared rows, answered without a string or an
 * object a row: a row's position by id, whether a stored row hash is the row's, and a compared row's JSON.
 */
describe('Row lookups without a string a row (issue 23.2)', () => {
  it('a row position by id is what a Map of the ids gives: every id, ids that are no row, equal ids (the last wins), ids that share a slot', () => {
    const ids = ['r0', 'r1', '', '__proto__', 'constructor', 'é', 'İstanbul', 'a\u0000b', '😀', 'r1 ', 'R1', 'dup', 'x', 'dup', ...Array.from({ length: 5000 }, (_, i) => `row-${i}`)];
    const table = new RowIdTable(ids);
    const map = new Map(ids.map((id, i) => [id, i]));
    for (const id of [...ids, 'r2', 'r', 'row-5000', 'row-', 'É', 'toString', 'hasOwnProperty', '\u0000', '😁']) assert.equal(table.get(id), map.get(id), JSON.stringify(id));
    assert.equal(table.get('dup'), 13, 'the last of equal ids, as a Map built from the pairs');
    assert.equal(new RowIdTable([]).get('r0'), undefined);
    assert.equal(table.get(5 as unknown as string), undefined, 'a value that is no string is no row id');
  });

  it("a stored row hash is the row's exactly when rowHash(index) equals it: case, length and every digit count", async () => {
    const dir = makeTempDir('pisar-row-lookup-');
    const file = writeFixture(dir.dir, 'data.jsonl', Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: `r${i}`, input: `q${i}`, rationale: `because ${i}` })).join('\n') + '\n');
    const dataset = await Dataset.open(file);
    const unhashed = await Dataset.open(file, { rowHashes: false });
    try {
      for (let i = 0; i < dataset.rowCount; i++) {
        const hash = dataset.rowHash(i);
        const other = dataset.rowHash((i + 1) % dataset.rowCount);
        const variants = [hash, other, hash.toUpperCase(), hash.slice(0, 15), `${hash}0`, '', ...Array.from({ length: 16 }, (_, k) => hash.slice(0, k) + (hash[k] === 'f' ? '0' : 'f') + hash.slice(k + 1))];
        for (const v of variants) assert.equal(dataset.hasRowHash(i, v), hash === v, `row ${i}: ${v} against ${hash}`);
        assert.equal(unhashed.hasRowHash(i, ''), true, 'an index without hashes reads every hash as ""');
        assert.equal(unhashed.hasRowHash(i, hash), false);
      }
      assert.throws(() => dataset.hasRowHash(dataset.rowCount, ''), RangeError);
    } finally {
      await dataset.close();
      await unhashed.close();
      dir.cleanup();
    }
  });

  it('compared rows held as columns write each row as JSON.stringify writes it, at any depth', () => {
    const a = new Map<string, number>([['r"1', 0.5], ['é\u2028', -0.25], ['big', 1e-7], ['same', 0.3], ['\\', 0.123456789012345], ['only-a', 0.9]]);
    const b = new Map<string, number>([['r"1', 0.75], ['é\u2028', -1], ['big', 0.9999999999999999], ['same', 0.3], ['\\', 0.1], ['only-b', 0.2]]);
    const lineage = [
      new Map([['r"1', { output: 'x' }], ['é\u2028', { output: 'y', correction: 'c1' }], ['big', { output: 'z' }]]),
      new Map([['r"1', { output: 'x2' }], ['é\u2028', { output: 'y', correction: 'c2' }], ['big', { output: 'z2', correction: 'c' }]]),
    ] as const;
    for (const comparison of [compareRuns(a, b), compareRuns(a, b, { epsilon: 0, lineage })]) {
      assert.ok(comparison.rows.length >= 4);
      for (const indent of ['', '  ', '      ']) {
        for (let i = 0; i < comparison.rows.length; i++) {
          assert.equal(comparison.rows.json(i, indent), JSON.stringify(comparison.rows.at(i), null, 2).replace(/\n/g, `\n${indent}`));
        }
      }
      const document = { schema: 'x', nested: { comparison }, ...comparison };
      const pieces: string[] = [];
      writeIndentedJson(document, '', (text) => pieces.push(text));
      assert.equal(pieces.join(''), JSON.stringify(document, null, 2));
      assert.ok(comparison.rows.map((r) => r.cause).some((c) => c !== undefined) || comparison.lineage === undefined);
    }
  });

  it('the first row with a hash, as a map of every hash to its rows gives it; annotations placed by it as by that map; the summary without an object a row', async () => {
    const dir = makeTempDir('pisar-row-lookup-');
    // Lines written twice (the same hash: the first row wins), ids that moved, rows without an id.
    const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify({ id: `r${i % 390}`, input: `q${i % 390}`, rationale: `because ${i % 390}` }));
    lines.push('{"input":"no id","rationale":"a"}', '{"input":"no id","rationale":"a"}');
    const file = writeFixture(dir.dir, 'data.jsonl', lines.join('\n') + '\n');
    const dataset = await Dataset.open(file);
    const unhashed = await Dataset.open(file, { rowHashes: false });
    try {
      const byHash = new Map<string, number[]>();
      for (let i = 0; i < dataset.rowCount; i++) byHash.set(dataset.rowHash(i), [...(byHash.get(dataset.rowHash(i)) ?? []), i]);
      assert.ok([...byHash.values()].some((list) => list.length > 1), 'some hashes are two rows\'');
      for (const [hash, list] of byHash) {
        assert.equal(dataset.indexOfRowHash(hash), list[0], hash);
        for (const other of [hash.toUpperCase(), hash.slice(1), `${hash}0`, `${hash.slice(0, 15)}g`, `z${hash.slice(1)}`]) assert.equal(dataset.indexOfRowHash(other), byHash.get(other)?.[0], other);
      }
      assert.equal(dataset.indexOfRowHash('0000000000000000'), undefined);
      assert.equal(dataset.indexOfRowHash(''), undefined);
      assert.equal(unhashed.indexOfRowHash(''), 0, 'without hashes every row reads "": the first');
      assert.equal(unhashed.indexOfRowHash(dataset.rowHash(0)), undefined);

      // The resolver over the dataset against the resolver over plain lookups (a map of every hash).
      const plain = { rowCount: dataset.rowCount, rowIds: () => dataset.rowIds(), indexOfId: (id: string) => dataset.indexOfId(id), rowHash: (i: number) => dataset.rowHash(i) };
      const annotations = [
        ...Array.from({ length: dataset.rowCount }, (_, i) => ({ rowId: dataset.rowIds()[i], rowHash: dataset.rowHash(i) })),
        ...Array.from({ length: 50 }, (_, i) => ({ rowId: `r${i}`, rowHash: dataset.rowHash((i * 7 + 3) % dataset.rowCount) })),
        { rowId: 'gone', rowHash: dataset.rowHash(5) }, { rowId: 'gone', rowHash: 'ffffffffffffffff' }, { rowId: 'r1', rowHash: 'ffffffffffffffff' }, { rowId: 'r2', rowHash: dataset.rowHash(2).toUpperCase() },
      ];
      const fast = new AnnotationResolver(dataset);
      const slow = new AnnotationResolver(plain);
      for (const a of annotations) assert.deepEqual(fast.place(a), slow.place(a), JSON.stringify(a));

      // summarize over the index's rows against rows given as {id, hash} objects: stale, current and missing results.
      const results = new Map<string, StoredResult>();
      for (let i = 0; i < dataset.rowCount; i += 2) {
        const id = dataset.rowIds()[i];
        results.set(id, { rowId: id, rowHash: i % 6 === 0 ? '0123456789abcdef' : dataset.rowHash(i), model: 'm', source: 'called', output: `out ${i}`, score: (i % 10) / 10, at: '' });
      }
      const lookup = { latest: (id: string, model: string) => (model === 'm' ? results.get(id) : undefined), models: () => ['m'] };
      const objects = Array.from({ length: dataset.rowCount }, (_, i) => ({ id: dataset.rowIds()[i], hash: dataset.rowHash(i) }));
      const summary = summarize(summaryRowsOf(dataset), lookup, 0.5);
      assert.deepEqual(summary, summarize(objects, lookup, 0.5));
      assert.ok(summary.models[0].stale > 0 && summary.models[0].scored > 0 && summary.models[0].missing > 0);
      assert.deepEqual(summarize(summaryRowsOf(plain), lookup, 0.5), summary, 'a lookup without hasRowHash reads the hash strings');
    } finally {
      await dataset.close();
      await unhashed.close();
      dir.cleanup();
    }
  });
});
