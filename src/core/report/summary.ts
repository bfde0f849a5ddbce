import { DEFAULT_THRESHOLD, isEmptyOutput, isBelowThreshold, isStale, isSuspectReference, suspectRuleModels, resultStatus } from '../rules/rules';
import { scoreHistogram, type HistogramBin } from './histogram';
import type { StoredResult } from '../store/results';
import { tokenCost, type ModelPrice } from '../rules/cost';
import { contradicts } from '../rules/contradiction';
import { DEFAULT_CONTRADICTION_THRESHOLD } from '../rules/contradiction';

/** A dataset row as the summary needs it: no parsing, only its id and current hash. */
export interface SummaryRow {
  readonly id: string;
  readonly hash: string;
}

/**
 * A dataset's rows as the summary reads them, by position: no object a row (a million rows were a million {id, hash}
 * pairs, each hash a hex string made from the index's bytes).
 */
export interface SummaryRows {
  readonly length: number;
  id(index: number): string;
  /** `r` was made from the row as it is now (its row hash is the row's): not stale. */
  isCurrent(index: number, r: Pick<StoredResult, 'rowHash'>): boolean;
}

/** Where the summary reads results from (a ResultsStore fits). */
export interface ResultLookup {
  latest(rowId: string, model: string): StoredResult | undefined;
  models(): string[];
}

export interface ModelSummary {
  model: string;
  /** Rows with a current (not stale) result for this model: scored, unscored or failed. */
  rows: number;
  /** Rows with a current score. */
  scored: number;
  mean: number | null;
  median: number | null;
  /** Share of scored rows with score >= threshold (0..1). */
  shareAtOrAbove: number | null;
  /** Rows whose current result is a failure. */
  failed: number;
  /** Rows whose current output is empty or blank: no similarity, kept out of the numbers. */
  empty: number;
  /** Rows not measurable by the embedding model (most word pieces of the output or reference unknown to it): kept out of the numbers. */
  unmeasurable: number;
  /** Scored rows whose output or reference is longer than the embedding model reads (scored on its start only). */
  cut: number;
  /** Rows whose latest result was made before the row was edited (left out of the numbers). */
  stale: number;
  /** Rows with no result at all for this model. */
  missing: number;
  /** Scores per bin of 0.1, each with the range it really holds (the first reaches down to a negative score). */
  histogram: HistogramBin[];
  /** Tokens the current results took (their stored usage: input = prompt, output = completion), over `withUsage` results. */
  tokens: TokenTotals;
  /** What `tokens` cost at the model's configured price per million tokens; null without a price. */
  cost: number | null;
  /**
   * Models the server said answered (`response.model`) instead of the one asked, with how many current
   * results each answered, most first; absent when every answer came from the model asked.
   */
  answeredBy?: AnsweredBy[];
  /** Rows whose latest result was read from the file, not scored on this machine (left out of the numbers; report/origin.ts). */
  fromFile?: number;
  /** Scored rows the contradiction check read (`checked`) and those it flagged (P(contradiction) >= the threshold); absent when none was checked. */
  contradiction?: { checked: number; contradicts: number };
}

/** A model that answered in place of the one asked, and how many rows it answered. */
export interface AnsweredBy {
  model: string;
  rows: number;
}

export interface TokenTotals {
  input: number;
  output: number;
  /** Results that reported their token usage (a server may not). */
  withUsage: number;
}

export interface DatasetSummary {
  threshold: number;
  /** Rows in the dataset (or in the selection summarised). */
  totalRows: number;
  models: ModelSummary[];
  /**
   * Each pair of models that both have a mean, a before b in model order: `difference` is b's mean minus a's, the sign
   * every paired test and comparison uses; `meanGap` (a's minus b's) is kept for readers of earlier documents.
   */
  gaps: { a: string; b: string; meanGap: number; difference: number }[];
  /** Rows whose reference is suspect (isSuspectReference in core/rules/rules), over `suspectRule.models`. */
  suspectReferences: number;
  /** The models the suspect-reference rule read, and the baselines it left out. */
  suspectRule: { models: string[]; baselines: string[] };
  /** Set when more models have a mean than MAX_GAP_MODELS: gaps list only pairs among the first ones. */
  gapsLimitedTo?: number;
  /** With any contradiction check counted: the P(contradiction) at or above which an output counts as contradicting. */
  contradictionThreshold?: number;
}

/** Models whose pairwise gaps are listed (n models make n(n-1)/2 pairs: 10,000 would exhaust memory). */
export const MAX_GAP_MODELS = 50;

export interface SummaryOptions {
  /** Models to include, in this order (default: every model with stored results). */
  models?: readonly string[];
  /** Models kept out of the suspect-reference rule. */
  baselines?: readonly string[];
  /** Price per million tokens by model name (pricesOf(configured models)): the summary's cost. */
  prices?: ReadonlyMap<string, ModelPrice>;
  /** P(contradiction) at or above which a checked output counts as contradicting (default 0.5). */
  contradictionThreshold?: number;
}

/** model name -> price, for the configured models that have one. */
export function pricesOf(models: readonly { readonly name: string; readonly price?: ModelPrice }[]): Map<string, ModelPrice> {
  return new Map(models.flatMap((m) => (m.price ? [[m.name, m.price] as const] : [])));
}

/** Adds one result's stored usage to `totals`. */
export function addUsage(totals: TokenTotals, usage: StoredResult['usage']): void {
  if (!usage || (usage.promptTokens === undefined && usage.completionTokens === undefined)) return;
  totals.input += usage.promptTokens ?? 0;
  totals.output += usage.completionTokens ?? 0;
  totals.withUsage++;
}

