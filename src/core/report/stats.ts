import type { EstimateView, IntervalView, PairedTestMethodView } from '../../shared/statisticsView';

/**
 * The statistics behind "is this gap real?": seeded bootstrap intervals, the Wilson interval of a
 * share, a paired sign-flip permutation test, and rank/linear correlation. Pure and deterministic:
 * the same data and seed give the same numbers on every machine.
 */

/** Confidence level of every interval reported (95%). */
export const CONFIDENCE_LEVEL = 0.95;
/** z for a two-sided 95% interval: the 0.975 quantile of the standard normal. */
export const Z_95 = 1.959963984540054;
export const DEFAULT_SEED = 20240917;
export const DEFAULT_RESAMPLES = 2000;

export type Interval = IntervalView;
/**
 * Above this many values, intervals of a mean, a median and a share take their large-sample forms: one pass instead
 * of thousands of resamples (a 1,000,000-row report spent a minute in bootstraps), equal to the bootstrap's within
 * its own resampling noise at these sizes.
 */
export const ANALYTIC_MIN = 5000;
/** A value with its 95% interval. */
export type Estimate = EstimateView;

/**
 * mulberry32: a small, fast 32-bit PRNG with a well-studied output; uniform in [0, 1).
 * Chosen over Math.random because intervals must be reproducible from a seed.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The p-quantile of sorted values, interpolated linearly between order statistics (R's type 7). */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export function percentileInterval(samples: Float64Array): Interval {
  samples.sort();
  const tail = (1 - CONFIDENCE_LEVEL) / 2;
  return { low: quantileSorted(samples, tail), high: quantileSorted(samples, 1 - tail) };
}

export interface BootstrapOptions {
  readonly seed?: number;
  readonly resamples?: number;
}

export interface SummaryIntervals {
  readonly n: number;
  readonly mean: Estimate;
  readonly median: Estimate;
  readonly shareAtLeast: Estimate;
}

/**
 * 95% intervals of the mean, the median and the share >= threshold. Up to ANALYTIC_MIN values: percentile bootstrap,
 * from one set of resamples; indices are drawn into the sorted scores, so each resample costs O(n) (the median of the
 * drawn values is the value at the median drawn index, by counting). Above: the normal interval of the mean, the
 * order-statistic interval of the median and the normal interval of the share (method says which).
 */
export function bootstrapSummary(values: ArrayLike<number>, threshold: number, options: BootstrapOptions = {}): SummaryIntervals | null {
  const n = values.length;
  if (n === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const point = pointSummary(sorted, threshold);
  if (n > ANALYTIC_MIN) return analyticSummary(sorted, point);
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const random = seededRandom(options.seed ?? DEFAULT_SEED);
  // First index whose score is >= threshold: a drawn index at or past it counts as a pass.
  let firstPass = 0;
  while (firstPass < n && sorted[firstPass] < threshold) firstPass++;
  const means = new Float64Array(resamples);
  const medians = new Float64Array(resamples);
  const shares = new Float64Array(resamples);
  const counts = new Uint32Array(n);
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    let sum = 0;
    let passes = 0;
    for (let i = 0; i < n; i++) {
      const k = Math.floor(random() * n);
      counts[k]++;
      sum += sorted[k];
      if (k >= firstPass) passes++;
    }
    means[r] = sum / n;
    shares[r] = passes / n;
    medians[r] = medianOfCounts(sorted, counts, n);
  }
  const method = 'bootstrap' as const;
  return {
    n,
    mean: { value: point.mean, ...percentileInterval(means), method },
    median: { value: point.median, ...percentileInterval(medians), method },
    shareAtLeast: { value: point.share, ...percentileInterval(shares), method },
  };
}

/** The large-sample intervals of bootstrapSummary, from the sorted values in one pass. */
function analyticSummary(sorted: Float64Array, point: { mean: number; median: number; share: number }): SummaryIntervals {
  const n = sorted.length;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (sorted[i] - point.mean) ** 2;
  const meanHalf = Z_95 * Math.sqrt(squares / (n - 1) / n);
  const shareHalf = Z_95 * Math.sqrt((point.share * (1 - point.share)) / n);
  return {
    n,
    mean: { value: point.mean, low: point.mean - meanHalf, high: point.mean + meanHalf, method: 'normal' },
    median: { value: point.median, ...medianInterval(sorted), method: 'order-statistic' },
    shareAtLeast: { value: point.share, low: Math.max(0, point.share - shareHalf), high: Math.min(1, point.share + shareHalf), method: 'normal' },
  };
}

