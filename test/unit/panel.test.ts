import * as assert from 'node:assert/strict';
import type { RowQuery, RowsPage, SummaryView } from '../../src/shared/protocol';
import { makeRow, MemoryPanelData, PanelHarness } from './panelFixture';

/**
 * Six rows, two models, threshold 0.7:
 *   r0 ft 0.91 gpt 0.46   below for gpt
 *   r1 ft 0.55 gpt 0.30   suspect (both below)
 *   r2 ft 0.80 gpt 0.75   fine
 *   r3 ft 0.72 gpt -      not scored by gpt; annotated 'wrong'
 *   r4 ft fail gpt 0.69   ft failed; below for gpt
 *   r5 -       -          not scored; text "Tax"
 */
function known(): MemoryPanelData {
  const rows = [
    makeRow(0, { id: 'b-2', input: 'Why did the user cancel?\nsecond line', reference: 'Price went up' }),
    makeRow(1, { id: 'a-10', input: 'Explain the refund', reference: 'Refund policy' }),
    makeRow(2, { id: 'a-9', input: 'Describe onboarding', reference: 'Clear steps' }),
    makeRow(3, { id: 'c', input: 'zebra question', reference: 'Animals' }),
    makeRow(4, { id: 'd', input: '<img src=x onerror=alert(1)>', reference: 'xss' }),
    makeRow(5, { id: 'e', input: 'About TAX forms', reference: undefined, outputs: { ft: 'a tax answer' } }),
  ];
  const data = new MemoryPanelData('/w/known.jsonl', rows, ['ft', 'gpt']);
  data.setScore(0, 'ft', 0.91);
  data.setScore(0, 'gpt', 0.46);
  data.setScore(1, 'ft', 0.55);
  data.setScore(1, 'gpt', 0.3);
  data.setScore(2, 'ft', 0.8);
  data.setScore(2, 'gpt', 0.75);
  data.setScore(3, 'ft', 0.72);
  data.setScore(4, 'ft', { score: null, error: 'HTTP 500' });
  data.setScore(4, 'gpt', 0.69);
  data.annotations.set(3, [{ target: 'reference', label: 'wrong' }]);
  return data;
}

