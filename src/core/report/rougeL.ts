import type { StoredResult } from '../store/results';
import { OUTPUT_TOKENS_AT as TOKENS_AT } from '../store/heldResults';
import { isEmptyOutput } from '../rules/rules';

/**
 * ROUGE-L F (Lin 2004): the longest common subsequence of the two texts' tokens, as precision
 * (LCS / candidate tokens), recall (LCS / reference tokens) and their harmonic mean, as the
 * `rouge-score` package reports `rougeL.fmeasure`. A second, lexical metric beside cosine.
 */

/** Lower-cased runs of letters and digits (any script); punctuation and spaces separate tokens. */
export function tokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * Length of the longest common subsequence of two token lists: bit-parallel (Hyyrö 2004, after Allison and Dix 1986),
 * O(|b| * ceil(|a| / 32)) word operations and O(distinct tokens of a * ceil(|a| / 32)) memory. For the short texts of
 * rationales (under 32 tokens) a pair costs one pass over b.
 */
export function lcsLength<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  if (a.length === 0 || b.length === 0) return 0;
  const words = (a.length + 31) >>> 5;
  // Match masks: for each distinct token of a, the bits of the positions where it stands.
  const masks = new Map<T, Uint32Array>();
  for (let i = 0; i < a.length; i++) {
    let mask = masks.get(a[i]);
    if (!mask) masks.set(a[i], (mask = new Uint32Array(words)));
    mask[i >>> 5] |= 1 << (i & 31);
  }
  // V: ones where no LCS step has been taken yet; the LCS is the count of zeros among a's positions.
  const v = new Uint32Array(words).fill(0xffffffff);
  for (let j = 0; j < b.length; j++) {
    const mask = masks.get(b[j]);
    if (!mask) continue;
    let carry = 0;
    for (let w = 0; w < words; w++) {
      const vw = v[w];
      const u = (vw & mask[w]) >>> 0;
      // (V + U) with the carry of the word below, then | (V - U); V - U = V & ~M as U is a subset of V.
      const sum = vw + u + carry;
      carry = sum > 0xffffffff ? 1 : 0;
      v[w] = ((sum >>> 0) | (vw & ~mask[w])) >>> 0;
    }
  }
  let ones = 0;
  for (let w = 0; w < words; w++) {
    const bits = w === words - 1 && (a.length & 31) !== 0 ? v[w] & ((1 << (a.length & 31)) - 1) : v[w];
    ones += popcount(bits >>> 0);
  }
  return a.length - ones;
}

/**
 * Tokens as small integers, one table per report: a text becomes the ids of its tokens (as tokens() splits it), and
 * ROUGE-L of two id lists runs on numbers, with the match masks of a short text (up to 32 tokens, most rationales)
 * in one scratch array indexed by id instead of a map of strings per pair. An ASCII token is looked up by its
 * characters in place (a hash table of its own), so only a token never seen before becomes a string.
 */
export class TokenIds {
  /** Open addressing: slot -> id + 1 (0: empty), at most half full. */
  private slots = new Int32Array(1 << 12);
  private readonly words: string[] = [];
  private hashes = new Int32Array(1 << 11);
  private masks = new Uint32Array(4096);

  private scratch = new Int32Array(256);

  /** The ids of tokens(text), in order. */
  of(text: string): number[] {
    if (this.scratch.length < most(text)) this.scratch = new Int32Array(most(text) * 2);
    const count = this.into(text, this.scratch, 0);
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = this.scratch[i];
    return out;
  }

  /** Writes the ids of tokens(text) into `target` from `at` (room for most(text) ids needed); returns how many. */
  into(text: string, target: Int32Array, at: number): number {
    let n = at;
    let start = -1;
    let hash = 0;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      // Outside ASCII the letters and digits of every script count (and lower case may change length): tokens() decides.
      if (c >= 128) {
        const all = tokens(text);
        for (let k = 0; k < all.length; k++) target[at + k] = this.idOf(all[k]);
        return all.length;
      }
      if (c >= 65 && c <= 90) c += 32;
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
        if (start < 0) {
          start = i;
          hash = FNV_OFFSET;
        }
        hash = Math.imul(hash ^ c, FNV_PRIME);
      } else if (start >= 0) {
        target[n++] = this.find(text, start, i, hash);
        start = -1;
      }
    }
    if (start >= 0) target[n++] = this.find(text, start, text.length, hash);
    return n - at;
  }

  /** The id of a token from tokens() (lower case already). */
  private idOf(token: string): number {
    let hash = FNV_OFFSET;
    for (let i = 0; i < token.length; i++) hash = Math.imul(hash ^ token.charCodeAt(i), FNV_PRIME);
    return this.find(token, 0, token.length, hash);
  }

  /** The id of text[start, end) in lower case (ASCII letters lowered here; other characters as they are). */
  private find(text: string, start: number, end: number, hash: number): number {
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot];
      if (entry === 0) return this.add(text.slice(start, end).toLowerCase(), hash, slot);
      if (this.hashes[entry - 1] === hash && sameLowered(this.words[entry - 1], text, start, end)) return entry - 1;
    }
  }

  private add(word: string, hash: number, slot: number): number {
    const id = this.words.length;
    this.words.push(word);
    if (id >= this.hashes.length) this.hashes = grownTo(this.hashes, this.hashes.length * 2);
    this.hashes[id] = hash;
    if (id >= this.masks.length) this.masks = grownTo(this.masks, this.masks.length * 2);
    this.slots[slot] = id + 1;
    if (2 * this.words.length > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.words.length; id++) {
      let slot = this.hashes[id] & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.slots = slots;
  }

  /** lcsLength of two id lists from of(). */
  lcs(a: ArrayLike<number>, b: ArrayLike<number>): number {
    if (a.length > 32) {
      if (b.length > 32) return lcsLength(a, b);
      [a, b] = [b, a];
    }
    if (a.length === 0 || b.length === 0) return 0;
    const masks = this.masks;
    for (let i = 0; i < a.length; i++) masks[a[i]] |= 1 << i;
    let v = 0xffffffff;
    for (let j = 0; j < b.length; j++) {
      const m = masks[b[j]];
      if (m === 0) continue;
      // One word of lcsLength's step: the carry out of the top bit is dropped.
      v = ((v + ((v & m) >>> 0)) | (v & ~m)) >>> 0;
    }
    for (let i = 0; i < a.length; i++) masks[a[i]] = 0;
    const used = a.length === 32 ? v : v & ((1 << a.length) - 1);
    return a.length - popcount(used >>> 0);
  }

  /** rougeLOfTokens of two id lists from of(). */
  rougeL(candidate: ArrayLike<number>, reference: ArrayLike<number>): RougeL {
    return rougeLOfLcs(this.lcs(candidate, reference), candidate.length, reference.length);
  }
}

