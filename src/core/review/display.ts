/** How review facts read for a person, alike in the editor, the panel and the CLI. Pure: no vscode. */
import type { ModelResultState } from './datasetReview';
import { resultStatus, unmeasurableNote } from '../rules/rules';
import type { StoredResult } from '../store/results';

/** Why a stored output has no score, as the editor and the panel say it. */
export interface NoScore {
  /**
   * 'no-reference': nothing to compare with (expected); 'empty': the model answered with blank text;
   * 'unmeasurable': most word pieces are unknown to the embedding model (another model is the fix);
   * 'unscored': the embedding step did not finish (a problem to fix).
   */
  readonly kind: 'no-reference' | 'empty' | 'unmeasurable' | 'unscored';
  readonly reason: string;
}

/**
 * Why the output of `r` has no score, or undefined when it has one (or the call failed).
 * `scoringFailure`: why the last run could not score, when known (see DatasetReview.scoringFailure).
 */
export function noScore(r: ModelResultState, scoringFailure: string | undefined): NoScore | undefined {
  if (r.result.error || r.score !== undefined) return undefined;
  if (resultStatus(r.result) === 'empty') return { kind: 'empty', reason: r.error ?? 'the model answered with blank text' };
  if (resultStatus(r.result) === 'unmeasurable') return { kind: 'unmeasurable', reason: unmeasurableNote(r.result.unmeasurable!) };
  if (r.result.scoreNote) return { kind: /no reference/.test(r.result.scoreNote) ? 'no-reference' : 'unscored', reason: r.result.scoreNote };
  return {
    kind: 'unscored',
    reason: scoringFailure
      ? `the embedding model failed: ${scoringFailure}`
      : 'the output was stored before it was scored (the run was cancelled or the embedding model failed); score the row again',
  };
}

/**
 * Short, distinct names for model columns and inline scores: a name up to `max` characters stays; a
 * longer one keeps its start and its end (`annotator-ft-qwen3` -> `annot…qwen3`), since names of one
 * family differ at the end as often as at the start. Lengthened until no two names read the same.
 */
export function compactModelNames(models: readonly string[], max = 12): Map<string, string> {
  const out = new Map<string, string>();
  for (let width = Math.max(5, max); ; width += 2) {
    out.clear();
    for (const m of models) out.set(m, middleTruncate(m, width));
    const shown = [...out.values()];
    if (new Set(shown).size === shown.length || models.every((m) => m.length <= width)) return out;
  }
}

/** `text` cut to `max` characters by an ellipsis in the middle. */
export function middleTruncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return `${text.slice(0, head)}…${tail > 0 ? text.slice(text.length - tail) : ''}`;
}

/** A problem for a person: what is wrong, then the fix, kept apart (`… is not JSON. Fix: …`). */
export function withFix(message: string, fix: string | undefined): string {
  const what = message.trim().replace(/[.\s]+$/, '');
  return fix && fix.trim() ? `${what}. Fix: ${fix.trim()}` : `${what}.`;
}

/**
 * The embedding model named by a scorer key as stored beside each score (`local:<id or folder>:<dtype>`,
 * `remote:<origin>:<model>`), for people: `all-MiniLM-L6-v2 (fp32)`, `text-embedding-3-small at api.openai.com`.
 */
export function embeddingModelName(scorerKey: string): string {
  const local = /^local:(.+):(fp32|q8|fp16|q4)$/.exec(scorerKey);
  if (local) {
    const parts = local[1].split(/[\\/]+/).filter((p) => p !== '');
    return `${parts[parts.length - 1] ?? local[1]} (${local[2]})`;
  }
  const remote = /^remote:(\w+:\/\/[^:/]+(?::\d+)?):(.+)$/.exec(scorerKey);
  if (remote) return `${remote[2]} at ${remote[1].replace(/^\w+:\/\//, '')}`;
  return scorerKey;
}

/**
 * Which of a row's several references an output matched, as every view says it: "best of 3 references:
 * matched #3 (#1 0.412 · #2 0.388 · #3 0.721)"; undefined for a result scored against one reference.
 */
export function matchedReferenceText(r: Pick<StoredResult, 'referenceScores' | 'matchedReference' | 'multiReference'>): string | undefined {
  if (!r.referenceScores || r.matchedReference === undefined) return undefined;
  const each = r.referenceScores.map((s, i) => `#${i + 1} ${s === null ? 'not scored' : s.toFixed(3)}`).join(' · ');
  return `${r.multiReference === 'mean' ? 'mean over' : 'best of'} ${r.referenceScores.length} references: matched #${r.matchedReference + 1} (${each})`;
}

