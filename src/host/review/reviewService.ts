import * as path from 'node:path';
import * as vscode from 'vscode';
import { defaultReviewer } from '../../core/review/reviewer';
import { ReviewModel } from '../../core/review/reviewModel';
import type { AnnotationTarget } from '../../core/store/annotations';
import type { DatasetView } from '../../shared/protocol';
import type { ConfigService } from '../config';
import type { CursorRow, ReviewApi, RowsChange, ScoreOptions } from './reviewApi';
import type { DatasetSession, RowState } from './session';
import type { ScoringController } from './scoring';
import type { SessionManager } from './sessions';
import { comparisonView, reviewComparison, reviewStatistics, statisticsOptionsOf } from '../../core/review/reviewStatistics';
import type { ComparisonView } from '../../shared/statisticsView';
import type { StatisticsReport } from '../../core/report/statistics';
import { DisposableStore } from '../dispose';
import type { ReviewConfig } from '../reviewConfig';
import type { ReviewerView } from '../../core/review/blindView';

/**
 * The review actions shared by the editor commands and the side panel (it implements ReviewApi):
 * core's ReviewModel over the active session, plus events, navigation and scoring, so both write
 * through the same code and always show the same data.
 */
export class ReviewService extends ReviewModel implements ReviewApi, vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly activeEmitter = this.disposables.add(new vscode.EventEmitter<DatasetView | undefined>());
  private readonly rowsEmitter = this.disposables.add(new vscode.EventEmitter<RowsChange>());
  private readonly cursorEmitter = this.disposables.add(new vscode.EventEmitter<CursorRow>());
  private lastScoring = false;

  readonly onDidChangeActiveDataset = this.activeEmitter.event;
  readonly onDidChangeRows = this.rowsEmitter.event;
  readonly onDidChangeCursorRow = this.cursorEmitter.event;

  constructor(
    private readonly sessions: SessionManager,
    private readonly scoring: ScoringController,
    private readonly config: ConfigService,
  ) {
    super(() => sessions.active, () => ({ labels: config.current.labels, canScore: vscode.workspace.isTrusted, reviewer: reviewerOf(config.current.reviewer, sessions.active?.file), blind: config.current.reviewBlind }));
    this.disposables.add(vscode.Disposable.from(
      sessions.onDidChangeActive(() => this.activeEmitter.fire(this.activeDataset())),
      sessions.onDidChange((e) => {
        if (e.session === sessions.active) this.rowsEmitter.fire({ file: e.session.file, indexes: e.indexes });
      }),
      sessions.onDidChangeCursorRow((e) => this.cursorEmitter.fire({ file: e.session.file, index: e.index })),
      scoring.onDidChangeProgress((s) => {
        if (s !== sessions.active) return;
        const running = scoring.isScoring(s);
        if (running === this.lastScoring) return;
        this.lastScoring = running;
        this.rowsEmitter.fire({ file: s.file, indexes: [] });
      }),
      config.onDidChange(() => {
        const s = sessions.active;
        if (s) this.rowsEmitter.fire({ file: s.file });
      }),
    ));
  }

  async compare(a: string, b: string): Promise<ComparisonView | undefined> {
    const session = this.sessions.active;
    return session ? comparisonView(reviewComparison(session, a, b), a, b) : undefined;
  }

  statistics(sliceField?: string): Promise<StatisticsReport | undefined> {
    const session = this.sessions.active;
    const cfg = this.config.current;
    return session ? reviewStatistics(session, cfg.calibration, statisticsOptionsOf(cfg, sliceField)) : Promise.resolve(undefined);
  }

  isScoring(): boolean {
    const session = this.sessions.active;
    return session ? this.scoring.isScoring(session) : false;
  }

  // ---- navigation ----------------------------------------------------------------------------

  async revealRow(index: number, options: { readonly preserveFocus?: boolean } = {}, session = this.sessions.active): Promise<void> {
    if (!session || index < 0 || index >= session.dataset.rowCount) return;
    const line = session.dataset.rowLine(index) - 1;
    const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === session.uri.toString());
    const document = visible?.document ?? await vscode.workspace.openTextDocument(session.uri);
    const editor = await vscode.window.showTextDocument(document, {
      viewColumn: visible?.viewColumn,
      preserveFocus: options.preserveFocus ?? false,
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
    await this.revealRow(next, {}, session);
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

  // ---- annotations ---------------------------------------------------------------------------

  async annotateInteractively(rowIndex: number, target?: AnnotationTarget, session = this.sessions.active): Promise<void> {
    if (!session) return;
    const { pickAnnotation } = await import('./annotateUi');
    const choice = await pickAnnotation(session, rowIndex, this.config.current.labels, reviewerViewOf(this.config.current, session.file), target);
    if (!choice) return;
    if (choice.kind === 'remove') await this.removeAnnotation(choice.annotationId, session);
    else await this.annotate(rowIndex, choice.target, choice.label, choice.note, session);
  }

  dispose(): void {
    this.disposables.dispose();
  }
}

/** What the reviewer of `datasetFile` may see under the settings `config` (blind mode: their own labels, no scores). */
export function reviewerViewOf(config: ReviewConfig, datasetFile: string | undefined): ReviewerView {
  return { reviewer: reviewerOf(config.reviewer, datasetFile), blind: config.reviewBlind };
}

/** The reviewer named on annotation events: the pisarReview.reviewer setting, else git's user.email (asked once per folder), else the OS user. */
const reviewerByFolder = new Map<string, string>();
export function reviewerOf(setting: string | undefined, datasetFile: string | undefined): string {
  if (setting?.trim()) return setting.trim();
  const folder = datasetFile ? path.dirname(datasetFile) : '';
  let name = reviewerByFolder.get(folder);
  if (name === undefined) {
    name = defaultReviewer({ env: process.env, ...(folder ? { cwd: folder } : {}) });
    reviewerByFolder.set(folder, name);
  }
  return name;
}
