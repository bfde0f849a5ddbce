// Scores a model output against its reference rationale: cosine similarity of sentence embeddings,
// computed locally (transformers.js in worker threads) or by an OpenAI-compatible embeddings endpoint.
import { existsSync, statSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_EMBEDDING_MODEL, DEFAULT_MAX_UNKNOWN_SHARE } from '../config/settings';
import { EmbeddingCache, textKey, type CacheEntry } from './embeddingCache';
import { ScorerError, type Embedder, type EmbeddingDtype, type EmbedRunOptions, type TextFacts } from './embedder';
import { BadEmbeddingError, embeddingProblem, pairProblem } from './embeddingCheck';
import { modelMaxLength, onnxFileName, weightsDigest, type MaxLength, type MaxLengthSource } from './modelFiles';

export interface EmbeddingSettings {
  provider: 'local' | 'remote';
  /** Hub id (default 'Xenova/all-MiniLM-L6-v2') or a local folder written as a path (./x, /x, ~/x): see resolveModelLocation. */
  model: string;
  /** What a relative folder (./x) is relative to; default the process's working directory. */
  baseDir?: string;
  /** Above this share of [UNK] word pieces in a text, its pairs are not measurable (default 0.5). */
  maxUnknownShare?: number;
  /** Local only. */
  dtype: EmbeddingDtype;
  remote?: { baseUrl: string; model: string; apiKey?: string };
  /** Model downloads and the embedding cache live under here. */
  cacheDir: string;
  /** Where to download hub models from (a mirror); default the Hugging Face Hub. */
  hubUrl?: string;
  /** The worker script; default dist/scoring-worker.js (bundle) or worker.js (tsc output) beside this file. */
  workerPath?: string;
  /** Thread layout; defaults are the fastest measured by scripts/bench/scorer.bench.mjs. */
  local?: { workers?: number; threadsPerWorker?: number; batchSize?: number };
}

export interface ScorePair {
  output: string;
  reference: string;
}

/** textsRequested counts every text asked for; cacheHits and computed count distinct texts. */
export interface ScorerStats {
  textsRequested: number;
  cacheHits: number;
  computed: number;
}

/** A scoring call's signal and event listener (as an embedder's run), and what to do with a pair that cannot be scored. */
export interface ScorePairsOptions extends EmbedRunOptions {
  /**
   * Told of each pair that cannot be scored because an embedding of it is unusable (NaN, infinities,
   * zeros, another width): its score is NaN. Without this listener scorePairs throws BadEmbeddingError.
   */
  onBadPair?: (index: number, reason: string) => void;
}

/**
 * Which scorer made a score, for every table, report and export to name: the model (Hub id, local
 * folder, or endpoint and model), its dtype and weights, and the word pieces it reads per text.
 */
export interface ScorerIdentity {
  provider: 'local' | 'remote';
  /** Hub id, absolute folder path, or "<endpoint origin> <model>" for a remote endpoint. */
  id: string;
  /** Local models only. */
  dtype?: EmbeddingDtype;
  /** First 12 hex digits of the SHA-256 of the weights file (local, once the file is on disk). */
  weights?: string;
  /** Word pieces read per text, [CLS] and [SEP] included (local, once known). */
  maxLength?: number;
  /** Where maxLength was read. */
  maxLengthSource?: MaxLengthSource;
}

export interface Scorer {
  /** Cosine similarity in [-1, 1] of each output to its reference. */
  scorePairs(pairs: readonly ScorePair[], options?: ScorePairsOptions): Promise<number[]>;
  /** Unit-length embeddings, one per text. */
  embed(texts: readonly string[], options?: ScorePairsOptions): Promise<Float32Array[]>;
  /**
   * Which texts are longer than the embedding model reads (scored on their start only), told by the
   * tokenisation that embedded them (kept in the cache: nothing is loaded); undefined where the model cannot tell (remote).
   */
  cutTexts(texts: readonly string[], options?: ScorePairsOptions): Promise<boolean[] | undefined>;
  /** What the model read of each text (embedded or cached before); undefined for a text it has no facts on (remote models). */
  textFacts(texts: readonly string[]): Array<TextFacts | undefined>;
  /** The scorer's identity as known now (weights and maximum length once the model's files are on disk). */
  identity(): ScorerIdentity;
  /** Above this share of [UNK] word pieces in a text, its pairs are not measurable by this model. */
  readonly maxUnknownShare: number;
  readonly stats: ScorerStats;
  /** Names provider, model and dtype (never a key): stored next to scores so stale scorers are visible. */
  readonly cacheKey: string;
  /**
   * Loads the model now, while the caller does other work, when a run is sure to compute: the model's files are on
   * disk and its embedding cache holds no text yet (a first run). Otherwise the model loads at the first text to
   * compute (a re-score from the cache loads none). Never fails: a load that fails is told by the first call.
   * Resolves true when the model started loading.
   */
  warmUp(): Promise<boolean>;
  dispose(): Promise<void>;
}


