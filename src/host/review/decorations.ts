import * as vscode from 'vscode';
import { isBelowThreshold } from '../../core/review/rules';
import { Colors } from '../ids';
import { inlineAnnotationsText, inlineScoresText } from './format';
import type { DatasetSession, RowState } from './session';
import type { SessionManager } from './sessions';

/** Coalesces bursts (answers arriving, sidecar reloads) into one repaint. */
const REPAINT_DEBOUNCE_MS = 100;
/**
 * Each row's text is its own decoration style (a CSS rule in the renderer), so in files with more
 * rows than this only the rows around the visible lines get text; gutter and ruler marks (shared
 * styles) still cover the whole file.
 */
const ALL_ROWS_LIMIT = 1000;
const VISIBLE_MARGIN_LINES = 100;

function svgIcon(svg: string): vscode.Uri {
  return vscode.Uri.parse(`data:image/svg+xml;utf8,${encodeURIComponent(svg)}`);
}

// Gutter icons cannot take theme colours; the rulers and inline text (themable) carry the meaning too.
const ICON_BELOW = svgIcon('<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><circle cx="8" cy="8" r="4" fill="#E5534B"/></svg>');
const ICON_SUSPECT = svgIcon('<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><path d="M8 2 L15 14 H1 Z" fill="#E5534B"/><rect x="7.2" y="6" width="1.6" height="4.5" fill="#fff"/><rect x="7.2" y="11.3" width="1.6" height="1.6" fill="#fff"/></svg>');
const ICON_ANNOTATED = svgIcon('<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect x="4" y="3" width="8" height="10" rx="1" fill="#B267E6"/><rect x="5.5" y="5" width="5" height="1.2" fill="#fff"/><rect x="5.5" y="7.5" width="5" height="1.2" fill="#fff"/><rect x="5.5" y="10" width="3" height="1.2" fill="#fff"/></svg>');

/**
 * Scores and annotations at the start of each row's line.
 *
 * Why `before` decorations and not a CodeLens: PiSAR lines are hundreds of characters long, so the
 * text must sit where the line starts; a CodeLens cannot be coloured by the threshold, and the
 * CodeLens line above each row is kept for the actions (Score row, Score with…, Annotate…).
 * One decoration per row: VS Code orders several decorations at one position by class name, not
 * by creation, so the scores go in its `before` and the annotations in its `after` (always drawn
 * after `before`, both ahead of the line's text). Types are created once; only ranges and text change.
 */
