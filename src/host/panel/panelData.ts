import type { AnnotationView, MeanGapView } from '../../shared/protocol';

/**
 * What the panel needs from the active dataset, its results and its annotations.
 * No vscode types: the panel's message handling is tested over plain objects that implement this.
 */

/** A row as the panel reads it (DatasetRow satisfies it). */
export interface PanelRow {
  readonly index: number;
  readonly line: number;
  readonly id: string;
  readonly input: string;
  readonly reference: string | undefined;
  readonly outputs: Readonly<Record<string, string>>;
  readonly images: readonly { readonly kind: 'path' | 'url' | 'data'; readonly value: string }[];
}

/** One model's stored result for one row. */
export interface PanelResult {
  /** null when the call or the scoring failed, or the row has no reference. */
  readonly score: number | null;
  readonly error?: string;
  readonly stale?: boolean;
  readonly output?: string;
  readonly latencyMs?: number;
}

/** The summary numbers of core's summarize(); the panel adds histograms and counts. */
export interface PanelSummaryNumbers {
  readonly models: readonly {
    readonly model: string;
    readonly scored: number;
    readonly mean: number | null;
    readonly median: number | null;
    readonly shareAtLeast: number | null;
    readonly failures: number;
  }[];
  readonly gaps: readonly MeanGapView[];
}

export interface PanelData {
  readonly file: string;
  readonly rowCount: number;
  readonly threshold: number;
  readonly models: readonly string[];
  readonly labels: readonly string[];
  getRow(index: number): Promise<PanelRow>;
  /** Every row in file order (streamed; used for text search and text sorts). */
  rows(): AsyncIterable<PanelRow>;
  rowLine(index: number): number;
  rowIds(): readonly string[];
  /** The stored result of `model` on row `index`, or undefined when there is none. */
  resultOf(index: number, model: string): PanelResult | undefined;
  annotationsOf(index: number): readonly AnnotationView[];
  summary(): PanelSummaryNumbers;
}

/** What the panel can ask the host to do. */
export interface PanelActions {
  revealRow(index: number): void | Promise<void>;
  scoreRows(indexes: readonly number[], options: { models?: readonly string[]; rerun?: boolean }): Promise<void>;
  scoreAll(): Promise<void>;
  annotate(index: number, target: string, label: string, note: string | undefined): Promise<void>;
  removeAnnotation(index: number, target: string): Promise<void>;
  exportReport(): Promise<void>;
  /** Reads an image of a row for a thumbnail; returns a data: URL or why not. */
  loadImage(data: PanelData, image: PanelRow['images'][number]): Promise<{ dataUrl?: string; problem?: string }>;
}
