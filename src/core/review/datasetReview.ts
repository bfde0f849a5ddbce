import { Dataset } from '../dataset/datasetReader';
import { DEFAULT_CONTRADICTION_THRESHOLD } from '../rules/contradiction';
import type { OpenDatasetOptions } from '../dataset/types';
import { AnnotationResolver, AnnotationStore, type Annotation, type AnnotationsChange } from '../store/annotations';
import { ResultsStore, type StoredResult } from '../store/results';
import { isScoredHere } from '../store/provenance';
import { ChangeEvents, type StoreSubscription } from '../store/storeEvents';
import { currentScore, EMPTY_OUTPUT_NOTE, isEmptyOutput, isRowBelow, isStale, isSuspectReference, orderModels } from '../rules/rules';
import type { ModelPrice } from '../rules/cost';
import type { ReviewSettings } from '../config/settings';
import type { ModelConfig } from '../config/models';
import { pricesOf } from '../report/summary';

/** One model's latest stored result on a row, as the views show it. */
export interface ModelResultState {
  readonly model: string;
  readonly result: StoredResult;
  /** The row changed since the result was stored. */
  readonly stale: boolean;
  /** Read from the file, not scored on this machine (no valid MAC, or an output from the file): shown, never counted. */
  readonly fromFile?: boolean;
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

/** Everything the views show for one row, derived from the stores; rebuilt when they change. */
export interface RowState {
  readonly index: number;
  readonly results: readonly ModelResultState[];
  readonly annotations: readonly PlacedAnnotation[];
  /** Some current (not stale) score is below the threshold (isRowBelow). */
  readonly below: boolean;
  /** The reference may be wrong (isSuspectReference). */
  readonly suspect: boolean;
}

/** Rows whose state changed; `indexes` undefined: any row may have changed (a new dataset version, a whole re-read). */
export interface RowsChange {
  readonly indexes: readonly number[] | undefined;
}

/**
 * What a review reads of the settings (ReviewSettings): the pass line, the configured models (first in
 * order; a name and a price are all it needs of each) and the baselines (absent: none).
 */
export type ReviewRules = Pick<ReviewSettings, 'threshold'> & Partial<Pick<ReviewSettings, 'baselineModels' | 'contradiction'>> & {
  readonly models: readonly Pick<ModelConfig, 'name' | 'price'>[];
};

/**
 * The review state of one dataset: its rows, its stored results and annotations, and the per-row
 * state derived from them. No vscode: the extension's DatasetSession extends it with the editor
 * buffer, file watchers and events; tests and the panel's tests use it over real files directly.
 *
 * One-way flow: whoever writes (a run, an annotation, another process read by a refresh) writes
 * through a store; the store announces the rows it changed; the review patches those rows' states
 * and tells its views (didChange) which rows to patch in turn.
 */
export class DatasetReview {
  protected _dataset: Dataset;
  protected _results: ResultsStore | undefined;
  protected _annotations: AnnotationStore | undefined;
  private _version = 0;
  private _resultsVersion = 0;
  private states: Map<number, RowState> | undefined;
  /** Model display order the cached states were sorted by. */
  private modelOrder: Map<string, number> | undefined;
  /** Where each annotation is placed in the cached states (row index), to move it when it changes. */
  private annotationRows = new Map<string, number>();
  private resolverOf: { dataset: Dataset; resolver: AnnotationResolver } | undefined;
  private resultsSubscription: StoreSubscription | undefined;
  private annotationsSubscription: StoreSubscription | undefined;
  private _scoringFailure: string | undefined;
  private readonly rowChanges = new ChangeEvents<RowsChange>();

  /** After every change of rows, results or annotations, with the rows it touched. */
  readonly onDidChangeRows = this.rowChanges.on;

  constructor(
    readonly file: string,
    dataset: Dataset,
    protected settings: ReviewRules,
    stores: { results?: ResultsStore; annotations?: AnnotationStore } = {},
  ) {
    this._dataset = dataset;
    this.useResults(stores.results);
    this.useAnnotations(stores.annotations);
  }

  /** A review of `file` as it is on disk, with its sidecars (read-only callers pass repair: false). */
  static async open(file: string, settings: ReviewRules, options: { repair?: boolean; dataset?: OpenDatasetOptions } = {}): Promise<DatasetReview> {
    const [dataset, results, annotations] = await Promise.all([
      Dataset.open(file, options.dataset),
      ResultsStore.open(file, options),
      AnnotationStore.forDataset(file, options),
    ]);
    return new DatasetReview(file, dataset, settings, { results, annotations });
  }

