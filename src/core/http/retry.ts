import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { transportErrorOf } from './transport';
import { classifyServerError, errorReason, notApiFix, rawErrorBody, ResponseError, type ErrorReason } from './errors';

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
  /** For 'model': what to change, when the failure says more than the generic fix for its kind. */
  readonly fix?: string;
}

/** What classifyFailure needs to write a fix that names the model. */
export interface FailureContext {
  readonly name?: string;
  readonly baseUrl?: string;
  readonly model?: string;
}

export function classifyFailure(err: unknown, context: FailureContext = {}): FailureClass {
  // Refused by the transport: a redirect elsewhere repeats for every row (stop the model); a huge body is this row's.
  const refused = transportErrorOf(err);
  if (refused && refused.kind !== 'timeout') return { action: refused.kind === 'redirect' ? 'model' : 'row', kind: refused.kind, message: refused.message };
  if (err instanceof ResponseError) {
    const fix = err.fix ?? (err.kind === 'not-api' ? notApiFix(context.baseUrl ?? 'the endpoint') : undefined);
    return { action: err.action, kind: err.kind, message: err.message, ...(err.status !== undefined ? { status: err.status } : {}), ...(fix ? { fix } : {}), ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) };
  }
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
    const reason = reasonOf(err);
    const message = `HTTP ${status}${reason.message ? `: ${reason.message}` : ''}`;
    const failure = classifyServerError(status, reason, context, retryAfterMs(err.headers));
    return { ...failure, status, message };
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

/** The server's reason from the whole error body (any dialect), else from what the SDK kept. */
function reasonOf(err: APIError): ErrorReason {
  const raw = rawErrorBody(err);
  if (raw !== undefined && raw !== null) return errorReason(raw);
  if (err.error !== undefined && err.error !== null) return errorReason({ error: err.error });
  return {};
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
