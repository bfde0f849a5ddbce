/**
 * A byte-level reader of the simple JSONL line: one JSON object, written with plain keys (no escape in a key, no
 * key twice in one object), JSON's own whitespace, at most a few levels deep. It checks the whole line against
 * JSON's grammar and finds the line's end, and keeps where each top-level key and value lies in the bytes, so
 * the indexer decodes only the values a row's roles read, never parsing the line with JSON.parse.
 * Any line it cannot prove simple (bad JSON, a BOM, a repeated or escaped key, odd whitespace, deep nesting)
 * is left to JSON.parse and the indexer's full checks, which say what is wrong with it.
 */

/** Kinds of a top-level value. */
export const ValueKind = { String: 0, EscapedString: 1, Number: 2, True: 3, False: 4, Null: 5, Object: 6, Array: 7 } as const;
export type ValueKind = (typeof ValueKind)[keyof typeof ValueKind];

/** Deeper than this the line is left to the full reader (it reports rows nested past 64 levels). */
const MAX_DEPTH = 32;
/** Keys an object may have for the scanner (each new key is compared with the others). */
const MAX_KEYS = 64;
/** Keys of all the open objects, at most. */
const MAX_OPEN_KEYS = 512;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const CR = 0x0d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === CR;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A byte of text read as it is: printable ASCII other than the quote and the backslash. */
function isPlainByte(c: number): boolean {
  return c >= 0x20 && c < 0x80 && c !== QUOTE && c !== BACKSLASH;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

export class LineScanner {
  /** Top-level entries of the last line scanned: key span [keyStart, keyEnd) without quotes, value span, kind. */
  count = 0;
  readonly keyStart = new Int32Array(MAX_KEYS);
  readonly keyEnd = new Int32Array(MAX_KEYS);
  readonly valueStart = new Int32Array(MAX_KEYS);
  readonly valueEnd = new Int32Array(MAX_KEYS);
  readonly kind = new Uint8Array(MAX_KEYS);
  /** The line has a byte of 0x80 or more (its UTF-8 is checked apart). */
  high = false;
  /** End of the line's content: its newline, less one carriage return before it. */
  contentEnd = 0;

  // Keys of the open objects (nested ones too): spans, and where each open object's keys begin.
  private readonly openKeyStart = new Int32Array(MAX_OPEN_KEYS);
  private readonly openKeyEnd = new Int32Array(MAX_OPEN_KEYS);
  private openKeys = 0;
  private readonly frameKeys = new Int32Array(MAX_DEPTH + 1);
  /** 1 for an object, 0 for an array, per open container. */
  private readonly frameIsObject = new Uint8Array(MAX_DEPTH + 1);
  private escaped = false;
  /** The buffer last scanned, as 32-bit words from its first byte at a multiple of 4 in memory (`firstWord`). */
  private wordsOf: Uint8Array | undefined;
  private words: Int32Array = new Int32Array(0);
  private firstWord = 0;

  /** Views `buf` as words (text is read four bytes at a time). */
  private viewWords(buf: Uint8Array): void {
    const first = (4 - (buf.byteOffset & 3)) & 3;
    this.wordsOf = buf;
    this.firstWord = first;
    this.words = new Int32Array(buf.buffer, buf.byteOffset + first, Math.max(0, (buf.length - first) >> 2));
  }

  /**
   * Scans the line that starts at `start`; `buf[limit - 1]` must be a newline (a line's last one, or a later
   * line's), else -1. Returns the index of the line's newline; -1 when the line is not simple.
   */
  scan(buf: Uint8Array, start: number, limit: number): number {
    this.count = 0;
    this.high = false;
    this.openKeys = 0;
    // Text is read to its quote with no bounds check, stopping at the newline at worst: one read past the end of
    // a buffer made V8 handle every read of this loop as one that may be out of bounds (4x slower at 1 M rows).
    if (limit <= start || buf[limit - 1] !== NEWLINE) return -1;
    let i = start;
    while (i < limit && isSpace(buf[i])) i++;
    if (i >= limit || buf[i] !== 0x7b) return -1;
    let depth = 0;
    // What comes next: 0 a value, 1 a key or the object's end (just after '{'), 2 a ',' or the container's end,
    // 3 a key (after ',' in an object), 4 a value or the array's end (just after '[').
    let expect = 0;
    let topKey = -1;
    for (;;) {
      while (i < limit && isSpace(buf[i])) i++;
      if (i >= limit) return -1;
      const c = buf[i];
      if (expect === 2 && c === 0x2c) {
        i++;
        expect = this.frameIsObject[depth - 1] === 1 ? 3 : 0;
        continue;
      }
      if (expect !== 0 && expect !== 3 && c === (this.frameIsObject[depth - 1] === 1 ? 0x7d : 0x5d)) {
        // the open container ends
        i++;
        depth--;
        this.openKeys = this.frameKeys[depth];
        if (depth === 0) break;
        if (depth === 1) this.valueEnd[topKey] = i;
        expect = 2;
        continue;
      }
      if (expect === 2) return -1;
      if (expect === 1 || expect === 3) {
        if (c !== QUOTE) return -1;
        const end = this.string(buf, i, limit);
        if (end < 0 || this.escaped || !this.newKey(buf, depth, i + 1, end - 1)) return -1;
        if (depth === 1) {
          topKey = this.count;
          if (topKey === MAX_KEYS) return -1;
          this.keyStart[topKey] = i + 1;
          this.keyEnd[topKey] = end - 1;
          this.count++;
        }
        i = end;
        while (i < limit && isSpace(buf[i])) i++;
        if (i >= limit || buf[i] !== 0x3a) return -1;
        i++;
        expect = 0;
        continue;
      }
      // a value
      const valueStart = i;
      let kind: ValueKind;
      if (c === QUOTE) {
        i = this.string(buf, i, limit);
        if (i < 0) return -1;
        kind = this.escaped ? ValueKind.EscapedString : ValueKind.String;
      } else if (c === 0x7b || c === 0x5b) {
        if (depth === MAX_DEPTH) return -1;
        if (depth === 1) {
          this.valueStart[topKey] = i;
          this.kind[topKey] = c === 0x7b ? ValueKind.Object : ValueKind.Array;
        }
        this.frameIsObject[depth] = c === 0x7b ? 1 : 0;
        this.frameKeys[depth] = this.openKeys;
        depth++;
        i++;
        expect = c === 0x7b ? 1 : 4;
        continue;
      } else if (c === 0x2d || isDigit(c)) {
        i = number(buf, i, limit);
        if (i < 0) return -1;
        kind = ValueKind.Number;
      } else if (c === 0x74 && i + 4 <= limit && buf[i + 1] === 0x72 && buf[i + 2] === 0x75 && buf[i + 3] === 0x65) {
        i += 4;
        kind = ValueKind.True;
      } else if (c === 0x66 && i + 5 <= limit && buf[i + 1] === 0x61 && buf[i + 2] === 0x6c && buf[i + 3] === 0x73 && buf[i + 4] === 0x65) {
        i += 5;
        kind = ValueKind.False;
      } else if (c === 0x6e && i + 4 <= limit && buf[i + 1] === 0x75 && buf[i + 2] === 0x6c && buf[i + 3] === 0x6c) {
        i += 4;
        kind = ValueKind.Null;
      } else {
        return -1;
      }
      if (depth === 1) {
        this.valueStart[topKey] = valueStart;
        this.valueEnd[topKey] = i;
        this.kind[topKey] = kind;
      }
      expect = 2;
    }
    // after the object: JSON whitespace, then the newline (or the end of what was given)
    while (i < limit && isSpace(buf[i])) i++;
    if (i < limit && buf[i] !== NEWLINE) return -1;
    this.contentEnd = i > start && buf[i - 1] === CR ? i - 1 : i;
    return i;
  }

  /** End (after the closing quote) of the string whose opening quote is at `at`; -1 when it is not JSON. */
  private string(buf: Uint8Array, at: number, limit: number): number {
    let i = at + 1;
    let escaped = false;
    if (buf !== this.wordsOf) this.viewWords(buf);
    const words = this.words;
    const first = this.firstWord;
    for (;;) {
      // printable ASCII other than the quote and the backslash: most of a line (the newline at limit - 1 stops it);
      // byte by byte up to a word's start, then four bytes at a time while no byte of a word is another kind
      let c = buf[i];
      while (isPlainByte(c) && ((i - first) & 3) !== 0) c = buf[++i];
      if (isPlainByte(c) && i >= first) {
        while (i + 4 <= limit && plainWord(words[(i - first) >> 2])) i += 4;
        c = buf[i];
        while (isPlainByte(c)) c = buf[++i];
      }
      if (i >= limit) return -1;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        if (i + 1 >= limit) return -1;
        const next = buf[i + 1];
        if (next === 0x75) {
          if (i + 6 > limit || !isHex(buf[i + 2]) || !isHex(buf[i + 3]) || !isHex(buf[i + 4]) || !isHex(buf[i + 5])) return -1;
          i += 6;
        } else if (next === QUOTE || next === BACKSLASH || next === 0x2f || next === 0x62 || next === 0x66 || next === 0x6e || next === 0x72 || next === 0x74) {
          i += 2;
        } else {
          return -1;
        }
      } else if (c >= 0x80) {
        this.high = true;
        i++;
      } else {
        return -1; // a control character
      }
    }
    this.escaped = escaped;
    return i + 1;
  }

  /** Records a key of the object open at `depth`; false when that object already has it (or has too many keys). */
  private newKey(buf: Uint8Array, depth: number, start: number, end: number): boolean {
    const first = this.frameKeys[depth - 1];
    const length = end - start;
    for (let k = first; k < this.openKeys; k++) {
      if (this.openKeyEnd[k] - this.openKeyStart[k] !== length) continue;
      const other = this.openKeyStart[k];
      let same = true;
      for (let j = 0; j < length; j++) {
        if (buf[other + j] !== buf[start + j]) {
          same = false;
          break;
        }
      }
      if (same) return false;
    }
    if (this.openKeys === MAX_OPEN_KEYS || this.openKeys - first === MAX_KEYS) return false;
    this.openKeyStart[this.openKeys] = start;
    this.openKeyEnd[this.openKeys] = end;
    this.openKeys++;
    return true;
  }
}

