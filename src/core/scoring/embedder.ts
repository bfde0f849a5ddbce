// The bottom of scoring/: what the scorer and its embedders (local, remote, worker) share. Imports nothing of scoring/.

export type EmbeddingDtype = 'fp32' | 'q8';

export type ScorerEvent =
  | { kind: 'download'; file: string; loaded: number; total: number }
  | { kind: 'embed'; done: number; total: number };

export type ScorerErrorCode = 'offline' | 'model-missing' | 'model-corrupt' | 'remote-failed' | 'cancelled';

export class ScorerError extends Error {
  constructor(readonly code: ScorerErrorCode, message: string) {
    super(message);
    this.name = 'ScorerError';
  }
}

export interface EmbedRunOptions {
  signal?: AbortSignal;
  onEvent?: (event: ScorerEvent) => void;
}

/** A source of unit-length text embeddings; the scorer adds dedupe, ordering and the disk cache. */
export interface Embedder {
  /** Embeds `texts` (already deduplicated and sorted by length), handing over each finished slice. */
  computeEmbeddings(texts: readonly string[], sink: (start: number, vectors: Float32Array[]) => void, run: EmbedRunOptions): Promise<void>;
  /** Which texts are longer than the model reads (embedded on their start only), where the embedder can tell. */
  cutTexts?(texts: readonly string[], run: EmbedRunOptions): Promise<boolean[]>;
  dispose(): Promise<void>;
}
