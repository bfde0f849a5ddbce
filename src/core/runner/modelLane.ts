// One model's share of a run: its queue of rows, its client, its calls with retries, and the failure
// that stops it (401/403/404, unreachable) so its other rows are not called one by one.
import { setMaxListeners } from 'node:events';
import type { OpenAI } from 'openai';
import { MODEL_DEFAULTS, type ModelConfig } from '../config/models';
import { redactCredentials } from '../security/redact';
import type { StoredResult } from '../store/results';
import { completeOnce, createClient, type Completion } from './provider';
import { backoffMs, classifyFailure, type FailureClass, type RetryPolicy } from '../http/retry';
import type { ModelFailure, ModelRunStats } from './runTypes';
import type { RowList } from './plan';
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
  /** The server asked the model to wait (Retry-After or its body): told once per pause, whatever the terminal. */
  onWait(e: { model: string; delayMs: number; until: string; reason: string }): void;
  onModelFailed(failure: ModelFailure): void;
}

export class ModelLane {
  readonly stats: ModelRunStats;
  failure: ModelFailure | undefined;
  /** Aborted when the run stops or this model fails: cancels its calls in flight. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  /** Requests this model may have in flight now (AIMD, see ConcurrencyLimit). */
  readonly limit: ConcurrencyLimit;
  /** Until when a wait the server asked for was last told (told once per pause, not per request). */
  private waitToldUntil = 0;
  /** Set when the server asked for a wait longer than the model allows: calls before `until` fail at once. */
  private blocked: { until: number; message: string } | undefined;
  private next = 0;
  private clientPromise: Promise<OpenAI> | undefined;
  /** Held only to mask it in failure messages (a server may echo it back). */
  private apiKey: string | undefined;

  constructor(
    readonly name: string,
    readonly config: ModelConfig | undefined,
    private readonly rows: Pick<RowList, 'length' | 'at'>,
    private readonly ctx: LaneContext,
  ) {
    this.signal = AbortSignal.any([ctx.runSignal, this.controller.signal]);
    this.limit = new ConcurrencyLimit(config?.concurrency ?? MODEL_DEFAULTS.concurrency);
    setMaxListeners(0, this.signal); // every call in flight listens for cancel
    this.stats = { model: name, called: 0, cacheHits: 0, precomputed: 0, reused: 0, succeeded: 0, failed: 0, retries: 0, failedByKind: dict<number>() };
  }

  /** Rows not yet taken. */
  get remaining(): number {
    return this.rows.length - this.next;
  }

