import type { DatasetReview } from '../review/datasetReview';
import type { LabelMapping } from './calibration';
import { collectStatisticsRows } from './rows';
import { computeStatistics, type StatisticsReport } from './statistics';

const computed = new WeakMap<DatasetReview, { key: string; report: Promise<StatisticsReport> }>();

/**
 * The statistics of an open dataset, as `pisar-review report --json` computes them (same rows, same
 * seed, same numbers). Computed on request and kept until the rows, results, annotations, threshold,
 * models or label mapping change.
 */
export function reviewStatistics(review: DatasetReview, labels?: LabelMapping): Promise<StatisticsReport> {
  const models = review.models();
  const key = JSON.stringify([review.version, review.threshold, labels ?? null, models]);
  const hit = computed.get(review);
  if (hit && hit.key === key) return hit.report;
  const report = (async () => {
    const rows = await collectStatisticsRows(review.dataset, review.results ?? { latest: () => undefined, models: () => [] }, review.annotations?.all() ?? [], models);
    return computeStatistics(rows, models, { threshold: review.threshold, ...(labels ? { labels } : {}) });
  })();
  computed.set(review, { key, report });
  report.catch(() => computed.delete(review));
  return report;
}
