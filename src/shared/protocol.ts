/**
 * The typed message protocol between the extension host and the review panel webview.
 *
 * Two discriminated unions, one per direction, named `scope/verb`. Requests from the webview carry an
 * `id` and get exactly one `response` with `{id, ok, result | error}`. The host pushes whole snapshots
 * (dataset, summary, the current view's generation), never deltas; rows travel in pages on demand.
 * Types only: the webview imports this file with `import type`.
 */

import type { ComparisonView, IntervalView, StatisticsView } from './statisticsView';

/**
 * Columns the row list can be sorted by. `score:<model>` sorts by that model's score; the review
 * orders: `nearThreshold` (the row's score closest to the threshold first) and `disagreement` (the
 * widest spread between models' scores first); the label orders: `reviewersDisagree` (rows whose
 * reviewers disagree, unsettled, first) and `unlabelled` (rows the current reviewer has not labelled first).
 */
export type SortColumn = 'index' | 'id' | 'input' | 'reference' | 'annotation' | 'nearThreshold' | 'disagreement' | 'reviewersDisagree' | 'unlabelled' | `score:${string}`;

export interface RowSort {
  readonly column: SortColumn;
  readonly descending: boolean;
}

/** Which rows the list shows. All set conditions must hold. */
export interface RowFilter {
  /** Rows with a score below the threshold: for any model ('any') or for one named model. */
  readonly below?: 'any' | { readonly model: string };
  /** Rows where every scored model is below the threshold (the reference may be wrong). */
  readonly suspect?: boolean;
  /** Rows with at least one annotation. */
  readonly annotated?: boolean;
  /** Rows missing a score for at least one model. */
  readonly unscored?: boolean;
  /** Rows where some model's output contradicts its reference (the contradiction check). */
  readonly contradicts?: boolean;
  /** Case-insensitive text in the id, input, reference or outputs. */
  readonly text?: string;
  /** Rows where reviewers gave different labels to one target and no adjudication settled it. */
  readonly disagree?: boolean;
}

export interface RowQuery {
  readonly sort: RowSort;
  readonly filter: RowFilter;
}

/** Problems of the dataset file by severity (as in the Problems view): malformed lines are errors. */
export interface FindingCounts {
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
}

/** The active dataset as the panel needs it. */
export interface DatasetView {
  readonly file: string;
  /** File name for display. */
  readonly name: string;
  readonly rowCount: number;
  /** Model columns, in display order. */
  readonly models: readonly string[];
  /** Models that can be called (from settings); the others only have stored or precomputed results. */
  readonly configuredModels: readonly string[];
  /** Model calls are allowed (trusted workspace). */
  readonly canScore: boolean;
  /** The file's problems by severity (errors are lines that are not rows). */
  readonly findings: FindingCounts;
  /** Annotation labels; number key n applies labels[n - 1]. */
  readonly labels: readonly string[];
  readonly threshold: number;
  /** model -> a short, distinct name for narrow places (column headers); the full name goes in titles. */
  readonly modelLabels: Readonly<Record<string, string>>;
  /** Why the last run could not score (e.g. the embedding model did not load): outputs are kept unscored. */
  readonly scoringFailure?: string;
  /** Who is reviewing: labels made here are theirs. */
  readonly reviewer: string | null;
  /** Blind mode: other reviewers' labels and every score are not sent (see src/core/review/blindView.ts). */
  readonly blind: boolean;
}

export interface ModelSummaryView {
  readonly model: string;
  /** Rows with a score for this model. */
  readonly scored: number;
  readonly mean: number | null;
  readonly median: number | null;
  /** Mean and median as shown (formatScore, three decimals); null without scores. */
  readonly meanText: string | null;
  readonly medianText: string | null;
  /** Share of scored rows with score >= threshold, 0..1. */
  readonly shareAtLeast: number | null;
  /** Rows whose call or scoring failed for this model. */
  readonly failures: number;
  /** Count of scores per bin of equal width over [0, 1]; negative scores count in the first bin, 1 in the last. */
  readonly histogram: readonly number[];
  /** The same bins with the range each really holds: the first reaches down to a negative score ("−0.23–0.1"), the last up past 1. */
  readonly histogramBins: readonly HistogramBinView[];
  /** Tokens the current results took (input = prompt, output = completion); absent when no result reported usage. */
  readonly tokens?: { readonly input: number; readonly output: number };
  /** What they cost at the model's price per million tokens, and as shown; absent without a price. */
  readonly cost?: number;
  readonly costText?: string;
}

