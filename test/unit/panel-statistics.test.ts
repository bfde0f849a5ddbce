import * as assert from 'node:assert/strict';
import { reviewOrderKeys } from '../../src/host/panel/reviewOrder';
import { comparisonView, reviewComparison, reviewStatistics } from '../../src/core/review/reviewStatistics';
import type { RowQuery, RowsPage } from '../../src/shared/protocol';
import type { ComparisonView, StatisticsView } from '../../src/shared/statisticsView';
import { knownSource, PanelHarness, ReviewFixture, rows } from './reviewFixture';

async function ids(query: RowQuery, from?: ReviewFixture): Promise<string[]> {
  const h = new PanelHarness(from ?? (await knownSource()));
  await h.controller.handle({ type: 'webview/ready', query });
  const { generation } = h.last('rows/didChange');
  const page = (await h.request<RowsPage>({ type: 'rows/page', params: { generation, start: 0, count: 100 } })).result!;
  return page.rows.map((r) => r.id);
}

describe('panel statistics and review orders', () => {
  it('review order keys: nearest score to the threshold, and minus the spread of two or more scores', () => {
    const ft = Float64Array.from([0.9, 0.6, Number.NaN]);
    const gpt = Float64Array.from([0.2, Number.NaN, Number.NaN]);
    const near = reviewOrderKeys('nearThreshold', [ft, gpt], 3, 0.7);
    assert.ok(Math.abs(near[0] - 0.2) < 1e-12 && Math.abs(near[1] - 0.1) < 1e-12 && Number.isNaN(near[2]));
    const spread = reviewOrderKeys('disagreement', [ft, gpt], 3, 0.7);
    assert.ok(Math.abs(spread[0] + 0.7) < 1e-12);
    assert.ok(Number.isNaN(spread[1]), 'one score: no disagreement');
  });

  it('sorts the rows closest to the threshold first, and the widest disagreement first, from columns or from rows', async () => {
    // Threshold 0.7. Nearest: d 0.69 (0.01), c 0.72 (0.02), a-9 0.75 (0.05), a-10 0.55 (0.15), b-2 0.91 (0.21); e has no score.
    const near = { sort: { column: 'nearThreshold', descending: false }, filter: {} } as const;
    assert.deepEqual(await ids(near), ['d', 'c', 'a-9', 'a-10', 'b-2', 'e']);
    // Spread: b-2 0.45, a-10 0.25, a-9 0.05; c, d and e have fewer than two scores.
    const disagreement = { sort: { column: 'disagreement', descending: false }, filter: {} } as const;
    assert.deepEqual(await ids(disagreement), ['b-2', 'a-10', 'a-9', 'c', 'd', 'e']);
    const fromRows = await knownSource();
    fromRows.scoreColumns = undefined;
    assert.deepEqual(await ids(near, fromRows), ['d', 'c', 'a-9', 'a-10', 'b-2', 'e']);
    assert.deepEqual(await ids({ ...disagreement, filter: { below: 'any' } }), ['b-2', 'a-10', 'd'], 'within a filter');
  });

  it('answers stats/get with the open dataset\'s statistics and checks stats/useThreshold before setting it', async () => {
    const source = await knownSource();
    await source.annotateRow(0, { kind: 'output', model: 'gpt' }, 'hallucinated');
    const set: number[] = [];
    const h = new PanelHarness(Object.assign(source, { statistics: () => reviewStatistics(source.review), useThreshold: async (t: number) => void set.push(t) }));
    await h.controller.handle({ type: 'webview/ready' });
    const stats = (await h.request<StatisticsView>({ type: 'stats/get', params: {} })).result!;
    const ft = stats.models.find((m) => m.model === 'ft')!;
    assert.equal(ft.n, 4); // 0.91, 0.55, 0.8, 0.72 (d failed)
    assert.ok(Math.abs(ft.mean!.value - 0.745) < 1e-12);
    assert.deepEqual(stats.pairs.list.map((p) => [p.a, p.b, p.n]), [['ft', 'gpt', 3]], 'b-2, a-10 and a-9 are scored by both');
    assert.deepEqual([stats.calibration.metrics[0].labelled, stats.calibration.metrics[0].needed], [1, 19]);
    assert.equal((await h.request({ type: 'stats/useThreshold', params: { threshold: 0.655 } })).ok, true);
    const bad = await h.request({ type: 'stats/useThreshold', params: { threshold: 7 } });
    assert.equal(bad.ok, false);
    assert.match(bad.error!, /from -1 to 1/);
    assert.deepEqual(set, [0.655]);
  });

  it('splits the statistics by a row field on request (stats/get sliceField), as report --slice does; a bad field name is refused', async () => {
    // input "even" rows 0, 2, 4: ft 0.9, 0.5, 0.7; input "odd" rows 1, 3, 5: ft 0.2, 0.4 (row 5 unscored).
    const source = await ReviewFixture.create(rows(6, (i) => ({ input: i % 2 ? 'odd' : 'even' })), ['ft'], { threshold: 0.6 });
    await source.setScores([[0, 'ft', 0.9], [1, 'ft', 0.2], [2, 'ft', 0.5], [3, 'ft', 0.4], [4, 'ft', 0.7]]);
    const h = new PanelHarness(Object.assign(source, { statistics: (sliceField?: string) => reviewStatistics(source.review, undefined, { sliceField }) }));
    await h.controller.handle({ type: 'webview/ready' });
    const plain = (await h.request<StatisticsView>({ type: 'stats/get', params: {} })).result!;
    assert.equal(plain.slices, undefined, 'no field: no slices');
    const stats = (await h.request<StatisticsView>({ type: 'stats/get', params: { sliceField: 'input' } })).result!;
    const byValue = new Map(stats.slices!.slices.map((slice) => [slice.value, slice]));
    assert.equal(stats.slices!.field, 'input');
    assert.deepEqual([byValue.get('even')!.rows, byValue.get('odd')!.rows], [3, 3]);
    const even = byValue.get('even')!.models[0];
    const odd = byValue.get('odd')!.models[0];
    assert.deepEqual([even.n, odd.n], [3, 2]);
    assert.ok(Math.abs(even.mean!.value - (0.9 + 0.5 + 0.7) / 3) < 1e-12);
    assert.ok(Math.abs(odd.mean!.value - 0.3) < 1e-12);
    assert.ok(Math.abs(even.shareAtLeast!.value - 2 / 3) < 1e-12, '0.9 and 0.7 reach 0.6');
    const bad = await h.request({ type: 'stats/get', params: { sliceField: 42 as unknown as string } });
    assert.equal(bad.ok, false);
    assert.match(bad.error!, /slice field must be the name of a row field/);
  });

  it('compares two models of the open dataset row by row through stats/compare', async () => {
    const source = await knownSource();
    const h = new PanelHarness(Object.assign(source, { compare: async (a: string, b: string) => comparisonView(reviewComparison(source.review, a, b), a, b) }));
    await h.controller.handle({ type: 'webview/ready' });
    const c = (await h.request<ComparisonView>({ type: 'stats/compare', params: { a: 'gpt', b: 'ft' } })).result!;
    // Both scored b-2 (0.46 -> 0.91), a-10 (0.3 -> 0.55), a-9 (0.75 -> 0.8); d has only gpt (ft failed), c only ft.
    assert.deepEqual([c.paired, c.improved, c.regressed, c.unchanged, c.onlyA, c.onlyB], [3, 3, 0, 0, 1, 1]);
    assert.deepEqual(c.changed.map((r) => r.id), ['b-2', 'a-10', 'a-9'], 'largest change first');
    assert.equal(c.p, 0.25); // differences 0.45, 0.25, 0.05: only all-plus and all-minus reach |0.75|, 2 of 8
    const unknown = await h.request({ type: 'stats/compare', params: { a: 'gpt', b: 'nope' } });
    assert.equal(unknown.ok, false);
    assert.match(unknown.error!, /No model "nope"/);
  });
});
