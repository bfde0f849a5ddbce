// Messages between the scorer (main thread) and its embedding worker threads.
import type { EmbeddingDtype, ScorerErrorCode } from './embedder';
import type { MaxLengthSource } from './modelFiles';

export interface WorkerInit {
  /** Hub id, or an absolute folder path. */
  model: string;
  isLocalFolder: boolean;
  dtype: EmbeddingDtype;
  /** transformers.js downloads models under here. */
  modelCacheDir: string;
  hubUrl?: string;
  intraOpThreads: number;
  /** Word pieces kept per text (sentence-transformers' max_seq_length); read from the model's files once loaded if unset. */
  maxSeqLength?: number;
  /** Texts per model call; a longer job is ordered by word-piece count and run in batches of this size. */
  batchSize?: number;
}

export type EmbeddingRuntime = 'onnxruntime' | 'transformers.js';

export type MainToWorker =
  | { type: 'embed'; id: number; texts: string[] }
  /** Finish the running batch, skip queued ones, release the session and exit (terminating mid-run can abort the process). */
  | { type: 'close' };

export type WorkerToMain =
  | { type: 'download'; file: string; loaded: number; total: number }
  /** Unit vectors (dim numbers a text, in the order asked), and three facts a text (TextFacts: pieces, read, unknown). */
  | { type: 'result'; id: number; dim: number; data: Float32Array; facts: Uint32Array }
  /** The model loaded and its files gave the maximum length (sent when the main thread could not know it). */
  | { type: 'ready'; maxLength: number; source: MaxLengthSource }
  /** The model loaded: straight on ONNX Runtime (a BERT model on disk) or through transformers.js (a download, another tokenizer). */
  | { type: 'runtime'; runtime: EmbeddingRuntime }
  | { type: 'error'; id: number; code: ScorerErrorCode; message: string };
