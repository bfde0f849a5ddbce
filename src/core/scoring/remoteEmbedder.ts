import type { Embedder, EmbedRunOptions } from './embedder';
import { ScorerError } from './scorer';

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
    this.client ??= import('../runner/openaiClient').then(({ createOpenAIClient }) => createOpenAIClient({
      baseUrl: this.options.baseUrl,
      apiKey: this.options.apiKey,
      timeoutMs: this.options.timeoutMs ?? 60_000,
      maxResponseBytes: this.options.maxResponseBytes,
    }));
    return this.client;
  }

  /** One embeddings request with the product's one retry layer (the client itself never retries). */
  private async embedWithRetries(client: OpenAIClient, input: string[], signal: AbortSignal | undefined) {
    const { classifyFailure, backoffMs, DEFAULT_RETRY_POLICY } = await import('../runner/retry');
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
        let response;
        try {
          response = await this.embedWithRetries(client, input, run.signal);
        } catch (error) {
          if (run.signal?.aborted) throw new ScorerError('cancelled', 'Scoring was cancelled.');
          const status = (error as { status?: number }).status;
          const { transportErrorOf } = await import('../runner/transport');
          const detail = transportErrorOf(error)?.message ?? (error instanceof Error ? error.message : String(error));
          throw new ScorerError('remote-failed', `Embeddings request to ${origin} (model ${this.options.model}) failed${status ? ` with HTTP ${status}` : ''}: ${detail}`);
        }
        const data = [...response.data].sort((a, b) => a.index - b.index);
        if (data.length !== input.length || data.some((d) => !Array.isArray(d.embedding) || d.embedding.length === 0)) {
          throw new ScorerError('remote-failed', `Embeddings endpoint ${origin} (model ${this.options.model}) answered ${data.length} embeddings for ${input.length} texts; expected one float vector per text.`);
        }
        sink(start, data.map((d) => normalised(d.embedding)));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, () => lane().catch((error: unknown) => {
      stopped = true; // one failure ends the run; the other lanes stop before their next request
      throw error;
    })));
  }

  async dispose(): Promise<void> {
    this.client = undefined;
  }
}
