import * as vscode from 'vscode';
import { looksLikeJsonl } from '../core/dataset/format';
import { isDatasetFileName, isSidecarFile } from '../core/store/sidecarNames';

// Which documents and tabs are datasets: asked by the session manager, and by the activation entry
// (src/host/lazyReview.ts) to decide when to load the review features. Small on purpose: the entry bundles it.

export function isDatasetDocument(document: vscode.TextDocument): boolean {
  return document.languageId === 'jsonl' && document.uri.scheme === 'file' && !isSidecarFile(document.uri.fsPath);
}

/** A `.json` file (language json) whose text is JSONL, one object a line. */
export function isJsonlTakenForJson(document: vscode.TextDocument): boolean {
  if (document.languageId !== 'json' || document.uri.scheme !== 'file' || isSidecarFile(document.uri.fsPath)) return false;
  return looksLikeJsonl(document.getText(new vscode.Range(0, 0, Math.min(document.lineCount, 50), 0)));
}

/** VS Code hands extensions no document for a file larger than this. */
const EXTENSION_DOCUMENT_LIMIT_BYTES = 50 * 1024 * 1024;

/**
 * The active tab's file when it is a dataset with no document (yet: a tab opens before its document
 * reaches extensions). `datasetSizeOverLimit` tells a file VS Code gives extensions no document for.
 */
export function datasetTabWithoutDocument(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (!(input instanceof vscode.TabInputText) || input.uri.scheme !== 'file') return undefined;
  const uri = input.uri;
  if (isSidecarFile(uri.fsPath) || !isDatasetFileName(uri.fsPath)) return undefined;
  const key = uri.toString();
  return vscode.workspace.textDocuments.some((d) => d.uri.toString() === key) ? undefined : uri;
}

/**
 * The file's size when it is over VS Code's 50 MB limit for extensions and still has no document: it opens
 * in an editor all the same, so the session manager says why inline scores are unavailable and offers the panel.
 */
export async function datasetSizeOverLimit(uri: vscode.Uri): Promise<number | undefined> {
  let size: number;
  try {
    size = (await vscode.workspace.fs.stat(uri)).size;
  } catch {
    return undefined;
  }
  const key = uri.toString();
  return size > EXTENSION_DOCUMENT_LIMIT_BYTES && !vscode.workspace.textDocuments.some((d) => d.uri.toString() === key) ? size : undefined;
}
