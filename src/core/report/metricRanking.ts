import type { EstimateView, JudgeDisagreementView, MetricAgreementView, MetricRankingView, RankedMetricView } from '../../shared/statisticsView';
import { tokenCost, type ModelPrice } from '../rules/cost';
import { DEFAULT_CONTRADICTION_THRESHOLD } from '../rules/contradiction';
import { cohensKappa } from './agreement';
import { bestThreshold, rocAuc, type LabelledScore } from './calibration';
import { ANALYTIC_MIN, bootstrapCountsInterval, Z_95 } from './stats';

/**
 * Which metric agrees best with the reviewers' labels: for each (cosine, ROUGE-L, the contradiction flag, the
 * LLM judge) the AUC of its value and Cohen's kappa of its own bad/good call against the labels, each with a 95%
 * interval (percentile bootstrap over the labelled outputs up to ANALYTIC_MIN, the normal forms above), and what
 * it costs per 1,000 outputs. Pure: the report and the panel compute the same numbers.
 */

/** One labelled output's reading by a metric: its value (lower reads worse) and whether the metric calls it bad. */
export interface MetricPoint extends LabelledScore {
  readonly flagged: boolean;
}

/** A metric's labelled points and how it makes its call. */
export interface MetricPoints {
  readonly metric: RankedMetricView;
  readonly points: readonly MetricPoint[];
  readonly threshold: number | null;
  readonly thresholdSource: MetricAgreementView['thresholdSource'];
  readonly costPer1000: number | null;
}

export const DEFAULT_RANKING_RESAMPLES = 1000;

/** A metric against the labels: AUC and kappa with their intervals. */
export function metricAgreement(m: MetricPoints, options: { readonly seed: number; readonly resamples: number }): MetricAgreementView {
  const { points } = m;
  const bad = points.filter((p) => p.bad).length;
  const auc = rocAuc(points);
  const kappa = callKappa(points);
  const analytic = points.length > ANALYTIC_MIN;
  const interval = (value: number | null, statistic: () => (counts: Int32Array) => number | null, normalHalf: () => number): EstimateView | null => {
    if (value === null) return null;
    if (analytic) {
      const half = normalHalf();
      return { value, low: value - half, high: value + half, method: 'normal' };
    }
    const ofCounts = statistic();
    const found = bootstrapCountsInterval(points.length, (counts) => ofCounts(counts) ?? Number.NaN, options);
    return found ? { value, ...found, method: 'bootstrap' } : null;
  };
  return {
    metric: m.metric,
    n: points.length,
    bad,
    good: points.length - bad,
    auc: interval(auc, () => rocAucOfCounts(points), () => Z_95 * aucStandardError(auc!, bad, points.length - bad)),
    kappa: interval(kappa, () => callKappaOfCounts(points), () => Z_95 * kappaStandardError(points)),
    threshold: m.threshold,
    thresholdSource: m.thresholdSource,
    costPer1000: m.costPer1000,
  };
}

/** Cohen's kappa of the metric's calls with the labels (both bad/good). */
export function callKappa(points: readonly MetricPoint[]): number | null {
  return cohensKappa(points.map((p) => [p.flagged ? 'bad' : 'good', p.bad ? 'bad' : 'good'] as const));
}

/**
 * rocAuc of a resample given as how many times each point was drawn: the points sorted by score once, then each
 * resample one pass over the tie groups, adding up in rocAuc's order (so the same number to the last bit).
 */
export function rocAucOfCounts(points: readonly LabelledScore[]): (counts: Int32Array) => number | null {
  const order = points.map((_, i) => i).sort((i, j) => points[i].score - points[j].score);
  // Tie groups: order[groupStart[g] .. groupStart[g + 1]) share a score.
  const groupStart: number[] = [];
  for (let k = 0; k < order.length; k++) if (k === 0 || points[order[k]].score !== points[order[k - 1]].score) groupStart.push(k);
  groupStart.push(order.length);
  return (counts) => {
    let n = 0;
    let goods = 0;
    for (let i = 0; i < points.length; i++) {
      n += counts[i];
      if (!points[i].bad) goods += counts[i];
    }
    const bads = n - goods;
    if (bads === 0 || goods === 0) return null;
    let goodsAtOrBelow = 0;
    let wins = 0;
    for (let g = 0; g + 1 < groupStart.length; g++) {
      let bad = 0;
      let good = 0;
      for (let k = groupStart[g]; k < groupStart[g + 1]; k++) {
        const i = order[k];
        if (points[i].bad) bad += counts[i];
        else good += counts[i];
      }
      if (bad === 0 && good === 0) continue;
      goodsAtOrBelow += good;
      wins += bad * (goods - goodsAtOrBelow) + 0.5 * bad * good;
    }
    return wins / (bads * goods);
  };
}

