import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { datasetStem } from '../../core/store/sidecarNames';
import * as vscode from 'vscode';
import { renderReport, type ReportFormat, type ReportRow } from '../../core/report/render';
import { imageUrlFor } from '../../core/runner/images';
import { writeSafe } from '../../core/store/safeFile';
import type { ImageView } from '../../shared/protocol';
import type { ReviewApi } from '../review/reviewApi';
import { useSuggestedThreshold } from '../review/statistics';
import type { CommandTable } from '../commands';
import type { PanelCommandName } from '../review/commands';
import { Commands, ViewCommands } from '../ids';
import { describeQuery, isPanelMessage, PanelController } from './panelController';
import { PANEL_STYLES, panelPage } from './panelPage';
import type { PanelSource } from './panelData';
import { dict } from '../../core/security/ownKeys';
import { pick, showError, showInfo, showWarning } from '../surfaces';
import { setBlindMode } from '../review/blindMode';

/** Largest image shown as a thumbnail; bigger ones are named, not loaded. */
const MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024;
/** Rows read at once while exporting. */
const EXPORT_BATCH = 200;

/** The side panel's parts the activation entry registers (src/host/lazyReview.ts): its view's provider and its commands. */
export interface ReviewPanel {
  readonly provider: vscode.WebviewViewProvider;
  readonly commands: Pick<CommandTable, PanelCommandName>;
}

/**
 * Sets up the side panel (a webview view): returns its view's provider and its commands' handlers. The
 * controller outlives the webview, so the export command works on the panel's view even while the panel is closed.
 */
export function createReviewPanel(context: vscode.ExtensionContext, api: ReviewApi, requestPreviews?: PanelSource['requestPreviews']): ReviewPanel {
  const source: PanelSource = {
    activeDataset: () => api.activeDataset(),
    summary: () => api.summary(),
    rows: (start, count) => api.rows(start, count),
    filterRows: (filter) => api.filterRows(filter),
    rowDetail: (index) => api.rowDetail(index),
    scoreColumns: () => api.scoreColumns(),
    indexOfRow: (id) => api.indexOfRow(id),
    rowIdAt: (index) => api.rowIdAt(index),
    isScoring: () => api.isScoring(),
    // Keeps the keyboard in the panel, so j/k keep working.
    revealRow: (index) => api.revealRow(index, { preserveFocus: true }),
    scoreRows: (indexes, options) => api.scoreRows(indexes, options),
    scoreAll: (options) => api.scoreAll(options),
    annotate: (index, target, label, note) => api.annotate(index, target, label, note),
    removeAnnotation: (id) => api.removeAnnotation(id),
    adjudicate: (index, target, label, note) => api.adjudicate(index, target, label, note),
    agreement: () => api.agreement(),
    setBlind: (blind) => setBlindMode(blind),
    exportTraining: async () => {
      await vscode.commands.executeCommand(Commands.exportTrainingData);
    },
    exportReport: async () => {
      await vscode.commands.executeCommand(Commands.exportReport);
    },
    loadImage: loadThumbnail,
    ...(api.statistics ? { statistics: (sliceField?: string) => api.statistics!(sliceField) } : {}),
    ...(api.compare ? { compare: (a: string, b: string) => api.compare!(a, b) } : {}),
    useThreshold: async (threshold) => {
      await vscode.commands.executeCommand(Commands.useSuggestedThreshold, threshold);
    },
    ...(requestPreviews ? { requestPreviews } : {}),
  };
  const controller = new PanelController(source);
  const provider = new ReviewPanelProvider(context.extensionUri, controller);
  context.subscriptions.push(
    { dispose: () => controller.dispose() },
    api.onDidChangeActiveDataset(() => void controller.datasetChanged()),
    api.onDidChangeRows((change) => {
      if (change.file === api.activeDataset()?.file) controller.rowsChanged(change.indexes);
    }),
    api.onDidChangeCursorRow((cursor) => {
      if (cursor.file === api.activeDataset()?.file) controller.cursorChanged(cursor.index);
    }),
  );
  void controller.datasetChanged();
  return {
    provider,
    commands: {
      exportReport: () => exportReport(api, controller),
      showPanel: () => vscode.commands.executeCommand(ViewCommands.focusPanel),
      useSuggestedThreshold: (threshold?: unknown) => useSuggestedThreshold(async () => api.statistics?.(), threshold),
    },
  };
}

class ReviewPanelProvider implements vscode.WebviewViewProvider {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly controller: PanelController,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    const webview = view.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
    webview.html = panelHtml(webview, this.extensionUri);
    const received = webview.onDidReceiveMessage((message: unknown) => {
      if (!isPanelMessage(message)) return;
      this.controller.handle(message).catch((error: unknown) => {
        void showError(`PiSAR Review panel: ${error instanceof Error ? error.message : String(error)}`);
      });
    });
    this.controller.attach((message) => void webview.postMessage(message));
    view.onDidDispose(() => {
      received.dispose();
      this.controller.detach();
    });
  }
}

