import { calibrate, DEFAULT_LABEL_MAPPING, labelClass, type CalibrationOptions, type LabelMapping, type LabelledScore } from './calibration';
import type { EstimateView, HumanBandView, HumanVerdictView, ModelStatisticsView, PairStatisticsView, SliceModelView, SlicesView, SliceView, StatisticsView } from '../../shared/statisticsView';
import { rougeL, tokens } from './rougeL';
import { countJudge, rankMetrics, type JudgeCell, type JudgeTotals, type LabelledOutput } from './metricRanking';
import type { ModelPrice } from '../rules/cost';
import { ownValue } from '../security/ownKeys';
import {
  bootstrapSummary,
  CONFIDENCE_LEVEL,
  DEFAULT_PERMUTATIONS,
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  pairedTest,
  pairedVerdict,
  pearson,
  ranks,
  wilsonInterval,
} from './stats';

/**
 * The statistics section of a report: how sure each model's numbers are, whether the gaps between
 * models are real, how the threshold fares against reviewers' labels, a second metric (ROUGE-L F),
 * and two bias checks. Built from plain rows, so the CLI and the panel compute the same document.
 */

/** One model's current result for a row (stale results are left out by the caller). */
export interface StatisticsCell {
  /** Cosine score; absent when the call failed or the output is not scored. */
  readonly score?: number;
  readonly output?: string;
  /** The output was cut off (finish reason "length", or the result's truncation flag). */
  readonly truncated?: boolean;
  /** ROUGE-L F of the output against the reference, when the caller computed it already. */
  readonly rougeL?: number;
  /** Output tokens / reference tokens (ROUGE-L's tokens), when the caller computed it already. */
  readonly lengthRatio?: number;
  /** The model gave an output (set by callers that keep numbers, not the text). */
  readonly hasOutput?: boolean;
  /** The LLM judge's reading of the output, when it was judged. */
  readonly judge?: JudgeCell;
  /** P(contradiction) of the output against its reference, when the contradiction check ran. */
  readonly contradiction?: number;
}

export interface StatisticsRow {
  readonly id: string;
  /** 1-based line of the row in the dataset (names the rows where the judge and the labels disagree). */
  readonly line?: number;
  /** The row's value of the slice field, as text (see sliceValue). */
  readonly slice?: string;
  readonly reference?: string;
  readonly cells: Readonly<Record<string, StatisticsCell>>;
  /** Reviewers' labels on model outputs of this row: model -> label (current annotations only). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Human against human on this row: its several references each scored against the others (see humanBand). */
  readonly human?: { readonly score?: number; readonly rougeL?: number };
}

/** A row's cell for a model in a StatisticsTable column's flags. */
export const CELL_PRESENT = 1;
/** The model gave an output on that row. */
export const CELL_OUTPUT = 2;
/** The output was cut off. */
export const CELL_TRUNCATED = 4;

/** One model's cells of a StatisticsTable: a number per row (NaN where absent) and the row's flags. */
export interface StatisticsColumn {
  readonly score: Float64Array;
  readonly rougeL: Float64Array;
  readonly lengthRatio: Float64Array;
  readonly contradiction: Float64Array;
  /** CELL_PRESENT, CELL_OUTPUT, CELL_TRUNCATED. */
  readonly flags: Uint8Array;
  /** The judge's reading by row index (sparse: most outputs are not judged). */
  readonly judge: Map<number, JudgeCell>;
}

/**
 * What the statistics read of each row, as columns: per model typed arrays of numbers, the labels, human scores and
 * judge readings by row index where there are some. A million rows cost a few numbers each, not an object a row and a cell.
 */
export class StatisticsTable {
  /** Rows added. */
  length = 0;
  readonly ids: string[] = [];
  /** 1-based line of each row (0 when not known). */
  private lineColumn: Float64Array;
  /** Each row's value of the slice field (see sliceValue), when the table was made with one. */
  readonly slices: string[] | undefined;
  /** Reviewers' labels on model outputs by row index (model -> label), in row order. */
  readonly labels = new Map<number, Readonly<Record<string, string>>>();
  /** Human against human by row index (see StatisticsRow.human). */
  readonly human = new Map<number, { readonly score?: number; readonly rougeL?: number }>();
  private readonly columnsByModel = new Map<string, StatisticsColumn>();
  private capacity: number;
  /** Slice values seen, so a million rows share a few strings. */
  private readonly sliceStrings = new Map<string, string>();

