import * as path from 'node:path';
import { Dataset } from '../../core/dataset/datasetReader';
import { TRAINING_FORMATS, type HoldoutRule, type TrainingFilters, type TrainingFormat } from '../../core/review/trainingExport';
import { readHoldoutRule, writeTrainingFile } from '../../core/review/trainingExportFile';
import { AnnotationStore } from '../../core/store/annotations';
import { ResultsStore } from '../../core/store/results';
import { loadCliConfig, settingsOf } from '../config';
import { labelOptions } from './report';
import { type CliCommand, type CliIo, ExitCode, parseCommandArgs, parseFieldFlags, terminalSafe, UsageError, writeJson } from '../args';

const usage =
  'pisar-review export <file> --format openai-chat|sharegpt|alpaca|dpo --out <file> [--labels a,b] [--exclude-labels a,b] ' +
  '[--min-score X] [--max-score Y] [--score-model m] [--agreement agreed|disagreed] [--corrected-only] [--contradicts exclude|only] ' +
  '[--holdout <file of ids | dataset.jsonl | field=value>]... [--drop-holdout] [--system-prompt <text>] [--bad-labels a,b] [--good-labels a,b] ' +
  '[--config <path>] [--field ROLE=KEY]... [--json]';

const options = {
  format: { type: 'string' },
  out: { type: 'string' },
  labels: { type: 'string' },
  'exclude-labels': { type: 'string' },
  'min-score': { type: 'string' },
  'max-score': { type: 'string' },
  'score-model': { type: 'string' },
  agreement: { type: 'string' },
  contradicts: { type: 'string' },
  'corrected-only': { type: 'boolean' },
  holdout: { type: 'string', multiple: true },
  'drop-holdout': { type: 'boolean' },
  'system-prompt': { type: 'string' },
  'bad-labels': { type: 'string' },
  'good-labels': { type: 'string' },
  config: { type: 'string' },
  field: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;

export const exportCommand: CliCommand = {
  name: 'export',
  usage,
  summary: 'Write the reviewed rows as a fine-tuning file (corrected references as targets; DPO pairs from labels) and a manifest; refuses rows of a hold-out set.',
  run: runExport,
};

/** The `--json` document of `export` (public contract, docs/cli.md: "export"). */
export interface ExportDocument {
  schema: 'pisar-review/export@1';
  /** false when rows of the hold-out were selected: nothing was written (exit 2). */
  ok: boolean;
  out: string | null;
  manifest: string | null;
  records: number;
  rows: number;
  holdout: { id: string; line: number; why: string }[];
  skipped: { id: string; line: number; why: string }[];
}

declare const PISAR_VERSION: string | undefined;
const VERSION = typeof PISAR_VERSION === 'string' ? PISAR_VERSION : '0.0.0-dev';

function list(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

function score(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < -1 || n > 1) throw new UsageError(`--${flag} ${text}: expected a score from -1 to 1, e.g. 0.5`, usage);
  return n;
}

/** `--holdout`: `field=value` (no such file), a dataset (JSONL: its ids, lines and inputs), or a text file of ids (one a line). */
async function holdoutRule(value: string, io: CliIo): Promise<HoldoutRule> {
  try {
    return await readHoldoutRule(value, io.cwd);
  } catch (error) {
    throw new UsageError(`--holdout ${terminalSafe(value)}: ${error instanceof Error ? error.message : String(error)}`, usage);
  }
}

async function runExport(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options, usage);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the dataset file' : `expected one dataset file, got ${positionals.length}`, usage);
  const format = values.format as TrainingFormat | undefined;
  if (!format || !TRAINING_FORMATS.includes(format)) throw new UsageError(`--format ${values.format ?? ''}: expected one of ${TRAINING_FORMATS.join(', ')}`, usage);
  if (!values.out) throw new UsageError('--out: name the file to write (e.g. --out train.jsonl)', usage);
  if (values.agreement !== undefined && values.agreement !== 'agreed' && values.agreement !== 'disagreed') throw new UsageError(`--agreement ${values.agreement}: expected agreed or disagreed`, usage);
  if (values.contradicts !== undefined && values.contradicts !== 'exclude' && values.contradicts !== 'only') throw new UsageError(`--contradicts ${values.contradicts}: expected exclude (leave out rows where some output contradicts its reference) or only`, usage);
  const filters: TrainingFilters = {
    ...(list(values.labels) ? { labels: list(values.labels) } : {}),
    ...(list(values['exclude-labels']) ? { excludeLabels: list(values['exclude-labels']) } : {}),
    ...(values['min-score'] !== undefined ? { minScore: score('min-score', values['min-score']) } : {}),
    ...(values['max-score'] !== undefined ? { maxScore: score('max-score', values['max-score']) } : {}),
    ...(values['score-model'] !== undefined ? { scoreModel: values['score-model'] } : {}),
    ...(values.agreement !== undefined ? { agreement: values.agreement as 'agreed' | 'disagreed' } : {}),
    ...(values['corrected-only'] ? { correctedOnly: true } : {}),
  };
  const settings = settingsOf(values.config ? await loadCliConfig(path.resolve(io.cwd, values.config), (line) => io.stderr.write(`${line}\n`)) : undefined);
  const chosen: TrainingFilters = values.contradicts === undefined ? filters : { ...filters, contradicts: values.contradicts as 'exclude' | 'only', contradictionThreshold: settings.contradiction.threshold };
  const labels = labelOptions(values['bad-labels'], values['good-labels'], settings.calibration, usage);
  const holdout = await Promise.all((values.holdout ?? []).map((h) => holdoutRule(h, io)));
  const mapping = { ...settings.fieldMapping, ...parseFieldFlags(values.field, usage) };
  const out = path.resolve(io.cwd, values.out);

  const dataset = await Dataset.open(path.resolve(io.cwd, positionals[0]), { mapping });
  try {
    if (path.resolve(dataset.file) === out) throw new UsageError('--out names the dataset itself: the dataset is never written; choose another file', usage);
    const results = await ResultsStore.open(dataset.file, { repair: false });
    const annotations = await AnnotationStore.forDataset(dataset.file, { repair: false });
    for (const p of [...results.problems, ...annotations.problems]) io.stderr.write(`${p.file}:${p.line}: ${p.reason}. ${p.fix}\n`);
    const written = await writeTrainingFile({
      dataset, results, annotations, format, filters: chosen, labels, holdout, holdoutNames: (values.holdout ?? []).map(String),
      dropHoldout: values['drop-holdout'] ?? false, out,
      ...(values['system-prompt'] !== undefined ? { systemPrompt: values['system-prompt'] } : {}),
      embeddingModel: settings.embedding.provider === 'remote' ? `remote:${settings.embedding.remote.model}` : settings.embedding.model,
      toolVersion: VERSION,
    });
    if (!written.ok) {
      io.stderr.write(`pisar-review export: ${written.holdout.length} selected row(s) belong to the hold-out (evaluation) set; nothing was written:\n`);
      for (const h of written.holdout) io.stderr.write(`  ${terminalSafe(h.id)} (line ${h.line}): ${terminalSafe(h.why)}\n`);
      io.stderr.write('  fix: narrow the filters, or pass --drop-holdout to leave these rows out (they are listed in the manifest).\n');
      if (values.json) writeJson(io, { schema: 'pisar-review/export@1', ok: false, out: null, manifest: null, records: 0, rows: 0, holdout: written.holdout, skipped: [] } satisfies ExportDocument);
      return ExitCode.usageOrInput;
    }
    const { built, manifestFile } = written;
    for (const s of built.skipped.slice(0, 20)) io.stderr.write(`pisar-review export: skipped ${terminalSafe(s.id)} (line ${s.line}): ${terminalSafe(s.why)}\n`);
    if (values.json) {
      writeJson(io, { schema: 'pisar-review/export@1', ok: true, out, manifest: manifestFile, records: built.lines.length, rows: built.rows.length, holdout: built.dropped, skipped: built.skipped } satisfies ExportDocument);
    } else {
      io.stdout.write(`Wrote ${built.lines.length} ${format} record(s) from ${built.rows.length} row(s) to ${out}; manifest: ${manifestFile}\n`);
      if (built.dropped.length) io.stdout.write(`Left out ${built.dropped.length} hold-out row(s) (listed in the manifest).\n`);
    }
    return ExitCode.ok;
  } finally {
    await dataset.close();
  }
}
