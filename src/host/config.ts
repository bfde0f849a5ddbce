import * as vscode from 'vscode';
import type { SettingProblem } from '../core/config/settings';
import { Commands, Settings } from './ids';
import { Disposable } from './dispose';
import type { ReviewLog } from './log';
import { readReviewConfig, settingNotice, settingToOpen, type ReviewConfig } from './reviewConfig';
import { showError, showInfo, showWarning } from './surfaces';

/**
 * Reads the settings. VS Code itself drops workspace values of `restrictedConfigurations` while the
 * workspace is untrusted, so what is read here is already safe to act on.
 */
export function readConfig(): ReviewConfig {
  return readReviewConfig(vscode.workspace.getConfiguration(Settings.section));
}

/** Holds the current snapshot; fires when a `pisarReview` setting (or workspace trust) changes it. */
export class ConfigService extends Disposable implements vscode.Disposable {
  private snapshot: ReviewConfig;
  private readonly emitter = this._register(new vscode.EventEmitter<ReviewConfig>());
  readonly onDidChange = this.emitter.event;
  /** Problems already told, so each is shown once a session however often the settings change. */
  private readonly told = new Set<string>();

  constructor(private readonly log: ReviewLog) {
    super();
    this.snapshot = readConfig();
    this.tell(this.snapshot.problems);
    this._register(vscode.Disposable.from(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(Settings.section)) this.refresh();
      }),
      // Granting trust makes restricted workspace values visible.
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.refresh()),
    ));
  }

  get current(): ReviewConfig {
    return this.snapshot;
  }

  private refresh(): void {
    this.snapshot = readConfig();
    this.tell(this.snapshot.problems);
    this.emitter.fire(this.snapshot);
  }

  /** Logs each new problem and shows one warning for them, with the way to the setting. */
  private tell(problems: readonly SettingProblem[]): void {
    const fresh = problems.map((p) => ({ p, message: settingNotice(p) })).filter(({ message }) => !this.told.has(message));
    if (fresh.length === 0) return;
    for (const { message } of fresh) {
      this.told.add(message);
      this.log.warn(`Setting not used: ${message}`);
    }
    const open = 'Open Settings';
    const more = fresh.length > 1 ? ` (and ${fresh.length - 1} more: see the log)` : '';
    void showWarning(`PiSAR Review: ${fresh[0].message}${more}`, open, 'Show Log').then((answer) => {
      if (answer === open) void vscode.commands.executeCommand('workbench.action.openSettings', settingToOpen(fresh[0].p));
      else if (answer === 'Show Log') void vscode.commands.executeCommand(Commands.showLog);
    });
  }
}

/** Says why there is no model to call: the models setting is invalid (and where), or empty; offers to open it. */
export async function showNoModels(config: ReviewConfig, first = '', lead?: string): Promise<void> {
  const open = lead ? 'Add a Model' : 'Open Settings';
  const answer = config.modelsError
    ? await showError(`PiSAR Review: the models setting is invalid: ${config.modelsError}`, open)
    : await showInfo(lead ?? `No models are configured: add them to the "pisarReview.models" setting${first}.`, open);
  if (answer === open) void vscode.commands.executeCommand('workbench.action.openSettings', `${Settings.section}.${Settings.models}`);
}