  constructor(models: readonly string[], capacity = 16, withSlices = false) {
    this.capacity = Math.max(1, capacity);
    this.lineColumn = new Float64Array(this.capacity);
    this.slices = withSlices ? [] : undefined;
    for (const model of models) this.addColumn(model);
  }

  /** The column of a model; undefined for a model the table has no cell of. */
  column(model: string): StatisticsColumn | undefined {
    return this.columnsByModel.get(model);
  }

  /** A model's column, made (empty) when it has none yet. */
  addColumn(model: string): StatisticsColumn {
    let column = this.columnsByModel.get(model);
    if (!column) {
      const numbers = () => new Float64Array(this.capacity).fill(Number.NaN);
      column = { score: numbers(), rougeL: numbers(), lengthRatio: numbers(), contradiction: numbers(), flags: new Uint8Array(this.capacity), judge: new Map() };
      this.columnsByModel.set(model, column);
    }
    return column;
  }

  line(index: number): number {
    return this.lineColumn[index];
  }

  /** Adds a row (its cells empty); returns its index. */
  addRow(id: string, line: number | undefined, slice?: string): number {
    if (this.length === this.capacity) this.grow();
    const index = this.length++;
    this.ids.push(id);
    this.lineColumn[index] = line ?? 0;
    if (this.slices) {
      const value = slice ?? '(none)';
      const known = this.sliceStrings.get(value);
      if (known === undefined && this.sliceStrings.size < 10_000) this.sliceStrings.set(value, value);
      this.slices.push(known ?? value);
    }
    return index;
  }

  /** Sets a row's cell of a model (the column is made when the model has none). */
  setCell(index: number, model: string | StatisticsColumn, cell: StatisticsCell): void {
    const column = typeof model === 'string' ? this.addColumn(model) : model;
    if (typeof cell.score === 'number') column.score[index] = cell.score;
    if (cell.rougeL !== undefined) column.rougeL[index] = cell.rougeL;
    if (cell.lengthRatio !== undefined) column.lengthRatio[index] = cell.lengthRatio;
    if (cell.contradiction !== undefined) column.contradiction[index] = cell.contradiction;
    column.flags[index] = CELL_PRESENT | (cell.output !== undefined || cell.hasOutput ? CELL_OUTPUT : 0) | (cell.truncated ? CELL_TRUNCATED : 0);
    if (cell.judge) column.judge.set(index, cell.judge);
    else column.judge.delete(index);
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const longer = <T extends Float64Array | Uint8Array>(a: T, fill: number): T => {
      const next = new (a.constructor as new (n: number) => T)(capacity);
      next.set(a);
      if (fill !== 0) next.fill(fill, a.length);
      return next;
    };
    this.lineColumn = longer(this.lineColumn, 0);
    for (const [model, c] of this.columnsByModel) {
      this.columnsByModel.set(model, {
        score: longer(c.score, Number.NaN), rougeL: longer(c.rougeL, Number.NaN), lengthRatio: longer(c.lengthRatio, Number.NaN),
        contradiction: longer(c.contradiction, Number.NaN), flags: longer(c.flags, 0), judge: c.judge,
      });
    }
    this.capacity = capacity;
  }
}

/**
 * Rows as objects (tests, callers with a few rows) as a table: a cell without ROUGE-L or length ratio but with its
 * output and the row's reference gets them computed here.
 */
export function statisticsTableOf(rows: readonly StatisticsRow[], models: readonly string[]): StatisticsTable {
  const table = new StatisticsTable(models, rows.length, rows.some((r) => r.slice !== undefined));
  for (const row of rows) {
    const index = table.addRow(row.id, row.line, row.slice);
    for (const model of Object.keys(row.cells)) {
      const cell = ownValue(row.cells, model);
      if (!cell) continue;
      const text = cell.output !== undefined && row.reference !== undefined ? { output: cell.output, reference: row.reference } : undefined;
      const lexical = cell.rougeL ?? (text ? rougeL(text.output, text.reference).f : undefined);
      const ratio = lexical === undefined ? undefined : cell.lengthRatio ?? (text ? lengthRatio(tokens(text.output), tokens(text.reference)) : undefined);
      table.setCell(index, model, { ...cell, rougeL: lexical, lengthRatio: ratio });
    }
    if (row.labels) table.labels.set(index, row.labels);
    if (row.human) table.human.set(index, row.human);
  }
  return table;
}

