import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { ReportDocument } from '../../src/cli/commands/report';
import { DatasetReview } from '../../src/core/review/datasetReview';
import { summaryView } from '../../src/core/review/reviewModel';
import { runCliCaptured } from '../support/cli';
import { makeTempDir } from '../support/files';
import { writeScoredDataset } from '../support/storedResults';

/** Cosine similarities as a model gives them: two below 0 (opposite meaning), one of exactly 1, the rest between. */
const SCORES = [-0.237, -0.05, 0.05, 0.34, 0.72, 1];

describe('score distribution: each bin labelled with the range it really holds (CLI report and panel)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let file: string;
  beforeEach(async () => {
    tmp = makeTempDir();
    file = path.join(tmp.dir, 'data.jsonl');
    const rows = SCORES.map((_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: `reason ${i}` }));
    await writeScoredDataset(file, rows, (i) => [{ model: 'm', output: `out ${i}`, score: SCORES[i] }]);
  });
  afterEach(() => tmp.cleanup());

  it('report --json, md and csv: the first bin reaches down to the lowest negative score', async () => {
    const json = await runCliCaptured(['report', file, '--json'], { cwd: tmp.dir });
    assert.equal(json.code, 0, json.stderr);
    const bins = (JSON.parse(json.stdout) as ReportDocument).models[0].histogram;
    assert.equal(bins.length, 10);
    assert.deepEqual(bins[0], { from: -0.24, to: 0.1, count: 3, label: '\u22120.24–0.1' }, 'the two negative scores and 0.05');
    assert.deepEqual(bins[3], { from: 0.3, to: 0.4, count: 1, label: '0.3–0.4' });
    assert.deepEqual(bins[9], { from: 0.9, to: 1, count: 1, label: '0.9–1.0' });
    assert.equal(bins.reduce((n, b) => n + b.count, 0), SCORES.length, 'every score in one bin');
    for (const score of SCORES) assert.ok(bins.some((b) => b.count > 0 && score >= b.from && score <= b.to), `${score} lies inside a bin's label`);

    const md = await runCliCaptured(['report', file], { cwd: tmp.dir });
    assert.equal(md.code, 0, md.stderr);
    assert.match(md.stdout, /\*\*Score distribution\*\*/);
    assert.match(md.stdout, /\| m \| \u22120\.24–0\.1 \| 3 \|/);
    assert.match(md.stdout, /\| m \| 0\.9–1\.0 \| 1 \|/);
    assert.doesNotMatch(md.stdout, /\| 0\.0–0\.1 \|/, 'no bin claims 0.0–0.1 while holding negative scores');

    const csv = await runCliCaptured(['report', file, '--format', 'csv'], { cwd: tmp.dir });
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(csv.stdout, /# score distribution\r\nmodel,range,from,to,count\r\nm,\u22120\.24–0\.1,-0\.24,0\.1,3\r\n/);
  });

  it('the panel\'s summary gives the same bins and labels as the report', async () => {
    const json = JSON.parse((await runCliCaptured(['report', file, '--json'], { cwd: tmp.dir })).stdout) as ReportDocument;
    const review = await DatasetReview.open(file, { threshold: 0.7, models: [{ name: 'm' }] });
    const panel = summaryView(review).models[0];
    assert.deepEqual(panel.histogramBins, json.models[0].histogram);
    assert.deepEqual(panel.histogram, json.models[0].histogram.map((b) => b.count));
    assert.equal(panel.histogramBins[0].label, '\u22120.24–0.1');
  });
});
