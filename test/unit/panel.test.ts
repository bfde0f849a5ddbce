import * as assert from 'node:assert/strict';
import type { RowDetail, RowQuery, RowsPage, SummaryView } from '../../src/shared/protocol';
import { knownSource as known, PanelHarness, ReviewFixture, rows } from './reviewFixture';
import { computeOrder, SortColumns, TextMatches } from '../../src/host/panel/rowQuery';

async function view(query: RowQuery, from?: ReviewFixture): Promise<{ ids: string[]; h: PanelHarness; page: RowsPage }> {
  const h = new PanelHarness(from ?? (await known()));
  await h.controller.handle({ type: 'webview/ready', query });
  const { generation } = h.last('rows/didChange');
  const page = (await h.request<RowsPage>({ type: 'rows/page', params: { generation, start: 0, count: 100 } })).result!;
  return { ids: page.rows.map((r) => r.id), h, page };
}

const all = { sort: { column: 'index', descending: false }, filter: {} } as const;

describe('panel rows: sort and filter host-side over the index', () => {
  it('lists rows in file order with snippets, scores, labels and flags', async () => {
    const { ids, page } = await view(all);
    assert.deepEqual(ids, ['b-2', 'a-10', 'a-9', 'c', 'd', 'e']);
    const [r0, r1, , r3, r4, r5] = page.rows;
    assert.equal(r0.input, 'Why did the user cancel?');
    assert.equal(r4.input, '<img src=x onerror=alert(1)>', 'text passes as data');
    assert.equal(r5.reference, null);
    assert.deepEqual(r0.scores, { ft: { score: 0.91, text: '0.91' }, gpt: { score: 0.46, text: '0.46', below: true } });
    assert.deepEqual(r4.scores.ft, { score: null, error: 'server: HTTP 500' });
    assert.equal(r3.scores.gpt, undefined);
    assert.deepEqual(r3.annotations.map(({ id, ...rest }) => { assert.match(id, /\S/); return rest; }), [{ target: 'reference', label: 'wrong', note: 'gold is off', stale: true }]);
    assert.equal(r1.suspect, true);
    assert.equal(r0.suspect, false);
    assert.equal(r4.suspect, false, 'one score (gpt 0.69; ft failed) does not make a reference suspect');
  });

  it('filters, alone and combined', async () => {
    assert.deepEqual((await view({ ...all, filter: { below: 'any' } })).ids, ['b-2', 'a-10', 'd']);
    assert.deepEqual((await view({ ...all, filter: { below: { model: 'ft' } } })).ids, ['a-10']);
    assert.deepEqual((await view({ ...all, filter: { suspect: true } })).ids, ['a-10'], 'd has one score only');
    assert.deepEqual((await view({ ...all, filter: { annotated: true } })).ids, ['c']);
    assert.deepEqual((await view({ ...all, filter: { unscored: true } })).ids, ['c', 'd', 'e'], 'a failed call leaves d without an ft score');
    assert.deepEqual((await view({ ...all, filter: { text: ' tax ' } })).ids, ['e'], 'trimmed');
    assert.deepEqual((await view({ ...all, filter: { below: 'any', text: 'onerror' } })).ids, ['d'], 'conditions combine');
    assert.deepEqual((await view({ ...all, filter: { below: { model: 'ft' }, suspect: true } })).ids, ['a-10']);
    assert.deepEqual((await view({ ...all, filter: { annotated: true, unscored: true } })).ids, ['c']);
    assert.deepEqual((await view({ ...all, filter: { below: 'any', annotated: true } })).ids, []);
  });

  it('sorts by score the same way from row reads as from score columns', async () => {
    for (const query of [
      { sort: { column: 'score:gpt', descending: false }, filter: {} },
      { sort: { column: 'score:ft', descending: true }, filter: { below: 'any' } },
    ] as const) {
      const withColumns = (await view(query)).ids;
      const fromRows = await known();
      fromRows.scoreColumns = undefined;
      assert.deepEqual((await view(query, fromRows)).ids, withColumns);
    }
  });

  it('sorts by score with unscored rows last in both directions', async () => {
    assert.deepEqual((await view({ sort: { column: 'score:gpt', descending: false }, filter: {} })).ids, ['a-10', 'b-2', 'd', 'a-9', 'c', 'e']);
    assert.deepEqual((await view({ sort: { column: 'score:gpt', descending: true }, filter: {} })).ids, ['a-9', 'd', 'b-2', 'a-10', 'c', 'e']);
    assert.deepEqual((await view({ sort: { column: 'score:ft', descending: true }, filter: {} })).ids, ['b-2', 'a-9', 'c', 'a-10', 'd', 'e'], 'a failed call has no score');
    assert.deepEqual((await view({ sort: { column: 'score:gpt', descending: false }, filter: { below: 'any' } })).ids, ['a-10', 'b-2', 'd'], 'sort within a filter');
  });

  it('sorts by id naturally, by input and reference text, by annotation and in reverse file order', async () => {
    assert.deepEqual((await view({ sort: { column: 'id', descending: false }, filter: {} })).ids, ['a-9', 'a-10', 'b-2', 'c', 'd', 'e']);
    assert.deepEqual((await view({ sort: { column: 'input', descending: false }, filter: {} })).ids, ['d', 'e', 'a-9', 'a-10', 'b-2', 'c']);
    assert.deepEqual((await view({ sort: { column: 'reference', descending: true }, filter: {} })).ids, ['d', 'a-10', 'b-2', 'a-9', 'c', 'e']);
    assert.deepEqual((await view({ sort: { column: 'annotation', descending: true }, filter: {} })).ids, ['c', 'b-2', 'a-10', 'a-9', 'd', 'e']);
    assert.deepEqual((await view({ sort: { column: 'index', descending: true }, filter: {} })).ids, ['e', 'd', 'c', 'a-9', 'a-10', 'b-2']);
  });

  it('narrows a search as the user types on, looking only at rows that matched before', async () => {
    const source = await ReviewFixture.create(rows(1000, (i) => ({ input: i % 10 === 0 ? `refund case ${i}` : `other ${i}` })), ['m']);
    const h = new PanelHarness(source);
    await h.controller.handle({ type: 'webview/ready' });
    const search = async (text: string, seq: number) => {
      await h.controller.handle({ type: 'view/setQuery', query: { sort: { column: 'index', descending: false }, filter: { text } }, seq });
      return h.last('rows/didChange').total;
    };
    assert.equal(await search('refun', 1), 100);
    assert.equal(source.rowsSearched, 1000);
    assert.equal(await search('refund case 5', 2), 11, 'refund case 5, 50..59, 500..590 step 10');
    assert.equal(source.rowsSearched, 1100, 'only the 100 rows that matched "refun"');
    assert.equal(await search('other', 3), 900);
    assert.equal(source.rowsSearched, 2100, 'an unrelated search looks at every row');
  });

  it('drops a sort or filter on a model the dataset does not have', async () => {
    const { ids, h } = await view({ sort: { column: 'score:claude', descending: true }, filter: { below: { model: 'claude' } } });
    assert.deepEqual(ids, ['b-2', 'a-10', 'a-9', 'c', 'd', 'e']);
    assert.deepEqual(h.last('rows/didChange').query, { sort: { column: 'index', descending: false }, filter: { below: undefined } });
  });

  it('sorts by score from the score columns without reading a row', async () => {
    const source = await known();
    const { ids } = await view({ sort: { column: 'score:gpt', descending: false }, filter: {} }, source);
    assert.deepEqual(ids, ['a-10', 'b-2', 'd', 'a-9', 'c', 'e']);
    assert.equal(source.scoreColumnCalls, 1);
    assert.equal(source.rowsServed, 6, 'only the page itself was read');
  });

  it('without score columns, re-reads only changed rows to keep a sort current, and reuses a text search while scores change', async () => {
    const source = await known();
    source.scoreColumns = undefined;
    const { h } = await view({ sort: { column: 'score:gpt', descending: false }, filter: { text: 'e' } }, source);
    const served = source.rowsServed;
    const searches = source.textSearches;
    assert.equal(searches, 1);

    await source.setScore(2, 'gpt', 0.1);
    h.controller.rowsChanged([2]);
    await h.controller.settled();
    assert.equal(source.textSearches, 1, 'scores do not change text');
    const { generation } = h.last('rows/didChange');
    const servedForSort = source.rowsServed - served;
    const page = (await h.request<RowsPage>({ type: 'rows/page', params: { generation, start: 0, count: 100 } })).result!;
    assert.equal(servedForSort, 1, 'one changed row re-read');
    assert.deepEqual(
      page.rows.map((r) => r.id),
      ['a-9', 'a-10', 'b-2', 'd', 'c', 'e'],
    );

    h.controller.rowsChanged();
    await h.controller.settled();
    assert.equal(source.textSearches, 2, 'an unknown change (an edit) searches again');
  });

  it('recomputes after a burst of changes once, and locates the cursor row in the view it is in', async () => {
    const source = await known();
    const { h } = await view({ ...all, filter: { below: 'any' } }, source);
    h.controller.cursorChanged(4);
    assert.deepEqual(h.last('cursor/didChange'), { type: 'cursor/didChange', index: 4, rowId: 'd', position: 2 });
    h.controller.cursorChanged(2);
    assert.deepEqual(h.last('cursor/didChange'), { type: 'cursor/didChange', index: 2, rowId: 'a-9', position: null }, 'filtered out');

    const before = h.sent.filter((m) => m.type === 'rows/didChange').length;
    await source.setScore(2, 'gpt', 0.1);
    h.controller.rowsChanged([2]);
    h.controller.rowsChanged([2]);
    h.controller.rowsChanged([3]);
    await h.controller.settled();
    assert.equal(h.sent.filter((m) => m.type === 'rows/didChange').length, before + 1);
    assert.equal(h.last('rows/didChange').total, 4);
    assert.deepEqual(h.last('cursor/didChange'), { type: 'cursor/didChange', index: 2, rowId: 'a-9', position: null }, 'a recompute does not re-send the cursor');
    h.controller.cursorChanged(2);
    assert.deepEqual(h.last('cursor/didChange'), { type: 'cursor/didChange', index: 2, rowId: 'a-9', position: 2 });
  });

  it('shows a label, a removal and an adjudication given in the panel at once: the view patched before the answer, not after the change delay', async () => {
    const source = await known();
    source.onDidChangeRows = (indexes) => h.controller.rowsChanged(indexes);
    // A change delay no test waits out: only the panel's own writes may skip it.
    const h = new PanelHarness(source, { changeDelayMs: 600_000 });
    await h.controller.handle({ type: 'webview/ready', query: { ...all, filter: { annotated: true } } });
    assert.equal(h.last('rows/didChange').total, 1, 'c is labelled');
    const page = async () => (await h.request<RowsPage>({ type: 'rows/page', params: { generation: h.last('rows/didChange').generation, start: 0, count: 100 } })).result!.rows;

    assert.equal((await h.request({ type: 'row/annotate', params: { rowId: 'a-10', target: 'gpt', label: 'hallucinated' } })).ok, true);
    assert.equal(h.last('rows/didChange').total, 2, 'the labelled row is in the annotated view when the answer comes');
    assert.deepEqual((await page()).find((r) => r.id === 'a-10')?.annotations.map((a) => `${a.target}: ${a.label}`), ['gpt: hallucinated']);

    assert.equal((await h.request({ type: 'row/removeAnnotation', params: { rowId: 'a-10', target: 'gpt' } })).ok, true);
    assert.equal(h.last('rows/didChange').total, 1, 'and out of it once the label is removed');
    assert.deepEqual((await page()).map((r) => r.id), ['c']);

    const generation = h.last('rows/didChange').generation;
    assert.equal((await h.request({ type: 'row/adjudicate', params: { rowId: 'c', target: 'reference', label: 'fine' } })).ok, true);
    assert.ok(h.last('rows/didChange').generation > generation, 'an adjudication is patched into the view at once too');
    h.controller.dispose();
  });

  it('switching datasets resets the view and drops a model sort the new one lacks', async () => {
    const source = await known();
    const { h } = await view({ sort: { column: 'score:gpt', descending: false }, filter: {} }, source);
    await source.switchTo(rows(3), ['ft'], { name: 'other.jsonl' });
    await h.controller.datasetChanged();
    assert.equal(h.last('dataset/didChange').dataset!.name, 'other.jsonl');
    assert.deepEqual(h.last('rows/didChange').query.sort, { column: 'index', descending: false });
  });
});