/** A row's number in a column: undefined where absent (NaN). */
function present(value: number): number | undefined {
  return value === value ? value : undefined;
}

export interface StatisticsOptions extends CalibrationOptions {
  readonly threshold: number;
  /** Pairwise tests are computed among the first this many models (in order); 10 gives 45 pairs. */
  readonly maxPairModels?: number;
  /** Intervals and bias checks are computed for the first this many models (bootstraps cost time per model). */
  readonly maxModels?: number;
  readonly labels?: LabelMapping;
  /** The field the rows' `slice` values come from: statistics per value are added. */
  readonly sliceField?: string;
  /** Slices reported, largest first (default 50). */
  readonly maxSlices?: number;
  /** Output columns written by people: they make the human band (with rows' several references) and are not read against it. */
  readonly humanModels?: readonly string[];
  /** P(contradiction) at or above which an output contradicts its reference (the ranking's call for the contradiction flag). */
  readonly contradictionThreshold?: number;
  /** Prices per model name (the judge's cost per 1,000 outputs). */
  readonly prices?: ReadonlyMap<string, ModelPrice>;
}

export const DEFAULT_MAX_PAIR_MODELS = 10;
export const DEFAULT_MAX_MODELS = 50;
/** Above this many scores per model, fewer resamples (2e7 / scores, at least 200) keep a report fast. */
const RESAMPLE_BUDGET = 2e7;

export type ModelStatistics = ModelStatisticsView;
export type PairStatistics = PairStatisticsView;
export type StatisticsReport = StatisticsView;

/** The statistics of `rows` for `models`. Deterministic for a given seed. */
export function computeStatistics(input: StatisticsTable | readonly StatisticsRow[], models: readonly string[], options: StatisticsOptions): StatisticsReport {
  const rows = input instanceof StatisticsTable ? input : statisticsTableOf(input, models);
  const seed = options.seed ?? DEFAULT_SEED;
  const requested = options.resamples ?? DEFAULT_RESAMPLES;
  const threshold = options.threshold;
  const mapping = options.labels ?? DEFAULT_LABEL_MAPPING;
  const resamplesFor = (n: number) => (n * requested > RESAMPLE_BUDGET ? Math.max(200, Math.floor(RESAMPLE_BUDGET / n)) : requested);

  const modelStats = models.slice(0, options.maxModels ?? DEFAULT_MAX_MODELS).map((model) => modelStatistics(rows, model, threshold, seed, resamplesFor));

  const limit = options.maxPairModels ?? DEFAULT_MAX_PAIR_MODELS;
  const pairModels = models.slice(0, limit);
  const list: PairStatistics[] = [];
  for (let i = 0; i < pairModels.length; i++) {
    for (let j = i + 1; j < pairModels.length; j++) list.push(pairStatistics(rows, pairModels[i], pairModels[j], seed, resamplesFor));
  }

  const cosine: LabelledScore[] = [];
  const lexical: LabelledScore[] = [];
  const labelled: LabelledOutput[] = [];
  let unmapped = 0;
  // Only the labelled rows are read: without labels this costs nothing.
  for (const [i, labels] of rows.labels) {
    for (const [model, label] of Object.entries(labels)) {
      const kind = labelClass(label, mapping);
      if (kind === undefined) {
        unmapped++;
        continue;
      }
      const column = rows.column(model);
      if (!column || !(column.flags[i] & CELL_PRESENT)) continue;
      const bad = kind === 'bad';
      const score = present(column.score[i]);
      const rouge = present(column.rougeL[i]);
      const contradiction = present(column.contradiction[i]);
      const judge = column.judge.get(i);
      if (score !== undefined) cosine.push({ score, bad });
      if (rouge !== undefined) lexical.push({ score: rouge, bad });
      labelled.push({
        rowId: rows.ids[i], line: rows.line(i), model, label, bad,
        ...(score !== undefined ? { cosine: score } : {}),
        ...(rouge !== undefined ? { rougeL: rouge } : {}),
        ...(contradiction !== undefined ? { contradiction } : {}),
        ...(judge ? { judge } : {}),
      });
    }
  }
  const ranking = rankMetrics(labelled, judgeTotals(rows, models), { seed, resamples: options.resamples, threshold, contradictionThreshold: options.contradictionThreshold, prices: options.prices });
  const calibrationOptions = { ...options, seed };
  const band = humanBand(rows, modelStats, options.humanModels ?? [], seed, resamplesFor);
  const slices = options.sliceField === undefined ? undefined : sliceStatistics(rows, models.slice(0, options.maxModels ?? DEFAULT_MAX_MODELS), pairModels, options.sliceField, threshold, seed, resamplesFor, options.maxSlices ?? DEFAULT_MAX_SLICES);
  return {
    level: CONFIDENCE_LEVEL,
    seed,
    resamples: requested,
    threshold,
    models: modelStats,
    omittedModels: models.length - modelStats.length,
    pairs: { models: pairModels, limit, omittedModels: models.length - pairModels.length, list },
    calibration: {
      badLabels: mapping.bad,
      goodLabels: mapping.good,
      unmapped,
      metrics: [calibrate('cosine', cosine, threshold, calibrationOptions), calibrate('rougeL', lexical, threshold, calibrationOptions)],
    },
    ...(slices ? { slices } : {}),
    ...(band ? { humanBand: band } : {}),
    ...(ranking ? { ranking } : {}),
  };
}

