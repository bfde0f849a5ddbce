import type { CalibrationView, ConfusionView } from '../../shared/statisticsView';
import { DEFAULT_SEED, percentileInterval, seededRandom, type BootstrapOptions, type Interval } from './stats';

/**
 * Calibration of a metric against reviewers' labels: how well "score < threshold => bad" finds the
 * outputs a reviewer labelled bad, at every threshold, and the threshold that maximises F1.
 */

export const DEFAULT_BAD_LABELS: readonly string[] = ['wrong', 'incomplete', 'hallucinated', 'off-topic'];
export const DEFAULT_GOOD_LABELS: readonly string[] = ['fine'];
/** Calibration is shown from this many labelled outputs on, with at least MIN_PER_CLASS of each kind. */
export const MIN_LABELS = 20;
export const MIN_PER_CLASS = 5;

export interface LabelMapping {
  readonly bad: readonly string[];
  readonly good: readonly string[];
}

export const DEFAULT_LABEL_MAPPING: LabelMapping = { bad: DEFAULT_BAD_LABELS, good: DEFAULT_GOOD_LABELS };

/** 'bad', 'good', or undefined for a label in neither list (left out of calibration). Case-insensitive. */
export function labelClass(label: string, mapping: LabelMapping = DEFAULT_LABEL_MAPPING): 'bad' | 'good' | undefined {
  const l = label.trim().toLowerCase();
  if (mapping.bad.some((b) => b.toLowerCase() === l)) return 'bad';
  if (mapping.good.some((g) => g.toLowerCase() === l)) return 'good';
  return undefined;
}

export interface LabelledScore {
  readonly score: number;
  readonly bad: boolean;
}

export type Confusion = ConfusionView;

/** The confusion table of "score < threshold => bad". */
export function confusionAt(points: readonly LabelledScore[], threshold: number): Confusion {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (const p of points) {
    const flagged = p.score < threshold;
    if (flagged && p.bad) tp++;
    else if (flagged) fp++;
    else if (p.bad) fn++;
    else tn++;
  }
  const precision = tp + fp === 0 ? null : tp / (tp + fp);
  const recall = tp + fn === 0 ? null : tp / (tp + fn);
  const f1 = tp === 0 ? (tp + fn === 0 ? null : 0) : (2 * tp) / (2 * tp + fp + fn);
  return { threshold, truePositives: tp, falsePositives: fp, falseNegatives: fn, trueNegatives: tn, precision, recall, f1 };
}

/**
 * The threshold with the highest F1. Candidates lie halfway between consecutive distinct scores
 * (and just above the highest), so every way of splitting the labelled outputs is tried once;
 * ties go to the lowest threshold (fewest outputs flagged).
 */
export function bestThreshold(points: readonly LabelledScore[]): { threshold: number; f1: number } | null {
  const bad = points.filter((p) => p.bad).length;
  if (bad === 0) return null;
  const sorted = [...points].sort((p, q) => p.score - q.score);
  let best: { threshold: number; f1: number } | null = null;
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i].bad) tp++;
    else fp++;
    // Only split between distinct scores: equal scores are flagged together.
    if (i + 1 < sorted.length && sorted[i + 1].score === sorted[i].score) continue;
    const threshold = i + 1 < sorted.length ? (sorted[i].score + sorted[i + 1].score) / 2 : sorted[i].score + 0.001;
    const f1 = (2 * tp) / (tp + fp + bad);
    if (!best || f1 > best.f1 + 1e-12) best = { threshold, f1 };
  }
  return best;
}

/**
 * ROC AUC of "lower score => bad": the chance that a random bad output scores below a random good one (ties half).
 * The Mann-Whitney count over the sorted scores: O(n log n), not a comparison of every bad with every good.
 */
export function rocAuc(points: readonly LabelledScore[]): number | null {
  const sorted = [...points].sort((p, q) => p.score - q.score);
  let goods = 0;
  for (const p of sorted) if (!p.bad) goods++;
  const bads = sorted.length - goods;
  if (bads === 0 || goods === 0) return null;
  let goodsAtOrBelow = 0;
  let wins = 0;
  for (let i = 0; i < sorted.length; ) {
    let bad = 0;
    let good = 0;
    let j = i;
    for (; j < sorted.length && sorted[j].score === sorted[i].score; j++) {
      if (sorted[j].bad) bad++;
      else good++;
    }
    goodsAtOrBelow += good;
    // Each bad output of this score beats the goods above it and ties the goods of the same score.
    wins += bad * (goods - goodsAtOrBelow) + 0.5 * bad * good;
    i = j;
  }
  return wins / (bads * goods);
}

/** Labelled scores times resamples beyond which the threshold's bootstrap takes fewer resamples (at least 200). */
const THRESHOLD_RESAMPLE_BUDGET = 2e7;

/**
 * Percentile-bootstrap 95% interval of bestThreshold: each resample draws points with replacement (in the order of
 * `points`, as a plain bootstrap would) and finds its best threshold by one sweep over the points sorted once, so a
 * resample costs O(n), not a sort.
 */
