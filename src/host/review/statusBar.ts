import * as vscode from 'vscode';
import { compactModelNames } from '../../core/review/display';
import { Commands, ViewCommands } from '../ids';
import { summaryView } from '../../core/review/reviewModel';
import { formatScore, formatThreshold } from '../../core/rules/rules';

/** Model names in the status bar longer than this are shortened in the middle; the tooltip has them in full. */
const STATUS_NAME_MAX = 12;
import type { ScoringController } from './scoring';
import type { SessionManager } from './sessions';
import { Debouncer } from '../debounce';
import { Disposable } from '../dispose';
import { ui } from '../surfaces';
import type { ConfigService } from '../config';
import { durationText, rateText } from '../../core/runner/progress';

/**
 * `PiSAR 12/40 results` (row × model pairs) while the active dataset is being scored, then the mean per model
 * (`PiSAR mean ft-qwen 0.78 · gpt 0.52`). Hidden when no dataset is active.
 */
export class ReviewStatusBar extends Disposable implements vscode.Disposable {
  private readonly item = this._register(vscode.window.createStatusBarItem('pisarReview.status', vscode.StatusBarAlignment.Left, 50));
  private readonly updates = this._register(new Debouncer(100));
  /** What the mean text was made from: a label (no change of results) leaves it as it is, with no pass over every row. */
  private shown: { session: object; resultsVersion: number; failure: string | undefined; blind: boolean } | undefined;

  constructor(private readonly sessions: SessionManager, private readonly scoring: ScoringController, private readonly config: ConfigService) {
    super();
    this.item.name = 'PiSAR Review';
    this._register(vscode.Disposable.from(
      sessions.onDidChangeActive(() => this.update()),
      config.onDidChange(() => this.update()),
      sessions.onDidChange((e) => { if (e.session === sessions.active) this.schedule(); }),
      scoring.onDidChangeProgress((s) => { if (s === sessions.active) this.schedule(); }),
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (e) this.item[sessions.forDocument(e.document) ? 'show' : 'hide']();
      }),
    ));
    this.update();
  }

  private schedule(): void {
    this.updates.coalesce(undefined, () => this.update());
  }

  private update(): void {
    const session = this.sessions.active;
    if (!session) {
      this.item.hide();
      return;
    }
    const progress = this.scoring.progress(session);
    if (progress) {
      const reading = this.scoring.reading(session);
      const eta = reading?.etaMs !== undefined && progress.remaining > 0 ? ` · about ${durationText(reading.etaMs)} left` : '';
      this.item.text = ui`$(sync~spin) PiSAR ${progress.succeeded} done · ${progress.failed} failed · ${progress.remaining} left${eta}`;
      this.item.tooltip = ui`Scoring: ${progress.text} row × model results${reading && reading.perSecond !== undefined ? ` · ${rateText(reading.perSecond)}` : ''}; click to cancel.${reading ? `\n${reading.modelTexts.join('\n')}` : ''}`;
      this.item.command = Commands.cancelScoring;
      this.shown = undefined;
    } else if (this.config.current.reviewBlind) {
      // Blind mode: no mean is told while labelling.
      this.shown = { session, resultsVersion: session.resultsVersion, failure: session.scoringFailure, blind: true };
      this.item.text = '$(eye-closed) PiSAR blind';
      this.item.tooltip = 'Blind mode: scores and other reviewers\' labels are hidden while you label. Run "PiSAR Review: Toggle Blind Mode" to see them.';
      this.item.command = Commands.toggleBlindMode;
    } else if (this.shown?.session !== session || this.shown.resultsVersion !== session.resultsVersion || this.shown.failure !== session.scoringFailure || this.shown.blind) {
      this.shown = { session, resultsVersion: session.resultsVersion, failure: session.scoringFailure, blind: false };
      const summary = summaryView(session);
      const t = session.threshold;
      const scored = summary.models.filter((m) => m.mean !== null);
      const failure = session.scoringFailure;
      // A failed embedding run leaves outputs unscored: the bar says so rather than look merely unscored.
      const short = compactModelNames(summary.models.map((m) => m.model), STATUS_NAME_MAX);
      const mean = scored.map((m) => `${short.get(m.model) ?? m.model} ${formatScore(m.mean!, t)}`).join(' · ');
      this.item.text = scored.length > 0
        ? (failure ? ui`$(warning) PiSAR mean ${mean}` : ui`$(pulse) PiSAR mean ${mean}`)
        : failure ? '$(warning) PiSAR scoring failed' : '$(pulse) PiSAR not scored';
      const lines = summary.models.map((m) => `${m.model}: ${m.scored} scored, mean ${m.mean === null ? '-' : formatScore(m.mean, t)}, median ${m.median === null ? '-' : formatScore(m.median, t)}, ≥ ${formatThreshold(t)}: ${m.shareAtLeast === null ? '-' : Math.round(m.shareAtLeast * 100) + '%'}, failed ${m.failures}`);
      if (summary.embeddingModels.length > 0) lines.push(`Embeddings: ${summary.embeddingModels.join(', ')}`);
      if (failure) lines.unshift(`Scoring failed, outputs kept unscored: ${failure}`);
      this.item.tooltip = lines.length > 0 ? ui`${lines.join('\n')}` : 'Run "PiSAR Review: Score File" to score this dataset.';
      this.item.command = failure ? Commands.showLog : scored.length > 0 ? ViewCommands.focusPanel : Commands.scoreFile;
    }
    const editor = vscode.window.activeTextEditor;
    if (!editor || this.sessions.forDocument(editor.document)) this.item.show();
  }

}
