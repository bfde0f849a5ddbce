import type {
  DatasetView,
  HostToWebview,
  ModelSummaryView,
  OutputView,
  RequestMap,
  RequestType,
  RowDetail,
  RowQuery,
  RowsPage,
  SummaryView,
  WebviewRequest,
  WebviewToHost,
} from '../../shared/protocol';
import type { PanelActions, PanelData } from './panelData';
import { computeOrder, isSuspect, rowView, scoreView, TextIndex } from './rowQuery';

/** Longest page the host serves, so no message carries a large part of the file. */
export const MAX_ROW_PAGE = 500;
/** Histogram bins over [0, 1]. */
export const HISTOGRAM_BINS = 10;

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
  private data: PanelData | undefined;
  private text: TextIndex | undefined;
  private query: RowQuery = DEFAULT_QUERY;
  private order: Int32Array = new Int32Array(0);
  private generation = 0;
  private cursorIndex: number | undefined;
  private post: ((message: HostToWebview) => void) | undefined;
  private ready = false;
  private queue: HostToWebview[] = [];
  private changeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Serialises recomputes so a slow text search cannot overwrite a newer query's result. */
  private recompute: Promise<void> = Promise.resolve();
  private readonly changeDelayMs: number;

  constructor(
    private readonly actions: PanelActions,
    options: PanelControllerOptions = {},
  ) {
    this.changeDelayMs = options.changeDelayMs ?? 150;
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

  /** The active dataset changed (opened, switched, edited): reset text caches and the view. */
  async setData(data: PanelData | undefined): Promise<void> {
    this.data = data;
    this.text = data ? new TextIndex(data) : undefined;
    this.cursorIndex = undefined;
    // A model column from another dataset cannot filter or sort this one.
    this.query = sanitizeQuery(this.query, data);
    this.send({ type: 'dataset/didChange', dataset: data ? datasetView(data) : null });
    await this.refresh();
  }

  /** Scores or annotations changed: recompute after a short pause so a scoring run costs few recomputes. */
  rowsChanged(): void {
    if (this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      void this.refresh();
    }, this.changeDelayMs);
  }

  cursorChanged(index: number | undefined): void {
    this.cursorIndex = index;
    this.send(this.cursorMessage());
  }

  scoringChanged(running: boolean, message?: string): void {
    this.send({ type: 'scoring/didChange', running, ...(message !== undefined ? { message } : {}) });
  }

  /** The rows in view, in view order (for export). */
  viewIndexes(): Int32Array {
    return this.order;
  }

  currentQuery(): RowQuery {
    return this.query;
  }

  currentData(): PanelData | undefined {
    return this.data;
  }

  summary(): SummaryView | null {
    return this.data ? summaryView(this.data) : null;
  }

  dispose(): void {
    if (this.changeTimer) clearTimeout(this.changeTimer);
    this.changeTimer = undefined;
    this.detach();
  }

  /** Waits for pending recomputes (tests, export). */
  async settled(): Promise<void> {
    if (this.changeTimer) {
      clearTimeout(this.changeTimer);
      this.changeTimer = undefined;
      await this.refresh();
    }
    await this.recompute;
  }

  async handle(message: WebviewToHost): Promise<void> {
    switch (message.type) {
      case 'webview/ready': {
        this.ready = true;
        const queued = this.queue;
        this.queue = [];
        for (const m of queued) this.post?.(m);
        if (message.query) this.query = sanitizeQuery(message.query, this.data);
        this.send({ type: 'dataset/didChange', dataset: this.data ? datasetView(this.data) : null });
        await this.refresh();
        this.send(this.cursorMessage());
        return;
      }
      case 'view/setQuery':
        this.query = sanitizeQuery(message.query, this.data);
        await this.refresh();
        return;
      case 'row/select':
        if (this.data && message.index >= 0 && message.index < this.data.rowCount) await this.actions.revealRow(message.index);
        return;
      case 'rows/page':
      case 'row/detail':
      case 'row/score':
      case 'rows/scoreAll':
      case 'row/annotate':
      case 'row/removeAnnotation':
      case 'report/export':
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
        return this.detail(request.params.index);
      case 'row/score': {
        const data = this.requireData();
        const indexes = request.params.indexes.filter((i) => Number.isInteger(i) && i >= 0 && i < data.rowCount);
        if (indexes.length === 0) throw new Error('No row to score: select a row first.');
        await this.actions.scoreRows(indexes, {
          ...(request.params.models ? { models: request.params.models } : {}),
          ...(request.params.rerun ? { rerun: true } : {}),
        });
        return null;
      }
      case 'rows/scoreAll':
        this.requireData();
        await this.actions.scoreAll();
        return null;
      case 'row/annotate': {
        const data = this.requireData();
        const { index, target, label, note } = request.params;
        this.requireRow(data, index);
        if (!data.labels.includes(label)) throw new Error(`Unknown label "${label}": use one of ${data.labels.join(', ')}.`);
        if (target !== 'reference' && !data.models.includes(target)) throw new Error(`Unknown target "${target}": use "reference" or a model name.`);
        await this.actions.annotate(index, target, label, note?.trim() ? note.trim() : undefined);
        return null;
      }
      case 'row/removeAnnotation': {
        const data = this.requireData();
        this.requireRow(data, request.params.index);
        await this.actions.removeAnnotation(request.params.index, request.params.target);
        return null;
      }
      case 'report/export':
        await this.actions.exportReport();
        return null;
      default: {
        const unknown: never = request;
        throw new Error(`unknown panel request ${JSON.stringify(unknown)}`);
      }
    }
  }

  private requireData(): PanelData {
    if (!this.data) throw new Error('No dataset is open: open a PiSAR .jsonl file.');
    return this.data;
  }

  private requireRow(data: PanelData, index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= data.rowCount) throw new Error(`Row ${index} is not in ${data.file}.`);
  }

  private async page(generation: number, start: number, count: number): Promise<RowsPage> {
    const data = this.requireData();
    // An old generation's page would show rows of a view the user already left: answer empty.
    if (generation !== this.generation) return { generation: this.generation, start, rows: [] };
    const from = Math.max(0, Math.floor(start));
    const to = Math.min(this.order.length, from + Math.max(0, Math.min(MAX_ROW_PAGE, Math.floor(count))));
    const order = this.order;
    const rows = await Promise.all(Array.from({ length: Math.max(0, to - from) }, (_, k) => data.getRow(order[from + k])));
    return { generation, start: from, rows: rows.map((row) => rowView(data, row)) };
  }

  private async detail(index: number): Promise<RowDetail> {
    const data = this.requireData();
    this.requireRow(data, index);
    const row = await data.getRow(index);
    const models = [...data.models];
    for (const model of Object.keys(row.outputs)) if (!models.includes(model)) models.push(model);
    const outputs: OutputView[] = models.map((model) => {
      const result = data.resultOf(index, model);
      return {
        model,
        output: result?.output ?? row.outputs[model] ?? null,
        score: scoreView(data, index, model) ?? null,
        ...(result?.latencyMs !== undefined ? { latencyMs: result.latencyMs } : {}),
      };
    });
    const images = await Promise.all(row.images.map(async (image) => ({ source: image.value, ...(await this.actions.loadImage(data, image)) })));
    return {
      index,
      line: row.line,
      id: row.id,
      input: row.input,
      reference: row.reference ?? null,
      images,
      outputs,
      annotations: data.annotationsOf(index),
    };
  }

  /** Recomputes the view and the summary, then pushes both. */
  private refresh(): Promise<void> {
    const next = this.recompute.then(async () => {
      const data = this.data;
      const text = this.text;
      const query = this.query;
      if (!data || !text) {
        this.order = new Int32Array(0);
        this.generation++;
        this.send({ type: 'summary/didChange', summary: null });
        this.send({ type: 'rows/didChange', generation: this.generation, total: 0, query });
        return;
      }
      let order: Int32Array;
      try {
        order = await computeOrder(data, text, query);
      } catch (error) {
        // The file may have changed under a text search; show the unfiltered view rather than none.
        order = Int32Array.from({ length: data.rowCount }, (_, i) => i);
        this.scoringChanged(false, `Could not filter the rows: ${error instanceof Error ? error.message : String(error)}`);
      }
      // A newer dataset or query arrived while this one was computing: its own refresh will push.
      if (data !== this.data || query !== this.query) return;
      this.order = order;
      this.generation++;
      this.send({ type: 'summary/didChange', summary: summaryView(data) });
      this.send({ type: 'rows/didChange', generation: this.generation, total: order.length, query });
      if (this.cursorIndex !== undefined) this.send(this.cursorMessage());
    });
    this.recompute = next.catch(() => undefined);
    return next;
  }

  private cursorMessage(): HostToWebview {
    const index = this.cursorIndex;
    if (index === undefined) return { type: 'cursor/didChange', index: null, position: null };
    const position = this.order.indexOf(index);
    return { type: 'cursor/didChange', index, position: position === -1 ? null : position };
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

export function datasetView(data: PanelData): DatasetView {
  const name = data.file.split(/[\\/]/).pop() ?? data.file;
  return { file: data.file, name, rowCount: data.rowCount, models: [...data.models], labels: [...data.labels], threshold: data.threshold };
}

/** Drops filter and sort parts that name a model the dataset does not have. */
export function sanitizeQuery(query: RowQuery, data: PanelData | undefined): RowQuery {
  const models = data?.models ?? [];
  const sortModel = query.sort.column.startsWith('score:') ? query.sort.column.slice('score:'.length) : undefined;
  const sort = sortModel !== undefined && !models.includes(sortModel) ? DEFAULT_QUERY.sort : query.sort;
  const below = query.filter.below;
  const keepBelow = below === undefined || below === 'any' || models.includes(below.model);
  const filter = keepBelow ? query.filter : { ...query.filter, below: undefined };
  return sort === query.sort && filter === query.filter ? query : { sort, filter };
}

export function summaryView(data: PanelData): SummaryView {
  const numbers = data.summary();
  const byModel = new Map(numbers.models.map((m) => [m.model, m]));
  const histograms = data.models.map(() => new Array<number>(HISTOGRAM_BINS).fill(0));
  let annotated = 0;
  let suspect = 0;
  for (let index = 0; index < data.rowCount; index++) {
    data.models.forEach((model, m) => {
      const score = data.resultOf(index, model)?.score;
      if (typeof score !== 'number' || Number.isNaN(score)) return;
      const bin = Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor(score * HISTOGRAM_BINS)));
      histograms[m][bin]++;
    });
    if (data.annotationsOf(index).length > 0) annotated++;
    if (isSuspect(data, index)) suspect++;
  }
  const models: ModelSummaryView[] = data.models.map((model, m) => {
    const n = byModel.get(model);
    return {
      model,
      scored: n?.scored ?? 0,
      mean: n?.mean ?? null,
      median: n?.median ?? null,
      shareAtLeast: n?.shareAtLeast ?? null,
      failures: n?.failures ?? 0,
      histogram: histograms[m],
    };
  });
  return { threshold: data.threshold, rowCount: data.rowCount, models, gaps: [...numbers.gaps], annotated, suspect };
}
