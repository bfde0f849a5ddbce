import { summarize, summaryRowsOf } from '../../core/report/summary';
import { embeddingModelName } from '../../core/review/display';
import type { DatasetSummaryView, ModelSummaryView } from './reviewApi';
import type { DatasetSession } from './session';

/**
 * The study's table for a session, computed by core's summarize() (the numbers the CLI's
 * `report` prints for the same sidecar), plus each model's current scores for histograms.
 */
export function summarizeSession(session: DatasetSession): DatasetSummaryView {
  const models = session.models();
  const results = session.results;
  const rows = summaryRowsOf(session.dataset);
  const core = results
    ? summarize(rows, results, session.threshold, { models })
    : summarize(rows, { latest: () => undefined, models: () => [] }, session.threshold, { models });
  const scores = new Map<string, number[]>(models.map((m) => [m, []]));
  const scorers = new Set<string>();
  for (const state of session.rowStates().values()) {
    for (const r of state.results) {
      if (!r.stale && !r.result.error && r.score !== undefined) {
        scores.get(r.model)?.push(r.score);
        if (r.result.scorer) scorers.add(r.result.scorer);
      }
    }
  }
  const modelViews: ModelSummaryView[] = core.models.map((m) => ({
    model: m.model,
    scored: m.scored,
    mean: m.mean ?? undefined,
    median: m.median ?? undefined,
    shareAtOrAbove: m.shareAtOrAbove ?? undefined,
    failed: m.failed,
    scores: scores.get(m.model) ?? [],
  }));
  return {
    rows: core.totalRows,
    models: modelViews,
    gaps: core.gaps.map((g) => ({ a: g.a, b: g.b, meanDifference: g.meanGap })),
    embeddingModels: [...new Set([...scorers].map(embeddingModelName))].sort(),
  };
}
