import { OpenAI } from 'openai';

/**
 * What the OpenAI-compatible servers people run actually answer, read without losing the reason:
 * error bodies in every dialect (OpenAI, vLLM, Ollama, OpenRouter, FastAPI, HTML pages, plain text),
 * 200 answers that are errors, finish reasons, content as text parts, reasoning-only answers and
 * `<think>` blocks. Pure functions over the parsed body; the runner decides what to do with them.
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

/**
 * The openai client, keeping each error's whole body: the SDK reads only `body.error`, so a vLLM
 * `{"object":"error","message":..}` would lose its reason ("400 status code (no body)").
 */
export class ReviewClient extends OpenAI {
  protected override makeStatusError(status: number, error: object, message: string | undefined, headers: Headers) {
    const err = super.makeStatusError(status, error, message, headers);
    rawBodies.set(err, error ?? message);
    return err;
  }
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

function clip(text: string): string {
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

function tryJson(text: string): unknown {
  if (!/^[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An error body's code or type as an HTTP-like status, when it is one (OpenRouter puts 429/502 in `code`). */
function numericCode(reason: ErrorReason): number | undefined {
  const n = typeof reason.code === 'number' ? reason.code : typeof reason.code === 'string' && /^\d{3}$/.test(reason.code) ? Number(reason.code) : undefined;
  return n !== undefined && n >= 100 && n <= 599 ? n : undefined;
}

const TRANSIENT_CODES = /rate.?limit|overload|timeout|timed.?out|unavailable|server.?error|internal|busy|capacity|try again/i;

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

/** A 2xx body that carries an error instead of an answer (OpenRouter, some proxies, vLLM behind a gateway). */
function bodyError(body: Record<string, unknown>): ResponseError | undefined {
  const isError = (body.error !== undefined && body.error !== null && !Array.isArray(body.choices)) || body.object === 'error';
  if (!isError) return undefined;
  const reason = errorReason(body);
  const status = numericCode(reason);
  const message = `the server answered 200 with an error${status ? ` (code ${status})` : ''}: ${reason.message ?? 'no message'}`;
  if (isQuotaExhausted(reason) || status === 402) return new ResponseError('quota', message, 'model', 'The account behind the key has no credit left: add credit or billing at the provider, or use another key; retrying will not help.', status);
  if (status === 401 || status === 403) return new ResponseError('auth', message, 'model', undefined, status);
  if (status === 429 || status === 408 || (status !== undefined && status >= 500) || TRANSIENT_CODES.test(`${reason.code ?? ''} ${reason.type ?? ''}`)) {
    return new ResponseError(status === 429 ? 'rate-limit' : 'server', message, 'retry', undefined, status);
  }
  return new ResponseError('server-error', message, 'row', undefined, status);
}

export interface ParsedAnswer {
  /** The answer's text as the model wrote it (text parts joined). */
  readonly text: string;
  readonly finishReason?: string;
  readonly usage?: { promptTokens?: number; completionTokens?: number };
}

/** The text of a message's content: a string, or a list of text parts (Mistral, some proxies). */
export function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') texts.push(part);
    else if (part && typeof part === 'object') {
      const p = part as { type?: unknown; text?: unknown };
      // Skip thinking/reasoning/image parts: only the answer is scored.
      if ((p.type === undefined || p.type === 'text' || p.type === 'output_text') && typeof p.text === 'string') texts.push(p.text);
    }
  }
  return texts.join('');
}

/**
 * Reads one chat-completions body (a parsed JSON object, or text when the server did not say JSON).
 * Throws ResponseError for every body that is not an answer, naming why.
 */
export function parseChatResponse(response: unknown): ParsedAnswer {
  let body = response;
  if (typeof body === 'string') {
    const parsed = tryJson(body.trim());
    if (parsed === undefined) {
      if (looksLikeHtml(body)) throw notApi(errorReason(body).message ?? 'an HTML page');
      throw new ResponseError('malformed', `the response is not JSON: ${body.trim() === '' ? '(empty body)' : `"${clip(body)}"`}`, 'row');
    }
    body = parsed;
  }
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ResponseError('malformed', `the response is ${body === undefined || body === null ? 'empty' : `not a JSON object (${clip(JSON.stringify(body))})`}`, 'row');
  }
  const obj = body as Record<string, unknown>;
  const failed = bodyError(obj);
  if (failed) throw failed;
  const choices = obj.choices;
  if (!Array.isArray(choices)) throw new ResponseError('malformed', `the response has no "choices" list (it has ${Object.keys(obj).slice(0, 8).map((k) => `"${k}"`).join(', ') || 'no fields'})`, 'row');
  if (choices.length === 0) throw new ResponseError('empty-choices', 'the response has an empty "choices" list (no answer)', 'row');
  const choice = (choices[0] ?? {}) as { message?: Record<string, unknown>; finish_reason?: unknown; error?: unknown };
  const message = choice.message ?? {};
  const finishReason = typeof choice.finish_reason === 'string' ? choice.finish_reason : undefined;

  if (finishReason === 'error') {
    const reason = errorReason({ error: choice.error ?? obj.error ?? 'no reason given' });
    throw new ResponseError('finish-error', `the provider ended the answer with finish_reason "error": ${reason.message ?? 'no reason given'}`, 'retry');
  }
  if (finishReason === 'content_filter') {
    throw new ResponseError('content-filter', 'the provider\'s content filter withheld the answer (finish_reason "content_filter"); it was not stored as output', 'row');
  }
  const text = contentText(message.content);
  const reasoning = [message.reasoning_content, message.reasoning].find((r) => typeof r === 'string' && r.trim() !== '') as string | undefined;
  if (text === undefined || (text.trim() === '' && (reasoning !== undefined || finishReason === 'length'))) {
    if (reasoning !== undefined) {
      throw new ResponseError('reasoning-only', `the model returned only its reasoning ("reasoning_content") and no answer${finishReason === 'length' ? ': it was cut off while thinking, raise maxTokens' : ''}`, 'row');
    }
    if (finishReason === 'length') throw cutOff();
    if (typeof message.refusal === 'string') throw new ResponseError('refusal', `the model refused: ${clip(message.refusal)}`, 'row');
    if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) throw new ResponseError('malformed', 'the model answered with a tool call, not text', 'row');
    throw new ResponseError('malformed', `the first choice has no message content${message.content === null ? ' ("content": null)' : ''}`, 'row');
  }
  const usage = obj.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  const answer: { -readonly [K in keyof ParsedAnswer]: ParsedAnswer[K] } = { text };
  if (finishReason) answer.finishReason = finishReason;
  if (usage && (typeof usage.prompt_tokens === 'number' || typeof usage.completion_tokens === 'number')) {
    answer.usage = {
      ...(typeof usage.prompt_tokens === 'number' ? { promptTokens: usage.prompt_tokens } : {}),
      ...(typeof usage.completion_tokens === 'number' ? { completionTokens: usage.completion_tokens } : {}),
    };
  }
  return answer;
}

function cutOff(whileThinking = false): ResponseError {
  return new ResponseError('cut-off', `the answer was cut off ${whileThinking ? 'while the model was still thinking' : 'before any text'} (finish_reason "length"): raise maxTokens`, 'row');
}

function notApi(what: string): ResponseError {
  return new ResponseError('not-api', `the server answered with ${what}`, 'model');
}

/** The fix for a baseUrl that serves a web page instead of the API. */
export function notApiFix(baseUrl: string): string {
  const hint = /\/v\d+\/?$/.test(baseUrl) ? 'check the host and path' : 'add /v1?';
  return `Check "baseUrl" (${baseUrl}): it served a web page, not the OpenAI API (${hint}). The base URL is the part before /chat/completions, e.g. http://localhost:8000/v1.`;
}

const THINK_BLOCK = /<(think|thinking|reasoning)>[\s\S]*?<\/\1>/gi;
const UNCLOSED_START = /<(think|thinking|reasoning)>[\s\S]*$/i;
const CLOSE_ONLY = /^[\s\S]*?<\/(think|thinking|reasoning)>/i;

/**
 * The answer without its `<think>` blocks (reasoning models write them into content). Handles an
 * unclosed block (cut off while thinking) and a close tag without an open one (templates that put
 * `<think>` in the prompt). Returns the text unchanged when it has none.
 */
export function stripThinking(text: string): { text: string; hadThinking: boolean } {
  if (!/<\/?(think|thinking|reasoning)>/i.test(text)) return { text, hadThinking: false };
  let out = text.replace(THINK_BLOCK, '');
  if (CLOSE_ONLY.test(out) && !/<(think|thinking|reasoning)>/i.test(out.slice(0, out.search(/<\/(think|thinking|reasoning)>/i)))) out = out.replace(CLOSE_ONLY, '');
  out = out.replace(UNCLOSED_START, '');
  return { text: out.trim(), hadThinking: true };
}

/**
 * What is stored and scored for an answer: without `<think>` blocks unless the model keeps them;
 * the raw text rides along when it differs. Throws ResponseError when only thinking was left.
 */
export function visibleAnswer(raw: string, keepThinking: boolean | undefined, finishReason?: string): { output: string; rawOutput?: string } {
  if (keepThinking) return { output: raw };
  const { text, hadThinking } = stripThinking(raw);
  if (!hadThinking) return { output: raw };
  if (text === '') {
    if (finishReason === 'length') throw cutOff(true);
    throw new ResponseError('reasoning-only', 'the model returned only a <think> block and no answer (set "keepThinking": true on the model to score it anyway)', 'row');
  }
  return { output: text, rawOutput: raw };
}
