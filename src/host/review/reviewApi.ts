import type * as vscode from 'vscode';
import type { StatisticsReport } from '../../core/report/statistics';

/**
 * What the review side of the extension offers the side panel (src/host/panel/**).
 *
 * The panel never touches stores or the dataset reader: it reads view models from here (whole
 * snapshots of the dataset, rows in pages) and acts through the methods below, so the editor and
 * the panel always show the same data and write through the same code.
 * Every string in these views is dataset text: render it with textContent, never as HTML.
 */
export interface ReviewApi {
  /** The dataset shown changed: another editor became active, or the last one was closed (undefined). */
  readonly onDidChangeActiveDataset: vscode.Event<DatasetView | undefined>;
  /**
   * Rows of the active dataset changed: scores arrived, annotations changed, the buffer was edited
   * or the sidecars changed on disk. `indexes` undefined means "anything may have changed" (reload
   * pages and the summary); otherwise just those rows (the summary may still have changed).
   */
  readonly onDidChangeRows: vscode.Event<RowsChange>;
  /** The cursor in the dataset's editor moved onto another row. */
  readonly onDidChangeCursorRow: vscode.Event<CursorRow>;

  /** A snapshot of the active dataset (the dataset of the active, or last active, JSONL editor). */
  activeDataset(): DatasetView | undefined;
  /** Rows `start .. start+count-1` of the active dataset (clamped), for a virtualised table. */
  rows(start: number, count: number): Promise<RowView[]>;
  /** Every row index matching a filter, in file order (cheap: no row text is parsed for score filters). */
  filterRows(filter: RowFilter): Promise<number[]>;
  /** One row with everything needed for the detail view. */
  rowDetail(index: number): Promise<RowDetail | undefined>;
  /**
   * Per model, every row's current score (NaN where there is none), from the stores without parsing
   * rows: the panel sorts 100,000 rows by score with it. Optional; without it the panel reads every row.
   */
  scoreColumns?(): Promise<ReadonlyMap<string, Float64Array>>;

  /** Shows the row's line in the dataset's editor (opening it if needed) and puts the cursor there. */
  revealRow(index: number): Promise<void>;
  /**
   * Scores rows: calls the models missing for each row (all of them with `rerun`), or only
   * `models` when given. Resolves when done; rows change (events) as each answer arrives.
   * Refuses (with a message to the user) in an untrusted workspace.
   */
  scoreRows(indexes: readonly number[], options?: ScoreOptions): Promise<void>;
  /** Scores the whole file with progress, like the "Score File" command. */
  scoreAll(options?: ScoreOptions): Promise<void>;
  /** Cancels the running score, if any. */
  cancelScoring(): void;

  /** Marks a row's reference, or one model's output, with a label and an optional note (edits the existing annotation of that target). */
  annotate(rowIndex: number, target: AnnotationTargetView, label: string, note?: string): Promise<void>;
  /** Asks the user for a label and note (quick pick + input box) for that target, then annotates. */
  annotateInteractively(rowIndex: number, target?: AnnotationTargetView): Promise<void>;
  editAnnotation(annotationId: string, change: { label?: string; note?: string | null }): Promise<void>;
  removeAnnotation(annotationId: string): Promise<void>;
  /** Intervals, paired tests, calibration against labels and bias checks of the active dataset (as `report --json`). */
  statistics?(): Promise<StatisticsReport | undefined>;
}

export interface RowsChange {
  /** Absolute path of the dataset. */
  readonly file: string;
  readonly indexes?: readonly number[];
}

export interface CursorRow {
  readonly file: string;
  readonly index: number;
}

export interface ScoreOptions {
  /** Only these models (names from the models setting). Default: all configured models. */
  readonly models?: readonly string[];
  /** Call again even where a current result is stored. */
  readonly rerun?: boolean;
}

export interface AnnotationTargetView {
  readonly kind: 'reference' | 'output';
  /** Only for kind 'output'. */
  readonly model?: string;
}

