import * as vscode from 'vscode';
import { compactModelNames, noScore } from '../../core/review/display';
import { isBelowThreshold } from '../../core/rules/rules';
import { Colors } from '../ids';
import { inlineAnnotationsText, inlineResultText } from './format';
import type { DatasetSession, ModelResultState } from './session';
import type { SessionManager } from './sessions';
import type { ConfigService } from '../config';
import { shownRowState } from '../../core/review/blindView';
import { reviewerViewOf } from './reviewService';

/** Coalesces bursts (answers arriving, sidecar reloads) into one repaint. */
const REPAINT_DEBOUNCE_MS = 100;
/**
 * Each row's text is its own decoration style (a CSS rule in the renderer), so in files with more
 * rows than this only the rows around the visible lines get text; gutter and ruler marks (shared
 * styles) still cover the whole file.
 */
const ALL_ROWS_LIMIT = 1000;
const VISIBLE_MARGIN_LINES = 100;
/** Inline model names longer than this are shortened in the middle; the hover has them in full. */
const INLINE_NAME_MAX = 10;

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
 * Each model's score is its own decoration, coloured by its own verdict, in a decoration type per
 * column slot. VS Code draws several `before` texts at one position in the order of their CSS class
 * names, which begin with their type's key (`TextEditorDecorationType<n>`), so the slot types are
 * made with keys that sort in slot order (see ensureSlots). The annotations are the `after` text of
 * one more type (always drawn after every `before`). Types are created once; only ranges and text change.
 */
