import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { AgreementView, RowDetail, RowQuery, RowsPage, SummaryView } from '../../src/shared/protocol';
import { AnnotationStore } from '../../src/core/store/annotations';
import { ResultsStore } from '../../src/core/store/results';
import { readHoldoutRule, writeTrainingFile } from '../../src/core/review/trainingExportFile';
import { parseScoreBand } from '../../src/core/review/trainingExport';
import { DEFAULT_LABEL_MAPPING } from '../../src/core/report/calibration';
import { PanelHarness, ReviewFixture } from './reviewFixture';

/**
 * The review loop in the panel: blind mode (nothing hidden is sent), agreement from the same core as
 * `report`, the "reviewers disagree" filter and the label orders, adjudication through the store.
 * Real files: the product's review model over a dataset and its sidecars in a temporary folder.
 */

const fileOrder = { sort: { column: 'index', descending: false }, filter: {} } as const;

/** Rows r0..r3 scored by ft; ana and bo label each reference: they differ on r1 only; r3 is bo's alone. */
async function twoReviewers(): Promise<ReviewFixture> {
  const f = await ReviewFixture.create(
    [0, 1, 2, 3, 4].map((i) => ({ id: `r${i}`, input: `question ${i}`, reference: `because ${i}` })),
    ['ft'],
  );
  await f.setScores([[0, 'ft', 0.91], [1, 'ft', 0.42], [2, 'ft', 0.77], [3, 'ft', 0.66]]);
  f.reviewer = 'ana@example.org';
  for (const [i, label] of [[0, 'wrong'], [1, 'wrong'], [2, 'fine']] as const) await f.model.annotate(i, { kind: 'reference' }, label);
  f.reviewer = 'bo@example.org';
  for (const [i, label] of [[0, 'wrong'], [1, 'fine'], [2, 'fine'], [3, 'fine']] as const) await f.model.annotate(i, { kind: 'reference' }, label);
  return f;
}

async function open(f: ReviewFixture, query: RowQuery = fileOrder): Promise<{ h: PanelHarness; page: () => Promise<RowsPage> }> {
  const h = new PanelHarness(f);
  await h.controller.handle({ type: 'webview/ready', query });
  const page = async () => (await h.request<RowsPage>({ type: 'rows/page', params: { generation: h.last('rows/didChange').generation, start: 0, count: 100 } })).result!;
  return { h, page };
}

/** Every message the panel was sent, as one text: what the webview could ever read. */
function everythingSent(h: PanelHarness): string {
  return JSON.stringify(h.sent);
}

