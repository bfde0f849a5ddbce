/**
 * Masks credentials in text bound for a log, a terminal, a sidecar or a screen. Pure: the extension's
 * log, the runner's failure messages and the CLI's stderr all go through it.
 */

export const REDACTED = '[redacted]';

// Each rule keeps what names the credential (so a reader knows what was there) and masks its value.
const RULES: readonly [RegExp, string][] = [
  // Authorization / Proxy-Authorization headers, as a header line, a JSON field or key=value.
  [/((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token)\s+)?[^\s"',;}&]+/gi, `$1${REDACTED}`],
  // Key headers and fields: api-key, x-api-key, api_key, apiKey, access_token, client_secret, ...
  [/((?:x-)?(?:api[-_]?key|access[-_]?token|refresh[-_]?token|client[-_]?secret|secret[-_]?key)["']?\s*[:=]\s*["']?)[^\s"',;}&#]+/gi, `$1${REDACTED}`],
  // Query parameters that carry keys (?key=, &token=, ?sig=); the ones above are already masked.
  [/([?&](?:key|token|sig|signature|password|auth)=)[^&#\s"']+/gi, `$1${REDACTED}`],
  // user:password@ in a URL.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@"']+:)[^\s/@"']+@/gi, `$1${REDACTED}@`],
  // Bearer tokens anywhere.
  [/\bBearer\s+(?!\[redacted\])[A-Za-z0-9._~+/=-]+/gi, `Bearer ${REDACTED}`],
  // OpenAI-style secret keys (sk-..., sk-proj-...) wherever they appear.
  [/\bsk-(?!\[redacted\])[A-Za-z0-9_-]{8,}/g, `sk-${REDACTED}`],
];

/** Known secrets shorter than this are not masked by value: they would mangle ordinary words. */
const MIN_SECRET_LENGTH = 6;

/** Keys this process has held (every client the product makes registers its key here). */
const remembered = new Set<string>();

/** Masks `secret` in every later redaction of this process, wherever the text goes. */
export function rememberSecret(secret: string | undefined): void {
  if (secret && secret.length >= MIN_SECRET_LENGTH) remembered.add(secret);
}

/**
 * `text` with anything that looks like a credential masked, and every occurrence of the given
 * `secrets` (keys the caller holds) and of every remembered key masked whatever they look like.
 */
export function redactCredentials(text: string, secrets: Iterable<string | undefined> = []): string {
  let out = text;
  // Known values first: a key that matches no pattern (e.g. a bare hex token) is still caught.
  for (const secret of secrets) {
    if (secret && secret.length >= MIN_SECRET_LENGTH) out = out.split(secret).join(REDACTED);
  }
  out = redactKnownSecrets(out);
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}

/**
 * `text` with every remembered key (and its JSON-escaped form) masked, and nothing else changed: for
 * bodies from the wire, whose other text (a model's answer) must stay as it was.
 */
export function redactKnownSecrets(text: string): string {
  let out = text;
  for (const secret of remembered) {
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) {
      if (out.includes(form)) out = out.split(form).join(REDACTED);
    }
  }
  return out;
}
