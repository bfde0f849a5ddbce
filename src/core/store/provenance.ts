// Where a stored result came from. Each line this installation writes carries an HMAC made with a secret
// key kept outside any dataset folder (the user's config directory); a line without a valid one (written
// elsewhere, edited, forged, or by an older version) was read "from the file": shown, never counted.
import { isUtf8 } from 'node:buffer';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Marks a record read with a valid MAC (or written by this process). A symbol: JSON can never set it. */
// Symbol.for: the editor's two bundles (dist/extension.js holds the stores, dist/engine.js the runner) each have their
// own copy of this module, and a mark one sets must read the same in the other.
export const SCORED_HERE: unique symbol = Symbol.for('pisar-review.scoredHere') as typeof SCORED_HERE;

/** The hashes and the embedding model a result was computed from. */
export interface ResultOrigin {
  /** First 16 hex digits of the SHA-256 of the output text scored. */
  outputHash?: string;
  /** First 16 hex digits of the SHA-256 of the reference text scored against. */
  referenceHash?: string;
  /** The embedding model that made `score`: id, dtype and weights hash (see ScorerIdentity). */
  embedding?: EmbeddingOrigin;
  /** Set on a result scored here whose output text was read from the file (not called here, not the row's own). */
  outputFrom?: 'file';
  /** HMAC-SHA256 (first 32 hex digits) of the rest of the line under this installation's key. */
  mac?: string;
}

export interface EmbeddingOrigin {
  id: string;
  dtype?: string;
  weights?: string;
}

/** A scorer's identity as stored beside a score: id, dtype and weights only. */
export function embeddingOriginOf(identity: EmbeddingOrigin | undefined): EmbeddingOrigin | undefined {
  return identity ? { id: identity.id, ...(identity.dtype ? { dtype: identity.dtype } : {}), ...(identity.weights ? { weights: identity.weights } : {}) } : undefined;
}

/** A text's hash as stored beside a score. */
export function textDigest(text: string): string {
  // The first bytes in hex, not a slice of the hex: a slice keeps the whole 64-character digest alive with each result.
  return crypto.createHash('sha256').update(text, 'utf8').digest().toString('hex', 0, 8);
}

/** The hash of what a score was made against: the reference, or the list of references as JSON when there are several. */
export function referencesDigest(references: readonly string[]): string {
  return textDigest(references.length === 1 ? references[0] : JSON.stringify(references));
}

/** Where this installation's key lives: the user's config directory, never a dataset folder. */
export function installationKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PISAR_REVIEW_KEY_FILE) return env.PISAR_REVIEW_KEY_FILE;
  const base = process.platform === 'win32' && env.APPDATA ? env.APPDATA
    : process.platform === 'darwin' ? path.join(os.homedir(), 'Library', 'Application Support')
      : env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'pisar-review', 'results.key');
}

const keys = new Map<string, Buffer | null>();

/**
 * This installation's secret (32 random bytes, created on first use, mode 0600). Null when it can be
 * neither read nor made (a read-only home): then nothing verifies and every line reads "from the file".
 */
export function installationKey(file = installationKeyFile()): Buffer | null {
  const known = keys.get(file);
  if (known !== undefined) return known;
  let key: Buffer | null = null;
  try {
    key = readKey(file);
    if (!key) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      try {
        fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { flag: 'wx', mode: 0o600 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process made it first: use theirs
      }
      key = readKey(file);
    }
  } catch {
    key = null;
  }
  keys.set(file, key);
  return key;
}