// Measured on a 2-core machine: one single-threaded ONNX session per core beats one session with two
// intra-op threads (see scripts/bench/scorer.bench.mjs).
const DEFAULT_THREADS_PER_WORKER = 1;
const DEFAULT_LOCAL_BATCH = 32;
// Each worker holds its own copy of the model (~90 MB fp32 plus runtime): one per core, at most four.
const MAX_DEFAULT_WORKERS = 4;
const REMOTE_BATCH = 64;
/** Texts whose cache keys are remembered between a call and the facts asked after it (the runner asks right after each call). */
const RECENT_KEYS = 8_192;
const REMOTE_CONCURRENCY = 4;

const HUB_ID = /^[\w\-.]+(\/[\w\-.]+)?$/;

/**
 * A Hub id or a folder on disk, by how it is written, never by what happens to exist here: a local
 * model needs a path (./x, ../x, /x, ~/x, C:\x, or any backslash), resolved against `baseDir`;
 * `name` and `org/name` are Hub ids even when a folder of that name exists under `baseDir` (a folder
 * ./Xenova/all-MiniLM-L6-v2 in the working directory must not replace the model people asked for).
 * Anything else (`a/b/c`) is neither: a ScorerError says how to write the folder.
 */
export function resolveModelLocation(model: string, baseDir = process.cwd()): { isLocalFolder: boolean; location: string } {
  if (model === '~' || /^~[\\/]/.test(model)) return { isLocalFolder: true, location: join(homedir(), model.slice(2)) };
  if (isAbsolute(model) || /^\.\.?([\\/]|$)/.test(model) || /^[A-Za-z]:[\\/]/.test(model) || model.includes('\\')) {
    return { isLocalFolder: true, location: resolve(baseDir, model) };
  }
  if (HUB_ID.test(model)) return { isLocalFolder: false, location: model };
  throw new ScorerError('model-missing', `Embedding model "${model}" is neither a Hub id ("org/name") nor a path: write a folder as ./${model} (relative), or as an absolute or ~/ path.`);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const c = dot / Math.max(Math.sqrt(na * nb), 1e-24);
  return Math.max(-1, Math.min(1, c));
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

function deferred<T>(): Deferred<T> & { settled: boolean } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a text nobody else waits for must not be an unhandled rejection
  const d = {
    promise,
    settled: false,
    resolve: (value: T) => {
      d.settled = true;
      resolve(value);
    },
    reject: (error: Error) => {
      d.settled = true;
      reject(error);
    },
  };
  return d;
}

/**
 * The texts one call is computing, for the calls that ask for one of them meanwhile: such a call waits on a deferred
 * made when it asks (most texts are asked by one call only: a deferred each, its promise and two closures, was ~300
 * bytes a text in flight). A text given a vector is in the cache from then on; one found unusable is told to later askers.
 */
class Computing {
  private waiters: Map<string, Deferred<Float32Array> & { settled: boolean }> | undefined;
  private unusable: Map<string, BadEmbeddingError> | undefined;

  /** The vector of `key` once this call computes it; rejected when it is unusable or the call stops before it. */
  wait(key: string): Promise<Float32Array> {
    const bad = this.unusable?.get(key);
    if (bad) return Promise.reject(bad);
    this.waiters ??= new Map();
    let d = this.waiters.get(key);
    if (!d) this.waiters.set(key, (d = deferred<Float32Array>()));
    return d.promise;
  }

  resolve(key: string, vector: Float32Array): void {
    this.waiters?.get(key)?.resolve(vector);
  }

  reject(key: string, error: BadEmbeddingError): void {
    (this.unusable ??= new Map()).set(key, error);
    this.waiters?.get(key)?.reject(error);
  }

  /** The call is over: whoever still waits computes the text itself. */
  stop(): void {
    let stopped: ScorerError | undefined; // built only if some text was left unfinished
    for (const d of this.waiters?.values() ?? []) if (!d.settled) d.reject((stopped ??= new ScorerError('cancelled', 'The call computing this text stopped.')));
  }
}

