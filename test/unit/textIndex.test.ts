import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { TextIndex } from '../../src/core/review/textIndex';
import { ReviewFixture, rows } from './reviewFixture';

/**
 * The panel's text index: built once from a real file, it must answer exactly what reading every
 * row and comparing each field (lower-cased) answers, whatever the text and however it is cut in blocks.
 */

const texts = [
  'İstanbul airport', 'ÉCOLE normale', 'straße und STRASSE', 'emoji 🙂 smile', 'Ǆ digraph', 'refund\nsecond line',
  'plain words', 'Ω omega', 'tab\tseparated', '"quoted" text', 'back\\slash', 'ﬁ ligature',
];

function sampleRows(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: `row-${i}`,
    ...(i % 7 === 3
      ? { messages: [{ role: 'system', content: texts[i % texts.length] }, { role: 'user', content: `ask ${i}` }] }
      : { input: `${texts[i % texts.length]} ${i}` }),
    rationale: `${texts[(i * 5) % texts.length]} because ${i % 3 === 0 ? 'REFUND' : 'grasp'}`,
    ...(i % 4 === 0 ? { outputs: { ft: `${texts[(i * 3) % texts.length]} out`, gpt: `gpt says ${i}` } } : {}),
  }));
}

async function naive(dataset: Dataset, needle: string, within?: readonly number[]): Promise<number[]> {
  const folded = needle.toLowerCase();
  const hits: number[] = [];
  for (const i of within ?? Array.from({ length: dataset.rowCount }, (_, k) => k)) {
    const row = await dataset.getRow(i);
    const fields = [row.id, row.input, row.reference ?? '', ...Object.values(row.outputs)];
    if (fields.some((f) => f.toLowerCase().includes(folded))) hits.push(i);
  }
  return hits;
}

describe('text index (panel search)', () => {
  let dataset: Dataset;
  before(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pisar-textindex-'));
    const file = path.join(dir, 'data.jsonl');
    writeFileSync(file, sampleRows(400).map((r) => JSON.stringify(r)).join('\n') + '\n');
    dataset = await Dataset.open(file);
  });

  const needles = ['istanbul', 'i̇stanbul', 'école', 'STRASSE', 'straße', '🙂', 'ǆ', 'refund', 'REFUND', 'second line', 'row-1', 'row-39', 'out', 'user: ask', 'system', '"quoted"', 'back\\slash', 'ﬁ', 'ω', 'tab\tsep', 'nothing like this', 'x', 'o', 'because grasp', ' 17', 'row-399'];

  for (const blockChars of [64, 1000, 8 << 20]) {
    it(`finds exactly the rows a full read finds, for ${needles.length} needles, in blocks of ${blockChars} characters`, async () => {
      const index = await TextIndex.build(dataset, { blockChars });
      assert.ok(index);
      for (const needle of needles) {
        assert.deepEqual(index.search(needle.toLowerCase()), await naive(dataset, needle), `needle ${JSON.stringify(needle)}`);
      }
    });
  }

  it('never matches across two fields or two rows', async () => {
    const index = await TextIndex.build(dataset, { blockChars: 64 });
    assert.ok(index);
    // "row-0" ends the id and the input follows: the join of the two fields is not text of the row.
    assert.deepEqual(index.search('row-0İstanbul'.toLowerCase()), []);
    assert.deepEqual(index.search('row-0 i̇stanbul'), []);
    assert.deepEqual(index.search(' 0row-1'), []);
  });

  it('searches only the rows it is given, in file order', async () => {
    const index = await TextIndex.build(dataset, { blockChars: 1000 });
    assert.ok(index);
    const within = [399, 3, 10, 17, 24, 150, 151, 152];
    assert.deepEqual(index.search('row-1', within), await naive(dataset, 'row-1', [...within].sort((a, b) => a - b)));
  });

  it('keeps no index past its size limit', async () => {
    assert.equal(await TextIndex.build(dataset, { maxChars: 1000 }), undefined);
  });
});

describe('panel search through the review model', () => {
  it('finds an output stored after the index was built, and the new text after an edit', async () => {
    const source = await ReviewFixture.create(rows(50, (i) => ({ input: i === 7 ? 'a Refund question' : `input ${i}` })), ['m']);
    await source.model.prepareSearch();
    assert.deepEqual(await source.model.filterRows({ kind: 'text', text: 'refund' }), [7]);
    await source.setScore(30, 'm', { score: 0.5, output: 'the REFUND was late' });
    assert.deepEqual(await source.model.filterRows({ kind: 'text', text: 'refund' }), [7, 30], 'a stored output is searched too');
    assert.deepEqual(await source.model.filterRows({ kind: 'text', text: 'refund', within: [30, 31] }), [30]);
    source.editRows(rows(50, (i) => ({ input: i === 12 ? 'refund moved here' : `input ${i}` })));
    assert.deepEqual(await source.model.filterRows({ kind: 'text', text: 'refund' }), [12, 30], 'the edited file, not the index of the old one');
  });
});