describe('panel state belongs to one file', () => {
  it('a file\'s search and filters do not follow to the next file, and are back on return; a row view names its file', async () => {
    const source = await known();
    const mine = { sort: { column: 'id', descending: true }, filter: { text: 'a', annotated: true } } as const;
    const { h } = await view(mine, source);
    const fileA = h.last('dataset/didChange').dataset!.file;
    const reviewA = (source as unknown as { active: unknown }).active;
    const firstId = (await h.request<RowsPage>({ type: 'rows/page', params: { generation: h.last('rows/didChange').generation, start: 0, count: 1 } })).result!.rows[0]?.id;
    assert.ok(firstId, 'the search matches a row of A');
    assert.equal((await h.request<RowDetail>({ type: 'row/detail', params: { rowId: firstId } })).result!.file, fileA);

    await source.switchTo(rows(3), ['ft'], { name: 'other.jsonl' });
    await h.controller.datasetChanged();
    assert.equal(h.last('dataset/didChange').dataset!.name, 'other.jsonl');
    assert.deepEqual(h.last('rows/didChange').query, all, 'B starts with no search, filter or sort of A');
    assert.equal(h.last('rows/didChange').total, 3);

    (source as unknown as { active: unknown }).active = reviewA;
    await h.controller.datasetChanged();
    assert.equal(h.last('dataset/didChange').dataset!.file, fileA);
    assert.deepEqual(h.last('rows/didChange').query, mine, 'A\'s own search, filters and sort are back');
  });
});

