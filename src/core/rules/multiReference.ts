// A row may carry several references (e-SNLI ships three explanations per row, or several fields are
// mapped as references): an output is scored against each, and the row's score is one of two readings.

/** 'best': the output's best match among the references (BERTScore's and promptfoo's any-of); 'mean': the mean over them. */
export type MultiReference = 'best' | 'mean';

export const MULTI_REFERENCE_MODES: readonly [MultiReference, MultiReference] = ['best', 'mean'];

/** A row's score over its references. */
export interface CombinedScore {
  readonly score: number;
  /** 0-based index of the reference the output matched best (the first on a tie). */
  readonly matched: number;
}

/**
 * The row's score from its scores against each reference (undefined where a pair could not be scored:
 * it counts for neither the best nor the mean); undefined when none was scored.
 */
export function combineReferenceScores(scores: readonly (number | undefined)[], mode: MultiReference): CombinedScore | undefined {
  let matched = -1;
  let sum = 0;
  let n = 0;
  scores.forEach((s, i) => {
    if (s === undefined || !Number.isFinite(s)) return;
    if (matched < 0 || s > (scores[matched] as number)) matched = i;
    sum += s;
    n++;
  });
  if (n === 0) return undefined;
  return { score: mode === 'best' ? (scores[matched] as number) : sum / n, matched };
}

/**
 * The same metric, human against human, on one row of `k` references: each reference scored against
 * the others as an output is against all of them (best or mean), then the mean over the references.
 * `score(i, j)` is reference i against reference j (undefined when that pair could not be scored);
 * undefined when no reference could be scored against another.
 */
export function humanAgreement(k: number, score: (i: number, j: number) => number | undefined, mode: MultiReference): number | undefined {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < k; i++) {
    const others: (number | undefined)[] = [];
    for (let j = 0; j < k; j++) if (j !== i) others.push(score(i, j));
    const combined = combineReferenceScores(others, mode);
    if (combined) {
      sum += combined.score;
      n++;
    }
  }
  return n === 0 ? undefined : sum / n;
}