/** What the judge did over every output of the report (labelled or not); undefined when nothing was judged. */
function judgeTotals(rows: StatisticsTable, models: readonly string[]): JudgeTotals | undefined {
  const totals = { models: new Set<string>(), judged: 0, failed: 0, stale: 0, tokens: new Map<string, { input: number; output: number }>() };
  const judged = models.map((model) => rows.column(model)?.judge).filter((j): j is Map<number, JudgeCell> => j !== undefined && j.size > 0);
  // In row order, then model order, as the verdicts were given: the totals' model and token order follow it.
  if (judged.length > 0) {
    for (let i = 0; i < rows.length; i++) {
      for (const byRow of judged) {
        const judge = byRow.get(i);
        if (judge) countJudge(totals, judge);
      }
    }
  }
  return totals.judged + totals.failed + totals.stale > 0 ? totals : undefined;
}

/**
 * The human band: per row, the mean of its human scores (references against each other, human
 * columns against the references), summarised like a model's mean (bootstrapSummary: same seed,
 * same resamples, same method by size); each other model's mean is "below" when its whole interval
 * lies under the band's, else "at human level". Undefined when no row has a human score.
 */
function humanBand(rows: StatisticsTable, modelStats: readonly ModelStatistics[], humanModels: readonly string[], seed: number, resamplesFor: (n: number) => number): HumanBandView | undefined {
  const cosine: number[] = [];
  const lexical: number[] = [];
  const sources = new Set<'references' | 'models'>();
  const rowMean = (values: number[]): number | undefined => (values.length === 0 ? undefined : values.reduce((s, v) => s + v, 0) / values.length);
  const humanColumns = humanModels.map((model) => rows.column(model)).filter((c): c is StatisticsColumn => c !== undefined);
  if (rows.human.size === 0 && humanColumns.length === 0) return undefined;
  for (let i = 0; i < rows.length; i++) {
    const scores: number[] = [];
    const rouges: number[] = [];
    const human = rows.human.get(i);
    if (typeof human?.score === 'number') scores.push(human.score);
    if (typeof human?.rougeL === 'number') rouges.push(human.rougeL);
    if (human && (human.score !== undefined || human.rougeL !== undefined)) sources.add('references');
    for (const column of humanColumns) {
      if (!(column.flags[i] & CELL_PRESENT)) continue;
      const score = present(column.score[i]);
      const rouge = present(column.rougeL[i]);
      if (score !== undefined) scores.push(score);
      if (rouge !== undefined) rouges.push(rouge);
      if (score !== undefined || rouge !== undefined) sources.add('models');
    }
    const s = rowMean(scores);
    const r = rowMean(rouges);
    if (s !== undefined) cosine.push(s);
    if (r !== undefined) lexical.push(r);
  }
  if (cosine.length === 0 && lexical.length === 0) return undefined;
  const mean = bootstrapSummary(cosine, 0, { seed, resamples: resamplesFor(cosine.length) })?.mean ?? null;
  const rougeMean = bootstrapSummary(lexical, 0, { seed, resamples: resamplesFor(lexical.length) })?.mean ?? null;
  return {
    sources: [...sources],
    humanModels: [...humanModels],
    n: cosine.length,
    mean,
    rougeL: { n: lexical.length, mean: rougeMean },
    models: modelStats.filter((m) => !humanModels.includes(m.model)).map((m) => ({
      model: m.model,
      mean: m.mean,
      verdict: humanVerdict(m.mean, mean),
      rougeL: m.rougeL.mean,
      rougeLVerdict: humanVerdict(m.rougeL.mean, rougeMean),
    })),
  };
}

