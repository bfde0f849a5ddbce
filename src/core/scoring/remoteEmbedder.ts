import { ScorerError, type Embedder, type EmbedRunOptions } from './embedder';
import { errorReason, rawErrorBody } from '../http/errors';
import { embeddingProblem } from './embeddingCheck';

type OpenAIClient = import('openai').OpenAI;

export interface RemoteEmbedderOptions {
  baseUrl: string;
  model: string;
  apiKey?: string;
  batchSize: number;
  concurrency: number;
  /** Deadline of one request, body included (default 60000). */
  timeoutMs?: number;
  /** Largest response body read (default: the transport's). */
  maxResponseBytes?: number;
}

/** Retries of a failed embeddings request (429, 5xx, reset, timeout). */
const EMBEDDING_RETRIES = 2;

/** Unit length; a vector that cannot be used is handed on as it came, for the scorer's check to name. */
function normalised(values: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(values);
  if (embeddingProblem(out) !== undefined) return out;
  let norm = 0;
  for (const v of out) norm += v * v;
  const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
  for (let i = 0; i < out.length; i++) out[i] *= scale;
  return out;
}

/** The three embedding APIs read: OpenAI-compatible `/embeddings`, TEI's native `/embed`, Ollama's `/api/embed`. */
type Dialect = 'openai' | 'tei' | 'ollama';

interface Endpoint {
  readonly dialect: Dialect;
  /** The client's base URL and the route posted to under it. */
  readonly clientBase: string;
  readonly route: string;
  /** Where the server's /info lives (TEI), when it may have one. */
  readonly infoUrl?: string;
}

/** Which API a base URL speaks, from its path: `.../api/embed` is Ollama's, `.../embed` TEI's, anything else OpenAI's. */
export function embeddingEndpoint(baseUrl: string): Endpoint {
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, '');
  const parent = (cut: number) => `${url.origin}${path.slice(0, path.length - cut)}${url.search}`;
  if (/\/api\/embeddings$/.test(path)) {
    throw new ScorerError('remote-failed', `The embeddings URL ${url.origin}${path} is Ollama's old one-text route, which PiSAR Review does not use. Set the URL to ${parent('/api/embeddings'.length)}/api/embed (Ollama's batch route) or ${parent('/api/embeddings'.length)}/v1 (its OpenAI-compatible one).`);
  }
  if (/\/api\/embed$/.test(path)) return { dialect: 'ollama', clientBase: parent('/embed'.length), route: '/embed' };
  if (/\/embed$/.test(path)) return { dialect: 'tei', clientBase: parent('/embed'.length), route: '/embed', infoUrl: `${parent('/embed'.length)}/info` };
  const root = path.replace(/\/v1$/, '');
  return { dialect: 'openai', clientBase: baseUrl, route: '/embeddings', infoUrl: `${url.origin}${root}/info` };
}

/** What is known of one endpoint's batch size: the largest that worked, and the most it takes. */
interface BatchLimit {
  /** Texts per request to send now. */
  size: number;
  /** The largest batch it answered. */
  good: number;
  /** The server's /info, read once. */
  info?: Promise<void>;
}

/** Per endpoint (base URL and route), for the life of the process: a second run starts at the size that worked. */
const batchLimits = new Map<string, BatchLimit>();

/** Any embeddings endpoint: OpenAI-compatible (OpenAI, vLLM, TEI, Ollama's /v1, LM Studio), TEI's /embed, Ollama's /api/embed. */
export class RemoteEmbedder implements Embedder {
  private client: Promise<OpenAIClient> | undefined;
  private readonly endpoint: Endpoint;
  private readonly limit: BatchLimit;
  /** Requests sent (first attempts and retries), for tests and benchmarks. */
  requests = 0;

  constructor(private readonly options: RemoteEmbedderOptions) {
    this.endpoint = embeddingEndpoint(options.baseUrl);
    const key = `${this.endpoint.clientBase}|${this.endpoint.route}`;
    let limit = batchLimits.get(key);
    if (!limit) batchLimits.set(key, (limit = { size: options.batchSize, good: 0 }));
    this.limit = limit;
  }

  private getClient(): Promise<OpenAIClient> {
    // The one client factory (no env ids, no placeholder key, guarded transport); loaded on first use.
    this.client ??= import('../http/openaiClient').then(({ createOpenAIClient }) => createOpenAIClient({
      baseUrl: this.endpoint.clientBase,
      apiKey: this.options.apiKey,
      timeoutMs: this.options.timeoutMs ?? 60_000,
      maxResponseBytes: this.options.maxResponseBytes,
    }));
    return this.client;
  }

