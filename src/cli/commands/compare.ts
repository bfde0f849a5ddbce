import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Dataset } from '../../core/dataset/datasetReader';
import { compareScores, DEFAULT_EPSILON, type RunComparison, type RunScores } from '../../core/report/compare';
import { embeddingSentence, renderComparisonCsv, renderComparisonMarkdown, scoringCsv } from '../../core/report/render';
import { embeddingText, fromFileFinding } from '../../core/report/origin';
import { isScoredHere, type EmbeddingOrigin } from '../../core/store/provenance';
import { markdownCell } from '../../core/security/escape';
import { DEFAULT_SEED } from '../../core/report/stats';
import { ResultsStore, type StoredResult } from '../../core/store/results';
import type { SidecarProblem } from '../../core/store/sidecar';
import { sidecarOwner } from '../../core/store/sidecarNames';
import type { OpenDatasetOptions } from '../../core/dataset/types';
import { loadCliConfig, settingsOf } from '../config';
import { type CliCommand, type CliIo, DATASET_FLAGS, datasetOptionsOf, ExitCode, limitHeapGrowth, parseCommandArgs, UsageError, writeJson } from '../args';
import { parseCount } from './report';

const usage =
  'pisar-review compare <A> [<B>] [--models a,b | --model m] [--epsilon 0.02] [--seed N] [--format md|csv|json | --json] ' +
  '[--config <path>] [--field ROLE=KEY]... [--max-inflated-bytes N]';

/** One side of a comparison. */
export interface CompareSide {
  /** The file named on the command line (a dataset or a results file). */
  file: string;
  resultsFile: string;
  model: string;
  /** The run tags (`score --tag`) on this side's results, in order of first appearance. */
  tags: string[];
  /** Rows whose latest result was read from the file (not scored on this machine): left out of the comparison. */
  fromFile: number;
  /** The embedding models (id, dtype, weights hash) behind this side's scores. */
  embedding: EmbeddingOrigin[];
}

/** The `--format json` document of `compare` (public contract, docs/cli.md: "compare"). */
export interface CompareDocument extends RunComparison {
  schema: 'pisar-review/compare@1';
  a: CompareSide;
  b: CompareSide;
  problems: SidecarProblem[];
  /** The embedding models behind the scores compared (id, dtype, weights hash). */
  embedding: EmbeddingOrigin[];
  /** The pass line in force (settings or --config), named beside the embedding model. */
  threshold: number;
}

