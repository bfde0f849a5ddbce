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

/** What the model read of a text, counted in the one tokenisation that embedded it (local models only). */
export interface TextFacts {
  /** Word pieces of the whole text, [CLS] and [SEP] included. */
  pieces: number;
  /** Word pieces the model read (pieces cut to its maximum length). */
  read: number;
  /** [UNK] pieces among those read. */
  unknown: number;
}

/** A source of unit-length text embeddings; the scorer adds dedupe, ordering and the disk cache. */
export interface Embedder {
  /** True when the embedder sorts a call's texts by their real length itself: the scorer then spends no estimate on them. */
  readonly sortsByLength?: boolean;
  /**
   * Embeds `texts` (already deduplicated; sorted by estimated length unless sortsByLength), handing over each finished
   * part: the positions in `texts` it holds, their vectors and (where the embedder knows them) their facts.
   */
  computeEmbeddings(texts: readonly string[], sink: (positions: readonly number[], vectors: Float32Array[], facts?: TextFacts[]) => void, run: EmbedRunOptions): Promise<void>;
  /** Gets ready to compute (a local model: its threads started and the model loading) before the first texts come. */
  warmUp?(): void;
  dispose(): Promise<void>;
}
