import * as path from 'node:path';
import * as vscode from 'vscode';
import { Dataset } from '../../core/dataset/dataset';
import { currentScore, isRowBelow, isStale, isSuspectReference } from '../../core/review/rules';
import {
  AnnotationResolver,
  AnnotationStore,
  annotationsFileFor,
  type Annotation,
} from '../../core/store/annotations';
import { ResultsStore, resultsFileFor, type StoredResult } from '../../core/store/results';
import type { ReviewConfig } from '../config';
import type { ReviewLog } from '../log';

/** One model's latest stored result on a row, as the editor shows it. */
export interface ModelResultState {
  readonly model: string;
  readonly result: StoredResult;
  /** The row changed since the result was stored. */
  readonly stale: boolean;
  /** The score, when the output was scored. */
  readonly score: number | undefined;
  /** Why there is no score: the call failed, or the output could not be scored. */
  readonly error: string | undefined;
}

export interface PlacedAnnotation {
  readonly annotation: Annotation;
  /** 'changed': the row was edited since it was annotated. */
  readonly state: 'current' | 'changed';
}

/** Everything the editor shows for one row, derived from the stores; rebuilt when they change. */
export interface RowState {
  readonly index: number;
  readonly results: readonly ModelResultState[];
  readonly annotations: readonly PlacedAnnotation[];
  /** Some current (not stale) score is below the threshold. */
  readonly below: boolean;
  /** The reference may be wrong: see isSuspectReference in core/review/rules. */
  readonly suspect: boolean;
}

export interface SessionChange {
  /** Undefined: anything may have changed. */
  readonly indexes?: readonly number[];
}

/**
 * The review state of one open dataset document: the dataset as in the editor buffer, its stored
 * results and annotations (from the sidecars, reloaded when another process writes them), and
 * the per-row view derived from them.
 */
export class DatasetSession implements vscode.Disposable {
  private _dataset: Dataset;
  private _results: ResultsStore | undefined;
  private _annotations: AnnotationStore | undefined;
  private _version = 0;
  private states: Map<number, RowState> | undefined;
  /** Model display order the cached states were sorted by. */
  private modelOrder: Map<string, number> | undefined;
  private orphans: Annotation[] = [];
  private readonly emitter = new vscode.EventEmitter<SessionChange>();
  private readonly disposables: vscode.Disposable[] = [];
  private reloadTimers = new Map<string, NodeJS.Timeout>();
  /** While this window is writing results, its own appends need no re-read. */
  private writingResults = 0;
  private readonly ready: Promise<void>;
  private disposed = false;

  readonly onDidChange = this.emitter.event;
  readonly uri: vscode.Uri;
  readonly file: string;
  readonly resultsFile: string;
  readonly annotationsFile: string;

  constructor(
    document: vscode.TextDocument,
    private config: ReviewConfig,
    private readonly log: ReviewLog,
  ) {
    this.uri = document.uri;
    this.file = document.uri.fsPath;
    this.resultsFile = resultsFileFor(this.file);
    this.annotationsFile = annotationsFileFor(this.file);
    this._dataset = this.parse(document.getText());
    this.ready = this.loadStores();
    this.watchSidecars();
  }

  get dataset(): Dataset { return this._dataset; }
  get results(): ResultsStore | undefined { return this._results; }
  get annotations(): AnnotationStore | undefined { return this._annotations; }
  /** Increases with every change of rows, results or annotations. */
  get version(): number { return this._version; }
  get threshold(): number { return this.config.threshold; }

  /** Resolves once the sidecars have been read the first time. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Re-indexes the buffer (called debounced while typing, and when the file changes on disk). */
  updateText(text: string): void {
    this._dataset = this.parse(text);
    this.changed();
  }

