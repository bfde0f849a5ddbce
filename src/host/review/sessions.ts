import * as vscode from 'vscode';
import { Dataset } from '../../core/dataset/datasetReader';
import { datasetOptionsOf } from '../../core/config/settings';
import type { ConfigService } from '../config';
import { ContextKeys, ViewCommands } from '../ids';
import type { ReviewLog } from '../log';
import { DatasetSession, type SessionChange } from './session';
import { Debouncer } from '../debounce';
import { Disposable } from '../dispose';
import { showError, showInfo } from '../surfaces';
import { datasetSizeOverLimit, datasetTabWithoutDocument, isDatasetDocument, isJsonlTakenForJson } from '../datasetDocuments';

/** Debounce of re-indexing while the user types. */
const TYPING_DEBOUNCE_MS = 300;

export interface SessionEvent extends SessionChange {
  readonly session: DatasetSession;
}

/**
 * One DatasetSession per open dataset document, created when it opens and disposed when it
 * closes: nothing is read for files that are not open.
 */
export class SessionManager extends Disposable implements vscode.Disposable {
  private readonly sessions = new Map<string, DatasetSession>();
  private readonly typing = this._register(new Debouncer<string>(TYPING_DEBOUNCE_MS));
  private readonly changeEmitter = this._register(new vscode.EventEmitter<SessionEvent>());
  private readonly activeEmitter = this._register(new vscode.EventEmitter<DatasetSession | undefined>());
  private readonly cursorEmitter = this._register(new vscode.EventEmitter<{ session: DatasetSession; index: number }>());
  private readonly openEmitter = this._register(new vscode.EventEmitter<DatasetSession>());
  private readonly closeEmitter = this._register(new vscode.EventEmitter<DatasetSession>());
  private _active: DatasetSession | undefined;
  private lastCursor: { key: string; index: number } | undefined;

  /** Rows, results or annotations of some session changed. */
  readonly onDidChange = this.changeEmitter.event;
  /** The active dataset changed (the last dataset editor stays active while focus is elsewhere). */
  readonly onDidChangeActive = this.activeEmitter.event;
  readonly onDidChangeCursorRow = this.cursorEmitter.event;
  /** A dataset document got its session (opened, or found open at activation). */
  readonly onDidOpen = this.openEmitter.event;
  /** A dataset document closed: its session is disposed. */
  readonly onDidClose = this.closeEmitter.event;

