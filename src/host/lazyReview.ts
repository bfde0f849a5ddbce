import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { datasetSizeOverLimit, datasetTabWithoutDocument, isDatasetDocument, isJsonlTakenForJson } from './datasetDocuments';
import { Views } from './ids';
import type { ReviewFeatures } from './reviewFeatures';
import { showError } from './surfaces';

const DATASET_SELECTOR: vscode.DocumentSelector = { language: 'jsonl', scheme: 'file' };

/** A document the review features open a session for (a dataset, or a .json file holding JSONL). */
function isReviewDocument(document: vscode.TextDocument): boolean {
  return isDatasetDocument(document) || isJsonlTakenForJson(document);
}

/**
 * What activation does: registers every command, the CodeLens and hover providers and the panel's view under
 * their ids, each forwarding to the review features (dist/review.js, src/host/reviewFeatures.ts), which load
 * at the first use: a dataset open or opened, a command, the panel shown. Activating parses none of them.
 */
export function activateLazily(context: vscode.ExtensionContext, activateStarted: number): void {
  const lazy = new LazyReview(context);
  const codeLensChanged = new vscode.EventEmitter<void>();
  lazy.onLoad((features) => {
    const forwarded = features.codeLens.onDidChangeCodeLenses?.(() => codeLensChanged.fire());
    if (forwarded) context.subscriptions.push(forwarded);
  });
  context.subscriptions.push(
    lazy,
    codeLensChanged,
    ...registerCommands(async (name, args) => {
      const features = lazy.tryGet(`the command ${name}`);
      if (features) await features.runCommand(name, args);
    }),
    vscode.languages.registerCodeLensProvider(DATASET_SELECTOR, {
      onDidChangeCodeLenses: codeLensChanged.event,
      provideCodeLenses: (document, token) => lazy.tryGet('CodeLens')?.codeLens.provideCodeLenses(document, token),
      resolveCodeLens: (lens, token) => {
        const codeLens = lazy.tryGet('CodeLens')?.codeLens;
        return codeLens?.resolveCodeLens ? codeLens.resolveCodeLens(lens, token) : lens;
      },
    }),
    vscode.languages.registerHoverProvider(DATASET_SELECTOR, {
      provideHover: (document, position, token) => lazy.tryGet('a hover')?.hover.provideHover(document, position, token),
    }),
    vscode.window.registerWebviewViewProvider(Views.panel, {
      resolveWebviewView: (view, resolveContext, token) => lazy.tryGet('the panel')?.panel.resolveWebviewView(view, resolveContext, token),
    }, { webviewOptions: { retainContextWhenHidden: true } }),
  );
  // A dataset open at activation (what activates us, usually) is a use: load just after activate() returns.
  if (vscode.workspace.textDocuments.some(isReviewDocument)) lazy.loadSoon('a dataset open at activation');
  else {
    // A dataset over VS Code's 50 MB limit has a tab and no document: the session manager tells the user so.
    const largeTab = (reason: string) => {
      const uri = datasetTabWithoutDocument();
      if (uri) void datasetSizeOverLimit(uri).then((size) => size !== undefined && lazy.loadSoon(reason));
    };
    const watchers = vscode.Disposable.from(
      vscode.workspace.onDidOpenTextDocument((document) => {
        if (isReviewDocument(document)) lazy.loadSoon('a dataset opened');
      }),
      vscode.window.tabGroups.onDidChangeTabs(() => largeTab('a dataset over 50 MB opened')),
    );
    lazy.onLoad(() => watchers.dispose());
    context.subscriptions.push(watchers);
    largeTab('a dataset over 50 MB open at activation');
  }
  lazy.activateMs = performance.now() - activateStarted;
  lazy.codeLoadMs = ownCodeLoadMs(context.extension.id);
}

/**
 * How long VS Code's own marks say this extension's main module took to load (`code/extHost/willLoadExtensionCode/<id>`
 * to `didLoadExtensionCode/<id>`, set around its require, whole milliseconds), or undefined where the host keeps no
 * such marks. Running Extensions' code-loading figure starts with every extension of the activation batch and can
 * be far larger (docs/benchmarks.md, "Why the activation figure is not ours"). Read for the log only: never fails.
 */
function ownCodeLoadMs(id: string): number | undefined {
  try {
    const marks = (globalThis as { MonacoPerformanceMarks?: { getMarks?: () => unknown } }).MonacoPerformanceMarks?.getMarks?.();
    if (!Array.isArray(marks)) return undefined;
    const at = (name: string) => (marks as { name?: unknown; startTime?: unknown }[]).find((m) => m.name === name)?.startTime;
    const will = at(`code/extHost/willLoadExtensionCode/${id}`);
    const did = at(`code/extHost/didLoadExtensionCode/${id}`);
    return typeof will === 'number' && typeof did === 'number' ? did - will : undefined;
  } catch {
    return undefined;
  }
}

/** The review features, loaded once, at the first use. */
class LazyReview implements vscode.Disposable {
  private features: ReviewFeatures | undefined;
  private failure: Error | undefined;
  private loading = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners: ((features: ReviewFeatures) => unknown)[] = [];
  activateMs = 0;
  codeLoadMs: number | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {}

  /** Calls `listener` once the features have loaded. */
  onLoad(listener: (features: ReviewFeatures) => unknown): void {
    this.listeners.push(listener);
  }

  /** Loads the features in a task of their own, after what runs now (activate(), an event). */
  loadSoon(reason: string): void {
    if (this.features || this.failure || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tryGet(reason);
    }, 0);
  }

  /** The features, loaded now if they were not; undefined when they cannot load (told once). */
  tryGet(reason: string): ReviewFeatures | undefined {
    if (this.features || this.failure) return this.features;
    if (this.loading) throw new Error(`PiSAR Review: ${reason} asked for the review features while they load`);
    this.loading = true;
    const loadStarted = performance.now();
    try {
      // A path computed at run time: esbuild leaves it alone, so the features stay out of dist/extension.js.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a require at run time, by design (see above)
      const bundle = require(path.join(__dirname, 'review.js')) as typeof import('./reviewFeatures');
      this.features = bundle.startReview(this.context, { activateMs: this.activateMs, codeLoadMs: this.codeLoadMs, loadStarted, reason });
    } catch (err) {
      // Shown once, then each later use is a no-op rather than the same failure again.
      this.failure = err as Error;
      void showError(`PiSAR Review failed to start: ${this.failure.message}`);
      console.error(this.failure);
      return undefined;
    } finally {
      this.loading = false;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const listener of this.listeners.splice(0)) listener(this.features);
    return this.features;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.listeners.length = 0;
  }
}
