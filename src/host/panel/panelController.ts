import { parseThreshold, problemText } from '../../core/config/settings';
import type { AnnotationTarget } from '../../core/store/annotations';
import type {
  DatasetView,
  HostToWebview,
  RequestMap,
  RequestType,
  RowDetail,
  RowQuery,
  RowsPage,
  SummaryView,
  WebviewRequest,
  WebviewToHost,
} from '../../shared/protocol';
import { Debouncer } from '../debounce';
import type { PanelSource } from './panelData';
import { computeOrder, runs, SortColumns, TextMatches } from './rowQuery';

/** Longest page the host serves, so no message carries a large part of the file. */
export const MAX_ROW_PAGE = 500;

export const DEFAULT_QUERY: RowQuery = { sort: { column: 'index', descending: false }, filter: {} };

export interface PanelControllerOptions {
  /** Coalesces bursts of row changes (a scoring run) into one recompute. */
  readonly changeDelayMs?: number;
}

/**
 * The host side of the panel, without vscode: answers the webview's requests, keeps the current
 * view (query -> ordered row indexes) and pushes snapshots. Lives as long as the registration; a
 * webview attaches to it (and re-attaches when VS Code recreates the view).
 */
export class PanelController {
  private file: string | undefined;
  private readonly columns = new SortColumns();
  private readonly text = new TextMatches();
  private query: RowQuery = DEFAULT_QUERY;
  /** Each file's own filters, search and sort: they never follow the user to the next file, and are back on return. */
  private readonly queries = new Map<string, RowQuery>();
  private order: Int32Array = new Int32Array(0);
  private generation = 0;
  /** `seq` of the last query the webview set. */
  private querySeq = 0;
  private cursorIndex: number | undefined;
  private post: ((message: HostToWebview) => void) | undefined;
  private ready = false;
  private queue: HostToWebview[] = [];
  /** Rows changed since the last recompute; 'all' when anything may have changed. */
  private pending: Set<number> | 'all' = new Set();
  /** Serialises recomputes so a slow search cannot overwrite a newer query's result. */
  private recompute: Promise<void> = Promise.resolve();
  /** Coalesces bursts of row changes (a scoring run) into one recompute. */
  private readonly changes: Debouncer;

  constructor(
    private readonly source: PanelSource,
    options: PanelControllerOptions = {},
  ) {
    this.changes = new Debouncer(options.changeDelayMs ?? 150);
  }

  /** Connects a webview; messages wait in a queue until it says `webview/ready`. */
  attach(post: (message: HostToWebview) => void): void {
    this.post = post;
    this.ready = false;
  }

  detach(): void {
    this.post = undefined;
    this.ready = false;
    this.queue = [];
  }

  /** Another dataset became active (or none): reset caches and the view now. */
  datasetChanged(): Promise<void> {
    this.pending = 'all';
    this.cursorIndex = undefined;
    return this.refresh();
  }

  /**
   * Rows changed (scores, annotations, edits); `indexes` undefined means anything may have changed.
   * Recomputes after a short pause, so a scoring run costs few recomputes.
   */
  rowsChanged(indexes?: readonly number[]): void {
    if (indexes === undefined) this.pending = 'all';
    else if (this.pending !== 'all') for (const i of indexes) this.pending.add(i);
    this.changes.coalesce(undefined, () => void this.refresh());
  }

  cursorChanged(index: number | undefined): void {
    this.cursorIndex = index;
    this.send(this.cursorMessage());
  }

  /** The rows in view, in view order (for export). */
  viewIndexes(): Int32Array {
    return this.order;
  }

  currentQuery(): RowQuery {
    return this.query;
  }

  summary(): SummaryView | null {
    return this.source.summary();
  }

  dispose(): void {
    this.changes.dispose();
    this.detach();
  }

  /**
   * A label the person just gave in the panel is shown at once: the store's event for it (already in) is
   * patched now, not after the pause that lets a scoring run's results share one recompute.
   */
  private async shownNow(): Promise<null> {
    await this.settled();
    return null;
  }

