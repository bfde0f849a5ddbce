import * as assert from 'node:assert/strict';
import { scoreView } from '../../src/core/review/reviewModel';
import { renderMarkdown, renderReport, reportSummaryOf } from '../../src/core/report/render';
import { rowReports } from '../../src/core/report/rows';
import { summarize } from '../../src/core/report/summary';
import {
  currentScore,
  formatScore,
  formatThreshold,
  isNotScored,
  isRowBelow,
  isStale,
  isSuspectReference,
  resultStatus,
} from '../../src/core/rules/rules';
import type { StoredResult } from '../../src/core/store/results';

const result = (r: Partial<StoredResult>): StoredResult => ({ rowId: 'r', rowHash: 'h', model: 'm', source: 'called', at: '', ...r });

describe('review rules (src/core/rules/rules)', () => {
  it('formats a score so that it is shown on the same side of the threshold as it is', () => {
    assert.equal(formatScore(0.8134, 0.7), '0.81');
    assert.equal(formatScore(0.6996, 0.7), '0.6996', 'never "0.70" or "0.700": that reads as passing');
    assert.equal(formatScore(0.69996, 0.7, 3), '0.69996');
    assert.equal(formatScore(0.7, 0.7), '0.70');
    assert.equal(formatScore(0.7049, 0.705), '0.70', '0.70 is below 0.705 as 0.7049 is');
    assert.equal(formatScore(0.7051, 0.7052), '0.705');
    assert.equal(formatScore(0.7051, 0.705), '0.71');
    assert.equal(formatScore(0.6996), '0.70', 'without a threshold, plain rounding');
    for (const threshold of [0.5, 0.7, 0.85, 0.985]) {
      for (let i = 0; i < 2000; i++) {
        const score = threshold + (i - 1000) * 1.37e-5;
        for (const digits of [2, 3]) {
          assert.equal(Number(formatScore(score, threshold, digits)) < threshold, score < threshold, `${score} at ${threshold}: ${formatScore(score, threshold, digits)}`);
        }
      }
    }
    assert.equal(formatThreshold(0.985), '0.985');
    assert.equal(formatThreshold(0.7000000001), '0.7');
  });

  it('classifies a result: scored, failed, empty, not scored; stale by row hash', () => {
    assert.equal(resultStatus(result({ output: 'x', score: 0.4 })), 'scored');
    assert.equal(resultStatus(result({ error: { kind: 'server', message: 'HTTP 500' } })), 'failed');
    assert.equal(resultStatus(result({ output: '  \n' })), 'empty');
    assert.equal(resultStatus(result({ error: { kind: 'empty', message: 'blank answer' } })), 'empty');
    assert.equal(resultStatus(result({ output: 'x', scoreNote: 'the row has no reference' })), 'notScored');
    assert.equal(isStale(result({}), 'h'), false);
    assert.equal(isStale(result({}), 'other'), true);
    assert.equal(currentScore(result({ output: 'x', score: 0.4 }), 'h'), 0.4);
    assert.equal(currentScore(result({ output: 'x', score: 0.4 }), 'other'), undefined, 'a stale score does not count');
  });

  it('decides below, suspect reference and not scored for a row', () => {
    assert.equal(isRowBelow([0.9, 0.69], 0.7), true);
    assert.equal(isRowBelow([0.9, 0.7], 0.7), false);
    assert.equal(isSuspectReference([0.2, 0.69], 0.7), true);
    assert.equal(isSuspectReference([0.69], 0.7), false, 'one model alone does not make a reference suspect');
    assert.equal(isSuspectReference([0.2, 0.7], 0.7), false);
    assert.equal(isNotScored(['a', 'b'], (m) => m === 'a'), true);
    assert.equal(isNotScored(['a', 'b'], () => true), false);
  });

  it('the panel, the CLI report and the export show 0.6996 at 0.7 as the editor does: below, "0.6996"', () => {
    const editor = formatScore(0.6996, 0.7);
    const state = (score: number) => ({ model: 'm', result: result({ output: 'x', score }), stale: false, score, error: undefined });
    assert.deepEqual(scoreView(state(0.6996), 0.7), { score: 0.6996, text: editor, below: true }, 'the panel');
    assert.deepEqual(scoreView(state(0.7), 0.7), { score: 0.7, text: '0.70' });

    const results = { latest: () => result({ output: 'x', score: 0.69996 }), models: () => ['m'] };
    const dataset = { rowIds: () => ['r'], rowHash: () => 'h', rowLine: () => 1, rowCount: 1 };
    const summary = summarize([{ id: 'r', hash: 'h' }], results, 0.7);
    const reports = rowReports(dataset, results, ['m'], 0.7);
    const cli = renderMarkdown({ summary: reportSummaryOf(summary), models: ['m'], rows: reports.map((r) => ({ id: r.id, line: r.line, scores: { m: { score: 0.69996 } } })) });
    assert.match(cli, /\| m \| 1 \| 1 \| 0\.69996 \| 0\.69996 \|/);
    assert.match(cli, /\| r \| 1 \| 0\.69996 ▼ below \|/);
    assert.deepEqual(reports[0].results.m, { status: 'scored', score: 0.69996, pass: false });
    assert.doesNotMatch(cli, /0\.700 /);

    const [md] = renderReport('markdown', {
      summary: { file: 'f', threshold: 0.7, rowCount: 1, models: [], gaps: [], annotated: 0, selection: '' },
      models: ['m'],
      rows: [{ index: 0, line: 1, id: 'r', input: '', reference: null, scores: { m: { score: 0.69996 } }, annotations: [] }],
    });
    assert.match(md.text, /0\.69996 ▼ below/);
  });
});
