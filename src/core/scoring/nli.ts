// The contradiction check: a natural-language-inference cross-encoder (premise = the reference, hypothesis =
// the output) run through the same ONNX runtime as the embedding model (transformers.js with onnxruntime-node).
// Its three probabilities are read by the label names of the model's own config.json (id2label), never by position.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DEFAULT_NLI_MODEL } from '../config/settings';
import { ScorerError, type ScorerErrorCode } from './embedder';
import { weightsDigest } from './modelFiles';
import { resolveModelLocation } from './scorer';

export interface NliSettings {
  /** Hub id (default Xenova/nli-deberta-v3-xsmall) or a local folder written as a path (./x, /x, ~/x). */
  model: string;
  /** What a relative folder is relative to; default the process's working directory. */
  baseDir?: string;
  /** The same cache as the embedding model: Hub models download under <cacheDir>/models. */
  cacheDir: string;
  hubUrl?: string;
  /** Pairs per model run (default 16). */
  batchSize?: number;
}

export interface NliPair {
  /** The reference the output is checked against. */
  premise: string;
  /** The model's output. */
  hypothesis: string;
}

export interface NliProbabilities {
  entailment: number;
  neutral: number;
  contradiction: number;
}

/** Which NLI model made a check: stored beside it, so a changed model or weights re-checks. */
export interface NliIdentity {
  /** Hub id or absolute folder path. */
  id: string;
  /** First 12 hex digits of the SHA-256 of onnx/model.onnx (once on disk). */
  weights?: string;
}

export interface NliChecker {
  /** P(entailment), P(neutral), P(contradiction) of each pair (softmax of the model's logits). */
  check(pairs: readonly NliPair[], options?: { signal?: AbortSignal }): Promise<NliProbabilities[]>;
  identity(): NliIdentity;
  dispose(): Promise<void>;
}

type Label = keyof NliProbabilities;

/** Which of the three an id2label name is: "CONTRADICTION", "contradiction", "Contradict" ...; undefined for another label. */
function labelOf(name: string): Label | undefined {
  const n = name.trim().toLowerCase();
  if (n.startsWith('contradict')) return 'contradiction';
  if (n.startsWith('entail')) return 'entailment';
  if (n.startsWith('neutral')) return 'neutral';
  return undefined;
}

/** The logit index of each label, from config.json's id2label; a model without a contradiction label is refused. */
export function labelIndexes(id2label: unknown, model: string): Partial<Record<Label, number>> & { contradiction: number } {
  const found: Partial<Record<Label, number>> = {};
  if (id2label && typeof id2label === 'object') {
    for (const [index, name] of Object.entries(id2label as Record<string, unknown>)) {
      const label = typeof name === 'string' ? labelOf(name) : undefined;
      if (label !== undefined && found[label] === undefined && /^\d+$/.test(index)) found[label] = Number(index);
    }
  }
  if (found.contradiction === undefined) {
    throw new ScorerError('model-corrupt', `NLI model ${model}: its config.json id2label (${JSON.stringify(id2label) ?? 'missing'}) names no "contradiction" label, so it is not a natural-language-inference model. Set pisarReview.contradiction.model (CLI: --nli-model) to one whose labels are entailment, neutral and contradiction, e.g. ${DEFAULT_NLI_MODEL}.`);
  }
  return found as Partial<Record<Label, number>> & { contradiction: number };
}