  /** Runs a pending recompute now and waits for it (tests, export). */
  async settled(): Promise<void> {
    if (this.changes.cancel(undefined)) await this.refresh();
    await this.recompute;
  }

  async handle(message: WebviewToHost): Promise<void> {
    switch (message.type) {
      case 'webview/ready': {
        this.ready = true;
        this.querySeq = 0; // a new page counts its queries from 1
        const queued = this.queue;
        this.queue = [];
        for (const m of queued) this.post?.(m);
        if (message.query) this.query = sanitizeQuery(message.query, this.source.activeDataset());
        await this.refresh();
        this.send(this.cursorMessage());
        return;
      }
      case 'view/setQuery':
        this.query = sanitizeQuery(message.query, this.source.activeDataset());
        this.querySeq = Math.max(this.querySeq, message.seq);
        await this.refresh();
        return;
      case 'row/select': {
        // A row the file lost meanwhile has nothing to reveal.
        const index = this.source.activeDataset() ? this.source.indexOfRow(message.rowId) : undefined;
        if (index !== undefined) await this.source.revealRow(index);
        return;
      }
      case 'rows/page':
      case 'row/detail':
      case 'row/score':
      case 'rows/scoreAll':
      case 'row/annotate':
      case 'row/removeAnnotation':
      case 'row/adjudicate':
      case 'review/agreement':
      case 'review/setBlind':
      case 'training/export':
      case 'report/export':
      case 'stats/get':
      case 'stats/useThreshold':
      case 'stats/compare':
        await this.answer(message);
        return;
      default: {
        const unknown: never = message;
        throw new Error(`unknown panel message ${JSON.stringify(unknown)}`);
      }
    }
  }