/** One bin of a model's scores (core's HistogramBin). */
export interface HistogramBinView {
  readonly from: number;
  readonly to: number;
  readonly count: number;
  /** `from–to` for people: "0.3–0.4", "−0.23–0.1". */
  readonly label: string;
}

/** Difference between two models' mean scores, a before b in model order: mean(b) - mean(a), the sign of every paired test. */
export interface MeanGapView {
  readonly a: string;
  readonly b: string;
  readonly difference: number | null;
}

export interface SummaryView {
  readonly threshold: number;
  readonly rowCount: number;
  readonly models: readonly ModelSummaryView[];
  readonly gaps: readonly MeanGapView[];
  /** Rows with at least one annotation: review progress is annotated / rowCount. */
  readonly annotated: number;
  readonly suspect: number;
  /** The embedding models that made the current scores, for people (`all-MiniLM-L6-v2 (fp32)`); more than one means mixed scores. */
  readonly embeddingModels: readonly string[];
}

export interface ScoreView {
  readonly score: number | null;
  /** With a score: the score as every view shows it (formatScore of src/core/rules/rules: never reads as passing when below). */
  readonly text?: string;
  /** With a score below the threshold (isBelowThreshold of src/core/rules/rules). */
  readonly below?: true;
  /** Why there is no score: the call failed. */
  readonly error?: string;
  /** Why a successful output has no score (e.g. the row has no reference). */
  readonly note?: string;
  /** No score because the embedding step failed or did not finish (a problem), not for want of a reference. */
  readonly unscored?: boolean;
  /** The row changed since this result was stored. */
  readonly stale?: boolean;
  /** Read from the file, not scored on this machine: shown, never counted. */
  readonly fromFile?: boolean;
  /** The contradiction check flagged the output, in words: "contradicts reference (P 0.97)" (shown even when the score passes). */
  readonly contradicts?: string;
  /** The contradiction check when it ran (flagged or not): P(contradiction), the flag, and the reference checked against where there are several. */
  readonly nli?: { readonly contradiction: number; readonly contradicts: boolean; readonly reference?: number };
  /** The LLM judge's stored verdict on the output (text from a model: shown and exported as data only). */
  readonly judge?: JudgeView;
}

/** An LLM judge's verdict as the views and exports show it: good/bad with its 1-5 rating and reason, or the failure; `stale` when made with another judge or prompt than the one in force. */
export interface JudgeView {
  readonly model: string;
  readonly verdict?: 'good' | 'bad';
  readonly rating?: number;
  readonly reason?: string;
  readonly error?: { readonly kind: string; readonly message: string };
  readonly stale?: boolean;
}

export interface AnnotationView {
  readonly id: string;
  /** 'reference' or a model name. */
  readonly target: string;
  readonly label: string;
  readonly note?: string;
  /** Who labelled (absent on labels written before reviewers were recorded). */
  readonly reviewer?: string;
  /** The row changed since this annotation was made. */
  readonly stale?: boolean;
}

/** An adjudication in force: the label that settles a target the reviewers disagreed on. */
export interface SettledView {
  /** 'reference' or a model name. */
  readonly target: string;
  readonly label: string;
  readonly reviewer?: string;
  readonly note?: string;
}

