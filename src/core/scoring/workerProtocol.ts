// Messages between the scorer (main thread) and its embedding worker threads.
import type { EmbeddingDtype } from './scorer';

export interface WorkerInit {
  /** Hub id, or an absolute folder path. */
  model: string;
  isLocalFolder: boolean;
  dtype: EmbeddingDtype;
  /** transformers.js downloads models under here. */
  modelCacheDir: string;
  hubUrl?: string;
  intraOpThreads: number;
}

export type MainToWorker = { type: 'embed'; id: number; texts: string[] };

export type ScorerErrorCode = 'offline' | 'model-missing' | 'model-corrupt' | 'remote-failed' | 'cancelled';

export type WorkerToMain =
  | { type: 'download'; file: string; loaded: number; total: number }
  | { type: 'result'; id: number; dim: number; data: Float32Array }
  | { type: 'error'; id: number; code: ScorerErrorCode; message: string };
