import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { transportErrorOf } from './transport';

/** How the one retry layer behaves (the openai client's own retries are off: stacked retries multiply). */
export interface RetryPolicy {
  /** Retries after the first attempt (default 4). */
  readonly retries: number;
  /** First backoff in ms, doubled each retry (default 500). */
  readonly baseDelayMs: number;
  /** Cap for one backoff or a Retry-After wait (default 30000). */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * What a failed attempt means:
 * - 'retry': transient (429, 5xx, reset, timeout); try again after `retryAfterMs` or a backoff.
 * - 'row': this row failed for a reason a retry will not fix (400, malformed body, empty choices).
 * - 'model': every row of this model will fail the same way (401/403/404, unreachable host); stop the model.
 * - 'aborted': the run was cancelled.
 */
export interface FailureClass {
  readonly action: 'retry' | 'row' | 'model' | 'aborted';
  readonly kind: string;
  readonly message: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
}

/** Thrown for a 200 response that is not a usable completion. */
export class BadCompletionError extends Error {
  constructor(readonly kind: 'malformed' | 'empty-choices', message: string) {
    super(message);
    this.name = 'BadCompletionError';
  }
}

export function classifyFailure(err: unknown): FailureClass {
  // Refused by the transport: a redirect elsewhere repeats for every row (stop the model); a huge body is this row's.
  const refused = transportErrorOf(err);
  if (refused && refused.kind !== 'timeout') return { action: refused.kind === 'redirect' ? 'model' : 'row', kind: refused.kind, message: refused.message };
  if (err instanceof BadCompletionError) return { action: 'row', kind: err.kind, message: err.message };
  if (err instanceof APIUserAbortError) return { action: 'aborted', kind: 'aborted', message: 'cancelled' };
  if (err instanceof APIConnectionTimeoutError) return { action: 'retry', kind: 'timeout', message: 'the request timed out' };
  if (err instanceof APIConnectionError) {
    const code = causeCode(err);
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH') {
      return { action: 'retry', kind: 'unreachable', message: `cannot connect (${code})` };
    }
    return { action: 'retry', kind: 'connection', message: `the connection failed (${code ?? err.message})` };
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    const message = apiMessage(err);
    if (status === 429) return { action: 'retry', kind: 'rate-limit', status, message, retryAfterMs: retryAfterMs(err.headers) };
    if (status === 408 || status === 409 || status >= 500) return { action: 'retry', kind: 'server', status, message, retryAfterMs: retryAfterMs(err.headers) };
    if (status === 401 || status === 403) return { action: 'model', kind: 'auth', status, message };
    if (status === 404) return { action: 'model', kind: 'not-found', status, message };
    return { action: 'row', kind: 'request', status, message };
  }
  if (err instanceof SyntaxError) return { action: 'row', kind: 'malformed', message: `the response body is not valid JSON (${err.message})` };
  if ((err as Error)?.name === 'AbortError') return { action: 'aborted', kind: 'aborted', message: 'cancelled' };
  return { action: 'row', kind: 'unexpected', message: (err as Error)?.message ?? String(err) };
}

/** Backoff before retry number `retry` (1-based): exponential with full jitter, at least a quarter of the step. */
export function backoffMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(step * (0.25 + 0.75 * random()));
}

/** Retry-After (seconds or an HTTP date) or retry-after-ms, in ms; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.max(0, Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function apiMessage(err: APIError): string {
  const body = err.error as { message?: unknown } | undefined;
  const detail = typeof body?.message === 'string' ? body.message : undefined;
  return `HTTP ${err.status}${detail ? `: ${detail}` : ''}`;
}

function causeCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
