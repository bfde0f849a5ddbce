// One model's share of a run: its queue of rows, its client, its calls with retries, and the failure
// that stops it (401/403/404, unreachable) so its other rows are not called one by one.
import { setMaxListeners } from 'node:events';
import type { OpenAI } from 'openai';
import type { ModelConfig } from '../config/models';
import { redactCredentials } from '../security/redact';
import type { StoredResult } from '../store/results';
import { completeOnce, createClient, type Completion } from './provider';
import { backoffMs, classifyFailure, type FailureClass, type RetryPolicy } from '../http/retry';
import type { ModelFailure, ModelRunStats } from './runTypes';
import { dict } from '../security/ownKeys';
import type { ReasoningMarker } from '../rules/reasoning';

export type CallOutcome = { ok: true; completion: Completion; latencyMs: number } | { ok: false; error: NonNullable<StoredResult['error']> };

/** Thrown out of a call when the whole run was cancelled (nothing is stored for that pair). */
export class Cancelled extends Error {}

export interface LaneContext {
  /** Aborted when the run is cancelled or cannot go on. */
  readonly runSignal: AbortSignal;
  readonly policy: RetryPolicy;
  /** Cap on a Retry-After wait. */
  readonly maxRetryAfterMs: number;
  /** Extra reasoning markers (the `reasoning.markers` setting). */
  readonly reasoningMarkers?: readonly ReasoningMarker[];
  apiKeyFor(model: ModelConfig): Promise<string | undefined>;
  onRetry(e: { model: string; rowId: string; retry: number; delayMs: number; reason: string }): void;
  onModelFailed(failure: ModelFailure): void;
}

export class ModelLane {
  readonly stats: ModelRunStats;
  failure: ModelFailure | undefined;
  /** Aborted when the run stops or this model fails: cancels its calls in flight. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private pausedUntil = 0;
  private next = 0;
  private clientPromise: Promise<OpenAI> | undefined;
  /** Held only to mask it in failure messages (a server may echo it back). */
  private apiKey: string | undefined;

  constructor(
    readonly name: string,
    readonly config: ModelConfig | undefined,
    private readonly rows: readonly number[],
    private readonly ctx: LaneContext,
  ) {
    this.signal = AbortSignal.any([ctx.runSignal, this.controller.signal]);
    setMaxListeners(0, this.signal); // every call in flight listens for cancel
    this.stats = { model: name, called: 0, cacheHits: 0, precomputed: 0, reused: 0, succeeded: 0, failed: 0, retries: 0, failedByKind: dict<number>() };
  }

  /** Rows not yet taken. */
  get remaining(): number {
    return this.rows.length - this.next;
  }

  /** The next row to work on (an index pointer: taking is O(1)), or undefined when none is left. */
  take(): number | undefined {
    return this.next < this.rows.length ? this.rows[this.next++] : undefined;
  }

  /** Fails the lane before any call when its baseUrl is not a URL. */
  checkBaseUrl(): void {
    if (!this.config || this.failure) return;
    try {
      new URL(this.config.baseUrl);
    } catch {
      this.failure = { model: this.name, message: redactCredentials(`${this.name}: baseUrl "${this.config.baseUrl}" is not a URL; its rows were not called`), fix: 'Set "baseUrl" to the endpoint\'s base URL, e.g. "http://localhost:8000/v1".' };
      this.ctx.onModelFailed(this.failure);
    }
  }

  /** Stops the model: no more calls; calls in flight are aborted. */
  fail(failure: FailureClass): void {
    if (this.failure) return;
    const config = this.config!;
    const fix = failure.fix ??
      (failure.kind === 'auth' || failure.kind === 'key'
        ? `Check the API key for "${this.name}" (CLI: the environment variable named by "apiKeyEnv"${config.apiKeyEnv ? `, ${config.apiKeyEnv}` : ''}; VS Code: "PiSAR Review: Set API Key") and that it may use model "${config.model}".`
        : failure.kind === 'not-found'
          ? `Check "model" ("${config.model}") and "baseUrl" (${config.baseUrl}) of "${this.name}": the endpoint says it does not exist.`
          : `Check that the server at ${config.baseUrl} is running and reachable, then run again.`);
    const mask = (text: string) => redactCredentials(text, [this.apiKey]);
    this.failure = { model: this.name, message: mask(`${this.name}: ${failure.message}; its remaining rows were not called`), fix: mask(fix) };
    this.ctx.onModelFailed(this.failure);
    this.controller.abort();
  }