/** Softmax of one row of logits, in float64. */
function softmax(logits: ArrayLike<number>, at: number, width: number): number[] {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < width; i++) max = Math.max(max, logits[at + i]);
  const e = Array.from({ length: width }, (_, i) => Math.exp(logits[at + i] - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

/**
 * The lengths two texts are cut to so both fit `room` word pieces, as Hugging Face tokenizers' "longest_first"
 * truncation does: the shorter is kept whole when the longer can take the rest, else both get half.
 */
export function longestFirst(first: number, second: number, room: number): [number, number] {
  if (first + second <= room) return [first, second];
  let n1 = Math.min(first, second);
  let n2 = Math.max(first, second);
  const swap = first > second;
  n2 = n1 > room ? n1 : Math.max(n1, room - n1);
  if (n1 + n2 > room) {
    n1 = Math.floor(room / 2);
    n2 = n1 + (room % 2);
  }
  return swap ? [n2, n1] : [n1, n2];
}

interface Encoded {
  ids: number[];
  types: number[];
}

interface TokenizerLike {
  model_max_length?: number;
  pad_token_id?: number;
  _encode_plus(text: string, options: { text_pair?: string | null; add_special_tokens?: boolean; return_token_type_ids?: boolean }): { input_ids: number[]; token_type_ids?: number[] };
}

function startOf(ids: readonly number[], part: readonly number[], from: number): number {
  outer: for (let p = from; p + part.length <= ids.length; p++) {
    for (let i = 0; i < part.length; i++) if (ids[p + i] !== part[i]) continue outer;
    return p;
  }
  return -1;
}

/**
 * A pair as the model reads it: the tokenizer's own template (special tokens, token types), both texts cut by
 * longest_first to the model's length (transformers.js cuts a pair from its end, which would drop the output).
 */
export function encodePair(tokenizer: TokenizerLike, pair: NliPair, maxLength: number): Encoded {
  const whole = tokenizer._encode_plus(pair.premise, { text_pair: pair.hypothesis, add_special_tokens: true, return_token_type_ids: true });
  const ids = whole.input_ids;
  const types = whole.token_type_ids ?? ids.map(() => 0);
  if (ids.length <= maxLength) return { ids, types };
  const a = tokenizer._encode_plus(pair.premise, { add_special_tokens: false }).input_ids;
  const b = tokenizer._encode_plus(pair.hypothesis, { add_special_tokens: false }).input_ids;
  const specials = ids.length - a.length - b.length;
  const pa = startOf(ids, a, 0);
  const pb = pa < 0 ? -1 : startOf(ids, b, pa + a.length);
  if (pa < 0 || pb < 0 || specials < 0) return { ids: ids.slice(0, maxLength), types: types.slice(0, maxLength) };
  const [ka, kb] = longestFirst(a.length, b.length, Math.max(0, maxLength - specials));
  const keep = (xs: readonly number[]): number[] => [...xs.slice(0, pa), ...xs.slice(pa, pa + ka), ...xs.slice(pa + a.length, pb), ...xs.slice(pb, pb + kb), ...xs.slice(pb + b.length)];
  return { ids: keep(ids), types: keep(types) };
}

interface Loaded {
  tokenizer: TokenizerLike;
  model: ((inputs: Record<string, unknown>) => Promise<Record<string, { data: Float32Array; dims: number[] }>>) & { dispose?: () => Promise<unknown> };
  inputNames: string[];
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => unknown;
  labels: Partial<Record<Label, number>> & { contradiction: number };
  maxLength: number;
}

function describeLoadFailure(error: unknown, model: string, isLocalFolder: boolean, cacheDir: string, hubUrl: string | undefined): ScorerError {
  if (error instanceof ScorerError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const useLocal = 'set pisarReview.contradiction.model (CLI: --nli-model) to a local folder holding the model';
  if (isLocalFolder) {
    if (/not found|could not locate|no such file|ENOENT/i.test(detail)) return new ScorerError('model-missing', `NLI model folder ${model} is incomplete: ${detail}. It needs config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx.`);
    return new ScorerError('model-corrupt', `NLI model folder ${model} could not be loaded (a file is damaged or not a transformers.js model): ${detail}. Rebuild or re-copy the folder.`);
  }
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if ((typeof code === 'string' && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|ENETUNREACH|EHOSTUNREACH|UND_ERR_CONNECT_TIMEOUT)$/.test(code)) || (e instanceof TypeError && /fetch failed/i.test(e.message))) {
      return new ScorerError('offline', `Cannot download NLI model ${model}: no connection to ${hubUrl ?? 'https://huggingface.co'}, and it is not cached in ${cacheDir}. Connect once to download it, or ${useLocal}, or turn the contradiction check off (pisarReview.contradiction.enabled; CLI: leave out --contradiction).`);
    }
  }
  if (/could not locate|404|not found/i.test(detail)) return new ScorerError('model-missing', `NLI model ${model} was not found on the Hub (${detail}). Check the model id, or ${useLocal}.`);
  return new ScorerError('model-corrupt', `NLI model ${model} could not be loaded from ${cacheDir}: ${detail}. Delete that folder to download it again, or ${useLocal}.`);
}

function checkNliFolder(folder: string): void {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new ScorerError('model-missing', `NLI model folder ${folder} does not exist. Set pisarReview.contradiction.model (CLI: --nli-model) to a folder holding config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx.`);
  }
  const missing = ['config.json', 'tokenizer.json', 'tokenizer_config.json', join('onnx', 'model.onnx')].filter((file) => !existsSync(join(folder, file)));
  if (missing.length > 0) throw new ScorerError('model-missing', `NLI model folder ${folder} is missing ${missing.join(', ')}. Copy the complete model folder there.`);
}

/** The model's id and, once its file is on disk, the hash of its weights (cached by size and mtime). */
function nliIdentity(location: string, isLocalFolder: boolean, modelCacheDir: string): NliIdentity {
  const folder = isLocalFolder ? location : join(modelCacheDir, location);
  const weights = weightsDigest(join(folder, 'onnx', 'model.onnx'));
  return { id: location, ...(weights ? { weights } : {}) };
}

class OnnxNliChecker implements NliChecker {
  private loading: Promise<Loaded> | undefined;

