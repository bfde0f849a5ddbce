// Embedding worker thread: loads the model once (lazily, on the first batch), then tokenises, runs and
// mean-pools batches so none of it blocks the thread that asked. A model on disk with a BERT WordPiece
// tokenizer (all-MiniLM-L6-v2 and its kin) runs straight on ONNX Runtime with the product's tokenizer:
// no transformers.js in the thread (about 60 MB less per worker, and nothing between the ids and session.run).
// transformers.js loads the rest: a Hub model not downloaded yet, or another kind of tokenizer.
import { existsSync, readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { BertWordPieceTokenizer } from './bertTokenizer';
import type { ScorerErrorCode } from './embedder';
import { modelMaxLength, onnxFileName } from './modelFiles';
import type { MainToWorker, WorkerInit, WorkerToMain } from './workerProtocol';

type Transformers = typeof import('@huggingface/transformers');
type Extractor = Awaited<ReturnType<Transformers['pipeline']>>;
type Ort = typeof import('onnxruntime-node');

interface LoadedModel {
  /** transformers.js's tokenizer: used only for a tokenizer the product's BERT tokenizer does not reproduce. */
  tokenizer?: { unk_token_id?: number; encode(text: string): number[] };
  /** The product's BERT WordPiece tokenizer (the reference's, code point for code point), when the model has one. */
  bert: BertWordPieceTokenizer | undefined;
  /** One model call: int64 tensors by input name, the token vectors back. */
  run: (feeds: Record<string, { data: BigInt64Array; dims: number[] }>) => Promise<{ data: Float32Array; dims: readonly number[] }>;
  inputNames: readonly string[];
  /** Word pieces read per text ([CLS]/[SEP] included); undefined: no limit known. */
  maxLength: number | undefined;
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

/** The model's folder on disk: a local folder, or where transformers.js keeps a downloaded Hub model. */
const folder = init.isLocalFolder ? init.model : join(init.modelCacheDir, init.model);

function maxLengthOnceLoaded(): number | undefined {
  const fromFiles = init.maxSeqLength === undefined ? modelMaxLength(folder, init.isLocalFolder ? undefined : init.model) : undefined;
  if (fromFiles) post({ type: 'ready', maxLength: fromFiles.maxLength, source: fromFiles.source });
  return init.maxSeqLength ?? fromFiles?.maxLength;
}

/** The model's BERT tokenizer when its files are all on disk and the product reproduces the tokenizer; else undefined. */
function bertOnDisk(): BertWordPieceTokenizer | undefined {
  const weights = join(folder, 'onnx', onnxFileName(init.dtype));
  const tokenizerFile = join(folder, 'tokenizer.json');
  if (!existsSync(weights) || !existsSync(tokenizerFile) || !existsSync(join(folder, 'config.json'))) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(tokenizerFile, 'utf8'));
  } catch (error) {
    // transformers.js would fail on it too, without naming the file.
    throw new WorkerFailure('model-corrupt', `Model folder ${folder}: ${tokenizerFile} could not be read as JSON (${error instanceof Error ? error.message : String(error)}). Rebuild or re-copy the folder (a downloaded model: delete the folder to download it again).`);
  }
  return BertWordPieceTokenizer.fromTokenizerJson(json);
}

async function loadModel(): Promise<LoadedModel> {
  const bert = bertOnDisk();
  return bert ? loadOnRuntime(bert) : loadWithTransformers();
}

