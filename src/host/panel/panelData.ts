import type { StatisticsView } from '../../shared/statisticsView';
import type { DatasetView, ReviewApi, RowDetail } from '../review/reviewApi';

export type RowImage = RowDetail['images'][number];

/**
 * What the panel's host side needs: the review API minus its vscode parts (events, uri), plus the
 * two things only the panel does (export, thumbnails). The controller is tested over plain objects
 * that implement this; in the extension, ReviewApi itself provides most of it.
 */
export type PanelDataset = Omit<DatasetView, 'uri'>;

export interface PanelSource
  extends Pick<ReviewApi, 'rows' | 'filterRows' | 'rowDetail' | 'scoreColumns' | 'revealRow' | 'scoreRows' | 'scoreAll' | 'annotate' | 'removeAnnotation'> {
  activeDataset(): PanelDataset | undefined;
  /** Exports the summary and the rows in the panel's view (the export command). */
  exportReport(): Promise<void>;
  /** Reads a row's image for a thumbnail: a data: URL, or why it is not shown. */
  loadImage(datasetFile: string, image: RowImage): Promise<{ dataUrl?: string; problem?: string }>;
  /** The statistics section (intervals, paired tests, calibration); undefined without a dataset. */
  statistics?(): Promise<StatisticsView | undefined>;
  /** Sets the threshold setting to `threshold` (the calibration's suggestion the user picked). */
  useThreshold?(threshold: number): Promise<void>;
}
