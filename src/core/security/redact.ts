/**
 * Masks the credentials this process KNOWS (the keys it was given or holds) in text bound for a log, a
 * terminal, a sidecar or a screen. Pure: the extension's log, the runner's failure messages and the
 * CLI's stdout and stderr all go through it.
 *
 * It never masks by pattern: a row id holding `authorization: "`, a rationale quoting `sk-...` or
 * `Bearer ...`, a model answer mentioning `api_key=` are the user's data, and rewriting them broke
 * JSON documents and altered CSV and Markdown exports. A key is caught in every form it travels in:
 * as it is, JSON-escaped, URL-encoded, base64 (standard and URL-safe) and reversed.
 */

export const REDACTED = '[redacted]';

/** Known secrets shorter than this are not masked by value: they would mangle ordinary words. */
const MIN_SECRET_LENGTH = 6;

/** Keys this process has held (every client the product makes registers its key here). */
const remembered = new Set<string>();

/** Masks `secret` in every later redaction of this process, wherever the text goes. */
export function rememberSecret(secret: string | undefined): void {
  if (secret && secret.length >= MIN_SECRET_LENGTH) remembered.add(secret);
}

/** The forms a key takes in text: as is, JSON-escaped, URL-encoded, base64 and reversed (longest first). */
export function secretForms(secret: string): string[] {
  const base64 = Buffer.from(secret, 'utf8').toString('base64').replace(/=+$/, '');
  const forms = new Set([
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    base64,
    base64.replace(/\+/g, '-').replace(/\//g, '_'),
    [...secret].reverse().join(''),
  ]);
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

const formsCache = new Map<string, string[]>();

function formsOf(secret: string): string[] {
  let forms = formsCache.get(secret);
  if (!forms) {
    forms = secretForms(secret);
    if (formsCache.size > 256) formsCache.clear();
    formsCache.set(secret, forms);
  }
  return forms;
}

/**
 * `text` with every form of the given `secrets` (keys the caller holds) and of every remembered key
 * masked; nothing else changes.
 */
export function redactCredentials(text: string, secrets: Iterable<string | undefined> = []): string {
  let out = text;
  const all = new Set(remembered);
  for (const secret of secrets) if (secret && secret.length >= MIN_SECRET_LENGTH) all.add(secret);
  // Longest secrets first: a key that contains another key is masked whole.
  for (const secret of [...all].sort((a, b) => b.length - a.length)) {
    for (const form of formsOf(secret)) {
      if (out.includes(form)) out = out.split(form).join(REDACTED);
    }
  }
  return out;
}

/** `text` with every remembered key masked (in every form), and nothing else changed. */
export function redactKnownSecrets(text: string): string {
  return redactCredentials(text);
}