/** One row of the list: short text only. */
export interface RowView {
  readonly index: number;
  /** 1-based line in the dataset file. */
  readonly line: number;
  readonly id: string;
  /** The input's first line, shortened. */
  readonly input: string;
  /** The reference, shortened; null when the row has none. */
  readonly reference: string | null;
  /** model -> score; a model missing here has not been scored for this row. */
  readonly scores: Readonly<Record<string, ScoreView>>;
  readonly annotations: readonly AnnotationView[];
  readonly suspect: boolean;
  readonly hasImage: boolean;
  /** model -> its output's first characters on one line (the grid's "Outputs" toggle); the full text is in the row detail. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Targets ('reference' or a model) whose reviewers disagree, unsettled (never sent in blind mode). */
  readonly disagreeOn?: readonly string[];
  /** Adjudications in force on the row (never sent in blind mode). */
  readonly settled?: readonly SettledView[];
}

export interface RowsPage {
  readonly generation: number;
  /** Position of the first row in the current view. */
  readonly start: number;
  readonly rows: readonly RowView[];
}

export interface OutputView {
  readonly model: string;
  readonly output: string | null;
  readonly score: ScoreView | null;
  /** A row with several references: which one the output matched, and its score against each (matchedReferenceText). */
  readonly matched?: string;
  readonly latencyMs?: number;
  /** The model the server said answered (`response.model`), when it is not the model asked. */
  readonly answeredBy?: string;
  /** The LLM judge's verdict and reason on this output (judgeVerdictText; hidden in blind mode). */
  readonly judge?: string;
}

/** The request a row would send to one configured model (as `pisar-review preview --json` prints it), or why none would be sent. */
export interface RequestView {
  readonly model: string;
  /** The preview document as indented JSON (key redacted, image bytes summarised); null when nothing would be sent. */
  readonly request: string | null;
  /** Why nothing would be sent (the row's prompt or image cannot be built), with the fix. */
  readonly problem?: string;
}

/** A thumbnail the webview may show: a data: URL only (the host reads and checks local files). */
export interface ImageView {
  /** How the row gives the image: a path (relative to the dataset's folder), a URL or a data: URL. */
  readonly kind: 'path' | 'url' | 'data';
  readonly source: string;
  /** Present when the image is shown; otherwise why it is not. */
  readonly dataUrl?: string;
  readonly problem?: string;
}

export interface RowDetail {
  /** The dataset the row belongs to (its path): a row view is of one file, and is dropped when another is shown. */
  readonly file: string;
  readonly index: number;
  readonly line: number;
  readonly id: string;
  readonly input: string;
  readonly reference: string | null;
  /** Every reference, when the row has several (it is scored against each; `reference` is the first). */
  readonly references?: readonly string[];
  readonly images: readonly ImageView[];
  readonly outputs: readonly OutputView[];
  readonly annotations: readonly AnnotationView[];
  /** As in RowView: targets in open disagreement and the adjudications in force (empty in blind mode). */
  readonly disagreeOn: readonly string[];
  readonly settled: readonly SettledView[];
  /** The request the row would send to each configured model (absent where the host does not build them). */
  readonly requests?: readonly RequestView[];
}

/** A statistic of agreement with its bootstrap interval (null where undefined, e.g. everyone gave one label). */
export interface AgreementStatisticView {
  readonly value: number | null;
  readonly interval: IntervalView | null;
}

export interface AgreementMeasuresView {
  /** Units (a row's reference or one output) rated by two or more reviewers. */
  readonly units: number;
  readonly percentAgreement: number | null;
  /** Only with exactly two reviewers. */
  readonly cohenKappa?: AgreementStatisticView;
  readonly fleissKappa: AgreementStatisticView;
  readonly krippendorffAlpha: AgreementStatisticView;
}

/** Agreement between reviewers as `report` computes it (src/core/report/agreement.ts), for the panel. */
export interface AgreementView {
  readonly reviewers: readonly string[];
  readonly unitsRated: number;
  /** Null in blind mode (the statistics tell how the others labelled). */
  readonly overall: AgreementMeasuresView | null;
  readonly perLabel: readonly (AgreementMeasuresView & { readonly label: string; readonly count: number })[];
  /** Units and rows each reviewer labelled. */
  readonly progress: readonly { readonly reviewer: string; readonly labelled: number; readonly rows: number }[];
  /** Open disagreements; null in blind mode. */
  readonly disagreements: number | null;
  readonly adjudicated: number;
  readonly totalRows: number;
  readonly blind: boolean;
}