/** ONNX Runtime, with the session options transformers.js would give it: the same graph, the same numbers. */
async function loadOnRuntime(bert: BertWordPieceTokenizer): Promise<LoadedModel> {
  let ort: Ort;
  try {
    ort = await import('onnxruntime-node');
  } catch (error) {
    throw new WorkerFailure('model-corrupt', `The embedding runtime (onnxruntime-node) could not be loaded: ${error instanceof Error ? error.message : String(error)}. Reinstall PiSAR Review (CLI: npm install in its folder).`);
  }
  let session: Awaited<ReturnType<Ort['InferenceSession']['create']>>;
  try {
    session = await ort.InferenceSession.create(join(folder, 'onnx', onnxFileName(init.dtype)), { intraOpNumThreads: init.intraOpThreads, interOpNumThreads: 1, logSeverityLevel: 3 });
  } catch (error) {
    throw describeLoadFailure(error);
  }
  post({ type: 'runtime', runtime: 'onnxruntime' });
  const outputName = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0];
  return {
    bert,
    inputNames: session.inputNames,
    maxLength: maxLengthOnceLoaded(),
    run: async (feeds) => {
      const tensors: Record<string, InstanceType<Ort['Tensor']>> = {};
      for (const [name, { data, dims }] of Object.entries(feeds)) tensors[name] = new ort.Tensor('int64', data, dims);
      const out = (await session.run(tensors))[outputName];
      return { data: out.data as Float32Array, dims: out.dims };
    },
    dispose: () => session.release(),
  };
}

async function loadWithTransformers(): Promise<LoadedModel> {
  let transformers: Transformers;
  try {
    transformers = await import('@huggingface/transformers');
  } catch (error) {
    throw new WorkerFailure('model-corrupt', `The embedding runtime (@huggingface/transformers with onnxruntime-node) could not be loaded: ${error instanceof Error ? error.message : String(error)}. Reinstall PiSAR Review (CLI: npm install in its folder).`);
  }
  const { env, pipeline, Tensor } = transformers;
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
  post({ type: 'runtime', runtime: 'transformers.js' });
  type Output = Record<string, { data: Float32Array; dims: number[] }>;
  const loaded = extractor as unknown as {
    tokenizer: NonNullable<LoadedModel['tokenizer']> & { _tokenizerJSON?: unknown };
    model: ((inputs: Record<string, unknown>) => Promise<Output>) & { sessions?: Record<string, { inputNames?: string[] }> };
  };
  const TensorOf = Tensor as unknown as new (type: 'int64', data: BigInt64Array, dims: number[]) => unknown;
  return {
    tokenizer: loaded.tokenizer,
    bert: BertWordPieceTokenizer.fromTokenizerJson(loaded.tokenizer._tokenizerJSON),
    inputNames: loaded.model.sessions?.model?.inputNames ?? ['input_ids', 'attention_mask', 'token_type_ids'],
    maxLength: maxLengthOnceLoaded(),
    run: async (feeds) => {
      const tensors: Record<string, unknown> = {};
      for (const [name, { data, dims }] of Object.entries(feeds)) tensors[name] = new TensorOf('int64', data, dims);
      const outputs = await loaded.model(tensors);
      return outputs.last_hidden_state ?? Object.values(outputs)[0];
    },
    dispose: () => extractor.dispose(),
  };
}

/** Mean of the token vectors over the attention mask, then L2-normalised (as sentence-transformers). */
function meanPoolNormalised(hidden: Float32Array, dims: readonly number[], lengths: readonly number[], out: Float32Array, rows: readonly number[]): void {
  const [batch, seq, dim] = dims;
  const acc = new Float64Array(dim);
  for (let b = 0; b < batch; b++) {
    acc.fill(0);
    const count = lengths[b];
    for (let s = 0; s < count; s++) {
      const base = (b * seq + s) * dim;
      for (let d = 0; d < dim; d++) acc[d] += hidden[base + d];
    }
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      acc[d] /= Math.max(count, 1);
      norm += acc[d] * acc[d];
    }
    const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
    const at = rows[b] * dim;
    for (let d = 0; d < dim; d++) out[at + d] = acc[d] * scale;
  }
}

/** One text made ready for the model, tokenised once: the ids it reads and what the cut and unknown counts need. */
interface Prepared {
  /** Ids the model reads: [CLS] word pieces [SEP], cut to the maximum length. */
  ids: number[];
  /** Word pieces of the whole text, [CLS] and [SEP] included (more than ids.length: the text was cut). */
  pieces: number;
  /** [UNK] pieces among those read. */
  unknown: number;
}

