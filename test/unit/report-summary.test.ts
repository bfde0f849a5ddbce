import * as assert from 'node:assert/strict';
import { median, summarize, type ResultLookup } from '../../src/core/report/summary';
import { renderCsv, renderMarkdown, renderReport, reportSummaryOf } from '../../src/core/report/render';
import type { StoredResult } from '../../src/core/store/results';

function lookup(results: Partial<StoredResult>[]): ResultLookup {
  const map = new Map<string, StoredResult>();
  const models: string[] = [];
  for (const r of results) {
    const full = { source: 'called', at: '', rowHash: 'h', ...r } as StoredResult;
    map.set(`${full.rowId}|${full.model}`, full);
    if (!models.includes(full.model)) models.push(full.model);
  }
  return { latest: (rowId, model) => map.get(`${rowId}|${model}`), models: () => [...models] };
}

const rows = ['a', 'b', 'c', 'd'].map((id) => ({ id, hash: 'h' }));

describe('report summary', () => {
  it('computes mean, median, share at or above the threshold, failures, stale and missing per model', () => {
    const s = summarize(rows, lookup([
      { rowId: 'a', model: 'x', output: 'o', score: 0.9 },
      { rowId: 'b', model: 'x', output: 'o', score: 0.7 },
      { rowId: 'c', model: 'x', output: 'o', score: 0.2 },
      { rowId: 'd', model: 'x', error: { kind: 'timeout', message: 't' } },
      { rowId: 'a', model: 'y', output: 'o', score: 0.5 },
      { rowId: 'b', model: 'y', output: 'o', score: 0.1, rowHash: 'old' },
      { rowId: 'c', model: 'y', output: 'o' },
    ]), 0.7);
    const [{ histogram: hx, ...x }, { histogram: hy, ...y }] = s.models;
    assert.deepEqual(hx.map((b) => b.count), [0, 0, 1, 0, 0, 0, 0, 1, 0, 1], 'the current scores binned: 0.2, 0.7, 0.9');
    assert.deepEqual(hy.map((b) => b.count), [0, 0, 0, 0, 0, 1, 0, 0, 0, 0], 'the stale 0.1 left out');
    assert.deepEqual({ ...x, mean: +x.mean!.toFixed(6) }, { model: 'x', rows: 4, scored: 3, mean: 0.6, median: 0.7, shareAtOrAbove: 2 / 3, failed: 1, empty: 0, unmeasurable: 0, cut: 0, stale: 0, missing: 0, tokens: { input: 0, output: 0, withUsage: 0 }, cost: null });
    assert.deepEqual(y, { model: 'y', rows: 2, scored: 1, mean: 0.5, median: 0.5, shareAtOrAbove: 0, failed: 0, empty: 0, unmeasurable: 0, cut: 0, stale: 1, missing: 1, tokens: { input: 0, output: 0, withUsage: 0 }, cost: null });
    assert.equal(s.gaps.length, 1);
    assert.equal(s.gaps[0].a, 'x');
    assert.ok(Math.abs(s.gaps[0].meanGap - 0.1) < 1e-9);
    assert.equal(s.totalRows, 4);
  });

  it('counts a row as a suspect reference when two or more models all score it below the threshold', () => {
    const s = summarize(rows, lookup([
      { rowId: 'a', model: 'x', output: 'o', score: 0.3 },
      { rowId: 'a', model: 'y', output: 'o', score: 0.4 },
      { rowId: 'b', model: 'x', output: 'o', score: 0.3 },
      { rowId: 'b', model: 'y', output: 'o', score: 0.8 },
      { rowId: 'c', model: 'x', output: 'o', score: 0.1 },
    ]), 0.7);
    assert.equal(s.suspectReferences, 1);
  });

  it('gives null numbers for a model with nothing scored, and no gap for it', () => {
    const s = summarize(rows, lookup([{ rowId: 'a', model: 'x', error: { kind: 'auth', message: 'm' } }, { rowId: 'a', model: 'y', output: 'o', score: 1 }]));
    assert.deepEqual([s.models[0].mean, s.models[0].median, s.models[0].shareAtOrAbove], [null, null, null]);
    assert.deepEqual(s.gaps, []);
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    assert.equal(median([0.4, 0.1, 0.3, 0.2]), 0.25);
    assert.equal(median([]), null);
  });

  it('renders tables that a hostile model name or row id cannot break or turn into a formula', () => {
    const s = summarize([{ id: 'r', hash: 'h' }], lookup([{ rowId: 'r', model: '=HYPERLINK("x")|\u001b[31mred', output: 'o', score: 0.75 }]));
    const input = { summary: reportSummaryOf(s), models: s.models.map((m) => m.model) };
    const md = renderMarkdown(input);
    assert.ok(!md.includes('\u001b'), 'no ANSI escape reaches the terminal');
    assert.match(md, /\| =HYPERLINK\("x"\)\\\|\\\\u001b\\\[31mred \| 1 \| 1 \| 0\.750 \| 0\.750 \| 100\.0% \| 0 \| 0 \|/);
    const csv = renderCsv(input);
    assert.match(csv, /\r\n"'=HYPERLINK\(""x""\)\|\\u001b\[31mred",1,1,0\.75,0\.75,1,0,0,?\r\n/);
  });

  it('the panel\'s Markdown and CSV exports carry each model\'s output text, escaped as data', () => {
    const s = summarize([{ id: 'r', hash: 'h' }], lookup([{ rowId: 'r', model: 'gpt', output: 'x', score: 0.75 }]));
    const hostile = '=HYPERLINK("http://evil")|[run](command:workbench.action.terminal.new) <img src=x>\nsecond line';
    const input = {
      summary: reportSummaryOf(s), models: ['gpt', 'ft'], distribution: true,
      rows: [{ id: 'r', line: 1, input: 'q', reference: 'ref', scores: { gpt: { score: 0.75 } }, outputs: { gpt: hostile, ft: 'plain answer' } }],
    };
    const [md] = renderReport('markdown', input);
    const header = md.text.split('\n').find((l) => l.startsWith('| id |'))!;
    assert.match(header, /\| gpt \| ft \| output: gpt \| output: ft \|/);
    const line = md.text.split('\n').find((l) => l.startsWith('| r |'))!;
    assert.ok(line.includes('plain answer'), line);
    assert.ok(line.includes('\\[run\\](command:workbench.action.terminal.new)'), `a link in an output is text, not a link: ${line}`);
    assert.ok(line.includes('\\|'), 'a pipe in an output cannot end its cell');
    assert.ok(line.includes('\\<img src=x>') && !/[^\\]<img/.test(line), 'no HTML tag survives');
    assert.equal(md.text.split('\n').filter((l) => l.startsWith('| r |')).length, 1, 'a newline in an output stays in its row');

    const [rowsCsv] = renderReport('csv', input);
    const [head, row] = rowsCsv.text.split('\r\n');
    assert.ok(head.endsWith(',output:gpt,output:ft'), head);
    assert.ok(row.includes('"\'=HYPERLINK(""http://evil"")|[run](command:workbench.action.terminal.new) <img src=x>\nsecond line"'), `the formula is neutralised, the text kept: ${row}`);
    assert.ok(row.endsWith(',plain answer'));
  });
});
