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
export function lcsLength<T>(a: readonly T[], b: readonly T[]): number {
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
  for (const token of b) {
    const mask = masks.get(token);
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
 * in one scratch array indexed by id instead of a map of strings per pair.
 */
export class TokenIds {
  private readonly ids = new Map<string, number>();
  private masks = new Uint32Array(4096);

  /** The ids of tokens(text), in order. */
  of(text: string): number[] {
    const lower = text.toLowerCase();
    const out: number[] = [];
    let start = -1;
    for (let i = 0; i < lower.length; i++) {
      const c = lower.charCodeAt(i);
      // Outside ASCII the letters and digits of every script count: tokens() decides.
      if (c >= 128) return tokens(text).map((t) => this.idOf(t));
      const word = (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
      if (word) {
        if (start < 0) start = i;
      } else if (start >= 0) {
        out.push(this.idOf(lower.slice(start, i)));
        start = -1;
      }
    }
    if (start >= 0) out.push(this.idOf(lower.slice(start)));
    return out;
  }

  private idOf(token: string): number {
    let id = this.ids.get(token);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(token, id);
      if (id >= this.masks.length) {
        const grown = new Uint32Array(this.masks.length * 2);
        grown.set(this.masks);
        this.masks = grown;
      }
    }
    return id;
  }

  /** lcsLength of two id lists from of(). */
  lcs(a: readonly number[], b: readonly number[]): number {
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
  rougeL(candidate: readonly number[], reference: readonly number[]): RougeL {
    return rougeLOfLcs(this.lcs(candidate, reference), candidate.length, reference.length);
  }
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
