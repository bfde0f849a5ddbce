import type { AnnotationView, HostToWebview, ResponseMessage, WebviewToHost } from '../../src/shared/protocol';
import type { PanelActions, PanelData, PanelResult, PanelRow, PanelSummaryNumbers } from '../../src/host/panel/panelData';
import { PanelController } from '../../src/host/panel/panelController';

/** In-memory dataset for the panel's host-side tests: rows, results and annotations as plain maps. */
export class MemoryPanelData implements PanelData {
  readonly results = new Map<string, PanelResult>();
  readonly annotations = new Map<number, AnnotationView[]>();
  rowsStreamed = 0;

  constructor(
    readonly file: string,
    readonly rowList: PanelRow[],
    readonly models: string[],
    readonly threshold = 0.7,
    readonly labels: string[] = ['wrong', 'incomplete', 'hallucinated', 'off-topic', 'fine'],
  ) {}

  get rowCount(): number {
    return this.rowList.length;
  }

  setScore(index: number, model: string, result: PanelResult | number): void {
    this.results.set(`${index}\u0000${model}`, typeof result === 'number' ? { score: result } : result);
  }

  async getRow(index: number): Promise<PanelRow> {
    const row = this.rowList[index];
    if (!row) throw new Error(`no row ${index}`);
    return row;
  }

  async *rows(): AsyncIterable<PanelRow> {
    for (const row of this.rowList) {
      this.rowsStreamed++;
      yield row;
    }
  }

  rowLine(index: number): number {
    return this.rowList[index].line;
  }

  rowIds(): readonly string[] {
    return this.rowList.map((r) => r.id);
  }

  resultOf(index: number, model: string): PanelResult | undefined {
    return this.results.get(`${index}\u0000${model}`);
  }

  annotationsOf(index: number): readonly AnnotationView[] {
    return this.annotations.get(index) ?? [];
  }

  summary(): PanelSummaryNumbers {
    const models = this.models.map((model) => {
      const scores: number[] = [];
      let failures = 0;
      for (let i = 0; i < this.rowCount; i++) {
        const r = this.resultOf(i, model);
        if (r && typeof r.score === 'number') scores.push(r.score);
        else if (r) failures++;
      }
      const sorted = [...scores].sort((a, b) => a - b);
      const mean = scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null;
      const mid = sorted.length >> 1;
      const median = sorted.length === 0 ? null : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      const shareAtLeast = scores.length ? scores.filter((s) => s >= this.threshold).length / scores.length : null;
      return { model, scored: scores.length, mean, median, shareAtLeast, failures };
    });
    const gaps = [];
    for (let a = 0; a < models.length; a++)
      for (let b = a + 1; b < models.length; b++) {
        const ma = models[a].mean;
        const mb = models[b].mean;
        gaps.push({ a: models[a].model, b: models[b].model, gap: ma !== null && mb !== null ? ma - mb : null });
      }
    return { models, gaps };
  }
}

export function makeRow(index: number, fields: Partial<PanelRow> = {}): PanelRow {
  return {
    index,
    line: index + 1,
    id: `r${index}`,
    input: `input ${index}`,
    reference: `reference ${index}`,
    outputs: {},
    images: [],
    ...fields,
  };
}

/** Records what the panel asked the host to do. */
export class RecordingActions implements PanelActions {
  readonly calls: string[] = [];
  onAnnotate?: (index: number, target: string, label: string, note: string | undefined) => void;

  revealRow(index: number): void {
    this.calls.push(`reveal ${index}`);
  }
  async scoreRows(indexes: readonly number[], options: { models?: readonly string[]; rerun?: boolean }): Promise<void> {
    this.calls.push(`score ${indexes.join(',')}${options.models ? ` models=${options.models.join(',')}` : ''}${options.rerun ? ' rerun' : ''}`);
  }
  async scoreAll(): Promise<void> {
    this.calls.push('scoreAll');
  }
  async annotate(index: number, target: string, label: string, note: string | undefined): Promise<void> {
    this.calls.push(`annotate ${index} ${target} ${label}${note ? ` "${note}"` : ''}`);
    this.onAnnotate?.(index, target, label, note);
  }
  async removeAnnotation(index: number, target: string): Promise<void> {
    this.calls.push(`remove ${index} ${target}`);
  }
  async exportReport(): Promise<void> {
    this.calls.push('export');
  }
  async loadImage(_data: PanelData, image: PanelRow['images'][number]): Promise<{ dataUrl?: string; problem?: string }> {
    return image.kind === 'data' ? { dataUrl: image.value } : { problem: 'not loaded in tests' };
  }
}

/** A controller attached to a recording "webview". */
export class PanelHarness {
  readonly sent: HostToWebview[] = [];
  readonly actions = new RecordingActions();
  readonly controller = new PanelController(this.actions, { changeDelayMs: 5 });
  private nextId = 1;

  constructor() {
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
