// Embedding worker thread: loads the model once (lazily, on the first batch), then tokenises, runs and
// mean-pools batches so none of it blocks the thread that asked.
import { parentPort, workerData } from 'node:worker_threads';
import type { ScorerErrorCode } from './embedder';
import type { MainToWorker, WorkerInit, WorkerToMain } from './workerProtocol';

type Transformers = typeof import('@huggingface/transformers');
type Extractor = Awaited<ReturnType<Transformers['pipeline']>>;

type Encoded = Record<string, { data: ArrayLike<number | bigint> & { [i: number]: number | bigint }; dims: number[] }>;

interface LoadedModel {
  tokenizer: ((texts: string[], options: { padding: boolean; truncation: boolean; max_length?: number }) => Encoded) & { sep_token_id?: number; model_max_length?: number; encode(text: string): number[] };
  model: (inputs: Record<string, unknown>) => Promise<Record<string, { data: Float32Array; dims: number[] }>>;
  dispose: () => Promise<unknown>;
}

const init = workerData as WorkerInit;
const port = parentPort;
let loading: Promise<LoadedModel> | undefined;

class WorkerFailure extends Error {
  constructor(readonly code: ScorerErrorCode, message: string) {
    super(message);
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function isNetworkFailure(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (e instanceof TypeError && /fetch failed/i.test(e.message)) return true;
  }
  return false;
}

function describeLoadFailure(error: unknown): WorkerFailure {
  const detail = error instanceof Error ? error.message : String(error);
  const howToUseLocal = 'set pisarReview.embedding.model (CLI: --embedding-model) to a local folder that holds the model';
  if (init.isLocalFolder) {
    if (/not found|could not locate|no such file|ENOENT/i.test(detail)) {
      return new WorkerFailure('model-missing', `Model folder ${init.model} is incomplete: ${detail}`);
    }
    return new WorkerFailure('model-corrupt', `Model folder ${init.model} could not be loaded (a file is damaged or not a transformers.js model): ${detail}. Rebuild or re-copy the folder.`);
  }
  if (isNetworkFailure(error)) {
    return new WorkerFailure('offline', `Cannot download embedding model ${init.model}: no connection to ${init.hubUrl ?? 'https://huggingface.co'}, and it is not cached in ${init.modelCacheDir}. Connect once to download it, or ${howToUseLocal}.`);
  }
  if (/could not locate|404|not found/i.test(detail)) {
    return new WorkerFailure('model-missing', `Embedding model ${init.model} was not found on the Hub (${detail}). Check the model id, or ${howToUseLocal}.`);
  }
  return new WorkerFailure('model-corrupt', `Embedding model ${init.model} could not be loaded from ${init.modelCacheDir}: ${detail}. Delete that folder to download it again, or ${howToUseLocal}.`);
}

async function loadModel(): Promise<LoadedModel> {
  let transformers: Transformers;
  try {
    transformers = await import('@huggingface/transformers');
  } catch (error) {
    throw new WorkerFailure('model-corrupt', `The embedding runtime (@huggingface/transformers with onnxruntime-node) could not be loaded: ${error instanceof Error ? error.message : String(error)}. Reinstall PiSAR Review (CLI: npm install in its folder).`);
  }
  const { env, pipeline } = transformers;
  env.cacheDir = init.modelCacheDir;
  env.allowLocalModels = init.isLocalFolder;
  env.allowRemoteModels = !init.isLocalFolder;
  if (init.hubUrl) env.remoteHost = init.hubUrl.endsWith('/') ? init.hubUrl : `${init.hubUrl}/`;
  let extractor: Extractor;
  try {
    extractor = await pipeline('feature-extraction', init.model, {
      dtype: init.dtype,
      session_options: { intraOpNumThreads: init.intraOpThreads, interOpNumThreads: 1 },
      progress_callback: (info: unknown) => {
        const p = info as { status?: string; file?: string; loaded?: number; total?: number };
        if (p.status === 'progress' && p.file !== undefined) {
          post({ type: 'download', file: p.file, loaded: p.loaded ?? 0, total: p.total ?? 0 });
        }
      },
    });
  } catch (error) {
    throw describeLoadFailure(error);
  }
  const loaded = extractor as unknown as LoadedModel;
  return { tokenizer: loaded.tokenizer, model: loaded.model, dispose: () => extractor.dispose() };
}

/** Mean of the token vectors over the attention mask, then L2-normalised (as sentence-transformers). */
function meanPoolNormalised(hidden: Float32Array, dims: number[], mask: ArrayLike<number | bigint>): Float32Array {
  const [batch, seq, dim] = dims;
  const out = new Float32Array(batch * dim);
  const acc = new Float64Array(dim);
  for (let b = 0; b < batch; b++) {
    acc.fill(0);
    let count = 0;
    for (let s = 0; s < seq; s++) {
      if (Number(mask[b * seq + s]) === 0) continue;
      count++;
      const base = (b * seq + s) * dim;
      for (let d = 0; d < dim; d++) acc[d] += hidden[base + d];
    }
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      acc[d] /= Math.max(count, 1);
      norm += acc[d] * acc[d];
    }
    const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
    for (let d = 0; d < dim; d++) out[b * dim + d] = acc[d] * scale;
  }
  return out;
}