  /** One request with the retry policy applied; failures come back as data, cancellation as Cancelled. */
  async call(body: Record<string, unknown>, rowId: string): Promise<CallOutcome> {
    const { runSignal, policy } = this.ctx;
    let client: OpenAI;
    try {
      client = await this.client();
    } catch (err) {
      this.fail({ action: 'model', kind: 'key', message: `could not get its API key (${(err as Error).message ?? String(err)})` });
      return { ok: false, error: { kind: 'model-failed', message: this.failure!.message } };
    }
    for (let attempt = 0; ; attempt++) {
      if (runSignal.aborted) throw new Cancelled();
      if (this.failure) return { ok: false, error: { kind: 'model-failed', message: this.failure.message } };
      const wait = this.pausedUntil - Date.now();
      if (wait > 0) await sleep(wait, this.signal);
      if (attempt === 0) this.stats.called++;
      const t0 = performance.now();
      try {
        const completion = await completeOnce(client, body, this.signal, { keepThinking: this.config?.keepThinking, markers: this.ctx.reasoningMarkers });
        return { ok: true, completion, latencyMs: Math.round(performance.now() - t0) };
      } catch (err) {
        // Servers and proxies may quote the request (headers, URL) in an error: mask before it is stored or shown.
        const classified = classifyFailure(err, { name: this.name, baseUrl: this.config!.baseUrl });
        const failure = { ...classified, message: redactCredentials(classified.message, [this.apiKey]) };
        if (failure.action === 'aborted' || runSignal.aborted) {
          if (runSignal.aborted) throw new Cancelled();
          return { ok: false, error: { kind: 'model-failed', message: (this.failure as ModelFailure | undefined)?.message ?? 'cancelled' } };
        }
        if (failure.action === 'model') {
          this.fail(failure);
          return { ok: false, error: errorOf(failure) };
        }
        if (failure.action === 'retry' && attempt < policy.retries) {
          const retry = attempt + 1;
          let delay = backoffMs(retry, policy);
          if (failure.retryAfterMs !== undefined) {
            // Honour Retry-After for the whole model: its other workers hold off too.
            delay = Math.min(failure.retryAfterMs, this.ctx.maxRetryAfterMs) + Math.round(Math.random() * 50);
            if (failure.retryAfterMs > this.ctx.maxRetryAfterMs) failure.message += ` (the server asked to wait ${Math.round(failure.retryAfterMs / 1000)} s; waiting ${Math.round(this.ctx.maxRetryAfterMs / 1000)} s, the cap)`;
            this.pausedUntil = Math.max(this.pausedUntil, Date.now() + delay);
          }
          this.stats.retries++;
          this.ctx.onRetry({ model: this.name, rowId, retry, delayMs: delay, reason: failure.message });
          await sleep(delay, this.signal);
          continue;
        }
        if (failure.kind === 'unreachable') {
          this.fail({ ...failure, action: 'model', message: `cannot reach ${this.config!.baseUrl} (${failure.message})` });
        }
        const error = errorOf(failure);
        if (failure.action === 'retry') error.message += ` (gave up after ${attempt + 1} attempts)`;
        return { ok: false, error };
      }
    }
  }

  private client(): Promise<OpenAI> {
    this.clientPromise ??= this.ctx.apiKeyFor(this.config!).then((key) => {
      this.apiKey = key;
      return createClient(this.config!, key);
    });
    return this.clientPromise;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function errorOf(failure: FailureClass): NonNullable<StoredResult['error']> {
  return { kind: failure.kind, message: failure.message, ...(failure.status !== undefined ? { status: failure.status } : {}) };
}
