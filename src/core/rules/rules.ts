/**
 * The review rules: what a user is told about a score and a row. The editor (decorations, hover,
 * Problems), the panel, the CLI reports and the exports all decide through these functions, so they
 * can never disagree. Pure: no I/O, no vscode.
 */

/** The pass line when none is configured (cosine similarity of output and reference). */
export const DEFAULT_THRESHOLD = 0.7;

/** A reference is suspect when at least this many models have a current score and every one is below. */
export const SUSPECT_MIN_MODELS = 2;

/**
 * What one model's latest result on a row is:
 * - 'scored': the output has a score;
 * - 'failed': the call failed (no output);
 * - 'empty': the model answered, but with blank text (nothing to score);
 * - 'unmeasurable': most word pieces of the output or the reference are unknown to the embedding model's
 *   vocabulary ([UNK]): any score would be noise, so none is given (another model is the fix);
 * - 'notScored': an output without a score (e.g. the row has no reference, or scoring failed).
 */
export type ResultStatus = 'scored' | 'failed' | 'empty' | 'unmeasurable' | 'notScored';

/** The part of a stored result (src/core/store/results.ts) the rules read; the rules sit below the store and import nothing. */
export interface RuleResult {
  readonly rowHash: string;
  readonly output?: string;
  readonly error?: { readonly kind: string };
  readonly score?: number;
  /** Shares of unknown word pieces above the limit (see UnmeasurableShares). */
  readonly unmeasurable?: UnmeasurableShares;
}

/** Shares of [UNK] word pieces of the texts of a pair that were above the limit, and the limit. */
export interface UnmeasurableShares {
  readonly output?: number;
  readonly reference?: number;
  readonly limit: number;
}

/** The fix told wherever a pair is not measurable. */
export const UNMEASURABLE_FIX = 'use an embedding model whose vocabulary covers the text (e.g. paraphrase-multilingual-MiniLM-L12-v2), or raise pisarReview.embedding.maxUnknownShare';

/** What a person reads for an unmeasurable pair: which text, how much of it is unknown, and the fix. */
export function unmeasurableNote(u: UnmeasurableShares): string {
  const parts = (['output', 'reference'] as const).filter((p) => u[p] !== undefined).map((p) => `${Math.round(u[p]! * 100)}% of the ${p}'s word pieces`);
  return `not measurable by this model: ${parts.join(' and ')} are unknown to its vocabulary (limit ${Math.round(u.limit * 100)}%); ${UNMEASURABLE_FIX}`;
}

export function resultStatus(r: RuleResult): ResultStatus {
  if (r.error) return r.error.kind === 'empty' ? 'empty' : 'failed';
  // Blank text has no similarity to anything: a score stored for it (older versions made one) is ignored.
  if (isEmptyOutput(r.output)) return 'empty';
  if (r.unmeasurable && typeof r.score !== 'number') return 'unmeasurable';
  if (typeof r.score === 'number') return 'scored';
  return 'notScored';
}

/** An output with no visible text (empty, whitespace, zero-width or format characters, marks with no base): never scored, counted apart as "empty". */
export function isEmptyOutput(output: string | undefined): boolean {
  return output !== undefined && !hasVisibleText(output);
}

/**
 * Characters that show nothing: whitespace and separators, control and format characters (zero-width
 * space and joiners, BOM, bidi marks, soft hyphen, tags), combining marks and variation selectors with
 * no base, lone surrogates, and the blank letters (Hangul fillers, braille blank).
 */
const VISIBLE = /[^\s\p{Z}\p{Cc}\p{Cf}\p{Cs}\p{M}\u115F\u1160\u3164\uFFA0\u2800\u180E]/u;

/** True when `text` has at least one character that shows something. */
export function hasVisibleText(text: string): boolean {
  return VISIBLE.test(text);
}

/** The note stored beside an empty output instead of a score. */
export const EMPTY_OUTPUT_NOTE = 'the output is empty: nothing to score';

/** The row changed since the result was made (its hash differs from the row's current one). */
export function isStale(r: Pick<RuleResult, 'rowHash'>, currentRowHash: string): boolean {
  return r.rowHash !== currentRowHash;
}

/** A score fails the pass line. */
export function isBelowThreshold(score: number, threshold: number): boolean {
  return score < threshold;
}

/** The score that counts for a row now: scored and not stale; undefined otherwise. */
export function currentScore(r: RuleResult, currentRowHash: string): number | undefined {
  return !isStale(r, currentRowHash) && resultStatus(r) === 'scored' ? r.score : undefined;
}

/** Some current score of the row is below the threshold. */
export function isRowBelow(currentScores: readonly number[], threshold: number): boolean {
  return currentScores.some((s) => isBelowThreshold(s, threshold));
}

/** Every model with a current score (at least SUSPECT_MIN_MODELS of them) is below: the reference may be wrong. */
export function isSuspectReference(currentScores: readonly number[], threshold: number): boolean {
  return currentScores.length >= SUSPECT_MIN_MODELS && currentScores.every((s) => isBelowThreshold(s, threshold));
}

/**
 * The models the "suspect reference" rule reads: every model but the baselines (a baseline, such as an off-topic or
 * zero-shot model, is expected to fail and says nothing about the reference).
 */
export function suspectRuleModels(models: readonly string[], baselines: readonly string[]): string[] {
  return models.filter((m) => !baselines.includes(m));
}

/**
 * The order models are shown and compared in, everywhere (CLI tables, pairs, the panel): the configured models in the
 * order of the settings, then every other model in the order first seen (each later list adds what is new).
 */
export function orderModels(configured: readonly string[], ...seen: readonly (readonly string[])[]): string[] {
  const names = new Set(configured);
  for (const list of seen) for (const m of list) names.add(m);
  return [...names];
}

/** Some model of `models` has no current score for the row (never called, failed, empty, unscored or stale). */
export function isNotScored(models: readonly string[], hasCurrentScore: (model: string) => boolean): boolean {
  return models.some((m) => !hasCurrentScore(m));
}

/** Most decimals formatScore ever shows. */
const MAX_DIGITS = 6;

/**
 * A score for display: `digits` decimals (2 inline, 3 in tables), and more near the threshold, so the
 * shown number is on the same side of it as the score: 0.6996 at 0.7 shows as "0.6996", never "0.70"
 * or "0.700" (which would read as passing).
 */
export function formatScore(score: number, threshold?: number, digits = 2): string {
  let d = digits;
  while (threshold !== undefined && d < MAX_DIGITS && isBelowThreshold(Number(score.toFixed(d)), threshold) !== isBelowThreshold(score, threshold)) d++;
  return score.toFixed(d);
}

/** The threshold as the user wrote it (0.985 stays 0.985). */
export function formatThreshold(threshold: number): string {
  return String(Number(threshold.toFixed(MAX_DIGITS)));
}
