import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { ReportDocument } from '../../src/cli/commands/report';
import { seededRandom } from '../../src/core/report/stats';
import { makeTempDir, repoRoot } from '../support/files';
import { type FakeOpenAIServer } from '../support/openaiServer';
import { judgedDataset, judgeServer, latestResults, RECORDED } from '../support/judgeFixture';

// Independent computations: AUC by comparing every bad output with every good one, kappa from its 2x2 table,
// and the interval by the same percentile bootstrap the report says it uses (seeded draws of the labelled outputs).
function pairwiseAuc(points: readonly { v: number; bad: boolean }[]): number | null {
  const bads = points.filter((p) => p.bad);
  const goods = points.filter((p) => !p.bad);
  if (bads.length === 0 || goods.length === 0) return null;
  let wins = 0;
  for (const b of bads) for (const g of goods) wins += b.v < g.v ? 1 : b.v === g.v ? 0.5 : 0;
  return wins / (bads.length * goods.length);
}

function kappa2x2(points: readonly { flagged: boolean; bad: boolean }[]): number | null {
  const n = points.length;
  if (n === 0) return null;
  const po = points.filter((p) => p.flagged === p.bad).length / n;
  const f = points.filter((p) => p.flagged).length / n;
  const b = points.filter((p) => p.bad).length / n;
  const pe = f * b + (1 - f) * (1 - b);
  return pe === 1 ? null : (po - pe) / (1 - pe);
}

function bootstrap<T>(items: readonly T[], statistic: (s: T[]) => number | null, seed: number, resamples: number): { low: number; high: number } {
  const random = seededRandom(seed);
  const values: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const sample = items.map(() => items[Math.floor(random() * items.length)]);
    const v = statistic(sample);
    if (v !== null && Number.isFinite(v)) values.push(v);
  }
  values.sort((a, b) => a - b);
  const quantile = (p: number) => {
    const h = (values.length - 1) * p;
    const lo = Math.floor(h);
    return values[lo] + (h - lo) * (values[Math.min(values.length - 1, lo + 1)] - values[lo]);
  };
  return { low: quantile(0.025), high: quantile(0.975) };
}

/** What the panel's stats/get answers for `data` under the settings of `configFile` (ReviewService.statistics's code path). */
async function panelStatistics(data: string, configFile: string): Promise<unknown> {
  const { DatasetReview } = await import('../../src/core/review/datasetReview');
  const { reviewStatistics, statisticsOptionsOf } = await import('../../src/core/review/reviewStatistics');
  const { loadCliConfig, settingsOf } = await import('../../src/cli/config');
  const settings = settingsOf(await loadCliConfig(configFile, () => undefined));
  const review = await DatasetReview.open(data, settings);
  try {
    // As the webview receives it: a JSON message.
    return JSON.parse(JSON.stringify(await reviewStatistics(review, settings.calibration, statisticsOptionsOf(settings))));
  } finally {
    await review.dataset.close();
  }
}

