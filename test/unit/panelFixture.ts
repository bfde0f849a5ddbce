import type { HostToWebview, ResponseMessage, WebviewToHost } from '../../src/shared/protocol';
import type { StatisticsView } from '../../src/shared/statisticsView';
import type { PanelDataset, PanelSource, RowImage } from '../../src/host/panel/panelData';
import type {
  AnnotationTargetView,
  AnnotationView,
  ModelOutputView,
  RowDetail,
  RowFilter,
  RowView,
  ScoreOptions,
} from '../../src/host/review/reviewApi';
import { PanelController } from '../../src/host/panel/panelController';

export interface MemoryRow {
  id: string;
  input: string;
  reference?: string;
  outputs?: Record<string, string>;
  images?: RowImage[];
}

export interface MemoryResult {
  score?: number;
  error?: string;
  note?: string;
  stale?: boolean;
  output?: string;
  latencyMs?: number;
}

/**
 * The review API over plain maps, the way the host implements it over Dataset and the stores:
 * the panel's tests drive the real controller against it.
 */
export class MemoryReviewSource implements PanelSource {
  readonly results = new Map<string, MemoryResult>();
  readonly annotations = new Map<number, AnnotationView[]>();
  readonly calls: string[] = [];
  /** Rows handed out by rows(), to check what sorting and paging cost. */
  rowsServed = 0;
  textSearches = 0;
  /** Rows a text search looked at. */
  rowsSearched = 0;
  scoring = false;
  private nextAnnotation = 1;
  /** The snapshot, rebuilt after a change, as the host caches it by dataset version. */
  private snapshot: PanelDataset | undefined;

  constructor(
    readonly file: string,
    readonly rowList: MemoryRow[],
    readonly models: string[],
    readonly threshold = 0.7,
    readonly labels: string[] = ['wrong', 'incomplete', 'hallucinated', 'off-topic', 'fine'],
  ) {}

  /** Called after an action changed rows, like ReviewApi.onDidChangeRows. */
  onDidChangeRows: ((indexes: readonly number[]) => void) | undefined;

  /** Call after changing rows, models or annotations directly. */
  changed(): void {
    this.snapshot = undefined;
  }

  setScore(index: number, model: string, result: MemoryResult | number): void {
    this.snapshot = undefined;
    this.results.set(`${index}\u0000${model}`, typeof result === 'number' ? { score: result } : result);
  }

  resultOf(index: number, model: string): MemoryResult | undefined {
    return this.results.get(`${index}\u0000${model}`);
  }

  private scoresOf(index: number): number[] {
    return this.models.map((m) => this.resultOf(index, m)?.score).filter((s): s is number => typeof s === 'number');
  }

  private below(index: number, model?: string): boolean {
    return (model ? [model] : this.models).some((m) => {
      const s = this.resultOf(index, m)?.score;
      return typeof s === 'number' && s < this.threshold;
    });
  }

  private suspect(index: number): boolean {
    const scores = this.scoresOf(index);
    return scores.length > 0 && scores.every((s) => s < this.threshold);
  }

  activeDataset(): PanelDataset {
    this.snapshot ??= this.buildSnapshot();
    return this.snapshot;
  }

  private buildSnapshot(): PanelDataset {
    const models = this.models.map((model) => {
      const scores: number[] = [];
      let failed = 0;
      for (let i = 0; i < this.rowList.length; i++) {
        const r = this.resultOf(i, model);
        if (typeof r?.score === 'number') scores.push(r.score);
        else if (r?.error) failed++;
      }
      const sorted = [...scores].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return {
        model,
        scored: scores.length,
        mean: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : undefined,
        median: sorted.length === 0 ? undefined : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
        shareAtOrAbove: scores.length ? scores.filter((s) => s >= this.threshold).length / scores.length : undefined,
        failed,
        scores,
      };
    });
    const gaps = [];
    for (const a of models)
      for (const b of models)
        if (a !== b && a.mean !== undefined && b.mean !== undefined) gaps.push({ a: a.model, b: b.model, meanDifference: a.mean - b.mean });
    let annotatedRows = 0;
    let suspectRows = 0;
    for (let i = 0; i < this.rowList.length; i++) {
      if ((this.annotations.get(i) ?? []).length > 0) annotatedRows++;
      if (this.suspect(i)) suspectRows++;
    }
    return {
      file: this.file,
      version: 1,
      rowCount: this.rowList.length,
      models: this.models,
      configuredModels: this.models,
      threshold: this.threshold,
      labels: this.labels,
      summary: { rows: this.rowList.length, models, gaps },
      annotatedRows,
      suspectRows,
      findings: 0,
      canScore: true,
      scoring: this.scoring,
    };
  }

