import * as vscode from 'vscode';
import { Colors } from '../ids';
import { inlineAnnotationsText, inlineResultText } from './format';
import type { DatasetSession, ModelResultState } from './session';
import type { SessionManager } from './sessions';

/** Models shown inline one by one; more are summarised as `+N`. */
const MAX_SLOTS = 6;
/** Coalesces bursts (answers arriving, sidecar reloads) into one repaint. */
const REPAINT_DEBOUNCE_MS = 60;

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
 * Decoration types are created once; only their ranges and per-range text change.
 */
export class InlineDecorations implements vscode.Disposable {
  private readonly scoreSlots: vscode.TextEditorDecorationType[];
  private readonly overflow: vscode.TextEditorDecorationType;
  private readonly annotationText: vscode.TextEditorDecorationType;
  private readonly gutterSuspect: vscode.TextEditorDecorationType;
  private readonly gutterBelow: vscode.TextEditorDecorationType;
  private readonly gutterAnnotated: vscode.TextEditorDecorationType;
  private readonly rulerBelow: vscode.TextEditorDecorationType;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly sessions: SessionManager) {
    const slot = () => vscode.window.createTextEditorDecorationType({
      before: { margin: '0 0.5em 0 0', fontStyle: 'normal' },
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    });
    this.scoreSlots = Array.from({ length: MAX_SLOTS }, slot);
    this.overflow = slot();
    this.annotationText = vscode.window.createTextEditorDecorationType({
      before: { margin: '0 0.8em 0 0', color: new vscode.ThemeColor(Colors.annotation), fontStyle: 'italic' },
      overviewRulerColor: new vscode.ThemeColor(Colors.annotationRuler),
      overviewRulerLane: vscode.OverviewRulerLane.Left,
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

    this.disposables.push(
      sessions.onDidChange((e) => this.schedule(e.session)),
      // Immediate on editor switch: the user is looking at it now.
      vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((ed) => this.paintEditor(ed))),
    );
    for (const editor of vscode.window.visibleTextEditors) this.paintEditor(editor);
  }

  private schedule(session: DatasetSession): void {
    const key = session.uri.toString();
    if (this.pending.has(key)) return;
    this.pending.set(key, setTimeout(() => {
      this.pending.delete(key);
      for (const editor of vscode.window.visibleTextEditors) {
        if (editor.document.uri.toString() === key) this.paintEditor(editor);
      }
    }, REPAINT_DEBOUNCE_MS));
  }

  private paintEditor(editor: vscode.TextEditor): void {
    const session = this.sessions.forDocument(editor.document);
    const slots: vscode.DecorationOptions[][] = this.scoreSlots.map(() => []);
    const overflow: vscode.DecorationOptions[] = [];
    const annotations: vscode.DecorationOptions[] = [];
    const suspect: vscode.Range[] = [];
    const below: vscode.Range[] = [];
    const belowGutter: vscode.Range[] = [];
    const annotated: vscode.Range[] = [];
    if (session) {
      const dataset = session.dataset;
      const lineCount = editor.document.lineCount;
      for (const state of session.rowStates().values()) {
        if (state.index >= dataset.rowCount) continue;
        const line = dataset.rowLine(state.index) - 1;
        if (line >= lineCount) continue;
        const at = new vscode.Range(line, 0, line, 0);
        state.results.slice(0, MAX_SLOTS).forEach((r, i) => {
          slots[i].push({ range: at, renderOptions: { before: resultRender(r, i, session.threshold) } });
        });
        if (state.results.length > MAX_SLOTS) {
          overflow.push({ range: at, renderOptions: { before: { contentText: `+${state.results.length - MAX_SLOTS}` } } });
        }
        const note = inlineAnnotationsText(state);
        if (note) {
          const separator = state.results.length > 0 ? '│ ' : '';
          annotations.push({ range: at, renderOptions: { before: { contentText: separator + note } } });
        }
        if (state.below) below.push(at);
        // One gutter icon per line, the most telling one.
        if (state.suspect) suspect.push(at);
        else if (state.below) belowGutter.push(at);
        else if (state.annotations.length > 0) annotated.push(at);
      }
    }
    this.scoreSlots.forEach((type, i) => editor.setDecorations(type, slots[i]));
    editor.setDecorations(this.overflow, overflow);
    editor.setDecorations(this.annotationText, annotations);
    editor.setDecorations(this.gutterSuspect, suspect);
    editor.setDecorations(this.gutterBelow, belowGutter);
    editor.setDecorations(this.gutterAnnotated, annotated);
    editor.setDecorations(this.rulerBelow, below);
  }

  dispose(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
    for (const t of [...this.scoreSlots, this.overflow, this.annotationText, this.gutterSuspect, this.gutterBelow, this.gutterAnnotated, this.rulerBelow]) t.dispose();
  }
}

function resultRender(r: ModelResultState, slot: number, threshold: number): vscode.ThemableDecorationAttachmentRenderOptions {
  const text = (slot > 0 ? '· ' : '') + inlineResultText(r);
  const color = r.result.error || r.score === undefined
    ? Colors.scoreError
    : r.stale ? Colors.scoreStale
      : r.score >= threshold ? Colors.scorePass : Colors.scoreFail;
  return {
    contentText: text,
    color: new vscode.ThemeColor(color),
    textDecoration: r.stale ? 'line-through' : undefined,
  };
}
