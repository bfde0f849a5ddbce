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
  /** Texts per model call: an embed job's rows (ordered by length on the main thread) run in batches of this size. */
  batchSize?: number;
}

export type EmbeddingRuntime = 'onnxruntime' | 'transformers.js';

export type MainToWorker =
  /** Load the model now (warmUp), before the first job, and the tokenizer too in the worker that tokenises: nothing comes back; a failure is told to the first job. */
  | { type: 'load'; tokenizer: boolean }
  /** Tokenise texts (the model loads on the first message): their ids and facts come back as 'tokens'. */
  | { type: 'tokenize'; id: number; texts: string[] }
  /** Embed rows of word-piece ids (each row's ids in turn, lengths[i] of them), batchSize rows a model call. */
  | { type: 'embed'; id: number; ids: Int32Array; lengths: Uint32Array }
  /** Finish the running batch, skip queued ones, release the session and exit (terminating mid-run can abort the process). */
  | { type: 'close' };

export type WorkerToMain =
  | { type: 'download'; file: string; loaded: number; total: number }
  /** The ids each text's model input holds ([CLS] pieces [SEP], cut), concatenated; and three facts a text (TextFacts: pieces, read, unknown). */
  | { type: 'tokens'; id: number; ids: Int32Array; lengths: Uint32Array; facts: Uint32Array }
  /** Unit vectors (dim numbers a row, in the order asked); slots: the positions the model ran, padding included. */
  | { type: 'result'; id: number; dim: number; data: Float32Array; slots: number }
  /** The model loaded and its files gave the maximum length (sent when the main thread could not know it). */
  | { type: 'ready'; maxLength: number; source: MaxLengthSource }
  /** The model loaded: straight on ONNX Runtime (a BERT model on disk) or through transformers.js (a download, another tokenizer). */
  | { type: 'runtime'; runtime: EmbeddingRuntime }
  | { type: 'error'; id: number; code: ScorerErrorCode; message: string };