describe('review loop in the panel: blind mode', () => {
  it('sends the reviewer none of the other reviewers\' labels and no score, in rows, detail, summary and agreement', async () => {
    const f = await twoReviewers();
    f.blind = true; // bo labels blind
    const { h, page } = await open(f);
    const rows = (await page()).rows;
    assert.deepEqual(rows.map((r) => r.annotations.map((a) => `${a.reviewer}=${a.label}`)), [['bo@example.org=wrong'], ['bo@example.org=fine'], ['bo@example.org=fine'], ['bo@example.org=fine'], []]);
    assert.deepEqual(rows.map((r) => r.scores), [{}, {}, {}, {}, {}]);
    assert.ok(rows.every((r) => r.disagreeOn === undefined && r.settled === undefined && !r.suspect));
    const detail = (await h.request<RowDetail>({ type: 'row/detail', params: { rowId: 'r1' } })).result!;
    assert.deepEqual(detail.annotations.map((a) => a.reviewer), ['bo@example.org']);
    assert.deepEqual(detail.outputs.map((o) => [o.model, o.output, o.score]), [['ft', 'ft output', null]], 'the output is there to label; its score is not');
    assert.deepEqual(detail.disagreeOn, []);
    const summary = h.last('summary/didChange').summary as SummaryView;
    assert.deepEqual(summary.models.map((m) => [m.model, m.scored, m.mean, m.meanText, m.shareAtLeast, m.histogram.reduce((a, b) => a + b, 0)]), [['ft', 4, null, null, null, 0]]);
    assert.equal(summary.annotated, 4, "bo's own labelled rows");
    const agreement = (await h.request<AgreementView>({ type: 'review/agreement', params: {} })).result!;
    assert.equal(agreement.overall, null);
    assert.deepEqual(agreement.perLabel, []);
    assert.equal(agreement.disagreements, null);
    assert.deepEqual(agreement.progress.map((p) => `${p.reviewer} ${p.labelled}`), ['ana@example.org 3', 'bo@example.org 4']);
    assert.equal(h.last('dataset/didChange').dataset?.blind, true);
    const sent = everythingSent(h);
    assert.ok(!sent.includes('ana@example.org=') && !/"label":"wrong","reviewer":"ana/.test(sent));
    assert.ok(!/0\.91|0\.42|0\.77|0\.66/.test(sent), 'no score in any message');
    const stats = await h.request({ type: 'stats/get', params: {} });
    assert.equal(stats.ok, false);
    assert.match(stats.error!, /Blind mode hides the scores.*pisarReview\.review\.blind/);
  });

  it('drops filters and orders made of scores or others\' labels while blind, and keeps the rest', async () => {
    const f = await twoReviewers();
    f.blind = true;
    const { h, page } = await open(f, { sort: { column: 'score:ft', descending: false }, filter: { below: 'any', disagree: true, text: 'question' } });
    const query = h.last('rows/didChange').query;
    assert.deepEqual(query, { sort: { column: 'index', descending: false }, filter: { text: 'question' } });
    assert.deepEqual((await page()).rows.map((r) => r.id), ['r0', 'r1', 'r2', 'r3', 'r4']);
    await h.controller.handle({ type: 'view/setQuery', query: { sort: { column: 'nearThreshold', descending: false }, filter: { annotated: true } }, seq: 1 });
    assert.deepEqual(h.last('rows/didChange').query.sort.column, 'index');
    assert.deepEqual((await page()).rows.map((r) => r.id), ['r0', 'r1', 'r2', 'r3'], "annotated: bo's own labels");
  });

  it('shows everything again when blind mode is turned off from the panel', async () => {
    const f = await twoReviewers();
    f.blind = true;
    const { h, page } = await open(f);
    assert.equal((await h.request({ type: 'review/setBlind', params: { blind: false } })).ok, true);
    assert.deepEqual(f.calls, ['blind false']);
    h.controller.rowsChanged(); // the setting's change, as ReviewService announces it
    await h.controller.settled();
    const r1 = (await page()).rows[1];
    assert.deepEqual(r1.annotations.map((a) => `${a.reviewer}=${a.label}`).sort(), ['ana@example.org=wrong', 'bo@example.org=fine']);
    assert.deepEqual(r1.scores.ft, { score: 0.42, text: '0.42', below: true });
    assert.deepEqual(r1.disagreeOn, ['reference']);
  });
});

describe('review loop in the panel: agreement, disagreement, adjudication', () => {
  it('agreement per label and overall is core agreementReport\'s, with intervals and progress', async () => {
    const f = await twoReviewers();
    const { h } = await open(f);
    const a = (await h.request<AgreementView>({ type: 'review/agreement', params: {} })).result!;
    // Units both rated: r0 wrong/wrong, r1 wrong/fine, r2 fine/fine. p_o = 2/3; ana: wrong 2/3, fine 1/3; bo: wrong 1/3, fine 2/3;
    // p_e = 2/9 + 2/9 = 4/9; kappa = (2/3 - 4/9) / (5/9) = 0.4.
    assert.equal(a.overall!.units, 3);
    assert.ok(Math.abs(a.overall!.cohenKappa!.value! - 0.4) < 1e-12);
    assert.ok(a.overall!.cohenKappa!.interval, 'a bootstrap interval');
    assert.deepEqual(a.perLabel.map((l) => [l.label, l.count]), [['fine', 4], ['wrong', 3]]);
    assert.deepEqual(a.reviewers, ['ana@example.org', 'bo@example.org']);
    assert.equal(a.disagreements, 1);
    assert.equal(a.adjudicated, 0);
    assert.deepEqual(a.progress.map((p) => [p.reviewer, p.labelled, p.rows]), [['ana@example.org', 3, 3], ['bo@example.org', 4, 4]]);
  });

  it('filters the rows reviewers disagree on and orders them first; orders the reviewer\'s unlabelled rows first', async () => {
    const f = await twoReviewers();
    const { h, page } = await open(f, { ...fileOrder, filter: { disagree: true } });
    assert.deepEqual((await page()).rows.map((r) => r.id), ['r1']);
    await h.controller.handle({ type: 'view/setQuery', query: { sort: { column: 'reviewersDisagree', descending: false }, filter: {} }, seq: 1 });
    assert.deepEqual((await page()).rows.map((r) => r.id), ['r1', 'r0', 'r2', 'r3', 'r4']);
    f.reviewer = 'ana@example.org';
    await h.controller.handle({ type: 'view/setQuery', query: { sort: { column: 'unlabelled', descending: false }, filter: {} }, seq: 2 });
    assert.deepEqual((await page()).rows.map((r) => r.id), ['r3', 'r4', 'r0', 'r1', 'r2'], 'ana has not labelled r3 and r4');
  });

  it('an adjudication is written through the store, which announces the row: the panel patches it and the filter empties', async () => {
    const f = await twoReviewers();
    f.reviewer = 'lead@example.org';
    const { h, page } = await open(f, { ...fileOrder, filter: { disagree: true } });
    const generation = h.last('rows/didChange').generation;
    const announced: (readonly number[] | undefined)[] = [];
    f.onDidChangeRows = (indexes) => {
      announced.push(indexes);
      h.controller.rowsChanged(indexes);
    };
    const answer = await h.request({ type: 'row/adjudicate', params: { rowId: 'r1', target: 'reference', label: 'wrong', note: 'the gold blames price' } });
    assert.equal(answer.ok, true, answer.error);
    assert.deepEqual(announced, [[1]], 'the store names the row it wrote');
    await h.controller.settled();
    assert.ok(h.last('rows/didChange').generation > generation);
    assert.deepEqual((await page()).rows.map((r) => r.id), [], 'settled: no open disagreement');
    const lines = readFileSync(path.join(path.dirname(f.file), 'data.pisar-annotations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const event = lines.find((e) => e.op === 'adjudicate')!;
    assert.deepEqual([event.rowId, event.target, event.label, event.reviewer, event.note], ['r1', 'reference', 'wrong', 'lead@example.org', 'the gold blames price']);
    await h.controller.handle({ type: 'view/setQuery', query: fileOrder, seq: 1 });
    const r1 = (await page()).rows[1];
    assert.deepEqual(r1.settled, [{ target: 'reference', label: 'wrong', reviewer: 'lead@example.org', note: 'the gold blames price' }]);
    assert.equal(r1.disagreeOn, undefined);
    const a = (await h.request<AgreementView>({ type: 'review/agreement', params: {} })).result!;
    assert.deepEqual([a.disagreements, a.adjudicated], [0, 1]);
  });

  it('refuses an adjudication in blind mode and one with a label not in the settings, writing nothing', async () => {
    const f = await twoReviewers();
    const { h } = await open(f);
    const unknown = await h.request({ type: 'row/adjudicate', params: { rowId: 'r1', target: 'reference', label: 'meh' } });
    assert.match(unknown.error!, /Unknown label "meh"/);
    f.blind = true;
    h.controller.rowsChanged();
    await h.controller.settled();
    const blind = await h.request({ type: 'row/adjudicate', params: { rowId: 'r1', target: 'reference', label: 'wrong' } });
    assert.match(blind.error!, /Blind mode hides the labels/);
    assert.equal((await AnnotationStore.forDataset(f.file)).adjudications().length, 0);
  });

  it('a reviewer removes their own label from the panel, never another reviewer\'s on the same target', async () => {
    const f = await twoReviewers();
    f.reviewer = 'ana@example.org';
    const { h } = await open(f);
    assert.equal((await h.request({ type: 'row/removeAnnotation', params: { rowId: 'r1', target: 'reference' } })).ok, true);
    const left = (await AnnotationStore.forDataset(f.file)).all().filter((a) => a.rowId === 'r1').map((a) => `${a.reviewer}=${a.label}`);
    assert.deepEqual(left, ['bo@example.org=fine']);
  });
});

describe('training export from the editor: the CLI\'s core', () => {
  it('a selected row of the hold-out refuses the export, lists it and writes nothing', async () => {
    const f = await twoReviewers();
    const folder = path.dirname(f.file);
    writeFileSync(path.join(folder, 'eval-ids.txt'), 'r2\nnot-here\n');
    const out = path.join(folder, 'train.jsonl');
    const request = {
      dataset: f.review.dataset, results: await ResultsStore.open(f.file), annotations: await AnnotationStore.forDataset(f.file),
      format: 'openai-chat' as const, filters: {}, labels: DEFAULT_LABEL_MAPPING,
      holdout: [await readHoldoutRule('eval-ids.txt', folder)], holdoutNames: ['eval-ids.txt'], out, embeddingModel: 'm', toolVersion: 't',
    };
    const refused = await writeTrainingFile(request);
    assert.equal(refused.ok, false);
    assert.deepEqual(!refused.ok && refused.holdout.map((h) => [h.id, h.line]), [['r2', 3]]);
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(path.join(folder, 'train.manifest.json')), false);
    const written = await writeTrainingFile({ ...request, holdout: [await readHoldoutRule('split=test', folder)], holdoutNames: ['split=test'] });
    assert.equal(written.ok, true);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 5);
    await assert.rejects(readHoldoutRule('missing.txt', folder), /no such file, and not field=value/);
  });

  it('the editor\'s score band reads as the CLI\'s --min-score/--max-score, and refuses what is not a band', () => {
    assert.deepEqual(parseScoreBand('0.7-1'), { minScore: 0.7, maxScore: 1 });
    assert.deepEqual(parseScoreBand(' 0.5 .. 0.9 '), { minScore: 0.5, maxScore: 0.9 });
    assert.deepEqual(parseScoreBand('-0.2 0.3'), { minScore: -0.2, maxScore: 0.3 });
    assert.deepEqual(parseScoreBand('>= .7'), { minScore: 0.7 });
    assert.deepEqual(parseScoreBand('<=0.5'), { maxScore: 0.5 });
    assert.match(parseScoreBand('0.9-0.7') as string, /lower end 0.9 is above the upper end 0.7/);
    assert.match(parseScoreBand('0.7-2') as string, /between -1 and 1/);
    for (const bad of ['', 'high', '0.7-', '=0.7', '0.7-1-2', 'NaN-1']) assert.equal(typeof parseScoreBand(bad), 'string', bad);
  });
});
