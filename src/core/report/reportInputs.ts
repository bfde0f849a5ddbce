import type { DatasetRow } from '../dataset/types';
import { referencesOf } from '../dataset/fields';
import type { ReferenceCorrection } from '../store/annotations';
import { effectiveReferences, resultsUnderReferences, type ReferenceChoice } from '../store/corrections';
import type { StoredResult } from '../store/results';
import { scoredHereOnly, type ResultsOrigin } from './origin';
import type { JudgeInForce } from './rows';
import type { ResultLookup } from './summary';

/**
 * What a report's numbers are read from, so `pisar-review report` and the panel's statistics count the same: the
 * results scored on this machine, under the reviewers' corrected references (or the file's), and the judge in force.
 */

/** The results the numbers count (scored here; a score made against another reference than the one in force left out) and each row's references. */
export function countedResults(
  results: ResultLookup & { latestScoredHere?(rowId: string, model: string): StoredResult | undefined },
  corrections: ReadonlyMap<string, ReferenceCorrection>,
  choice: ReferenceChoice,
): { readonly scored: ResultLookup; readonly referencesOfRow: (row: DatasetRow) => readonly string[] } {
  return {
    scored: resultsUnderReferences(scoredHereOnly(results), corrections, choice),
    referencesOfRow: (row) => (choice === 'corrected' ? effectiveReferences(row, corrections.get(row.id)) : referencesOf(row)),
  };
}

/** The configured judge (judge.model, one of the models) and its prompt: only its verdicts with that prompt count. */
export function judgeInForce(settings: { readonly models: readonly { readonly name: string; readonly model: string }[]; readonly judge: { readonly model: string; readonly prompt: string } }): JudgeInForce | undefined {
  const model = settings.models.find((m) => m.name === settings.judge.model);
  return model ? { name: model.name, model: model.model, template: settings.judge.prompt } : undefined;
}

/** The models a report's numbers are about: the known ones (configured, then in the results, then in the dataset) that have results, less the foreign ones (none scored here). */
export function reportedModels(known: readonly string[], results: ResultLookup, origin: Pick<ResultsOrigin, 'foreign'>): string[] {
  const withResults = new Set(results.models());
  const foreign = new Set(origin.foreign.map((f) => f.model));
  return known.filter((m) => withResults.has(m) && !foreign.has(m));
}
