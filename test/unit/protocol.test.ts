import * as assert from 'node:assert/strict';
import type { DatasetView, RowDetail, RowsPage } from '../../src/shared/protocol';
import { makeRow, MemoryPanelData, PanelHarness } from './panelFixture';

function sample(): MemoryPanelData {
  const data = new MemoryPanelData('/work/data.jsonl', [0, 1, 2, 3].map((i) => makeRow(i)), ['ft', 'gpt']);
  data.setScore(0, 'ft', 0.9);
  data.setScore(0, 'gpt', 0.4);
  data.setScore(1, 'ft', 0.5);
  data.setScore(1, 'gpt', 0.6);
  return data;
}

describe('panel protocol: host-side message handling', () => {
  it('queues snapshots until the webview says ready, keeping only the latest of each kind', async () => {
    const h = new PanelHarness();
    await h.controller.setData(sample());
    await h.controller.setData(sample());
    h.controller.cursorChanged(2);
    assert.equal(h.sent.length, 0, 'nothing reaches a webview that has not said ready');

    await h.controller.handle({ type: 'webview/ready' });
    const kinds = h.sent.map((m) => m.type);
    assert.equal(kinds.filter((k) => k === 'dataset/didChange').length, 2, 'one queued snapshot, one fresh on ready');
    const dataset = h.last('dataset/didChange').dataset as DatasetView;
    assert.deepEqual(dataset.models, ['ft', 'gpt']);
    assert.equal(dataset.rowCount, 4);
    assert.equal(dataset.name, 'data.jsonl');
    assert.equal(h.last('rows/didChange').total, 4);
    assert.deepEqual(h.last('cursor/didChange'), { type: 'cursor/didChange', index: 2, position: 2 });
  });

  it('answers every request with its id, ok and a result or an error', async () => {
    const h = new PanelHarness();
    await h.controller.handle({ type: 'webview/ready' });
    const noData = await h.request({ type: 'row/detail', params: { index: 0 } });
    assert.equal(noData.ok, false);
    assert.match(noData.error!, /No dataset is open/);

    await h.controller.setData(sample());
    const detail = await h.request<RowDetail>({ type: 'row/detail', params: { index: 1 } });
    assert.equal(detail.ok, true);
    assert.equal(detail.result!.id, 'r1');
    assert.deepEqual(
      detail.result!.outputs.map((o) => [o.model, o.score?.score]),
      [
        ['ft', 0.5],
        ['gpt', 0.6],
      ],
    );

    const outOfRange = await h.request({ type: 'row/detail', params: { index: 99 } });
    assert.equal(outOfRange.ok, false);
    assert.match(outOfRange.error!, /Row 99 is not in \/work\/data.jsonl/);
  });

  it('passes actions to the host and validates labels and targets first', async () => {
    const h = new PanelHarness();
    await h.controller.setData(sample());
    await h.controller.handle({ type: 'webview/ready' });

    await h.controller.handle({ type: 'row/select', index: 3 });
    assert.equal((await h.request({ type: 'row/score', params: { indexes: [1], models: ['gpt'], rerun: true } })).ok, true);
    assert.equal((await h.request({ type: 'rows/scoreAll', params: {} })).ok, true);
    assert.equal((await h.request({ type: 'row/annotate', params: { index: 2, target: 'reference', label: 'wrong', note: '  too vague ' } })).ok, true);
    assert.equal((await h.request({ type: 'row/removeAnnotation', params: { index: 2, target: 'gpt' } })).ok, true);
    assert.equal((await h.request({ type: 'report/export', params: {} })).ok, true);

    const badLabel = await h.request({ type: 'row/annotate', params: { index: 2, target: 'reference', label: 'meh' } });
    assert.equal(badLabel.ok, false);
    assert.match(badLabel.error!, /Unknown label "meh": use one of wrong, incomplete/);
    const badTarget = await h.request({ type: 'row/annotate', params: { index: 2, target: 'claude', label: 'wrong' } });
    assert.match(badTarget.error!, /Unknown target "claude"/);
    const noRows = await h.request({ type: 'row/score', params: { indexes: [-1, 7] } });
    assert.match(noRows.error!, /No row to score/);

    assert.deepEqual(h.actions.calls, ['reveal 3', 'score 1 models=gpt rerun', 'scoreAll', 'annotate 2 reference wrong "too vague"', 'remove 2 gpt', 'export']);
  });

  it('reports a failing action as an error response, not a crash', async () => {
    const h = new PanelHarness();
    await h.controller.setData(sample());
    await h.controller.handle({ type: 'webview/ready' });
    h.actions.scoreAll = async () => {
      throw new Error('ft: 401 Unauthorized. Set the key with "PiSAR Review: Set API Key".');
    };
    const answer = await h.request({ type: 'rows/scoreAll', params: {} });
    assert.deepEqual(answer, { ok: false, error: 'ft: 401 Unauthorized. Set the key with "PiSAR Review: Set API Key".' });
  });

  it('ignores a select outside the dataset', async () => {
    const h = new PanelHarness();
    await h.controller.setData(sample());
    await h.controller.handle({ type: 'webview/ready' });
    await h.controller.handle({ type: 'row/select', index: 4 });
    assert.deepEqual(h.actions.calls, []);
  });

  it('serves pages of at most 500 rows and answers a stale generation with no rows', async () => {
    const h = new PanelHarness();
    const data = new MemoryPanelData('/d.jsonl', Array.from({ length: 2000 }, (_, i) => makeRow(i)), ['ft']);
    await h.controller.setData(data);
    await h.controller.handle({ type: 'webview/ready' });
    const { generation, total } = h.last('rows/didChange');
    assert.equal(total, 2000);

    const page = await h.request<RowsPage>({ type: 'rows/page', params: { generation, start: 1900, count: 5000 } });
    assert.equal(page.result!.rows.length, 100, 'clamped at the end of the view');
    const big = await h.request<RowsPage>({ type: 'rows/page', params: { generation, start: 0, count: 5000 } });
    assert.equal(big.result!.rows.length, 500, 'clamped at the largest page');

    await h.controller.handle({ type: 'view/setQuery', query: { sort: { column: 'index', descending: true }, filter: {} } });
    const stale = await h.request<RowsPage>({ type: 'rows/page', params: { generation, start: 0, count: 10 } });
    assert.equal(stale.result!.rows.length, 0);
    assert.equal(stale.result!.generation, h.last('rows/didChange').generation);
  });

  it('a re-created webview gets the current state again after ready', async () => {
    const h = new PanelHarness();
    await h.controller.setData(sample());
    await h.controller.handle({ type: 'webview/ready' });
    await h.controller.handle({ type: 'view/setQuery', query: { sort: { column: 'score:ft', descending: true }, filter: {} } });

    const second: typeof h.sent = [];
    h.controller.attach((m) => second.push(m));
    h.controller.rowsChanged();
    await h.controller.settled();
    assert.equal(second.length, 0, 'queued until ready');
    await h.controller.handle({ type: 'webview/ready', query: { sort: { column: 'score:ft', descending: true }, filter: { below: 'any' } } });
    const rows = second.filter((m) => m.type === 'rows/didChange').pop();
    assert.ok(rows && rows.type === 'rows/didChange');
    assert.equal(rows.total, 2, 'the restored query (below threshold) applies');
    assert.ok(second.some((m) => m.type === 'dataset/didChange'));
  });
});