describe('panel summary', () => {
  it('carries per-model numbers, gaps, histograms, progress and suspect count', async () => {
    const { h } = await view(all);
    const summary = h.last('summary/didChange').summary as SummaryView;
    assert.equal(summary.threshold, 0.7);
    assert.equal(summary.rowCount, 6);
    assert.equal(summary.annotated, 1);
    assert.equal(summary.suspect, 1, 'a-10 only: d has one score');
    const [ft, gpt] = summary.models;
    assert.equal(ft.model, 'ft');
    assert.equal(ft.scored, 4);
    assert.equal(ft.failures, 1);
    assert.ok(Math.abs(ft.mean! - (0.91 + 0.55 + 0.8 + 0.72) / 4) < 1e-12);
    assert.equal(gpt.shareAtLeast, 0.25);
    //          0  .1 .2 .3 .4 .5 .6 .7 .8 .9
    assert.deepEqual(ft.histogram, [0, 0, 0, 0, 0, 1, 0, 1, 1, 1]);
    assert.deepEqual(gpt.histogram, [0, 0, 0, 1, 1, 0, 1, 1, 0, 0]);
    assert.deepEqual(summary.gaps.map((g) => [g.a, g.b]), [['ft', 'gpt']], 'each pair once, as the CLI reports it');
    assert.equal(ft.meanText, '0.745');
    assert.equal(gpt.meanText, '0.550');
    assert.ok(Math.abs(summary.gaps[0].difference! - (gpt.mean! - ft.mean!)) < 1e-12);
  });

  it('sums each model\'s tokens and prices them at its configured price per million', async () => {
    const source = await ReviewFixture.create(rows(3), ['paid', 'free'], { prices: { paid: { inputPerMillion: 2000, outputPerMillion: 8000 } } });
    await source.setScores([
      [0, 'paid', { score: 0.9, usage: { promptTokens: 100, completionTokens: 40 } }],
      [1, 'paid', { score: 0.8, usage: { promptTokens: 120, completionTokens: 60 } }],
      [2, 'paid', { score: 0.7, stale: true, usage: { promptTokens: 5000, completionTokens: 5000 } }],
      [0, 'free', { score: 0.5, usage: { promptTokens: 7, completionTokens: 3 } }],
    ]);
    const { h } = await view(all, source);
    const [paid, free] = (h.last('summary/didChange').summary as SummaryView).models;
    assert.deepEqual(paid.tokens, { input: 220, output: 100 }, 'the stale result is left out');
    assert.ok(Math.abs(paid.cost! - (220 * 2000 + 100 * 8000) / 1e6) < 1e-12);
    assert.equal(paid.costText, '1.24');
    assert.deepEqual(free.tokens, { input: 7, output: 3 });
    assert.equal(free.cost, undefined, 'no price, no cost');
  });

  it('puts a score of exactly 1 in the last bin and a negative one in the first', async () => {
    const source = await ReviewFixture.create([{ id: 'a', input: 'a' }, { id: 'b', input: 'b' }], ['m']);
    await source.setScores([[0, 'm', 1], [1, 'm', -0.2]]);
    const { h } = await view(all, source);
    const summary = h.last('summary/didChange').summary as SummaryView;
    assert.deepEqual(summary.models[0].histogram, [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });
});

describe('panel rows: sort columns read ahead for large files', () => {
  it('prefill reads the columns once in the background; the first sort then reads no row and sorts the same', async () => {
    const data = rows(300, (i) => ({ input: `input ${(i * 7) % 300}`, reference: `ref ${i % 13}` }));
    const source = await ReviewFixture.create(data, ['m']);
    const dataset = source.activeDataset()!;
    const ahead = new SortColumns(0);
    void ahead.prefill(source, dataset);
    void ahead.prefill(source, dataset); // a second call shares the first fill
    const query = { sort: { column: 'input', descending: false }, filter: {} } as const;
    const first = await computeOrder(source, dataset, query, ahead, new TextMatches());
    assert.equal(source.rowsServed, 300, 'every row read once, by the prefill');
    const plain = await computeOrder(source, dataset, query, new SortColumns(), new TextMatches());
    assert.deepEqual([...first], [...plain]);
    void new SortColumns().prefill(source, dataset);
    assert.equal(source.rowsServed, 600, 'a small file is not read ahead by default (only the plain sort read it)');
  });
});