export type RowFilter =
  | { readonly kind: 'belowThreshold'; readonly model?: string }
  | { readonly kind: 'suspectReference' }
  | { readonly kind: 'annotated' }
  | { readonly kind: 'notScored' }
  /** `within`: only these rows can match (the panel narrows a search as the user types on). */
  | { readonly kind: 'text'; readonly text: string; readonly within?: readonly number[] };

export interface DatasetView {
  readonly uri: vscode.Uri;
  /** Absolute path. */
  readonly file: string;
  /** Increases with every change of this dataset's rows, results or annotations. */
  readonly version: number;
  readonly rowCount: number;
  /** Configured models first, then models seen only in stored results or precomputed outputs. */
  readonly models: readonly string[];
  /** Models from the models setting (the ones that can be called). */
  readonly configuredModels: readonly string[];
  readonly threshold: number;
  /** Annotation labels, in order (number keys 1..9 pick them). */
  readonly labels: readonly string[];
  readonly summary: DatasetSummaryView;
  /** Rows with at least one annotation placed on them. */
  readonly annotatedRows: number;
  /** Rows where every scored model is below the threshold. */
  readonly suspectRows: number;
  /** Malformed lines (they are not rows). */
  readonly findings: number;
  /** Whether model calls are allowed (trusted workspace). */
  readonly canScore: boolean;
  /** A score is running for this dataset. */
  readonly scoring: boolean;
}

export interface DatasetSummaryView {
  readonly rows: number;
  readonly models: readonly ModelSummaryView[];
  /** Difference of means (a minus b) for each pair of models that both have a mean, as core summarize() computes it. */
  readonly gaps: readonly { readonly a: string; readonly b: string; readonly meanDifference: number }[];
}

export interface ModelSummaryView {
  readonly model: string;
  /** Rows with a score (current, not stale). */
  readonly scored: number;
  readonly mean: number | undefined;
  readonly median: number | undefined;
  /** Share of scored rows with score >= threshold, 0..1. */
  readonly shareAtOrAbove: number | undefined;
  /** Rows whose latest call failed. */
  readonly failed: number;
  /** Scores of the scored rows, for histograms. */
  readonly scores: readonly number[];
}

export interface RowView {
  readonly index: number;
  /** 1-based line in the file. */
  readonly line: number;
  readonly id: string;
  /** The first line of the input, at most 200 characters. */
  readonly inputPreview: string;
  /** The reference rationale, at most 500 characters; undefined when the row has none. */
  readonly referencePreview: string | undefined;
  readonly hasImage: boolean;
  /** One entry per model in DatasetView.models order that has a result for this row. */
  readonly scores: readonly ModelScoreView[];
  readonly annotations: readonly AnnotationView[];
  /** Some model scored below the threshold. */
  readonly belowThreshold: boolean;
  /** Every scored model is below the threshold: the reference may be wrong. */
  readonly suspectReference: boolean;
}

export interface ModelScoreView {
  readonly model: string;
  /** Cosine similarity, when the call succeeded and the row has a reference. */
  readonly score: number | undefined;
  /** The failure, when the call failed. */
  readonly error: string | undefined;
  /** Why a successful output has no score (e.g. the row has no reference). */
  readonly note?: string | undefined;
  /** The row changed since this result was stored. */
  readonly stale: boolean;
  readonly latencyMs: number | undefined;
  readonly promptTokens: number | undefined;
  readonly completionTokens: number | undefined;
}

export interface ModelOutputView extends ModelScoreView {
  /** The output text (stored result, or a precomputed output in the row). */
  readonly output: string | undefined;
}

export interface AnnotationView {
  readonly id: string;
  readonly target: AnnotationTargetView;
  readonly label: string;
  readonly note: string | undefined;
  /** 'changed': the row was edited after it was annotated (shown, flagged). */
  readonly state: 'current' | 'changed';
  readonly updatedAt: string;
}

export interface RowDetail extends RowView {
  readonly input: string;
  readonly reference: string | undefined;
  /** Image references as written in the row (a path is relative to the dataset's folder). */
  readonly images: readonly { readonly kind: 'path' | 'url' | 'data'; readonly value: string }[];
  readonly outputs: readonly ModelOutputView[];
}
