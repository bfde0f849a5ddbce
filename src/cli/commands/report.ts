import * as path from 'node:path';
import { labelMapping, parseLabels, parseModelNames, parseContradictionThreshold, parseThreshold, problemText, SettingKeys } from '../../core/config/settings';
import { orderModels } from '../../core/rules/rules';
import { Dataset } from '../../core/dataset/datasetReader';
import { DEFAULT_LABEL_MAPPING, type LabelMapping } from '../../core/report/calibration';
import { renderCsv, renderMarkdown, reportSummaryOf, type ReferencesNote, type ReportRow } from '../../core/report/render';
import { agreementReport, agreementUnits, type AgreementReport } from '../../core/report/agreement';
import { correctionsInForce, type ReferenceChoice } from '../../core/store/corrections';
import { collectStatisticsRows, rowReports, type RowReport } from '../../core/report/rows';
import { OutputTokens } from '../../core/report/rougeL';
import { countedResults, judgeInForce, reportedModels } from '../../core/report/reportInputs';
import { computeStatistics, DEFAULT_MAX_PAIR_MODELS, type StatisticsReport } from '../../core/report/statistics';
import { DEFAULT_SEED } from '../../core/report/stats';
import { pricesOf, summarize, summaryRowsOf, type DatasetSummary } from '../../core/report/summary';
import { AnnotationStore } from '../../core/store/annotations';
import { ResultsStore } from '../../core/store/results';
import type { EmbeddingOrigin } from '../../core/store/provenance';
import { originFindings, resultsOrigin, withFromFile } from '../../core/report/origin';
import type { SidecarProblem } from '../../core/store/sidecar';
import { loadCliConfig, settingsOf } from '../config';
import { type CliCommand, type CliIo, DATASET_FLAGS, datasetOptionsOf, ExitCode, limitHeapGrowth, fromFlag, parseCommandArgs, UsageError, writeJson } from '../args';
import { selectModels } from './score';
import { dict } from '../../core/security/ownKeys';

const usage =
  'pisar-review report <file> [--format md|csv|json | --json] [--rows] [--threshold 0.7] [--contradiction-threshold 0.5] [--models a,b] [--seed N] [--max-pair-models N] ' +
  '[--bad-labels a,b] [--good-labels a,b] [--baselines a,b] [--slice FIELD] [--original-references] [--config <path>] [--field ROLE=KEY]... [--max-inflated-bytes N]';

type ReportFormat = 'md' | 'csv' | 'json';
const FORMATS: readonly ReportFormat[] = ['md', 'csv', 'json'];

/** The `--format json` document of `report`; its shape is part of the CLI's public contract. */
export interface ReportDocument extends DatasetSummary {
  schema: 'pisar-review/report@1';
  file: string;
  resultsFile: string;
  /** With --rows: each row's current result per model. */
  rows?: RowReport[];
  /** Intervals, paired tests, calibration against annotations, ROUGE-L F and bias checks (docs/scoring.md: "Statistics"). */
  statistics: StatisticsReport;
  /** Which references the numbers are against: reviewers' corrections (default) or the file's (--original-references). */
  references: ReferencesNote;
  /** Agreement between reviewers, per label and overall, and each reviewer's progress (null when nobody labelled). */
  agreement: AgreementReport | null;
  /** Lines of the results sidecar that were skipped. */
  problems: SidecarProblem[];
  /** The embedding models (id, dtype, weights hash) that made the scores counted. */
  embedding: readonly EmbeddingOrigin[];
  /** Per model: rows whose result was read from the file (not scored on this machine), left out of every number. */
  fromFile: Readonly<Record<string, number>>;
  /** Models with results in the sidecar that are neither configured nor in the dataset: ignored. */
  foreign: readonly { readonly model: string; readonly results: number }[];
  /** What was left out and why, with the fix (also on stderr). */
  findings: string[];
}

const options = {
  format: { type: 'string' },
  json: { type: 'boolean' },
  rows: { type: 'boolean' },
  threshold: { type: 'string' },
  'contradiction-threshold': { type: 'string' },
  models: { type: 'string' },
  seed: { type: 'string' },
  'max-pair-models': { type: 'string' },
  'bad-labels': { type: 'string' },
  'good-labels': { type: 'string' },
  baselines: { type: 'string' },
  slice: { type: 'string' },
  'original-references': { type: 'boolean' },
  config: { type: 'string' },
  ...DATASET_FLAGS,
} as const;

