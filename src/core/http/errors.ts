/**
 * What an OpenAI-compatible server says when it refuses, read without losing the reason: error bodies
 * in every dialect (OpenAI, vLLM, Ollama, OpenRouter, FastAPI, HTML pages, plain text) and the fixes
 * they call for. Shared by the chat runner and the remote embedder; pure functions over the body.
 */

/** Why a response is not a usable answer, and what retrying can do about it. */
export class ResponseError extends Error {
  constructor(
    /** Stored as the result's error kind (e.g. 'cut-off', 'content-filter', 'reasoning-only', 'not-api'). */
    readonly kind: string,
    message: string,
    /** 'retry': transient; 'row': this row failed; 'model': every row of the model will fail the same way. */
    readonly action: 'retry' | 'row' | 'model',
    /** For 'model': what the user should change. */
    readonly fix?: string,
    readonly status?: number,
    /** For 'retry': how long the server asked to wait (from its body), when it said. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ResponseError';
  }
}

const rawBodies = new WeakMap<object, unknown>();

/** Keeps a failed answer's body as the server sent it, for `rawErrorBody` (the SDK keeps only `body.error`). */
export function keepRawErrorBody(err: object, body: unknown): void {
  rawBodies.set(err, body);
}

/** The body of a failed HTTP answer as the server sent it (parsed JSON or text), when known. */
export function rawErrorBody(err: unknown): unknown {
  return err && typeof err === 'object' ? rawBodies.get(err) : undefined;
}

const MAX_REASON_CHARS = 500;

/** The reason a server gave, from any dialect's error body. */
export interface ErrorReason {
  readonly message?: string;
  readonly code?: string | number;
  readonly type?: string;
  /** The body is a web page, not an API answer. */
  readonly html?: boolean;
  /** Google's `details[].reason` values (API_KEY_INVALID, RATE_LIMIT_EXCEEDED, ...) and quota ids. */
  readonly details?: string;
  /** A wait the body asks for (Google's RetryInfo.retryDelay, "Please retry in 13.4s"). */
  readonly retryAfterMs?: number;
}

export function looksLikeHtml(text: string): boolean {
  return /^\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<\?xml[^>]*>\s*<html)/i.test(text) || /<\/html>\s*$/i.test(text);
}

export function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_REASON_CHARS ? `${flat.slice(0, MAX_REASON_CHARS)}…` : flat;
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : clip(value);
  if (value === undefined || value === null) return undefined;
  return clip(JSON.stringify(value));
}

/** Reads the reason out of an error body: OpenAI/OpenRouter `{error:{message,code,type}}`, vLLM
 * `{object:"error",message}`, Ollama `{error:"text"}`, FastAPI `{detail}`, HTML, or plain text. */
export function errorReason(body: unknown): ErrorReason {
  if (typeof body === 'string') {
    const trimmed = body.trim();
    if (trimmed === '') return {};
    const parsed = tryJson(trimmed);
    if (parsed !== undefined && typeof parsed === 'object' && parsed !== null) return errorReason(parsed);
    if (looksLikeHtml(trimmed)) {
      const title = /<title[^>]*>([^<]*)<\/title>/i.exec(trimmed)?.[1]?.trim();
      return { html: true, message: `an HTML page${title ? ` ("${clip(title)}")` : ''}, not an API answer` };
    }
    return { message: clip(trimmed) };
  }
  // Google's OpenAI-compatible endpoint answers some errors as a list of one error object.
  if (Array.isArray(body) && body.length > 0 && body[0] && typeof body[0] === 'object') return errorReason(body[0]);
  if (!body || typeof body !== 'object') return {};
  const obj = body as Record<string, unknown>;
  const error = obj.error;
  if (typeof error === 'string') return withHints({ message: clip(error), ...codeOf(obj) });
  if (error && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    const message = textOf(e.message) ?? textOf(e);
    // OpenRouter puts the upstream provider's own words in metadata.raw.
    const raw = textOf((e.metadata as { raw?: unknown } | undefined)?.raw);
    return withHints({ message: raw && message && !message.includes(raw) ? `${message} (${raw})` : message, ...codeOf(e), ...googleDetails(e) });
  }
  if (obj.detail !== undefined) {
    const detail = obj.detail;
    const message = Array.isArray(detail)
      ? detail.map((d) => (d && typeof d === 'object' && typeof (d as { msg?: unknown }).msg === 'string' ? (d as { msg: string }).msg : JSON.stringify(d))).join('; ')
      : textOf(detail);
    return { message: message ? clip(message) : undefined, ...codeOf(obj) };
  }
  if (obj.message !== undefined) return withHints({ message: textOf(obj.message), ...codeOf(obj) });
  return { message: clip(JSON.stringify(obj)) };
}

