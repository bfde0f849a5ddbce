import type { ComparisonView } from '../../shared/statisticsView';
import type { DatasetReview } from './datasetReview';
import type { LabelMapping } from '../report/calibration';
import { compareRuns, type CompareOptions, type RunComparison } from '../report/compare';
import { currentScore } from '../rules/rules';
import type { MultiReference } from '../rules/multiReference';
import { collectStatisticsRows, type JudgeInForce } from '../report/rows';
import { countedResults, judgeInForce, reportedModels } from '../report/reportInputs';
import { resultsOrigin } from '../report/origin';
import type { ReviewSettings } from '../config/settings';
import { correctionsInForce } from '../store/corrections';
import type { ReferenceCorrection } from '../store/annotations';
import { computeStatistics, type StatisticsReport } from '../report/statistics';

const computed = new WeakMap<DatasetReview, { key: string; report: Promise<StatisticsReport> }>();

/** What the statistics are read with beyond the review's own rules (threshold, prices, contradiction threshold). */
export interface ReviewStatisticsOptions {
  readonly humanModels?: readonly string[];
  readonly multiReference?: MultiReference;
  readonly sliceField?: string;
  /** The judge in force (judgeInForce of the settings): only its verdicts with its prompt count; without it every stored verdict does. */
  readonly judge?: JudgeInForce;
}

/** The options the settings give the statistics (the panel's, through ReviewService.statistics). */
export function statisticsOptionsOf(settings: Pick<ReviewSettings, 'humanModels' | 'multiReference' | 'models' | 'judge'>, sliceField?: string): ReviewStatisticsOptions {
  const judge = judgeInForce(settings);
  return { humanModels: settings.humanModels, multiReference: settings.multiReference, ...(sliceField ? { sliceField } : {}), ...(judge ? { judge } : {}) };
}

/**
 * The statistics of an open dataset, as `pisar-review report --json` computes them (same rows, same
 * seed, same numbers: results scored here, under the corrected references, the judge in force, the
 * models' prices and the contradiction threshold). Computed on request and kept until the rows,
 * results, annotations, threshold, models, label mapping or judge change.
 */
export function reviewStatistics(review: DatasetReview, labels?: LabelMapping, scoring: ReviewStatisticsOptions = {}): Promise<StatisticsReport> {
  const known = review.models();
  const prices = review.prices;
  const contradictionThreshold = review.contradictionThreshold;
  const key = JSON.stringify([review.version, review.threshold, labels ?? null, known, scoring.humanModels ?? [], scoring.multiReference ?? 'best', scoring.sliceField ?? null, scoring.judge ?? null, [...prices], contradictionThreshold]);
  const hit = computed.get(review);
  if (hit && hit.key === key) return hit.report;
  const report = (async () => {
    const results = review.results ?? { latest: () => undefined, models: () => [] };
    // The models report counts: those with results, foreign ones (neither configured nor in the file, none scored here) left out.
    const models = reportedModels(known, results, resultsOrigin(review.dataset.rowIds(), results, known, new Set([...review.configuredModels, ...review.dataset.modelNames])));
    const corrections = review.annotations ? correctionsInForce(review.annotations.corrections(), review.dataset) : new Map<string, ReferenceCorrection>();
    const { scored, referencesOfRow } = countedResults(results, corrections, 'corrected');
    const rows = await collectStatisticsRows(review.dataset, scored, review.annotations?.all() ?? [], models, {
      referencesOf: referencesOfRow,
      ...(scoring.multiReference ? { multiReference: scoring.multiReference } : {}),
      ...(scoring.sliceField ? { sliceField: scoring.sliceField } : {}),
      ...(scoring.judge ? { judge: scoring.judge } : {}),
    });
    return computeStatistics(rows, models, {
      threshold: review.threshold, ...(labels ? { labels } : {}), humanModels: scoring.humanModels ?? [], ...(scoring.sliceField ? { sliceField: scoring.sliceField } : {}),
      prices, contradictionThreshold,
    });
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