/**
 * Distribution-free 95% interval of the median of sorted values: the order statistics of ranks n/2 -+ z * sqrt(n) / 2
 * (the normal limit of the binomial(n, 1/2) count below the median; Conover, Practical Nonparametric Statistics, 3.2).
 */
export function medianInterval(sorted: ArrayLike<number>): Interval {
  const n = sorted.length;
  const half = (Z_95 * Math.sqrt(n)) / 2;
  const lowRank = Math.max(1, Math.floor(n / 2 - half));
  const highRank = Math.min(n, Math.ceil(1 + n / 2 + half));
  return { low: sorted[lowRank - 1], high: sorted[highRank - 1] };
}

function medianOfCounts(sorted: Float64Array, counts: Uint32Array, n: number): number {
  // 0-based ranks of the middle one (odd n) or two (even n) of the resample.
  const lowRank = (n - 1) >> 1;
  const highRank = n >> 1;
  let seen = 0;
  let low = NaN;
  for (let k = 0; k < counts.length; k++) {
    seen += counts[k];
    if (Number.isNaN(low) && seen > lowRank) low = sorted[k];
    if (seen > highRank) return (low + sorted[k]) / 2;
  }
  return low;
}

function pointSummary(sorted: Float64Array, threshold: number): { mean: number; median: number; share: number } {
  const n = sorted.length;
  let sum = 0;
  let passes = 0;
  for (const v of sorted) {
    sum += v;
    if (v >= threshold) passes++;
  }
  const mid = n >> 1;
  return { mean: sum / n, median: n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2, share: passes / n };
}

/** Percentile-bootstrap 95% interval of any statistic of a list (resampling its items with replacement). */
export function bootstrapInterval<T>(items: readonly T[], statistic: (sample: readonly T[]) => number, options: BootstrapOptions = {}): Interval | null {
  const n = items.length;
  if (n === 0) return null;
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const random = seededRandom(options.seed ?? DEFAULT_SEED);
  const values: number[] = [];
  const sample = new Array<T>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = items[Math.floor(random() * n)];
    const v = statistic(sample);
    if (Number.isFinite(v)) values.push(v);
  }
  return values.length === 0 ? null : percentileInterval(Float64Array.from(values));
}

/**
 * bootstrapInterval for a statistic that reads only how many times each item was drawn (a rank statistic, a
 * 2x2 table): the same draws from the same seed, so the same interval, without building each resample's list.
 */
export function bootstrapCountsInterval(n: number, statistic: (counts: Int32Array) => number, options: BootstrapOptions = {}): Interval | null {
  if (n === 0) return null;
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const random = seededRandom(options.seed ?? DEFAULT_SEED);
  const values: number[] = [];
  const counts = new Int32Array(n);
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[Math.floor(random() * n)]++;
    const v = statistic(counts);
    if (Number.isFinite(v)) values.push(v);
  }
  return values.length === 0 ? null : percentileInterval(Float64Array.from(values));
}

/** Wilson score interval (95%) of a share of `successes` in `n` trials (Wilson 1927; Newcombe 1998, method 3). */
export function wilsonInterval(successes: number, n: number, z = Z_95): Interval | null {
  if (n <= 0) return null;
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export type PairedTestMethod = PairedTestMethodView;

export interface PairedTest {
  /** Rows both scored. */
  readonly n: number;
  /** Mean of (b - a) over those rows, with its paired-bootstrap 95% interval. */
  readonly meanDifference: Estimate | null;
  /** Two-sided p-value of "no difference" (sign-flip permutation of the per-row differences). */
  readonly p: number | null;
  /** exact: all 2^n sign flips (n <= 16 non-zero differences); monte-carlo: random flips; normal: CLT of the flip distribution (n > 5000). */
  readonly method: PairedTestMethod;
  readonly resamples: number;
}

/** Non-zero differences up to this many are tested by enumerating every sign flip. */
export const EXACT_PERMUTATION_MAX = 16;
/** Above this many rows the permutation distribution is taken as its normal limit. */
export const NORMAL_APPROXIMATION_MIN = 5000;
export const DEFAULT_PERMUTATIONS = 10000;

/**
 * Sign-flip permutation test of paired differences: under "no difference" each row's difference is
 * as likely to be negative as positive, so the observed |sum| is ranked among all (or random) flips.
 */
export function signFlipTest(differences: readonly number[], options: BootstrapOptions = {}): { p: number | null; method: PairedTestMethod; resamples: number } {
  const d = differences.filter((x) => x !== 0);
  if (d.length === 0) return { p: differences.length === 0 ? null : 1, method: 'exact', resamples: 0 };
  let observed = 0;
  let squares = 0;
  for (const x of d) {
    observed += x;
    squares += x * x;
  }
  observed = Math.abs(observed);
  // Sums equal to the observed one up to rounding count as "at least as extreme".
  const bar = observed - 1e-9 * (1 + observed);
  if (d.length <= EXACT_PERMUTATION_MAX) {
    const total = 2 ** d.length;
    let extreme = 0;
    for (let mask = 0; mask < total; mask++) {
      let sum = 0;
      for (let i = 0; i < d.length; i++) sum += mask & (1 << i) ? -d[i] : d[i];
      if (Math.abs(sum) >= bar) extreme++;
    }
    return { p: extreme / total, method: 'exact', resamples: total };
  }
  if (differences.length > NORMAL_APPROXIMATION_MIN) {
    return { p: Math.min(1, 2 * normalUpperTail(observed / Math.sqrt(squares))), method: 'normal', resamples: 0 };
  }
  const resamples = options.resamples ?? DEFAULT_PERMUTATIONS;
  const random = seededRandom(options.seed ?? DEFAULT_SEED);
  let extreme = 0;
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (const x of d) sum += random() < 0.5 ? -x : x;
    if (Math.abs(sum) >= bar) extreme++;
  }
  // (k + 1) / (R + 1): the observed assignment is one of the permutations, so p is never 0.
  return { p: (extreme + 1) / (resamples + 1), method: 'monte-carlo', resamples };
}

