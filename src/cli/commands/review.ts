import * as path from 'node:path';
import { Dataset } from '../../core/dataset/datasetReader';
import type { DatasetRow } from '../../core/dataset/types';
import { rescoreForCorrection } from '../../core/store/corrections';
import { defaultReviewer } from '../../core/review/reviewer';
import { AnnotationStore, type AnnotationTarget } from '../../core/store/annotations';
import { ResultsStore } from '../../core/store/results';
import { loadCliConfig, settingsOf } from '../config';
import { type CliCommand, type CliIo, ExitCode, parseCommandArgs, parseFieldFlags, terminalSafe, UsageError, writeJson } from '../args';
import { defaultCacheDir, embeddingChoice } from './score';

/**
 * Review from the command line: label a row (or adjudicate it), and correct a row's reference. Each
 * writes one event to the annotations sidecar, naming the reviewer; the dataset is never written.
 */

const correctUsage =
  'pisar-review correct <file> --row <id> (--text <reference> | --adopt <model>) --reason <why> [--reviewer <name>] ' +
  '[--config <path>] [--embedding-model <id|dir>] [--embedding-dtype fp32|q8] [--cache-dir <dir>] [--field ROLE=KEY]... [--json]';

const labelUsage =
  'pisar-review label <file> --row <id> --label <label> [--model <m>] [--note <text>] [--adjudicate] [--reviewer <name>] [--config <path>] [--field ROLE=KEY]... [--json]';

const common = {
  row: { type: 'string' },
  reviewer: { type: 'string' },
  config: { type: 'string' },
  field: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;

const correctOptions = {
  ...common,
  text: { type: 'string' },
  adopt: { type: 'string' },
  reason: { type: 'string' },
  'embedding-model': { type: 'string' },
  'embedding-dtype': { type: 'string' },
  'embedding-url': { type: 'string' },
  'embedding-remote-model': { type: 'string' },
  'cache-dir': { type: 'string' },
} as const;

const labelOptions = {
  ...common,
  label: { type: 'string' },
  model: { type: 'string' },
  note: { type: 'string' },
  adjudicate: { type: 'boolean' },
} as const;

export const correctCommand: CliCommand = {
  name: 'correct',
  usage: correctUsage,
  summary: 'Replace a row\'s reference (typed text or a model\'s output), with a reason; the row is re-scored against it at once, with no model call.',
  run: runCorrect,
};

export const labelCommand: CliCommand = {
  name: 'label',
  usage: labelUsage,
  summary: 'Label a row\'s reference or a model\'s output as a named reviewer (or, with --adjudicate, settle what the reviewers disagree on).',
  run: runLabel,
};

/** The `--json` document of `correct` (public contract, docs/cli.md). */
export interface CorrectDocument {
  schema: 'pisar-review/correct@1';
  file: string;
  rowId: string;
  correction: { id: string; reviewer: string | undefined; source: string; reason: string };
  /** The row's new scores per model: against the corrected reference, and against the file's. */
  rescored: { model: string; score: number | undefined; originalScore: number | undefined }[];
}

/** The `--json` document of `label`. */
export interface LabelDocument {
  schema: 'pisar-review/label@1';
  file: string;
  rowId: string;
  op: 'set' | 'adjudicate';
  id: string;
  reviewer: string | undefined;
  label: string;
  target: AnnotationTarget;
}

async function openRow(file: string, rowId: string | undefined, io: CliIo, mapping: ReturnType<typeof parseFieldFlags>, usage: string): Promise<{ dataset: Dataset; row: DatasetRow }> {
  if (!rowId) throw new UsageError('--row: name the row\'s id', usage);
  const dataset = await Dataset.open(path.resolve(io.cwd, file), { mapping });
  const index = dataset.indexOfId(rowId);
  if (index === undefined) {
    await dataset.close();
    throw new UsageError(`${dataset.file}: no row with id "${terminalSafe(rowId)}"; \`pisar-review report --rows\` lists the ids`, usage);
  }
  return { dataset, row: await dataset.getRow(index) };
}

async function settingsFor(config: string | undefined, io: CliIo) {
  return settingsOf(config ? await loadCliConfig(path.resolve(io.cwd, config), (line) => io.stderr.write(`${line}\n`)) : undefined);
}

async function runCorrect(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, correctOptions, correctUsage);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the dataset file' : `expected one dataset file, got ${positionals.length}`, correctUsage);
  if ((values.text === undefined) === (values.adopt === undefined)) throw new UsageError('give the new reference with --text, or adopt a model\'s output with --adopt <model> (one of them)', correctUsage);
  if (values.reason === undefined || values.reason.trim() === '') throw new UsageError('--reason: say why the reference is corrected (it is kept with the correction)', correctUsage);
  if (values.text !== undefined && values.text.trim() === '') throw new UsageError('--text: the corrected reference cannot be empty', correctUsage);
  const settings = await settingsFor(values.config, io);
  const mapping = { ...settings.fieldMapping, ...parseFieldFlags(values.field, correctUsage) };
  const { dataset, row } = await openRow(positionals[0], values.row, io, mapping, correctUsage);
  try {
    const results = await ResultsStore.open(dataset.file);
    let reference = values.text;
    if (values.adopt !== undefined) {
      const adopted = results.latest(row.id, values.adopt);
      const output = adopted && adopted.rowHash === row.hash && !adopted.error ? adopted.output : row.outputs[values.adopt];
      if (output === undefined || output.trim() === '') {
        throw new UsageError(`--adopt ${terminalSafe(values.adopt)}: row "${terminalSafe(row.id)}" has no current output of that model; it has: ${results.forRow(row.id).map((r) => r.model).join(', ') || '(none)'}`, correctUsage);
      }
      reference = output;
    }
    const reviewer = defaultReviewer({ explicit: values.reviewer, env: io.env, cwd: path.dirname(dataset.file) });
    const annotations = await AnnotationStore.forDataset(dataset.file);
    const correction = await annotations.correct({
      rowId: row.id, rowHash: row.hash, reference: reference!, reason: values.reason,
      source: values.adopt !== undefined ? { kind: 'output', model: values.adopt } : { kind: 'text' }, reviewer,
    });
    // Re-score this row only, against the stored outputs: no model is called.
    const embedding = embeddingChoice(values, settings.embedding, io.env, io.cwd);
    const cacheDir = values['cache-dir'] ? path.resolve(io.cwd, values['cache-dir']) : defaultCacheDir(io.env);
    const { createScorer } = await import('../../core/scoring/scorer');
    const scorer = createScorer({ provider: embedding.provider, model: embedding.model, dtype: embedding.dtype, remote: embedding.remote, cacheDir });
    let rescored;
    try {
      rescored = await rescoreForCorrection(row, correction, results.forRow(row.id), scorer, new Date(), settings.multiReference);
      await results.append(rescored);
    } catch (err) {
      io.stderr.write(`pisar-review correct: the correction was recorded, but re-scoring failed (${(err as Error).message}); \`pisar-review score\` re-scores the row without a model call.\n`);
      return ExitCode.usageOrInput;
    } finally {
      await scorer.dispose().catch(() => undefined);
    }
    const lines = rescored.map((r) => ({ model: r.model, score: r.score, originalScore: r.originalScore }));
    if (values.json) {
      const doc: CorrectDocument = {
        schema: 'pisar-review/correct@1', file: dataset.file, rowId: row.id,
        correction: { id: correction.id, reviewer: correction.reviewer, source: correction.source.kind === 'output' ? `output:${correction.source.model}` : 'text', reason: correction.reason },
        rescored: lines,
      };
      writeJson(io, doc);
    } else {
      io.stdout.write(`Corrected the reference of ${terminalSafe(row.id)} (line ${row.line}) as ${terminalSafe(reviewer)}; ${lines.length} output(s) re-scored:\n`);
      for (const l of lines) io.stdout.write(`  ${terminalSafe(l.model)}: ${l.score?.toFixed(3) ?? 'n/a'} (against the file's reference: ${l.originalScore?.toFixed(3) ?? 'n/a'})\n`);
    }
    return ExitCode.ok;
  } finally {
    await dataset.close();
  }
}