  constructor(private readonly config: ConfigService, private readonly log: ReviewLog) {
    super();
    this._register(vscode.workspace.onDidOpenTextDocument((d) => this.open(d)));
    this._register(vscode.workspace.onDidCloseTextDocument((d) => this.close(d)));
    this._register(vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)));
    this._register(vscode.window.onDidChangeActiveTextEditor((e) => this.onActiveEditor(e)));
    this._register(vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)));
    this._register(vscode.window.tabGroups.onDidChangeTabs(() => void this.onTabs()));
    this._register(config.onDidChange((c) => { for (const s of this.sessions.values()) s.updateConfig(c); }));
    // Index already-open datasets just after activation, so activating stays cheap however big they are.
    const initial = setTimeout(() => {
      for (const d of vscode.workspace.textDocuments) this.open(d);
      this.onActiveEditor(vscode.window.activeTextEditor);
      // Opening a file over 50 MB may be what activated us: its tab is already there, and no event will come.
      void this.onTabs();
    }, 0);
    this._register({ dispose: () => clearTimeout(initial) });
  }

  get active(): DatasetSession | undefined {
    return this._active;
  }

  get(uri: vscode.Uri): DatasetSession | undefined {
    return this.sessions.get(uri.toString());
  }

  forDocument(document: vscode.TextDocument): DatasetSession | undefined {
    return this.sessions.get(document.uri.toString());
  }

  all(): DatasetSession[] {
    return [...this.sessions.values()];
  }

  /** Re-indexes a document now (e.g. before scoring), skipping the typing debounce. */
  flush(document: vscode.TextDocument): DatasetSession | undefined {
    const key = document.uri.toString();
    const session = this.sessions.get(key);
    if (session && this.typing.cancel(key)) session.updateText(document.getText());
    return session;
  }

  private open(document: vscode.TextDocument): DatasetSession | undefined {
    if (isJsonlTakenForJson(document)) {
      // A .json file holding JSONL: give it the JSONL language; VS Code reopens it as jsonl and it gets its session then.
      void vscode.languages.setTextDocumentLanguage(document, 'jsonl').then(undefined, (err: unknown) => this.log.error(`${document.uri.fsPath}: ${String(err)}`));
      return undefined;
    }
    if (!isDatasetDocument(document)) return undefined;
    const key = document.uri.toString();
    let session = this.sessions.get(key);
    if (session) return session;
    try {
      session = new DatasetSession(document, this.config.current, this.log);
    } catch (err) {
      this.log.error(`${document.uri.fsPath}: cannot be indexed: ${String(err)}`);
      return undefined;
    }
    this.register(key, session);
    // A document can open already shown: a .json file given the JSONL language reopens in its editor without a new
    // active-editor event. The editor showing it makes its session the active one, as a switch to it would.
    const editor = vscode.window.activeTextEditor;
    if (editor && editor.document.uri.toString() === key) this.onActiveEditor(editor);
    return session;
  }

  /** Keeps a new session and announces it. */
  private register(key: string, session: DatasetSession): DatasetSession {
    this.sessions.set(key, session);
    session.onDidChange((change) => this.changeEmitter.fire({ ...change, session }));
    this.openEmitter.fire(session);
    this.changeEmitter.fire({ session });
    return session;
  }

  private close(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    const session = this.sessions.get(key);
    if (!session) return;
    this.typing.cancel(key);
    this.sessions.delete(key);
    session.dispose();
    this.closeEmitter.fire(session);
    if (this._active === session) this.setActive(undefined);
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    if (e.contentChanges.length === 0) return;
    const key = e.document.uri.toString();
    const session = this.sessions.get(key);
    if (!session) return;
    this.typing.restart(key, () => {
      if (this.sessions.get(key) === session) session.updateText(e.document.getText());
    });
  }

  /**
   * A dataset over VS Code's 50 MB limit opens in an editor, but extensions never get its document:
   * say why inline scores are unavailable there, and offer the panel, which reads the file from disk.
   */
  private async onTabs(): Promise<void> {
    const uri = datasetTabWithoutDocument();
    if (!uri) return;
    const key = uri.toString();
    if (this.largeNoticed.has(key) || this.sessions.has(key)) return;
    const size = await datasetSizeOverLimit(uri);
    if (size === undefined) return;
    this.largeNoticed.add(key);
    const open = 'Open in PiSAR Panel';
    const name = uri.path.split('/').pop();
    const answer = await showInfo(
      `PiSAR Review: ${name} is ${(size / 1024 / 1024).toFixed(0)} MB, over VS Code's 50 MB limit for extensions, so inline scores, CodeLens and Problems are unavailable in this editor. The PiSAR Review panel reads the file from disk (CLI: pisar-review score).`,
      open,
    );
    if (answer === open) await this.openFromDisk(uri);
  }

  /** A session over the file on disk (no document), made active so the panel shows it. */
  async openFromDisk(uri: vscode.Uri): Promise<DatasetSession | undefined> {
    const key = uri.toString();
    let session = this.sessions.get(key);
    if (!session) {
      try {
        const dataset = await Dataset.open(uri.fsPath, datasetOptionsOf(this.config.current));
        session = this.register(key, new DatasetSession({ uri, dataset }, this.config.current, this.log));
      } catch (err) {
        void showError(`PiSAR Review: ${uri.fsPath} cannot be read: ${(err as Error).message}`);
        return undefined;
      }
    }
    this.setActive(session);
    await vscode.commands.executeCommand(ViewCommands.focusPanel);
    return session;
  }

  private readonly largeNoticed = new Set<string>();

  private onActiveEditor(editor: vscode.TextEditor | undefined): void {
    if (!editor) return; // focus moved to a panel: keep showing the last dataset
    const session = this.forDocument(editor.document) ?? this.open(editor.document);
    void vscode.commands.executeCommand('setContext', ContextKeys.isDataset, session !== undefined);
    if (session && session !== this._active) this.setActive(session);
    if (session) this.reportCursor(session, editor.selection.active.line);
  }

  private setActive(session: DatasetSession | undefined): void {
    this._active = session;
    this.activeEmitter.fire(session);
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const session = this.forDocument(e.textEditor.document);
    if (session) this.reportCursor(session, e.selections[0].active.line);
  }

  private reportCursor(session: DatasetSession, line0: number): void {
    const index = session.dataset.indexAtLine(line0 + 1);
    if (index === undefined) return;
    const key = session.uri.toString();
    if (this.lastCursor?.key === key && this.lastCursor.index === index) return;
    this.lastCursor = { key, index };
    this.cursorEmitter.fire({ session, index });
  }

  override dispose(): void {
    this.typing.dispose();
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
    super.dispose();
  }
}