const options = {
  model: { type: 'string' },
  models: { type: 'string' },
  epsilon: { type: 'string' },
  seed: { type: 'string' },
  format: { type: 'string' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  ...DATASET_FLAGS,
} as const;

export const compareCommand: CliCommand = {
  name: 'compare',
  usage,
  summary: 'Compare two runs row by row (two results files, or two models of one): improved, regressed, unchanged, and a paired test.',
  run: runCompare,
};

interface Source {
  file: string;
  store: ResultsStore;
  /** The dataset when the file is one (stale results are left out); undefined for a results file. */
  rows: { indexOfId(id: string): number | undefined; hasRowHash(index: number, hash: string): boolean } | undefined;
  /** The dataset's rows (0 for a results file). */
  rowCount: number;
}

async function openSource(cwd: string, name: string, datasetOptions: OpenDatasetOptions): Promise<Source> {
  const file = path.resolve(cwd, name);
  if (!existsSync(file)) throw new UsageError(`${file}: no such file; name a dataset (.jsonl) or its results file (.pisar-results.jsonl)`, usage);
  const owner = sidecarOwner(file);
  if (owner?.kind === 'results') {
    // The store finds the sidecar from the dataset's name; the dataset itself need not exist.
    const store = await ResultsStore.open(owner.dataset, { repair: false, readTexts: false });
    return { file, store, rows: undefined, rowCount: 0 };
  }
  // The sidecar is read while the dataset is indexed (the index's parts go to the other cores meanwhile). Compare reads
  // scores, corrections and whether outputs differ: the results are held without their texts.
  const store = ResultsStore.open(file, { repair: false, readTexts: false });
  store.catch(() => undefined);
  const dataset = await Dataset.open(file, datasetOptions);
  await dataset.close();
  return { file, store: await store, rows: dataset, rowCount: dataset.rowCount };
}

/**
 * One model's current results scored on this machine, in the store's order; for a dataset, the row index of each (the
 * key byRow needs: no second lookup by id); how many rows had a latest result read from the file instead.
 */
interface SideResults {
  list: StoredResult[];
  /** Each result's dataset row index (a dataset's side only). */
  rows: Int32Array | undefined;
  fromFile: number;
}

/** resultsOf for each model, in one pass over the store's latest results (two models of one file are read once). */
function resultsOf(source: Source, models: readonly string[]): SideResults[] {
  const lists = models.map(() => [] as StoredResult[]);
  const indices = models.map(() => [] as number[]);
  const fromFile = models.map(() => 0);
  const { store, rows } = source;
  for (const latest of store.latestResults()) {
    const m = models.indexOf(latest.model);
    if (m < 0) continue;
    let r: StoredResult | undefined = latest;
    if (!isScoredHere(latest)) {
      fromFile[m]++;
      r = store.latestScoredHere(latest.rowId, latest.model);
    }
    if (!r || typeof r.score !== 'number' || r.error) continue;
    if (rows) {
      // Current: the dataset has the row and its content is what was scored (stale results are left out).
      const index = rows.indexOfId(r.rowId);
      if (index === undefined || !rows.hasRowHash(index, r.rowHash)) continue;
      indices[m].push(index);
    }
    lists[m].push(r);
  }
  // A model named twice (--models m,m) has the results of its first place.
  return models.map((model) => {
    const m = models.indexOf(model);
    return { list: lists[m], rows: rows ? Int32Array.from(indices[m]) : undefined, fromFile: fromFile[m] };
  });
}

/**
 * Each side's score and result by row key: A's dataset row index where A is a dataset and has the row id, else a key
 * given each other row id (a results file, or B's rows A's dataset lacks). Scores in Float64Arrays (NaN: none), the
 * results (which the lineage reads) in arrays by key: no map by row id a row.
 */
function byRow(a: Source, sideA: SideResults, sideB: SideResults, sameDataset: boolean): RunScores {
  const listA = sideA.list;
  const listB = sideB.list;
  const indexed = a.rows ? a.rowCount : 0;
  const others = new Map<string, number>();
  const keyOf = (id: string): number => {
    const index = a.rows?.indexOfId(id);
    if (index !== undefined) return index;
    let key = others.get(id);
    if (key === undefined) others.set(id, (key = indexed + others.size));
    return key;
  };
  // A dataset's results carry their row index already (B's too when both sides are the one dataset).
  const keysA = sideA.rows ?? Int32Array.from(listA, (r) => keyOf(r.rowId));
  const keysB = sameDataset && sideB.rows ? sideB.rows : Int32Array.from(listB, (r) => keyOf(r.rowId));
  const size = indexed + others.size;
  others.clear();
  const scoresA = new Float64Array(size).fill(NaN);
  const scoresB = new Float64Array(size).fill(NaN);
  const resultsA = new Array<StoredResult | undefined>(size);
  const resultsB = new Array<StoredResult | undefined>(size);
  const order: number[] = [];
  for (let i = 0; i < listA.length; i++) {
    const key = keysA[i];
    if (resultsA[key] === undefined) order.push(key);
    scoresA[key] = listA[i].score!;
    resultsA[key] = listA[i];
  }
  for (let i = 0; i < listB.length; i++) {
    scoresB[keysB[i]] = listB[i].score!;
    resultsB[keysB[i]] = listB[i];
  }
  return {
    a: scoresA,
    b: scoresB,
    orderA: Int32Array.from(order),
    idOf: (key) => resultsA[key]!.rowId,
    lineage: [(key) => resultsA[key], (key) => resultsB[key]],
  };
}

/** The distinct embedding models of lists of scored results, in order of first appearance. */
function embeddingsOf(...lists: (readonly StoredResult[])[]): EmbeddingOrigin[] {
  const found = new Map<string, EmbeddingOrigin>();
  for (const list of lists) {
    for (const r of list) {
      if (!r.embedding) continue;
      const text = embeddingText(r.embedding);
      if (!found.has(text)) found.set(text, r.embedding);
    }
  }
  return [...found.values()];
}

function tagsOf(results: readonly StoredResult[]): string[] {
  const tags = new Set<string>();
  for (const r of results) if (r.tag !== undefined) tags.add(r.tag);
  return [...tags];
}

function pickModels(a: Source, b: Source, same: boolean, model: string | undefined, models: string | undefined): [string, string] {
  const inA = a.store.models();
  const inB = b.store.models();
  const check = (name: string, known: string[], file: string) => {
    if (!known.includes(name)) throw new UsageError(`${file}: no results for model "${name}"; it has: ${known.length ? known.join(', ') : '(none: run pisar-review score first)'}`, usage);
    return name;
  };
  if (models !== undefined) {
    const names = models.split(',').map((n) => n.trim()).filter(Boolean);
    if (names.length !== 2) throw new UsageError(`--models ${models}: name two models, A's then B's (e.g. --models gpt-4o,ft-qwen)`, usage);
    return [check(names[0], inA, a.file), check(names[1], inB, b.file)];
  }
  if (same) throw new UsageError('one file: name the two models to compare with --models a,b', usage);
  if (model !== undefined) return [check(model, inA, a.file), check(model, inB, b.file)];
  const common = inA.filter((m) => inB.includes(m));
  if (common.length === 1) return [common[0], common[0]];
  if (inA.length === 1 && inB.length === 1) return [inA[0], inB[0]];
  throw new UsageError(
    `name the model to compare with --model m (or --models a,b): ${common.length ? `both have ${common.join(', ')}` : `A has ${inA.join(', ') || 'none'}, B has ${inB.join(', ') || 'none'}`}`,
    usage,
  );
}

function parseEpsilon(value: string | undefined): number {
  if (value === undefined) return DEFAULT_EPSILON;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 2) throw new UsageError(`--epsilon ${value}: expected a number from 0 to 2, e.g. ${DEFAULT_EPSILON}`, usage);
  return n;
}