/** The panel's page: no inline script or style; the script runs by a fresh nonce. */
export function panelHtml(webview: Pick<vscode.Webview, 'cspSource' | 'asWebviewUri'>, extensionUri: vscode.Uri): string {
  return panelPage({
    cspSource: webview.cspSource,
    nonce: randomBytes(18).toString('base64'),
    script: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'main.js')).toString(),
    styles: PANEL_STYLES.map((name) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', name)).toString()),
  });
}

/** A thumbnail for the detail view: local files only from inside the workspace, checked by their bytes. */
async function loadThumbnail(datasetFile: string, image: ImageView): Promise<{ dataUrl?: string; problem?: string }> {
  if (image.kind === 'url') return { problem: `${image.source} is a remote image; the panel loads nothing from the network.` };
  if (image.kind === 'data') {
    if (!/^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$/i.test(image.source)) return { problem: 'Only PNG, JPEG, GIF or WebP data URLs are shown.' };
    if (image.source.length * 0.75 > MAX_THUMBNAIL_BYTES) return { problem: 'The inline image is too large to show.' };
    return { dataUrl: image.source };
  }
  const resolved = path.resolve(path.dirname(datasetFile), image.source);
  if (!vscode.workspace.getWorkspaceFolder(vscode.Uri.file(resolved))) {
    return { problem: `${image.source} is outside the workspace; it is not read.` };
  }
  try {
    return { dataUrl: await imageUrlFor({ kind: 'path', value: image.source }, datasetFile, MAX_THUMBNAIL_BYTES) };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

const FORMATS: { format: ReportFormat; label: string; description: string }[] = [
  { format: 'markdown', label: 'Markdown', description: 'summary and rows as tables (.md)' },
  { format: 'csv', label: 'CSV', description: 'rows (.csv) and summary (.summary.csv)' },
  { format: 'jsonl', label: 'JSONL', description: 'a summary line, then one line per row (.jsonl)' },
];

/** Exports the summary and the rows in the panel's view (its filters and sort) to files the user picks. */
async function exportReport(api: ReviewApi, controller: PanelController): Promise<void> {
  const dataset = api.activeDataset();
  if (!dataset) {
    void showWarning('PiSAR Review: open a dataset (.jsonl) before exporting a report.');
    return;
  }
  const chosen = await pick(
    FORMATS.map((f) => ({ ...f })),
    { title: 'Export PiSAR Review report', placeHolder: 'Format of the summary and the rows in the panel' },
  );
  if (!chosen) return;
  const stem = datasetStem(dataset.file);
  const extension = chosen.format === 'markdown' ? 'md' : chosen.format;
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.file(path.join(path.dirname(dataset.file), `${stem}.pisar-report.${extension}`)),
    filters: { [chosen.label]: [extension] },
    title: 'Save the report',
  });
  if (!target) return;
  await controller.settled();
  const indexes = Array.from(controller.viewIndexes());
  const summary = controller.summary();
  const written = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Exporting the PiSAR Review report', cancellable: true },
    async (progress, token) => {
      const rows: ReportRow[] = [];
      for (let start = 0; start < indexes.length; start += EXPORT_BATCH) {
        if (token.isCancellationRequested) return undefined;
        const details = await Promise.all(indexes.slice(start, start + EXPORT_BATCH).map((i) => api.rowDetail(i)));
        for (const d of details) {
          if (!d) continue;
          const scores = dict<ReportRow['scores'][string]>();
          const outputs = dict<string>();
          for (const o of d.outputs) {
            if (o.output !== null) outputs[o.model] = o.output;
            if (!o.score) continue; // a precomputed output with no stored result
            // The report renders the score itself (formatScore): keep the export's fields as they were.
            const { text: _text, below: _below, contradicts: _words, ...view } = o.score;
            scores[o.model] = view;
          }
          rows.push({ index: d.index, line: d.line, id: d.id, input: d.input, reference: d.reference, scores, outputs, annotations: d.annotations });
        }
        progress.report({ increment: (EXPORT_BATCH / Math.max(1, indexes.length)) * 100 });
      }
      const files = renderReport(chosen.format, {
        summary: {
          file: dataset.file,
          threshold: dataset.threshold,
          rowCount: dataset.rowCount,
          models: (summary?.models ?? []).map((m) => ({ model: m.model, scored: m.scored, mean: m.mean, median: m.median, shareAtLeast: m.shareAtLeast, failures: m.failures, histogram: m.histogramBins })),
          gaps: summary?.gaps ?? [],
          annotated: summary?.annotated ?? 0,
          selection: describeQuery(controller.currentQuery(), dataset.threshold, rows.length, dataset.rowCount),
        },
        models: dataset.models,
        distribution: true,
        rows,
        statistics: await api.statistics?.(),
      });
      const out: string[] = [];
      const base = target.fsPath.replace(/\.[^./\\]+$/, '');
      for (const file of files) {
        const destination = file.suffix === '' ? target.fsPath : `${base}${file.suffix}${file.extension}`;
        await writeSafe(destination, file.text);
        out.push(destination);
      }
      return out;
    },
  );
  if (!written) return;
  const open = 'Open';
  const choice = await showInfo(`Exported ${indexes.length} rows to ${written.map((f) => path.basename(f)).join(' and ')}.`, open);
  if (choice === open) await vscode.window.showTextDocument(vscode.Uri.file(written[0]));
}