/** Paired test of b against a on the rows both scored: the mean difference (b - a) with its interval, and p. */
export function pairedTest(a: readonly number[], b: readonly number[], options: BootstrapOptions & { readonly permutations?: number } = {}): PairedTest {
  if (a.length !== b.length) throw new Error(`pairedTest: ${a.length} scores against ${b.length}; pair them by row first`);
  const differences = a.map((x, i) => b[i] - x);
  const test = signFlipTest(differences, { seed: options.seed, resamples: options.permutations });
  const n = differences.length;
  let meanDifference: Estimate | null = null;
  if (n > 0) {
    const summary = bootstrapSummary(differences, 0, { seed: options.seed, resamples: options.resamples });
    if (summary) meanDifference = summary.mean;
  }
  return { n, meanDifference, p: test.p, method: test.method, resamples: test.resamples };
}

/** Upper tail of the standard normal, 1 - Φ(z). */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Complementary error function, Numerical Recipes' erfcc (fractional error < 1.2e-7 everywhere). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Significance level of the plain verdicts. */
export const ALPHA = 0.05;

/** "0.46 vs 0.48: within noise, p = 0.31" or "0.46 vs 0.78: b scores higher, p < 0.001". */
export function pairedVerdict(a: string, b: string, meanA: number, meanB: number, p: number | null, n: number): string {
  const head = `${meanA.toFixed(2)} vs ${meanB.toFixed(2)}`;
  if (p === null || n === 0) return `${a} and ${b} share no scored row: no test`;
  const pText = formatP(p);
  if (p >= ALPHA) return `${head}: within noise, ${pText} (${n} rows both scored)`;
  const higher = meanB > meanA ? b : a;
  return `${head}: ${higher} scores higher, ${pText} (${n} rows both scored)`;
}

export function formatP(p: number): string {
  if (p < 0.001) return 'p < 0.001';
  return `p = ${p < 0.01 ? p.toFixed(3) : p.toFixed(2)}`;
}

/** Pearson's linear correlation; null when either side is constant or there are under 3 pairs. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  const n = x.length;
  if (n !== y.length || n < 3) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}

/** Ranks from 1, ties sharing their average rank; `sorted`: the values sorted already (a caller that has them skips a sort). */
export function ranks(values: ArrayLike<number>, sorted: Float64Array = Float64Array.from(values).sort()): Float64Array {
  // A value's rank depends on the value alone: the average place of its run among the sorted values (a numeric sort
  // of a typed array and one binary search a value, not a sort of [value, index] pairs: 10x faster at 100,000).
  const runRank = new Float64Array(sorted.length);
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[i]) j++;
    runRank[i] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (sorted[mid] < v) low = mid + 1;
      else high = mid;
    }
    out[i] = runRank[low];
  }
  return out;
}

/** Spearman's rank correlation (Pearson on average ranks, so ties are handled). */
export function spearman(x: readonly number[], y: readonly number[]): number | null {
  return pearson(ranks(x), ranks(y));
}
