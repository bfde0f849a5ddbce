// Messages between the scorer (main thread) and its embedding worker threads.
import type { EmbeddingDtype, ScorerErrorCode } from './embedder';

export interface WorkerInit {
  /** Hub id, or an absolute folder path. */
  model: string;
  isLocalFolder: boolean;
  dtype: EmbeddingDtype;
  /** transformers.js downloads models under here. */
  modelCacheDir: string;
  hubUrl?: string;
  intraOpThreads: number;
  /** Word pieces kept per text (sentence-transformers' max_seq_length); the tokenizer's limit if unset. */
  maxSeqLength?: number;
  /** Texts per model call; a longer job is ordered by word-piece count and run in batches of this size. */
  batchSize?: number;
}

export type MainToWorker =
  | { type: 'embed'; id: number; texts: string[] }
  /** Which texts are longer than the word pieces kept (maxSeqLength, else the tokenizer's limit). */
  | { type: 'cut'; id: number; texts: string[] }
  /** Finish the running batch, skip queued ones, release the session and exit (terminating mid-run can abort the process). */
  | { type: 'close' };

export type WorkerToMain =
  | { type: 'download'; file: string; loaded: number; total: number }
  | { type: 'result'; id: number; dim: number; data: Float32Array }
  | { type: 'cut'; id: number; cut: boolean[] }
  | { type: 'error'; id: number; code: ScorerErrorCode; message: string };
