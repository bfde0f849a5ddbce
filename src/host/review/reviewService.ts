import * as vscode from 'vscode';
import type { DatasetRow } from '../../core/dataset/types';
import { isBelowThreshold, isNotScored } from '../../core/review/rules';
import { sameTarget, type AnnotationTarget } from '../../core/store/annotations';
import type { ConfigService } from '../config';
import { oneLine } from './format';
import type {
  AnnotationTargetView,
  AnnotationView,
  CursorRow,
  DatasetView,
  ModelScoreView,
  ReviewApi,
  RowDetail,
  RowFilter,
  RowsChange,
  RowView,
  ScoreOptions,
} from './reviewApi';
import type { DatasetSession, ModelResultState, RowState } from './session';
import type { ScoringController } from './scoring';
import type { SessionManager } from './sessions';
import { summarizeSession } from './summary';
import type { StatisticsReport } from '../../core/report/statistics';
import { sessionStatistics } from './statistics';

/**
 * The review actions shared by the editor commands and the side panel (it implements ReviewApi),
 * so both write through the same code and always show the same data.
 */
export class ReviewService implements ReviewApi, vscode.Disposable {
  private readonly activeEmitter = new vscode.EventEmitter<DatasetView | undefined>();
  private readonly rowsEmitter = new vscode.EventEmitter<RowsChange>();
  private readonly cursorEmitter = new vscode.EventEmitter<CursorRow>();
  private readonly disposables: vscode.Disposable[] = [this.activeEmitter, this.rowsEmitter, this.cursorEmitter];
  private viewCache: { session: DatasetSession; version: number; scoring: boolean; view: DatasetView } | undefined;

  readonly onDidChangeActiveDataset = this.activeEmitter.event;
  readonly onDidChangeRows = this.rowsEmitter.event;
  readonly onDidChangeCursorRow = this.cursorEmitter.event;

  constructor(
    private readonly sessions: SessionManager,
    private readonly scoring: ScoringController,
    private readonly config: ConfigService,
  ) {
    this.disposables.push(
      sessions.onDidChangeActive(() => this.activeEmitter.fire(this.activeDataset())),
      sessions.onDidChange((e) => {
        if (e.session === sessions.active) this.rowsEmitter.fire({ file: e.session.file, indexes: e.indexes });
      }),
      sessions.onDidChangeCursorRow((e) => this.cursorEmitter.fire({ file: e.session.file, index: e.index })),
      scoring.onDidChangeProgress((s) => {
        if (s === sessions.active && this.viewCache?.scoring !== scoring.isScoring(s)) this.rowsEmitter.fire({ file: s.file, indexes: [] });
      }),
      config.onDidChange(() => {
        const s = sessions.active;
        if (s) this.rowsEmitter.fire({ file: s.file });
      }),
    );
  }

  // ---- reading -------------------------------------------------------------------------------

  statistics(): Promise<StatisticsReport | undefined> {
    const session = this.sessions.active;
    return session ? sessionStatistics(session) : Promise.resolve(undefined);
  }

  activeDataset(): DatasetView | undefined {
    const session = this.sessions.active;
    if (!session) return undefined;
    const scoring = this.scoring.isScoring(session);
    const c = this.viewCache;
    if (c && c.session === session && c.version === session.version && c.scoring === scoring) return c.view;
    const cfg = this.config.current;
    let annotatedRows = 0;
    let suspectRows = 0;
    for (const s of session.rowStates().values()) {
      if (s.annotations.length > 0) annotatedRows++;
      if (s.suspect) suspectRows++;
    }
    const view: DatasetView = {
      uri: session.uri,
      file: session.file,
      version: session.version,
      rowCount: session.dataset.rowCount,
      models: session.models(),
      configuredModels: cfg.models.map((m) => m.name),
      threshold: session.threshold,
      labels: cfg.labels,
      summary: summarizeSession(session),
      annotatedRows,
      suspectRows,
      findings: session.dataset.findings.length,
      canScore: vscode.workspace.isTrusted,
      scoring,
    };
    this.viewCache = { session, version: session.version, scoring, view };
    return view;
  }

  async rows(start: number, count: number): Promise<RowView[]> {
    const session = this.sessions.active;
    if (!session) return [];
    const dataset = session.dataset;
    const from = Math.max(0, Math.floor(start));
    const to = Math.min(dataset.rowCount, from + Math.max(0, Math.floor(count)));
    const out: RowView[] = [];
    for (let i = from; i < to; i++) {
      const row = await readRow(session, i);
      out.push(rowView(session, i, row));
    }
    return out;
  }