/**
 * transformers.js cuts a long text after adding [CLS]/[SEP], dropping the final [SEP]; Hugging Face
 * tokenizers (and so sentence-transformers) cut the words and keep it. Restore the [SEP].
 */
function endTruncatedWithSep(inputs: Encoded, sepId: number | undefined): void {
  const ids = inputs.input_ids;
  const mask = inputs.attention_mask;
  if (sepId === undefined || !ids || !mask) return;
  const [batch, seq] = ids.dims;
  const sep = typeof ids.data[0] === 'bigint' ? BigInt(sepId) : sepId;
  for (let b = 0; b < batch; b++) {
    const last = b * seq + seq - 1;
    // Only a row that fills the whole width can have been cut.
    if (Number(mask.data[last]) === 1 && Number(ids.data[last]) !== sepId) ids.data[last] = sep;
  }
}

async function embed(texts: string[]): Promise<{ dim: number; data: Float32Array }> {
  loading ??= loadModel();
  const { tokenizer } = await loading;
  const batchSize = Math.max(1, init.batchSize ?? texts.length);
  if (texts.length <= batchSize) return embedBatch(texts);
  // Batches of texts with the same number of word pieces are padded least: order by it, then batch.
  const limit = init.maxSeqLength ?? tokenizer.model_max_length ?? Number.POSITIVE_INFINITY;
  const pieces = texts.map((text) => Math.min(tokenizer.encode(text).length, limit));
  const order = texts.map((_, i) => i).sort((a, b) => pieces[a] - pieces[b] || a - b);
  let out: Float32Array | undefined;
  let dim = 0;
  for (let start = 0; start < order.length; start += batchSize) {
    const chunk = order.slice(start, start + batchSize);
    const result = await embedBatch(chunk.map((i) => texts[i]));
    dim = result.dim;
    out ??= new Float32Array(texts.length * dim);
    chunk.forEach((i, k) => out!.set(result.data.subarray(k * dim, (k + 1) * dim), i * dim));
  }
  return { dim, data: out! };
}

async function embedBatch(texts: string[]): Promise<{ dim: number; data: Float32Array }> {
  const { tokenizer, model } = await loading!;
  const inputs = tokenizer(texts, { padding: true, truncation: true, max_length: init.maxSeqLength });
  endTruncatedWithSep(inputs, tokenizer.sep_token_id);
  const outputs = await model(inputs);
  const hidden = outputs.last_hidden_state ?? Object.values(outputs)[0];
  return { dim: hidden.dims[2], data: meanPoolNormalised(hidden.data, hidden.dims, inputs.attention_mask.data) };
}

/** Which texts have more word pieces ([CLS]/[SEP] included) than are kept: those are embedded on their start only. */
async function cutTexts(texts: string[]): Promise<boolean[]> {
  loading ??= loadModel();
  const { tokenizer } = await loading;
  const limit = init.maxSeqLength ?? tokenizer.model_max_length ?? Number.POSITIVE_INFINITY;
  return texts.map((text) => {
    const mask = tokenizer([text], { padding: false, truncation: false }).attention_mask;
    let n = 0;
    for (let i = 0; i < mask.data.length; i++) n += Number(mask.data[i]);
    return n > limit;
  });
}

function post(message: WorkerToMain, transfer?: ArrayBuffer[]): void {
  port?.postMessage(message, transfer);
}

// One batch at a time, in arrival order: the main thread keeps a second batch queued to hide the hand-off.
let queue: Promise<void> = Promise.resolve();
let closing = false;
port?.on('message', (message: MainToWorker) => {
  if (message.type === 'close') {
    closing = true;
    queue = queue.then(async () => {
      const model = await loading?.catch(() => undefined);
      await model?.dispose().catch(() => undefined);
      process.exit(0);
    });
    return;
  }
  queue = queue.then(async () => {
    if (closing) {
      post({ type: 'error', id: message.id, code: 'cancelled', message: 'The scorer was disposed.' });
      return;
    }
    try {
      if (message.type === 'cut') {
        post({ type: 'cut', id: message.id, cut: await cutTexts(message.texts) });
        return;
      }
      const { dim, data } = await embed(message.texts);
      post({ type: 'result', id: message.id, dim, data }, [data.buffer as ArrayBuffer]);
    } catch (error) {
      const failure = error instanceof WorkerFailure ? error : new WorkerFailure('model-corrupt', `Embedding failed: ${error instanceof Error ? error.message : String(error)}`);
      post({ type: 'error', id: message.id, code: failure.code, message: failure.message });
    }
  });
});
