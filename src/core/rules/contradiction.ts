// The contradiction flag: read from a result's stored NLI probabilities and the threshold in force (stored
// probabilities, not a stored flag, so a new threshold needs no re-check).

/** An output "contradicts" its reference where the NLI model gives P(contradiction) at or above this. */
export const DEFAULT_CONTRADICTION_THRESHOLD = 0.5;

/** What the flag reads of a result: its NLI check, if any. */
export interface ContradictionSource {
  readonly nli?: { readonly contradiction: number; readonly reference?: number };
}

/** The output contradicts the reference it was checked against: P(contradiction) >= threshold. */
export function contradicts(r: ContradictionSource, threshold = DEFAULT_CONTRADICTION_THRESHOLD): boolean {
  return r.nli !== undefined && r.nli.contradiction >= threshold;
}

/** "contradicts reference (P 0.97)" or "" — the words every surface shows beside a score. */
export function contradictionText(r: ContradictionSource, threshold = DEFAULT_CONTRADICTION_THRESHOLD): string {
  return contradicts(r, threshold) ? `contradicts reference${r.nli!.reference !== undefined ? ` ${r.nli!.reference + 1}` : ''} (P ${r.nli!.contradiction.toFixed(2)})` : '';
}