function prepare(model: LoadedModel, text: string): Prepared {
  const limit = model.maxLength ?? Number.POSITIVE_INFINITY;
  if (model.bert) {
    const { ids, unknown } = model.bert.encode(text);
    const keep = Math.max(0, Math.min(ids.length, limit - 2));
    let unknownKept = unknown;
    if (keep < ids.length) {
      unknownKept = 0;
      for (let i = 0; i < keep; i++) if (ids[i] === model.bert.unkId) unknownKept++;
    }
    const kept = new Array<number>(keep + 2);
    kept[0] = model.bert.clsId;
    for (let i = 0; i < keep; i++) kept[i + 1] = ids[i];
    kept[keep + 1] = model.bert.sepId;
    return { ids: kept, pieces: ids.length + 2, unknown: unknownKept };
  }
  // Another tokenizer (not BERT WordPiece): transformers.js's, cut as tokenizers cuts (the final special kept).
  const tokenizer = model.tokenizer!; // loaded by transformers.js whenever model.bert is undefined
  const all = tokenizer.encode(text);
  const ids = all.length > limit ? [...all.slice(0, limit - 1), all[all.length - 1]] : all;
  let unknown = 0;
  for (const id of ids) if (id === tokenizer.unk_token_id) unknown++;
  return { ids, pieces: all.length, unknown };
}

// Ids are below 2^31: on a little-endian machine each int64 is written as its low 32 bits (the high ones stay 0), no BigInt a token.
const LITTLE_ENDIAN = endianness() === 'LE';

/** The model's input tensors, allocated once and grown when a batch needs more: each batch writes into them and runs on views of them. */
const inputs = { ids: new BigInt64Array(0), mask: new BigInt64Array(0), types: new BigInt64Array(0) };

function inputsFor(size: number): typeof inputs {
  if (inputs.ids.length < size) {
    const capacity = Math.max(size, 2 * inputs.ids.length);
    inputs.ids = new BigInt64Array(capacity);
    inputs.mask = new BigInt64Array(capacity);
    inputs.types = new BigInt64Array(capacity); // token type 0 everywhere: never written
  }
  return inputs;
}

/** Runs rows [first, first + count) of a job's ids (each row's word pieces at offsets[row]) as one batch, its unit vectors into out. */
async function runBatch(model: LoadedModel, job: TokenJob, first: number, count: number, out: { data?: Float32Array; dim: number }): Promise<number> {
  let width = 0;
  for (let r = first; r < first + count; r++) width = Math.max(width, job.lengths[r]);
  const size = count * width;
  const { ids: idsBuffer, mask: maskBuffer, types: typesBuffer } = inputsFor(size);
  const ids = idsBuffer.subarray(0, size);
  const mask = maskBuffer.subarray(0, size);
  const low = LITTLE_ENDIAN ? new Int32Array(ids.buffer, 0, 2 * size) : undefined;
  const lengths = new Array<number>(count);
  for (let b = 0; b < count; b++) {
    const length = job.lengths[first + b];
    const from = job.offsets[first + b];
    const at = b * width;
    if (low) {
      for (let i = 0; i < length; i++) low[2 * (at + i)] = job.ids[from + i];
      for (let i = length; i < width; i++) low[2 * (at + i)] = 0;
    } else {
      for (let i = 0; i < length; i++) ids[at + i] = BigInt(job.ids[from + i]);
      ids.fill(0n, at + length, at + width);
    }
    mask.fill(1n, at, at + length);
    mask.fill(0n, at + length, at + width);
    lengths[b] = length;
  }
  const dims = [count, width];
  const feeds: Record<string, { data: BigInt64Array; dims: number[] }> = { input_ids: { data: ids, dims }, attention_mask: { data: mask, dims } };
  if (model.inputNames.includes('token_type_ids')) feeds.token_type_ids = { data: typesBuffer.subarray(0, size), dims };
  const hidden = await model.run(feeds);
  const dim = hidden.dims[2];
  out.dim ||= dim;
  if (dim !== out.dim) throw new WorkerFailure('model-corrupt', `Embedding model ${init.model} returned vectors of ${dim} and ${out.dim} numbers in one run; it is not a sentence-embedding model. Choose another model.`);
  out.data ??= new Float32Array(job.lengths.length * dim);
  const rows = Array.from({ length: count }, (_, b) => first + b);
  meanPoolNormalised(hidden.data, hidden.dims, lengths, out.data, rows);
  return size;
}