/**
 * Request name -> params and result. Rows are named by id, never by index: an edit above a row moves
 * its index while the panel still shows it, and an action must not land on the row that moved in.
 */
export interface RequestMap {
  'rows/page': { params: { generation: number; start: number; count: number }; result: RowsPage };
  'row/detail': { params: { rowId: string }; result: RowDetail };
  'row/score': { params: { rowIds: string[]; models?: string[]; rerun?: boolean }; result: null };
  'rows/scoreAll': { params: Record<string, never>; result: null };
  'row/annotate': { params: { rowId: string; target: string; label: string; note?: string }; result: null };
  'row/removeAnnotation': { params: { rowId: string; target: string }; result: null };
  /** Settles a target the reviewers disagree on with a label (an adjudicate event by the current reviewer). */
  'row/adjudicate': { params: { rowId: string; target: string; label: string; note?: string }; result: null };
  /** Agreement per label and overall, reviewers' progress; null without a dataset. */
  'review/agreement': { params: Record<string, never>; result: AgreementView | null };
  /** Turns blind mode on or off (the pisarReview.review.blind setting). */
  'review/setBlind': { params: { blind: boolean }; result: null };
  /** Runs "Export Training Data…" for the dataset shown (format, filters and hold-out are asked for). */
  'training/export': { params: Record<string, never>; result: null };
  'report/export': { params: Record<string, never>; result: null };
  /** The statistics of the dataset (intervals, paired tests, calibration); null without a dataset. Computed on request. */
  'stats/get': { params: { sliceField?: string }; result: StatisticsView | null };
  /** Sets the pisarReview.threshold setting (the calibration's suggestion), after the user confirms. */
  'stats/useThreshold': { params: { threshold: number }; result: null };
  /** Model b against model a on the rows both scored (improved = b higher by more than the epsilon); null without a dataset. */
  'stats/compare': { params: { a: string; b: string }; result: ComparisonView | null };
}

export type RequestType = keyof RequestMap;

export type WebviewRequest = {
  [K in RequestType]: { readonly type: K; readonly id: number; readonly params: RequestMap[K]['params'] };
}[RequestType];

/** Webview -> host. */
export type WebviewToHost =
  | WebviewRequest
  /** The webview has loaded and listens; the host flushes its queue and sends snapshots. */
  | { readonly type: 'webview/ready'; readonly query?: RowQuery }
  /** The user changed sort or filters; the host answers with `rows/didChange` carrying this `seq`. */
  | { readonly type: 'view/setQuery'; readonly query: RowQuery; readonly seq: number }
  /** The user selected a row in the panel: reveal its line in the editor. */
  | { readonly type: 'row/select'; readonly rowId: string };

export type ResponseMessage =
  | { readonly type: 'response'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'response'; readonly id: number; readonly ok: false; readonly error: string };

/** Host -> webview. */
export type HostToWebview =
  | ResponseMessage
  | { readonly type: 'dataset/didChange'; readonly dataset: DatasetView | null }
  | { readonly type: 'summary/didChange'; readonly summary: SummaryView | null }
  /** The rows in view changed (query, scores or annotations): drop cached pages of older generations. */
  | {
      readonly type: 'rows/didChange';
      readonly generation: number;
      readonly total: number;
      /** The query in force, as the host applied it (a model the dataset lacks is dropped). */
      readonly query: RowQuery;
      /** `seq` of the last `view/setQuery` this view includes (0 before any). */
      readonly seq: number;
    }
  /** The editor's cursor is on row `index` (id `rowId`); `position` is its place in the current view (null: filtered out). */
  | { readonly type: 'cursor/didChange'; readonly index: number | null; readonly rowId: string | null; readonly position: number | null }
  /** Rows being scored from any source, for a busy indicator. */
  | { readonly type: 'scoring/didChange'; readonly running: boolean; readonly message?: string };