  private view(index: number): RowView {
    const row = this.rowList[index];
    const scores = this.models
      .map((model) => ({ model, r: this.resultOf(index, model) }))
      .filter((x) => x.r !== undefined)
      .map(({ model, r }) => ({
        model,
        score: r!.score,
        error: r!.error,
        note: r!.note,
        stale: r!.stale ?? false,
        latencyMs: r!.latencyMs,
        promptTokens: undefined,
        completionTokens: undefined,
      }));
    return {
      index,
      line: index + 1,
      id: row.id,
      inputPreview: row.input.split('\n')[0].slice(0, 200),
      referencePreview: row.reference?.slice(0, 500),
      hasImage: (row.images ?? []).length > 0,
      scores,
      annotations: this.annotations.get(index) ?? [],
      belowThreshold: this.below(index),
      suspectReference: this.suspect(index),
    };
  }

  async rows(start: number, count: number): Promise<RowView[]> {
    const out: RowView[] = [];
    for (let i = Math.max(0, start); i < Math.min(this.rowList.length, start + count); i++) out.push(this.view(i));
    this.rowsServed += out.length;
    return out;
  }

  /** Like the host's: every score from the results, no row read. Set to undefined to test the fallback. */
  /** The statistics section and setting the threshold: absent unless a test sets them. */
  statistics: (() => Promise<StatisticsView | undefined>) | undefined;
  useThreshold: ((threshold: number) => Promise<void>) | undefined;

  scoreColumns: (() => Promise<ReadonlyMap<string, Float64Array>>) | undefined = async () => {
    this.scoreColumnCalls++;
    const n = this.rowList.length;
    const columns = new Map(this.models.map((m) => [m, new Float64Array(n).fill(Number.NaN)]));
    for (const [key, r] of this.results) {
      const [index, model] = key.split('\u0000');
      if (typeof r.score === 'number' && !r.error) columns.get(model)?.set([r.score], Number(index));
    }
    return columns;
  };
  scoreColumnCalls = 0;

  async filterRows(filter: RowFilter): Promise<number[]> {
    const out: number[] = [];
    const needle = filter.kind === 'text' ? filter.text.toLowerCase() : '';
    if (filter.kind === 'text') this.textSearches++;
    const candidates = filter.kind === 'text' && filter.within ? filter.within : this.rowList.map((_, i) => i);
    for (const i of candidates) {
      const row = this.rowList[i];
      if (!row) continue;
      this.rowsSearched += filter.kind === 'text' ? 1 : 0;
      let keep: boolean;
      switch (filter.kind) {
        case 'belowThreshold':
          keep = this.below(i, filter.model);
          break;
        case 'suspectReference':
          keep = this.suspect(i);
          break;
        case 'annotated':
          keep = (this.annotations.get(i) ?? []).length > 0;
          break;
        case 'notScored':
          keep = this.models.some((m) => !this.resultOf(i, m));
          break;
        case 'text':
          keep = [row.id, row.input, row.reference ?? '', ...Object.values(row.outputs ?? {})].some((t) => t.toLowerCase().includes(needle));
          break;
      }
      if (keep) out.push(i);
    }
    return out;
  }

  async rowDetail(index: number): Promise<RowDetail | undefined> {
    const row = this.rowList[index];
    if (!row) return undefined;
    const outputs: ModelOutputView[] = this.models.map((model) => {
      const r = this.resultOf(index, model);
      return {
        model,
        score: r?.score,
        error: r?.error,
        stale: r?.stale ?? false,
        latencyMs: r?.latencyMs,
        promptTokens: undefined,
        completionTokens: undefined,
        output: r?.output ?? row.outputs?.[model],
      };
    });
    return { ...this.view(index), input: row.input, reference: row.reference, images: row.images ?? [], outputs };
  }

