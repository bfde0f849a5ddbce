import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelConfig } from '../../core/config/models';
import type { DatasetRow } from '../../core/dataset/types';
import type { PreviewDocument } from '../../core/runner/preview';
import type { RequestView } from '../../shared/protocol';
import { loadEngine } from '../loadEngine';
import type { DatasetSession } from './session';

/** The scheme of the read-only documents that show a row's request. */
const REQUEST_SCHEME = 'pisar-review-request';

/** A row id or model name as a piece of a document's name: no path separators, query or control characters. */
function namePart(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  return text.replace(/[\u0000-\u001f\u007f/\\?#%:*|"<>]/g, '_').slice(0, 60);
}

/**
 * Read-only documents holding the request a row would send (the `preview --json` document): a content
 * provider's documents cannot be edited or saved over the dataset, and are dropped with their tab.
 */
class RequestDocuments implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  async show(doc: PreviewDocument): Promise<void> {
    const name = `${namePart(path.basename(doc.file))} row ${namePart(doc.row.id)} to ${namePart(doc.model.name)}.request.json`;
    const uri = vscode.Uri.from({ scheme: REQUEST_SCHEME, path: `/${name}` });
    this.texts.set(uri.toString(), `${JSON.stringify(doc, null, 2)}\n`);
    this.changed.fire(uri);
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(document, 'json');
    await vscode.window.showTextDocument(document, { preview: false, viewColumn: vscode.ViewColumn.Beside });
  }

  dispose(): void {
    this.changed.dispose();
    this.texts.clear();
  }
}

let documents: RequestDocuments | undefined;

/**
 * The request `row` would send to `model` (the core's previewDocument, as `pisar-review preview`
 * prints it), or why nothing would be sent, with the fix.
 */
export async function previewFor(row: DatasetRow, model: ModelConfig, datasetFile: string, hasKey: boolean): Promise<{ doc: PreviewDocument } | { problem: string }> {
  const { previewDocument, PromptError, ImageError } = loadEngine();
  try {
    return { doc: await previewDocument(row, model, datasetFile, hasKey) };
  } catch (err) {
    if (err instanceof PromptError || err instanceof ImageError) return { problem: `${datasetFile}:${row.line}: ${err.message}. ${err.fix} Nothing would be sent for this row.` };
    throw err;
  }
}

/** The request a row of a session would send to each configured model, for the panel's row detail. */
export async function rowRequests(session: DatasetSession | undefined, index: number, models: readonly ModelConfig[], hasKey: (name: string) => Promise<boolean>): Promise<RequestView[]> {
  if (!session || models.length === 0 || index < 0 || index >= session.dataset.rowCount) return [];
  const row = await session.dataset.getRow(index);
  return Promise.all(models.map(async (model) => {
    const preview = await previewFor(row, model, session.file, await hasKey(model.name));
    return 'doc' in preview ? { model: model.name, request: JSON.stringify(preview.doc, null, 2) } : { model: model.name, request: null, problem: preview.problem };
  }));
}

/** Opens the request preview beside the dataset, read-only (the provider is registered at first use, owned by the extension). */
export async function showRequestPreview(context: vscode.ExtensionContext, doc: PreviewDocument): Promise<void> {
  if (!documents) {
    documents = new RequestDocuments();
    context.subscriptions.push(documents, vscode.workspace.registerTextDocumentContentProvider(REQUEST_SCHEME, documents), { dispose: () => (documents = undefined) });
  }
  await documents.show(doc);
}