function codeOf(obj: Record<string, unknown>): { code?: string | number; type?: string } {
  const out: { code?: string | number; type?: string } = {};
  if (typeof obj.code === 'string' || typeof obj.code === 'number') out.code = obj.code;
  if (typeof obj.type === 'string') out.type = obj.type;
  // Google: {"code": 429, "status": "RESOURCE_EXHAUSTED"}.
  else if (typeof obj.status === 'string') out.type = obj.status;
  return out;
}

/** Google's `details`: the reasons (API_KEY_INVALID), quota ids (…PerMinute…) and RetryInfo's delay. */
function googleDetails(e: Record<string, unknown>): { details?: string; retryAfterMs?: number } {
  if (!Array.isArray(e.details)) return {};
  const words: string[] = [];
  let retryAfterMs: number | undefined;
  for (const d of e.details as unknown[]) {
    if (!d || typeof d !== 'object') continue;
    const detail = d as Record<string, unknown>;
    if (typeof detail.reason === 'string') words.push(detail.reason);
    if (Array.isArray(detail.violations)) {
      for (const v of detail.violations as Record<string, unknown>[]) {
        if (v && typeof v.quotaId === 'string') words.push(v.quotaId);
        if (v && typeof v.quotaMetric === 'string') words.push(v.quotaMetric);
      }
    }
    if (typeof detail.retryDelay === 'string') retryAfterMs = durationMs(detail.retryDelay);
  }
  return { ...(words.length > 0 ? { details: words.join(' ').slice(0, 300) } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

/** "13s", "13.4s", "1m30s", "500ms", "6 seconds" as milliseconds. */
function durationMs(text: string): number | undefined {
  let total = 0;
  let matched = false;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|sec(?:ond)?s?|m|min(?:ute)?s?|h|hours?)\b/gi)) {
    matched = true;
    const n = Number(m[1]);
    const unit = m[2].toLowerCase();
    total += unit.startsWith('ms') || unit.startsWith('milli') ? n : unit.startsWith('h') ? n * 3_600_000 : unit === 'm' || unit.startsWith('min') ? n * 60_000 : n * 1000;
  }
  return matched ? Math.round(total) : undefined;
}

/** A wait the message itself asks for: "Please retry in 13.4s", "try again in 1m30s", "retry after 6 seconds". */
function withHints(reason: ErrorReason): ErrorReason {
  if (reason.retryAfterMs !== undefined || !reason.message) return reason;
  const hint = /(?:retry|try again)\s+(?:in|after)\s+((?:\d+(?:\.\d+)?\s*[a-z]+\s*){1,3})/i.exec(reason.message);
  const ms = hint ? durationMs(hint[1]) : undefined;
  return ms !== undefined ? { ...reason, retryAfterMs: ms } : reason;
}

