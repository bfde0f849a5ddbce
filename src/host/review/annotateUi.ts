import type * as vscode from 'vscode';
import { oneLine } from '../../core/review/reviewModel';
import { formatScore } from '../../core/rules/rules';
import { sameTarget, type AnnotationTarget } from '../../core/store/annotations';
import type { DatasetSession } from './session';
import { ownValue } from '../../core/security/ownKeys';
import { ask, pick, showInfo } from '../surfaces';
import { shownRowState, type ReviewerView } from '../../core/review/blindView';

export type AnnotationChoice =
  | { readonly kind: 'set'; readonly target: AnnotationTarget; readonly label: string; readonly note: string }
  | { readonly kind: 'remove'; readonly annotationId: string };

interface TargetItem extends vscode.QuickPickItem {
  readonly target: AnnotationTarget;
}

interface LabelItem extends vscode.QuickPickItem {
  readonly label: string;
  readonly remove?: boolean;
}

/**
 * Asks what to judge (the reference or one model's output), the label, and an optional note.
 * Quick pick titles and item labels are stable: the end-to-end tests select them by text.
 * `view`: who is reviewing; their own label is the one shown as current (and edited or removed);
 * in blind mode no score and no other reviewer's label is shown.
 */
export async function pickAnnotation(
  session: DatasetSession,
  rowIndex: number,
  labels: readonly string[],
  view: ReviewerView,
  target?: AnnotationTarget,
): Promise<AnnotationChoice | undefined> {
  const rowId = session.dataset.rowIds()[rowIndex];
  const state = shownRowState(session.rowState(rowIndex), view);
  const existingFor = (t: AnnotationTarget) => ownAnnotations(state?.annotations ?? [], view).find((p) => sameTarget(p.annotation.target, t))?.annotation;

  if (!target) {
    let row;
    try {
      row = await session.dataset.getRow(rowIndex);
    } catch {
      row = undefined;
    }
    const models = new Set<string>([...(state?.results.map((r) => r.model) ?? []), ...Object.keys(row?.outputs ?? {})]);
    const items: TargetItem[] = [{
      label: 'Reference rationale',
      description: existingFor({ kind: 'reference' }) ? `marked ${existingFor({ kind: 'reference' })!.label}` : undefined,
      detail: row?.reference === undefined ? '(this row has no reference)' : oneLine(row.reference, 160),
      target: { kind: 'reference' },
    }];
    for (const model of models) {
      const t: AnnotationTarget = { kind: 'output', model };
      const result = state?.results.find((r) => r.model === model);
      const score = result?.score !== undefined ? `score ${formatScore(result.score, session.threshold)}` : result?.result.error ? 'failed' : undefined;
      const marked = existingFor(t);
      items.push({
        label: `Output of ${model}`,
        description: [score, marked ? `marked ${marked.label}` : undefined].filter(Boolean).join(' · ') || undefined,
        detail: oneLine(result?.result.output ?? ownValue(row?.outputs, model) ?? '', 160) || undefined,
        target: t,
      });
    }
    const picked = items.length === 1 ? items[0] : await pick(items, {
      title: `Annotate row ${oneLine(rowId, 60)}`,
      placeHolder: 'What do you judge?',
      matchOnDetail: true,
    });
    if (!picked) return undefined;
    target = picked.target;
  }

  const existing = existingFor(target);
  const labelItems: LabelItem[] = labels.map((l) => ({
    label: l,
    description: existing?.label === l ? 'current' : undefined,
  }));
  if (existing) labelItems.push({ label: 'Remove annotation', remove: true, description: `removes "${existing.label}"` });
  const what = target.kind === 'reference' ? 'the reference' : `the output of ${target.model}`;
  const label = await pick(labelItems, {
    title: `Label for ${oneLine(what, 80)} (row ${oneLine(rowId, 40)})`,
    placeHolder: 'Choose a label',
  });
  if (!label) return undefined;
  if (label.remove && existing) return { kind: 'remove', annotationId: existing.id };

  const note = await ask({
    title: `Note for "${label.label}" (optional)`,
    prompt: 'Why? Leave empty for no note; Escape cancels.',
    value: existing?.note ?? '',
  });
  if (note === undefined) return undefined;
  return { kind: 'set', target, label: label.label, note };
}

/** A reviewer's own annotations (and those written before reviewers were named): the ones they may edit or remove. */
function ownAnnotations<T extends { readonly annotation: { readonly reviewer: string | undefined } }>(annotations: readonly T[], view: ReviewerView): T[] {
  return annotations.filter((p) => p.annotation.reviewer === undefined || p.annotation.reviewer === view.reviewer);
}

/** Picks one of the reviewer's own annotations of a row (for edit / remove): another reviewer's label is theirs. */
export async function pickExistingAnnotation(session: DatasetSession, rowIndex: number, verb: string, view: ReviewerView): Promise<string | undefined> {
  const annotations = ownAnnotations(session.rowState(rowIndex)?.annotations ?? [], view);
  if (annotations.length === 0) {
    void showInfo(view.reviewer ? `This row has no annotation of yours (${view.reviewer}).` : 'This row has no annotations.');
    return undefined;
  }
  // Removing shows what goes even when there is one; editing goes straight to it.
  if (annotations.length === 1 && verb !== 'Remove') return annotations[0].annotation.id;
  const picked = await pick(annotations.map((p) => ({
    label: `${p.annotation.target.kind === 'reference' ? 'Reference rationale' : `Output of ${p.annotation.target.model}`}: ${p.annotation.label}`,
    description: p.state === 'changed' ? 'row changed since' : undefined,
    detail: p.annotation.note ? oneLine(p.annotation.note, 160) : undefined,
    id: p.annotation.id,
  })), { title: `${verb} annotation`, placeHolder: 'Which annotation?' });
  return picked?.id;
}
