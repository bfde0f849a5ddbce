// The review features: sessions, scoring, decorations, diagnostics, the status bar, CodeLens, hovers, the panel
// and every command's handler. Bundled apart as dist/review.js and loaded by the activation entry
// (src/host/lazyReview.ts) at the first use, so activating loads none of this. Not a barrel: a bundle entry point.
import * as vscode from 'vscode';
import { ConfigService } from './config';
import { ReviewLog } from './log';
import { createReviewPanel } from './panel/reviewPanel';
import { RowCodeLensProvider } from './review/codeLens';
import { reviewCommands } from './review/commands';
import { commandRunner, type CommandRunner } from './commands';
import { InlineDecorations } from './review/decorations';
import { ReviewDiagnostics } from './review/diagnostics';
import { RowHoverProvider } from './review/hover';
import { rowRequests } from './review/requestPreview';
import { ReviewService } from './review/reviewService';
import { ScoringController } from './review/scoring';
import { SessionManager } from './review/sessions';
import { ReviewStatusBar } from './review/statusBar';
import { ApiKeyStore } from './secrets';
import { BatchController } from './review/batches';

/** What the activation entry registers under its ids and forwards to. */
export interface ReviewFeatures {
  readonly runCommand: CommandRunner;
  readonly codeLens: vscode.CodeLensProvider;
  readonly hover: vscode.HoverProvider;
  readonly panel: vscode.WebviewViewProvider;
}

/** How long activation and this load took, for the log. */
export interface StartTimes {
  /** The activate() call of the entry, in ms. */
  readonly activateMs: number;
  /** VS Code's own marks around the require of dist/extension.js, in ms, where the host keeps them. */
  readonly codeLoadMs: number | undefined;
  /** When the entry began loading this bundle (performance.now()). */
  readonly loadStarted: number;
  /** Why it was loaded: the first use. */
  readonly reason: string;
}

/** Builds the services and features; what it creates is disposed with the extension's context. */
export function startReview(context: vscode.ExtensionContext, times: StartTimes): ReviewFeatures {
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
  );
  const panel = createReviewPanel(context, review, (file, index) => rowRequests(sessions.get(vscode.Uri.file(file)), index, config.current.models, (name) => keys.has(name)));
  const runCommand = commandRunner({ ...reviewCommands({ context, sessions, review, scoring, config, keys, log, batches }), ...panel.commands }, log);
  const codeLoad = times.codeLoadMs === undefined ? '' : ` (VS Code's marks: its code loaded in ${times.codeLoadMs} ms)`;
  log.info(`Activated in ${times.activateMs.toFixed(1)} ms${codeLoad}; the review features loaded at the first use (${times.reason}) in ${(performance.now() - times.loadStarted).toFixed(1)} ms.`);
  return { runCommand, codeLens, hover: new RowHoverProvider(sessions, config), panel: panel.provider };
}
