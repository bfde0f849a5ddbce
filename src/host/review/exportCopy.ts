import * as path from 'node:path';
import * as vscode from 'vscode';
import { annotatedCopyFields, ANNOTATIONS_FIELD, RESULTS_FIELD } from '../../core/review/annotatedCopy';
import { datasetStem, isSidecarFile } from '../../core/store/sidecarNames';
import { writeSafe } from '../../core/store/safeFile';
import type { DatasetSession } from './session';
import { showError, showInfo } from '../surfaces';

/**
 * Writes a copy of the dataset (as in the editor) where each annotated row gains a `pisar_annotations`
 * list and each row with a current result `pisar_results` (score, contradiction check, judge's verdict
 * per model; annotatedCopyFields). The only way annotations enter a dataset file, and never the dataset
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
  const byLine = annotatedCopyFields(session);
  const eol = document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
  const out: string[] = [];
  for (let i = 0; i < document.lineCount; i++) {
    const text = document.lineAt(i).text;
    const fields = byLine.get(i + 1);
    if (!fields) {
      out.push(text);
      continue;
    }
    const row = JSON.parse(text) as Record<string, unknown>;
    out.push(JSON.stringify({ ...row, ...fields }));
  }
  await writeSafe(target.fsPath, out.join(eol) + (document.getText().endsWith('\n') ? eol : ''));
  const annotated = [...byLine.values()].filter((f) => f[ANNOTATIONS_FIELD] !== undefined).length;
  const withResults = [...byLine.values()].filter((f) => f[RESULTS_FIELD] !== undefined).length;
  void showInfo(`PiSAR Review: exported ${annotated} annotated row(s) and ${withResults} row(s) with results to ${path.basename(target.fsPath)}.`);
  return target;
}
