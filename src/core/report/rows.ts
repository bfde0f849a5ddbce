import type { DatasetRow } from '../dataset/types';
import { AnnotationResolver, type Annotation, type RowLookup } from '../store/annotations';
import { currentScore, isBelowThreshold, isStale, resultStatus } from '../rules/rules';
import type { JudgeResult, StoredResult } from '../store/results';
import { isCurrentJudgement, judgeMessages, judgePromptHash, type JudgeIdentity, type JudgeInputs } from '../rules/judgePrompt';
import type { JudgeCell } from './metricRanking';
import { TokenIds, type OutputTokens } from './rougeL';
import { CELL_PRESENT, computeStatistics, lengthRatio, sliceValue, StatisticsTable, type StatisticsRow } from './statistics';
import type { HumanBandView } from '../../shared/statisticsView';
import type { JudgeView } from '../../shared/protocol';
import { getField, referencesOf } from '../dataset/fields';
import { combineReferenceScores, humanAgreement, type MultiReference } from '../rules/multiReference';
import type { ResultLookup } from './summary';
import { dict } from '../security/ownKeys';
import { contradicts } from '../rules/contradiction';

/** One row's current result per model, for `report --rows`. */
export interface RowReport {
  id: string;
  line: number;
  /** A reviewer's corrected reference in force for the row (annotations sidecar). */
  correctedReference?: string;
  results: Record<string, RowCell>;
}

export type RowCell = (
  /** `rougeL`: ROUGE-L F of the output against the reference (absent when the row has no reference). */
  /** A row with several references: `referenceScores` against each, `matchedReference` the 0-based index of the best, `multiReference` how `score` reads them. */
  /** `nli`: the contradiction check against the matched reference (`reference` its index where there are several): P(contradiction) and whether it is at or above the threshold. */
  | { status: 'scored'; score: number; pass: boolean; rougeL?: number; cut?: ('output' | 'reference')[]; referenceScores?: (number | null)[]; matchedReference?: number; multiReference?: 'best' | 'mean'; nli?: RowNli }
  | { status: 'unscored' }
  | { status: 'empty' }
  /** Most word pieces of the output or the reference are unknown to the embedding model: the shares above the limit. */
  | { status: 'unmeasurable'; output?: number; reference?: number; limit: number }
  | { status: 'failed'; kind: string; message: string }
  | { status: 'stale' }
  /** Read from the file, not scored on this machine: shown, never counted (`score` scores it here). */
  | { status: 'from-file'; score?: number }
  | { status: 'missing' }
) & {
  /** The model the server said answered (`response.model`), when it is not the model asked. */
  answeredBy?: string;
  /** The LLM judge's stored verdict on the current output (`stale` when made with another judge or prompt than the one in force). */
  judge?: JudgeView;
};

/** A cell's contradiction check, as report --rows and every export show it. */
export interface RowNli {
  contradiction: number;
  contradicts: boolean;
  reference?: number;
}

/** The contradiction check of a scored result for a report cell; undefined when it was not checked. */
export function rowNliOf(r: StoredResult, contradictionThreshold?: number): RowNli | undefined {
  if (!r.nli) return undefined;
  return { contradiction: r.nli.contradiction, contradicts: contradicts(r, contradictionThreshold), ...(r.nli.reference !== undefined ? { reference: r.nli.reference } : {}) };
}

/** A stored verdict as report --rows and every export show it (the reason as the judge wrote it: each surface escapes it). */
export function rowJudgeOf(j: JudgeResult, stale = false): JudgeView {
  return {
    model: j.model, ...(j.verdict ? { verdict: j.verdict } : {}), ...(j.rating !== undefined ? { rating: j.rating } : {}), ...(j.reason !== undefined ? { reason: j.reason } : {}),
    ...(j.error ? { error: { kind: j.error.kind, message: j.error.message } } : {}), ...(stale ? { stale: true } : {}),
  };
}

/** The dataset as the report reads it: the index, and its rows parsed in order. */
export interface ReportDataset extends RowLookup {
  rowIds(): readonly string[];
  rowLine(index: number): number;
  rows(): AsyncIterable<DatasetRow>;
}

/** An output cut off by the model's token limit: finish reason "length", or a result flagged truncated (a call that was cut off before any text is a "cut-off" failure, counted too). */
export function isTruncated(r: StoredResult): boolean {
  return r.finishReason === 'length' || (r as { truncated?: unknown }).truncated === true;
}

/** Current (not stale) result of a model for a row; undefined when there is none or it is stale. */
function current(results: ResultLookup, row: { id: string; hash: string }, model: string): StoredResult | undefined {
  const r = results.latest(row.id, model);
  return r && !isStale(r, row.hash) ? r : undefined;
}

/**
 * Reads every row once and gathers what the statistics need, as numbers (a million rows' texts do not stay in
 * memory): current scores, ROUGE-L F and length ratio of each output against the reference, and the labels reviewers put on model outputs (annotations of rows that did not change).
 */
