import type { StoredResult } from '../store/results';
import type { ModelResultState, PlacedAnnotation, RowState } from './datasetReview';

/**
 * What one reviewer may see of the review. In blind mode (pisarReview.review.blind) a reviewer labels
 * without anchoring on others: other reviewers' labels and every score are left out of what the views
 * are given (the panel's messages, the hover, inline scores, CodeLens, Problems), not merely not drawn.
 */
export interface ReviewerView {
  /** Who is reviewing (their own labels are always shown). */
  readonly reviewer: string | undefined;
  readonly blind: boolean;
}

/** Said where a score would be. */
export const BLIND_SCORE_NOTE = 'hidden while labelling (blind mode)';

/** The annotations `view` may see: all of them, or in blind mode the reviewer's own. */
export function shownAnnotations(annotations: readonly PlacedAnnotation[], view: ReviewerView): readonly PlacedAnnotation[] {
  return view.blind ? annotations.filter((p) => p.annotation.reviewer === view.reviewer) : annotations;
}

/** A stored result without anything that tells its score (the output and a failed call's error stay: they are what is labelled). */
export function withoutScore(result: StoredResult): StoredResult {
  const { score: _score, scorer: _scorer, scoreCut: _cut, originalScore: _original, unmeasurable: _unmeasurable, scoreNote: _note, ...rest } = result;
  return rest;
}

/** A row's state as `view` may see it: in blind mode no score, no verdict drawn from scores, only the reviewer's own labels. */
export function shownRowState(state: RowState, view: ReviewerView): RowState;
export function shownRowState(state: RowState | undefined, view: ReviewerView): RowState | undefined;
export function shownRowState(state: RowState | undefined, view: ReviewerView): RowState | undefined {
  if (!state || !view.blind) return state;
  const results: ModelResultState[] = state.results.map((r) => ({
    model: r.model,
    result: withoutScore(r.result),
    stale: r.stale,
    score: undefined,
    error: r.result.error ? r.error : undefined,
  }));
  return { index: state.index, results, annotations: shownAnnotations(state.annotations, view), below: false, suspect: false };
}
