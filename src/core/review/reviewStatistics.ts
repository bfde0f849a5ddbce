import type { ComparisonView } from '../../shared/statisticsView';
import type { DatasetReview } from './datasetReview';
import type { LabelMapping } from '../report/calibration';
import { compareRuns, type CompareOptions, type RunComparison } from '../report/compare';
import { currentScore } from '../rules/rules';
import type { MultiReference } from '../rules/multiReference';
import { collectStatisticsRows } from '../report/rows';
import { computeStatistics, type StatisticsReport } from '../report/statistics';

const computed = new WeakMap<DatasetReview, { key: string; report: Promise<StatisticsReport> }>();

/**
 * The statistics of an open dataset, as `pisar-review report --json` computes them (same rows, same
 * seed, same numbers). Computed on request and kept until the rows, results, annotations, threshold,
 * models or label mapping change.
 */
export function reviewStatistics(review: DatasetReview, labels?: LabelMapping, scoring: { humanModels?: readonly string[]; multiReference?: MultiReference; sliceField?: string } = {}): Promise<StatisticsReport> {
  const models = review.models();
  const key = JSON.stringify([review.version, review.threshold, labels ?? null, models, scoring.humanModels ?? [], scoring.multiReference ?? 'best', scoring.sliceField ?? null]);
  const hit = computed.get(review);
  if (hit && hit.key === key) return hit.report;
  const report = (async () => {
    const rows = await collectStatisticsRows(review.dataset, review.results ?? { latest: () => undefined, models: () => [] }, review.annotations?.all() ?? [], models, { ...(scoring.multiReference ? { multiReference: scoring.multiReference } : {}), ...(scoring.sliceField ? { sliceField: scoring.sliceField } : {}) });
    return computeStatistics(rows, models, { threshold: review.threshold, ...(labels ? { labels } : {}), humanModels: scoring.humanModels ?? [], ...(scoring.sliceField ? { sliceField: scoring.sliceField } : {}) });
  })();
  computed.set(review, { key, report });
  report.catch(() => computed.delete(review));
  return report;
}

/** Current scores of one model of an open dataset, by row id (stale, failed and from-the-file results left out). */
export function reviewScores(review: DatasetReview, model: string): Map<string, number> {
  const out = new Map<string, number>();
  const ids = review.dataset.rowIds();
  for (let i = 0; i < ids.length; i++) {
    // Only what was scored on this machine counts (a line read from the file displaces nothing).
    const r = review.results?.latestScoredHere(ids[i], model);
    const score = r ? currentScore(r, review.dataset.rowHash(i)) : undefined;
    if (score !== undefined) out.set(ids[i], score);
  }
  return out;
}

/** Two models of an open dataset row by row, as `pisar-review compare <file> --models a,b` computes it. */
export function reviewComparison(review: DatasetReview, a: string, b: string, options: CompareOptions = {}): RunComparison {
  return compareRuns(reviewScores(review, a), reviewScores(review, b), { names: [a, b], ...options });
}

/** Changed rows a comparison view carries (the largest first). */
export const COMPARISON_VIEW_ROWS = 20;

/** The panel's view of a comparison: the counts, the test and the largest changes. */
export function comparisonView(c: RunComparison, a: string, b: string): ComparisonView {
  const changed = c.rows.filter((r) => r.change !== 'unchanged').sort((x, y) => Math.abs(y.difference) - Math.abs(x.difference)).slice(0, COMPARISON_VIEW_ROWS);
  return {
    a, b, epsilon: c.epsilon, paired: c.paired, onlyA: c.onlyA, onlyB: c.onlyB,
    improved: c.improved, regressed: c.regressed, unchanged: c.unchanged,
    meanA: c.meanA, meanB: c.meanB, meanDifference: c.meanDifference, p: c.p, verdict: c.verdict, changed,
  };
}
