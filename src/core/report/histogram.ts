/**
 * Scores per bin, each bin labelled with the range it really holds. Bins are of equal width over
 * [0, 1]; a cosine similarity can be negative (or a hair above 1), and such a score counts in the
 * first (last) bin, whose label then reaches down (up) to it: "−0.23–0.1", not "0.0–0.1".
 */

export const HISTOGRAM_BINS = 10;

export interface HistogramBin {
  /** The lowest score the bin holds: its nominal lower edge, or below it for the first bin. */
  readonly from: number;
  /** Its upper edge (exclusive but for the last bin, which holds 1 and anything above). */
  readonly to: number;
  readonly count: number;
  /** `from–to` for people, e.g. "0.3–0.4", "−0.23–0.1" (a minus sign, U+2212). */
  readonly label: string;
}

/** Scores per bin of width 1/`bins` over [0, 1]; NaN and non-numbers are left out. */
export function scoreHistogram(scores: readonly number[], bins = HISTOGRAM_BINS): HistogramBin[] {
  const counts = new Array<number>(bins).fill(0);
  let min = 0;
  let max = 1;
  for (const score of scores) {
    if (typeof score !== 'number' || Number.isNaN(score)) continue;
    counts[Math.min(bins - 1, Math.max(0, Math.floor(score * bins)))]++;
    if (score < min) min = score;
    if (score > max) max = score;
  }
  return counts.map((count, i) => {
    // Outward to two decimals, so the label never leaves a held score outside it.
    const from = i === 0 && min < 0 ? Math.floor(min * 100) / 100 : i / bins;
    const to = i === bins - 1 && max > 1 ? Math.ceil(max * 100) / 100 : (i + 1) / bins;
    return { from, to, count, label: `${edge(from)}–${edge(to)}` };
  });
}

/** A bound for people: one decimal on the grid, two off it; a negative one with the minus sign (U+2212), never read as a formula. */
function edge(value: number): string {
  const text = Number.isInteger(Math.round(value * 1e9) / 1e8) ? Math.abs(value).toFixed(1) : Math.abs(value).toFixed(2);
  return value < 0 ? `\u2212${text}` : text;
}
