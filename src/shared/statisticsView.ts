/**
 * The statistics of a report (`report --json`'s "statistics", the panel's statistics section and
 * `compare`): result types only, shared by core (which computes them, src/core/report/*) and the
 * panel (which may import only src/shared). Core's names (StatisticsReport, Calibration, …) alias these.
 */

export interface IntervalView {
  readonly low: number;
  readonly high: number;
}

/**
 * How an interval was computed: `bootstrap` (percentile bootstrap, seeded) up to 5,000 values; above that the
 * large-sample forms, which equal the bootstrap's to within its own noise and cost one pass: `normal` (mean +- z * sd /
 * sqrt(n)), `order-statistic` (the distribution-free interval of a median: the order statistics at n/2 -+ z * sqrt(n) / 2).
 */
export type IntervalMethodView = 'bootstrap' | 'normal' | 'order-statistic';

/** A value with its 95% interval. */
export interface EstimateView extends IntervalView {
  readonly value: number;
  /** How the interval was computed (absent in documents written before it was reported: bootstrap). */
  readonly method?: IntervalMethodView;
}

/** exact: all 2^n sign flips (n <= 16 non-zero differences); monte-carlo: random flips; normal: CLT of the flip distribution (n > 5000). */
export type PairedTestMethodView = 'exact' | 'monte-carlo' | 'normal';

export interface ModelStatisticsView {
  readonly model: string;
  /** Rows with a current cosine score. */
  readonly n: number;
  readonly mean: EstimateView | null;
  readonly median: EstimateView | null;
  /** Share >= threshold with its bootstrap interval and its Wilson score interval. */
  readonly shareAtLeast: (EstimateView & { readonly wilson: IntervalView }) | null;
  /** ROUGE-L F of the output against the reference, over outputs with a reference. */
  readonly rougeL: { readonly n: number; readonly mean: EstimateView | null };
  /** Correlation of the cosine score with (output tokens / reference tokens): near 0 means length does not drive the score. */
  readonly lengthRatio: { readonly n: number; readonly medianRatio: number | null; readonly pearson: number | null; readonly spearman: number | null };
  /** Answers cut off by the model's token limit, among its outputs and its "cut-off" failures. */
  readonly truncated: { readonly outputs: number; readonly count: number; readonly share: number | null; readonly wilson: IntervalView | null };
}

export interface PairStatisticsView {
  readonly a: string;
  readonly b: string;
  /** Rows both models scored. */
  readonly n: number;
  readonly meanA: number | null;
  readonly meanB: number | null;
  /** mean(b - a) on those rows, with its paired-bootstrap 95% interval. */
  readonly meanDifference: EstimateView | null;
  readonly p: number | null;
  readonly method: PairedTestMethodView;
  readonly verdict: string;
}

/** The confusion table of "score < threshold => bad" against the labels. */
export interface ConfusionView {
  readonly threshold: number;
  /** Labelled bad and scored below the threshold. */
  readonly truePositives: number;
  /** Labelled good but scored below the threshold. */
  readonly falsePositives: number;
  /** Labelled bad but scored at or above the threshold. */
  readonly falseNegatives: number;
  readonly trueNegatives: number;
  /** Of the outputs below the threshold, the share labelled bad (null when none is below). */
  readonly precision: number | null;
  /** Of the outputs labelled bad, the share below the threshold (null when none is bad). */
  readonly recall: number | null;
  readonly f1: number | null;
}

export interface CalibrationCurvePointView {
  readonly threshold: number;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
}

export interface CalibrationView {
  /** The metric calibrated: 'cosine' (the score) or 'rougeL'. */
  readonly metric: string;
  /** Labelled outputs with a value of this metric. */
  readonly labelled: number;
  readonly bad: number;
  readonly good: number;
  /** ready: enough labels for the numbers below; otherwise `needed` more labels are needed (with `reason`). */
  readonly status: 'ready' | 'needs-labels';
  readonly needed: number;
  readonly reason?: string;
  /** At the threshold in force. */
  readonly atThreshold: ConfusionView | null;
  /** The F1-maximising threshold, its F1 and the bootstrap 95% interval of that threshold. */
  readonly suggested: { readonly threshold: number; readonly f1: number; readonly interval: IntervalView | null } | null;
  readonly auc: number | null;
  /** Precision, recall and F1 over the thresholds of the curve. */
  readonly curve: readonly CalibrationCurvePointView[];
}