function readKey(file: string): Buffer | null {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return /^[0-9a-f]{64}$/.test(text) ? Buffer.from(text, 'hex') : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The MAC of a record: over its JSON without `mac` (JSON.parse keeps the key order it was written in). */
function macOf(record: object, key: Buffer): string {
  const { mac: _mac, ...rest } = record as { mac?: unknown };
  return hmacOf(JSON.stringify(rest), key);
}

/** Signs a record about to be appended (sets `mac`, in place) and marks it as scored here. */
export function signRecord<T extends object>(record: T & { mac?: string }, key = installationKey()): void {
  delete record.mac;
  if (!key) return;
  record.mac = macOf(record, key);
  markScoredHere(record);
}

/**
 * Marks a record read from a sidecar as scored here when its MAC is this installation's and it names no outside output.
 * `line`, the text the record was parsed from: when it ends in the `"mac"` this installation writes last, the MAC is
 * checked over the line's own text before it (what was signed, JSON.stringify of the rest), not over a copy made again.
 */
export function verifyRecord(record: object & { mac?: unknown; outputFrom?: unknown }, key = installationKey(), line?: string): void {
  if (hasValidMac(record, key, line)) markScoredHere(record);
}

/**
 * Whether the record's MAC is this installation's (see verifyRecord); nothing is marked. `tailVerified`: tailMacVerdicts
 * found `line`'s own tail MAC valid under `key` (on another thread): only whether the record's MAC is that tail's is left to check.
 */
export function hasValidMac(record: object & { mac?: unknown }, key = installationKey(), line?: string, tailVerified = false): boolean {
  if (!key || typeof record.mac !== 'string' || record.mac.length !== 32) return false;
  if (tailVerified && line !== undefined && line.length > MAC_TAIL_BYTES + 1 && line.slice(-MAC_TAIL_BYTES + MAC_TAIL_HEAD.length, -2) === record.mac) return true;
  const signed = line !== undefined ? signedText(line, record.mac) : undefined;
  return (signed !== undefined && sameMac(hmacOf(signed, key), record.mac)) || sameMac(macOf(record, key), record.mac);
}

/** `{…,"mac":"<mac>"}` as signRecord's line ends: the text signed (`{…}`); else undefined. */
function signedText(line: string, mac: string): string | undefined {
  const tail = `,"mac":"${mac}"}`;
  return line.length > tail.length + 1 && line.endsWith(tail) ? `${line.slice(0, line.length - tail.length)}}` : undefined;
}

/** Bytes of the tail signRecord's line ends in: `,"mac":"` (8), the 32 hex digits, `"}` (2). */
const MAC_TAIL_BYTES = 42;
const MAC_TAIL_HEAD = Buffer.from(',"mac":"', 'latin1');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE = 0x7d;

/**
 * hasValidMac's check of the signed text, on bytes, for each line of `bytes` (whole lines, each ended by a newline; a
 * carriage return before it is not part of the line, as readSidecar reads them): 1 where the line ends in
 * `,"mac":"<32 ASCII characters>"}` and those are the HMAC of the text before the tail closed by `}` under `key`, else 0
 * (not shown: the caller checks that line itself). A line that is not UTF-8 is 0: its text as read is not its bytes.
 * What another thread runs while the caller parses the lines (src/core/store/macCheck.ts), on bytes that are its own:
 * each line's tail comma is made the `}` the signed text ends in while its HMAC is taken, and put back.
 */
export function tailMacVerdicts(bytes: Uint8Array, key: Buffer): Uint8Array {
  let lines = 0;
  for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) lines++;
  const verdicts = new Uint8Array(lines);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 0;
  for (let k = 0; k < lines; k++) {
    const newline = view.indexOf(NEWLINE, start);
    const end = newline > start && view[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline;
    verdicts[k] = tailMacValid(view, start, end, key) ? 1 : 0;
    start = newline + 1;
  }
  return verdicts;
}

function tailMacValid(view: Buffer, start: number, end: number, key: Buffer): boolean {
  const tail = end - MAC_TAIL_BYTES;
  if (end - start <= MAC_TAIL_BYTES + 1 || view[end - 1] !== CLOSE || view[end - 2] !== QUOTE) return false;
  if (view.compare(MAC_TAIL_HEAD, 0, MAC_TAIL_HEAD.length, tail, tail + MAC_TAIL_HEAD.length) !== 0) return false;
  for (let i = tail + MAC_TAIL_HEAD.length; i < end - 2; i++) {
    const b = view[i];
    if (b >= 0x80 || b === QUOTE || b === BACKSLASH) return false;
  }
  if (!isUtf8(view.subarray(start, end))) return false;
  // One update over the text and its closing brace, and the digest read against the hex digits where they are: a
  // million lines made two strings and two updates each (a fifth of the worker's time with its garbage).
  view[tail] = CLOSE;
  const digest = crypto.createHmac('sha256', key).update(view.subarray(start, tail + 1)).digest();
  view[tail] = COMMA;
  return isHexOf(digest, view, tail + MAC_TAIL_HEAD.length);
}

/** Whether the 32 lower-case hex digits at `view[at..]` spell the first 16 bytes of `digest` (what toString('hex', 0, 16) writes). */
function isHexOf(digest: Buffer, view: Buffer, at: number): boolean {
  for (let i = 0; i < MAC_BYTES; i++) {
    const high = HEX_VALUE[view[at + 2 * i]];
    const low = HEX_VALUE[view[at + 2 * i + 1]];
    if (high < 0 || low < 0 || ((high << 4) | low) !== digest[i]) return false;
  }
  return true;
}

/** Bytes of a MAC: the 32 hex digits of hmacOf. */
const MAC_BYTES = 16;
const COMMA = 0x2c;
/** A byte's value as a lower-case hex digit, or -1. */
const HEX_VALUE = Int8Array.from({ length: 256 }, (_, b) => (b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x61 && b <= 0x66 ? b - 0x61 + 10 : -1));

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

function hmacOf(text: string, key: Buffer): string {
  return crypto.createHmac('sha256', key).update(text).digest().toString('hex', 0, 16);
}

/** Equal MACs, compared in time that does not depend on where they differ (as timingSafeEqual, without two buffers a line). */
function sameMac(expected: string, mac: string): boolean {
  if (expected.length !== mac.length) return false;
  let difference = 0;
  for (let i = 0; i < expected.length; i++) difference |= expected.charCodeAt(i) ^ mac.charCodeAt(i);
  return difference === 0;
}

/** Marks a record as scored here (its MAC checked, or written by this process). */
export function markScoredHere(record: object): void {
  Object.defineProperty(record, SCORED_HERE, MARK);
}
const MARK: PropertyDescriptor = { value: true, enumerable: false, configurable: true };

/**
 * A new empty record that reads as scored here (isVerified) through its prototype: a result made again from numbers
 * (the results store's columns) two million times costs no defineProperty each. As with markScoredHere the mark is no
 * own enumerable key: spreads, Object.keys and JSON leave it out alike.
 */
export function scoredHereRecord(): Record<string, unknown> {
  return Object.create(SCORED_HERE_PROTOTYPE) as Record<string, unknown>;
}
const SCORED_HERE_PROTOTYPE: object = Object.defineProperty({}, SCORED_HERE, { value: true, enumerable: false });

/** True for a line this installation wrote (valid MAC), whatever its output came from. */
export function isVerified(record: object): boolean {
  return (record as { [SCORED_HERE]?: boolean })[SCORED_HERE] === true;
}

/** The embedding model a stored score was made by differs from `current` in id, dtype or weights (where both tell). */
export function otherEmbedding(stored: EmbeddingOrigin | undefined, current: EmbeddingOrigin | undefined): boolean {
  if (!stored || !current) return false;
  return stored.id !== current.id || (stored.dtype ?? '') !== (current.dtype ?? '') || (stored.weights !== undefined && current.weights !== undefined && stored.weights !== current.weights);
}

/**
 * True for a result this installation computed (valid MAC) from an output it called or took from the
 * dataset row: the only results any number counts. Everything else was read "from the file".
 */
export function isScoredHere(record: object & { outputFrom?: unknown }): boolean {
  return isVerified(record) && record.outputFrom === undefined;
}
