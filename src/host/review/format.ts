import { formatScore, resultStatus } from '../../core/review/rules';
import type { AnnotationTarget } from '../../core/store/annotations';
import type { ModelResultState, RowState } from './session';

/** Why a stored output has no score, as the editor and the panel say it. */
export interface NoScore {
  /**
   * 'no-reference': nothing to compare with (expected); 'empty': the model answered with blank text;
   * 'unscored': the embedding step did not finish (a problem).
   */
  readonly kind: 'no-reference' | 'empty' | 'unscored';
  readonly reason: string;
}

/** Why the output of `r` has no score, or undefined when it has one (or the call failed). */
export function noScore(r: ModelResultState, scoringFailure: string | undefined): NoScore | undefined {
  if (r.result.error || r.score !== undefined) return undefined;
  if (resultStatus(r.result) === 'empty') return { kind: 'empty', reason: 'the model answered with blank text' };
  if (r.result.scoreNote) return { kind: /no reference/.test(r.result.scoreNote) ? 'no-reference' : 'unscored', reason: r.result.scoreNote };
  return {
    kind: 'unscored',
    reason: scoringFailure
      ? `the embedding model failed: ${scoringFailure}`
      : 'the output was stored before it was scored (the run was cancelled or the embedding model failed); score the row again',
  };
}

/**
 * The inline text of one model's result on a row: `ft-qwen 0.81`, `gpt failed`, `gpt stale 0.46`,
 * `gpt n/a` (no reference to score against), `gpt unscored` (the embedding step failed).
 * `name` is the model's compact name (see compactModelNames).
 */
export function inlineResultText(r: ModelResultState, threshold: number, name = r.model): string {
  if (r.result.error) return `${name} failed`;
  if (r.score === undefined) {
    const kind = noScore(r, undefined)?.kind;
    return `${name} ${kind === 'no-reference' ? 'n/a' : kind === 'empty' ? 'empty' : 'unscored'}`;
  }
  const score = formatScore(r.score, threshold);
  return r.stale ? `${name} stale ${score}` : `${name} ${score}`;
}

export function targetLabel(t: AnnotationTarget): string {
  return t.kind === 'reference' ? 'reference' : t.model ?? 'output';
}

/** The inline text of a row's annotations, e.g. `✎ reference: wrong · gpt: hallucinated`. */
export function inlineAnnotationsText(state: RowState): string {
  if (state.annotations.length === 0) return '';
  return '✎ ' + state.annotations
    .map((p) => `${targetLabel(p.annotation.target)}: ${p.annotation.label}${p.state === 'changed' ? ' (row changed)' : ''}`)
    .join(' · ');
}

/** Text for display in one line: collapses whitespace and control characters, caps the length. */
export function oneLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

/** Dataset text shown in a hover or message: control characters (ANSI escapes) made visible, length capped. */
export function plainText(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const visible = text.replace(/\u001b/g, '␛').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '�');
  return visible.length > max ? visible.slice(0, max) + `… (${visible.length - max} more characters)` : visible;
}

