/**
 * The statistics section as the panel receives it: the same shape as core's StatisticsReport
 * (src/core/report/statistics.ts), restated here because the webview may only import src/shared.
 * The host passes core's object as it is; the compiler checks the two stay assignable.
 */

export interface IntervalView {
  readonly low: number;
  readonly high: number;
}

export interface EstimateView extends IntervalView {
  readonly value: number;
}

export interface ModelStatisticsView {
  readonly model: string;
  readonly n: number;
  readonly mean: EstimateView | null;
  readonly median: EstimateView | null;
  readonly shareAtLeast: (EstimateView & { readonly wilson: IntervalView }) | null;
  readonly rougeL: { readonly n: number; readonly mean: EstimateView | null };
  readonly lengthRatio: { readonly n: number; readonly medianRatio: number | null; readonly pearson: number | null; readonly spearman: number | null };
  readonly truncated: { readonly outputs: number; readonly count: number; readonly share: number | null };
}

export interface PairStatisticsView {
  readonly a: string;
  readonly b: string;
  readonly n: number;
  readonly meanDifference: EstimateView | null;
  readonly p: number | null;
  readonly verdict: string;
}

export interface CalibrationCurvePointView {
  readonly threshold: number;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
}

export interface CalibrationView {
  readonly metric: string;
  readonly labelled: number;
  readonly bad: number;
  readonly good: number;
  readonly status: 'ready' | 'needs-labels';
  readonly needed: number;
  readonly reason?: string;
  readonly atThreshold: { readonly precision: number | null; readonly recall: number | null; readonly f1: number | null } | null;
  readonly suggested: { readonly threshold: number; readonly f1: number; readonly interval: IntervalView | null } | null;
  readonly auc: number | null;
  readonly curve: readonly CalibrationCurvePointView[];
}

export interface StatisticsView {
  readonly level: number;
  readonly seed: number;
  readonly resamples: number;
  readonly threshold: number;
  readonly models: readonly ModelStatisticsView[];
  readonly omittedModels: number;
  readonly pairs: { readonly models: readonly string[]; readonly limit: number; readonly omittedModels: number; readonly list: readonly PairStatisticsView[] };
  readonly calibration: { readonly badLabels: readonly string[]; readonly goodLabels: readonly string[]; readonly unmapped: number; readonly metrics: readonly CalibrationView[] };
}

export interface ComparedRowView {
  readonly id: string;
  readonly a: number;
  readonly b: number;
  /** b - a. */
  readonly difference: number;
  readonly change: 'improved' | 'regressed' | 'unchanged';
}

/** Two models of the open dataset row by row (as `pisar-review compare <file> --models a,b`). */
export interface ComparisonView {
  readonly a: string;
  readonly b: string;
  readonly epsilon: number;
  readonly paired: number;
  readonly onlyA: number;
  readonly onlyB: number;
  readonly improved: number;
  readonly regressed: number;
  readonly unchanged: number;
  readonly meanA: number | null;
  readonly meanB: number | null;
  readonly meanDifference: EstimateView | null;
  readonly p: number | null;
  readonly verdict: string;
  /** The largest changes (improved or regressed), largest first; at most 20. */
  readonly changed: readonly ComparedRowView[];
}
