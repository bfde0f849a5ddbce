import type { Embedder, EmbedRunOptions } from './embedder';
import { ScorerError } from './scorer';

type OpenAIClient = import('openai').OpenAI;

export interface RemoteEmbedderOptions {
  baseUrl: string;
  model: string;
  apiKey?: string;
  batchSize: number;
  concurrency: number;
}

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
    this.client ??= import('openai').then(({ OpenAI }) => new OpenAI({
      baseURL: this.options.baseUrl,
      // Local servers often need no key; the client insists on one.
      apiKey: this.options.apiKey || 'no-key',
    }));
    return this.client;
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
          response = await client.embeddings.create({ model: this.options.model, input, encoding_format: 'float' }, { signal: run.signal });
        } catch (error) {
          if (run.signal?.aborted) throw new ScorerError('cancelled', 'Scoring was cancelled.');
          const status = (error as { status?: number }).status;
          const detail = error instanceof Error ? error.message : String(error);
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
