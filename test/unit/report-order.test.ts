import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ReportDocument } from '../../src/cli/commands/report';
import { DatasetReview } from '../../src/core/review/datasetReview';
import { summaryView } from '../../src/core/review/reviewModel';
import { runCliCaptured } from '../support/cli';
import { makeTempDir } from '../support/files';
import { writeScoredDataset } from '../support/storedResults';

const N = 12;

/**
 * Three models stored in the order offtopic, gpt, ft; configured as ft, gpt. gpt and offtopic fail every row; ft has
 * results on the first 8 rows only and passes the even ones. With offtopic a baseline, a row is suspect only when ft and
 * gpt both fail it (the 4 odd rows of the first 8); counting offtopic, the last 4 rows (gpt and offtopic below) too.
 */
async function setup(dir: string): Promise<{ file: string; config: string }> {
  const file = path.join(dir, 'data.jsonl');
  const rows = Array.from({ length: N }, (_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: `reason ${i}` }));
  await writeScoredDataset(file, rows, (i) => [
    { model: 'offtopic', output: 'bananas', score: 0.1 + i / 1000 },
    { model: 'gpt', output: 'maybe', score: 0.45 + i / 1000 },
    ...(i < 8 ? [{ model: 'ft', output: `reason ${i}`, score: i % 2 === 0 ? 0.9 : 0.6 - i / 1000 }] : []),
  ]);
  const model = (name: string) => ({ name, baseUrl: 'http://127.0.0.1:9/v1', model: name });
  const config = path.join(dir, 'config.json');
  await fsp.writeFile(config, JSON.stringify({ models: [model('ft'), model('gpt')], baselineModels: ['offtopic'] }));
  return { file, config };
}

describe('one reading of a report: model order, the sign of a difference, baselines out of the suspect rule', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());

  it('the CLI and the panel list models in one order and count suspect references alike, baselines left out', async () => {
    const { file, config } = await setup(tmp.dir);
    const r = await runCliCaptured(['report', file, '--json', '--config', config], { cwd: tmp.dir });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as ReportDocument;
    assert.deepEqual(doc.models.map((m) => m.model), ['ft', 'gpt', 'offtopic'], 'configured first, then first seen');
    assert.deepEqual(doc.statistics.models.map((m) => m.model), ['ft', 'gpt', 'offtopic']);
    assert.deepEqual(doc.suspectRule, { models: ['ft', 'gpt'], baselines: ['offtopic'] });
    assert.equal(doc.suspectReferences, 4, 'the odd rows of the first 8: ft and gpt both below');

    // Without the baseline the last 4 rows count too: gpt and offtopic are two models, both below.
    const all = JSON.parse((await runCliCaptured(['report', file, '--json', '--config', config, '--baselines', ''], { cwd: tmp.dir })).stdout) as ReportDocument;
    assert.equal(all.suspectReferences, 8);
    assert.deepEqual(all.suspectRule, { models: ['ft', 'gpt', 'offtopic'], baselines: [] });

    const review = await DatasetReview.open(file, { threshold: 0.7, models: [{ name: 'ft' }, { name: 'gpt' }], baselineModels: ['offtopic'] });
    {
      assert.deepEqual(review.models(), ['ft', 'gpt', 'offtopic']);
      const panel = summaryView(review);
      assert.deepEqual(panel.models.map((m) => m.model), doc.models.map((m) => m.model));
      assert.equal(panel.suspect, doc.suspectReferences);
      const gap = panel.gaps.find((g) => g.a === 'ft' && g.b === 'gpt')!;
      assert.ok(Math.abs(gap.difference! - doc.gaps.find((g) => g.a === 'ft' && g.b === 'gpt')!.difference) < 1e-12);
    }
    await review.dataset.close();
  });

  it('the gap table and the paired test below it give one difference with one sign (b - a)', async () => {
    const { file, config } = await setup(tmp.dir);
    const md = await runCliCaptured(['report', file, '--config', config], { cwd: tmp.dir });
    assert.equal(md.code, 0, md.stderr);
    const doc = JSON.parse((await runCliCaptured(['report', file, '--json', '--config', config], { cwd: tmp.dir })).stdout) as ReportDocument;
    for (const g of doc.gaps) {
      const pair = doc.statistics.pairs.list.find((p) => p.a === g.a && p.b === g.b)!;
      assert.ok(pair, `a paired test for ${g.a} / ${g.b} in the same orientation`);
      // The gap compares each model's own rows, the test only the rows both scored: the numbers may differ, the sign not.
      assert.equal(Math.sign(g.difference), Math.sign(pair.meanDifference!.value), `${g.a} ${g.b}: gap ${g.difference} vs paired ${pair.meanDifference!.value}`);
      assert.ok(Math.abs(g.difference - ((pair.meanB ?? 0) - (pair.meanA ?? 0))) < 0.05, 'of the same size');
      assert.ok(Math.abs(g.meanGap + g.difference) < 1e-12, 'meanGap keeps its old sign for earlier readers');
    }
    // The Markdown shows the same signed number in both tables: gpt - ft is negative.
    const gapLine = md.stdout.split('\n').find((l) => /^\| ft +\| gpt +\| /.test(l))!;
    const pairLine = md.stdout.split('\n').filter((l) => /^\| ft +\| gpt +\| /.test(l))[1];
    assert.match(gapLine, /\| -0\.\d+/, gapLine);
    assert.match(pairLine, /\| -0\.\d+/, pairLine);
    assert.match(md.stdout, /mean b - a/);
    assert.doesNotMatch(md.stdout, /a - b/);
  });
});
