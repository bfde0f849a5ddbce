import * as path from 'node:path';
import { Dataset } from '../../core/dataset/dataset';
import { summarize, summaryRowsOf, type DatasetSummary } from '../../core/report/summary';
import { REPORT_FORMATS, renderCsv, renderMarkdown, rowReports, type ReportFormat, type RowReport } from '../../core/report/table';
import { ResultsStore } from '../../core/store/results';
import type { SidecarProblem } from '../../core/store/sidecar';
import { loadCliConfig } from '../config';
import { type CliCommand, type CliIo, ExitCode, parseCommandArgs, parseFieldFlags, UsageError, writeJson } from '../args';
import { parseThreshold, selectModels } from './score';

const usage = 'pisar-review report <file> [--format md|csv|json] [--rows] [--threshold 0.7] [--models a,b] [--config <path>] [--field ROLE=KEY]...';

/** The `--format json` document of `report`; its shape is part of the CLI's public contract. */
export interface ReportDocument extends DatasetSummary {
  schema: 'pisar-review/report@1';
  file: string;
  resultsFile: string;
  /** With --rows: each row's current result per model. */
  rows?: RowReport[];
  /** Lines of the results sidecar that were skipped. */
  problems: SidecarProblem[];
}

const options = {
  format: { type: 'string' },
  rows: { type: 'boolean' },
  threshold: { type: 'string' },
  models: { type: 'string' },
  config: { type: 'string' },
  field: { type: 'string', multiple: true },
} as const;

export const reportCommand: CliCommand = {
  name: 'report',
  usage,
  summary: 'Print the study\'s table from stored results (no model is called, nothing is written).',
  run: runReport,
};

async function runReport(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options, usage);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the dataset file' : `expected one dataset file, got ${positionals.length}`, usage);
  const format = (values.format ?? 'md') as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) throw new UsageError(`--format ${values.format}: expected one of ${REPORT_FORMATS.join(', ')}`, usage);
  const config = values.config ? await loadCliConfig(path.resolve(io.cwd, values.config)) : undefined;
  const threshold = parseThreshold(values.threshold, config, usage);
  const mapping = { ...(config?.fieldMapping ?? {}), ...parseFieldFlags(values.field, usage) };

  const dataset = await Dataset.open(path.resolve(io.cwd, positionals[0]), { mapping });
  await dataset.close();
  // Read-only: a cut-off last line is reported, not repaired, by a report.
  const results = await ResultsStore.open(dataset.file, { repair: false });
  const known = [...new Set([...results.models(), ...dataset.modelNames])];
  const models = selectModels(values.models, known, usage) ?? results.models();
  const summary = summarize(summaryRowsOf(dataset), results, threshold, { models });
  const rows = values.rows ? rowReports(dataset, results, models, threshold) : undefined;
  for (const p of results.problems) io.stderr.write(`${p.file}:${p.line}: ${p.reason}. ${p.fix}\n`);

  if (format === 'json') {
    const doc: ReportDocument = { schema: 'pisar-review/report@1', file: dataset.file, resultsFile: results.file, ...summary, ...(rows ? { rows } : {}), problems: [...results.problems] };
    writeJson(io, doc);
  } else {
    io.stdout.write(format === 'csv' ? renderCsv(summary, rows) : renderMarkdown(summary, rows));
  }
  return ExitCode.ok;
}