export class InlineDecorations implements vscode.Disposable {
  private readonly inline: vscode.TextEditorDecorationType;
  private readonly gutterSuspect: vscode.TextEditorDecorationType;
  private readonly gutterBelow: vscode.TextEditorDecorationType;
  private readonly gutterAnnotated: vscode.TextEditorDecorationType;
  private readonly rulerBelow: vscode.TextEditorDecorationType;
  private readonly rulerAnnotated: vscode.TextEditorDecorationType;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; inlineOnly: boolean }>();

  constructor(private readonly sessions: SessionManager) {
    this.inline = vscode.window.createTextEditorDecorationType({
      before: { margin: '0 0.8em 0 0', fontStyle: 'normal' },
      after: { margin: '0 0.8em 0 0', color: new vscode.ThemeColor(Colors.annotation), fontStyle: 'italic' },
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    });
    this.gutterSuspect = vscode.window.createTextEditorDecorationType({
      gutterIconPath: ICON_SUSPECT, gutterIconSize: 'contain',
      overviewRulerColor: new vscode.ThemeColor(Colors.suspectRuler),
      overviewRulerLane: vscode.OverviewRulerLane.Full,
    });
    this.gutterBelow = vscode.window.createTextEditorDecorationType({ gutterIconPath: ICON_BELOW, gutterIconSize: 'contain' });
    this.gutterAnnotated = vscode.window.createTextEditorDecorationType({ gutterIconPath: ICON_ANNOTATED, gutterIconSize: 'contain' });
    this.rulerBelow = vscode.window.createTextEditorDecorationType({
      overviewRulerColor: new vscode.ThemeColor(Colors.belowThresholdRuler),
      overviewRulerLane: vscode.OverviewRulerLane.Right,
    });
    this.rulerAnnotated = vscode.window.createTextEditorDecorationType({
      overviewRulerColor: new vscode.ThemeColor(Colors.annotationRuler),
      overviewRulerLane: vscode.OverviewRulerLane.Left,
    });

    this.disposables.push(
      sessions.onDidChange((e) => this.schedule(e.session)),
      // Immediate on editor switch: the user is looking at it now.
      vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((ed) => this.paintEditor(ed))),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => {
        const session = this.sessions.forDocument(e.textEditor.document);
        if (session && session.dataset.rowCount > ALL_ROWS_LIMIT) this.schedule(session, true);
      }),
    );
    for (const editor of vscode.window.visibleTextEditors) this.paintEditor(editor);
  }

  private schedule(session: DatasetSession, inlineOnly = false): void {
    const key = session.uri.toString();
    const pending = this.pending.get(key);
    if (pending && (inlineOnly || !pending.inlineOnly)) return;
    if (pending) clearTimeout(pending.timer);
    this.pending.set(key, {
      inlineOnly,
      timer: setTimeout(() => {
        this.pending.delete(key);
        for (const editor of vscode.window.visibleTextEditors) {
          if (editor.document.uri.toString() === key) this.paintEditor(editor, inlineOnly);
        }
      }, REPAINT_DEBOUNCE_MS),
    });
  }

  /** Paints the text near the visible lines, and (unless only scrolled) the whole file's marks. */
  private paintEditor(editor: vscode.TextEditor, inlineOnly = false): void {
    const session = this.sessions.forDocument(editor.document);
    editor.setDecorations(this.inline, session ? this.inlineOptions(editor, session) : []);
    if (inlineOnly) return;
    const suspect: vscode.Range[] = [];
    const below: vscode.Range[] = [];
    const belowGutter: vscode.Range[] = [];
    const annotated: vscode.Range[] = [];
    const annotatedGutter: vscode.Range[] = [];
    if (session) {
      const dataset = session.dataset;
      const lineCount = editor.document.lineCount;
      for (const state of session.rowStates().values()) {
        if (state.index >= dataset.rowCount) continue;
        const line = dataset.rowLine(state.index) - 1;
        if (line >= lineCount) continue;
        const at = new vscode.Range(line, 0, line, 0);
        if (state.below) below.push(at);
        if (state.annotations.length > 0) annotated.push(at);
        // One gutter icon per line, the most telling one.
        if (state.suspect) suspect.push(at);
        else if (state.below) belowGutter.push(at);
        else if (state.annotations.length > 0) annotatedGutter.push(at);
      }
    }
    editor.setDecorations(this.gutterSuspect, suspect);
    editor.setDecorations(this.gutterBelow, belowGutter);
    editor.setDecorations(this.gutterAnnotated, annotatedGutter);
    editor.setDecorations(this.rulerBelow, below);
    editor.setDecorations(this.rulerAnnotated, annotated);
  }

  private inlineOptions(editor: vscode.TextEditor, session: DatasetSession): vscode.DecorationOptions[] {
    const dataset = session.dataset;
    const lineCount = editor.document.lineCount;
    const states = session.rowStates();
    const options: vscode.DecorationOptions[] = [];
    const add = (index: number) => {
      const state = states.get(index);
      if (!state) return;
      const line = dataset.rowLine(index) - 1;
      if (line >= lineCount) return;
      const note = inlineAnnotationsText(state);
      options.push({
        range: new vscode.Range(line, 0, line, 0),
        renderOptions: {
          before: state.results.length > 0 ? scoresRender(state, session.threshold) : undefined,
          after: note ? { contentText: note } : undefined,
        },
      });
    };
    if (dataset.rowCount <= ALL_ROWS_LIMIT) {
      for (const index of states.keys()) if (index < dataset.rowCount) add(index);
      return options;
    }
    const seen = new Set<number>();
    for (const r of editor.visibleRanges) {
      const to = Math.min(lineCount - 1, r.end.line + VISIBLE_MARGIN_LINES);
      for (let line = Math.max(0, r.start.line - VISIBLE_MARGIN_LINES); line <= to; line++) {
        const index = dataset.indexAtLine(line + 1);
        if (index !== undefined && !seen.has(index)) {
          seen.add(index);
          add(index);
        }
      }
    }
    return options;
  }

  dispose(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    for (const d of this.disposables) d.dispose();
    for (const t of [this.inline, this.gutterSuspect, this.gutterBelow, this.gutterAnnotated, this.rulerBelow, this.rulerAnnotated]) t.dispose();
  }
}

/**
 * The row's scores in one run of text, coloured by the row's verdict: below the threshold (some
 * current score is), failed (a call failed), stale (every result is), else passing.
 */
function scoresRender(state: RowState, threshold: number): vscode.ThemableDecorationAttachmentRenderOptions {
  const current = state.results.filter((r) => !r.stale);
  const color = state.below ? Colors.scoreFail
    : current.some((r) => r.result.error || r.score === undefined) ? Colors.scoreError
      : current.length === 0 ? Colors.scoreStale
        : current.some((r) => isBelowThreshold(r.score!, threshold)) ? Colors.scoreFail : Colors.scorePass;
  return {
    contentText: inlineScoresText(state, threshold),
    color: new vscode.ThemeColor(color),
    textDecoration: current.length === 0 ? 'line-through' : undefined,
  };
}