export class InlineDecorations implements vscode.Disposable {
  private readonly inline: vscode.TextEditorDecorationType;
  /** One type per model column, created as models appear; slot k holds the k-th model's score. */
  private readonly slots: vscode.TextEditorDecorationType[] = [];
  private readonly gutterSuspect: vscode.TextEditorDecorationType;
  private readonly gutterBelow: vscode.TextEditorDecorationType;
  private readonly gutterAnnotated: vscode.TextEditorDecorationType;
  private readonly rulerBelow: vscode.TextEditorDecorationType;
  private readonly rulerAnnotated: vscode.TextEditorDecorationType;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; inlineOnly: boolean }>();

  constructor(private readonly sessions: SessionManager, private readonly config: ConfigService) {
    this.inline = vscode.window.createTextEditorDecorationType({
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

    let position = config.current.inlineScoresPosition;
    let blind = config.current.reviewBlind;
    let reviewer = config.current.reviewer;
    this.disposables.push(
      sessions.onDidChange((e) => this.schedule(e.session)),
      // Scores move between the line start and the CodeLens line (codeLens.ts) at once; blind mode and the reviewer change what is drawn.
      config.onDidChange((c) => {
        if (c.inlineScoresPosition === position && c.reviewBlind === blind && c.reviewer === reviewer) return;
        const marks = c.reviewBlind !== blind || c.reviewer !== reviewer;
        position = c.inlineScoresPosition;
        blind = c.reviewBlind;
        reviewer = c.reviewer;
        for (const editor of vscode.window.visibleTextEditors) this.paintEditor(editor, !marks);
      }),
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
    // With the 'codeLens' position the scores and annotations are on the CodeLens line above the row.
    const atLineStart = this.config.current.inlineScoresPosition === 'lineStart';
    const { scores, notes } = session && atLineStart ? this.inlineOptions(editor, session) : { scores: [], notes: [] };
    const remade = this.ensureSlots(scores.length);
    this.slots.forEach((type, k) => editor.setDecorations(type, scores[k] ?? []));
    // Disposed slot types took their decorations from every editor: draw the others again.
    if (remade) for (const other of vscode.window.visibleTextEditors) if (other !== editor) this.paintEditor(other, true);
    editor.setDecorations(this.inline, notes);
    if (inlineOnly) return;
    const suspect: vscode.Range[] = [];
    const below: vscode.Range[] = [];
    const belowGutter: vscode.Range[] = [];
    const annotated: vscode.Range[] = [];
    const annotatedGutter: vscode.Range[] = [];
    if (session) {
      const dataset = session.dataset;
      const lineCount = editor.document.lineCount;
      const view = reviewerViewOf(this.config.current, session.file);
      for (const raw of session.rowStates().values()) {
        const state = shownRowState(raw, view);
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

  /**
   * At least `count` slot types whose keys sort (as strings, as class names do) in slot order. Keys
   * count up, so fresh ones sort right unless they cross a power of ten (`…Type9` > `…Type10`): then
   * every slot is made again (its decorations are set again on this paint).
   */
  private ensureSlots(count: number): boolean {
    const sorted = () => this.slots.every((t, k) => k === 0 || `${this.slots[k - 1].key}-` < `${t.key}-`);
    let remade = false;
    for (let attempt = 0; ; attempt++) {
      while (this.slots.length < count) this.slots.push(vscode.window.createTextEditorDecorationType({ rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed }));
      if (sorted() || attempt >= 3) return remade;
      count = Math.max(count, this.slots.length);
      for (const t of this.slots.splice(0)) t.dispose();
      remade = true;
    }
  }

  /** Per slot, each row's score of that slot's model; and each row's annotations. */
  private inlineOptions(editor: vscode.TextEditor, session: DatasetSession): { scores: vscode.DecorationOptions[][]; notes: vscode.DecorationOptions[] } {
    const dataset = session.dataset;
    const lineCount = editor.document.lineCount;
    const states = session.rowStates();
    // Blind mode: no score slot, and only this reviewer's labels.
    const view = reviewerViewOf(this.config.current, session.file);
    const models = view.blind ? [] : session.models();
    const slotOf = new Map(models.map((m, k) => [m, k]));
    const names = compactModelNames(models, INLINE_NAME_MAX);
    const scores: vscode.DecorationOptions[][] = models.map(() => []);
    const notes: vscode.DecorationOptions[] = [];
    const add = (index: number) => {
      const state = shownRowState(states.get(index), view);
      if (!state) return;
      const line = dataset.rowLine(index) - 1;
      if (line >= lineCount) return;
      const range = new vscode.Range(line, 0, line, 0);
      const allStale = state.results.every((r) => r.stale);
      for (const r of state.results) {
        const slot = slotOf.get(r.model);
        if (slot === undefined) continue;
        scores[slot].push({ range, renderOptions: { before: scoreRender(r, session, names.get(r.model) ?? r.model, allStale) } });
      }
      const note = inlineAnnotationsText(state);
      if (note) notes.push({ range, renderOptions: { after: { contentText: note } } });
    };
    const result = { scores, notes };
    if (dataset.rowCount <= ALL_ROWS_LIMIT) {
      for (const index of states.keys()) if (index < dataset.rowCount) add(index);
      return result;
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
    return result;
  }

  dispose(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    for (const d of this.disposables) d.dispose();
    for (const t of [this.inline, ...this.slots, this.gutterSuspect, this.gutterBelow, this.gutterAnnotated, this.rulerBelow, this.rulerAnnotated]) t.dispose();
  }
}

/**
 * One model's score on a row, coloured by its own verdict: below the threshold, failed call or
 * output left unscored, stale, no reference, else passing. Struck through when every result of the
 * row is stale.
 */
function scoreRender(r: ModelResultState, session: DatasetSession, name: string, allStale: boolean): vscode.ThemableDecorationAttachmentRenderOptions {
  const threshold = session.threshold;
  const missing = noScore(r, session.scoringFailure);
  const color = r.stale ? Colors.scoreStale
    : r.result.error || missing?.kind === 'unscored' || missing?.kind === 'empty' ? Colors.scoreError
      : missing ? Colors.scoreStale
        : isBelowThreshold(r.score!, threshold) ? Colors.scoreFail : Colors.scorePass;
  return {
    contentText: inlineResultText(r, threshold, name, session.contradictionThreshold),
    color: new vscode.ThemeColor(color),
    margin: '0 0.7em 0 0',
    fontStyle: 'normal',
    textDecoration: allStale ? 'line-through' : undefined,
  };
}
