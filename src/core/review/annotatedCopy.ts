// What "Export Dataset Copy with Annotations…" adds to each row of the copy: the reviewers' annotations and each
// model's current result as the views show it (score, the contradiction check, the LLM judge's verdict). Values are
// the stored data as JSON: a judge's reason or a label is a JSON string, never a formula, a link or markup.
import { rowNliOf } from '../report/rows';
import type { JudgeResult } from '../store/results';
import type { DatasetReview, ModelResultState, PlacedAnnotation } from './datasetReview';

/** The field the exported copy adds to each annotated row. */
export const ANNOTATIONS_FIELD = 'pisar_annotations';
/** The field the exported copy adds to each row with a current result: model -> CopiedResult. */
export const RESULTS_FIELD = 'pisar_results';

/** One model's current result in the copy. */
export interface CopiedResult {
  /** The cosine score (absent when the output failed or could not be scored). */
  readonly score?: number;
  /** Why there is no score: the call failed, or the output could not be scored. */
  readonly error?: string;
  /**
   * The contradiction check: P(contradiction) of the output against the reference it matched (0-based `reference` when
   * the row has several), whether that is at or above the threshold in force, and the NLI model that read it.
   */
  readonly contradiction?: { readonly probability: number; readonly contradicts: boolean; readonly threshold: number; readonly reference?: number; readonly model: string };
  /** The LLM judge's stored verdict with its provenance (judge model, its id, the prompt's hash), or its failure. */
  readonly judge?: Pick<JudgeResult, 'model' | 'modelId' | 'promptHash' | 'verdict' | 'rating' | 'reason' | 'error' | 'at'>;
}

/** The fields the copy adds to each row, by the row's 1-based line in the file; rows that gain nothing are absent. */
export function annotatedCopyFields(review: DatasetReview): Map<number, Record<string, unknown>> {
  const byLine = new Map<number, Record<string, unknown>>();
  for (const state of review.rowStates().values()) {
    const fields: Record<string, unknown> = {};
    if (state.annotations.length > 0) fields[ANNOTATIONS_FIELD] = state.annotations.map(copiedAnnotation);
    // Only results that count: not stale (the row changed since), not read from the file.
    const current = state.results.filter((r) => !r.stale && !r.fromFile);
    if (current.length > 0) fields[RESULTS_FIELD] = Object.fromEntries(current.map((r) => [r.model, copiedResult(r, review.contradictionThreshold)]));
    if (Object.keys(fields).length > 0) byLine.set(review.dataset.rowLine(state.index), fields);
  }
  return byLine;
}

function copiedAnnotation(p: PlacedAnnotation): object {
  return {
    target: p.annotation.target.kind,
    ...(p.annotation.target.kind === 'output' ? { model: p.annotation.target.model } : {}),
    label: p.annotation.label,
    ...(p.annotation.note ? { note: p.annotation.note } : {}),
    ...(p.state === 'changed' ? { rowChangedSinceAnnotated: true } : {}),
    at: p.annotation.updatedAt,
  };
}

/** A result as the copy carries it: the score, the contradiction check only on a scored output (as every view), the judge's verdict. */
export function copiedResult(r: ModelResultState, contradictionThreshold: number): CopiedResult {
  const score = r.result.error ? undefined : r.score;
  const nli = score !== undefined ? rowNliOf(r.result, contradictionThreshold) : undefined;
  const j = r.result.judge;
  return {
    ...(score !== undefined ? { score } : {}),
    ...(score === undefined && r.error ? { error: r.error } : {}),
    ...(nli ? { contradiction: { probability: nli.contradiction, contradicts: nli.contradicts, threshold: contradictionThreshold, ...(nli.reference !== undefined ? { reference: nli.reference } : {}), model: r.result.nli!.model.id } } : {}),
    ...(j ? {
      judge: {
        model: j.model, modelId: j.modelId, promptHash: j.promptHash,
        ...(j.verdict ? { verdict: j.verdict } : {}), ...(j.rating !== undefined ? { rating: j.rating } : {}), ...(j.reason !== undefined ? { reason: j.reason } : {}),
        ...(j.error ? { error: j.error } : {}), at: j.at,
      },
    } : {}),
  };
}
