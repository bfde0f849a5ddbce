import { ConfigError } from '../core/config/models';
import { DEFAULT_SETTINGS, fileProblemMessage, loadSettingsFile, unknownSettingMessage, type ReviewSettings } from '../core/config/settings';
import { UsageError } from './args';

/**
 * The CLI's JSON config file (`--config`): the same keys as the extension's `pisarReview.*` settings,
 * e.g. {"models": [...], "fieldMapping": {"reference": "gold"}, "threshold": 0.7, "embedding": {...}},
 * read by the one settings parser (src/core/config/settings.ts). Any bad setting in it is exit 2.
 */
export interface CliConfigFile {
  readonly file: string;
  readonly settings: ReviewSettings;
}

/** Reads `--config`; a key that is no setting is told on stderr (`warn`) and ignored, a bad setting is exit 2. */
export async function loadCliConfig(file: string, warn: (line: string) => void): Promise<CliConfigFile> {
  try {
    const read = await loadSettingsFile(file);
    if (read.problems.length > 0) throw new UsageError(read.problems.map((p) => fileProblemMessage(file, p)).join('\n'));
    for (const unknown of read.unknown) warn(`warning: ${unknownSettingMessage(file, unknown)}`);
    return { file, settings: read.settings };
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** The settings a command runs with: the config file's, else the defaults. */
export function settingsOf(config: CliConfigFile | undefined): ReviewSettings {
  return config?.settings ?? DEFAULT_SETTINGS;
}