async function runLabel(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, labelOptions, labelUsage);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the dataset file' : `expected one dataset file, got ${positionals.length}`, labelUsage);
  const label = values.label?.trim();
  if (!label) throw new UsageError('--label: name the label (e.g. wrong, fine)', labelUsage);
  const settings = await settingsFor(values.config, io);
  const mapping = { ...settings.fieldMapping, ...parseFieldFlags(values.field, labelUsage) };
  const { dataset, row } = await openRow(positionals[0], values.row, io, mapping, labelUsage);
  try {
    const target: AnnotationTarget = values.model !== undefined ? { kind: 'output', model: values.model } : { kind: 'reference' };
    const reviewer = defaultReviewer({ explicit: values.reviewer, env: io.env, cwd: path.dirname(dataset.file) });
    const annotations = await AnnotationStore.forDataset(dataset.file);
    let id: string;
    if (values.adjudicate) {
      id = (await annotations.adjudicate({ rowId: row.id, rowHash: row.hash, target, label, note: values.note, reviewer })).id;
    } else {
      // A reviewer has one label per target: a second `label` edits it.
      const mine = annotations.forRowId(row.id).find((a) => a.reviewer === reviewer && a.target.kind === target.kind && a.target.model === target.model);
      id = mine
        ? (await annotations.edit(mine.id, { label, ...(values.note !== undefined ? { note: values.note } : {}), rowHash: row.hash }, new Date(), reviewer)).id
        : (await annotations.add({ rowId: row.id, rowHash: row.hash, target, label, note: values.note, reviewer })).id;
    }
    if (values.json) {
      const doc: LabelDocument = { schema: 'pisar-review/label@1', file: dataset.file, rowId: row.id, op: values.adjudicate ? 'adjudicate' : 'set', id, reviewer, label, target };
      writeJson(io, doc);
    } else {
      io.stdout.write(`${values.adjudicate ? 'Adjudicated' : 'Labelled'} ${terminalSafe(row.id)} (${target.kind === 'output' ? `output of ${terminalSafe(target.model ?? '')}` : 'reference'}): ${terminalSafe(label)}, as ${terminalSafe(reviewer)}\n`);
    }
    return ExitCode.ok;
  } finally {
    await dataset.close();
  }
}