  async revealRow(index: number): Promise<void> {
    this.calls.push(`reveal ${index}`);
  }
  async scoreRows(indexes: readonly number[], options?: ScoreOptions): Promise<void> {
    this.calls.push(`score ${indexes.join(',')}${options?.models ? ` models=${options.models.join(',')}` : ''}${options?.rerun ? ' rerun' : ''}`);
  }
  async scoreAll(): Promise<void> {
    this.calls.push('scoreAll');
  }
  async annotate(index: number, target: AnnotationTargetView, label: string, note?: string): Promise<void> {
    const name = target.kind === 'reference' ? 'reference' : target.model!;
    this.calls.push(`annotate ${index} ${name} ${label}${note ? ` "${note}"` : ''}`);
    const list = (this.annotations.get(index) ?? []).filter((a) => !(a.target.kind === target.kind && a.target.model === target.model));
    this.snapshot = undefined;
    list.push({ id: `a${this.nextAnnotation++}`, target, label, note, state: 'current', updatedAt: '2026-01-01T00:00:00Z' });
    this.annotations.set(index, list);
    this.onDidChangeRows?.([index]);
  }
  async removeAnnotation(annotationId: string): Promise<void> {
    this.calls.push(`remove ${annotationId}`);
    this.snapshot = undefined;
    for (const [i, list] of this.annotations) {
      if (!list.some((a) => a.id === annotationId)) continue;
      this.annotations.set(i, list.filter((a) => a.id !== annotationId));
      this.onDidChangeRows?.([i]);
    }
  }
  async exportReport(): Promise<void> {
    this.calls.push('export');
  }
  async loadImage(_file: string, image: RowImage): Promise<{ dataUrl?: string; problem?: string }> {
    return image.kind === 'data' ? { dataUrl: image.value } : { problem: `"${image.value}" is not read in tests` };
  }
}

/**
 * Six rows, two models, threshold 0.7:
 *   b-2  ft 0.91 gpt 0.46   below for gpt
 *   a-10 ft 0.55 gpt 0.30   suspect (both below)
 *   a-9  ft 0.80 gpt 0.75   fine
 *   c    ft 0.72 gpt -      not scored by gpt; annotated 'wrong'
 *   d    ft fail gpt 0.69   ft failed; below for gpt; suspect (every scored model below)
 *   e    -       -          not scored; text "Tax"
 */
export function knownSource(): MemoryReviewSource {
  const source = new MemoryReviewSource(
    '/w/known.jsonl',
    [
      { id: 'b-2', input: 'Why did the user cancel?\nsecond line', reference: 'Price went up' },
      { id: 'a-10', input: 'Explain the refund', reference: 'Refund policy' },
      { id: 'a-9', input: 'Describe onboarding', reference: 'Clear steps' },
      { id: 'c', input: 'zebra question', reference: 'Animals' },
      { id: 'd', input: '<img src=x onerror=alert(1)>', reference: 'xss' },
      { id: 'e', input: 'About TAX forms', outputs: { ft: 'a tax answer' } },
    ],
    ['ft', 'gpt'],
  );
  source.setScore(0, 'ft', 0.91);
  source.setScore(0, 'gpt', 0.46);
  source.setScore(1, 'ft', 0.55);
  source.setScore(1, 'gpt', 0.3);
  source.setScore(2, 'ft', 0.8);
  source.setScore(2, 'gpt', 0.75);
  source.setScore(3, 'ft', 0.72);
  source.setScore(4, 'ft', { error: 'HTTP 500' });
  source.setScore(4, 'gpt', 0.69);
  source.annotations.set(3, [{ id: 'n1', target: { kind: 'reference' }, label: 'wrong', note: 'gold is off', state: 'changed', updatedAt: '' }]);
  return source;
}

export function rows(n: number, make: (i: number) => Partial<MemoryRow> = () => ({})): MemoryRow[] {
  return Array.from({ length: n }, (_, i) => ({ id: `r${i}`, input: `input ${i}`, reference: `reference ${i}`, ...make(i) }));
}

/** A controller attached to a recording "webview". */
export class PanelHarness {
  readonly sent: HostToWebview[] = [];
  readonly controller: PanelController;
  private nextId = 1;

  constructor(readonly source: MemoryReviewSource) {
    this.controller = new PanelController(source, { changeDelayMs: 5 });
    this.controller.attach((m) => this.sent.push(m));
  }

  async request<T>(message: Omit<Extract<WebviewToHost, { id: number }>, 'id'>): Promise<{ ok: boolean; result?: T; error?: string }> {
    const id = this.nextId++;
    await this.controller.handle({ ...message, id } as WebviewToHost);
    const response = this.sent.find((m): m is ResponseMessage => m.type === 'response' && m.id === id);
    if (!response) throw new Error(`no response to request ${id}`);
    return response.ok ? { ok: true, result: response.result as T } : { ok: false, error: response.error };
  }

  last<K extends HostToWebview['type']>(type: K): Extract<HostToWebview, { type: K }> {
    for (let i = this.sent.length - 1; i >= 0; i--) if (this.sent[i].type === type) return this.sent[i] as Extract<HostToWebview, { type: K }>;
    throw new Error(`nothing of type ${type} was sent`);
  }
}