async function view(query: RowQuery, data = known()): Promise<{ ids: string[]; h: PanelHarness; page: RowsPage }> {
  const h = new PanelHarness();
  await h.controller.setData(data);
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
    assert.equal(r0.input, 'Why did the user cancel?…', 'first line only, marked as cut');
    assert.equal(r4.input, '<img src=x onerror=alert(1)>', 'text passes as data');
    assert.equal(r5.reference, null);
    assert.deepEqual(r0.scores, { ft: { score: 0.91 }, gpt: { score: 0.46 } });
    assert.deepEqual(r4.scores.ft, { score: null, error: 'HTTP 500' });
    assert.equal(r3.scores.gpt, undefined);
    assert.deepEqual(r3.annotations, [{ target: 'reference', label: 'wrong' }]);
    assert.equal(r1.suspect, true);
    assert.equal(r0.suspect, false);
  });

  it('filters: below any model, below one model, suspect, annotated, not scored, text', async () => {
    assert.deepEqual((await view({ ...all, filter: { below: 'any' } })).ids, ['b-2', 'a-10', 'd']);
    assert.deepEqual((await view({ ...all, filter: { below: { model: 'ft' } } })).ids, ['a-10']);
    assert.deepEqual((await view({ ...all, filter: { below: { model: 'gpt' } } })).ids, ['b-2', 'a-10', 'd']);
    assert.deepEqual((await view({ ...all, filter: { suspect: true } })).ids, ['a-10']);
    assert.deepEqual((await view({ ...all, filter: { annotated: true } })).ids, ['c']);
    assert.deepEqual((await view({ ...all, filter: { unscored: true } })).ids, ['c', 'e']);
    assert.deepEqual((await view({ ...all, filter: { text: 'tax' } })).ids, ['e'], 'case-insensitive, over input and outputs');
    assert.deepEqual((await view({ ...all, filter: { text: 'REFUND' } })).ids, ['a-10']);
    assert.deepEqual((await view({ ...all, filter: { text: 'a-9' } })).ids, ['a-9'], 'ids are searched');
    assert.deepEqual((await view({ ...all, filter: { below: 'any', text: 'onerror' } })).ids, ['d'], 'conditions combine');
    assert.deepEqual((await view({ ...all, filter: { text: 'nothing like this' } })).ids, []);
  });

  it('sorts by score with unscored rows last in both directions', async () => {
    assert.deepEqual((await view({ sort: { column: 'score:gpt', descending: false }, filter: {} })).ids, ['a-10', 'b-2', 'd', 'a-9', 'c', 'e']);
    assert.deepEqual((await view({ sort: { column: 'score:gpt', descending: true }, filter: {} })).ids, ['a-9', 'd', 'b-2', 'a-10', 'c', 'e']);
    assert.deepEqual((await view({ sort: { column: 'score:ft', descending: true }, filter: {} })).ids, ['b-2', 'a-9', 'c', 'a-10', 'd', 'e'], 'a failed call has no score');
  });

  it('sorts by id naturally, by input and reference text, by annotation and in reverse file order', async () => {
    assert.deepEqual((await view({ sort: { column: 'id', descending: false }, filter: {} })).ids, ['a-9', 'a-10', 'b-2', 'c', 'd', 'e']);
    assert.deepEqual((await view({ sort: { column: 'input', descending: false }, filter: {} })).ids, ['d', 'e', 'a-9', 'a-10', 'b-2', 'c']);
    assert.deepEqual((await view({ sort: { column: 'reference', descending: true }, filter: {} })).ids, ['d', 'a-10', 'b-2', 'a-9', 'c', 'e']);
    assert.deepEqual((await view({ sort: { column: 'annotation', descending: true }, filter: {} })).ids, ['c', 'b-2', 'a-10', 'a-9', 'd', 'e']);
    assert.deepEqual((await view({ sort: { column: 'index', descending: true }, filter: {} })).ids, ['e', 'd', 'c', 'a-9', 'a-10', 'b-2']);
  });

  it('drops a sort or filter on a model the dataset does not have', async () => {
    const { ids, h } = await view({ sort: { column: 'score:claude', descending: true }, filter: { below: { model: 'claude' } } });
    assert.deepEqual(ids, ['b-2', 'a-10', 'a-9', 'c', 'd', 'e']);
    assert.deepEqual(h.last('rows/didChange').query, { sort: { column: 'index', descending: false }, filter: { below: undefined } });
  });

  it('streams the file once per search string, not once per page', async () => {
    const data = known();
    const { h } = await view({ ...all, filter: { text: 'tax' } }, data);
    const streamed = data.rowsStreamed;
    h.controller.rowsChanged();
    await h.controller.settled();
    await h.controller.handle({ type: 'view/setQuery', query: { sort: { column: 'score:ft', descending: false }, filter: { text: 'tax' } } });
    assert.equal(data.rowsStreamed, streamed, 'a cached search is reused across score changes and sorts');
  });

  it('recomputes the view and summary when scores change, and keeps the cursor row located', async () => {
    const data = known();
    const { h } = await view({ ...all, filter: { below: 'any' } }, data);
    h.controller.cursorChanged(4);
    assert.deepEqual(h.last('cursor/didChange'), { type: 'cursor/didChange', index: 4, position: 2 });
    h.controller.cursorChanged(2);
    assert.deepEqual(h.last('cursor/didChange'), { type: 'cursor/didChange', index: 2, position: null }, 'filtered out');

    data.setScore(2, 'gpt', 0.1);
    h.controller.rowsChanged();
    h.controller.rowsChanged();
    await h.controller.settled();
    assert.equal(h.last('rows/didChange').total, 4);
    assert.deepEqual(h.last('cursor/didChange'), { type: 'cursor/didChange', index: 2, position: 2 });
  });
});

describe('panel summary', () => {
  it('carries per-model numbers, gaps, histograms, progress and suspect count', async () => {
    const { h } = await view(all);
    const summary = h.last('summary/didChange').summary as SummaryView;
    assert.equal(summary.threshold, 0.7);
    assert.equal(summary.rowCount, 6);
    assert.equal(summary.annotated, 1);
    assert.equal(summary.suspect, 1);
    const [ft, gpt] = summary.models;
    assert.equal(ft.model, 'ft');
    assert.equal(ft.scored, 4);
    assert.equal(ft.failures, 1);
    assert.ok(Math.abs(ft.mean! - (0.91 + 0.55 + 0.8 + 0.72) / 4) < 1e-12);
    assert.equal(gpt.scored, 4);
    assert.equal(gpt.shareAtLeast, 0.25);
    //          0  .1 .2 .3 .4 .5 .6 .7 .8 .9
    assert.deepEqual(ft.histogram, [0, 0, 0, 0, 0, 1, 0, 1, 1, 1]);
    assert.deepEqual(gpt.histogram, [0, 0, 0, 1, 1, 0, 1, 1, 0, 0]);
    assert.equal(summary.gaps.length, 1);
    assert.equal(summary.gaps[0].a, 'ft');
    assert.ok(Math.abs(summary.gaps[0].gap! - (ft.mean! - gpt.mean!)) < 1e-12);
  });

  it('puts a score of exactly 1 in the last bin and a negative one in the first', async () => {
    const data = new MemoryPanelData('/x.jsonl', [makeRow(0), makeRow(1)], ['m']);
    data.setScore(0, 'm', 1);
    data.setScore(1, 'm', -0.2);
    const { h } = await view(all, data);
    const summary = h.last('summary/didChange').summary as SummaryView;
    assert.deepEqual(summary.models[0].histogram, [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });
});