/** callKappa of a resample given as how many times each point was drawn (cohensKappa's arithmetic on the 2x2 table). */
export function callKappaOfCounts(points: readonly MetricPoint[]): (counts: Int32Array) => number | null {
  return (counts) => {
    let n = 0;
    let agree = 0;
    let flagged = 0;
    let bad = 0;
    for (let i = 0; i < points.length; i++) {
      const c = counts[i];
      n += c;
      if (points[i].flagged === points[i].bad) agree += c;
      if (points[i].flagged) flagged += c;
      if (points[i].bad) bad += c;
    }
    if (n === 0) return null;
    // cohensKappa sums, over the calls made, P(call) x P(label of the same name): two terms, in either order the same sum.
    let chance = 0;
    if (flagged > 0) chance += (flagged / n) * (bad / n);
    if (n - flagged > 0) chance += ((n - flagged) / n) * ((n - bad) / n);
    if (chance === 1) return null;
    return (agree / n - chance) / (1 - chance);
  };
}

/** Hanley & McNeil (1982): the standard error of an AUC from its value and the two class sizes. */
export function aucStandardError(auc: number, bad: number, good: number): number {
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  return Math.sqrt((auc * (1 - auc) + (bad - 1) * (q1 - auc * auc) + (good - 1) * (q2 - auc * auc)) / (bad * good));
}

/** The large-sample standard error of Cohen's kappa: sqrt(po (1 - po) / (n (1 - pe)^2)) (Cohen 1960). */
function kappaStandardError(points: readonly MetricPoint[]): number {
  const n = points.length;
  let agree = 0;
  let flagged = 0;
  let bad = 0;
  for (const p of points) {
    if (p.flagged === p.bad) agree++;
    if (p.flagged) flagged++;
    if (p.bad) bad++;
  }
  const po = agree / n;
  const pe = (flagged / n) * (bad / n) + (1 - flagged / n) * (1 - bad / n);
  return Math.sqrt((po * (1 - po)) / (n * (1 - pe) ** 2));
}

/** The judge's reading of one output, as the statistics carry it. */
export interface JudgeCell {
  readonly model: string;
  /** A verdict made with the prompt and judge model in force (stale ones are counted apart, never used). */
  readonly state: 'current' | 'stale' | 'failed';
  readonly verdict?: 'good' | 'bad';
  readonly rating?: number;
  readonly reason?: string;
  readonly tokens?: { readonly input: number; readonly output: number };
}

/** The judge's value for AUC: its 1-5 score, else its verdict (good 5, bad 1). */
export function judgeValue(j: JudgeCell): number {
  return j.rating ?? (j.verdict === 'good' ? 5 : 1);
}

/** One labelled output with every metric's reading of it. */
export interface LabelledOutput {
  readonly rowId: string;
  readonly line: number;
  readonly model: string;
  readonly label: string;
  readonly bad: boolean;
  readonly cosine?: number;
  readonly rougeL?: number;
  /** P(contradiction) of the contradiction check. */
  readonly contradiction?: number;
  readonly judge?: JudgeCell;
}

export interface RankingOptions {
  readonly seed: number;
  readonly resamples?: number;
  /** The cosine's pass line. */
  readonly threshold: number;
  /** P(contradiction) at or above which an output contradicts (default 0.5). */
  readonly contradictionThreshold?: number;
  /** Prices per model name: the judge's cost. */
  readonly prices?: ReadonlyMap<string, ModelPrice>;
}

/** Every judge cell of the report (labelled or not): what the judge did and what it cost. */
export interface JudgeTotals {
  readonly models: ReadonlySet<string>;
  readonly judged: number;
  readonly failed: number;
  readonly stale: number;
  readonly tokens: ReadonlyMap<string, { input: number; output: number }>;
}