/** One model's numbers within one slice. */
export interface SliceModelView {
  readonly model: string;
  readonly n: number;
  readonly mean: EstimateView | null;
  readonly shareAtLeast: (EstimateView & { readonly wilson: IntervalView }) | null;
}

/** The rows whose slice field has one value. */
export interface SliceView {
  /** The field's value as text; "(none)" when the row lacks it, "(not a scalar)" for an object or a list. */
  readonly value: string;
  readonly rows: number;
  readonly models: readonly SliceModelView[];
  /** Paired tests among the report's pair models, on this slice's rows. */
  readonly pairs: readonly PairStatisticsView[];
}

/** The report per value of a metadata field (`report --slice label`). */
export interface SlicesView {
  readonly field: string;
  /** Slices by row count, largest first (ties by value); at most `limit`. */
  readonly slices: readonly SliceView[];
  readonly limit: number;
  /** Values left out past the limit, and their rows. */
  readonly omittedValues: number;
  readonly omittedRows: number;
}

export interface StatisticsView {
  readonly level: number;
  readonly seed: number;
  readonly resamples: number;
  readonly threshold: number;
  readonly models: readonly ModelStatisticsView[];
  /** Models left out of `models` (past `maxModels`, default 50); 0 when every model is there. */
  readonly omittedModels: number;
  readonly pairs: {
    /** Models compared pairwise (at most `limit`). */
    readonly models: readonly string[];
    readonly limit: number;
    /** Models left out of pairwise tests because of the limit. */
    readonly omittedModels: number;
    readonly list: readonly PairStatisticsView[];
  };
  /** The cosine score and ROUGE-L F against the reviewers' labels of model outputs. */
  readonly calibration: {
    readonly badLabels: readonly string[];
    readonly goodLabels: readonly string[];
    /** Labels on outputs that are in neither list (left out). */
    readonly unmapped: number;
    readonly metrics: readonly CalibrationView[];
  };
  /** With a slice field: the numbers per value of that field. */
  readonly slices?: SlicesView;
  /** Where people's answers can be scored the same way (several references, or human output columns): the band models are read against. */
  readonly humanBand?: HumanBandView;
  /** The metrics (cosine, ROUGE-L, the contradiction flag, the LLM judge) ranked by agreement with the reviewers' labels; absent when no output is labelled good or bad. */
  readonly ranking?: MetricRankingView;
}

/** A metric whose agreement with the labels is measured. */
export type RankedMetricView = 'cosine' | 'rougeL' | 'contradiction' | 'judge';

/** One metric against the reviewers' good/bad labels on model outputs. */
export interface MetricAgreementView {
  readonly metric: RankedMetricView;
  /** Labelled outputs (good or bad) that have a value of this metric; bad and good among them. */
  readonly n: number;
  readonly bad: number;
  readonly good: number;
  /**
   * ROC AUC: the chance that a random output labelled bad reads worse on this metric than one labelled good (ties
   * half): lower cosine / ROUGE-L, higher contradiction probability, lower judge score (a verdict alone: bad < good).
   */
  readonly auc: EstimateView | null;
  /** Cohen's kappa of the metric's own bad/good call (at `threshold`, or the judge's verdict) with the labels. */
  readonly kappa: EstimateView | null;
  /** The line the call is made at: the cosine's threshold setting, the contradiction threshold, ROUGE-L's F1-best threshold on these labels; null for the judge (its verdict). */
  readonly threshold: number | null;
  /** 'setting': a configured threshold; 'fitted': chosen on these same labels (optimistic); 'verdict': the judge's own good/bad. */
  readonly thresholdSource: 'setting' | 'fitted' | 'verdict';
  /** What computing the metric costs per 1,000 outputs: 0 for local metrics; the judge's tokens at its model's price; null without a price. */
  readonly costPer1000: number | null;
}

