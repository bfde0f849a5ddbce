// Embedding worker thread: loads the model once (lazily, on the first batch), then tokenises, runs and
// mean-pools batches so none of it blocks the thread that asked. A model on disk with a BERT WordPiece
// tokenizer (all-MiniLM-L6-v2 and its kin) runs straight on ONNX Runtime with the product's tokenizer:
// no transformers.js in the thread (about 60 MB less per worker, and nothing between the ids and session.run).
// transformers.js loads the rest: a Hub model not downloaded yet, or another kind of tokenizer.
import { existsSync, readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { BertWordPieceTokenizer } from './bertTokenizer';
import type { ScorerErrorCode } from './embedder';
import { modelMaxLength, onnxFileName } from './modelFiles';
import type { MainToWorker, WorkerInit, WorkerToMain } from './workerProtocol';

type Transformers = typeof import('@huggingface/transformers');
type Extractor = Awaited<ReturnType<Transformers['pipeline']>>;
type Ort = typeof import('onnxruntime-node');

/** What tokenises a text: loaded only in the worker the tokenise jobs go to (the others never parse tokenizer.json). */
interface Tokenizing {
  /** transformers.js's tokenizer: used only for a tokenizer the product's BERT tokenizer does not reproduce. */
  tokenizer?: { unk_token_id?: number; encode(text: string): number[] };
  /** The product's BERT WordPiece tokenizer (the reference's, code point for code point), when the model has one. */
  bert: BertWordPieceTokenizer | undefined;
  /** Word pieces read per text ([CLS]/[SEP] included); undefined: no limit known. */
  maxLength: number | undefined;
}

/** What runs the model. */
interface Running {
  /** One model call: int64 tensors by input name, the token vectors back. */
  run: (feeds: Record<string, { data: BigInt64Array; dims: number[] }>) => Promise<{ data: Float32Array; dims: readonly number[] }>;
  inputNames: readonly string[];
  dispose: () => Promise<unknown>;
}

type LoadedModel = Tokenizing & Running;

const init = workerData as WorkerInit;
const port = parentPort;
/** The tokenizer (tokenise jobs) and the session (embed jobs), each loaded at its first use or when the main thread says 'load'. */
let tokenizing: Promise<Tokenizing> | undefined;
let running: Promise<Running> | undefined;

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

/** The model's files are all on disk: its BERT tokenizer can be read and its weights run straight on ONNX Runtime. */
function filesOnDisk(): boolean {
  return existsSync(join(folder, 'onnx', onnxFileName(init.dtype))) && existsSync(join(folder, 'tokenizer.json')) && existsSync(join(folder, 'config.json'));
}

/** The model's BERT tokenizer when its files are all on disk and the product reproduces the tokenizer; else undefined. */
function bertOnDisk(): BertWordPieceTokenizer | undefined {
  if (!filesOnDisk()) return undefined;
  const tokenizerFile = join(folder, 'tokenizer.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(tokenizerFile, 'utf8'));
  } catch (error) {
    // transformers.js would fail on it too, without naming the file.
    throw new WorkerFailure('model-corrupt', `Model folder ${folder}: ${tokenizerFile} could not be read as JSON (${error instanceof Error ? error.message : String(error)}). Rebuild or re-copy the folder (a downloaded model: delete the folder to download it again).`);
  }
  return BertWordPieceTokenizer.fromTokenizerJson(json);
}

/**
 * transformers.js's pipeline: a Hub model not downloaded yet, or a tokenizer the product does not reproduce. It loads the
 * tokenizer and the session together, so both come from its one load.
 */
let pipelineLoad: Promise<LoadedModel> | undefined;

/** The tokenizer, loaded on the first tokenise job (or by 'load' in the tokenising worker). */
function tokenizerLoaded(): Promise<Tokenizing> {
  tokenizing ??= (async () => {
    const bert = bertOnDisk();
    if (!bert) return (pipelineLoad ??= loadWithTransformers());
    return { bert, maxLength: maxLengthOnceLoaded() };
  })();
  return tokenizing;
}

/**
 * The session, loaded on the first embed job (or by 'load'). A worker that tokenises runs the model on the route its
 * tokenizer took; a worker that only embeds runs the model on disk straight on ONNX Runtime (the routes give the same
 * vectors, bit for bit: scoring.test), and never reads tokenizer.json.
 */
function sessionLoaded(): Promise<Running> {
  running ??= (async () => {
    if (tokenizing) {
      await tokenizing;
      if (pipelineLoad) return pipelineLoad;
    }
    return filesOnDisk() ? loadOnRuntime() : (pipelineLoad ??= loadWithTransformers());
  })();
  return running;
}

/** ONNX Runtime, with the session options transformers.js would give it: the same graph, the same numbers. */
async function loadOnRuntime(): Promise<Running> {
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
    inputNames: session.inputNames,
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

/** The means of one run's rows, before normalising (kept across runs: one text a run for q8). */
let means = new Float64Array(0);

/**
 * Mean of the token vectors over the attention mask, then L2-normalised (as sentence-transformers): row b of the run (its
 * first `count` tokens) into out at `at`. Each number is summed over the tokens in order in a local, as one accumulator
 * a number would (bit for bit), without a load and store of it a token.
 */
function meanPoolNormalised(hidden: Float32Array, seq: number, dim: number, b: number, count: number, out: Float32Array, at: number): void {
  if (means.length < dim) means = new Float64Array(dim);
  const start = b * seq * dim;
  const end = start + count * dim;
  const divisor = Math.max(count, 1);
  let norm = 0;
  for (let d = 0; d < dim; d++) {
    let sum = 0;
    for (let i = start + d; i < end; i += dim) sum += hidden[i];
    const mean = sum / divisor;
    means[d] = mean;
    norm += mean * mean;
  }
  const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
  for (let d = 0; d < dim; d++) out[at + d] = means[d] * scale;
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

function prepare(model: Tokenizing, text: string): Prepared {
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

/**
 * Bytes of model output this thread lets die before it collects its young generation. Each run's output (rows x width
 * x the model's width in floats) comes back in a new buffer, dead once pooled; V8 collects a thread's young generation
 * for its buffers only when they reach 32 MB (twice its default largest semi-space), and this thread makes little other
 * garbage: each worker held about 30 MB of dead outputs (the tiny model's 164 KB a batch or all-MiniLM-L6-v2's 4 MB).
 */
const OUTPUT_BYTES_PER_COLLECTION = 4 << 20;
let outputBytesSinceCollection = 0;

/**
 * A collection of this thread's young generation (a scavenge: short, and the dead outputs' buffers go with it), or
 * undefined where V8 offers none. Node's documented way: --expose-gc set, the function taken from a new context; the
 * flag is then set back at once, as V8's flags are the process's (the extension host's: no other context gets a gc).
 */
const collectYoung = ((): (() => void) | undefined => {
  // A process started with --expose-gc gives every context one already: its flag is left as it is.
  const exposed = (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc;
  if (typeof exposed === 'function') return () => exposed({ type: 'minor' });
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (options: { type: 'minor' }) => void;
    return typeof gc === 'function' ? () => gc({ type: 'minor' }) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
})();

/** Counts a run's output, and collects the young generation once enough of them are dead. */
function outputDone(bytes: number): void {
  outputBytesSinceCollection += bytes;
  if (outputBytesSinceCollection < OUTPUT_BYTES_PER_COLLECTION) return;
  outputBytesSinceCollection = 0;
  collectYoung?.();
}

/** Runs rows [first, first + count) of a job's ids (each row's word pieces at offsets[row]) as one batch, its unit vectors into out. */
async function runBatch(model: Running, job: TokenJob, first: number, count: number, out: { data?: Float32Array; dim: number }): Promise<number> {
  let width = 0;
  for (let r = first; r < first + count; r++) width = Math.max(width, job.lengths[r]);
  const size = count * width;
  const { ids: idsBuffer, mask: maskBuffer, types: typesBuffer } = inputsFor(size);
  const ids = idsBuffer.subarray(0, size);
  const mask = maskBuffer.subarray(0, size);
  const low = LITTLE_ENDIAN ? new Int32Array(ids.buffer, 0, 2 * size) : undefined;
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
  }
  const dims = [count, width];
  const feeds: Record<string, { data: BigInt64Array; dims: number[] }> = { input_ids: { data: ids, dims }, attention_mask: { data: mask, dims } };
  if (model.inputNames.includes('token_type_ids')) feeds.token_type_ids = { data: typesBuffer.subarray(0, size), dims };
  const hidden = await model.run(feeds);
  const dim = hidden.dims[2];
  out.dim ||= dim;
  if (dim !== out.dim) throw new WorkerFailure('model-corrupt', `Embedding model ${init.model} returned vectors of ${dim} and ${out.dim} numbers in one run; it is not a sentence-embedding model. Choose another model.`);
  out.data ??= new Float32Array(job.lengths.length * dim);
  const seq = hidden.dims[1];
  for (let b = 0; b < count; b++) meanPoolNormalised(hidden.data, seq, dim, b, job.lengths[first + b], out.data, (first + b) * dim);
  outputDone(hidden.data.byteLength);
  return size;
}

/** Word-piece ids of texts, each tokenised once: the ids the model reads (concatenated) and three facts a text. */
async function tokenize(texts: string[]): Promise<Extract<WorkerToMain, { type: 'tokens' }>> {
  const model = await tokenizerLoaded();
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
  const model = await sessionLoaded();
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

type Job = Extract<MainToWorker, { type: 'tokenize' | 'embed' }>;

/** Runs one job and posts its answer (or its failure). */
async function runJob(message: Job): Promise<void> {
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
}

// One job at a time; a tokenise job goes ahead of the batches queued here (the main thread keeps a second batch queued to
// hide the hand-off, and gives the tokenising worker a later call's texts while it holds those: they wait for the running
// batch only).
const waiting: { tokenize: Job[]; embed: Job[] } = { tokenize: [], embed: [] };
let working = false;
let closing = false;

async function work(): Promise<void> {
  if (working) return;
  working = true;
  for (let job = waiting.tokenize.shift() ?? waiting.embed.shift(); job; job = waiting.tokenize.shift() ?? waiting.embed.shift()) {
    if (closing) post({ type: 'error', id: job.id, code: 'cancelled', message: 'The scorer was disposed.' });
    else await runJob(job);
  }
  working = false;
  if (closing) await exitWhenIdle();
  else if (sessionWhenIdle) {
    sessionWhenIdle = false;
    sessionLoaded().catch(() => undefined);
  }
}

/** Releases the session and exits: after the running job (terminating during session.run can abort the process). */
async function exitWhenIdle(): Promise<void> {
  for (const load of new Set([running, pipelineLoad])) {
    const model = await load?.catch(() => undefined);
    await model?.dispose().catch(() => undefined);
  }
  process.exit(0);
}

/**
 * The tokenising worker loads its session once it has nothing to tokenise (or at its first batch): the first call's texts
 * come while the workers load, and the other workers can embed them only once they are tokenised (loading the session
 * first kept every worker waiting for it).
 */
let sessionWhenIdle = false;

port?.on('message', (message: MainToWorker) => {
  if (message.type === 'load') {
    // A failure is told to the first job, which awaits the same load.
    if (message.tokenizer) {
      tokenizerLoaded().catch(() => undefined);
      sessionWhenIdle = true;
    } else {
      sessionLoaded().catch(() => undefined);
    }
    return;
  }
  if (message.type === 'close') {
    closing = true;
    if (!working) void exitWhenIdle();
    return;
  }
  waiting[message.type].push(message);
  void work();
});
