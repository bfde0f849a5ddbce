import * as path from 'node:path';
import { Dataset } from '../../core/dataset/datasetReader';
import { FIELD_ROLES } from '../../core/dataset/fields';
import type { OpenDatasetOptions } from '../../core/dataset/types';
import { loadCliConfig, settingsOf } from '../config';
import { type CliCommand, type CliIo, DATASET_FLAGS, datasetOptionsOf, ExitCode, parseCommandArgs, terminalSafe, UsageError, writeJson } from '../args';

const usage = 'pisar-review inspect <file> [--config <path>] [--field ROLE=KEY]... [--max-inflated-bytes N] [--json]';

/** The `--json` document of `inspect`; its shape is part of the CLI's public contract. */
export interface InspectDocument {
  schema: 'pisar-review/inspect@1';
  file: string;
  lines: number;
  rows: number;
  validRows: number;
  badLines: number;
  mapping: Record<string, { key: string | null; source: 'configured' | 'detected' }>;
  models: string[];
  counts: { error: number; warning: number; info: number };
  findings: { line: number; severity: 'error' | 'warning' | 'info'; code: string; message: string; fix: string }[];
}

export async function inspectDataset(file: string, options: OpenDatasetOptions = {}): Promise<InspectDocument> {
  // inspect lists and checks rows; it never compares them with stored results, so no row hashes.
  const dataset = await Dataset.open(file, { ...options, rowHashes: false });
  await dataset.close();
  const counts = { error: 0, warning: 0, info: 0 };
  for (const finding of dataset.findings) {
    counts[finding.severity] += 1;
  }
  return {
    schema: 'pisar-review/inspect@1',
    file: dataset.file,
    lines: dataset.lineCount,
    rows: dataset.nonBlankLineCount,
    validRows: dataset.rowCount,
    badLines: dataset.nonBlankLineCount - dataset.rowCount,
    mapping: Object.fromEntries(FIELD_ROLES.map((role) => [role, { key: dataset.mapping.fields[role], source: dataset.mapping.source[role] }])),
    models: [...dataset.modelNames],
    counts,
    findings: dataset.findings.map(({ line, severity, code, message, fix }) => ({ line, severity, code, message, fix })),
  };
}

function printHuman(io: CliIo, doc: InspectDocument): void {
  const shown = terminalSafe(path.relative(io.cwd, doc.file) || doc.file);
  const out: string[] = [];
  out.push(`${shown}`);
  out.push(`  ${doc.lines} lines · ${doc.rows} rows · ${doc.validRows} valid · ${doc.badLines} bad lines · ${doc.counts.warning} warnings`);
  const mapping = Object.entries(doc.mapping)
    .map(([role, { key, source }]) => `${role} <- ${key === null ? '(none)' : `"${terminalSafe(key)}"`}${key === null ? '' : ` (${source})`}`)
    .join(', ');
  out.push(`  field mapping: ${mapping}`);
  out.push(`  precomputed outputs: ${doc.models.length > 0 ? terminalSafe(doc.models.join(', ')) : '(none)'}`);
  if (doc.findings.length > 0) {
    out.push('  findings:');
    for (const finding of doc.findings) {
      out.push(`    ${shown}:${finding.line}  ${finding.severity.padEnd(7)} ${terminalSafe(finding.message)}`);
      out.push(`    ${' '.repeat(shown.length + String(finding.line).length + 1)}  fix:    ${finding.fix}`);
    }
  }
  io.stdout.write(`${out.join('\n')}\n`);
}

export const inspectCommand: CliCommand = {
  name: 'inspect',
  usage,
  summary: 'Read a dataset: rows, valid rows, the field mapping and every bad line.',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      json: { type: 'boolean' },
      config: { type: 'string' },
      ...DATASET_FLAGS,
    }, usage);
    if (positionals.length !== 1) {
      throw new UsageError(positionals.length === 0 ? 'inspect needs a dataset file' : `inspect takes one file, got ${positionals.length}`, usage);
    }
    const settings = settingsOf(values.config ? await loadCliConfig(path.resolve(io.cwd, values.config), (line) => io.stderr.write(`${line}\n`)) : undefined);
    const doc = await inspectDataset(path.resolve(io.cwd, positionals[0]), datasetOptionsOf(values, settings, usage));
    if (values.json) {
      writeJson(io, doc);
    } else {
      printHuman(io, doc);
    }
    return ExitCode.ok;
  },
};
