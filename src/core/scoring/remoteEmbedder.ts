import { ScorerError, type Embedder, type EmbedRunOptions } from './embedder';
import { errorReason, rawErrorBody } from '../http/errors';

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

function normalised(values: readonly number[]): Float32Array {
  const out = Float32Array.from(values);
  let norm = 0;
  for (const v of out) norm += v * v;
  const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
  for (let i = 0; i < out.length; i++) out[i] *= scale;
  return out;
}

/** Any OpenAI-compatible /v1/embeddings endpoint (OpenAI, vLLM, text-embeddings-inference). */
export class RemoteEmbedder implements Embedder {
  private client: Promise<OpenAIClient> | undefined;

  constructor(private readonly options: RemoteEmbedderOptions) {}

  private getClient(): Promise<OpenAIClient> {
    // The one client factory (no env ids, no placeholder key, guarded transport); loaded on first use.
    this.client ??= import('../http/openaiClient').then(({ createOpenAIClient }) => createOpenAIClient({
      baseUrl: this.options.baseUrl,
      apiKey: this.options.apiKey,
      timeoutMs: this.options.timeoutMs ?? 60_000,
      maxResponseBytes: this.options.maxResponseBytes,
    }));
    return this.client;
  }

  /** One embeddings request with the product's one retry layer (the client itself never retries). */
  private async embedWithRetries(client: OpenAIClient, input: string[], signal: AbortSignal | undefined) {
    const { classifyFailure, backoffMs, DEFAULT_RETRY_POLICY } = await import('../http/retry');
    const policy = { ...DEFAULT_RETRY_POLICY, retries: EMBEDDING_RETRIES };
    for (let attempt = 0; ; attempt++) {
      try {
        return await client.embeddings.create({ model: this.options.model, input, encoding_format: 'float' }, { signal });
      } catch (error) {
        const failure = classifyFailure(error);
        if (signal?.aborted || failure.action !== 'retry' || attempt >= policy.retries) throw error;
        const delay = Math.min(failure.retryAfterMs ?? backoffMs(attempt + 1, policy), policy.maxDelayMs);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async computeEmbeddings(texts: readonly string[], sink: (start: number, vectors: Float32Array[]) => void, run: EmbedRunOptions): Promise<void> {
    const client = await this.getClient();
    const { batchSize, concurrency } = this.options;
    let next = 0;
    let stopped = false;
    const origin = new URL(this.options.baseUrl).origin;
    const lane = async (): Promise<void> => {
      while (!stopped && next < texts.length) {
        if (run.signal?.aborted) throw new ScorerError('cancelled', 'Scoring was cancelled.');
        const start = next;
        next += batchSize;
        // OpenAI rejects an empty string (a model may well answer nothing); a space embeds as "no content".
        const input = texts.slice(start, start + batchSize).map((t) => (t === '' ? ' ' : t));
        sink(start, await this.embedBatch(client, input, run, origin));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, () => lane().catch((error: unknown) => {
      stopped = true; // one failure ends the run; the other lanes stop before their next request
      throw error;
    })));
  }

  /**
   * One request for a batch. When the endpoint says a text is too long (413, or a 400 naming the
   * model's limit), each text is sent alone so the rest of the batch is not blocked, and a text the
   * endpoint refuses is cut client-side to the limit it names (else halved) and sent again.
   */
  private async embedBatch(client: OpenAIClient, input: string[], run: EmbedRunOptions, origin: string): Promise<Float32Array[]> {
    try {
      return await this.request(client, input, run, origin);
    } catch (error) {
      const tooLong = tooLongLimit(error);
      if (!tooLong) throw await this.failure(error, run, origin);
      if (input.length > 1) {
        const out: Float32Array[] = [];
        for (const text of input) out.push(...(await this.embedBatch(client, [text], run, origin)));
        return out;
      }
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

  /** Texts cut client-side to the endpoint's limit so far (each is scored on its first part only). */
  truncatedTexts = 0;

  private async request(client: OpenAIClient, input: string[], run: EmbedRunOptions, origin: string): Promise<Float32Array[]> {
    if (run.signal?.aborted) throw new ScorerError('cancelled', 'Scoring was cancelled.');
    const response = await this.embedWithRetries(client, input, run.signal);
    const data = [...response.data].sort((a, b) => a.index - b.index);
    if (data.length !== input.length || data.some((d) => !Array.isArray(d.embedding) || d.embedding.length === 0)) {
      throw new ScorerError('remote-failed', `Embeddings endpoint ${origin} (model ${this.options.model}) answered ${data.length} embeddings for ${input.length} texts; expected one float vector per text.`);
    }
    return data.map((d) => normalised(d.embedding));
  }

  private async failure(error: unknown, run: EmbedRunOptions, origin: string): Promise<ScorerError> {
    if (error instanceof ScorerError) return error;
    if (run.signal?.aborted) return new ScorerError('cancelled', 'Scoring was cancelled.');
    const status = (error as { status?: number }).status;
    const { transportErrorOf } = await import('../http/transport');
    const detail = transportErrorOf(error)?.message ?? errorText(error);
    return new ScorerError('remote-failed', `Embeddings request to ${origin} (model ${this.options.model}) failed${status ? ` with HTTP ${status}` : ''}: ${detail}`);
  }
  async dispose(): Promise<void> {
    this.client = undefined;
  }
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