/**
 * Word pieces a BERT-style tokenizer makes of a text, estimated without the tokenizer (words, numbers
 * and punctuation marks; long words split): batches sorted by it waste little on padding.
 */
export function estimateTokens(text: string): number {
  let tokens = 2; // [CLS] and [SEP]
  for (const piece of text.match(/[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu) ?? []) tokens += piece.length > 8 ? Math.ceil(piece.length / 6) : 1;
  return tokens;
}

/** What to do about an unusable embedding, said with every bad-embedding failure. */
const BAD_EMBEDDING_FIX = 'Check that the embedding model or endpoint is the one meant (one model, one width), then run again: only these pairs are redone.';

/** The width most vectors of a first slice have (finite ones), so one odd vector does not set it. */
function commonWidth(vectors: readonly Float32Array[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of vectors) if (v.length > 0 && embeddingProblem(v) === undefined) counts.set(v.length, (counts.get(v.length) ?? 0) + 1);
  let best: number | undefined;
  for (const [width, n] of counts) if (best === undefined || n > counts.get(best)!) best = width;
  return best;
}

class EmbeddingScorer implements Scorer {
  /** The width of this model's vectors, from the first ones computed. */
  private width: number | undefined;
  private readonly counters: ScorerStats = { textsRequested: 0, cacheHits: 0, computed: 0 };
  private embedder: Promise<Embedder> | undefined;
  private readonly cache: EmbeddingCache;
  /** Texts being computed, by key: the call computing each. */
  private readonly inFlight = new Map<string, Computing>();
  /**
   * The cache key of each text of the latest calls, so the facts asked right after a call (cutTexts, textFacts)
   * hash no text a second time; bounded (emptied past RECENT_KEYS), a text not found is hashed again.
   */
  private readonly recentKeys = new Map<string, string>();

  constructor(
    readonly cacheKey: string,
    /** Names the model or endpoint in failures ("embeddings endpoint http://… (model m)"). */
    private readonly source: string,
    cacheNamespace: string,
    cacheDir: string,
    private readonly makeEmbedder: () => Promise<Embedder>,
    readonly identity: () => ScorerIdentity,
    readonly maxUnknownShare: number,
    /** True when the model can load without a download (remote: never warmed up). */
    private readonly loadsFromDisk: () => boolean,
  ) {
    this.cache = new EmbeddingCache(cacheDir, cacheNamespace);
  }

  get stats(): ScorerStats {
    return { ...this.counters };
  }

  async scorePairs(pairs: readonly ScorePair[], options: ScorePairsOptions = {}): Promise<number[]> {
    const texts: string[] = [];
    for (const pair of pairs) texts.push(pair.output, pair.reference);
    const { vectors, bad } = await this.embedDistinct(texts, options);
    return pairs.map((pair, i) => {
      const output = vectors.get(pair.output);
      const reference = vectors.get(pair.reference);
      const problem = !output ? `the output's embedding: ${bad.get(pair.output)}`
        : !reference ? `the reference's embedding: ${bad.get(pair.reference)}`
          : pairProblem(output, reference);
      if (problem === undefined) return cosine(output!, reference!);
      const reason = `${this.source} gave ${problem}; the pair was not scored. ${BAD_EMBEDDING_FIX}`;
      if (!options.onBadPair) throw new BadEmbeddingError(reason);
      options.onBadPair(i, reason);
      return Number.NaN;
    });
  }

  async warmUp(): Promise<boolean> {
    try {
      if (!this.loadsFromDisk()) return false;
      await this.cache.load();
      if (this.cache.size > 0 || this.embedder) return false;
      this.embedder = this.makeEmbedder();
      const embedder = await this.embedder;
      embedder.warmUp?.();
      return embedder.warmUp !== undefined;
    } catch {
      return false; // told by the first call, which awaits the same embedder (or loads the cache again)
    }
  }

  async cutTexts(texts: readonly string[]): Promise<boolean[] | undefined> {
    await this.cache.load();
    const facts = this.textFacts(texts);
    if (facts.every((f) => f === undefined)) return undefined;
    return facts.map((f) => f !== undefined && f.pieces > f.read);
  }

  textFacts(texts: readonly string[]): Array<TextFacts | undefined> {
    return texts.map((text) => this.cache.facts(this.recentKeys.get(text) ?? textKey(text)));
  }

  async embed(texts: readonly string[], options: ScorePairsOptions = {}): Promise<Float32Array[]> {
    const { vectors, bad } = await this.embedDistinct(texts, options);
    for (const [, problem] of bad) throw new BadEmbeddingError(`${this.source} gave ${problem}. ${BAD_EMBEDDING_FIX}`);
    return texts.map((text) => vectors.get(text)!.slice());
  }

  private async embedDistinct(texts: readonly string[], { signal, onEvent }: ScorePairsOptions, retried = false): Promise<{ vectors: Map<string, Float32Array>; bad: Map<string, string> }> {
    if (signal?.aborted) throw new ScorerError('cancelled', 'Scoring was cancelled.');
    if (!retried) this.counters.textsRequested += texts.length;
    await this.cache.load();
    const vectors = new Map<string, Float32Array>();
    const bad = new Map<string, string>();
    const missing: Array<{ text: string; key: string }> = [];
    const shared: Array<{ text: string; promise: Promise<Float32Array> }> = [];
    const seen = new Set<string>();
    for (const text of texts) {
      if (seen.has(text)) continue;
      seen.add(text);
      const key = textKey(text);
      if (this.recentKeys.size >= RECENT_KEYS) this.recentKeys.clear();
      this.recentKeys.set(text, key);
      const cached = this.cache.get(key);
      const running = this.inFlight.get(key);
      if (cached) {
        vectors.set(text, cached);
        this.counters.cacheHits++;
      } else if (running) {
        shared.push({ text, promise: running.wait(key) });
      } else {
        missing.push({ text, key });
      }
    }
    const total = seen.size;
    let done = total - missing.length - shared.length;
    onEvent?.({ kind: 'embed', done, total });

    // Texts another call is already computing are awaited, not computed twice.
    const owned = new Computing();
    for (const m of missing) this.inFlight.set(m.key, owned);
    try {
      if (missing.length > 0) await this.compute(missing, vectors, bad, { signal, onEvent }, owned, () => {
        done++;
      }, () => onEvent?.({ kind: 'embed', done, total }));
    } finally {
      for (const m of missing) if (this.inFlight.get(m.key) === owned) this.inFlight.delete(m.key);
      owned.stop();
    }

    const retry: string[] = [];
    await Promise.all(shared.map(async ({ text, promise }) => {
      try {
        vectors.set(text, await promise);
        this.counters.cacheHits++;
        done++;
      } catch (error) {
        if (error instanceof BadEmbeddingError) bad.set(text, error.message);
        else retry.push(text); // the other call failed or was cancelled: compute it here
      }
    }));
    if (shared.length > 0) onEvent?.({ kind: 'embed', done, total });
    if (retry.length > 0) {
      const again = await this.embedDistinct(retry, { signal, onEvent }, true);
      for (const [text, vector] of again.vectors) vectors.set(text, vector);
      for (const [text, problem] of again.bad) bad.set(text, problem);
    }
    return { vectors, bad };
  }

  private async compute(
    missing: Array<{ text: string; key: string }>,
    vectors: Map<string, Float32Array>,
    bad: Map<string, string>,
    run: ScorePairsOptions,
    owned: Computing,
    countOne: () => void,
    report: () => void,
  ): Promise<void> {
    this.embedder ??= this.makeEmbedder();
    let embedder: Embedder;
    try {
      embedder = await this.embedder;
    } catch (error) {
      this.embedder = undefined;
      throw error;
    }
    if (!embedder.sortsByLength) {
      // Similar token counts in one request waste little on padding.
      const tokens = new Map(missing.map((m) => [m, estimateTokens(m.text)]));
      missing.sort((a, b) => tokens.get(a)! - tokens.get(b)! || a.text.length - b.text.length);
    }
    await embedder.computeEmbeddings(missing.map((m) => m.text), (positions, computed, facts) => {
      this.width ??= commonWidth(computed);
      const entries: CacheEntry[] = [];
      computed.forEach((vector, i) => {
        const m = missing[positions[i]];
        // An unusable vector is never cached or compared: the pairs holding this text fail, the rest go on.
        const problem = embeddingProblem(vector, this.width);
        if (problem !== undefined) {
          bad.set(m.text, problem);
          owned.reject(m.key, new BadEmbeddingError(problem));
        } else {
          vectors.set(m.text, vector);
          owned.resolve(m.key, vector);
          entries.push({ key: m.key, vector, facts: facts?.[i] });
        }
        countOne();
      });
      if (entries.length > 0) void this.cache.put(entries);
      this.counters.computed += computed.length;
      report();
    }, run);
    await this.cache.flush();
  }

  async dispose(): Promise<void> {
    const embedder = this.embedder;
    this.embedder = undefined;
    // The pool stops handing out batches first (a microtask away), then the batches running finish and their
    // vectors are cached: flushing first would let the queue run on while the disk write is awaited.
    if (embedder) await embedder.then((e) => e.dispose(), () => undefined);
    await this.cache.flush();
    this.cache.close();
  }
}

function localFingerprint(folder: string, dtype: EmbeddingDtype): string {
  // A rebuilt or replaced model file must not reuse the old model's embeddings.
  try {
    const info = statSync(join(folder, 'onnx', onnxFileName(dtype)));
    return `${info.size}-${Math.round(info.mtimeMs)}`;
  } catch {
    return 'absent';
  }
}

export function createScorer(settings: EmbeddingSettings): Scorer {
  if (settings.provider === 'remote') {
    const remote = settings.remote;
    if (!remote?.baseUrl || !remote.model) {
      throw new ScorerError('remote-failed', 'The remote embeddings provider needs a base URL and a model name (settings pisarReview.embedding.remote.baseUrl and .model; CLI: --embedding-url and --embedding-remote-model).');
    }
    let origin: string;
    try {
      origin = new URL(remote.baseUrl).origin;
    } catch {
      throw new ScorerError('remote-failed', `The remote embeddings base URL "${remote.baseUrl}" is not a URL; expected e.g. http://127.0.0.1:8080/v1.`);
    }
    const cacheKey = `remote:${origin}:${remote.model}`;
    const identity: ScorerIdentity = { provider: 'remote', id: `${origin} ${remote.model}` };
    return new EmbeddingScorer(cacheKey, `embeddings endpoint ${origin} (model ${remote.model})`, cacheKey, settings.cacheDir, async () => {
      const { RemoteEmbedder } = await import('./remoteEmbedder');
      return new RemoteEmbedder({ baseUrl: remote.baseUrl, model: remote.model, apiKey: remote.apiKey, batchSize: REMOTE_BATCH, concurrency: REMOTE_CONCURRENCY });
    }, () => ({ ...identity }), settings.maxUnknownShare ?? DEFAULT_MAX_UNKNOWN_SHARE, () => false);
  }

  const dtype = settings.dtype;
  const { isLocalFolder, location } = resolveModelLocation(settings.model || DEFAULT_EMBEDDING_MODEL, settings.baseDir);
  const cacheKey = `local:${location}:${dtype}`;
  const namespace = isLocalFolder ? `${cacheKey}:${localFingerprint(location, dtype)}` : cacheKey;
  const modelCacheDir = join(settings.cacheDir, 'models');
  // A Hub model's files are on disk once downloaded (transformers.js keeps them under <cache>/<id>/).
  const folder = isLocalFolder ? location : join(modelCacheDir, location);
  let maxLength: MaxLength | undefined = modelMaxLength(existsSync(folder) ? folder : undefined, isLocalFolder ? undefined : location);
  const identity = (): ScorerIdentity => {
    maxLength ??= modelMaxLength(existsSync(folder) ? folder : undefined, isLocalFolder ? undefined : location);
    const weights = weightsDigest(join(folder, 'onnx', onnxFileName(dtype)));
    return {
      provider: 'local', id: location, dtype,
      ...(weights ? { weights } : {}),
      ...(maxLength ? { maxLength: maxLength.maxLength, maxLengthSource: maxLength.source } : {}),
    };
  };
  return new EmbeddingScorer(cacheKey, `embedding model ${location} (${dtype})`, namespace, settings.cacheDir, async () => {
    const { LocalEmbedder, checkModelFolder } = await import('./localEmbedder');
    if (isLocalFolder) checkModelFolder(location, dtype);
    return new LocalEmbedder({
      model: location,
      isLocalFolder,
      dtype,
      modelCacheDir,
      hubUrl: settings.hubUrl,
      workerPath: settings.workerPath,
      workers: Math.max(1, settings.local?.workers ?? Math.min(availableParallelism(), MAX_DEFAULT_WORKERS)),
      threadsPerWorker: Math.max(1, settings.local?.threadsPerWorker ?? DEFAULT_THREADS_PER_WORKER),
      batchSize: Math.max(1, settings.local?.batchSize ?? DEFAULT_LOCAL_BATCH),
      maxSeqLength: maxLength?.maxLength,
      onMaxLength: (found) => (maxLength ??= found),
    });
  }, identity, settings.maxUnknownShare ?? DEFAULT_MAX_UNKNOWN_SHARE, () => existsSync(join(folder, 'onnx', onnxFileName(dtype))));
}
