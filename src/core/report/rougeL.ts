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
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const words = (a.length + 31) >>> 5;
  // Match masks: for each distinct token of a, the bits of the positions where it stands.
  const masks = new Map<string, Uint32Array>();
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
  const lcs = lcsLength(c, r);
  if (lcs === 0) return { precision: 0, recall: 0, f: 0 };
  const precision = lcs / c.length;
  const recall = lcs / r.length;
  return { precision, recall, f: (2 * precision * recall) / (precision + recall) };
}