export const reportCommand: CliCommand = {
  name: 'report',
  usage,
  summary: 'Print the study\'s table, intervals, paired tests and calibration from stored results (no model is called, nothing is written).',
  run: runReport,
};

/** A non-negative integer flag. */
export function parseCount(flag: string, value: string | undefined, fallback: number, commandUsage: string, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > 2 ** 31 - 1) throw new UsageError(`--${flag} ${value}: expected a whole number from ${min}, e.g. ${fallback}`, commandUsage);
  return n;
}

/** Calibration's labels: --bad-labels / --good-labels, else the config's calibration.badLabels / goodLabels. */
export function labelOptions(bad: string | undefined, good: string | undefined, configured: LabelMapping, commandUsage = usage): LabelMapping {
  const list = (flag: string, text: string | undefined, key: string, fallback: readonly string[], setting: readonly string[]) =>
    fromFlag(flag, text, (t) => parseLabels(t, key, fallback), setting, commandUsage);
  const mapping = labelMapping(
    list('bad-labels', bad, SettingKeys.calibrationBadLabels, DEFAULT_LABEL_MAPPING.bad, configured.bad),
    list('good-labels', good, SettingKeys.calibrationGoodLabels, DEFAULT_LABEL_MAPPING.good, configured.good),
  );
  if (mapping.problem) throw new UsageError(`--bad-labels / --good-labels: ${problemText(mapping.problem)}`, commandUsage);
  return mapping.value;
}