  updateConfig(config: ReviewConfig): void {
    const reparse = JSON.stringify(config.fieldMapping) !== JSON.stringify(this.config.fieldMapping);
    this.config = config;
    if (reparse) {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.uri.toString());
      if (doc) this._dataset = this.parse(doc.getText());
    }
    this.changed();
  }

  /** Models to show, in order: configured, then any with stored results, then precomputed ones. */
  models(): string[] {
    const names = new Set<string>(this.config.models.map((m) => m.name));
    for (const m of this._results?.models() ?? []) names.add(m);
    for (const m of this._dataset.modelNames) names.add(m);
    return [...names];
  }

  rowState(index: number): RowState | undefined {
    return this.rowStates().get(index);
  }

  /** Rows with anything to show (results or annotations), by index. */
  rowStates(): ReadonlyMap<number, RowState> {
    this.states ??= this.buildStates();
    return this.states;
  }

  /** Annotations whose row is gone (no row has their id or content any more): kept, listed. */
  orphanedAnnotations(): readonly Annotation[] {
    this.rowStates();
    return this.orphans;
  }

  /** Results were appended through this window's store (by a run): update the view at once. */
  resultsAppended(indexes?: readonly number[]): void {
    const states = this.states;
    const order = this.modelOrder;
    // During a run, answers arrive one by one: update those rows rather than rebuild every row.
    if (!indexes || !states || !order || !this._results || this.models().some((m) => !order.has(m))) {
      this.changed(indexes);
      return;
    }
    for (const index of indexes) {
      if (index >= this._dataset.rowCount) continue;
      const results = this._results.forRow(this._dataset.rowIds()[index]).map((r) => this.resultState(r, index));
      const state = this.rowStateOf(index, results, states.get(index)?.annotations ?? [], order);
      if (state) states.set(index, state);
      else states.delete(index);
    }
    this._version++;
    this.emitter.fire({ indexes });
  }

  async resultsStore(): Promise<ResultsStore> {
    await this.ready;
    if (!this._results) this._results = await ResultsStore.open(this.file, { repair: vscode.workspace.isTrusted });
    return this._results;
  }

  async annotationStore(): Promise<AnnotationStore> {
    await this.ready;
    if (!this._annotations) this._annotations = await AnnotationStore.forDataset(this.file, { repair: vscode.workspace.isTrusted });
    return this._annotations;
  }

  /** Marks the start and end of a run writing results from this window (watch events are then ours). */
  beginWriting(): vscode.Disposable {
    this.writingResults++;
    return new vscode.Disposable(() => {
      this.writingResults--;
      if (this.writingResults === 0) this.scheduleReload(this.resultsFile);
    });
  }

  /** Signals that annotations changed through this window's store. */
  annotationsChanged(indexes?: readonly number[]): void {
    this.changed(indexes);
  }

  private parse(text: string): Dataset {
    return Dataset.fromText(this.file, text, { mapping: this.config.fieldMapping });
  }

  private async loadStores(): Promise<void> {
    const repair = vscode.workspace.isTrusted;
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
      this.disposables.push(watcher, watcher.onDidChange(onEvent), watcher.onDidCreate(onEvent), watcher.onDidDelete(onEvent));
    }
  }

  private scheduleReload(file: string): void {
    clearTimeout(this.reloadTimers.get(file));
    this.reloadTimers.set(file, setTimeout(() => void this.reload(file), 150));
  }

  private async reload(file: string): Promise<void> {
    await this.ready;
    if (this.disposed) return;
    const repair = vscode.workspace.isTrusted;
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

  private changed(indexes?: readonly number[]): void {
    this._version++;
    this.states = undefined;
    this.modelOrder = undefined;
    this.emitter.fire(indexes ? { indexes } : {});
  }

  private resultState(r: StoredResult, index: number): ModelResultState {
    return {
      model: r.model,
      result: r,
      stale: isStale(r, this._dataset.rowHash(index)),
      score: r.score,
      error: r.error ? `${r.error.kind}: ${r.error.message}` : r.score === undefined ? r.scoreNote ?? 'not scored' : undefined,
    };
  }

  private rowStateOf(index: number, results: ModelResultState[], annotations: readonly PlacedAnnotation[], order: ReadonlyMap<string, number>): RowState | undefined {
    if (results.length === 0 && annotations.length === 0) return undefined;
    const threshold = this.config.threshold;
    results.sort((a, b) => (order.get(a.model) ?? 1e9) - (order.get(b.model) ?? 1e9));
    const hash = this._dataset.rowHash(index);
    const current = results.map((r) => currentScore(r.result, hash)).filter((s): s is number => s !== undefined);
    const below = isRowBelow(current, threshold);
    const suspect = isSuspectReference(current, threshold);
    return { index, results, annotations, below, suspect };
  }

  private buildStates(): Map<number, RowState> {
    const dataset = this._dataset;
    const resultsByIndex = new Map<number, ModelResultState[]>();
    for (const r of this._results?.latestResults() ?? []) {
      const index = dataset.indexOfId(r.rowId);
      if (index === undefined) continue;
      const list = resultsByIndex.get(index) ?? [];
      list.push(this.resultState(r, index));
      resultsByIndex.set(index, list);
    }
    const annotationsByIndex = new Map<number, PlacedAnnotation[]>();
    const orphans: Annotation[] = [];
    if (this._annotations && this._annotations.size > 0) {
      const resolver = new AnnotationResolver(dataset);
      for (const a of this._annotations.all()) {
        const placed = resolver.place(a);
        if (placed.state === 'orphaned') {
          orphans.push(a);
          continue;
        }
        const list = annotationsByIndex.get(placed.index) ?? [];
        list.push({ annotation: a, state: placed.state });
        annotationsByIndex.set(placed.index, list);
      }
    }
    this.orphans = orphans;

    const order = new Map(this.models().map((m, i) => [m, i]));
    this.modelOrder = order;
    const states = new Map<number, RowState>();
    for (const index of new Set([...resultsByIndex.keys(), ...annotationsByIndex.keys()])) {
      const state = this.rowStateOf(index, resultsByIndex.get(index) ?? [], annotationsByIndex.get(index) ?? [], order);
      if (state) states.set(index, state);
    }
    return states;
  }

  dispose(): void {
    this.disposed = true;
    for (const t of this.reloadTimers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
    this.emitter.dispose();
    void this._dataset.close();
  }
}