export async function collectStatisticsRows(
  dataset: ReportDataset,
  results: ResultLookup,
  annotations: readonly Annotation[],
  models: readonly string[],
  /**
   * sliceField: the field whose values split the rows; referencesOf: the references a row is judged against (a corrected one;
   * default the file's); multiReference: ROUGE-L over several references is their best or mean, as the cosine is;
   * outputTokens: where results read without their output texts hold their outputs' token ids (ResultsStore.open's readTexts).
   */
  options: { readonly sliceField?: string; readonly referencesOf?: (row: DatasetRow) => readonly string[]; readonly multiReference?: MultiReference; readonly judge?: JudgeInForce; readonly outputTokens?: OutputTokens } = {},
): Promise<StatisticsTable> {
  const resolver = new AnnotationResolver(dataset);
  // The latest label per (row, model) on outputs; reference labels judge the reference, not the metric.
  const labels = new Map<number, Map<string, Annotation>>();
  for (const a of annotations) {
    if (a.target.kind !== 'output' || !a.target.model) continue;
    const place = resolver.place(a);
    if (place.state !== 'current') continue;
    let byModel = labels.get(place.index);
    if (!byModel) labels.set(place.index, (byModel = new Map()));
    const prev = byModel.get(a.target.model);
    if (!prev || prev.updatedAt <= a.updatedAt) byModel.set(a.target.model, a);
  }
  const table = new StatisticsTable(models, dataset.rowIds().length, options.sliceField !== undefined);
  const columns = models.map((model) => table.addColumn(model));
  // Results read without their output texts hold their outputs' token ids (OutputTokens.take), read with the same table.
  const held = options.outputTokens;
  const tokenIds = held?.ids ?? new TokenIds();
  for await (const row of dataset.rows()) {
    const references = options.referencesOf ? options.referencesOf(row) : referencesOf(row);
    const index = table.addRow(row.id, row.line, options.sliceField !== undefined ? sliceValue(getField(row.fields, options.sliceField)) : undefined);
    const referenceTokens = references.length > 0 ? references.map((reference) => tokenIds.of(reference)) : undefined;
    for (let m = 0; m < models.length; m++) {
      const model = models[m];
      const r = current(results, row, model);
      if (r?.error?.kind === 'cut-off') table.setCell(index, columns[m], { truncated: true });
      if (!r || r.error || !(held ? held.has(r) : r.output !== undefined)) continue;
      const outputTokens = referenceTokens ? (held ? held.of(r) : tokenIds.of(r.output!)) : undefined;
      // Over several references ROUGE-L reads as the cosine does (best or mean); the length ratio is to the closest one.
      const rouge = outputTokens && referenceTokens ? combineReferenceScores(referenceTokens.map((ref) => tokenIds.rougeL(outputTokens, ref).f), options.multiReference ?? 'best') : undefined;
      table.setCell(index, columns[m], {
        score: currentScore(r, row.hash),
        hasOutput: true,
        truncated: isTruncated(r),
        rougeL: rouge?.score,
        lengthRatio: outputTokens && referenceTokens && rouge ? lengthRatio(outputTokens, referenceTokens[rouge.matched]) : undefined,
        contradiction: r.nli?.contradiction,
        judge: r.judge ? judgeCellOf(r.judge, () => ({ input: row.input, references, output: r.output! }), options.judge) : undefined,
      });
    }
    const rowLabels = labels.get(row.index);
    const human = humanOfRow(row, () => models.map((model) => current(results, row, model)), tokenIds, options.multiReference ?? 'best');
    if (human) table.human.set(index, human);
    if (rowLabels) table.labels.set(index, Object.fromEntries([...rowLabels].map(([m, a]) => [m, a.label])));
  }
  return table;
}

/** The judge whose verdicts count: the configured judge model (name and id) and prompt; without it every stored verdict counts. */
export interface JudgeInForce extends JudgeIdentity {
  readonly template: string;
}

/** A stored verdict as the statistics read it: current (same judge and prompt sent), stale, or failed. */
function judgeCellOf(j: JudgeResult, inputs: () => JudgeInputs, inForce: JudgeInForce | undefined): JudgeCell {
  const tokens = j.usage ? { input: j.usage.promptTokens ?? 0, output: j.usage.completionTokens ?? 0 } : undefined;
  if (j.error) return { model: j.model, state: 'failed', ...(tokens ? { tokens } : {}) };
  if (inForce && !isCurrentJudgement(j, inForce, judgePromptHash(judgeMessages(inForce.template, inputs())))) return { model: j.model, state: 'stale' };
  return { model: j.model, state: 'current', verdict: j.verdict, ...(j.rating !== undefined ? { rating: j.rating } : {}), reason: j.reason ?? '', ...(tokens ? { tokens } : {}) };
}