async function runCompare(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options, usage);
  limitHeapGrowth();
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError(positionals.length === 0 ? 'name one or two files to compare' : `expected one or two files, got ${positionals.length}`, usage);
  if (values.model !== undefined && values.models !== undefined) throw new UsageError('give --model or --models, not both', usage);
  if (values.json && values.format !== undefined && values.format !== 'json') throw new UsageError(`--json and --format ${values.format} disagree: give one`, usage);
  const format = values.json ? 'json' : values.format ?? 'md';
  if (!['md', 'csv', 'json'].includes(format)) throw new UsageError(`--format ${values.format}: expected one of md, csv, json`, usage);
  const epsilon = parseEpsilon(values.epsilon);
  const seed = parseCount('seed', values.seed, DEFAULT_SEED, usage);

  const settings = settingsOf(values.config ? await loadCliConfig(path.resolve(io.cwd, values.config), (line) => io.stderr.write(`${line}\n`)) : undefined);
  const threshold = settings.threshold;
  const datasetOptions = datasetOptionsOf(values, settings, usage);
  const a = await openSource(io.cwd, positionals[0], datasetOptions);
  const b = positionals.length === 2 ? await openSource(io.cwd, positionals[1], datasetOptions) : a;
  const [modelA, modelB] = pickModels(a, b, positionals.length === 1, values.model, values.models);
  const nameA = a === b || modelA !== modelB ? modelA : 'A';
  const nameB = a === b || modelA !== modelB ? modelB : 'B';
  const [sideA, sideB] = b === a ? resultsOf(a, [modelA, modelB]) : [resultsOf(a, [modelA])[0], resultsOf(b, [modelB])[0]];
  const { list: resultsA, fromFile: fromFileA } = sideA;
  const { list: resultsB, fromFile: fromFileB } = sideB;
  const embedding = embeddingsOf(resultsA, resultsB);
  const sides = b === a && modelB === modelA ? [[a, modelA, fromFileA] as const] : [[a, modelA, fromFileA] as const, [b, modelB, fromFileB] as const];
  for (const [s, model, n] of sides) if (n > 0) io.stderr.write(`${fromFileFinding(s.store.file, { [model]: n })}\n`);
  const comparison = compareScores(byRow(a, sideA, sideB, b === a), { epsilon, seed, names: [nameA, nameB] });
  const problems = [...a.store.problems, ...(b === a ? [] : b.store.problems)];
  for (const p of problems) io.stderr.write(`${p.file}:${p.line}: ${p.reason}. ${p.fix}\n`);

  const side = (s: Source, model: string, list: StoredResult[], fromFile: number): CompareSide => ({ file: s.file, resultsFile: s.store.file, model, tags: tagsOf(list), fromFile, embedding: embeddingsOf(list) });
  if (format === 'json') {
    const doc: CompareDocument = { schema: 'pisar-review/compare@1', a: side(a, modelA, resultsA, fromFileA), b: side(b, modelB, resultsB, fromFileB), ...comparison, problems, embedding, threshold };
    writeJson(io, doc);
  } else if (format === 'csv') {
    io.stdout.write(`${renderComparisonCsv(comparison)}\r\n${scoringCsv({ embedding, threshold })}`);
  } else {
    io.stdout.write(`${markdownCell(`${embeddingSentence({ embedding })} Threshold: ${threshold}.`)}\n\n`);
    const label = (s: Source, model: string, list: StoredResult[]) => {
      const tags = tagsOf(list);
      return `${model}${tags.length ? ` (${tags.join(', ')})` : ''} in ${path.basename(s.file)}`;
    };
    io.stdout.write(renderComparisonMarkdown(comparison, label(a, modelA, resultsA), label(b, modelB, resultsB)));
  }
  return ExitCode.ok;
}
