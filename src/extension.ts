import * as vscode from 'vscode';
import { ConfigService } from './host/config';
import { ReviewLog } from './host/log';
import { registerReviewPanel } from './host/panel/reviewPanel';
import { RowCodeLensProvider } from './host/review/codeLens';
import { reviewCommands } from './host/review/commands';
import { registerCommandTable } from './host/commands';
import { InlineDecorations } from './host/review/decorations';
import { ReviewDiagnostics } from './host/review/diagnostics';
import { RowHoverProvider } from './host/review/hover';
import type { ReviewApi } from './host/review/reviewApi';
import { rowRequests } from './host/review/requestPreview';
import { ReviewService } from './host/review/reviewService';
import { ScoringController } from './host/review/scoring';
import { SessionManager } from './host/review/sessions';
import { ReviewStatusBar } from './host/review/statusBar';
import { ApiKeyStore } from './host/secrets';
import { BatchController } from './host/review/batches';
import { showError } from './host/surfaces';

const DATASET_SELECTOR: vscode.DocumentSelector = { language: 'jsonl', scheme: 'file' };

/** Wires the features; returns the review API (the panel, and tests, use it). */
export async function activate(context: vscode.ExtensionContext): Promise<ReviewApi> {
  const started = performance.now();
  try {
    const log = new ReviewLog();
    const config = new ConfigService(log);
    const keys = new ApiKeyStore(context.secrets, log);
    const sessions = new SessionManager(config, log);
    const scoring = new ScoringController(
      sessions, config, keys, log,
      context.globalStorageUri.fsPath,
      context.asAbsolutePath('dist/scoring-worker.js'),
    );
    const review = new ReviewService(sessions, scoring, config);
    const batches = new BatchController(sessions, scoring, config, keys, log);
    const codeLens = new RowCodeLensProvider(sessions, scoring, config);
    context.subscriptions.push(
      log, config, sessions, scoring, review, codeLens, batches,
      new InlineDecorations(sessions, config),
      new ReviewDiagnostics(sessions, config),
      new ReviewStatusBar(sessions, scoring, config),
      vscode.languages.registerCodeLensProvider(DATASET_SELECTOR, codeLens),
      vscode.languages.registerHoverProvider(DATASET_SELECTOR, new RowHoverProvider(sessions, config)),
    );
    const panelCommands = registerReviewPanel(context, review, (file, index) => rowRequests(sessions.get(vscode.Uri.file(file)), index, config.current.models, (name) => keys.has(name)));
    context.subscriptions.push(...registerCommandTable({ ...reviewCommands({ context, sessions, review, scoring, config, keys, log, batches }), ...panelCommands }, log));
    log.info(`Activated in ${(performance.now() - started).toFixed(1)} ms.`);
    return review;
  } catch (err) {
    void showError(`PiSAR Review failed to start: ${(err as Error).message}`);
    throw err;
  }
}

export function deactivate(): void {}
