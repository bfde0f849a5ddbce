/**
 * ROUGE-L F (Lin 2004): the longest common subsequence of the two texts' tokens, as precision
 * (LCS / candidate tokens), recall (LCS / reference tokens) and their harmonic mean, as the
 * `rouge-score` package reports `rougeL.fmeasure`. A second, lexical metric beside cosine.
 */

/** Lower-cased runs of letters and digits (any script); punctuation and spaces separate tokens. */
export function tokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Length of the longest common subsequence of two token lists, in O(|a| * |b|) time and O(|b|) memory. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let previous = new Uint32Array(b.length + 1);
  let current = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const token = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      current[j] = token === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length];
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