export function tryJson(text: string): unknown {
  if (!/^[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An error body's code or type as an HTTP-like status, when it is one (OpenRouter puts 429/502 in `code`). */
export function numericCode(reason: ErrorReason): number | undefined {
  const n = typeof reason.code === 'number' ? reason.code : typeof reason.code === 'string' && /^\d{3}$/.test(reason.code) ? Number(reason.code) : undefined;
  return n !== undefined && n >= 100 && n <= 599 ? n : undefined;
}

export const TRANSIENT_CODES = /rate.?limit|overload|timeout|timed.?out|unavailable|server.?error|internal|busy|capacity|try again/i;

/** True when the reason says the account has no credit: no retry can mend it. */
export function isQuotaExhausted(reason: ErrorReason): boolean {
  const words = `${reason.code ?? ''} ${reason.type ?? ''}`;
  return /insufficient_quota|billing_hard_limit|insufficient[_ ]credits|payment.?required/i.test(words) ||
    /exceeded your current quota|insufficient (credits|balance|funds)|check your plan and billing/i.test(reason.message ?? '');
}

/** The parameter a 400 says the model does not take, when it says so. */
export function unsupportedParameter(reason: ErrorReason): string | undefined {
  const message = reason.message ?? '';
  const code = `${reason.code ?? ''} ${reason.type ?? ''}`;
  if (!/unsupported_(parameter|value)/i.test(code) &&
    !/unsupported (parameter|value)|not supported (with|by|for) this model|does not support|unrecognized request argument|unknown (parameter|field|argument)|extra (inputs|fields) (are )?not permitted|unexpected keyword argument/i.test(message)) {
    return undefined;
  }
  const named = /['"`]([a-z_][a-z0-9_.]*)['"`]/i.exec(message)?.[1];
  return named ?? (/max_tokens/.test(message) ? 'max_tokens' : 'a parameter');
}

/** The fix for a parameter the endpoint refuses. */
export function unsupportedParameterFix(name: string, parameter: string): string {
  if (/^max_tokens$/.test(parameter)) {
    return `The endpoint does not take "max_tokens" for this model: set "maxTokensParam": "max_completion_tokens" in the model config of "${name}" (reasoning models such as o1, o3 and gpt-5 need it).`;
  }
  if (/^max_completion_tokens$/.test(parameter)) {
    return `The endpoint does not take "max_completion_tokens": set "maxTokensParam": "max_tokens" (the default) in the model config of "${name}".`;
  }
  if (/^temperature$/.test(parameter)) return `The model does not take "temperature": remove "temperature" from the model config of "${name}".`;
  return `Remove ${parameter === 'a parameter' ? 'the parameter the message names' : `"${parameter}"`} from the model config of "${name}" (temperature, maxTokens or extraBody).`;
}

/** The fix for a baseUrl that serves a web page instead of the API. */
export function notApiFix(baseUrl: string): string {
  const hint = /\/v\d+\/?$/.test(baseUrl) ? 'check the host and path' : 'add /v1?';
  return `Check "baseUrl" (${baseUrl}): it served a web page, not the OpenAI API (${hint}). The base URL is the part before /chat/completions, e.g. http://localhost:8000/v1.`;
}

/** What a server's refusal means for the run: the one reading of status + body, for HTTP errors and 200-with-error alike. */
export interface ServerFailure {
  readonly action: 'retry' | 'row' | 'model';
  readonly kind: string;
  readonly fix?: string;
  readonly retryAfterMs?: number;
}

/** Where the failing request went, to write fixes that say what to change. */
export interface RequestPlace {
  readonly name?: string;
  readonly baseUrl?: string;
  /** The model id sent. */
  readonly model?: string;
}

const ENDPOINT_MISSING = /unexpected endpoint|unknown endpoint|no such (route|endpoint)|route not found|no route (for|matches)|cannot (post|get) \/|404 page not found|invalid url \((post|get)|endpoint not found|path not found|not found: \/|the requested url was not found/i;
const AUTH_WORDS = /api[_ ]?key[_ ]not[_ ]valid|api_key_invalid|api_key_expired|api key expired|invalid[_ ]api[_ ]key|incorrect api key|invalid (x-)?api-key|invalid authentication|invalid_authentication|unauthenticated|unauthori[sz]ed|missing (an |the )?(api )?key|no (auth|api) (credentials|key)|access denied due to invalid subscription key|invalid subscription key|authentication (failed|required|error)|invalid token|token (has )?expired|user not found|permission_denied/i;
const CONTEXT_WORDS = /context[_ ]length|maximum context|context window|exceeds? (the )?(available )?context( size)?|exceed_context_size|\bn_ctx\b|too many (input )?tokens|prompt is too long|input is too (long|large)|tokens \+ `?max_new_tokens`? must be|must have less than \d+ tokens|reduce the length of the messages|maximum (input|prompt) length/i;
const MODEL_MISSING = /model[^.]{0,120}(does not exist|not found|is not a valid model|not available|is not supported|unknown)|model_not_found|deploymentnotfound|deployment for this resource does not exist|no models? (is )?loaded|unknown model|invalid model|no (such|matching) model|try pulling it first/i;
const RATE_WORDS = /rate.?limit|too many requests|resource_exhausted|quota exceeded for metric|per (minute|second|hour|day)|requests per|tokens per|perminute|perday|perhour|retry (in|after)|try again in|slow down/i;
const TRANSIENT_WORDS = /overloaded|temporarily unavailable|service unavailable|loading model|model is loading|currently loading|server is busy|capacity|try again later|bad gateway|gateway timeout|upstream/i;

/**
 * The one classifier of a server's refusal by its status (undefined for a 200 whose body is an error)
 * and its words, across OpenAI, Azure, Gemini, OpenRouter, vLLM, Ollama, LM Studio, llama.cpp and TGI.
 * Order matters: a missing endpoint, a bad key and no credit stop the model; a context-size error is
 * this row's (never retried, whatever its status); rate limits and transient errors are retried.
 */
export function classifyServerError(status: number | undefined, reason: ErrorReason, place: RequestPlace = {}, headerRetryAfterMs?: number): ServerFailure {
  const message = reason.message ?? '';
  const words = `${message} ${reason.code ?? ''} ${reason.type ?? ''} ${reason.details ?? ''}`;
  const code = status ?? numericCode(reason);
  const retryAfterMs = headerRetryAfterMs ?? reason.retryAfterMs;
  const name = place.name ?? 'the model';
  if (reason.html) return { action: 'model', kind: 'not-api', fix: notApiFix(place.baseUrl ?? 'the endpoint') };
  if (ENDPOINT_MISSING.test(message)) return { action: 'model', kind: 'not-api', fix: endpointFix(place.baseUrl) };
  if (code === 401 || code === 403 || AUTH_WORDS.test(words)) return { action: 'model', kind: 'auth' };
  if (code === 402 || (isQuotaExhausted(reason) && !isRateLimitQuota(reason, retryAfterMs))) {
    return { action: 'model', kind: 'quota', fix: 'The account behind the key has no credit left ("insufficient_quota"): add credit or billing at the provider, or use another key; retrying will not help.' };
  }
  if (CONTEXT_WORDS.test(words)) {
    return { action: 'row', kind: 'context-length', fix: `The prompt and answer do not fit the model's context: shorten this row's input, give the server a larger context (llama.cpp -c / --ctx-size, vLLM --max-model-len, Ollama num_ctx), or lower "maxTokens" of "${name}".` };
  }
  const parameter = code === 400 || code === 422 || code === undefined ? unsupportedParameter(reason) : undefined;
  if (parameter) return { action: 'model', kind: 'unsupported-parameter', fix: unsupportedParameterFix(name, parameter) };
  if (code === 404 || MODEL_MISSING.test(words)) {
    return { action: 'model', kind: 'not-found', fix: notFoundFix(place, MODEL_MISSING.test(words)) };
  }
  // A status or code that says "bad request" outweighs words such as "overloaded" in its message.
  const unsaid = code === undefined || code >= 500;
  if (code === 429 || (unsaid && RATE_WORDS.test(words))) return { action: 'retry', kind: 'rate-limit', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  if (code === 408 || code === 409 || (code !== undefined && code >= 500) || (code === undefined && (TRANSIENT_CODES.test(`${reason.code ?? ''} ${reason.type ?? ''}`) || TRANSIENT_WORDS.test(message)))) {
    return { action: 'retry', kind: 'server', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  return status === undefined ? { action: 'row', kind: 'server-error' } : { action: 'row', kind: 'request' };
}

/**
 * Gemini says "You exceeded your current quota" for its per-minute and per-day limits too: with a
 * retry delay, a per-minute/day quota id or RESOURCE_EXHAUSTED and no billing words it is a rate
 * limit, not an empty account. A limit of 0 (the model is not in the plan at all) is no quota.
 */
function isRateLimitQuota(reason: ErrorReason, retryAfterMs: number | undefined): boolean {
  const words = `${reason.message ?? ''} ${reason.details ?? ''} ${reason.type ?? ''}`;
  if (/insufficient_quota|billing_hard_limit/i.test(`${reason.code ?? ''} ${reason.type ?? ''}`)) return false;
  if (/\blimit:\s*0\b/i.test(words)) return false;
  return retryAfterMs !== undefined || /per ?(minute|second|hour|day)|resource_exhausted|quota exceeded for metric|rate.?limit/i.test(words);
}

/** The fix for a path that is not the API (LM Studio's "Unexpected endpoint", a router's 404 page). */
export function endpointFix(baseUrl: string | undefined): string {
  const path = pathOf(baseUrl);
  if (path !== undefined && /\/chat\/completions\/?$/.test(path)) return 'Remove "/chat/completions" from "baseUrl": the base URL is the part before it, e.g. http://localhost:1234/v1.';
  if (path !== undefined && !/\/v\d+[a-z]*(\/|$)|\/openai(\/|$)/.test(path)) return `The server has no chat-completions endpoint at this path: add /v1 to "baseUrl" (e.g. ${originOf(baseUrl)}${path.replace(/\/+$/, '')}/v1).`;
  return 'The server has no chat-completions endpoint at this path: check the path of "baseUrl" (the part before /chat/completions, e.g. http://localhost:1234/v1).';
}

/** The fix for a 404, from what the URL and the message say (an Azure URL gets Azure's shape). */
export function notFoundFix(place: RequestPlace, modelNamed: boolean): string {
  const name = place.name ?? 'the model';
  let url: URL | undefined;
  try {
    url = place.baseUrl ? new URL(place.baseUrl) : undefined;
  } catch {
    url = undefined;
  }
  const azure = url && (/\.(openai\.azure\.com|cognitiveservices\.azure\.com|services\.ai\.azure\.com)$/i.test(url.hostname) || url.searchParams.has('api-version') || /^\/openai(\/|$)/.test(url.pathname));
  if (url && azure) {
    if (!/\/openai\/(deployments\/[^/]+|v1)\/?$/.test(url.pathname.replace(/\/chat\/completions\/?$/, ''))) {
      return `Azure OpenAI needs the deployment in the path: set "baseUrl" to ${url.protocol}//${url.host}/openai/deployments/<your deployment>?api-version=${url.searchParams.get('api-version') ?? '2024-10-21'} (or ${url.protocol}//${url.host}/openai/v1).`;
    }
    if (!url.searchParams.has('api-version') && !/\/openai\/v1\/?$/.test(url.pathname)) return `Azure OpenAI needs an API version: add ?api-version=2024-10-21 to "baseUrl" of "${name}".`;
    return `Check the deployment name in "baseUrl" of "${name}" (Azure answers 404 for a deployment that does not exist) and that the api-version is one Azure supports.`;
  }
  const id = place.model !== undefined ? ` ("${place.model}")` : '';
  if (modelNamed) return `The server does not serve the model "${name}" asks for: check "model"${id} of "${name}" against the server's model list (pisar-review check-models), or load/pull it on the server.`;
  const path = pathOf(place.baseUrl);
  if (path !== undefined && !/\/v\d+[a-z]*(\/|$)/.test(path)) return `The server answered 404 for ${path.replace(/\/+$/, '')}/chat/completions: add /v1 to "baseUrl" of "${name}" if the server serves the API under /v1, else check "model"${id}.`;
  return `The server answered 404: check "model"${id} of "${name}" and the path of its "baseUrl" (the part before /chat/completions).`;
}

function pathOf(baseUrl: string | undefined): string | undefined {
  try {
    return baseUrl ? new URL(baseUrl).pathname : undefined;
  } catch {
    return undefined;
  }
}

function originOf(baseUrl: string | undefined): string {
  try {
    return baseUrl ? new URL(baseUrl).origin : '';
  } catch {
    return '';
  }
}