export function bestThresholdInterval(points: readonly LabelledScore[], options: BootstrapOptions = {}): Interval | null {
  const n = points.length;
  if (n === 0) return null;
  const resamples = Math.min(options.resamples ?? 1000, Math.max(200, Math.floor(THRESHOLD_RESAMPLE_BUDGET / n)));
  const order = points.map((_, i) => i).sort((i, j) => points[i].score - points[j].score);
  const rankOf = new Uint32Array(n);
  order.forEach((original, rank) => (rankOf[original] = rank));
  const scores = Float64Array.from(order, (i) => points[i].score);
  const bad = Uint8Array.from(order, (i) => (points[i].bad ? 1 : 0));
  const random = seededRandom(options.seed ?? DEFAULT_SEED);
  const counts = new Uint32Array(n);
  const found: number[] = [];
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    let bads = 0;
    for (let i = 0; i < n; i++) {
      const k = rankOf[Math.floor(random() * n)];
      counts[k]++;
      bads += bad[k];
    }
    if (bads === 0) continue;
    let tp = 0;
    let fp = 0;
    let best = -1;
    let bestThresholdFound = NaN;
    for (let k = 0; k < n; ) {
      // One distinct score of the resample: every drawn point of that score is flagged together.
      let j = k;
      let drawn = 0;
      for (; j < n && scores[j] === scores[k]; j++) {
        drawn += counts[j];
        tp += bad[j] * counts[j];
        fp += (1 - bad[j]) * counts[j];
      }
      if (drawn > 0) {
        let next = j;
        while (next < n && counts[next] === 0) next++;
        const threshold = next < n ? (scores[k] + scores[next]) / 2 : scores[k] + 0.001;
        const f1 = (2 * tp) / (tp + fp + bads);
        if (best < 0 || f1 > best + 1e-12) {
          best = f1;
          bestThresholdFound = threshold;
        }
      }
      k = j;
    }
    found.push(bestThresholdFound);
  }
  return found.length === 0 ? null : percentileInterval(Float64Array.from(found));
}

export type Calibration = CalibrationView;

export interface CalibrationOptions extends BootstrapOptions {
  readonly minLabels?: number;
  readonly minPerClass?: number;
  /** Thresholds of the curve (default: curveGrid of the labelled scores). */
  readonly grid?: readonly number[];
}

/** Points of the curve. */
export const CURVE_POINTS = 21;

/**
 * Thresholds for the curve: CURVE_POINTS evenly spaced from the lowest labelled score to just above
 * the highest, so the curve spans the scores whatever their range (some embedding models put every
 * cosine between 0.7 and 0.9).
 */
export function curveGrid(points: readonly LabelledScore[]): number[] {
  let low = Infinity;
  let high = -Infinity;
  for (const p of points) {
    low = Math.min(low, p.score);
    high = Math.max(high, p.score);
  }
  if (!Number.isFinite(low)) return [];
  const step = Math.max(high - low, 1e-6) / (CURVE_POINTS - 1);
  // The last point lies past the highest score, where every labelled output is flagged.
  return Array.from({ length: CURVE_POINTS }, (_, i) => (i === CURVE_POINTS - 1 ? high + Math.min(step, 0.001) : low + i * step));
}

/** Calibrates one metric: always counts; the numbers only once there are enough labels of both kinds. */
export function calibrate(metric: string, points: readonly LabelledScore[], threshold: number, options: CalibrationOptions = {}): Calibration {
  const minLabels = options.minLabels ?? MIN_LABELS;
  const minPerClass = options.minPerClass ?? MIN_PER_CLASS;
  const bad = points.filter((p) => p.bad).length;
  const good = points.length - bad;
  // The fewest more labels that meet every minimum: the missing of each kind, or the missing total if larger.
  const needed = Math.max(Math.max(0, minLabels - points.length), Math.max(0, minPerClass - bad) + Math.max(0, minPerClass - good));
  const base = { metric, labelled: points.length, bad, good };
  if (bad < minPerClass || good < minPerClass || points.length < minLabels) {
    const missing: string[] = [];
    if (points.length < minLabels) missing.push(`${minLabels} labelled outputs (have ${points.length})`);
    if (bad < minPerClass) missing.push(`${minPerClass} labelled bad (have ${bad})`);
    if (good < minPerClass) missing.push(`${minPerClass} labelled fine (have ${good})`);
    return { ...base, status: 'needs-labels', needed, reason: `needs ${missing.join(', ')}`, atThreshold: null, suggested: null, auc: null, curve: [] };
  }
  const best = bestThreshold(points)!;
  const interval = bestThresholdInterval(points, { seed: options.seed, resamples: Math.min(options.resamples ?? 1000, 1000) });
  const grid = options.grid ?? curveGrid(points);
  return {
    ...base,
    status: 'ready',
    needed: 0,
    atThreshold: confusionAt(points, threshold),
    suggested: { threshold: best.threshold, f1: best.f1, interval },
    auc: rocAuc(points),
    curve: grid.map((t) => {
      const c = confusionAt(points, t);
      return { threshold: t, precision: c.precision, recall: c.recall, f1: c.f1 };
    }),
  };
}
