import * as path from 'node:path';
import * as vscode from 'vscode';
import { datasetStem, isSidecarFile } from '../../core/store/sidecarNames';
import { writeSafe } from '../../core/store/safeFile';
import type { DatasetSession } from './session';
import { showError, showInfo } from '../surfaces';

/** The field the exported copy adds to each annotated row. */
export const EXPORT_FIELD = 'pisar_annotations';

/**
 * Writes a copy of the dataset (as in the editor) where each annotated row gains a
 * `pisar_annotations` list. The only way annotations enter a dataset file, and never the dataset
 * itself: the target must be another file.
 */
export async function exportAnnotatedCopy(session: DatasetSession, document: vscode.TextDocument): Promise<vscode.Uri | undefined> {
  const dir = path.dirname(session.file);
  const stem = datasetStem(session.file);
  const target = await vscode.window.showSaveDialog({
    title: 'Export a copy of the dataset with its annotations',
    defaultUri: vscode.Uri.file(path.join(dir, `${stem}.annotated.jsonl`)),
    filters: { 'JSON Lines': ['jsonl'] },
    saveLabel: 'Export Copy',
  });
  if (!target) return undefined;
  if (path.resolve(target.fsPath) === path.resolve(session.file)) {
    void showError('PiSAR Review never writes annotations into the dataset itself; choose another file name for the copy.');
    return undefined;
  }
  if (isSidecarFile(target.fsPath)) {
    void showError(`${path.basename(target.fsPath)} is a PiSAR sidecar name; choose another file name for the copy.`);
    return undefined;
  }
  const byLine = new Map<number, object[]>();
  for (const state of session.rowStates().values()) {
    if (state.annotations.length === 0) continue;
    byLine.set(session.dataset.rowLine(state.index), state.annotations.map((p) => ({
      target: p.annotation.target.kind,
      ...(p.annotation.target.kind === 'output' ? { model: p.annotation.target.model } : {}),
      label: p.annotation.label,
      ...(p.annotation.note ? { note: p.annotation.note } : {}),
      ...(p.state === 'changed' ? { rowChangedSinceAnnotated: true } : {}),
      at: p.annotation.updatedAt,
    })));
  }
  const eol = document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
  const out: string[] = [];
  for (let i = 0; i < document.lineCount; i++) {
    const text = document.lineAt(i).text;
    const annotations = byLine.get(i + 1);
    if (!annotations) {
      out.push(text);
      continue;
    }
    const row = JSON.parse(text) as Record<string, unknown>;
    out.push(JSON.stringify({ ...row, [EXPORT_FIELD]: annotations }));
  }
  await writeSafe(target.fsPath, out.join(eol) + (document.getText().endsWith('\n') ? eol : ''));
  void showInfo(`PiSAR Review: exported ${byLine.size} annotated row(s) to ${path.basename(target.fsPath)}.`);
  return target;
}
