import { problemSetting, readSettings, settingProblemMessage, SETTINGS_SECTION, type ReviewSettings, type SettingProblem, type SettingsSource } from '../core/config/settings';

// No vscode here: the unit tests read settings through this exactly as the extension does.

/** One read-only view of the `pisarReview.*` settings, rebuilt only when they change. */
export interface ReviewConfig extends ReviewSettings {
  /** Why the models setting was rejected (the whole list is unusable until fixed), if it was. */
  readonly modelsError: string | undefined;
  /** Settings that could not be used; each one's default is in force. */
  readonly problems: readonly SettingProblem[];
}

/** The snapshot of `configuration` (VS Code's `pisarReview` section), through the one settings parser (the CLI's too). */
export function readReviewConfig(configuration: SettingsSource): ReviewConfig {
  const { settings, problems } = readSettings(configuration);
  const models = problems.find((p) => problemSetting(p) === 'models');
  return { ...settings, modelsError: models && settingProblemMessage(models), problems };
}

/** What the user is told (and the log keeps) about a setting that could not be used. */
export function settingNotice(p: SettingProblem): string {
  return `${settingProblemMessage(p)} In force until then: ${p.instead}.`;
}

/** The setting to open for a problem, as `workbench.action.openSettings` takes it. */
export function settingToOpen(p: SettingProblem): string {
  return `${SETTINGS_SECTION}.${problemSetting(p)}`;
}
