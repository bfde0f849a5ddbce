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
  if (!body || typeof body !== 'object') return {};
  const obj = body as Record<string, unknown>;
  const error = obj.error;
  if (typeof error === 'string') return { message: clip(error), ...codeOf(obj) };
  if (error && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    const message = textOf(e.message) ?? textOf(e);
    // OpenRouter puts the upstream provider's own words in metadata.raw.
    const raw = textOf((e.metadata as { raw?: unknown } | undefined)?.raw);
    return { message: raw && message && !message.includes(raw) ? `${message} (${raw})` : message, ...codeOf(e) };
  }
  if (obj.detail !== undefined) {
    const detail = obj.detail;
    const message = Array.isArray(detail)
      ? detail.map((d) => (d && typeof d === 'object' && typeof (d as { msg?: unknown }).msg === 'string' ? (d as { msg: string }).msg : JSON.stringify(d))).join('; ')
      : textOf(detail);
    return { message: message ? clip(message) : undefined, ...codeOf(obj) };
  }
  if (obj.message !== undefined) return { message: textOf(obj.message), ...codeOf(obj) };
  return { message: clip(JSON.stringify(obj)) };
}

function codeOf(obj: Record<string, unknown>): { code?: string | number; type?: string } {
  const out: { code?: string | number; type?: string } = {};
  if (typeof obj.code === 'string' || typeof obj.code === 'number') out.code = obj.code;
  if (typeof obj.type === 'string') out.type = obj.type;
  return out;
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