  /** The next row to work on (an index pointer: taking is O(1)), or undefined when none is left. */
  take(): number | undefined {
    return this.next < this.rows.length ? this.rows.at(this.next++) : undefined;
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
      const fix = (err as { fix?: unknown }).fix;
      this.fail({ action: 'model', kind: 'key', message: `could not get its API key (${(err as Error).message ?? String(err)})`, ...(typeof fix === 'string' ? { fix } : {}) });
      return { ok: false, error: { kind: 'model-failed', message: this.failure!.message } };
    }
    for (let attempt = 0; ; attempt++) {
      if (runSignal.aborted) throw new Cancelled();
      if (this.failure) return { ok: false, error: { kind: 'model-failed', message: this.failure.message } };
      if (this.blocked && Date.now() < this.blocked.until) return { ok: false, error: { kind: 'rate-limit', message: `not called: ${this.blocked.message}` } };
      // A slot is held only while the request is out: a request waiting out its Retry-After holds none.
      await this.limit.acquire(this.signal);
      if (runSignal.aborted) {
        this.limit.release();
        throw new Cancelled();
      }
      if (attempt === 0) this.stats.called++;
      const t0 = performance.now();
      try {
        const completion = await completeOnce(client, body, this.signal, { keepThinking: this.config?.keepThinking, markers: this.ctx.reasoningMarkers }, { name: this.name, baseUrl: this.config!.baseUrl, model: this.config!.model });
        this.limit.release('ok');
        return { ok: true, completion, latencyMs: Math.round(performance.now() - t0) };
      } catch (err) {
        // Servers and proxies may quote the request (headers, URL) in an error: mask before it is stored or shown.
        const classified = classifyFailure(err, { name: this.name, baseUrl: this.config!.baseUrl, model: this.config!.model });
        this.limit.release(classified.kind === 'rate-limit' ? 'rate-limited' : 'other');
        const failure = { ...classified, message: redactCredentials(classified.message, [this.apiKey]) };
        if (failure.action === 'aborted' || runSignal.aborted) {
          if (runSignal.aborted) throw new Cancelled();
          return { ok: false, error: { kind: 'model-failed', message: (this.failure as ModelFailure | undefined)?.message ?? 'cancelled' } };
        }
        if (failure.action === 'model') {
          this.fail(failure);
          return { ok: false, error: errorOf(failure) };
        }
        const maxWait = this.config?.maxRetryWaitMs ?? this.ctx.maxRetryAfterMs;
        if (failure.action === 'retry' && failure.retryAfterMs !== undefined && failure.retryAfterMs > maxWait) {
          // Asked to wait longer than allowed: the pair fails now with the reason, and so do this model's
          // other rows until then (no request each: the server said when it will answer again).
          const until = Date.now() + failure.retryAfterMs;
          const message = `${failure.message} (the server asked to wait ${seconds(failure.retryAfterMs)}, more than "maxRetryWaitMs" allows (${seconds(maxWait)}); not waited: run again after ${clock(until)} or raise "maxRetryWaitMs")`;
          this.blocked = { until, message };
          return { ok: false, error: errorOf({ ...failure, message }) };
        }
        if (failure.action === 'retry' && attempt < policy.retries) {
          const retry = attempt + 1;
          let delay = backoffMs(retry, policy);
          if (failure.retryAfterMs !== undefined) {
            // Retry-After is honoured, once and whole, by the request that got it; the model's other requests
            // keep flowing (its concurrency shrank on the 429 instead). The wait is told once per pause.
            delay = failure.retryAfterMs + Math.round(Math.random() * 50);
            const until = Date.now() + delay;
            if (delay >= 1_000 && until > this.waitToldUntil + 1_000) {
              this.waitToldUntil = until;
              this.ctx.onWait({ model: this.name, delayMs: delay, until: new Date(until).toISOString(), reason: failure.message });
            }
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

/**
 * How many requests of one model may be in flight: additive increase, multiplicative decrease, judged
 * once per window of answers (as many answers as the limit). A window with 429s shrinks the limit by
 * half the share refused (all refused: halved; one in twenty: by 2.5%), never below 1; a clean window
 * adds 1, up to the configured concurrency. A server refusing most requests brings the limit down to
 * what it serves within a few windows; sparse 429s (a quota's edge) barely move it.
 */
export class ConcurrencyLimit {
  private current: number;
  private active = 0;
  private answered = 0;
  private refused = 0;
  private readonly waiting: Array<() => void> = [];
  /** Waiters woken but not yet running, so one release wakes no more than the free slots. */
  private woken = 0;

  constructor(readonly max: number) {
    this.max = Math.max(1, Math.floor(max));
    this.current = this.max;
  }

  /** Requests allowed in flight now. */
  get value(): number {
    return Math.max(1, Math.floor(this.current));
  }

  /** Waits for a free slot (or the signal). */
  async acquire(signal: AbortSignal): Promise<void> {
    while (this.active >= this.value && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.waiting.push(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
    this.active++;
  }

  /** Frees the slot; 'ok' and 'rate-limited' answers count toward the window (other failures say nothing of load). */
  release(outcome: 'ok' | 'rate-limited' | 'other' = 'other'): void {
    this.active--;
    if (outcome !== 'other') {
      this.answered++;
      if (outcome === 'rate-limited') this.refused++;
      if (this.answered >= this.value) {
        this.current = this.refused > 0 ? Math.max(1, this.current * (1 - this.refused / (2 * this.answered))) : Math.min(this.max, this.current + 1);
        this.answered = 0;
        this.refused = 0;
      }
    }
    while (this.waiting.length > 0 && this.active + this.woken < this.value) {
      this.woken++;
      const wake = this.waiting.shift()!;
      queueMicrotask(() => {
        this.woken--;
        wake();
      });
    }
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

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function clock(at: number): string {
  return `${new Date(at).toISOString().slice(11, 19)} UTC`;
}