/** The ranking: each metric with labelled values, best AUC first (then kappa); undefined when no output is labelled. */
export function rankMetrics(labelled: readonly LabelledOutput[], totals: JudgeTotals | undefined, options: RankingOptions): MetricRankingView | undefined {
  if (labelled.length === 0) return undefined;
  const resamples = options.resamples ?? DEFAULT_RANKING_RESAMPLES;
  const candidates: MetricPoints[] = [];
  const pointsOf = (value: (o: LabelledOutput) => number | undefined, flagged: (v: number) => boolean): MetricPoint[] => {
    const out: MetricPoint[] = [];
    for (const o of labelled) {
      const v = value(o);
      if (v !== undefined) out.push({ score: v, bad: o.bad, flagged: flagged(v) });
    }
    return out;
  };
  candidates.push({ metric: 'cosine', points: pointsOf((o) => o.cosine, (v) => v < options.threshold), threshold: options.threshold, thresholdSource: 'setting', costPer1000: 0 });
  const rouge = pointsOf((o) => o.rougeL, () => false);
  const fitted = bestThreshold(rouge)?.threshold ?? null;
  candidates.push({ metric: 'rougeL', points: rouge.map((p) => ({ ...p, flagged: fitted !== null && p.score < fitted })), threshold: fitted, thresholdSource: 'fitted', costPer1000: 0 });
  const contradiction = options.contradictionThreshold ?? DEFAULT_CONTRADICTION_THRESHOLD;
  // Higher probability reads worse: the value is its negative, so "lower => bad" holds for every metric.
  const contradicts = pointsOf((o) => (o.contradiction === undefined ? undefined : -o.contradiction), (v) => -v >= contradiction);
  if (contradicts.length > 0) candidates.push({ metric: 'contradiction', points: contradicts, threshold: contradiction, thresholdSource: 'setting', costPer1000: 0 });
  const judged: MetricPoint[] = [];
  for (const o of labelled) {
    if (o.judge?.state === 'current' && o.judge.verdict) judged.push({ score: judgeValue(o.judge), bad: o.bad, flagged: o.judge.verdict === 'bad' });
  }
  if (judged.length > 0 || (totals && totals.judged > 0)) {
    candidates.push({ metric: 'judge', points: judged, threshold: null, thresholdSource: 'verdict', costPer1000: judgeCostPer1000(totals, options.prices) });
  }
  const metrics = candidates.filter((c) => c.points.length > 0 || c.metric === 'judge').map((c) => metricAgreement(c, { seed: options.seed, resamples }));
  metrics.sort((a, b) => (b.auc?.value ?? -Infinity) - (a.auc?.value ?? -Infinity) || (b.kappa?.value ?? -Infinity) - (a.kappa?.value ?? -Infinity));
  const disagreements: JudgeDisagreementView[] = [];
  for (const o of labelled) {
    const j = o.judge;
    if (j?.state !== 'current' || !j.verdict || (j.verdict === 'bad') === o.bad) continue;
    disagreements.push({ rowId: o.rowId, line: o.line, model: o.model, label: o.label, labelClass: o.bad ? 'bad' : 'good', verdict: j.verdict, ...(j.rating !== undefined ? { rating: j.rating } : {}), reason: j.reason ?? '' });
  }
  return {
    resamples,
    metrics,
    ...(totals && (totals.judged > 0 || totals.failed > 0 || totals.stale > 0)
      ? { judge: { models: [...totals.models], judged: totals.judged, failed: totals.failed, stale: totals.stale, tokens: sumTokens(totals) } }
      : {}),
    disagreements,
  };
}

function sumTokens(totals: JudgeTotals): { input: number; output: number } {
  let input = 0;
  let output = 0;
  for (const t of totals.tokens.values()) {
    input += t.input;
    output += t.output;
  }
  return { input, output };
}

/** The judge's tokens of every current verdict at its model's price, per 1,000 verdicts; null when a judge model has no price. */
function judgeCostPer1000(totals: JudgeTotals | undefined, prices: ReadonlyMap<string, ModelPrice> | undefined): number | null {
  if (!totals || totals.judged === 0 || totals.tokens.size === 0 || [...totals.models].some((m) => !prices?.has(m))) return null;
  let cost = 0;
  for (const [model, tokens] of totals.tokens) {
    const c = tokenCost(tokens, prices?.get(model));
    if (c === undefined) return null;
    cost += c;
  }
  return (cost / totals.judged) * 1000;
}

/** Adds one output's judge cell to the totals being gathered. */
export function countJudge(totals: { models: Set<string>; judged: number; failed: number; stale: number; tokens: Map<string, { input: number; output: number }> }, j: JudgeCell): void {
  if (j.state === 'stale') {
    totals.stale++;
    return;
  }
  if (j.state === 'failed') totals.failed++;
  else totals.judged++;
  totals.models.add(j.model);
  if (j.state === 'current' && j.tokens) {
    let t = totals.tokens.get(j.model);
    if (!t) totals.tokens.set(j.model, (t = { input: 0, output: 0 }));
    t.input += j.tokens.input;
    t.output += j.tokens.output;
  }
}
