import { visibleControls } from '../../core/security/escape';
import { noScore } from '../../core/review/display';
import { formatScore } from '../../core/rules/rules';
import { contradicts } from '../../core/rules/contradiction';
import type { AnnotationTarget } from '../../core/store/annotations';
import type { ModelResultState, RowState } from './session';

/**
 * The inline text of one model's result on a row: `ft-qwen 0.81`, `gpt failed`, `gpt stale 0.46`, `gpt from file 0.99`,
 * `gpt n/a` (no reference to score against), `gpt unscored` (the embedding step failed).
 * `name` is the model's compact name (see compactModelNames).
 */
export function inlineResultText(r: ModelResultState, threshold: number, name = r.model, contradictionThreshold?: number): string {
  if (r.result.error) return `${name} failed`;
  if (r.score === undefined) {
    const kind = noScore(r, undefined)?.kind;
    return `${name} ${kind === 'no-reference' ? 'n/a' : kind === 'empty' ? 'empty' : kind === 'unmeasurable' ? 'not measurable' : 'unscored'}`;
  }
  const score = formatScore(r.score, threshold);
  // Shown even when the score passes: a high cosine can hide a negation.
  const flag = !r.stale && contradicts(r.result, contradictionThreshold) ? ' ⚠ contradicts' : '';
  return r.stale ? `${name} stale ${score}` : r.fromFile ? `${name} from file ${score}${flag}` : `${name} ${score}${flag}`;
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
  const visible = visibleControls(text, 'breaks');
  return visible.length > max ? visible.slice(0, max) + `… (${visible.length - max} more characters)` : visible;
}