/**
 * True when no byte of the word is a control character, 0x80 or more, a quote or a backslash: a byte below 0x20
 * borrows into its top bit when 0x20 is taken from it, a byte equal to 0x22 or 0x5c is zero once xor-ed with it
 * and borrows when 1 is taken from it (each test exact for "is there such a byte", the way haszero is).
 */
function plainWord(w: number): boolean {
  const q = w ^ 0x22222222;
  const b = w ^ 0x5c5c5c5c;
  return ((((w - 0x20202020) & ~w) | w | ((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b)) & 0x80808080) === 0;
}

/** End of the JSON number that starts at `at`; -1 when it is not one. */
function number(buf: Uint8Array, at: number, limit: number): number {
  let i = at;
  if (buf[i] === 0x2d) i++;
  if (i >= limit) return -1;
  if (buf[i] === 0x30) i++;
  else if (isDigit(buf[i])) while (i < limit && isDigit(buf[i])) i++;
  else return -1;
  if (i < limit && buf[i] === 0x2e) {
    i++;
    if (i >= limit || !isDigit(buf[i])) return -1;
    while (i < limit && isDigit(buf[i])) i++;
  }
  if (i < limit && (buf[i] | 0x20) === 0x65) {
    i++;
    if (i < limit && (buf[i] === 0x2b || buf[i] === 0x2d)) i++;
    if (i >= limit || !isDigit(buf[i])) return -1;
    while (i < limit && isDigit(buf[i])) i++;
  }
  return i;
}
