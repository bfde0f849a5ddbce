import * as fs from 'node:fs';
import type { FieldMapping } from '../core/dataset/types';
import { FIELD_ROLES } from '../core/dataset/fields';
import { regularFileStat, UnsafeFileError } from '../core/store/safeFile';
import { UsageError } from './args';

/**
 * The CLI's JSON config file (`--config`): the same shape as the extension's `pisarReview.*` settings,
 * e.g. {"models": [...], "fieldMapping": {"reference": "gold"}, "threshold": 0.7, "embedding": {...}}.
 */
export interface CliConfigFile {
  readonly file: string;
  /** The parsed document, for the parts each command reads for itself (models, embedding, threshold). */
  readonly raw: Record<string, unknown>;
  readonly fieldMapping: FieldMapping | undefined;
}

export async function loadCliConfig(file: string): Promise<CliConfigFile> {
  let text: string;
  try {
    await regularFileStat(file); // a FIFO given as --config would block the read
    text = await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof UnsafeFileError) throw new UsageError(`${file}: ${error.reason}; check the --config path`);
    throw new UsageError(`${file}: cannot read the config file (${(error as NodeJS.ErrnoException).code ?? String(error)}); check the --config path`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: the config file is not valid JSON (${(error as Error).message}); fix it or pass another --config`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UsageError(`${file}: the config file must be a JSON object like {"models": [...], "fieldMapping": {...}}`);
  }
  const document = raw as Record<string, unknown>;
  return { file, raw: document, fieldMapping: parseFieldMapping(document.fieldMapping, file) };
}

function parseFieldMapping(value: unknown, file: string): FieldMapping | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${file}: "fieldMapping" must be an object of role -> key, e.g. {"reference": "gold_rationale"}`);
  }
  const mapping: FieldMapping = {};
  for (const [role, key] of Object.entries(value as Record<string, unknown>)) {
    if (!(FIELD_ROLES as readonly string[]).includes(role)) {
      throw new UsageError(`${file}: "fieldMapping.${role}" is not a role; roles are ${FIELD_ROLES.join(', ')}`);
    }
    if (typeof key !== 'string' || key === '') {
      throw new UsageError(`${file}: "fieldMapping.${role}" must be a JSON key (a non-empty string)`);
    }
    mapping[role as keyof FieldMapping] = key;
  }
  return mapping;
}