/** A model's mean against the band: "below" only when its whole interval lies under the band's. */
export function humanVerdict(model: EstimateView | null, band: EstimateView | null): HumanVerdictView {
  if (!model || !band) return 'no score';
  return model.high < band.low ? 'below' : 'at human level';
}

export const DEFAULT_MAX_SLICES = 50;

/** A slice field's value as text: scalars as written, "(none)" when missing or null, "(not a scalar)" for objects and lists. */
export function sliceValue(value: unknown): string {
  if (value === undefined || value === null) return '(none)';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return '(not a scalar)';
}

/** Mean and share >= threshold per model, and the paired tests, within each value of the slice field. */
function sliceStatistics(
  rows: StatisticsTable,
  models: readonly string[],
  pairModels: readonly string[],
  field: string,
  threshold: number,
  seed: number,
  resamplesFor: (n: number) => number,
  limit: number,
): SlicesView {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < rows.length; i++) {
    const value = rows.slices?.[i] ?? '(none)';
    let group = groups.get(value);
    if (!group) groups.set(value, (group = []));
    group.push(i);
  }
  const ordered = [...groups].sort((x, y) => y[1].length - x[1].length || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const shown = ordered.slice(0, limit);
  const slices: SliceView[] = shown.map(([value, group]) => {
    const sliceModels: SliceModelView[] = models.map((model) => {
      const scores: number[] = [];
      const column = rows.column(model);
      for (const i of column ? group : []) {
        const score = present(column!.score[i]);
        if (score !== undefined) scores.push(score);
      }
      const summary = bootstrapSummary(scores, threshold, { seed, resamples: resamplesFor(scores.length) });
      const passes = summary ? Math.round(summary.shareAtLeast.value * summary.n) : 0;
      return { model, n: scores.length, mean: summary?.mean ?? null, shareAtLeast: summary ? { ...summary.shareAtLeast, wilson: wilsonInterval(passes, summary.n)! } : null };
    });
    const pairs: PairStatistics[] = [];
    for (let i = 0; i < pairModels.length; i++) {
      for (let j = i + 1; j < pairModels.length; j++) pairs.push(pairStatistics(rows, pairModels[i], pairModels[j], seed, resamplesFor, group));
    }
    return { value, rows: group.length, models: sliceModels, pairs };
  });
  const omitted = ordered.slice(limit);
  return { field, slices, limit, omittedValues: omitted.length, omittedRows: omitted.reduce((s, [, g]) => s + g.length, 0) };
}