  async filterRows(filter: RowFilter): Promise<number[]> {
    const session = this.sessions.active;
    if (!session) return [];
    const states = session.rowStates();
    const dataset = session.dataset;
    const all = Array.from({ length: dataset.rowCount }, (_, i) => i);
    switch (filter.kind) {
      case 'belowThreshold':
        return all.filter((i) => {
          const s = states.get(i);
          if (!s) return false;
          return filter.model
            ? s.results.some((r) => r.model === filter.model && isBelow(r, session.threshold))
            : s.below;
        });
      case 'suspectReference':
        return all.filter((i) => states.get(i)?.suspect === true);
      case 'annotated':
        return all.filter((i) => (states.get(i)?.annotations.length ?? 0) > 0);
      case 'notScored': {
        const models = session.models();
        return all.filter((i) => {
          const s = states.get(i);
          return isNotScored(models, (m) => s?.results.some((r) => r.model === m && !r.stale && r.score !== undefined) ?? false);
        });
      }
      case 'text': {
        const needle = filter.text.toLowerCase();
        if (needle === '') return all;
        const hits: number[] = [];
        for (const i of filter.within ?? all) {
          if (i < 0 || i >= dataset.rowCount) continue;
          const row = await readRow(session, i);
          const hay = [row?.id, row?.input, row?.reference, ...Object.values(row?.outputs ?? {}),
            ...(states.get(i)?.results.map((r) => r.result.output ?? '') ?? [])];
          if (hay.some((t) => t?.toLowerCase().includes(needle))) hits.push(i);
        }
        return hits;
      }
    }
  }

  async scoreColumns(): Promise<ReadonlyMap<string, Float64Array>> {
    const session = this.sessions.active;
    if (!session) return new Map();
    const n = session.dataset.rowCount;
    const columns = new Map(session.models().map((m) => [m, new Float64Array(n).fill(Number.NaN)]));
    for (const state of session.rowStates().values()) {
      for (const r of state.results) {
        const column = columns.get(r.model);
        if (column && state.index < n && !r.result.error && r.score !== undefined) column[state.index] = r.score;
      }
    }
    return columns;
  }

  async rowDetail(index: number): Promise<RowDetail | undefined> {
    const session = this.sessions.active;
    if (!session || index < 0 || index >= session.dataset.rowCount) return undefined;
    const row = await readRow(session, index);
    const base = rowView(session, index, row);
    const state = session.rowState(index);
    const outputs = base.scores.map((s) => ({ ...s, output: state?.results.find((r) => r.model === s.model)?.result.output }));
    for (const [model, output] of Object.entries(row?.outputs ?? {})) {
      if (!outputs.some((o) => o.model === model)) {
        outputs.push({ model, score: undefined, error: undefined, stale: false, latencyMs: undefined, promptTokens: undefined, completionTokens: undefined, output });
      }
    }
    return {
      ...base,
      input: row?.input ?? '',
      reference: row?.reference,
      images: row?.images.map((i) => ({ kind: i.kind, value: i.value })) ?? [],
      outputs,
    };
  }

  // ---- navigation ----------------------------------------------------------------------------

  async revealRow(index: number, session = this.sessions.active): Promise<void> {
    if (!session || index < 0 || index >= session.dataset.rowCount) return;
    const line = session.dataset.rowLine(index) - 1;
    const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === session.uri.toString());
    const document = visible?.document ?? await vscode.workspace.openTextDocument(session.uri);
    const editor = await vscode.window.showTextDocument(document, {
      viewColumn: visible?.viewColumn,
      preserveFocus: false,
      preview: false,
    });
    const position = new vscode.Position(line, 0);
    editor.selection = new vscode.Selection(position, position);
    editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  /** Moves the cursor to the next row (after `fromIndex`, wrapping) matching `test`; false when none does. */
  async revealNext(session: DatasetSession, fromIndex: number, test: (s: RowState) => boolean): Promise<boolean> {
    const candidates = [...session.rowStates().values()].filter(test).map((s) => s.index).sort((a, b) => a - b);
    if (candidates.length === 0) return false;
    const next = candidates.find((i) => i > fromIndex) ?? candidates[0];
    await this.revealRow(next, session);
    return true;
  }

  // ---- scoring -------------------------------------------------------------------------------

  async scoreRows(indexes: readonly number[], options: ScoreOptions = {}, session = this.sessions.active): Promise<void> {
    if (!session || indexes.length === 0) return;
    await this.scoring.score(session, { rowIndexes: indexes, models: options.models, rerun: options.rerun });
  }

  async scoreAll(options: ScoreOptions = {}, session = this.sessions.active): Promise<void> {
    if (!session) return;
    await this.scoring.score(session, { models: options.models, rerun: options.rerun });
  }