  /** Reads max_client_batch_size from the server's /info (text-embeddings-inference has one) once per endpoint. */
  private readInfo(signal: AbortSignal | undefined): Promise<void> {
    const infoUrl = this.endpoint.infoUrl;
    if (!infoUrl) return Promise.resolve();
    this.limit.info ??= (async () => {
      try {
        const { guardedFetch } = await import('../http/transport');
        const headers: Record<string, string> = this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {};
        this.requests++;
        const response = await guardedFetch({ timeoutMs: INFO_TIMEOUT_MS, maxResponseBytes: 64 * 1024 })(infoUrl, { headers, ...(signal ? { signal } : {}) });
        if (!response.ok) return;
        const info = JSON.parse(await response.text()) as { max_client_batch_size?: unknown };
        const most = info.max_client_batch_size;
        if (typeof most === 'number' && Number.isInteger(most) && most > 0) this.limit.size = Math.min(this.limit.size, most);
      } catch {
        // No /info (OpenAI, vLLM, Ollama): the size is learned from the first refusal instead.
      }
    })();
    return this.limit.info;
  }

  /** One embeddings request with the product's one retry layer (the client itself never retries). */
  private async embedWithRetries(client: OpenAIClient, input: string[], signal: AbortSignal | undefined): Promise<unknown> {
    const { classifyFailure, backoffMs, DEFAULT_RETRY_POLICY } = await import('../http/retry');
    const policy = { ...DEFAULT_RETRY_POLICY, retries: EMBEDDING_RETRIES };
    const { model } = this.options;
    const body = this.endpoint.dialect === 'tei' ? { inputs: input } : this.endpoint.dialect === 'ollama' ? { model, input } : { model, input, encoding_format: 'float' };
    for (let attempt = 0; ; attempt++) {
      try {
        this.requests++;
        const response = await client.post(this.endpoint.route, { body, signal }).asResponse();
        return parseLenientJson(await response.text());
      } catch (error) {
        const failure = classifyFailure(error);
        if (signal?.aborted || failure.action !== 'retry' || attempt >= policy.retries) throw error;
        const delay = Math.min(failure.retryAfterMs ?? backoffMs(attempt + 1, policy), policy.maxDelayMs);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async computeEmbeddings(texts: readonly string[], sink: (positions: readonly number[], vectors: Float32Array[]) => void, run: EmbedRunOptions): Promise<void> {
    const client = await this.getClient();
    await this.readInfo(run.signal);
    const { concurrency } = this.options;
    let next = 0;
    let stopped = false;
    const origin = new URL(this.options.baseUrl).origin;
    const lane = async (): Promise<void> => {
      while (!stopped && next < texts.length) {
        if (run.signal?.aborted) throw new ScorerError('cancelled', 'Scoring was cancelled.');
        const start = next;
        next += this.limit.size;
        // OpenAI rejects an empty string (a model may well answer nothing); a space embeds as "no content".
        const input = texts.slice(start, start + this.limit.size).map((t) => (t === '' ? ' ' : t));
        const vectors = await this.embedBatch(client, input, run, origin);
        sink(vectors.map((_, i) => start + i), vectors);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, () => lane().catch((error: unknown) => {
      stopped = true; // one failure ends the run; the other lanes stop before their next request
      throw error;
    })));
  }

  /**
   * One request for a batch. A batch the endpoint finds too large (413, or a message naming its batch
   * limit) is split at the size it names, else halved, and that size is remembered for the endpoint
   * (never below the largest batch it answered). A batch holding a text over the model's limit is
   * halved until that text is alone; a text alone is cut client-side to the limit the endpoint names
   * (else halved) and sent again.
   */
  private async embedBatch(client: OpenAIClient, input: string[], run: EmbedRunOptions, origin: string): Promise<Float32Array[]> {
    try {
      const vectors = await this.request(client, input, run, origin);
      this.limit.good = Math.max(this.limit.good, input.length);
      return vectors;
    } catch (error) {
      const tooLong = tooLongLimit(error);
      const named = batchLimitOf(error);
      if (input.length > 1 && (named !== undefined || (tooLong && tooLong.limit === undefined))) {
        // The batch is too big for the endpoint: fewer texts a request from now on.
        const size = Math.max(1, named ?? Math.max(this.limit.good, Math.floor(input.length / 2)));
        this.limit.size = Math.min(this.limit.size, size);
        return this.embedChunks(client, input, Math.min(size, Math.ceil(input.length / 2)), run, origin);
      }
      if (!tooLong) throw await this.failure(error, run, origin);
      if (input.length > 1) return this.embedChunks(client, input, Math.ceil(input.length / 2), run, origin);
      let text = input[0];
      let limit = tooLong;
      for (let attempt = 0; attempt < MAX_TRUNCATIONS; attempt++) {
        text = truncateText(text, limit);
        try {
          const vectors = await this.request(client, [text], run, origin);
          this.truncatedTexts++;
          return vectors;
        } catch (retryError) {
          const again = tooLongLimit(retryError);
          if (!again) throw await this.failure(retryError, run, origin);
          limit = { ...again, given: again.given ?? approxTokens(text) };
        }
      }
      throw new ScorerError('remote-failed', `Embeddings endpoint ${origin} (model ${this.options.model}) refused a text as too long even after cutting it ${MAX_TRUNCATIONS} times.`);
    }
  }

  private async embedChunks(client: OpenAIClient, input: string[], size: number, run: EmbedRunOptions, origin: string): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < input.length; start += size) out.push(...(await this.embedBatch(client, input.slice(start, start + size), run, origin)));
    return out;
  }

  /** Texts cut client-side to the endpoint's limit so far (each is scored on its first part only). */
  truncatedTexts = 0;

  private async request(client: OpenAIClient, input: string[], run: EmbedRunOptions, origin: string): Promise<Float32Array[]> {
    if (run.signal?.aborted) throw new ScorerError('cancelled', 'Scoring was cancelled.');
    const body = await this.embedWithRetries(client, input, run.signal);
    const where = `Embeddings endpoint ${origin} (model ${this.options.model})`;
    const vectors = readVectors(body, this.endpoint.dialect);
    if (typeof vectors === 'string') throw new ScorerError('remote-failed', `${where} answered ${vectors}, not ${DIALECT_SHAPE[this.endpoint.dialect]}. ${dialectFix(this.options.baseUrl)}`);
    if (vectors.length !== input.length) {
      throw new ScorerError('remote-failed', `${where} answered ${vectors.length} embeddings for ${input.length} texts; expected one vector per text.`);
    }
    return vectors.map(normalised);
  }

  private async failure(error: unknown, run: EmbedRunOptions, origin: string): Promise<ScorerError> {
    if (error instanceof ScorerError) return error;
    if (run.signal?.aborted) return new ScorerError('cancelled', 'Scoring was cancelled.');
    const status = (error as { status?: number }).status;
    const { transportErrorOf } = await import('../http/transport');
    const detail = transportErrorOf(error)?.message ?? errorText(error);
    const fix = status === 404 || status === 405 ? ` ${dialectFix(this.options.baseUrl)}` : '';
    return new ScorerError('remote-failed', `Embeddings request to ${origin} (model ${this.options.model}) failed${status ? ` with HTTP ${status}` : ''}: ${detail}${fix}`);
  }
  async dispose(): Promise<void> {
    this.client = undefined;
  }
}

const INFO_TIMEOUT_MS = 5_000;

const DIALECT_SHAPE: Record<Dialect, string> = {
  openai: 'an OpenAI embeddings list ({"data": [{"embedding": [...]}]})',
  tei: 'a list of vectors ([[...], ...]) as TEI\'s /embed answers',
  ollama: 'Ollama\'s {"embeddings": [[...], ...]}',
};

/** Where the embeddings URL of each server kind points. */
function dialectFix(baseUrl: string): string {
  const origin = new URL(baseUrl).origin;
  return `Set the embeddings URL to the server's embeddings API: OpenAI-compatible servers (vLLM, text-embeddings-inference, LM Studio, Ollama) at ${origin}/v1; or text-embeddings-inference's own route ${origin}/embed; or Ollama's own route ${origin}/api/embed.`;
}

/**
 * The vectors in an answer of the dialect (each as numbers, unchecked), or a description of what came
 * instead. A base64 embedding (little-endian float32, as OpenAI sends for encoding_format "base64") is read.
 */
function readVectors(body: unknown, dialect: Dialect): ArrayLike<number>[] | string {
  let list: unknown;
  if (dialect === 'tei') list = body;
  else if (dialect === 'ollama') list = (body as { embeddings?: unknown } | null)?.embeddings;
  else {
    const data = (body as { data?: unknown } | null)?.data;
    if (Array.isArray(data)) {
      const ordered = data.every((d) => typeof (d as { index?: unknown } | null)?.index === 'number') ? [...data].sort((a, b) => (a as { index: number }).index - (b as { index: number }).index) : data;
      list = ordered.map((d) => (d as { embedding?: unknown } | null)?.embedding);
    }
  }
  if (!Array.isArray(list)) return describe(body);
  const vectors: ArrayLike<number>[] = [];
  for (const item of list) {
    if (typeof item === 'string') {
      const bytes = Buffer.from(item, 'base64');
      if (bytes.length % 4 !== 0) return `an embedding of ${bytes.length} base64 bytes (not float32 values)`;
      vectors.push(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
    } else if (Array.isArray(item)) {
      // null (a NaN written by a strict JSON encoder), text or anything else is no number: NaN, named by the check.
      vectors.push(item.map((v) => (typeof v === 'number' ? v : typeof v === 'string' && /^-?(Infinity|NaN)$/.test(v) ? Number(v) : Number.NaN)));
    } else {
      return `an embedding that is ${describe(item)}`;
    }
  }
  return vectors;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).slice(0, 5).map((k) => JSON.stringify(k)).join(', ') || '(none)'}`;
  return `a ${typeof value}`;
}

/** JSON as Python's encoder writes it: bare NaN, Infinity and -Infinity become the strings "NaN", "Infinity", "-Infinity". */
function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const fixed = text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (token) => (token.startsWith('"') ? token : `"${token}"`));
    try {
      return JSON.parse(fixed);
    } catch {
      throw error;
    }
  }
}

/** The batch size an endpoint names when refusing a batch (TEI: "batch size 100 > maximum allowed batch size 32"). */
function batchLimitOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown }).status;
  if (status !== 413 && status !== 400 && status !== 422) return undefined;
  const message = errorText(error);
  const named = /(?:maximum allowed batch size|max(?:imum)?[ _]?(?:client[ _])?batch[ _]size|batch size (?:limit|must be at most|of at most))\D{0,12}(\d{1,6})/i.exec(message)?.[1]
    ?? /batch size[^\d]{0,20}\d+\s*>\s*\D{0,40}?(\d{1,6})/i.exec(message)?.[1];
  return named !== undefined && Number(named) > 0 ? Number(named) : undefined;
}

const MAX_TRUNCATIONS = 8;

/** The limit a "too long" answer names: its token limit and, when said, the tokens given. */
interface TooLong {
  readonly limit?: number;
  readonly given?: number;
}

/**
 * Whether an error says an input is over the model's limit: 413, or a 400/422 whose message says so
 * (OpenAI "maximum context length is 8192 tokens", vLLM "...you requested 600 tokens", TEI "must have
 * less than 512 tokens. Given: 600"). Undefined for any other failure.
 */
function tooLongLimit(error: unknown): TooLong | undefined {
  const status = (error as { status?: unknown }).status;
  const message = errorText(error);
  const saysTooLong = /too long|too many tokens|maximum (context|input|sequence) length|must have less than|exceeds? (the )?(max|limit)|input length|payload too large|reduce the length/i.test(message);
  if (status !== 413 && !((status === 400 || status === 422) && saysTooLong)) return undefined;
  const limit = /(?:maximum (?:context|input|sequence) length(?: is)?|less than|limit(?: is| of)?|max(?:imum)?(?: of)?)\s*(\d{2,7})/i.exec(message)?.[1];
  const given = /(?:given|requested|you (?:passed|provided)|got)[:\s]*(\d{2,9})/i.exec(message)?.[1];
  return { ...(limit ? { limit: Number(limit) } : {}), ...(given ? { given: Number(given) } : {}) };
}

/** The endpoint's own words for a failure, whatever its dialect (vLLM, TEI, OpenAI, text). */
function errorText(error: unknown): string {
  const reason = errorReason(rawErrorBody(error));
  return reason.message ?? (error instanceof Error ? error.message : String(error));
}

/** A rough token count when the endpoint does not say: about four characters a token. */
function approxTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/**
 * The text cut to fit: to limit/given of its length when both are known (with a margin, since tokens
 * are not spread evenly), else to the limit at about four characters a token, else to half; at a
 * word boundary when one is near.
 */
function truncateText(text: string, tooLong: TooLong): string {
  const given = tooLong.given ?? (tooLong.limit !== undefined ? approxTokens(text) : undefined);
  let keep = tooLong.limit !== undefined && given !== undefined && given > tooLong.limit
    ? Math.floor(text.length * (tooLong.limit / given) * 0.9)
    : Math.floor(text.length / 2);
  keep = Math.max(1, Math.min(keep, text.length - 1));
  const space = text.lastIndexOf(' ', keep);
  return text.slice(0, space > keep * 0.8 ? space : keep);
}