function modelStatistics(rows: StatisticsTable, model: string, threshold: number, seed: number, resamplesFor: (n: number) => number): ModelStatistics {
  const scores: number[] = [];
  const rouge: number[] = [];
  const ratios: number[] = [];
  const ratioScores: number[] = [];
  let outputs = 0;
  let truncated = 0;
  const column = rows.column(model);
  for (let i = 0; column && i < rows.length; i++) {
    const flags = column.flags[i];
    if (!(flags & CELL_PRESENT)) continue;
    const score = column.score[i];
    const scored = score === score;
    if (scored) scores.push(score);
    if (flags & (CELL_OUTPUT | CELL_TRUNCATED)) outputs++;
    if (flags & CELL_TRUNCATED) truncated++;
    const lexical = column.rougeL[i];
    if (lexical !== lexical) continue;
    rouge.push(lexical);
    const ratio = column.lengthRatio[i];
    if (ratio === ratio && scored) {
      ratios.push(ratio);
      ratioScores.push(score);
    }
  }
  const summary = bootstrapSummary(scores, threshold, { seed, resamples: resamplesFor(scores.length) });
  const passes = summary ? Math.round(summary.shareAtLeast.value * summary.n) : 0;
  const rougeSummary = bootstrapSummary(rouge, 0, { seed, resamples: resamplesFor(rouge.length) });
  const sortedRatios = Float64Array.from(ratios).sort();
  const mid = sortedRatios.length >> 1;
  return {
    model,
    n: scores.length,
    mean: summary?.mean ?? null,
    median: summary?.median ?? null,
    shareAtLeast: summary ? { ...summary.shareAtLeast, wilson: wilsonInterval(passes, summary.n)! } : null,
    rougeL: { n: rouge.length, mean: rougeSummary?.mean ?? null },
    lengthRatio: {
      n: ratios.length,
      medianRatio: sortedRatios.length === 0 ? null : sortedRatios.length % 2 ? sortedRatios[mid] : (sortedRatios[mid - 1] + sortedRatios[mid]) / 2,
      pearson: pearson(ratios, ratioScores),
      // spearman(ratios, ratioScores), the ratios' sort done once for the median and the ranks.
      spearman: pearson(ranks(ratios, sortedRatios), ranks(ratioScores)),
    },
    truncated: { outputs, count: truncated, share: outputs === 0 ? null : truncated / outputs, wilson: wilsonInterval(truncated, outputs) },
  };
}

/** Output tokens / reference tokens; undefined when the reference has no token. */
export function lengthRatio(outputTokens: ArrayLike<unknown>, referenceTokens: ArrayLike<unknown>): number | undefined {
  return referenceTokens.length > 0 ? outputTokens.length / referenceTokens.length : undefined;
}

/** Scores of two models on the rows both scored (of `indices` when given), in row order. */
export function pairedScores(rows: StatisticsTable, a: string, b: string, indices?: readonly number[]): { a: number[]; b: number[] } {
  const xs: number[] = [];
  const ys: number[] = [];
  const ca = rows.column(a)?.score;
  const cb = rows.column(b)?.score;
  if (!ca || !cb) return { a: xs, b: ys };
  const n = indices ? indices.length : rows.length;
  for (let k = 0; k < n; k++) {
    const i = indices ? indices[k] : k;
    const x = ca[i];
    const y = cb[i];
    if (x === x && y === y) {
      xs.push(x);
      ys.push(y);
    }
  }
  return { a: xs, b: ys };
}

/** Random sign flips for n differences: 10,000, fewer for long lists (at least 1,000). */
export function permutationsFor(n: number): number {
  return Math.min(DEFAULT_PERMUTATIONS, Math.max(1000, Math.floor(RESAMPLE_BUDGET / Math.max(1, n))));
}

function pairStatistics(rows: StatisticsTable, a: string, b: string, seed: number, resamplesFor: (n: number) => number, indices?: readonly number[]): PairStatistics {
  const paired = pairedScores(rows, a, b, indices);
  const n = paired.a.length;
  const test = pairedTest(paired.a, paired.b, { seed, resamples: resamplesFor(n), permutations: permutationsFor(n) });
  const meanA = n ? paired.a.reduce((s, x) => s + x, 0) / n : null;
  const meanB = n ? paired.b.reduce((s, x) => s + x, 0) / n : null;
  return {
    a,
    b,
    n,
    meanA,
    meanB,
    meanDifference: test.meanDifference,
    p: test.p,
    method: test.method,
    verdict: pairedVerdict(a, b, meanA ?? 0, meanB ?? 0, test.p, n),
  };
}
