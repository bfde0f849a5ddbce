import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { DatasetReview } from '../../src/core/review/datasetReview';
import { ReviewModel, type RowCondition } from '../../src/core/review/reviewModel';
import type { AnnotationTarget } from '../../src/core/store/annotations';
import type { StoredResult } from '../../src/core/store/results';
import type { PanelSource } from '../../src/host/panel/panelData';
import { PanelController, type PanelControllerOptions } from '../../src/host/panel/panelController';
import type { ScoreOptions } from '../../src/host/review/reviewApi';
import type { HostToWebview, ImageView, ResponseMessage, WebviewToHost } from '../../src/shared/protocol';
import type { ModelPrice } from '../../src/core/rules/cost';

/**
 * The panel's source in tests: the product's own review model (core's ReviewModel and DatasetReview,
 * which the extension's ReviewService extends) over a real dataset file and real sidecars in a
 * temporary folder. Only what needs VS Code or a model endpoint (reveal, scoring, export,
 * thumbnails) is recorded instead of done. Tests state the answers they expect, worked out from the
 * rows they wrote, never computed by this file.
 */

export interface FixtureRow {
  id: string;
  input: string;
  reference?: string;
  outputs?: Record<string, string>;
  /** Written as the row's "images" field. */
  images?: string[];
}

export interface FixtureResult {
  score?: number;
  /** The call failed with this message (stored as kind "server"). */
  error?: string;
  /** Why a successful output has no score. */
  note?: string;
  /** Stored for an older version of the row. */
  stale?: boolean;
  output?: string;
  latencyMs?: number;
  usage?: StoredResult['usage'];
  /** An LLM judge's verdict stored with the result. */
  judge?: StoredResult['judge'];
}

