import * as path from 'node:path';
import * as vscode from 'vscode';
import { Dataset } from '../../core/dataset/datasetReader';
import { DatasetReview } from '../../core/review/datasetReview';
import { AnnotationStore, annotationsFileFor } from '../../core/store/annotations';
import { ResultsStore, resultsFileFor } from '../../core/store/results';
import type { ReviewConfig } from '../reviewConfig';
import type { ReviewLog } from '../log';
import { Debouncer } from '../debounce';
import { DisposableStore } from '../dispose';

export type { ModelResultState, PlacedAnnotation, RowState } from '../../core/review/datasetReview';

export interface SessionChange {
  /** Undefined: anything may have changed. */
  readonly indexes?: readonly number[];
}

/**
 * The review state of one open dataset document (core's DatasetReview) kept in step with VS Code:
 * the dataset as in the editor buffer, its sidecars reloaded when another process writes them, and
 * an event on every change.
 */
export class DatasetSession extends DatasetReview implements vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly emitter = this.disposables.add(new vscode.EventEmitter<SessionChange>());
  private readonly reloads = this.disposables.add(new Debouncer<string>(150));
  private readonly ready: Promise<void>;
  private disposed = false;

  readonly onDidChange = this.emitter.event;
  readonly uri: vscode.Uri;
  readonly resultsFile: string;
  readonly annotationsFile: string;

  /**
   * A session over an open document, or over a file read from disk (`{uri, dataset}`): a file over
   * VS Code's 50 MB limit never reaches extensions as a document, and is reviewed in the panel only.
   */
  constructor(
    source: vscode.TextDocument | { readonly uri: vscode.Uri; readonly dataset: Dataset },
    private config: ReviewConfig,
    private readonly log: ReviewLog,
  ) {
    const file = source.uri.fsPath;
    super(file, 'dataset' in source ? source.dataset : Dataset.fromText(file, source.getText(), { mapping: config.fieldMapping }), config);
    this.uri = source.uri;
    this.resultsFile = resultsFileFor(this.file);
    this.annotationsFile = annotationsFileFor(this.file);
    this.disposables.add(this.onDidChangeRows(({ indexes }) => this.emitter.fire(indexes ? { indexes } : {})));
    this.ready = this.loadStores();
    this.watchSidecars();
  }

  /** Resolves once the sidecars have been read the first time. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Re-indexes the buffer (called debounced while typing, and when the file changes on disk). */
  updateText(text: string): void {
    this.replaceDataset(this.parse(text));
  }

  updateConfig(config: ReviewConfig): void {
    const reparse = JSON.stringify(config.fieldMapping) !== JSON.stringify(this.config.fieldMapping);
    this.config = config;
    this.settings = config;
    if (reparse) {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.uri.toString());
      if (doc) this._dataset = this.parse(doc.getText());
    }
    this.changed();
  }

  override async resultsStore(): Promise<ResultsStore> {
    await this.ready;
    return super.resultsStore();
  }

  override async annotationStore(): Promise<AnnotationStore> {
    await this.ready;
    return super.annotationStore();
  }

  protected override canRepair(): boolean {
    return vscode.workspace.isTrusted;
  }

  private parse(text: string): Dataset {
    return Dataset.fromText(this.file, text, { mapping: this.config.fieldMapping });
  }

  private async loadStores(): Promise<void> {
    const repair = this.canRepair();
    const [results, annotations] = await Promise.allSettled([
      ResultsStore.open(this.file, { repair }),
      AnnotationStore.forDataset(this.file, { repair }),
    ]);
    if (results.status === 'fulfilled') this.useResults(results.value);
    else this.log.error(`${this.resultsFile}: cannot be read: ${String(results.reason)}`);
    if (annotations.status === 'fulfilled') this.useAnnotations(annotations.value);
    else this.log.error(`${this.annotationsFile}: cannot be read: ${String(annotations.reason)}`);
    if (!this.disposed) this.changed();
  }

  /**
   * Watches the sidecars for OTHER writers (another window, the CLI): this window's own writes reach
   * the views through the stores' change events, and a refresh after them finds nothing new to read.
   */
  private watchSidecars(): void {
    const dir = vscode.Uri.file(path.dirname(this.file));
    for (const file of [this.resultsFile, this.annotationsFile]) {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(dir, path.basename(file)));
      const onEvent = () => this.reloads.restart(file, () => void this.refresh(file));
      this.disposables.add(vscode.Disposable.from(watcher, watcher.onDidChange(onEvent), watcher.onDidCreate(onEvent), watcher.onDidDelete(onEvent)));
    }
  }

  /** Reads what another writer added to a sidecar; the store announces the rows it changed. */
  private async refresh(file: string): Promise<void> {
    await this.ready;
    if (this.disposed) return;
    const repair = this.canRepair();
    try {
      if (file === this.resultsFile && this._results) {
        await this._results.refresh({ repair });
      } else if (file === this.annotationsFile && this._annotations) {
        await this._annotations.refresh();
      } else {
        // The first read failed (e.g. unreadable then): a store read now is new to every view.
        if (file === this.resultsFile) this.useResults(await ResultsStore.open(this.file, { repair }));
        else this.useAnnotations(await AnnotationStore.forDataset(this.file, { repair }));
        this.changed();
      }
    } catch (err) {
      this.log.error(`${file}: cannot be re-read: ${String(err)}`);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.unsubscribe();
    this.disposables.dispose();
    void this._dataset.close();
  }
}