  get dataset(): Dataset { return this._dataset; }
  get results(): ResultsStore | undefined { return this._results; }
  get annotations(): AnnotationStore | undefined { return this._annotations; }
  /** Increases with every change of rows, results or annotations. */
  get version(): number { return this._version; }
  /** Increases with every change but a change of annotations alone (what the scores' summary depends on). */
  get resultsVersion(): number { return this._resultsVersion; }
  get threshold(): number { return this.settings.threshold; }
  /** P(contradiction) at or above which an output is flagged as contradicting its reference. */
  get contradictionThreshold(): number { return this.settings.contradiction?.threshold ?? DEFAULT_CONTRADICTION_THRESHOLD; }
  /** Why the last run could not score (e.g. the embedding model did not load); cleared by a run that scores. */
  get scoringFailure(): string | undefined { return this._scoringFailure; }

  setScoringFailure(reason: string | undefined): void {
    if (reason === this._scoringFailure) return;
    this._scoringFailure = reason;
    this._version++;
    this.didChange(undefined);
  }

  /** Models from the settings (the ones that can be called). */
  get configuredModels(): string[] { return this.settings.models.map((m) => m.name); }

  /** Models to show, in order: configured, then any with stored results, then precomputed ones. */
  models(): string[] {
    return orderModels(this.configuredModels, this._results?.models() ?? [], this._dataset.modelNames);
  }

  /** Models kept out of the suspect-reference rule. */
  get baselineModels(): readonly string[] { return this.settings.baselineModels ?? []; }

  /** Configured models' prices per million tokens (the summary's cost). */
  get prices(): ReadonlyMap<string, ModelPrice> { return pricesOf(this.settings.models); }

  rowState(index: number): RowState | undefined {
    return this.rowStates().get(index);
  }

  /** Rows with anything to show (results or annotations), by index. */
  rowStates(): ReadonlyMap<number, RowState> {
    this.states ??= this.buildStates();
    return this.states;
  }

  /** The store results are written to (opened on first use). */
  async resultsStore(): Promise<ResultsStore> {
    if (!this._results) this.useResults(await ResultsStore.open(this.file, { repair: this.canRepair() }));
    return this._results!;
  }

  /** The store annotations are written to (opened on first use). */
  async annotationStore(): Promise<AnnotationStore> {
    if (!this._annotations) this.useAnnotations(await AnnotationStore.forDataset(this.file, { repair: this.canRepair() }));
    return this._annotations!;
  }

  /** The dataset's text changed (an edit, a reload): re-derive everything from the new rows. */
  replaceDataset(dataset: Dataset): void {
    this._dataset = dataset;
    this.changed();
  }

  /** Reviews through this results store from now on, patching the rows each of its changes names. */
  protected useResults(store: ResultsStore | undefined): void {
    this.resultsSubscription?.dispose();
    this._results = store;
    this.resultsSubscription = store?.onDidChange((e) => (e.rowIds ? this.patchResults(this.indexesOf(e.rowIds)) : this.changed()));
  }

  /** Reviews through this annotation store from now on, patching the rows each of its changes names. */
  protected useAnnotations(store: AnnotationStore | undefined): void {
    this.annotationsSubscription?.dispose();
    this._annotations = store;
    this.annotationsSubscription = store?.onDidChange((e) => this.patchAnnotations(e));
  }

  /** Stops following the stores' changes. */
  protected unsubscribe(): void {
    this.resultsSubscription?.dispose();
    this.annotationsSubscription?.dispose();
  }

  private indexesOf(rowIds: readonly string[]): number[] {
    const indexes: number[] = [];
    for (const id of rowIds) {
      const index = this._dataset.indexOfId(id);
      if (index !== undefined) indexes.push(index);
    }
    return indexes;
  }

