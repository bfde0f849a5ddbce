import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { showError } from '../surfaces';

const SAMPLE_FOLDER = 'pisar-sample';
const SAMPLE_FILE = 'pisar-sample.jsonl';

/**
 * Copies the bundled sample (dataset + images) into the first workspace folder (or the extension's
 * storage when none is open) and opens it. Sidecars are written beside the copy, never into the
 * extension's install folder. An existing copy is opened as it is (it may hold the user's work).
 */
export async function openSample(context: vscode.ExtensionContext): Promise<void> {
  const source = context.asAbsolutePath(path.join('samples', SAMPLE_FILE));
  const root = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath ?? context.globalStorageUri.fsPath;
  const folder = path.join(root, SAMPLE_FOLDER);
  const target = path.join(folder, SAMPLE_FILE);
  const exists = await fsp.stat(target).then(() => true, () => false);
  if (!exists) {
    try {
      await fsp.mkdir(folder, { recursive: true });
      await fsp.copyFile(source, target);
      await fsp.cp(context.asAbsolutePath(path.join('samples', 'images')), path.join(folder, 'images'), { recursive: true, force: false }).catch(() => undefined);
    } catch (err) {
      void showError(`PiSAR Review could not copy the sample to ${folder}: ${(err as Error).message}`);
      return;
    }
  }
  const document = await vscode.workspace.openTextDocument(vscode.Uri.file(target));
  await vscode.window.showTextDocument(document, { preview: false });
}