/** An output where the judge and the reviewers' label disagree. */
export interface JudgeDisagreementView {
  readonly rowId: string;
  /** 1-based line of the row in the dataset. */
  readonly line: number;
  /** The model whose output was judged. */
  readonly model: string;
  /** The reviewers' label (settled or the latest) and how calibration reads it. */
  readonly label: string;
  readonly labelClass: 'bad' | 'good';
  readonly verdict: 'good' | 'bad';
  readonly rating?: number;
  /** The judge's reason: text from a model, data only. */
  readonly reason: string;
}

/** The metrics ranked by agreement with the labels (AUC, then kappa), with the judge's run and its disagreements. */
export interface MetricRankingView {
  /** Bootstrap resamples of the intervals (percentile bootstrap up to 5,000 labelled outputs; above that the normal forms: EstimateView.method says which). */
  readonly resamples: number;
  readonly metrics: readonly MetricAgreementView[];
  /** Present when some output has a judge verdict. */
  readonly judge?: {
    /** The judge models whose verdicts count. */
    readonly models: readonly string[];
    /** Current verdicts over the outputs in the report; failed judgements; verdicts made with another prompt or judge model (not counted). */
    readonly judged: number;
    readonly failed: number;
    readonly stale: number;
    readonly tokens: { readonly input: number; readonly output: number };
  };
  /** Labelled outputs where the judge's verdict is not the label's class, in row order. */
  readonly disagreements: readonly JudgeDisagreementView[];
}

/** How a model's mean reads against the human band: its interval reaches the band's ("at human level") or lies wholly under it ("below"). */
export type HumanVerdictView = 'at human level' | 'below' | 'no score';

/**
 * The same metric, human against human: a row's several references each scored against the others
 * (by the multiReference rule, averaged over the references), and the outputs of human columns; the
 * band is the mean of those per-row scores with its interval, by the same method as the models' means.
 */
export interface HumanBandView {
  /** Where the human scores come from. */
  readonly sources: readonly ('references' | 'models')[];
  /** The human output columns counted (humanModels setting, models marked human). */
  readonly humanModels: readonly string[];
  /** Cosine: rows with a human score, their mean and its interval. */
  readonly n: number;
  readonly mean: EstimateView | null;
  /** ROUGE-L F, human against human. */
  readonly rougeL: { readonly n: number; readonly mean: EstimateView | null };
  /** Each model (human columns left out) against the band, on cosine and on ROUGE-L. */
  readonly models: readonly { readonly model: string; readonly mean: EstimateView | null; readonly verdict: HumanVerdictView; readonly rougeL: EstimateView | null; readonly rougeLVerdict: HumanVerdictView }[];
}

export interface ComparedRowView {
  readonly id: string;
  readonly a: number;
  readonly b: number;
  /** b - a. */
  readonly difference: number;
  readonly change: 'improved' | 'regressed' | 'unchanged';
  /** Lineage of a changed row: the model's output changed, the reference was corrected between the runs, or both. */
  readonly cause?: 'model' | 'reference' | 'both';
}

/** What any comparison of two runs reports, in the CLI (`compare`) and the panel alike. */
export interface ComparisonCountsView {
  readonly epsilon: number;
  /** Rows both runs scored (matched by row id). */
  readonly paired: number;
  /** Rows only one run scored (left out). */
  readonly onlyA: number;
  readonly onlyB: number;
  readonly improved: number;
  readonly regressed: number;
  readonly unchanged: number;
  /** Means on the paired rows. */
  readonly meanA: number | null;
  readonly meanB: number | null;
  /** mean(b - a) with its paired-bootstrap 95% interval. */
  readonly meanDifference: EstimateView | null;
  readonly p: number | null;
  readonly verdict: string;
}

/** Two models of the open dataset row by row (as `pisar-review compare <file> --models a,b`). */
export interface ComparisonView extends ComparisonCountsView {
  readonly a: string;
  readonly b: string;
  /** The largest changes (improved or regressed), largest first; at most 20. */
  readonly changed: readonly ComparedRowView[];
}