  private async answer(request: WebviewRequest): Promise<void> {
    try {
      const result = await this.perform(request);
      this.send({ type: 'response', id: request.id, ok: true, result });
    } catch (error) {
      this.send({ type: 'response', id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  }

  private async perform(request: WebviewRequest): Promise<RequestMap[RequestType]['result']> {
    switch (request.type) {
      case 'rows/page':
        return this.page(request.params.generation, request.params.start, request.params.count);
      case 'row/detail':
        return this.detail(this.requireRow(request.params.rowId));
      case 'row/score': {
        const dataset = this.requireDataset();
        const indexes = request.params.rowIds.map((id) => this.source.indexOfRow(id)).filter((i): i is number => i !== undefined);
        if (indexes.length === 0) throw new Error('No row to score: select a row first.');
        const models = request.params.models;
        for (const model of models ?? []) {
          if (!dataset.configuredModels.includes(model)) throw new Error(`Model "${model}" is not in the pisarReview.models setting, so it cannot be called.`);
        }
        await this.source.scoreRows(indexes, { ...(models ? { models } : {}), ...(request.params.rerun ? { rerun: true } : {}) });
        return null;
      }
      case 'rows/scoreAll':
        this.requireDataset();
        await this.source.scoreAll();
        return null;
      case 'row/annotate': {
        const dataset = this.requireDataset();
        const { rowId, target, label, note } = request.params;
        const index = this.requireRow(rowId);
        if (!dataset.labels.includes(label)) throw new Error(`Unknown label "${label}": use one of ${dataset.labels.join(', ')}.`);
        await this.source.annotate(index, targetOf(dataset, target), label, note?.trim() ? note.trim() : undefined);
        return this.shownNow();
      }
      case 'row/removeAnnotation': {
        const { rowId, target } = request.params;
        const index = this.requireRow(rowId);
        const row = await this.source.rowDetail(index);
        // Each reviewer removes their own label: another reviewer's on the same target stays.
        const reviewer = this.requireDataset().reviewer ?? undefined;
        const annotation = row?.annotations.find((a) => a.target === target && a.reviewer === reviewer) ?? row?.annotations.find((a) => a.target === target && a.reviewer === undefined);
        if (!annotation) throw new Error(`Row ${row?.id ?? index} has no annotation on ${target === 'reference' ? 'its reference' : `the output of ${target}`}.`);
        await this.source.removeAnnotation(annotation.id);
        return this.shownNow();
      }
      case 'row/adjudicate': {
        const dataset = this.requireDataset();
        const { rowId, target, label, note } = request.params;
        const index = this.requireRow(rowId);
        if (dataset.blind) throw new Error('Blind mode hides the labels an adjudication settles: turn blind mode off (pisarReview.review.blind) to adjudicate.');
        if (!dataset.labels.includes(label)) throw new Error(`Unknown label "${label}": use one of ${dataset.labels.join(', ')}.`);
        await this.source.adjudicate(index, targetOf(dataset, target), label, note?.trim() ? note.trim() : undefined);
        return this.shownNow();
      }
      case 'review/agreement':
        return this.source.activeDataset() ? this.source.agreement() : null;
      case 'review/setBlind':
        if (typeof request.params.blind !== 'boolean') throw new Error('review/setBlind takes blind: true or false.');
        await this.source.setBlind(request.params.blind);
        return null;
      case 'training/export':
        this.requireDataset();
        await this.source.exportTraining();
        return null;
      case 'report/export':
        await this.source.exportReport();
        return null;
      case 'stats/get':
        if (this.source.activeDataset()?.blind) throw new Error(BLIND_SCORES);
        return this.source.activeDataset() && this.source.statistics ? (await this.source.statistics(sliceFieldOf(request.params.sliceField))) ?? null : null;
      case 'stats/useThreshold': {
        const t = request.params.threshold;
        const checked = parseThreshold(t ?? NaN);
        if (checked.problem) throw new Error(`The threshold ${problemText(checked.problem)}`);
        if (!this.source.useThreshold) throw new Error('Setting the threshold is not available here.');
        await this.source.useThreshold(checked.value);
        return null;
      }
      case 'stats/compare': {
        const dataset = this.source.activeDataset();
        if (!dataset || !this.source.compare) return null;
        if (dataset.blind) throw new Error(BLIND_SCORES);
        const { a, b } = request.params;
        for (const m of [a, b]) if (!dataset.models.includes(m)) throw new Error(`No model "${m}" in ${dataset.name}: pick one of ${dataset.models.join(', ')}.`);
        return (await this.source.compare(a, b)) ?? null;
      }
      default: {
        const unknown: never = request;
        throw new Error(`unknown panel request ${JSON.stringify(unknown)}`);
      }
    }
  }

  private requireDataset(): DatasetView {
    const dataset = this.source.activeDataset();
    if (!dataset) throw new Error('No dataset is open: open a PiSAR .jsonl file.');
    return dataset;
  }

  /** The current index of the row with this id. */
  private requireRow(rowId: string): number {
    const dataset = this.requireDataset();
    const index = typeof rowId === 'string' ? this.source.indexOfRow(rowId) : undefined;
    if (index === undefined) throw new Error(`Row "${rowId}" is not in ${dataset.file} any more (the file was edited): select the row again.`);
    return index;
  }

  private async page(generation: number, start: number, count: number): Promise<RowsPage> {
    this.requireDataset();
    // An old generation's page would show rows of a view the user already left: answer empty.
    if (generation !== this.generation) return { generation: this.generation, start, rows: [] };
    const from = Math.max(0, Math.floor(start));
    const to = Math.min(this.order.length, from + Math.max(0, Math.min(MAX_ROW_PAGE, Math.floor(count))));
    const indexes = Array.from(this.order.subarray(from, to));
    const byIndex = new Map<number, RowsPage['rows'][number]>();
    const sorted = [...indexes].sort((a, b) => a - b);
    const fetched = await Promise.all(runs(sorted).map(([s, c]) => this.source.rows(s, c)));
    for (const rows of fetched) for (const row of rows) byIndex.set(row.index, row);
    const rows = indexes.map((i) => byIndex.get(i)).filter((r): r is RowsPage['rows'][number] => r !== undefined);
    return { generation, start: from, rows };
  }

  private async detail(index: number): Promise<RowDetail> {
    const dataset = this.requireDataset();
    const row = await this.source.rowDetail(index);
    if (!row) throw new Error(`Row ${index} is not in ${dataset.file} any more.`);
    const images = await Promise.all(
      row.images.map(async (image) => {
        try {
          return { ...image, ...(await this.source.loadImage(dataset.file, image)) };
        } catch (error) {
          return { ...image, problem: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    const requests = await this.source.requestPreviews?.(dataset.file, index);
    return { ...row, images, ...(requests ? { requests } : {}) };
  }

  /** Recomputes the view and the summary from the current snapshot, then pushes both. */
  private refresh(): Promise<void> {
    const next = this.recompute.then(async () => {
      const dataset = this.source.activeDataset();
      if (dataset?.file !== this.file) {
        // The first file takes the query the panel came with (restored webview state); later ones their own.
        if (this.file !== undefined) {
          this.queries.set(this.file, this.query);
          this.query = (dataset && this.queries.get(dataset.file)) ?? DEFAULT_QUERY;
        }
        this.file = dataset?.file;
        this.pending = 'all';
        this.cursorIndex = undefined;
      }
      if (this.pending === 'all') {
        this.columns.invalidate();
        this.text.clear();
      } else {
        this.columns.markChanged([...this.pending]);
      }
      this.pending = new Set();
      this.query = sanitizeQuery(this.query, dataset);
      const query = this.query;
      this.send({ type: 'dataset/didChange', dataset: dataset ?? null });
      if (!dataset) {
        this.order = new Int32Array(0);
        this.generation++;
        this.send({ type: 'summary/didChange', summary: null });
        this.send({ type: 'rows/didChange', generation: this.generation, total: 0, query, seq: this.querySeq });
        this.send({ type: 'scoring/didChange', running: false });
        return;
      }
      let order: Int32Array;
      let problem: string | undefined;
      try {
        order = await computeOrder(this.source, dataset, query, this.columns, this.text);
      } catch (error) {
        // The file may have changed under a search; show every row rather than none, and say why.
        order = Int32Array.from({ length: dataset.rowCount }, (_, i) => i);
        this.columns.invalidate();
        problem = `Could not filter or sort the rows: ${error instanceof Error ? error.message : String(error)}`;
      }
      // A newer query arrived while this one was computing: its own refresh pushes.
      if (query !== this.query) return;
      // A large file's sort columns, then its text index, are read ahead one after the other (each reads every row).
      void this.columns.prefill(this.source, dataset).then(() => (this.columns.readsAhead(dataset) ? this.source.prepareSearch?.() : undefined));
      this.order = order;
      this.generation++;
      this.send({ type: 'summary/didChange', summary: this.source.summary() });
      this.send({ type: 'rows/didChange', generation: this.generation, total: order.length, query, seq: this.querySeq });
      // No cursor message here: the webview finds its selection in the new view by index, and a
      // re-sent cursor would pull back a selection the user moved since (j/k during a scoring run).
      this.send({ type: 'scoring/didChange', running: this.source.isScoring(), ...(problem ? { message: problem } : {}) });
    });
    this.recompute = next.catch(() => undefined);
    return next;
  }

  private cursorMessage(): HostToWebview {
    const index = this.cursorIndex;
    const rowId = index === undefined ? undefined : this.source.rowIdAt(index);
    if (index === undefined || rowId === undefined) return { type: 'cursor/didChange', index: null, rowId: null, position: null };
    const position = this.order.indexOf(index);
    return { type: 'cursor/didChange', index, rowId, position: position === -1 ? null : position };
  }

  private send(message: HostToWebview): void {
    if (!this.post) return;
    if (!this.ready && message.type !== 'response') {
      // Snapshots replace each other: keep only the latest of each kind while the webview loads.
      this.queue = this.queue.filter((m) => m.type !== message.type);
      this.queue.push(message);
      return;
    }
    this.post(message);
  }
}

function targetOf(dataset: DatasetView, target: string): AnnotationTarget {
  if (target === 'reference') return { kind: 'reference' };
  if (!dataset.models.includes(target)) throw new Error(`Unknown target "${target}": use "reference" or a model name.`);
  return { kind: 'output', model: target };
}

const BLIND_SCORES = 'Blind mode hides the scores while you label: turn blind mode off (pisarReview.review.blind) to see the statistics.';

/** Drops filter and sort parts that name a model the dataset does not have, and in blind mode those made of scores or others' labels. */
export function sanitizeQuery(query: RowQuery, dataset: DatasetView | undefined): RowQuery {
  const models = dataset?.models ?? [];
  const blind = dataset?.blind === true;
  const column = query.sort.column;
  const sortModel = column.startsWith('score:') ? column.slice('score:'.length) : undefined;
  const bySomethingHidden = blind && (sortModel !== undefined || column === 'nearThreshold' || column === 'disagreement' || column === 'reviewersDisagree');
  const sort = (sortModel !== undefined && !models.includes(sortModel)) || bySomethingHidden ? DEFAULT_QUERY.sort : query.sort;
  const below = query.filter.below;
  const keepBelow = below === undefined || (!blind && (below === 'any' || models.includes(below.model)));
  const hidden = blind && (query.filter.suspect !== undefined || query.filter.disagree !== undefined || query.filter.contradicts !== undefined);
  let filter = keepBelow ? query.filter : { ...query.filter, below: undefined };
  if (hidden) {
    const { below: _below, suspect: _suspect, disagree: _disagree, contradicts: _contradicts, ...rest } = query.filter;
    filter = { ...rest, ...(keepBelow && below !== undefined ? { below } : {}), ...(!blind && _suspect !== undefined ? { suspect: _suspect } : {}), ...(!blind && _disagree !== undefined ? { disagree: _disagree } : {}) };
  }
  return sort === query.sort && filter === query.filter ? query : { sort, filter };
}

/** A slice field from the webview: a row field path (`label`, `meta.split`), or none. */
function sliceFieldOf(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200) throw new Error('The slice field must be the name of a row field (e.g. "label" or "meta.split"), at most 200 characters.');
  return value.trim();
}

const REQUEST_TYPES = new Set<string>(['rows/page', 'row/detail', 'row/score', 'rows/scoreAll', 'row/annotate', 'row/removeAnnotation', 'row/adjudicate', 'review/agreement', 'review/setBlind', 'training/export', 'report/export', 'stats/get', 'stats/useThreshold', 'stats/compare']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isQuery(value: unknown): value is RowQuery {
  if (!isObject(value) || !isObject(value.sort) || !isObject(value.filter)) return false;
  return typeof value.sort.column === 'string' && typeof value.sort.descending === 'boolean';
}

/** A webview is less trusted than the host: check the envelope before the typed switch sees it. */
export function isPanelMessage(value: unknown): value is WebviewToHost {
  if (!isObject(value) || typeof value.type !== 'string') return false;
  if (REQUEST_TYPES.has(value.type)) return Number.isInteger(value.id) && isObject(value.params);
  switch (value.type) {
    case 'webview/ready':
      return value.query === undefined || isQuery(value.query);
    case 'view/setQuery':
      return isQuery(value.query) && Number.isInteger(value.seq);
    case 'row/select':
      return typeof value.rowId === 'string';
    default:
      return false;
  }
}

/** The panel's filters and sort in words, for the report's header. */
export function describeQuery(query: RowQuery, threshold: number, shown: number, total: number): string {
  const f = query.filter;
  const parts: string[] = [];
  if (f.below === 'any') parts.push(`below ${threshold} for any model`);
  else if (f.below) parts.push(`below ${threshold} for ${f.below.model}`);
  if (f.suspect) parts.push('suspect reference');
  if (f.annotated) parts.push('annotated');
  if (f.unscored) parts.push('not scored');
  if (f.contradicts) parts.push('contradicts reference');
  if (f.text) parts.push(`containing "${f.text}"`);
  if (f.disagree) parts.push('reviewers disagree');
  const sort = query.sort.column === 'index' && !query.sort.descending ? 'file order' : `sorted by ${query.sort.column}${query.sort.descending ? ' (descending)' : ''}`;
  return `${shown} of ${total} rows${parts.length ? `: ${parts.join('; ')}` : ''}; ${sort}`;
}
