import { OpenAI } from 'openai';
import { rememberSecret } from '../security/redact';
import { keepRawErrorBody } from './errors';
import { guardedFetch } from './transport';

/**
 * The openai client, keeping each error's whole body: the SDK reads only `body.error`, so a vLLM
 * `{"object":"error","message":..}` would lose its reason ("400 status code (no body)").
 */
class ReviewClient extends OpenAI {
  protected override makeStatusError(status: number, error: object, message: string | undefined, headers: Headers) {
    const err = super.makeStatusError(status, error, message, headers);
    keepRawErrorBody(err, error ?? message);
    return err;
  }
}

export interface OpenAIClientOptions {
  readonly baseUrl: string;
  /** The key, sent as a Bearer token; none means no Authorization header at all (local vLLM / Ollama). */
  readonly apiKey?: string;
  /** Extra headers from the config (already checked to carry no credentials). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Deadline for a whole response, body included. */
  readonly timeoutMs: number;
  /** Cap on a response body, in bytes. */
  readonly maxResponseBytes?: number;
}

/**
 * The one way the product makes an OpenAI client (chat runner and remote embedder alike): no retries
 * of its own (the callers have the one retry layer), nothing read from the environment (no
 * OPENAI_API_KEY / OPENAI_ADMIN_KEY / OPENAI_ORG_ID / OPENAI_PROJECT_ID / OPENAI_CUSTOM_HEADERS sent to a stranger's endpoint), no placeholder
 * key, no logging, and every request through the guarded transport (no cross-origin redirect, whole
 * response deadline, size cap).
 */
export function createOpenAIClient(options: OpenAIClientOptions): OpenAI {
  const headers: Record<string, string | null> = {};
  // The library adds headers named in OPENAI_CUSTOM_HEADERS to every request: a null removes each one.
  for (const line of (process.env.OPENAI_CUSTOM_HEADERS ?? '').split('\n')) {
    const name = line.slice(0, line.indexOf(':')).trim();
    if (line.includes(':') && name) headers[name] = null;
  }
  Object.assign(headers, options.headers ?? {});
  if (options.apiKey) rememberSecret(options.apiKey);
  // The library insists on a key; with none, the placeholder is never sent: the header is removed.
  else headers.Authorization = null;
  const { base, query } = splitBaseUrl(options.baseUrl);
  return new ReviewClient({
    apiKey: options.apiKey || 'unused',
    baseURL: base,
    // Azure's documented URL carries ?api-version=: a query stays a query on every request, after the path.
    ...(query ? { defaultQuery: query } : {}),
    adminAPIKey: null, // else OPENAI_ADMIN_KEY from the environment replaces the Bearer token
    organization: null,
    project: null,
    webhookSecret: null,
    maxRetries: 0,
    timeout: options.timeoutMs,
    defaultHeaders: headers,
    logLevel: 'off',
    fetch: guardedFetch({ timeoutMs: options.timeoutMs, maxResponseBytes: options.maxResponseBytes }),
  });
}

/**
 * A baseUrl as the library needs it: the path without a trailing slash, and its query apart (the
 * library appends paths to the base as text, so `…/gpt4?api-version=1` would become
 * `…/gpt4?api-version=1/chat/completions`). Surrounding whitespace is dropped.
 */
export function splitBaseUrl(baseUrl: string): { base: string; query?: Record<string, string> } {
  let url: URL;
  try {
    url = new URL(baseUrl.trim());
  } catch {
    return { base: baseUrl.trim() };
  }
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  if (url.search === '' || url.search === '?') return { base };
  return { base, query: Object.fromEntries(url.searchParams) };
}

/** The URL a request to `path` (e.g. "/chat/completions") is sent to, as the client builds it. */
export function requestUrl(baseUrl: string, path: string): string {
  const { base, query } = splitBaseUrl(baseUrl);
  return `${base}${path}${query ? `?${new URLSearchParams(query).toString()}` : ''}`;
}
