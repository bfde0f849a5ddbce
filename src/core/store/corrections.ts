import { isEmptyOutput, isStale } from '../rules/rules';
import { AnnotationResolver, type ReferenceCorrection, type RowLookup } from './annotations';
import { embeddingOriginOf, isScoredHere, textDigest } from './provenance';
import type { StoredResult } from './results';
import { referencesOf, type RowReferences } from '../dataset/fields';
import { combineReferenceScores, type MultiReference } from '../rules/multiReference';

/**
 * Corrected references: a reviewer's replacement of a row's reference, kept as an event in the
 * annotations sidecar (the dataset is never written). The latest correction of a row is in force
 * while the row is unchanged; a row edited since takes its own reference again.
 */

/** Which references a view or a report scores against. */
export type ReferenceChoice = 'corrected' | 'original';

/** The correction in force for each row, by row id (rows edited since their correction are left out). */
export function correctionsInForce(corrections: readonly ReferenceCorrection[], rows: RowLookup & { rowIds(): readonly string[] }): Map<string, ReferenceCorrection> {
  const resolver = new AnnotationResolver(rows);
  const ids = rows.rowIds();
  const out = new Map<string, ReferenceCorrection>();
  // Oldest first: a later correction of the same row replaces an earlier one.
  for (const c of corrections) {
    const place = resolver.place(c);
    if (place.state === 'current') out.set(ids[place.index], c);
  }
  return out;
}

/** The latest correction of one row that still applies to it (its hash matches), if any. */
export function correctionForRow(corrections: readonly ReferenceCorrection[], rowId: string, rowHash: string): ReferenceCorrection | undefined {
  for (let i = corrections.length - 1; i >= 0; i--) {
    const c = corrections[i];
    if (c.rowHash === rowHash && c.rowId === rowId) return c;
  }
  return undefined;
}

/** The reference a row is scored against: the correction's text when one is in force, else the file's. */
export function effectiveReference(row: { reference: string | undefined }, correction: ReferenceCorrection | undefined): string | undefined {
  return correction ? correction.reference : row.reference;
}

/** The references a row is scored against: the correction's text when one is in force (it replaces them all), else the file's. */
export function effectiveReferences(row: RowReferences, correction: ReferenceCorrection | undefined): readonly string[] {
  return correction ? [correction.reference] : referencesOf(row);
}

/**
 * The score of a stored result that counts under `choice`: with corrected references, a score made
 * against another reference than the one in force does not count (undefined: it is re-scored);
 * with original references, the score against the file's reference.
 */
export function scoreUnder(r: StoredResult, correction: ReferenceCorrection | undefined, choice: ReferenceChoice): number | undefined {
  if (choice === 'original') return r.correction !== undefined ? r.originalScore : r.score;
  if ((r.correction ?? undefined) !== correction?.id) return undefined;
  return r.score;
}

/** What a scorer must offer to re-score a row (the project's Scorer fits). */
export interface CorrectionScorer {
  scorePairs(pairs: { output: string; reference: string }[]): Promise<number[]>;
  cutTexts?(texts: readonly string[]): Promise<boolean[] | undefined>;
  readonly cacheKey: string;
  identity?(): { id: string; dtype?: string; weights?: string };
}

/**
 * Re-scores a row's current outputs against its corrected reference, with no model call: the stored
 * outputs are scored again (and against the file's reference, kept as `originalScore`). Returns the
 * new records to append; results of other rows are not touched.
 */
export async function rescoreForCorrection(
  row: { id: string; hash: string } & RowReferences,
  correction: ReferenceCorrection,
  results: readonly StoredResult[],
  scorer: CorrectionScorer,
  now = new Date(),
  multiReference: MultiReference = 'best',
): Promise<StoredResult[]> {
  const usable = results.filter((r) => r.rowId === row.id && !isStale(r, row.hash) && !r.error && r.output !== undefined && !isEmptyOutput(r.output));
  if (usable.length === 0) return [];
  const originals = referencesOf(row);
  const pairs = usable.flatMap((r) => [correction.reference, ...originals].map((reference) => ({ output: r.output!, reference })));
  const scores = await scorer.scorePairs(pairs);
  const cut = await scorer.cutTexts?.(usable.flatMap((r) => [r.output!, correction.reference]));
  const step = 1 + originals.length;
  const at = now.toISOString();
  return usable.map((r, i) => {
    const { score: _s, scorer: _k, scoreCut: _c, scoreNote: _n, correction: _x, originalScore: _o, referenceScores: _e, matchedReference: _m, multiReference: _r, humanScore: _h, nli: _nli,
      outputHash: _oh, referenceHash: _rh, embedding: _emb, mac: _mac, ...rest } = r;
    const cutParts = [...(cut?.[2 * i] ? ['output' as const] : []), ...(cut?.[2 * i + 1] ? ['reference' as const] : [])];
    const original = combineReferenceScores(scores.slice(i * step + 1, (i + 1) * step), multiReference);
    const embedding = embeddingOriginOf(scorer.identity?.());
    return {
      ...rest,
      // An output read from the file stays "from the file" after it is scored here.
      ...(!isScoredHere(r) ? { outputFrom: 'file' as const } : {}),
      score: scores[i * step],
      scorer: scorer.cacheKey,
      outputHash: textDigest(r.output!),
      referenceHash: textDigest(correction.reference),
      ...(embedding ? { embedding } : {}),
      ...(cutParts.length > 0 ? { scoreCut: cutParts } : {}),
      correction: correction.id,
      ...(original ? { originalScore: original.score } : {}),
      at,
    };
  });
}

/** What a report reads results through (a ResultsStore fits). */
export interface ResultSource {
  latest(rowId: string, model: string): StoredResult | undefined;
  models(): string[];
}

/**
 * The results as they count under `choice`: each latest result's `score` is the one against the
 * chosen reference (removed, with a note, where the result was scored against another one), so
 * summaries, statistics and row tables need no change to follow corrections.
 */
export function resultsUnderReferences(results: ResultSource, corrections: ReadonlyMap<string, ReferenceCorrection>, choice: ReferenceChoice): ResultSource {
  return {
    models: () => results.models(),
    latest: (rowId, model) => {
      const r = results.latest(rowId, model);
      if (!r) return r;
      const score = scoreUnder(r, corrections.get(rowId), choice);
      if (score === r.score) return r;
      // The contradiction check was made against the reference the score was: another reading drops it.
      const { score: _score, nli: _nli, ...rest } = r;
      return score !== undefined
        ? { ...rest, score }
        : { ...rest, scoreNote: choice === 'original' ? 'scored against a corrected reference only: run score to score it against the file\'s' : 'scored against another reference than the corrected one: run score to re-score (no model call)' };
    },
  };
}