  constructor(
    private readonly location: string,
    private readonly isLocalFolder: boolean,
    private readonly modelCacheDir: string,
    private readonly hubUrl: string | undefined,
    private readonly batchSize: number,
  ) {}

  identity(): NliIdentity {
    return nliIdentity(this.location, this.isLocalFolder, this.modelCacheDir);
  }

  private async load(): Promise<Loaded> {
    if (this.isLocalFolder) checkNliFolder(this.location);
    let transformers: typeof import('@huggingface/transformers');
    try {
      transformers = await import('@huggingface/transformers');
    } catch (error) {
      throw new ScorerError('model-corrupt', `The NLI runtime (@huggingface/transformers with onnxruntime-node) could not be loaded: ${error instanceof Error ? error.message : String(error)}. Reinstall PiSAR Review (CLI: npm install in its folder).`);
    }
    const { env, AutoTokenizer, AutoModelForSequenceClassification, Tensor } = transformers;
    env.cacheDir = this.modelCacheDir;
    env.allowLocalModels = this.isLocalFolder;
    env.allowRemoteModels = !this.isLocalFolder;
    if (this.hubUrl) env.remoteHost = this.hubUrl.endsWith('/') ? this.hubUrl : `${this.hubUrl}/`;
    try {
      const tokenizer = await AutoTokenizer.from_pretrained(this.location);
      const model = await AutoModelForSequenceClassification.from_pretrained(this.location, { dtype: 'fp32', session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 } });
      const config = (model as unknown as { config: { id2label?: unknown; max_position_embeddings?: number } }).config;
      const labels = labelIndexes(config.id2label, this.location);
      const t = tokenizer as unknown as TokenizerLike;
      const limits = [t.model_max_length, config.max_position_embeddings].filter((n): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0);
      const sessions = (model as unknown as { sessions?: Record<string, { inputNames?: string[] }> }).sessions;
      return {
        tokenizer: t,
        model: model as unknown as Loaded['model'],
        inputNames: sessions?.model?.inputNames ?? ['input_ids', 'attention_mask', 'token_type_ids'],
        Tensor: Tensor as unknown as Loaded['Tensor'],
        labels,
        maxLength: limits.length > 0 ? Math.min(...limits) : 512,
      };
    } catch (error) {
      throw describeLoadFailure(error, this.location, this.isLocalFolder, this.modelCacheDir, this.hubUrl);
    }
  }

  async check(pairs: readonly NliPair[], options: { signal?: AbortSignal } = {}): Promise<NliProbabilities[]> {
    if (pairs.length === 0) return [];
    this.loading ??= this.load();
    let loaded: Loaded;
    try {
      loaded = await this.loading;
    } catch (error) {
      this.loading = undefined; // a failed load is tried again on the next call (e.g. back online)
      throw error;
    }
    const encoded = pairs.map((pair) => encodePair(loaded.tokenizer, pair, loaded.maxLength));
    const out: NliProbabilities[] = new Array(pairs.length);
    // Pairs of like length in one batch: the least padding.
    const order = pairs.map((_, i) => i).sort((a, b) => encoded[a].ids.length - encoded[b].ids.length || a - b);
    for (let start = 0; start < order.length; start += this.batchSize) {
      if (options.signal?.aborted) throw new ScorerError('cancelled', 'The contradiction check was cancelled.');
      const rows = order.slice(start, start + this.batchSize);
      const width = Math.max(...rows.map((i) => encoded[i].ids.length));
      const size = rows.length * width;
      const ids = new BigInt64Array(size).fill(BigInt(loaded.tokenizer.pad_token_id ?? 0));
      const mask = new BigInt64Array(size);
      const types = new BigInt64Array(size);
      rows.forEach((i, b) => {
        const e = encoded[i];
        for (let k = 0; k < e.ids.length; k++) {
          ids[b * width + k] = BigInt(e.ids[k]);
          mask[b * width + k] = 1n;
          types[b * width + k] = BigInt(e.types[k]);
        }
      });
      const dims = [rows.length, width];
      const feeds: Record<string, unknown> = { input_ids: new loaded.Tensor('int64', ids, dims), attention_mask: new loaded.Tensor('int64', mask, dims) };
      if (loaded.inputNames.includes('token_type_ids')) feeds.token_type_ids = new loaded.Tensor('int64', types, dims);
      const { logits } = await loaded.model(feeds);
      const labelCount = logits.dims[1];
      rows.forEach((i, b) => {
        const p = softmax(logits.data, b * labelCount, labelCount);
        const at = (label: Label): number => (loaded.labels[label] === undefined ? 0 : p[loaded.labels[label]!]);
        out[i] = { entailment: at('entailment'), neutral: at('neutral'), contradiction: at('contradiction') };
      });
    }
    return out;
  }

  async dispose(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    const loaded = await loading?.catch(() => undefined);
    await loaded?.model.dispose?.().catch(() => undefined);
  }
}

