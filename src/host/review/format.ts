import { formatScore, resultStatus } from '../../core/review/rules';
import type { AnnotationTarget } from '../../core/store/annotations';
import type { ModelResultState, RowState } from './session';

/**
 * The inline text of one model's result on a row: `ft-qwen 0.81`, `gpt failed`, `gpt stale 0.46`,
 * `gpt empty` (blank output: no similarity), `gpt n/a` (no score: e.g. the row has no reference).
 */
export function inlineResultText(r: ModelResultState, threshold: number): string {
  if (r.result.error) return `${r.model} failed`;
  if (resultStatus(r.result) === 'empty') return `${r.model} empty`;
  if (r.score === undefined) return `${r.model} n/a`;
  const score = formatScore(r.score, threshold);
  return r.stale ? `${r.model} stale ${score}` : `${r.model} ${score}`;
}

/** The whole inline text of a row's scores, e.g. `ft-qwen 0.81 · gpt 0.46`. */
export function inlineScoresText(state: RowState, threshold: number): string {
  return state.results.map((r) => inlineResultText(r, threshold)).join(' · ');
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

/** Dataset text shown in a hover or message: control characters (ANSI escapes) made visible, length capped. */
export function plainText(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const visible = text.replace(/\u001b/g, '␛').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '�');
  return visible.length > max ? visible.slice(0, max) + `… (${visible.length - max} more characters)` : visible;
}