  cancelScoring(): void {
    this.scoring.cancel();
  }

  // ---- annotations ---------------------------------------------------------------------------

  async annotate(rowIndex: number, target: AnnotationTargetView, label: string, note?: string, session = this.sessions.active): Promise<void> {
    if (!session) throw new Error('No dataset is open.');
    if (rowIndex < 0 || rowIndex >= session.dataset.rowCount) throw new RangeError(`Row ${rowIndex} does not exist.`);
    const t = toTarget(target);
    const store = await session.annotationStore();
    const existing = session.rowState(rowIndex)?.annotations.find((p) => sameTarget(p.annotation.target, t));
    const rowId = session.dataset.rowIds()[rowIndex];
    const rowHash = session.dataset.rowHash(rowIndex);
    if (existing) {
      // Editing confirms the judgement for the row as it is now: re-anchor it.
      await store.edit(existing.annotation.id, { label, note: note === undefined ? undefined : note, rowHash, rowId });
    } else {
      await store.add({ rowId, rowHash, target: t, label, note });
    }
    session.annotationsChanged([rowIndex]);
  }

  async annotateInteractively(rowIndex: number, target?: AnnotationTargetView, session = this.sessions.active): Promise<void> {
    if (!session) return;
    const { pickAnnotation } = await import('./annotateUi');
    const choice = await pickAnnotation(session, rowIndex, this.config.current.labels, target);
    if (!choice) return;
    if (choice.kind === 'remove') await this.removeAnnotation(choice.annotationId, session);
    else await this.annotate(rowIndex, choice.target, choice.label, choice.note, session);
  }

  async editAnnotation(annotationId: string, change: { label?: string; note?: string | null }, session = this.sessions.active): Promise<void> {
    const found = session ? await this.locate(annotationId, session) : undefined;
    if (!found) throw new Error(`Annotation ${annotationId} is not in the active dataset.`);
    await (await found.annotationStore()).edit(annotationId, change);
    found.annotationsChanged();
  }

  async removeAnnotation(annotationId: string, session = this.sessions.active): Promise<void> {
    const found = session ? await this.locate(annotationId, session) : undefined;
    if (!found) return;
    await (await found.annotationStore()).remove(annotationId);
    found.annotationsChanged();
  }

  private async locate(annotationId: string, session: DatasetSession): Promise<DatasetSession | undefined> {
    const store = await session.annotationStore();
    return store.get(annotationId) ? session : undefined;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function toTarget(t: AnnotationTargetView): AnnotationTarget {
  if (t.kind === 'output') {
    if (!t.model) throw new Error('Annotating an output needs the model\'s name.');
    return { kind: 'output', model: t.model };
  }
  return { kind: 'reference' };
}

function isBelow(r: ModelResultState, threshold: number): boolean {
  return !r.stale && r.score !== undefined && isBelowThreshold(r.score, threshold);
}

async function readRow(session: DatasetSession, index: number): Promise<DatasetRow | undefined> {
  try {
    return await session.dataset.getRow(index);
  } catch {
    return undefined; // re-indexed meanwhile; the next change event brings fresh rows
  }
}

function scoreView(r: ModelResultState): ModelScoreView {
  return {
    model: r.model,
    score: r.result.error ? undefined : r.score,
    // A failed call is an error; an output that could not be scored (no reference) is a note.
    error: r.result.error ? r.error : undefined,
    note: r.result.error ? undefined : r.error,
    stale: r.stale,
    latencyMs: r.result.latencyMs,
    promptTokens: r.result.usage?.promptTokens,
    completionTokens: r.result.usage?.completionTokens,
  };
}

function annotationView(p: RowState['annotations'][number]): AnnotationView {
  const a = p.annotation;
  return {
    id: a.id,
    target: a.target.kind === 'output' ? { kind: 'output', model: a.target.model } : { kind: 'reference' },
    label: a.label,
    note: a.note,
    state: p.state,
    updatedAt: a.updatedAt,
  };
}

function rowView(session: DatasetSession, index: number, row: DatasetRow | undefined): RowView {
  const state = session.rowState(index);
  const firstLine = (row?.input ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  return {
    index,
    line: session.dataset.rowLine(index),
    id: session.dataset.rowIds()[index],
    inputPreview: oneLine(firstLine, 200),
    referencePreview: row?.reference === undefined ? undefined : oneLine(row.reference, 500),
    hasImage: (row?.images.length ?? 0) > 0,
    scores: state?.results.map(scoreView) ?? [],
    annotations: state?.annotations.map(annotationView) ?? [],
    belowThreshold: state?.below ?? false,
    suspectReference: state?.suspect ?? false,
  };
}