const roots: string[] = [];
process.on('exit', () => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function jsonl(rows: readonly FixtureRow[]): string {
  return rows.map((r) => JSON.stringify({ id: r.id, input: r.input, ...(r.reference !== undefined ? { reference: r.reference } : {}), ...(r.outputs ? { outputs: r.outputs } : {}), ...(r.images ? { images: r.images } : {}) })).join('\n') + '\n';
}

export class ReviewFixture implements PanelSource {
  readonly calls: string[] = [];
  /** Rows handed out by rows(), to check what sorting and paging cost. */
  rowsServed = 0;
  textSearches = 0;
  /** Rows a text search looked at. */
  rowsSearched = 0;
  scoreColumnCalls = 0;
  scoring = false;
  /** The reviewer named on annotations made through the model (undefined: none). */
  reviewer: string | undefined;
  /** Blind mode (the pisarReview.review.blind setting). */
  blind = false;
  /** Called with the rows the active review says changed (its onDidChangeRows, as ReviewApi.onDidChangeRows). */
  onDidChangeRows: ((indexes: readonly number[] | undefined) => void) | undefined;
  private active: DatasetReview | undefined;
  readonly model: ReviewModel;

  private constructor(
    review: DatasetReview,
    readonly labels: readonly string[],
  ) {
    this.follow(review);
    this.model = new ReviewModel(() => this.active, () => ({ labels: this.labels, canScore: true, reviewer: this.reviewer, blind: this.blind }));
  }

  /** Writes `rows` as `<name>` in a fresh folder and opens it with its (empty) sidecars. */
  static async create(rows: readonly FixtureRow[], models: readonly string[], options: { name?: string; threshold?: number; labels?: string[]; prices?: Record<string, ModelPrice> } = {}): Promise<ReviewFixture> {
    const review = await openReview(rows, models, options);
    return new ReviewFixture(review, options.labels ?? ['wrong', 'incomplete', 'hallucinated', 'off-topic', 'fine']);
  }

  private following: { dispose(): void } | undefined;

  private follow(review: DatasetReview | undefined): void {
    this.following?.dispose();
    this.active = review;
    this.following = review?.onDidChangeRows(({ indexes }) => this.onDidChangeRows?.(indexes));
  }

  get review(): DatasetReview {
    if (!this.active) throw new Error('no dataset is open');
    return this.active;
  }

  get file(): string {
    return this.review.file;
  }

  /** Stores a result for a row and model through the real results store. */
  async setScore(index: number, model: string, result: FixtureResult | number): Promise<void> {
    await this.setScores([[index, model, result]]);
  }

  async setScores(entries: readonly (readonly [number, string, FixtureResult | number])[]): Promise<void> {
    const review = this.review;
    const store = await review.resultsStore();
    const records: StoredResult[] = entries.map(([index, model, value]) => {
      const r: FixtureResult = typeof value === 'number' ? { score: value } : value;
      return {
        rowId: review.dataset.rowIds()[index],
        rowHash: r.stale ? 'an-older-version-of-the-row' : review.dataset.rowHash(index),
        model,
        source: 'called',
        ...(r.error ? { error: { kind: 'server', message: r.error } } : { output: r.output ?? `${model} output` }),
        ...(r.score !== undefined ? { score: r.score } : {}),
        ...(r.note !== undefined ? { scoreNote: r.note } : {}),
        ...(r.latencyMs !== undefined ? { latencyMs: r.latencyMs } : {}),
        ...(r.usage !== undefined ? { usage: r.usage } : {}),
        ...(r.judge !== undefined ? { judge: r.judge } : {}),
        at: new Date().toISOString(),
      };
    });
    await store.append(records);
  }

  /** Annotates through the real annotation store; `changedSince` anchors it to an older version of the row. */
  async annotateRow(index: number, target: AnnotationTarget, label: string, note?: string, options: { changedSince?: boolean } = {}): Promise<void> {
    const review = this.review;
    const store = await review.annotationStore();
    await store.add({ rowId: review.dataset.rowIds()[index], rowHash: options.changedSince ? 'an-older-version-of-the-row' : review.dataset.rowHash(index), target, label, note });
  }

  /** Replaces the file's rows, as an edit in the editor does (results and annotations stay in their sidecars). */
  editRows(rows: readonly FixtureRow[]): void {
    const text = jsonl(rows);
    writeFileSync(this.review.file, text);
    this.review.replaceDataset(Dataset.fromText(this.review.file, text));
  }

  /** Switches to another dataset (as another editor becoming active does), or to none. */
  async switchTo(rows: readonly FixtureRow[] | undefined, models: readonly string[] = [], options: { name?: string } = {}): Promise<void> {
    this.follow(rows ? await openReview(rows, models, options) : undefined);
  }

  // ---- PanelSource: reading is the product's review model ----

  activeDataset() {
    return this.model.activeDataset();
  }

  summary() {
    return this.model.summary();
  }

  async rows(start: number, count: number) {
    const rows = await this.model.rows(start, count);
    this.rowsServed += rows.length;
    return rows;
  }

  async filterRows(condition: RowCondition) {
    if (condition.kind === 'text') {
      this.textSearches++;
      this.rowsSearched += condition.within?.length ?? this.review.dataset.rowCount;
    }
    return this.model.filterRows(condition);
  }

  prepareSearch() {
    return this.model.prepareSearch();
  }

  /** The score columns; set to undefined to test the fallback that reads rows. */
  scoreColumns: (() => Promise<ReadonlyMap<string, Float64Array>>) | undefined = () => {
    this.scoreColumnCalls++;
    return this.model.scoreColumns();
  };

  rowDetail(index: number) {
    return this.model.rowDetail(index);
  }

  indexOfRow(id: string) {
    return this.model.indexOfRow(id);
  }

  rowIdAt(index: number) {
    return this.model.rowIdAt(index);
  }

  isScoring(): boolean {
    return this.scoring;
  }

  async annotate(index: number, target: AnnotationTarget, label: string, note?: string): Promise<void> {
    this.calls.push(`annotate ${index} ${target.kind === 'reference' ? 'reference' : target.model} ${label}${note ? ` "${note}"` : ''}`);
    await this.model.annotate(index, target, label, note);
  }

  async removeAnnotation(annotationId: string): Promise<void> {
    this.calls.push(`remove ${annotationId}`);
    await this.model.removeAnnotation(annotationId);
  }

  async adjudicate(index: number, target: AnnotationTarget, label: string, note?: string): Promise<void> {
    this.calls.push(`adjudicate ${index} ${target.kind === 'reference' ? 'reference' : target.model} ${label}`);
    await this.model.adjudicate(index, target, label, note);
  }

  agreement() {
    return this.model.agreement({ resamples: 200 });
  }

  // ---- PanelSource: what needs VS Code or a model endpoint is recorded ----

  async setBlind(blind: boolean): Promise<void> {
    this.calls.push(`blind ${blind}`);
    this.blind = blind;
  }

  async exportTraining(): Promise<void> {
    this.calls.push('exportTraining');
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

  async exportReport(): Promise<void> {
    this.calls.push('export');
  }

  async loadImage(_file: string, image: ImageView): Promise<{ dataUrl?: string; problem?: string }> {
    return image.kind === 'data' ? { dataUrl: image.source } : { problem: `"${image.source}" is not read in tests` };
  }
}

async function openReview(rows: readonly FixtureRow[], models: readonly string[], options: { name?: string; threshold?: number; prices?: Record<string, ModelPrice> }): Promise<DatasetReview> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pisar-panel-'));
  roots.push(root);
  const dir = path.join(root, 'w');
  mkdirSync(dir);
  const file = path.join(dir, options.name ?? 'data.jsonl');
  writeFileSync(file, jsonl(rows));
  return DatasetReview.open(file, { threshold: options.threshold ?? 0.7, models: models.map((name) => ({ name, ...(options.prices?.[name] ? { price: options.prices[name] } : {}) })) });
}

export function rows(n: number, make: (i: number) => Partial<FixtureRow> = () => ({})): FixtureRow[] {
  return Array.from({ length: n }, (_, i) => ({ id: `r${i}`, input: `input ${i}`, reference: `reference ${i}`, ...make(i) }));
}

/** The rows of `knownSource()`, in file order. */
export const knownRows: readonly FixtureRow[] = [
  { id: 'b-2', input: 'Why did the user cancel?\nsecond line', reference: 'Price went up' },
  { id: 'a-10', input: 'Explain the refund', reference: 'Refund policy' },
  { id: 'a-9', input: 'Describe onboarding', reference: 'Clear steps' },
  { id: 'c', input: 'zebra question', reference: 'Animals' },
  { id: 'd', input: '<img src=x onerror=alert(1)>', reference: 'xss' },
  { id: 'e', input: 'About TAX forms', outputs: { ft: 'a tax answer' } },
];

/**
 * Six rows, two models, threshold 0.7 (what the product answers, worked out by hand):
 *   b-2  ft 0.91 gpt 0.46   below (gpt)
 *   a-10 ft 0.55 gpt 0.30   below; suspect reference (two models, both below)
 *   a-9  ft 0.80 gpt 0.75   fine
 *   c    ft 0.72 gpt -      not scored (gpt); reference annotated 'wrong', the row changed since
 *   d    ft fail gpt 0.69   below (gpt); not scored (ft failed); not suspect (one score only)
 *   e    -       -          not scored; text "TAX"; a precomputed ft output
 */
export async function knownSource(): Promise<ReviewFixture> {
  const source = await ReviewFixture.create(
    knownRows,
    ['ft', 'gpt'],
    { name: 'known.jsonl' },
  );
  await source.setScores([
    [0, 'ft', 0.91],
    [0, 'gpt', 0.46],
    [1, 'ft', 0.55],
    [1, 'gpt', 0.3],
    [2, 'ft', 0.8],
    [2, 'gpt', 0.75],
    [3, 'ft', 0.72],
    [4, 'ft', { error: 'HTTP 500' }],
    [4, 'gpt', 0.69],
  ]);
  await source.annotateRow(3, { kind: 'reference' }, 'wrong', 'gold is off', { changedSince: true });
  return source;
}

/** A controller attached to a recording "webview". */
export class PanelHarness {
  readonly sent: HostToWebview[] = [];
  readonly controller: PanelController;
  private nextId = 1;

  constructor(readonly source: ReviewFixture, options: PanelControllerOptions = { changeDelayMs: 5 }) {
    this.controller = new PanelController(source, options);
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