/** Per-model numbers over the current results of `rows`. Stale and failed results never enter the means. */
export function summarize(input: readonly SummaryRow[] | SummaryRows, results: ResultLookup, threshold = DEFAULT_THRESHOLD, options: SummaryOptions = {}): DatasetSummary {
  const rows = Array.isArray(input) ? rowsOfList(input as readonly SummaryRow[]) : (input as SummaryRows);
  const models = options.models ? [...options.models] : results.models();
  const scores = new Map<string, number[]>(models.map((m) => [m, []]));
  const counts = new Map(models.map((m) => [m, { rows: 0, failed: 0, empty: 0, unmeasurable: 0, cut: 0, stale: 0, missing: 0, checked: 0, contradicts: 0, tokens: { input: 0, output: 0, withUsage: 0 } as TokenTotals, answeredBy: new Map<string, number>() }]));
  let suspectReferences = 0;
  const baselines = models.filter((m) => options.baselines?.includes(m));
  const ruleModels = new Set(suspectRuleModels(models, baselines));

  for (let i = 0; i < rows.length; i++) {
    const id = rows.id(i);
    const current: number[] = [];
    for (const model of models) {
      const c = counts.get(model)!;
      const r = results.latest(id, model);
      if (!r) {
        c.missing++;
        continue;
      }
      if (!rows.isCurrent(i, r)) {
        c.stale++;
        continue;
      }
      c.rows++;
      addUsage(c.tokens, r.usage);
      if (r.answeredBy !== undefined) c.answeredBy.set(r.answeredBy, (c.answeredBy.get(r.answeredBy) ?? 0) + 1);
      if (r.error) {
        c.failed++;
        continue;
      }
      if (isEmptyOutput(r.output)) {
        c.empty++;
        continue;
      }
      if (resultStatus(r) === 'unmeasurable') {
        c.unmeasurable++;
        continue;
      }
      // Not stale (checked above): currentScore's other half.
      const score = resultStatus(r) === 'scored' ? r.score : undefined;
      if (score !== undefined) {
        if (r.scoreCut && r.scoreCut.length > 0) c.cut++;
        if (r.nli) {
          c.checked++;
          if (contradicts(r, options.contradictionThreshold)) c.contradicts++;
        }
        scores.get(model)!.push(score);
        if (ruleModels.has(model)) current.push(score);
      }
    }
    if (isSuspectReference(current, threshold)) suspectReferences++;
  }

  const summaries: ModelSummary[] = models.map((model) => {
    const list = scores.get(model)!;
    const c = counts.get(model)!;
    return {
      model,
      rows: c.rows,
      scored: list.length,
      mean: mean(list),
      median: median(list),
      histogram: scoreHistogram(list),
      shareAtOrAbove: list.length === 0 ? null : countAtOrAbove(list, threshold) / list.length,
      failed: c.failed,
      empty: c.empty,
      unmeasurable: c.unmeasurable,
      cut: c.cut,
      stale: c.stale,
      missing: c.missing,
      tokens: c.tokens,
      cost: tokenCost(c.tokens, options.prices?.get(model)) ?? null,
      ...(c.checked > 0 ? { contradiction: { checked: c.checked, contradicts: c.contradicts } } : {}),
      ...(c.answeredBy.size > 0 ? { answeredBy: [...c.answeredBy].map(([by, n]) => ({ model: by, rows: n })).sort((a, b) => b.rows - a.rows) } : {}),
    };
  });

  const gaps: DatasetSummary['gaps'] = [];
  const withMean = summaries.filter((m) => m.mean !== null);
  const paired = withMean.slice(0, MAX_GAP_MODELS);
  for (let i = 0; i < paired.length; i++) {
    for (let j = i + 1; j < paired.length; j++) {
      const a = paired[i];
      const b = paired[j];
      gaps.push({ a: a.model, b: b.model, meanGap: a.mean! - b.mean!, difference: b.mean! - a.mean! });
    }
  }
  const limited = withMean.length > MAX_GAP_MODELS ? { gapsLimitedTo: MAX_GAP_MODELS } : {};
  const contradiction = summaries.some((m) => m.contradiction) ? { contradictionThreshold: options.contradictionThreshold ?? DEFAULT_CONTRADICTION_THRESHOLD } : {};
  return { threshold, totalRows: rows.length, models: summaries, gaps, suspectReferences, suspectRule: { models: [...ruleModels], baselines }, ...limited, ...contradiction };
}

/** The rows of a dataset for `summarize`, read from its index (no row is parsed, no object or hash string made a row). */
export function summaryRowsOf(dataset: { rowIds(): readonly string[]; rowHash(index: number): string; hasRowHash?(index: number, hash: string): boolean; readonly rowCount: number }): SummaryRows {
  const ids = dataset.rowIds();
  return {
    length: dataset.rowCount,
    id: (index) => ids[index],
    isCurrent: dataset.hasRowHash ? (index, r) => dataset.hasRowHash!(index, r.rowHash) : (index, r) => !isStale(r, dataset.rowHash(index)),
  };
}

/** Rows given as objects (tests, the panel's selections) as summarize reads them. */
function rowsOfList(list: readonly SummaryRow[]): SummaryRows {
  return { length: list.length, id: (index) => list[index].id, isCurrent: (index, r) => !isStale(r, list[index].hash) };
}

/** How many scores are at or above the threshold (no filtered copy of a million scores). */
function countAtOrAbove(scores: readonly number[], threshold: number): number {
  let n = 0;
  for (const s of scores) if (!isBelowThreshold(s, threshold)) n++;
  return n;
}

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  // A typed array's numeric sort, not a comparator's: a million scores sorted in a tenth of the time, the same median.
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