describe('report ranks the metrics against the reviewers\' labels (issue 24.4)', function () {
  this.timeout(120_000);
  let server: FakeOpenAIServer | undefined;
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('pisar-judge-report-')));
  afterEach(async () => {
    await server?.close();
    server = undefined;
    tmp.cleanup();
  });

  it('AUC and kappa of the judge and the cosine equal an independent computation, with the same bootstrap; cost per 1,000; the disagreement rows exactly', async () => {
    server = await judgeServer();
    const { data, config, cache, cli } = await judgedDataset(server, tmp);
    assert.equal((await cli(['judge', data, '--config', config, ...cache])).code, 1, 'r2\'s answer is unparsable');
    // Labels: bad = wrong, good = fine (the default mapping).
    const labels: Record<string, string> = { r0: 'fine', r1: 'wrong', r2: 'wrong', r3: 'wrong', r4: 'fine', r5: 'fine' };
    for (const [row, label] of Object.entries(labels)) {
      assert.equal((await cli(['label', data, '--row', row, '--model', 'm', '--label', label, '--reviewer', 'ana'])).code, 0);
    }
    const seed = 7;
    const report = await cli(['report', data, '--config', config, '--json', '--seed', String(seed)]);
    assert.equal(report.code, 0, report.stderr);
    const ranking = (JSON.parse(report.stdout) as ReportDocument).statistics.ranking!;
    const metric = (name: string) => ranking.metrics.find((m) => m.metric === name)!;

    // The judge: r2 failed (no verdict), so five labelled verdicts: good r0 r3 r5, bad r1 r4 (r4 with score 2).
    const judgePoints = [
      { v: 5, flagged: false, bad: false }, // r0 good, fine
      { v: 1, flagged: true, bad: true }, // r1 bad, wrong
      { v: 5, flagged: false, bad: true }, // r3 good, wrong
      { v: 2, flagged: true, bad: false }, // r4 score 2, fine
      { v: 5, flagged: false, bad: false }, // r5 good, fine
    ];
    const judge = metric('judge');
    assert.equal(judge.n, 5);
    // By hand: bad r1 (1) beats every good (3), bad r3 (5) ties r0 and r5 (0.5 each): 4 / 6. Kappa: po 3/5, pe .4*.4 + .6*.6 = .52.
    assert.ok(Math.abs(judge.auc!.value - 4 / 6) < 1e-12);
    assert.ok(Math.abs(judge.kappa!.value - (0.6 - 0.52) / 0.48) < 1e-12);
    assert.equal(pairwiseAuc(judgePoints), 4 / 6);
    const judgeAuc = bootstrap(judgePoints, pairwiseAuc, seed, ranking.resamples);
    assert.ok(Math.abs(judge.auc!.low - judgeAuc.low) < 1e-12 && Math.abs(judge.auc!.high - judgeAuc.high) < 1e-12, `${JSON.stringify(judge.auc)} vs ${JSON.stringify(judgeAuc)}`);
    const judgeKappa = bootstrap(judgePoints, kappa2x2, seed, ranking.resamples);
    assert.ok(Math.abs(judge.kappa!.low - judgeKappa.low) < 1e-12 && Math.abs(judge.kappa!.high - judgeKappa.high) < 1e-12);
    assert.equal(judge.auc!.method, 'bootstrap');
    assert.equal(judge.thresholdSource, 'verdict');

    // The cosine, from the scores stored: bad when below the threshold (0.7).
    const stored = await latestResults(data);
    const cosinePoints = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'].map((id) => ({ v: stored.get(id)!.score!, flagged: stored.get(id)!.score! < 0.7, bad: labels[id] === 'wrong' }));
    const cosine = metric('cosine');
    assert.equal(cosine.n, 6);
    assert.ok(Math.abs(cosine.auc!.value - pairwiseAuc(cosinePoints)!) < 1e-12);
    const k = kappa2x2(cosinePoints);
    if (k === null) assert.equal(cosine.kappa, null);
    else assert.ok(Math.abs(cosine.kappa!.value - k) < 1e-12);
    const cosineAuc = bootstrap(cosinePoints, pairwiseAuc, seed, ranking.resamples);
    assert.ok(Math.abs(cosine.auc!.low - cosineAuc.low) < 1e-12 && Math.abs(cosine.auc!.high - cosineAuc.high) < 1e-12);
    assert.equal(cosine.costPer1000, 0);
    assert.equal(metric('rougeL').costPer1000, 0);
    // Ranked by AUC, best first.
    const aucs = ranking.metrics.map((m) => m.auc?.value ?? -Infinity);
    assert.deepEqual(aucs, [...aucs].sort((a, b) => b - a));

    // Cost per 1,000 verdicts: the judge's tokens (the fake server counts words) at its price, over the five verdicts.
    const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
    const answered = server.requests.filter((r) => !(r.prompt.includes('So others can see you.') && r.attempt === 0) && !r.prompt.includes('Braking needs distance.'));
    assert.equal(answered.length, 5);
    const input = answered.reduce((n, r) => n + words(r.prompt), 0);
    const output = answered.reduce((n, r) => n + words(RECORDED[Object.keys(RECORDED).find((o) => r.prompt.includes(`Model's rationale:\n${o}`))!]), 0);
    assert.ok(Math.abs(judge.costPer1000! - ((input * 1000 + output * 2000) / 1e6 / 5) * 1000) < 1e-9);
    assert.deepEqual(ranking.judge, { models: ['judge'], judged: 5, failed: 1, stale: 0, tokens: { input, output } });

    // The rows where the judge and the humans disagree: exactly r3 (judge good, label wrong) and r4 (judge bad, label fine).
    assert.deepEqual(ranking.disagreements.map((d) => [d.rowId, d.line, d.label, d.verdict, d.rating ?? null]), [['r3', 4, 'wrong', 'good', null], ['r4', 5, 'fine', 'bad', 2]]);

    // Markdown and CSV carry the ranking and the disagreements.
    const md = (await cli(['report', data, '--config', config, '--seed', String(seed)])).stdout;
    assert.match(md, /Metrics against the reviewers' labels, best first \(95% intervals: bootstrap, 1000 resamples; judge judge: 5 verdicts, 1 failed/);
    assert.match(md, /\| \d \| LLM judge \| 5 \| 2 \| 0\.667 \\\[/);
    assert.match(md, /\| r4 \| 5 \| m \| fine \(good\) \| bad \(2\/5\) \| Misses the cyclists\. \|/);
    const csv = (await cli(['report', data, '--config', config, '--format', 'csv', '--seed', String(seed)])).stdout;
    assert.match(csv, /# metrics against labels\r\nrank,metric,labelled,bad,auc,auc_low,auc_high,kappa,kappa_low,kappa_high,method,threshold,threshold_source,cost_per_1000\r\n/);
    assert.match(csv, /# judge disagreements\r\nrow,line,model,label,label_class,verdict,rating,reason\r\nr3,4,m,wrong,bad,good,,Being seen is the point\.\r\nr4,5,m,fine,good,bad,2,Misses the cyclists\.\r\n/);
  });

  it('a verdict made with another prompt is not counted (stale), and a judge reason that is a formula is escaped in CSV', async () => {
    server = await judgeServer();
    const { data, config, cache, cli } = await judgedDataset(server, tmp);
    await cli(['judge', data, '--config', config, ...cache]);
    // r1: the judge says good... no: bad, with a formula as its reason; labelled fine, so it is a disagreement.
    assert.equal((await cli(['label', data, '--row', 'r1', '--model', 'm', '--label', 'fine', '--reviewer', 'ana'])).code, 0);
    const csv = (await cli(['report', data, '--config', config, '--format', 'csv'])).stdout;
    assert.match(csv, /\r\nr1,2,m,fine,good,bad,,"'=HYPERLINK\(""http:\/\/evil\.example"",""click""\)"\r\n/);
    // Another prompt in the config: the stored verdicts are stale, none counts.
    const other = path.join(tmp.dir, 'other.json');
    await (await import('node:fs/promises')).writeFile(other, JSON.stringify({ models: [{ name: 'judge', baseUrl: server.url, model: 'judge-1' }], judge: { model: 'judge', prompt: 'Ref {reference} / out {output}: {"verdict": "good" or "bad", "reason": "…"}' } }));
    const stale = JSON.parse((await cli(['report', data, '--config', other, '--json'])).stdout) as ReportDocument;
    assert.equal(stale.statistics.ranking!.judge!.stale, 5);
    assert.equal(stale.statistics.ranking!.judge!.judged, 0);
    assert.equal(stale.statistics.ranking!.metrics.find((m) => m.metric === 'judge'), undefined);
    assert.deepEqual(stale.statistics.ranking!.disagreements, []);
  });

  it('the panel\'s statistics are report --json\'s: the same ranking (cost per 1,000 at the judge\'s price), disagreements and judge counts; a corrected row\'s verdict and another prompt\'s are stale in both', async () => {
    server = await judgeServer();
    const { data, config, cache, cli } = await judgedDataset(server, tmp);
    await cli(['judge', data, '--config', config, ...cache]);
    const labels: Record<string, string> = { r0: 'fine', r1: 'wrong', r2: 'wrong', r3: 'wrong', r4: 'fine', r5: 'fine' };
    for (const [row, label] of Object.entries(labels)) assert.equal((await cli(['label', data, '--row', row, '--model', 'm', '--label', label, '--reviewer', 'ana'])).code, 0);
    // r0's reference corrected: its verdict was made against the file's reference, so it no longer counts.
    const corrected = await cli(['correct', data, '--row', 'r0', '--text', 'Hidden traffic beyond the crest.', '--reason', 'clearer', '--config', config, '--embedding-model', path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny'), ...cache]);
    assert.equal(corrected.code, 0, corrected.stderr);

    const report = JSON.parse((await cli(['report', data, '--config', config, '--json'])).stdout) as ReportDocument;
    const ranking = report.statistics.ranking!;
    assert.equal(ranking.judge!.stale, 1, 'r0, judged against the reference since corrected');
    assert.equal(ranking.judge!.judged, 4);
    const judge = ranking.metrics.find((m) => m.metric === 'judge')!;
    assert.ok(judge.costPer1000 !== null && judge.costPer1000 > 0, 'priced judge');
    assert.deepEqual(ranking.disagreements.map((d) => d.rowId), ['r3', 'r4']);
    assert.deepEqual(await panelStatistics(data, config), report.statistics);

    // Another prompt in the settings: every stored verdict is stale, in the panel as in the report.
    const other = path.join(tmp.dir, 'other.json');
    await (await import('node:fs/promises')).writeFile(other, JSON.stringify({ models: [{ name: 'judge', baseUrl: server.url, model: 'judge-1' }], judge: { model: 'judge', prompt: 'Ref {reference} / out {output}: {"verdict": "good" or "bad", "reason": "…"}' } }));
    const stale = JSON.parse((await cli(['report', data, '--config', other, '--json'])).stdout) as ReportDocument;
    assert.equal(stale.statistics.ranking!.judge!.judged, 0);
    assert.deepEqual(await panelStatistics(data, other), stale.statistics);
  });
});

describe('metric ranking: the contradiction flag among the metrics (issue 24.4)', () => {
  it('reads P(contradiction) as "higher is worse": AUC and kappa at its threshold by hand, ranked above a weaker cosine', async () => {
    const { rankMetrics } = await import('../../src/core/report/metricRanking');
    // Four labelled outputs (no text, so no ROUGE-L): two bad with P(contradiction) 0.9 and 0.4, two good with 0.1 and 0.6.
    const labelled = [
      { rowId: 'a', line: 1, model: 'm', label: 'wrong', bad: true, cosine: 0.8, contradiction: 0.9 },
      { rowId: 'b', line: 2, model: 'm', label: 'wrong', bad: true, cosine: 0.9, contradiction: 0.4 },
      { rowId: 'c', line: 3, model: 'm', label: 'fine', bad: false, cosine: 0.85, contradiction: 0.1 },
      { rowId: 'd', line: 4, model: 'm', label: 'fine', bad: false, cosine: 0.6, contradiction: 0.6 },
    ];
    const ranking = rankMetrics(labelled, undefined, { seed: 1, resamples: 200, threshold: 0.7, contradictionThreshold: 0.5 })!;
    const c = ranking.metrics.find((m) => m.metric === 'contradiction')!;
    // Bad 0.9 is above both goods (2 wins), bad 0.4 above good 0.1 only (1 win): 3 / 4.
    assert.equal(c.auc!.value, 0.75);
    // Calls at 0.5: a bad (agree), b good (disagree), c good (agree), d bad (disagree): po 0.5, pe 0.5 -> kappa 0.
    assert.equal(c.kappa!.value, 0);
    assert.equal(c.threshold, 0.5);
    assert.equal(c.costPer1000, 0);
    // Cosine: bad 0.8 is below 0.85 only (1 win), bad 0.9 none: 1 / 4.
    assert.equal(ranking.metrics.find((m) => m.metric === 'cosine')!.auc!.value, 0.25);
    assert.equal(ranking.metrics[0].metric, 'contradiction');
  });
});
