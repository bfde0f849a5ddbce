import type * as vscode from 'vscode';
import type { StatisticsReport } from '../../core/report/statistics';
import type { ReviewModel } from '../../core/review/reviewModel';
import type { AnnotationTarget } from '../../core/store/annotations';
import type { DatasetView } from '../../shared/protocol';
import type { ComparisonView } from '../../shared/statisticsView';

/**
 * What the review side of the extension offers the side panel (src/host/panel/**).
 *
 * The panel never touches stores or the dataset reader: it reads the view model of
 * src/shared/protocol.ts from here (core's ReviewModel: snapshots of the dataset, rows in pages) and
 * acts through the methods below, so the editor and the panel always show the same data and write
 * through the same code. Every string in the views is dataset text: render it with textContent.
 */
export interface ReviewApi
  extends Pick<ReviewModel, 'activeDataset' | 'summary' | 'rows' | 'filterRows' | 'rowDetail' | 'scoreColumns' | 'prepareSearch' | 'indexOfRow' | 'rowIdAt' | 'annotate' | 'removeAnnotation' | 'adjudicate' | 'agreement'> {
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

  /** Intervals, paired tests, calibration against labels and bias checks of the active dataset (as `report --json`). */
  /** sliceField: the row field whose values split the statistics (report --slice). */
  statistics?(sliceField?: string): Promise<StatisticsReport | undefined>;
  /** Model b against model a on the active dataset, row by row (as `compare <file> --models a,b`). */
  compare?(a: string, b: string): Promise<ComparisonView | undefined>;
  /** A score is running for the active dataset. */
  isScoring(): boolean;
  /** Shows the row's line in the dataset's editor (opening it if needed) and puts the cursor there. */
  revealRow(index: number, options?: { readonly preserveFocus?: boolean }): Promise<void>;
  /**
   * Scores rows: calls the models missing for each row (all of them with `rerun`), or only
   * `models` when given. Resolves when done; rows change (events) as each answer arrives.
   * Refuses (with a message to the user) in an untrusted workspace.
   */
  scoreRows(indexes: readonly number[], options?: ScoreOptions): Promise<void>;
  /** Scores the whole file with progress, like the "Score File" command. */
  scoreAll(options?: ScoreOptions): Promise<void>;
  /** Asks the user for a label and note (quick pick + input box) for that target, then annotates. */
  annotateInteractively(rowIndex: number, target?: AnnotationTarget): Promise<void>;
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