async function runReport(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options, usage);
  limitHeapGrowth();
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the dataset file' : `expected one dataset file, got ${positionals.length}`, usage);
  if (values.json && values.format !== undefined && values.format !== 'json') throw new UsageError(`--json and --format ${values.format} disagree: give one`, usage);
  const format = (values.json ? 'json' : values.format ?? 'md') as ReportFormat;
  if (!FORMATS.includes(format)) throw new UsageError(`--format ${values.format}: expected one of ${FORMATS.join(', ')}`, usage);
  const settings = settingsOf(values.config ? await loadCliConfig(path.resolve(io.cwd, values.config), (line) => io.stderr.write(`${line}\n`)) : undefined);
  const threshold = fromFlag('threshold', values.threshold, parseThreshold, settings.threshold, usage);
  const contradictionThreshold = fromFlag('contradiction-threshold', values['contradiction-threshold'] as string | undefined, (text) => parseContradictionThreshold(text, 'contradiction-threshold'), settings.contradiction.threshold, usage);
  const seed = parseCount('seed', values.seed, DEFAULT_SEED, usage);
  const maxPairModels = parseCount('max-pair-models', values['max-pair-models'], DEFAULT_MAX_PAIR_MODELS, usage);
  const labels = labelOptions(values['bad-labels'], values['good-labels'], settings.calibration);
  const datasetOptions = datasetOptionsOf(values, settings, usage);

  const file = path.resolve(io.cwd, positionals[0]);
  // Read-only: a cut-off last line is reported, not repaired, by a report. Both sidecars are read while the
  // dataset is indexed (the index's parts go to the other cores meanwhile); a dataset that cannot be opened is the error told.
  // No output text is held past its line: ROUGE-L reads the token ids taken from it as it was read.
  const outputTokens = new OutputTokens();
  const sidecars = Promise.all([ResultsStore.open(file, { repair: false, readTexts: outputTokens.take }), AnnotationStore.forDataset(file, { repair: false })]);
  sidecars.catch(() => undefined);
  const dataset = await Dataset.open(file, datasetOptions);
  try {
    const [results, annotations] = await sidecars;
    // One model order everywhere (the panel's too): configured, then first seen in the results, then in the dataset.
    const configured = settings.models.map((m) => m.name);
    const known = orderModels(configured, results.models(), dataset.modelNames);
    const origin = resultsOrigin(dataset.rowIds(), results, known, new Set([...configured, ...dataset.modelNames]));
    const models = selectModels(values.models, known, usage) ?? reportedModels(known, results, origin);
    const baselines = fromFlag('baselines', values.baselines, (t) => parseModelNames(t, SettingKeys.baselineModels), settings.baselineModels, usage);
    const corrections = correctionsInForce(annotations.corrections(), dataset);
    const choice: ReferenceChoice = values['original-references'] ? 'original' : 'corrected';
    const references: ReferencesNote = { choice, correctedRows: corrections.size };
    // Numbers count only results scored on this machine; results read from the file are shown and counted apart.
    const { scored, referencesOfRow } = countedResults(results, corrections, choice);
    const summary = withFromFile(summarize(summaryRowsOf(dataset), scored, threshold, { models, baselines, prices: pricesOf(settings.models), contradictionThreshold }), origin);
    const sliceField = values.slice?.trim();
    if (sliceField === '') throw new UsageError('--slice: name the field whose values split the rows, e.g. --slice label (dots reach into objects: meta.split)', usage);
    const judge = judgeInForce(settings);
    const statisticsRows = await collectStatisticsRows(dataset, scored, annotations.all(), models, { sliceField, referencesOf: referencesOfRow, multiReference: settings.multiReference, outputTokens, ...(judge ? { judge } : {}) });
    const statistics = computeStatistics(statisticsRows, models, { threshold, seed, maxPairModels, labels, sliceField, humanModels: settings.humanModels, prices: pricesOf(settings.models), contradictionThreshold });
    const rows = values.rows ? rowReports(dataset, scored, models, threshold, statisticsRows, corrections, results, contradictionThreshold) : undefined;
    const units = agreementUnits(annotations.all(), annotations.adjudications(), dataset);
    const agreement = units.some((u) => u.ratings.size > 0) ? agreementReport(units, dataset.rowCount, { seed }) : undefined;
    for (const p of [...results.problems, ...annotations.problems]) io.stderr.write(`${p.file}:${p.line}: ${p.reason}. ${p.fix}\n`);
    const findings = originFindings(results.file, origin);
    for (const f of findings) io.stderr.write(`${f}\n`);

    if (format === 'json') {
      const doc: ReportDocument = {
        schema: 'pisar-review/report@1', file: dataset.file, resultsFile: results.file, ...summary, ...(rows ? { rows } : {}), statistics,
        references, agreement: agreement ?? null, problems: [...results.problems],
        embedding: origin.embedding, fromFile: origin.fromFile, foreign: origin.foreign, findings,
      };
      writeJson(io, doc);
    } else {
      const input = { summary: reportSummaryOf(summary, { embedding: origin.embedding }), distribution: true, models, statistics, rows: rows?.map(reportRowOf), references, ...(agreement ? { agreement } : {}) };
      io.stdout.write(format === 'csv' ? renderCsv(input) : renderMarkdown(input));
    }
    return ExitCode.ok;
  } finally {
    await dataset.close();
  }
}

function reportRowOf(row: RowReport): ReportRow {
  const scores = dict<ReportRow['scores'][string]>();
  for (const [model, cell] of Object.entries(row.results)) {
    if (cell.status === 'missing') continue;
    if (cell.status === 'scored') scores[model] = { score: cell.score, ...(cell.rougeL !== undefined ? { rougeL: cell.rougeL } : {}), ...(cell.nli ? { nli: cell.nli } : {}) };
    else if (cell.status === 'failed') scores[model] = { score: null, error: cell.kind };
    else if (cell.status === 'stale') scores[model] = { score: null, stale: true };
    else if (cell.status === 'from-file') scores[model] = { score: null, fromFile: true };
    else if (cell.status === 'empty') scores[model] = { score: null, empty: true };
    else if (cell.status === 'unmeasurable') scores[model] = { score: null, unmeasurable: true };
    else scores[model] = { score: null };
    if (cell.answeredBy !== undefined) scores[model] = { ...scores[model], answeredBy: cell.answeredBy };
    if (cell.judge !== undefined) scores[model] = { ...scores[model], judge: cell.judge };
  }
  return { id: row.id, line: row.line, ...(row.correctedReference !== undefined ? { correctedReference: row.correctedReference } : {}), scores };
}
