import * as vscode from 'vscode';
import { Commands, ViewCommands } from '../ids';
import type { ConfigService } from '../config';
import type { ScoringController } from './scoring';
import type { SessionManager } from './sessions';
import { Debouncer } from '../debounce';
import { Disposable } from '../dispose';
import { compactModelNames } from '../../core/review/display';
import { uiText } from '../../core/security/escape';
import { inlineAnnotationsText, inlineResultText } from './format';
import { shownRowState } from '../../core/review/blindView';
import { reviewerViewOf } from './reviewService';

/** As the line-start text (decorations.ts): names longer than this are shortened in the middle. */
const INLINE_NAME_MAX = 10;

/** Above this many rows, lenses are offered only around the visible lines (refreshed on scroll). */
const ALL_ROWS_LIMIT = 2000;
const VISIBLE_MARGIN = 200;

type LensKind = 'scores' | 'score' | 'scoreWith' | 'annotate';

class RowLens extends vscode.CodeLens {
  constructor(range: vscode.Range, readonly uri: vscode.Uri, readonly rowId: string, readonly kind: LensKind) {
    super(range);
  }
}

/**
 * "Score row", "Score with…" and "Annotate…" above each row. provideCodeLenses only reads the line
 * index (no row is parsed); the command is attached in resolveCodeLens, for visible lenses only.
 */
export class RowCodeLensProvider extends Disposable implements vscode.CodeLensProvider<RowLens>, vscode.Disposable {
  private readonly emitter = this._register(new vscode.EventEmitter<void>());
  private readonly scrolling = this._register(new Debouncer(150));
  readonly onDidChangeCodeLenses = this.emitter.event;

  private readonly scoresChanged = this._register(new Debouncer(250));

  constructor(private readonly sessions: SessionManager, private readonly scoring: ScoringController, private readonly config: ConfigService) {
    super();
    let enabled = config.current.codeLens;
    let position = config.current.inlineScoresPosition;
    let seen = [config.current.reviewBlind, config.current.reviewer].join('\u0000');
    this._register(vscode.Disposable.from(
      config.onDidChange((c) => {
        const view = [c.reviewBlind, c.reviewer].join('\u0000');
        if (c.codeLens === enabled && c.inlineScoresPosition === position && view === seen) return;
        enabled = c.codeLens;
        position = c.inlineScoresPosition;
        seen = view;
        this.emitter.fire();
      }),
      // Scores on the CodeLens line follow the stores (a run, an annotation), coalesced.
      sessions.onDidChange(() => {
        if (this.config.current.inlineScoresPosition === 'codeLens') this.scoresChanged.restart(undefined, () => this.emitter.fire());
      }),
      // VS Code re-asks on every edit by itself; extra refreshes would race the user's clicks
      // (a click on a lens being replaced finds its command gone), so only run start/end refresh.
      scoring.onDidChangeRunning(() => this.emitter.fire()),
      sessions.onDidOpen(() => this.emitter.fire()),
      vscode.window.onDidChangeVisibleTextEditors((editors) => {
        if (editors.some((e) => (sessions.forDocument(e.document)?.dataset.rowCount ?? 0) > ALL_ROWS_LIMIT)) this.emitter.fire();
      }),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => {
        const session = sessions.forDocument(e.textEditor.document);
        if (!session || session.dataset.rowCount <= ALL_ROWS_LIMIT) return;
        this.scrolling.restart(undefined, () => this.emitter.fire());
      }),
    ));
  }

  provideCodeLenses(document: vscode.TextDocument): RowLens[] {
    const actions = this.config.current.codeLens;
    const scores = this.config.current.inlineScoresPosition === 'codeLens';
    if (!actions && !scores) return [];
    // Index the buffer as it is now (skipping the typing debounce), so lenses sit on the right lines.
    const session = this.sessions.flush(document);
    if (!session) return [];
    const dataset = session.dataset;
    const ids = dataset.rowIds();
    const lenses: RowLens[] = [];
    const add = (index: number) => {
      const line = dataset.rowLine(index) - 1;
      if (line >= document.lineCount) return;
      const range = new vscode.Range(line, 0, line, 0);
      if (scores && session.rowState(index)) lenses.push(new RowLens(range, document.uri, ids[index], 'scores'));
      if (actions) {
        lenses.push(
          new RowLens(range, document.uri, ids[index], 'score'),
          new RowLens(range, document.uri, ids[index], 'scoreWith'),
          new RowLens(range, document.uri, ids[index], 'annotate'),
        );
      }
    };
    if (dataset.rowCount <= ALL_ROWS_LIMIT) {
      for (let i = 0; i < dataset.rowCount; i++) add(i);
      return lenses;
    }
    const seen = new Set<number>();
    const ranges = vscode.window.visibleTextEditors.filter((e) => e.document === document).flatMap((e) => e.visibleRanges);
    // Not shown yet (just opened): the top of the file is what will be seen first.
    if (ranges.length === 0) ranges.push(new vscode.Range(0, 0, 0, 0));
    for (const r of ranges) {
      for (let line = Math.max(0, r.start.line - VISIBLE_MARGIN); line <= r.end.line + VISIBLE_MARGIN; line++) {
        const index = dataset.indexAtLine(line + 1);
        if (index !== undefined && !seen.has(index)) {
          seen.add(index);
          add(index);
        }
      }
    }
    return lenses;
  }

  resolveCodeLens(lens: RowLens): RowLens {
    const session = this.sessions.get(lens.uri);
    const index = session?.dataset.indexOfId(lens.rowId);
    const busy = session !== undefined && index !== undefined && this.scoring.isRowInFlight(session, index);
    const args = [lens.uri.toString(), lens.rowId];
    switch (lens.kind) {
      case 'scores': {
        // The row's scores and annotations, as the line-start text shows them; model names and labels are outside text.
        const view = reviewerViewOf(this.config.current, session?.file);
        const state = session && index !== undefined ? shownRowState(session.rowState(index), view) : undefined;
        const names = compactModelNames(session?.models() ?? [], INLINE_NAME_MAX);
        const text = state ? [...(view.blind ? [] : state.results).map((r) => inlineResultText(r, session!.threshold, names.get(r.model) ?? r.model, session!.contradictionThreshold)), inlineAnnotationsText(state)].filter(Boolean).join(' · ') : '';
        lens.command = { title: uiText(text || (view.blind ? 'scores hidden (blind mode)' : 'not scored')), command: ViewCommands.focusPanel, tooltip: 'Scores of this row (hover the row for details); click for the PiSAR Review panel' };
        break;
      }
      case 'score':
        lens.command = busy
          ? { title: 'Scoring…', command: Commands.cancelScoring, tooltip: 'Scoring this row; click to cancel' }
          : { title: 'Score row', command: Commands.scoreRow, arguments: args, tooltip: 'Call the models missing for this row and score their outputs' };
        break;
      case 'scoreWith':
        lens.command = { title: 'Score with…', command: Commands.scoreRowWith, arguments: args, tooltip: 'Choose models to call (again) for this row' };
        break;
      case 'annotate':
        lens.command = { title: 'Annotate…', command: Commands.annotateRow, arguments: args, tooltip: 'Mark the reference or a model output with a label and a note' };
        break;
    }
    return lens;
  }

}
