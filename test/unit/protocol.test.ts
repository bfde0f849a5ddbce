import * as assert from 'node:assert/strict';
import type { DatasetView, RowDetail, RowsPage } from '../../src/shared/protocol';
import { isPanelMessage } from '../../src/host/panel/panelController';
import { PanelHarness, ReviewFixture, rows } from './reviewFixture';

async function sample(): Promise<ReviewFixture> {
  const images = ['data:image/png;base64,iVBORw0KGgo=', 'pictures/cat.png'];
  const source = await ReviewFixture.create(rows(4, (i) => (i === 1 ? { images } : {})), ['ft', 'gpt']);
  await source.setScores([
    [0, 'ft', 0.9],
    [0, 'gpt', 0.4],
    [1, 'ft', { score: 0.5, output: 'ft says', latencyMs: 120 }],
    [1, 'gpt', { error: 'HTTP 500' }],
  ]);
  return source;
}

describe('panel protocol: host-side message handling', () => {
  it('queues snapshots until the webview says ready, keeping only the latest of each kind', async () => {
    const h = new PanelHarness(await sample());
    await h.controller.datasetChanged();
    await h.controller.datasetChanged();
    h.controller.cursorChanged(2);
    assert.equal(h.sent.length, 0, 'nothing reaches a webview that has not said ready');

    await h.controller.handle({ type: 'webview/ready' });
    const kinds = h.sent.map((m) => m.type);
    assert.equal(kinds.filter((k) => k === 'dataset/didChange').length, 2, 'one queued snapshot, one fresh on ready');
    assert.equal(kinds.filter((k) => k === 'rows/didChange').length, 2);
    const dataset = h.last('dataset/didChange').dataset as DatasetView;
    assert.deepEqual(dataset.models, ['ft', 'gpt']);
    assert.equal(dataset.rowCount, 4);
    assert.equal(dataset.name, 'data.jsonl');
    assert.equal(h.last('rows/didChange').total, 4);
    assert.deepEqual(h.last('cursor/didChange'), { type: 'cursor/didChange', index: 2, rowId: 'r2', position: 2 });
  });

  it('answers every request with its id, ok and a result or an error', async () => {
    const source = await sample();
    const h = new PanelHarness(source);
    await h.controller.handle({ type: 'webview/ready' });
    const detail = await h.request<RowDetail>({ type: 'row/detail', params: { rowId: 'r1' } });
    assert.equal(detail.ok, true);
    assert.equal(detail.result!.id, 'r1');
    assert.deepEqual(detail.result!.outputs, [
      { model: 'ft', output: 'ft says', score: { score: 0.5, text: '0.50', below: true }, latencyMs: 120 },
      { model: 'gpt', output: null, score: { score: null, error: 'server: HTTP 500' } },
    ]);
    assert.deepEqual(detail.result!.images, [
      { kind: 'data', source: 'data:image/png;base64,iVBORw0KGgo=', dataUrl: 'data:image/png;base64,iVBORw0KGgo=' },
      { kind: 'path', source: 'pictures/cat.png', problem: '"pictures/cat.png" is not read in tests' },
    ]);

    const outOfRange = await h.request({ type: 'row/detail', params: { rowId: 'r99' } });
    assert.equal(outOfRange.ok, false);
    assert.match(outOfRange.error!, /Row "r99" is not in \/.*\/data\.jsonl any more \(the file was edited\): select the row again/);
  });

  it('passes actions to the host and validates labels, targets and models first', async () => {
    const source = await sample();
    const h = new PanelHarness(source);
    await h.controller.handle({ type: 'webview/ready' });

    await h.controller.handle({ type: 'row/select', rowId: 'r3' });
    assert.equal((await h.request({ type: 'row/score', params: { rowIds: ['r1'], models: ['gpt'], rerun: true } })).ok, true);
    assert.equal((await h.request({ type: 'rows/scoreAll', params: {} })).ok, true);
    assert.equal((await h.request({ type: 'row/annotate', params: { rowId: 'r2', target: 'gpt', label: 'wrong', note: '  too vague ' } })).ok, true);
    assert.equal((await h.request({ type: 'row/removeAnnotation', params: { rowId: 'r2', target: 'gpt' } })).ok, true);
    assert.equal((await h.request({ type: 'report/export', params: {} })).ok, true);

    const badLabel = await h.request({ type: 'row/annotate', params: { rowId: 'r2', target: 'reference', label: 'meh' } });
    assert.match(badLabel.error!, /Unknown label "meh": use one of wrong, incomplete/);
    const badTarget = await h.request({ type: 'row/annotate', params: { rowId: 'r2', target: 'claude', label: 'wrong' } });
    assert.match(badTarget.error!, /Unknown target "claude"/);
    const badModel = await h.request({ type: 'row/score', params: { rowIds: ['r1'], models: ['claude'] } });
    assert.match(badModel.error!, /Model "claude" is not in the pisarReview.models setting/);
    const noRows = await h.request({ type: 'row/score', params: { rowIds: ['gone', 'r7'] } });
    assert.match(noRows.error!, /No row to score/);
    const nothingToRemove = await h.request({ type: 'row/removeAnnotation', params: { rowId: 'r0', target: 'reference' } });
    assert.match(nothingToRemove.error!, /Row r0 has no annotation on its reference/);

    const removed = source.calls[4];
    assert.deepEqual(source.calls, ['reveal 3', 'score 1 models=gpt rerun', 'scoreAll', 'annotate 2 gpt wrong "too vague"', removed, 'export']);
    assert.match(removed, /^remove \S+$/);
    const sidecar = await source.review.annotationStore();
    assert.equal(sidecar.size, 0, 'the annotation was written to the sidecar and removed from it');
  });

  it('acts on the row the webview names by id, though an edit above it moved its index', async () => {
    const source = await sample();
    const h = new PanelHarness(source);
    await h.controller.handle({ type: 'webview/ready' });
    // The panel shows r2 at index 2; the user inserts a row above it in the editor.
    source.editRows([{ id: 'inserted', input: 'a new first row', reference: 'x' }, ...rows(4)]);
    h.controller.rowsChanged();
    await h.controller.settled();
    assert.equal((await h.request({ type: 'row/annotate', params: { rowId: 'r2', target: 'reference', label: 'wrong' } })).ok, true);
    assert.equal(source.calls.pop(), 'annotate 3 reference wrong', 'r2 is row 3 now');
    const store = await source.review.annotationStore();
    assert.deepEqual(store.all().map((a) => a.rowId), ['r2']);
    await h.controller.handle({ type: 'row/select', rowId: 'r2' });
    assert.equal(source.calls.pop(), 'reveal 3');

    // A row deleted meanwhile is an error that says so, never another row's label.
    source.editRows(rows(4).filter((r) => r.id !== 'r1'));
    h.controller.rowsChanged();
    await h.controller.settled();
    const gone = await h.request({ type: 'row/annotate', params: { rowId: 'r1', target: 'reference', label: 'wrong' } });
    assert.match(gone.error!, /Row "r1" is not in .*data\.jsonl any more \(the file was edited\): select the row again\./);
    assert.deepEqual(store.all().map((a) => a.rowId), ['r2']);
  });

  it('reports a failing action as an error response, not a crash', async () => {
    const source = await sample();
    const h = new PanelHarness(source);
    await h.controller.handle({ type: 'webview/ready' });
    source.scoreAll = async () => {
      throw new Error('ft: 401 Unauthorized. Set the key with "PiSAR Review: Set API Key".');
    };
    const answer = await h.request({ type: 'rows/scoreAll', params: {} });
    assert.deepEqual(answer, { ok: false, error: 'ft: 401 Unauthorized. Set the key with "PiSAR Review: Set API Key".' });
  });

  it('says so when no dataset is open', async () => {
    const source = await sample();
    await source.switchTo(undefined);
    const h = new PanelHarness(source);
    await h.controller.handle({ type: 'webview/ready' });
    assert.equal(h.last('dataset/didChange').dataset, null);
    assert.equal(h.last('rows/didChange').total, 0);
    const answer = await h.request({ type: 'rows/scoreAll', params: {} });
    assert.match(answer.error!, /No dataset is open: open a PiSAR .jsonl file/);
    await h.controller.handle({ type: 'row/select', rowId: 'r0' });
    assert.deepEqual(source.calls, []);
  });

  it('serves pages of at most 500 rows and answers a stale generation with no rows', async () => {
    const source = await ReviewFixture.create(rows(2000), ['ft']);
    const h = new PanelHarness(source);
    await h.controller.handle({ type: 'webview/ready' });
    const { generation, total } = h.last('rows/didChange');
    assert.equal(total, 2000);
    assert.equal(source.rowsServed, 0, 'file order needs no row to be read');

    const page = await h.request<RowsPage>({ type: 'rows/page', params: { generation, start: 1900, count: 5000 } });
    assert.equal(page.result!.rows.length, 100, 'clamped at the end of the view');
    assert.equal(page.result!.rows[0].id, 'r1900');
    const big = await h.request<RowsPage>({ type: 'rows/page', params: { generation, start: 0, count: 5000 } });
    assert.equal(big.result!.rows.length, 500, 'clamped at the largest page');

    await h.controller.handle({ type: 'view/setQuery', query: { sort: { column: 'index', descending: true }, filter: {} }, seq: 1 });
    assert.equal(h.last('rows/didChange').seq, 1, 'the view says which query it answers');
    const stale = await h.request<RowsPage>({ type: 'rows/page', params: { generation, start: 0, count: 10 } });
    assert.equal(stale.result!.rows.length, 0);
    assert.equal(stale.result!.generation, h.last('rows/didChange').generation);
  });

  it('a re-created webview gets the current state again after ready, with its saved query', async () => {
    const h = new PanelHarness(await sample());
    await h.controller.handle({ type: 'webview/ready' });

    const second: typeof h.sent = [];
    h.controller.attach((m) => second.push(m));
    h.controller.rowsChanged([0]);
    await h.controller.settled();
    assert.equal(second.length, 0, 'queued until ready');
    await h.controller.handle({ type: 'webview/ready', query: { sort: { column: 'score:ft', descending: true }, filter: { below: 'any' } } });
    const last = second.filter((m) => m.type === 'rows/didChange').pop();
    assert.ok(last && last.type === 'rows/didChange');
    assert.equal(last.total, 2, 'the restored query (below threshold) applies');
    assert.ok(second.some((m) => m.type === 'dataset/didChange'));
  });

  it('accepts only well-formed messages from the webview', () => {
    const query = { sort: { column: 'index', descending: false }, filter: {} };
    assert.equal(isPanelMessage({ type: 'webview/ready' }), true);
    assert.equal(isPanelMessage({ type: 'webview/ready', query }), true);
    assert.equal(isPanelMessage({ type: 'view/setQuery', query, seq: 2 }), true);
    assert.equal(isPanelMessage({ type: 'view/setQuery', query }), false, 'a query needs its seq');
    assert.equal(isPanelMessage({ type: 'row/select', rowId: 'r3' }), true);
    assert.equal(isPanelMessage({ type: 'rows/page', id: 1, params: { generation: 1, start: 0, count: 100 } }), true);

    assert.equal(isPanelMessage(null), false);
    assert.equal(isPanelMessage('rows/page'), false);
    assert.equal(isPanelMessage({ type: 'rows/page', params: {} }), false, 'a request needs an id');
    assert.equal(isPanelMessage({ type: 'rows/page', id: 1.5, params: {} }), false);
    assert.equal(isPanelMessage({ type: 'row/detail', id: 2 }), false, 'and params');
    assert.equal(isPanelMessage({ type: 'view/setQuery', query: { sort: { column: 1 }, filter: {} }, seq: 1 }), false);
    assert.equal(isPanelMessage({ type: 'row/select', rowId: 3 }), false);
    assert.equal(isPanelMessage({ type: 'row/select', index: 3 }), false, 'rows are named by id');
    assert.equal(isPanelMessage({ type: 'secrets/get', id: 1, params: {} }), false);
  });
});