/** Word-piece ids of texts, each tokenised once: the ids the model reads (concatenated) and three facts a text. */
async function tokenize(texts: string[]): Promise<Extract<WorkerToMain, { type: 'tokens' }>> {
  loading ??= loadModel();
  const model = await loading;
  const prepared = texts.map((text) => prepare(model, text));
  let total = 0;
  for (const p of prepared) total += p.ids.length;
  const ids = new Int32Array(total);
  const lengths = new Uint32Array(texts.length);
  const facts = new Uint32Array(3 * texts.length);
  let at = 0;
  prepared.forEach((p, i) => {
    ids.set(p.ids, at);
    at += p.ids.length;
    lengths[i] = p.ids.length;
    facts[3 * i] = p.pieces;
    facts[3 * i + 1] = p.ids.length;
    facts[3 * i + 2] = p.unknown;
  });
  return { type: 'tokens', id: 0, ids, lengths, facts };
}

interface TokenJob {
  ids: Int32Array;
  lengths: Uint32Array;
  /** Where each row's word pieces start in ids. */
  offsets: Uint32Array;
}

/** Embeds rows of word-piece ids in the order given (the main thread sorted them by length), batchSize rows a run. */
async function embed(ids: Int32Array, lengths: Uint32Array): Promise<Extract<WorkerToMain, { type: 'result' }>> {
  loading ??= loadModel();
  const model = await loading;
  const offsets = new Uint32Array(lengths.length);
  for (let i = 1; i < lengths.length; i++) offsets[i] = offsets[i - 1] + lengths[i - 1];
  const job: TokenJob = { ids, lengths, offsets };
  const out: { data?: Float32Array; dim: number } = { dim: 0 };
  // q8 runs one text at a time: dynamic quantisation takes one scale per run (padding included), so a
  // text's vector would depend on the texts batched with it.
  const batchSize = init.dtype === 'q8' ? 1 : Math.max(1, init.batchSize ?? lengths.length);
  let slots = 0;
  for (let first = 0; first < lengths.length; first += batchSize) slots += await runBatch(model, job, first, Math.min(batchSize, lengths.length - first), out);
  return { type: 'result', id: 0, dim: out.dim, data: out.data ?? new Float32Array(0), slots };
}

function post(message: WorkerToMain, transfer?: ArrayBuffer[]): void {
  port?.postMessage(message, transfer);
}

// One batch at a time, in arrival order: the main thread keeps a second batch queued to hide the hand-off.
let queue: Promise<void> = Promise.resolve();
let closing = false;
port?.on('message', (message: MainToWorker) => {
  if (message.type === 'load') {
    loading ??= loadModel();
    loading.catch(() => undefined); // told to the first job, which awaits the same load
    return;
  }
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
      if (message.type === 'tokenize') {
        const tokens = await tokenize(message.texts);
        post({ ...tokens, id: message.id }, [tokens.ids.buffer as ArrayBuffer, tokens.lengths.buffer as ArrayBuffer, tokens.facts.buffer as ArrayBuffer]);
      } else {
        const result = await embed(message.ids, message.lengths);
        post({ ...result, id: message.id }, [result.data.buffer as ArrayBuffer]);
      }
    } catch (error) {
      const failure = error instanceof WorkerFailure ? error : new WorkerFailure('model-corrupt', `Embedding failed: ${error instanceof Error ? error.message : String(error)}`);
      post({ type: 'error', id: message.id, code: failure.code, message: failure.message });
    }
  });
});