  /** The store holds new results for these rows: re-derive those rows' states only. */
  private patchResults(indexes: readonly number[]): void {
    const states = this.states;
    const order = this.modelOrder;
    // A model not seen before adds a column: every row's order changes.
    if (!states || !order || !this._results || this.models().some((m) => !order.has(m))) {
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
    this._resultsVersion++;
    this.didChange(indexes);
  }

  /** Annotations were set or removed: move each to where it lands now, and re-derive the rows it left and reached. */
  private patchAnnotations(change: AnnotationsChange): void {
    if (!change.ids || !change.rowIds) {
      this.changed();
      return;
    }
    const store = this._annotations;
    const resolver = this.resolver();
    const states = this.states;
    const order = this.modelOrder;
    const touched = new Set<string>(change.ids);
    // The rows the store names (an adjudication or correction changes no annotation, yet its row's view changes).
    const affected = new Set<number>(this.indexesOf(change.rowIds));
    const landed = new Map<number, PlacedAnnotation[]>();
    for (const id of change.ids) {
      const was = this.annotationRows.get(id);
      if (was !== undefined) affected.add(was);
      this.annotationRows.delete(id);
      const annotation = store?.get(id);
      const placed = annotation ? resolver.place(annotation) : undefined;
      if (!annotation || !placed || placed.state === 'orphaned') continue;
      affected.add(placed.index);
      landed.set(placed.index, [...(landed.get(placed.index) ?? []), { annotation, state: placed.state }]);
      this.annotationRows.set(id, placed.index);
    }
    if (states && order) {
      for (const index of affected) {
        const before = states.get(index);
        const annotations = [...(before?.annotations ?? []).filter((p) => !touched.has(p.annotation.id)), ...(landed.get(index) ?? [])];
        const state = this.rowStateOf(index, [...(before?.results ?? [])], annotations, order);
        if (state) states.set(index, state);
        else states.delete(index);
      }
    }
    this._version++;
    this.didChange([...affected].sort((a, b) => a - b));
  }

  private resolver(): AnnotationResolver {
    if (this.resolverOf?.dataset !== this._dataset) this.resolverOf = { dataset: this._dataset, resolver: new AnnotationResolver(this._dataset) };
    return this.resolverOf.resolver;
  }

  /** Whether the stores may repair a cut-off sidecar line (false where writing is not allowed). */
  protected canRepair(): boolean {
    return true;
  }

  /** Tells the views which rows changed (undefined: any row). */
  private didChange(indexes: readonly number[] | undefined): void {
    this.rowChanges.fire({ indexes });
  }

  /** Drops the derived state; the next read rebuilds it. */
  protected changed(indexes?: readonly number[]): void {
    this._version++;
    this._resultsVersion++;
    this.states = undefined;
    this.modelOrder = undefined;
    this.didChange(indexes);
  }

  private resultState(r: StoredResult, index: number): ModelResultState {
    return {
      model: r.model,
      result: r,
      stale: isStale(r, this._dataset.rowHash(index)),
      fromFile: !isScoredHere(r),
      // A blank output has no similarity, even where an older version stored one.
      score: isEmptyOutput(r.output) ? undefined : r.score,
      error: r.error ? `${r.error.kind}: ${r.error.message}` : isEmptyOutput(r.output) ? EMPTY_OUTPUT_NOTE : r.score === undefined ? r.scoreNote ?? 'not scored' : undefined,
    };
  }

  private rowStateOf(index: number, results: ModelResultState[], annotations: readonly PlacedAnnotation[], order: ReadonlyMap<string, number>): RowState | undefined {
    if (results.length === 0 && annotations.length === 0) return undefined;
    const threshold = this.settings.threshold;
    results.sort((a, b) => (order.get(a.model) ?? 1e9) - (order.get(b.model) ?? 1e9));
    const hash = this._dataset.rowHash(index);
    const baselines = this.baselineModels;
    const current: number[] = [];
    const forRule: number[] = [];
    for (const r of results) {
      const score = r.fromFile ? undefined : currentScore(r.result, hash);
      if (score === undefined) continue;
      current.push(score);
      if (!baselines.includes(r.model)) forRule.push(score);
    }
    return { index, results, annotations, below: isRowBelow(current, threshold), suspect: isSuspectReference(forRule, threshold) };
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
    this.annotationRows = new Map();
    if (this._annotations && this._annotations.size > 0) {
      const resolver = this.resolver();
      for (const a of this._annotations.all()) {
        // An annotation whose row is gone (no row has its id or content) stays in the sidecar, placed nowhere.
        const placed = resolver.place(a);
        if (placed.state === 'orphaned') continue;
        const list = annotationsByIndex.get(placed.index) ?? [];
        list.push({ annotation: a, state: placed.state });
        annotationsByIndex.set(placed.index, list);
        this.annotationRows.set(a.id, placed.index);
      }
    }

    const order = new Map(this.models().map((m, i) => [m, i]));
    this.modelOrder = order;
    const states = new Map<number, RowState>();
    for (const index of new Set([...resultsByIndex.keys(), ...annotationsByIndex.keys()])) {
      const state = this.rowStateOf(index, resultsByIndex.get(index) ?? [], annotationsByIndex.get(index) ?? [], order);
      if (state) states.set(index, state);
    }
    return states;
  }
}