/** Ids a chunk of the pool holds (4 MiB): chunks are added, never grown and copied. */
const POOL_CHUNK = 1 << 20;

/**
 * The token ids of results' outputs, taken as each result is read (ResultsStore.open's readTexts) so that its text is not
 * held: two million outputs were two million strings the garbage collector copied out of the young generation and marked
 * at each full collection (a quarter of report's main thread at a million rows). The ids go into fixed chunks of an
 * Int32Array pool, each as its count then the ids; the result keeps where they begin.
 */
export class OutputTokens {
  /** The table every text of the report is read with: references' ids are comparable with the outputs'. */
  readonly ids = new TokenIds();
  private readonly chunks: Int32Array[] = [];
  private used = POOL_CHUNK;

  /**
   * ResultsStore.open's readTexts: takes the output's token ids and lets go of its text (in place: no fingerprint nor
   * other key is added beside the pool's place, each an object more for the collector to mark). The text stays where a
   * judge verdict is read (the judge prompt's hash is of the output) and where it is blank (the counts read it as empty).
   * Returns true: the result is held as it now is.
   */
  readonly take = (r: StoredResult): boolean => {
    if (r.output === undefined || r.judge !== undefined || isEmptyOutput(r.output)) return true;
    const room = 1 + most(r.output);
    if (room > POOL_CHUNK) return true;
    if (this.used + room > POOL_CHUNK) {
      this.chunks.push(new Int32Array(POOL_CHUNK));
      this.used = 0;
    }
    // Written straight into the pool: no array a text.
    const chunk = this.chunks[this.chunks.length - 1];
    const count = this.ids.into(r.output, chunk, this.used + 1);
    chunk[this.used] = count;
    (r as { [TOKENS_AT]?: number })[TOKENS_AT] = (this.chunks.length - 1) * POOL_CHUNK + this.used;
    this.used += 1 + count;
    r.output = undefined;
    return true;
  };

  /** True when the result has an output: its text, or the ids taken from it. */
  has(r: StoredResult): boolean {
    return r.output !== undefined || (r as { [TOKENS_AT]?: number })[TOKENS_AT] !== undefined;
  }

  /** The token ids of a result's output (of its text where it is held); undefined when it has none. */
  of(r: StoredResult): ArrayLike<number> | undefined {
    if (r.output !== undefined) return this.ids.of(r.output);
    const at = (r as { [TOKENS_AT]?: number })[TOKENS_AT];
    if (at === undefined) return undefined;
    const chunk = this.chunks[Math.floor(at / POOL_CHUNK)];
    const from = at % POOL_CHUNK;
    return chunk.subarray(from + 1, from + 1 + chunk[from]);
  }
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** `word` is text[start, end) with its ASCII capitals lowered. */
function sameLowered(word: string, text: string, start: number, end: number): boolean {
  if (word.length !== end - start) return false;
  for (let i = 0; i < word.length; i++) {
    let c = text.charCodeAt(start + i);
    if (c >= 65 && c <= 90) c += 32;
    if (word.charCodeAt(i) !== c) return false;
  }
  return true;
}

/**
 * The most tokens a text can hold: one a character (lower case may lengthen a text outside ASCII, 'İ' becoming 'i' and a
 * combining dot that separates, so not half its length).
 */
function most(text: string): number {
  return text.length;
}

function grownTo<T extends Int32Array | Uint32Array>(array: T, length: number): T {
  const grown = new (array.constructor as new (n: number) => T)(length);
  grown.set(array);
  return grown;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export interface RougeL {
  readonly precision: number;
  readonly recall: number;
  readonly f: number;
}

/** ROUGE-L of a candidate (model output) against a reference; all zero when either has no token. */
export function rougeL(candidate: string, reference: string): RougeL {
  return rougeLOfTokens(tokens(candidate), tokens(reference));
}

/** ROUGE-L of token lists (from tokens()), for callers that tokenise a reference once for several outputs. */
export function rougeLOfTokens(c: readonly string[], r: readonly string[]): RougeL {
  return rougeLOfLcs(lcsLength(c, r), c.length, r.length);
}

function rougeLOfLcs(lcs: number, candidateLength: number, referenceLength: number): RougeL {
  if (lcs === 0) return { precision: 0, recall: 0, f: 0 };
  const precision = lcs / candidateLength;
  const recall = lcs / referenceLength;
  return { precision, recall, f: (2 * precision * recall) / (precision + recall) };
}