/** What the NLI worker thread is started with (src/core/scoring/nliWorker.ts). */
export interface NliWorkerInit {
  location: string;
  isLocalFolder: boolean;
  modelCacheDir: string;
  hubUrl?: string;
  batchSize: number;
}

export type NliToWorker = { type: 'check'; id: number; pairs: NliPair[] } | { type: 'close' };
export type NliFromWorker = { type: 'done'; id: number; probabilities: NliProbabilities[] } | { type: 'failed'; id: number; code: ScorerErrorCode; message: string };

/** The checker the NLI worker thread runs; nothing loads until the first check. */
export function createOnnxNliChecker(init: NliWorkerInit): NliChecker {
  return new OnnxNliChecker(init.location, init.isLocalFolder, init.modelCacheDir, init.hubUrl, init.batchSize);
}

/** The worker script: dist/nli-worker.js next to a bundle, or nliWorker.js next to the tsc output. */
export function defaultNliWorkerPath(): string {
  const candidates = [join(__dirname, 'nli-worker.js'), join(__dirname, 'nliWorker.js')];
  return candidates.find((file) => existsSync(file)) ?? candidates[0];
}

/**
 * The checker seen from the calling thread: the model loads, tokenises and runs in a worker thread of its own, as
 * the embedding model does, so neither the extension host nor the CLI's event loop waits on it.
 */
class WorkerNliChecker implements NliChecker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (p: NliProbabilities[]) => void; reject: (e: Error) => void }>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly init: NliWorkerInit,
    private readonly workerPath: string,
  ) {}

  identity(): NliIdentity {
    return nliIdentity(this.init.location, this.init.isLocalFolder, this.init.modelCacheDir);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerPath, { workerData: this.init });
    // Held open only while a check waits on it: an idle checker never keeps the process alive.
    worker.unref();
    worker.on('message', (message: NliFromWorker) => {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.forget(message.id);
      if (message.type === 'done') waiting.resolve(message.probabilities);
      else waiting.reject(new ScorerError(message.code, message.message));
    });
    const gone = (reason: string): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, waiting] of this.pending) {
        this.forget(id);
        waiting.reject(new ScorerError('model-corrupt', `The contradiction check stopped: ${reason}. Run it again; if it keeps failing, reinstall PiSAR Review.`));
      }
    };
    worker.on('error', (error) => gone(`the NLI worker failed: ${error.message}`));
    worker.on('exit', (code) => gone(`the NLI worker exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  private forget(id: number): boolean {
    const had = this.pending.delete(id);
    if (had && this.pending.size === 0) this.worker?.unref();
    return had;
  }

  check(pairs: readonly NliPair[], options: { signal?: AbortSignal } = {}): Promise<NliProbabilities[]> {
    if (pairs.length === 0) return Promise.resolve([]);
    const cancelled = (): ScorerError => new ScorerError('cancelled', 'The contradiction check was cancelled.');
    if (options.signal?.aborted) return Promise.reject(cancelled());
    const id = this.nextId++;
    return new Promise<NliProbabilities[]>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.forget(id)) reject(cancelled());
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = <T>(f: (value: T) => void) => (value: T): void => {
        options.signal?.removeEventListener('abort', onAbort);
        f(value);
      };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      const message: NliToWorker = { type: 'check', id, pairs: pairs.map((p) => ({ premise: p.premise, hypothesis: p.hypothesis })) };
      const worker = this.start();
      worker.ref();
      worker.postMessage(message);
    });
  }

  dispose(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    this.closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate().then(() => resolve(), () => resolve()), 5_000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.ref();
      const close: NliToWorker = { type: 'close' };
      worker.postMessage(close);
    }).finally(() => {
      this.closing = undefined;
    });
    return this.closing;
  }
}

/** The contradiction checker of these settings; nothing loads until the first check, and then in a worker thread. */
export function createNliChecker(settings: NliSettings & { workerPath?: string }): NliChecker {
  let where: { isLocalFolder: boolean; location: string };
  try {
    where = resolveModelLocation(settings.model || DEFAULT_NLI_MODEL, settings.baseDir);
  } catch (error) {
    throw new ScorerError('model-missing', (error as Error).message.replace(/^Embedding model/, 'NLI model'));
  }
  const init: NliWorkerInit = { location: where.location, isLocalFolder: where.isLocalFolder, modelCacheDir: join(settings.cacheDir, 'models'), ...(settings.hubUrl ? { hubUrl: settings.hubUrl } : {}), batchSize: Math.max(1, settings.batchSize ?? 16) };
  return new WorkerNliChecker(init, settings.workerPath ?? defaultNliWorkerPath());
}
