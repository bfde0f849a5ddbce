/**
 * The `fetch` every OpenAI client of the product uses (chat runner and remote embedder). It is the one
 * place that decides what a server may make us do:
 * - a redirect to another origin is never followed (a 307/308 would POST the prompt there, a 301/302
 *   would have its page stored as the output); it fails with the target named;
 * - the deadline covers the whole response, body included (a body dripping one byte a second does
 *   not outlive it);
 * - the body is capped (a 1 GiB answer fails the row with kind `too-large` instead of filling memory);
 * - a key the server echoes back (in an answer or an error) is masked before anything reads the body.
 */

import { redactKnownSecrets } from '../security/redact';

/** Largest response body read by default (bytes, after decompression). */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Same-origin redirects followed at most (e.g. a trailing-slash redirect). */
const MAX_REDIRECTS = 5;

export type TransportFailureKind = 'too-large' | 'redirect' | 'timeout';

/** A response the transport refused; `kind` is stored as the row's error kind. */
export class TransportError extends Error {
  constructor(readonly kind: TransportFailureKind, message: string) {
    super(message);
    // openai maps an AbortError to APIConnectionTimeoutError: our deadline is a timeout like its own.
    this.name = kind === 'timeout' ? 'AbortError' : 'TransportError';
  }
}

export interface TransportOptions {
  /** Deadline for one request, from sending to the last byte of the body. */
  readonly timeoutMs: number;
  /** Cap on the body (bytes); default DEFAULT_MAX_RESPONSE_BYTES. */
  readonly maxResponseBytes?: number;
  /** The fetch to wrap (default: the global one). */
  readonly fetch?: typeof fetch;
}

/** The TransportError in `err` or its causes (openai wraps fetch errors in APIConnectionError). */
export function transportErrorOf(err: unknown): TransportError | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof TransportError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function guardedFetch(options: TransportOptions): typeof fetch {
  const inner = options.fetch ?? globalThis.fetch;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  return async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new TransportError('timeout', `no complete response within ${options.timeoutMs} ms (timeoutMs)`)),
      options.timeoutMs,
    );
    const signal = init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal;
    try {
      let url = new URL(input instanceof Request ? input.url : String(input));
      const origin = url.origin;
      let request: RequestInit = { ...init, signal, redirect: 'manual' };
      for (let hop = 0; ; hop++) {
        const response = await inner(url, request);
        if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
          await response.body?.cancel().catch(() => undefined);
          const target = new URL(response.headers.get('location')!, url);
          if (target.origin !== origin) {
            throw new TransportError('redirect', `${origin} answered HTTP ${response.status} redirecting to ${target.origin}${target.pathname}, another origin; PiSAR Review never follows a redirect to another origin (the prompt and key stay with the configured server). Set "baseUrl" to the server that should answer`);
          }
          if (hop >= MAX_REDIRECTS) throw new TransportError('redirect', `${origin} redirected more than ${MAX_REDIRECTS} times; check "baseUrl"`);
          // 303, and 301/302 after a POST, become a GET without a body (as browsers do); 307/308 repeat the request.
          if (response.status === 303 || ((response.status === 301 || response.status === 302) && request.method?.toUpperCase() === 'POST')) {
            request = { ...request, method: 'GET', body: undefined };
          }
          url = target;
          continue;
        }
        return await buffered(response, maxBytes, url.origin, signal);
      }
    } catch (err) {
      // An abort by our deadline surfaces as the deadline's reason, whatever undici wrapped it in.
      if (deadline.signal.aborted && !init.signal?.aborted) throw deadline.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The response with its whole body read (within the deadline and the cap) into memory. */
async function buffered(response: Response, maxBytes: number, origin: string, signal: AbortSignal): Promise<Response> {
  const tooLarge = (size: string) =>
    new TransportError('too-large', `${origin} sent a response body of ${size}, over the ${formatBytes(maxBytes)} limit; it was not read. Raise "maxResponseBytes" if such answers are expected`);
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes && !response.headers.has('content-encoding')) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(formatBytes(declared));
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    const reader = response.body.getReader();
    const onAbort = () => void reader.cancel(signal.reason).catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        const { done, value } = await reader.read();
        if (signal.aborted) throw signal.reason;
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge(`more than ${formatBytes(maxBytes)}`);
        }
        chunks.push(value);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
  // A server that echoes the key (in an answer or an error) hands back no key: every string from here on is clean.
  const bytes = maskKnownSecrets(Buffer.concat(chunks));
  const headers = new Headers(response.headers);
  // The body below is already decoded and whole.
  headers.delete('content-encoding');
  headers.delete('content-length');
  const body = response.status === 204 || response.status === 304 ? null : bytes;
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

function maskKnownSecrets(body: Buffer): Buffer {
  if (body.length === 0) return body;
  const text = body.toString('utf8');
  const masked = redactKnownSecrets(text);
  return masked === text ? body : Buffer.from(masked, 'utf8');
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
}