/** Each row's current result per model (with ROUGE-L F when the statistics rows are given). */
export function rowReports(
  dataset: { rowIds(): readonly string[]; rowHash(index: number): string; rowLine(index: number): number; readonly rowCount: number },
  results: ResultLookup,
  models: readonly string[],
  threshold: number,
  statisticsRows?: StatisticsTable,
  corrections?: ReadonlyMap<string, { readonly reference: string }>,
  /** Every stored result, those read from the file too: where `results` has none, such a result shows as 'from-file'. */
  stored?: ResultLookup,
  /** P(contradiction) at or above which a checked output is flagged (default 0.5). */
  contradictionThreshold?: number,
): RowReport[] {
  const ids = dataset.rowIds();
  const out: RowReport[] = [];
  for (let i = 0; i < dataset.rowCount; i++) {
    const hash = dataset.rowHash(i);
    const cells = dict<RowCell>();
    for (const model of models) {
      const result = results.latest(ids[i], model);
      const cell = cellOf(result, hash, threshold, stored?.latest(ids[i], model), contradictionThreshold);
      if (result?.answeredBy !== undefined && cell.status !== 'stale') cell.answeredBy = result.answeredBy;
      const column = statisticsRows?.column(model);
      const lexical = column && column.flags[i] & CELL_PRESENT ? column.rougeL[i] : Number.NaN;
      if (cell.status === 'scored' && lexical === lexical) cell.rougeL = lexical;
      // The verdict on a current output (the statistics, when read, say whether it is the judge and prompt in force).
      if (result?.judge && result.output !== undefined && !result.error && cell.status !== 'stale' && cell.status !== 'from-file') cell.judge = rowJudgeOf(result.judge, column?.judge.get(i)?.state === 'stale');
      cells[model] = cell;
    }
    const corrected = corrections?.get(ids[i]);
    out.push({ id: ids[i], line: dataset.rowLine(i), ...(corrected ? { correctedReference: corrected.reference } : {}), results: cells });
  }
  return out;
}

function cellOf(r: StoredResult | undefined, hash: string, threshold: number, stored?: StoredResult, contradictionThreshold?: number): RowCell {
  if (!r && stored) return { status: 'from-file', ...(typeof stored.score === 'number' ? { score: stored.score } : {}) };
  if (!r) return { status: 'missing' };
  if (isStale(r, hash)) return { status: 'stale' };
  if (r.error) return { status: 'failed', kind: r.error.kind, message: r.error.message };
  if (resultStatus(r) === 'empty') return { status: 'empty' };
  if (resultStatus(r) === 'unmeasurable') return { status: 'unmeasurable', ...r.unmeasurable! };
  if (resultStatus(r) === 'scored') {
    const several = r.referenceScores && r.correction === undefined ? { referenceScores: r.referenceScores, matchedReference: r.matchedReference!, multiReference: r.multiReference! } : {};
    const nli = rowNliOf(r, contradictionThreshold);
    return { status: 'scored', score: r.score!, pass: !isBelowThreshold(r.score!, threshold), ...(r.scoreCut?.length ? { cut: r.scoreCut } : {}), ...several, ...(nli ? { nli } : {}) };
  }
  return { status: 'unscored' };
}

/**
 * A row's human-against-human scores, when it has several references (the file's, whatever corrections):
 * the cosine the scorer stored with its results (humanScore), and ROUGE-L computed here by the same rule.
 * `currentOfRow` (each model's current result) is looked up only for such a row.
 */
function humanOfRow(row: DatasetRow, currentOfRow: () => readonly (StoredResult | undefined)[], tokenIds: TokenIds, mode: MultiReference): StatisticsRow['human'] {
  const references = referencesOf(row);
  if (references.length < 2) return undefined;
  const ids = references.map((reference) => tokenIds.of(reference));
  const rougeL = humanAgreement(references.length, (i, j) => tokenIds.rougeL(ids[i], ids[j]).f, mode);
  const score = currentOfRow().find((r) => r?.humanScore !== undefined && r.multiReference === mode)?.humanScore;
  return { ...(score !== undefined ? { score } : {}), ...(rougeL !== undefined ? { rougeL } : {}) };
}

/**
 * The human band alone (for `score`'s table): undefined, without reading a row, when no current
 * result holds a human score and no output column is marked human; else the statistics' band.
 */
export async function humanBandOf(
  dataset: ReportDataset & { rowHash(index: number): string },
  results: ResultLookup,
  models: readonly string[],
  options: { readonly threshold: number; readonly humanModels: readonly string[]; readonly multiReference?: MultiReference },
  /** Where `results` are held without their output texts: the lookup that has them (read only when there is a band). */
  withTexts?: () => Promise<ResultLookup>,
): Promise<HumanBandView | undefined> {
  const ids = dataset.rowIds();
  const someHuman = options.humanModels.some((m) => models.includes(m)) || ids.some((id, i) => models.some((m) => {
    const r = results.latest(id, m);
    return r?.humanScore !== undefined && !isStale(r, dataset.rowHash(i));
  }));
  if (!someHuman) return undefined;
  const rows = await collectStatisticsRows(dataset, withTexts ? await withTexts() : results, [], models, options.multiReference ? { multiReference: options.multiReference } : {});
  return computeStatistics(rows, models, { threshold: options.threshold, maxPairModels: 0, humanModels: options.humanModels }).humanBand;
}
