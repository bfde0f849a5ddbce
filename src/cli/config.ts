import { ConfigError } from '../core/config/models';
import { DEFAULT_SETTINGS, fileProblemMessage, loadSettingsFile, unknownSettingMessage, type ReviewSettings } from '../core/config/settings';
import { type CliIo, UsageError } from './args';
import type { ModelConfig } from '../core/config/models';
import { decideEnvKey } from '../core/security/keyOrigin';

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

/** A key the CLI will not send where the model's baseUrl points (see decideEnvKey). */
export class KeyOriginError extends Error {
  constructor(message: string, readonly fix: string) {
    super(message);
    this.name = 'KeyOriginError';
  }
}

/**
 * The key a model's `apiKeyEnv` names, after checking where it would go; says on stderr (once per
 * model) where each key goes, before the first call. Throws KeyOriginError when it may not go there.
 */
export function envKeyFor(model: ModelConfig, io: CliIo, command: string, told: Set<string>): string | undefined {
  if (!model.apiKeyEnv) return undefined;
  const key = io.env[model.apiKeyEnv];
  const first = !told.has(model.name);
  told.add(model.name);
  if (!key) {
    if (first) io.stderr.write(`pisar-review ${command}: model ${JSON.stringify(model.name)}: environment variable ${model.apiKeyEnv} is not set; calling without a key.\n`);
    return undefined;
  }
  const decision = decideEnvKey(model.apiKeyEnv, model.baseUrl, model.apiKeyOrigins);
  if (!decision.allowed) {
    throw new KeyOriginError(`the key in ${model.apiKeyEnv} was not sent to ${decision.origin}: ${decision.reason}`, decision.fix ?? '');
  }
  if (first) io.stderr.write(`pisar-review ${command}: model ${JSON.stringify(model.name)} sends the key from ${model.apiKeyEnv} to ${decision.origin} (${decision.reason}).\n`);
  return key;
}
