import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { RowsPage } from '../../src/shared/protocol';
import { PanelHarness, ReviewFixture, rows } from './reviewFixture';

/**
 * One-way flow: a store announces the rows it wrote, the review patches those rows' states, the
 * panel patches those rows of its sort columns. A sidecar's watcher is for other processes: this
 * process's own appends read nothing when it refreshes, another process's lines are read and named.
 */

const MODELS = ['gpt'];

/** 40 rows, every one scored, row 7 labelled; a panel sorted by input, following the review's changes. */
async function sortedPanel(): Promise<{ source: ReviewFixture; h: PanelHarness; changes: (readonly number[] | undefined)[] }> {
  const source = await ReviewFixture.create(rows(40, (i) => ({ input: `input ${(i * 7) % 40}` })), MODELS);
  await source.setScores(Array.from({ length: 40 }, (_, i) => [i, 'gpt', (i % 10) / 10] as const));
  await source.annotateRow(7, { kind: 'reference' }, 'wrong');
  const h = new PanelHarness(source);
  const changes: (readonly number[] | undefined)[] = [];
  source.onDidChangeRows = (indexes) => {
    changes.push(indexes);
    h.controller.rowsChanged(indexes);
  };
  await h.controller.handle({ type: 'webview/ready', query: { sort: { column: 'input', descending: false }, filter: {} } });
  await h.controller.settled();
  return { source, h, changes };
}

async function pageIds(h: PanelHarness): Promise<string[]> {
  const { generation } = h.last('rows/didChange');
  return (await h.request<RowsPage>({ type: 'rows/page', params: { generation, start: 0, count: 100 } })).result!.rows.map((r) => r.id);
}

/** Another process (a real one) appends these lines to a sidecar. */
function appendFromAnotherProcess(file: string, records: readonly object[]): void {
  const text = records.map((r) => `${JSON.stringify(r)}\n`).join('');
  execFileSync(process.execPath, ['-e', 'require("node:fs").appendFileSync(process.argv[1], process.argv[2])', file, text]);
}

describe('store events: writes patch the rows they name', function () {
  this.timeout(60_000);

  it('a label from the panel patches its row only: the review keeps every other row state, the sort by input survives', async () => {
    const { source, h, changes } = await sortedPanel();
    const review = source.review;
    const states = review.rowStates();
    const untouched = states.get(30);
    const served = source.rowsServed;
    assert.equal(h.last('summary/didChange').summary?.annotated, 1);

    await h.request({ type: 'row/annotate', params: { rowId: 'r12', target: 'reference', label: 'incomplete' } });
    await h.controller.settled();
    assert.equal(h.last('summary/didChange').summary?.annotated, 2, 'the summary counts the new label');

    assert.deepEqual(changes, [[12]], 'the annotation store named row 12, and only it');
    assert.equal(review.rowStates(), states, 'the row states were patched, not rebuilt');
    assert.equal(review.rowStates().get(30), untouched);
    assert.deepEqual(review.rowStates().get(12)?.annotations.map((p) => p.annotation.label), ['incomplete']);
    assert.equal(source.rowsServed - served, 1, 'the sort columns re-read the one labelled row, not the file');

    // The label is in the panel's data: sorted by label, row 12 ('incomplete') comes before row 7 ('wrong').
    await h.controller.handle({ type: 'view/setQuery', seq: 1, query: { sort: { column: 'annotation', descending: false }, filter: {} } });
    assert.deepEqual((await pageIds(h)).slice(0, 2), ['r12', 'r7']);

    // Removing it names the row too, and the states stay patched.
    const id = review.rowStates().get(12)!.annotations[0].annotation.id;
    await source.removeAnnotation(id);
    assert.deepEqual(changes.at(-1), [12]);
    assert.equal(review.rowStates(), states);
    assert.equal(review.rowStates().get(12)?.annotations.length ?? 0, 0);
  });

  it('results a run appends patch their rows: no whole rebuild, the rows named', async () => {
    const { source, changes } = await sortedPanel();
    const states = source.review.rowStates();
    const mean = source.summary()?.models[0].mean;
    await source.setScores([[3, 'gpt', 0.05], [9, 'gpt', 0.95]]);
    assert.deepEqual(changes, [[3, 9]]);
    assert.notEqual(source.summary()?.models[0].mean, mean, 'the scores\' summary is made again');
    assert.equal(source.summary()?.annotated, 1);
    assert.equal(source.review.rowStates(), states);
    assert.equal(source.review.rowState(3)?.results[0].score, 0.05);
  });

  it('a refresh after this process\'s own writes reads nothing and announces nothing', async () => {
    const { source, changes } = await sortedPanel();
    const annotations = await source.review.annotationStore();
    const results = await source.review.resultsStore();
    await source.annotate(5, { kind: 'reference' }, 'off-topic');
    await source.setScore(5, 'gpt', 0.2);
    assert.deepEqual(changes, [[5], [5]]);
    assert.equal(await annotations.refresh(), false);
    assert.equal(await results.refresh(), undefined);
    assert.deepEqual(changes, [[5], [5]], 'no echo');
  });

  it('another process\'s appends are read on refresh and patch the rows they name', async () => {
    const { source, changes } = await sortedPanel();
    const review = source.review;
    const states = review.rowStates();
    const annotations = await review.annotationStore();
    const results = await review.resultsStore();
    // Wait for a positive signal first: our own label is known, then the other writer's lines arrive.
    await source.annotate(2, { kind: 'reference' }, 'fine');
    assert.deepEqual(changes, [[2]]);

    appendFromAnotherProcess(annotations.file, [{ v: 1, op: 'set', id: 'cli-1', at: new Date().toISOString(), rowId: 'r20', rowHash: review.dataset.rowHash(20), target: 'reference', label: 'hallucinated' }]);
    assert.equal(await annotations.refresh(), true);
    assert.deepEqual(changes.at(-1), [20]);
    assert.deepEqual(review.rowState(20)?.annotations.map((p) => p.annotation.label), ['hallucinated']);

    appendFromAnotherProcess(results.file, [{ rowId: 'r33', rowHash: review.dataset.rowHash(33), model: 'gpt', source: 'called', output: 'from the CLI', score: 0.99, at: new Date().toISOString() }]);
    const read = await results.refresh();
    assert.deepEqual(read?.records.map((r) => r.rowId), ['r33']);
    assert.equal(read?.whole, false);
    assert.deepEqual(changes.at(-1), [33]);
    assert.equal(review.rowState(33)?.results[0].score, 0.99);
    assert.equal(review.rowStates(), states, 'patched, not rebuilt');
    assert.ok(changes.every((c) => c !== undefined), 'no change was "anything may have changed"');
  });
});
