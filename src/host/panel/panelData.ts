import type { ComparisonView, StatisticsView } from '../../shared/statisticsView';
import type { ImageView, RequestView } from '../../shared/protocol';
import type { ReviewApi } from '../review/reviewApi';

/**
 * What the panel's host side needs: the review API minus its vscode parts (events), plus the two
 * things only the panel does (export, thumbnails). In the extension ReviewService provides it; the
 * panel's tests use core's ReviewModel over real files, with the vscode-only actions recorded.
 */
export interface PanelSource
  extends Pick<ReviewApi, 'activeDataset' | 'summary' | 'rows' | 'filterRows' | 'rowDetail' | 'indexOfRow' | 'rowIdAt' | 'isScoring' | 'revealRow' | 'scoreRows' | 'scoreAll' | 'annotate' | 'removeAnnotation' | 'adjudicate' | 'agreement'>,
    Partial<Pick<ReviewApi, 'scoreColumns' | 'prepareSearch'>> {
  /** Exports the summary and the rows in the panel's view (the export command). */
  exportReport(): Promise<void>;
  /** Reads a row's image for a thumbnail: a data: URL, or why it is not shown. */
  loadImage(datasetFile: string, image: ImageView): Promise<{ dataUrl?: string; problem?: string }>;
  /** The statistics section (intervals, paired tests, calibration); undefined without a dataset. */
  /** sliceField: the row field whose values split the statistics (report --slice). */
  statistics?(sliceField?: string): Promise<StatisticsView | undefined>;
  /** Sets the threshold setting to `threshold` (the calibration's suggestion the user picked). */
  useThreshold?(threshold: number): Promise<void>;
  /** Model b against model a, row by row. */
  compare?(a: string, b: string): Promise<ComparisonView | undefined>;
  /** Sets the pisarReview.review.blind setting (resolves once the views follow it). */
  setBlind(blind: boolean): Promise<void>;
  /** "Export Training Data…": format, filters and hold-out asked for, then the core export (as the CLI's). */
  exportTraining(): Promise<void>;
  /** The request a row of a dataset would send to each configured model. */
  requestPreviews?(datasetFile: string, index: number): Promise<RequestView[]>;
}
