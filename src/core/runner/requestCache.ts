import * as crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { redactCredentials } from '../security/redact';
import { appendRecords, readSidecar } from '../store/sidecar';

/** Bump when the key recipe or the stored shape changes, so old entries are never misread. */
export const REQUEST_CACHE_VERSION = 1;

export interface CachedCompletion {
  readonly output: string;
  /** The text as the model wrote it, when it differs from `output`. */
  readonly rawOutput?: string;
  readonly finishReason?: string;
  readonly usage?: { promptTokens?: number; completionTokens?: number };
  /** The model the server said answered (`response.model`). */
  readonly answeredBy?: string;
}

interface CacheRecord extends CachedCompletion {
  readonly key: string;
  readonly at: string;
}

/**
 * Answers identical requests (endpoint, model, messages, parameters) without a call. Keys hold no
 * secrets: the API key and headers are left out. Only successes are stored, never errors.
 * Concurrent identical requests share one call. With a file, entries outlive the process.
 */
export class RequestCache {
  private readonly entries = new Map<string, CachedCompletion>();
  private readonly inFlight = new Map<string, Promise<unknown>>();

  private constructor(readonly file: string | undefined) {}

  /** A cache held in memory for one run. */
  static inMemory(): RequestCache {
    return new RequestCache(undefined);
  }

  /**
   * A cache persisted as `requests.v<N>.jsonl` inside `dir` (created if missing). A file grown past
   * `maxBytes` is moved to `.old` (replacing the previous one) and a new one started, so the cache
   * never fills the disk or memory; a dropped entry only costs a call.
   */
  static async open(dir: string, maxBytes = 64 * 1024 * 1024): Promise<RequestCache> {
    await fsp.mkdir(dir, { recursive: true });
    const cache = new RequestCache(path.join(dir, `requests.v${REQUEST_CACHE_VERSION}.jsonl`));
    const size = await fsp.stat(cache.file!).then((s) => s.size, () => 0);
    if (size > maxBytes) await fsp.rename(cache.file!, `${cache.file}.old`);
    const { records } = await readSidecar<CacheRecord>(cache.file!, {
      validate: (v) => (v && typeof (v as CacheRecord).key === 'string' && typeof (v as CacheRecord).output === 'string' ? undefined : 'not a cache entry'),
    });
    for (const r of records) cache.entries.set(r.key, { output: r.output, rawOutput: typeof r.rawOutput === 'string' ? r.rawOutput : undefined, finishReason: r.finishReason, usage: r.usage, ...(typeof r.answeredBy === 'string' ? { answeredBy: r.answeredBy } : {}) });
    return cache;
  }

  /** The key of a request: a hash of the endpoint (no credentials or query) and the canonical body. */
  static key(baseUrl: string, body: Record<string, unknown>): string {
    const url = new URL(baseUrl);
    const endpoint = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
    return crypto.createHash('sha256').update(`pisar-request-v${REQUEST_CACHE_VERSION}\n${endpoint}\n${canonicalJson(body)}`).digest('hex');
  }

  get(key: string): CachedCompletion | undefined {
    return this.entries.get(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Runs `call` unless an identical request is cached or already running (then shares its outcome).
   * `call` returns a completion to cache, or anything else (an error outcome), which is not cached.
   */
  async share<T>(key: string, call: () => Promise<T>, isSuccess: (outcome: T) => CachedCompletion | undefined): Promise<{ outcome: T; shared: boolean }> {
    const running = this.inFlight.get(key) as Promise<T> | undefined;
    if (running) return { outcome: await running, shared: true };
    const promise = (async () => {
      try {
        const outcome = await call();
        const success = isSuccess(outcome);
        if (success) await this.store(key, success);
        return outcome;
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, promise);
    return { outcome: await promise, shared: false };
  }

  private async store(key: string, answer: CachedCompletion): Promise<void> {
    // A key a server echoed in its answer is never kept.
    const completion = { ...answer, output: redactCredentials(answer.output) };
    this.entries.set(key, completion);
    if (this.file) {
      const record: CacheRecord = { key, ...completion, at: new Date().toISOString() };
      await appendRecords(this.file, [record]).catch(() => undefined); // a cache that cannot be written is only slower
    }
  }
}

/** JSON with object keys sorted at every depth, so equal requests hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
