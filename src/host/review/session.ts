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
  /** While this window is writing results, its own appends need no re-read. */
  private writingResults = 0;
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

  /** Marks the start and end of a run writing results from this window (watch events are then ours). */
  beginWriting(): vscode.Disposable {
    this.writingResults++;
    return new vscode.Disposable(() => {
      this.writingResults--;
      if (this.writingResults === 0) this.scheduleReload(this.resultsFile);
    });
  }

  protected override canRepair(): boolean {
    return vscode.workspace.isTrusted;
  }

  protected override didChange(indexes: readonly number[] | undefined): void {
    this.emitter.fire(indexes ? { indexes } : {});
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
    if (results.status === 'fulfilled') this._results = results.value;
    else this.log.error(`${this.resultsFile}: cannot be read: ${String(results.reason)}`);
    if (annotations.status === 'fulfilled') this._annotations = annotations.value;
    else this.log.error(`${this.annotationsFile}: cannot be read: ${String(annotations.reason)}`);
    if (!this.disposed) this.changed();
  }

  private watchSidecars(): void {
    const dir = vscode.Uri.file(path.dirname(this.file));
    for (const file of [this.resultsFile, this.annotationsFile]) {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(dir, path.basename(file)));
      const onEvent = () => this.scheduleReload(file);
      this.disposables.add(vscode.Disposable.from(watcher, watcher.onDidChange(onEvent), watcher.onDidCreate(onEvent), watcher.onDidDelete(onEvent)));
    }
  }

  private scheduleReload(file: string): void {
    this.reloads.restart(file, () => void this.reload(file));
  }

  private async reload(file: string): Promise<void> {
    await this.ready;
    if (this.disposed) return;
    const repair = this.canRepair();
    try {
      if (file === this.resultsFile) {
        if (this.writingResults > 0) return;
        if (this._results) {
          // Only the appended tail is read; our own appends (a run from this window) read nothing.
          if (!(await this._results.refresh({ repair }))) return;
        } else this._results = await ResultsStore.open(this.file, { repair });
      } else {
        if (this._annotations) await this._annotations.reload();
        else this._annotations = await AnnotationStore.forDataset(this.file, { repair });
      }
      this.changed();
    } catch (err) {
      this.log.error(`${file}: cannot be re-read: ${String(err)}`);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.disposables.dispose();
    void this._dataset.close();
  }
}
