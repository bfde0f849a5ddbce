import type { AgreementReport, AgreementStatistic } from './agreement';
import type { RunComparison } from './compare';
import type { StatisticsReport } from './statistics';
import type { HumanBandView, MetricAgreementView, RankedMetricView } from '../../shared/statisticsView';
import type { AnsweredBy, DatasetSummary } from './summary';
import type { HistogramBin } from './histogram';
import { formatScore, isBelowThreshold } from '../rules/rules';
import { formatP, type Estimate, type Interval } from './stats';
import { ownValue } from '../security/ownKeys';
import { csvCell, markdownCell } from '../security/escape';
import { costText } from '../rules/cost';
import type { EmbeddingOrigin } from '../store/provenance';
import { embeddingText } from './origin';
import { DEFAULT_CONTRADICTION_THRESHOLD } from '../rules/contradiction';
import { judgeVerdictText } from '../rules/judgePrompt';
import type { JudgeView } from '../../shared/protocol';

/**
 * The one report renderer: the CLI's `report`, `score` and `compare`, and the panel's export all
 * build their Markdown, CSV and JSONL here, from one document model. Pure: builds text only.
 */

export interface ReportModelSummary {
  readonly model: string;
  /** Rows with a current result (CLI); absent when the caller does not count them. */
  readonly rows?: number;
  readonly scored: number;
  readonly mean: number | null;
  readonly median: number | null;
  readonly shareAtLeast: number | null;
  readonly failures: number;
  /** Empty or blank outputs (no similarity; left out of the numbers). */
  readonly empty?: number;
  /** Pairs not measurable by the embedding model (most word pieces unknown to it; left out of the numbers). */
  readonly unmeasurable?: number;
  /** Scores whose output or reference was longer than the embedding model reads (compared on their start only). */
  readonly cut?: number;
  /** Results older than their row (left out of the numbers). */
  readonly stale?: number;
  /** Scores per bin, each with its real range; absent when the caller does not bin them. */
  readonly histogram?: readonly HistogramBin[];
  /** Tokens the current results took (input = prompt, output = completion); absent when no result reported usage. */
  readonly tokens?: { readonly input: number; readonly output: number };
  /** What those tokens cost at the model's price per million tokens; absent or null without a price. */
  readonly cost?: number | null;
  /** Models the server said answered instead of the one asked (`response.model`), with their row counts. */
  readonly answeredBy?: readonly AnsweredBy[];
  /** Results read from the file, not scored on this machine (left out of the numbers). */
  readonly fromFile?: number;
  /** The contradiction check: scored outputs checked, and those flagged as contradicting their reference. */
  readonly contradiction?: { readonly checked: number; readonly contradicts: number };
}

export interface ReportGap {
  readonly a: string;
  readonly b: string;
  /** mean(b) - mean(a), a before b in model order: the sign of the paired tests. */
  readonly difference: number | null;
}

export interface ReportSummary {
  readonly file?: string;
  readonly threshold: number;
  readonly rowCount: number;
  readonly models: readonly ReportModelSummary[];
  readonly gaps: readonly ReportGap[];
  readonly annotated?: number;
  /** Rows that every scoring model puts below the threshold. */
  readonly suspect?: number;
  /** The models the suspect rule read and the baselines it left out. */
  readonly suspectRule?: { readonly models: readonly string[]; readonly baselines: readonly string[] };
  /** How the rows were chosen, in words (e.g. "below 0.7 for any model; text \"tax\""). */
  readonly selection?: string;
  /** The embedding models (id, dtype, weights hash) behind the scores counted; every output names them with the threshold. */
  readonly embedding?: readonly EmbeddingOrigin[];
  /** With contradiction checks counted: the P(contradiction) at or above which an output is flagged. */
  readonly contradictionThreshold?: number;
}

export interface ReportCell {
  readonly score: number | null;
  readonly error?: string;
  readonly stale?: boolean;
  /** Read from the file, not scored on this machine (not counted). */
  readonly fromFile?: boolean;
  /** The output is empty or blank (not scored). */
  readonly empty?: boolean;
  /** Not measurable by the embedding model (most word pieces unknown to it; not scored). */
  readonly unmeasurable?: boolean;
  /** ROUGE-L F of the output against the reference. */
  readonly rougeL?: number;
  /** The model the server said answered, when it is not the model asked. */
  readonly answeredBy?: string;
  /** The contradiction check: P(contradiction) against the matched reference, and whether it is at or above the threshold. */
  readonly nli?: { readonly contradiction: number; readonly contradicts: boolean; readonly reference?: number };
  /** The LLM judge's stored verdict on the output: a `judge: <model>` column (md), `judge:`/`judge_rating:`/`judge_reason:` columns (csv). */
  readonly judge?: JudgeView;
}

export interface ReportRow {
  readonly index?: number;
  readonly line: number;
  readonly id: string;
  readonly input?: string;
  readonly reference?: string | null;
  /** A reviewer's corrected reference, when one is in force (the report scores against it unless told otherwise). */
  readonly correctedReference?: string;
  /** model -> score (null: failed or missing), with the error when it failed. */
  readonly scores: Readonly<Record<string, ReportCell>>;
  readonly annotations?: readonly { readonly target: string; readonly label: string; readonly note?: string }[];
  /** model -> the output text (the panel's export): an `output: <model>` column each in md, `output:<model>` in csv. */
  readonly outputs?: Readonly<Record<string, string>>;
}

export interface ReportInput {
  readonly summary: ReportSummary;
  /** Model columns of the rows, in order. */
  readonly models: readonly string[];
  readonly rows?: Iterable<ReportRow>;
  readonly statistics?: StatisticsReport;
  /** Agreement between reviewers (omitted when nobody labelled). */
  readonly agreement?: AgreementReport;
  /** Which references the scores are against, and how many rows carry a correction. */
  readonly references?: ReferencesNote;
  /** A titled document (the panel's export) rather than bare tables (the CLI). */
  readonly titled?: boolean;
  /** With the score distribution (scores per bin, each bin's real range): report and the panel's export, not score's table. */
  readonly distribution?: boolean;
}

export interface ReferencesNote {
  readonly choice: 'corrected' | 'original';
  /** Rows with a reviewer's correction in force. */
  readonly correctedRows: number;
}

/** One sentence saying which references the numbers are against. */
export function referencesSentence(r: ReferencesNote): string {
  if (r.correctedRows === 0) return 'References: the file\'s (no row has a corrected reference).';
  return r.choice === 'corrected'
    ? `References: corrected (${r.correctedRows} row(s) scored against a reviewer's corrected reference; --original-references uses the file's).`
    : `References: the file's original references (${r.correctedRows} row(s) have a corrected reference that is not used here).`;
}

/** One sentence naming the embedding model(s) behind the scores (id, dtype, weights hash). */
export function embeddingSentence(s: Pick<ReportSummary, 'embedding'>): string {
  const list = s.embedding ?? [];
  if (list.length === 0) return 'Embedding model: not recorded (no score counted here names one).';
  return list.length === 1 ? `Embedding model: ${embeddingText(list[0])}.` : `Embedding models (the scores mix ${list.length}): ${list.map(embeddingText).join('; ')}.`;
}

/** The embedding model(s) and the threshold as a CSV block. */
export function scoringCsv(s: Pick<ReportSummary, 'embedding' | 'threshold'>): string {
  const list = s.embedding?.length ? s.embedding : [undefined];
  return `# scoring\r\n${csvTable(['embedding_model', 'dtype', 'weights', 'threshold'], list.map((e) => [e?.id ?? null, e?.dtype ?? null, e?.weights ?? null, s.threshold]))}`;
}

/** The study's table from core's summarize(). */
export function reportSummaryOf(summary: DatasetSummary, extra: Pick<ReportSummary, 'file' | 'annotated' | 'selection' | 'embedding'> = {}): ReportSummary {
  return {
    ...extra,
    threshold: summary.threshold,
    rowCount: summary.totalRows,
    models: summary.models.map((m) => ({
      model: m.model, rows: m.rows, scored: m.scored, mean: m.mean, median: m.median, shareAtLeast: m.shareAtOrAbove, failures: m.failed, empty: m.empty, unmeasurable: m.unmeasurable, cut: m.cut, stale: m.stale, histogram: m.histogram,
      ...(m.tokens.withUsage > 0 ? { tokens: { input: m.tokens.input, output: m.tokens.output } } : {}), ...(m.cost !== null ? { cost: m.cost } : {}),
      ...(m.answeredBy ? { answeredBy: m.answeredBy } : {}),
      ...(m.fromFile !== undefined ? { fromFile: m.fromFile } : {}),
      ...(m.contradiction ? { contradiction: m.contradiction } : {}),
    })),
    gaps: summary.gaps.map((g) => ({ a: g.a, b: g.b, difference: g.difference })),
    suspect: summary.suspectReferences,
    suspectRule: summary.suspectRule,
    ...(summary.contradictionThreshold !== undefined ? { contradictionThreshold: summary.contradictionThreshold } : {}),
  };
}

// ---- cells ----

type CsvValue = string | number | null | undefined;

function csvValue(value: CsvValue): string {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return '';
  return typeof value === 'number' ? String(value) : csvCell(value);
}

export function fixed(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || Number.isNaN(value) ? '' : value.toFixed(digits);
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? '' : `${(value * 100).toFixed(1)}%`;
}

/** A mean, median or score: three decimals, never rounded across the threshold (rules.formatScore). */
function scoreText(value: number | null | undefined, threshold: number): string {
  return value === null || value === undefined || Number.isNaN(value) ? '' : formatScore(value, threshold, 3);
}

function signed(value: number | null | undefined): string {
  return value === null || value === undefined ? '' : `${value >= 0 ? '+' : ''}${value.toFixed(3)}`;
}

/** "0.781 [0.752, 0.808]". */
export function withInterval(e: Estimate | null | undefined, format: (n: number) => string = (n) => n.toFixed(3)): string {
  return e ? `${format(e.value)} [${intervalText(e, format)}]` : '';
}

function intervalText(i: Interval | null | undefined, format: (n: number) => string = (n) => n.toFixed(3)): string {
  return i ? `${format(i.low)}, ${format(i.high)}` : '';
}

const pct = (n: number) => `${(n * 100).toFixed(1)}%`;

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[] = []): string {
  const lines = [`| ${header.map(markdownCell).join(' | ')} |`, `|${header.map((_, i) => (numeric[i] ? ' ---: ' : ' --- ')).join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map(markdownCell).join(' | ')} |`);
  return lines.join('\n');
}

export function csvTable(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return [header, ...rows].map((r) => r.map(csvValue).join(',')).join('\r\n') + '\r\n';
}

// ---- sections (each as rows of cells, shared by Markdown and CSV) ----

interface Table {
  readonly title: string;
  readonly header: readonly string[];
  /** Markdown cells. */
  readonly text: readonly (readonly string[])[];
  /** CSV cells: numbers stay numbers. */
  readonly values: readonly (readonly CsvValue[])[];
  readonly numeric?: readonly boolean[];
}

function summaryTable(s: ReportSummary): Table {
  const withRows = s.models.some((m) => m.rows !== undefined);
  const withStale = s.models.some((m) => m.stale !== undefined);
  // Shown only when some model has one, so tables without empty outputs keep their columns.
  const withEmpty = s.models.some((m) => (m.empty ?? 0) > 0);
  const withCut = s.models.some((m) => (m.cut ?? 0) > 0);
  const withUnmeasurable = s.models.some((m) => (m.unmeasurable ?? 0) > 0);
  const withTokens = s.models.some((m) => m.tokens !== undefined);
  const withCost = s.models.some((m) => m.cost !== undefined && m.cost !== null);
  const withAnsweredBy = s.models.some((m) => m.answeredBy !== undefined);
  const withFromFile = s.models.some((m) => (m.fromFile ?? 0) > 0);
  const withContradiction = s.models.some((m) => m.contradiction !== undefined);
  const header = [
    'model', ...(withRows ? ['rows'] : []), 'scored', 'mean', 'median', `share >= ${s.threshold}`, 'failed', ...(withEmpty ? ['empty'] : []), ...(withUnmeasurable ? ['not measurable'] : []),
    ...(withCut ? ['cut at model limit'] : []), ...(withStale ? ['stale'] : []), ...(withTokens ? ['input tokens', 'output tokens'] : []), ...(withCost ? ['cost'] : []),
    ...(withAnsweredBy ? ['answered by (not the model asked)'] : []), ...(withFromFile ? ['from the file (not counted)'] : []),
    ...(withContradiction ? [`contradicts reference (P >= ${s.contradictionThreshold ?? DEFAULT_CONTRADICTION_THRESHOLD})`, 'contradiction checked'] : []),
  ];
  const text = s.models.map((m) => [
    m.model, ...(withRows ? [String(m.rows ?? '')] : []), String(m.scored), scoreText(m.mean, s.threshold), scoreText(m.median, s.threshold), percent(m.shareAtLeast), String(m.failures),
    ...(withEmpty ? [String(m.empty ?? 0)] : []), ...(withUnmeasurable ? [String(m.unmeasurable ?? 0)] : []), ...(withCut ? [String(m.cut ?? 0)] : []), ...(withStale ? [String(m.stale ?? '')] : []),
    ...(withTokens ? [m.tokens ? String(m.tokens.input) : '', m.tokens ? String(m.tokens.output) : ''] : []), ...(withCost ? [costText(m.cost)] : []),
    ...(withAnsweredBy ? [answeredByText(m.answeredBy)] : []), ...(withFromFile ? [String(m.fromFile ?? 0)] : []),
    ...(withContradiction ? [m.contradiction ? String(m.contradiction.contradicts) : '', m.contradiction ? String(m.contradiction.checked) : ''] : []),
  ]);
  const values = s.models.map((m) => [
    m.model, ...(withRows ? [m.rows] : []), m.scored, m.mean, m.median, m.shareAtLeast, m.failures, ...(withEmpty ? [m.empty ?? 0] : []), ...(withUnmeasurable ? [m.unmeasurable ?? 0] : []),
    ...(withCut ? [m.cut ?? 0] : []), ...(withStale ? [m.stale] : []), ...(withTokens ? [m.tokens?.input ?? null, m.tokens?.output ?? null] : []), ...(withCost ? [m.cost ?? null] : []),
    ...(withAnsweredBy ? [answeredByText(m.answeredBy)] : []), ...(withFromFile ? [m.fromFile ?? 0] : []),
    ...(withContradiction ? [m.contradiction?.contradicts ?? null, m.contradiction?.checked ?? null] : []),
  ]);
  return { title: 'Summary', header, text, values, numeric: header.map((_, i) => i > 0) };
}

/** "gpt-4o-2024-08-06: 12 rows; gpt-4o-mini: 1 row", or empty when the model asked answered every row. */
function answeredByText(answeredBy: readonly AnsweredBy[] | undefined): string {
  return (answeredBy ?? []).map((a) => `${a.model}: ${a.rows} row${a.rows === 1 ? '' : 's'}`).join('; ');
}

/** " (models x, y; baselines left out: z)" when the rule left a baseline out. */
/** Scores per bin and model, each bin named by the range it really holds. */
function histogramTable(s: ReportSummary): Table | undefined {
  const lines = s.models.filter((m) => m.histogram && m.scored > 0).flatMap((m) => (m.histogram ?? []).map((b) => ({ model: m.model, b })));
  if (lines.length === 0) return undefined;
  return {
    title: 'Score distribution',
    header: ['model', 'scores', 'count'],
    text: lines.map(({ model, b }) => [model, b.label, String(b.count)]),
    values: lines.map(({ model, b }) => [model, b.label, b.count]),
    numeric: [false, false, true],
  };
}

/** The score distribution as CSV, each bin with its real bounds as numbers (`# score distribution`). */
function histogramCsv(s: ReportSummary): string | undefined {
  const lines = s.models.filter((m) => m.histogram && m.scored > 0).flatMap((m) => (m.histogram ?? []).map((b) => [m.model, b.label, b.from, b.to, b.count]));
  return lines.length === 0 ? undefined : csvTable(['model', 'range', 'from', 'to', 'count'], lines);
}

function suspectRuleText(s: ReportSummary): string {
  const rule = s.suspectRule;
  if (!rule || rule.baselines.length === 0) return '';
  return ` of ${rule.models.map(markdownCell).join(', ')} (baselines left out: ${rule.baselines.map(markdownCell).join(', ')})`;
}

function gapsTable(s: ReportSummary): Table {
  return {
    title: 'Gaps between mean scores',
    header: ['model a', 'model b', 'mean b - a'],
    text: s.gaps.map((g) => [g.a, g.b, signed(g.difference)]),
    values: s.gaps.map((g) => [g.a, g.b, g.difference]),
    numeric: [false, false, true],
  };
}

function intervalsTable(st: StatisticsReport): Table {
  return {
    title: `Uncertainty (${Math.round(st.level * 100)}% intervals; bootstrap, ${st.resamples} resamples, seed ${st.seed})${st.omittedModels > 0 ? `; first ${st.models.length} models, ${st.omittedModels} more not shown` : ''}`,
    header: ['model', 'n', 'mean [95% CI]', 'median [95% CI]', `share >= ${st.threshold} [bootstrap]`, 'share [Wilson]', 'ROUGE-L F [95% CI]'],
    text: st.models.map((m) => [
      m.model, String(m.n), withInterval(m.mean), withInterval(m.median), withInterval(m.shareAtLeast, pct),
      m.shareAtLeast ? intervalText(m.shareAtLeast.wilson, pct) : '', withInterval(m.rougeL.mean),
    ]),
    values: st.models.map((m) => [
      m.model, m.n, m.mean?.value, m.mean?.low, m.mean?.high, m.median?.value, m.median?.low, m.median?.high,
      m.shareAtLeast?.value, m.shareAtLeast?.low, m.shareAtLeast?.high, m.shareAtLeast?.wilson.low, m.shareAtLeast?.wilson.high,
      m.rougeL.mean?.value, m.rougeL.mean?.low, m.rougeL.mean?.high,
    ]),
    numeric: [false, true, true, true, true, true, true],
  };
}

const INTERVALS_CSV_HEADER = [
  'model', 'n', 'mean', 'mean_low', 'mean_high', 'median', 'median_low', 'median_high', 'share', 'share_low', 'share_high', 'share_wilson_low', 'share_wilson_high', 'rougeL', 'rougeL_low', 'rougeL_high',
];

function pairsTable(st: StatisticsReport): Table {
  const title = st.pairs.omittedModels > 0
    ? `Paired tests (first ${st.pairs.limit} models; ${st.pairs.omittedModels} more not compared)`
    : 'Paired tests (sign-flip permutation on rows both scored)';
  return {
    title,
    header: ['model a', 'model b', 'rows', 'mean b - a [95% CI]', 'p', 'verdict'],
    text: st.pairs.list.map((p) => [p.a, p.b, String(p.n), withInterval(p.meanDifference), p.p === null ? '' : formatP(p.p), p.verdict]),
    values: st.pairs.list.map((p) => [p.a, p.b, p.n, p.meanDifference?.value, p.meanDifference?.low, p.meanDifference?.high, p.p, p.method, p.verdict]),
    numeric: [false, false, true, true, true, false],
  };
}

const PAIRS_CSV_HEADER = ['model_a', 'model_b', 'rows', 'mean_difference', 'difference_low', 'difference_high', 'p', 'method', 'verdict'];

function biasTable(st: StatisticsReport): Table {
  return {
    title: 'Bias checks',
    header: ['model', 'median length ratio (output / reference)', 'Spearman(score, ratio)', 'Pearson(score, ratio)', 'truncated outputs'],
    text: st.models.map((m) => [
      m.model, fixed(m.lengthRatio.medianRatio, 2), fixed(m.lengthRatio.spearman, 2), fixed(m.lengthRatio.pearson, 2),
      m.truncated.outputs === 0 ? '' : `${m.truncated.count} / ${m.truncated.outputs} (${percent(m.truncated.share)})`,
    ]),
    values: st.models.map((m) => [m.model, m.lengthRatio.medianRatio, m.lengthRatio.spearman, m.lengthRatio.pearson, m.truncated.count, m.truncated.outputs, m.truncated.share]),
    numeric: [false, true, true, true, true],
  };
}

const BIAS_CSV_HEADER = ['model', 'median_length_ratio', 'spearman_score_ratio', 'pearson_score_ratio', 'truncated', 'outputs', 'truncated_share'];

function calibrationTable(st: StatisticsReport): Table {
  const c = st.calibration;
  return {
    title: `Calibration against labels (bad: ${c.badLabels.join(', ')}; good: ${c.goodLabels.join(', ')})`,
    header: ['metric', 'labelled', 'bad', `precision @ ${st.threshold}`, `recall @ ${st.threshold}`, `F1 @ ${st.threshold}`, 'suggested threshold [95% CI]', 'F1 there', 'AUC'],
    text: c.metrics.map((m) =>
      m.status === 'ready'
        ? [m.metric, String(m.labelled), String(m.bad), fixed(m.atThreshold?.precision), fixed(m.atThreshold?.recall), fixed(m.atThreshold?.f1),
          m.suggested ? `${m.suggested.threshold.toFixed(3)} [${intervalText(m.suggested.interval)}]` : '', fixed(m.suggested?.f1), fixed(m.auc)]
        : [m.metric, String(m.labelled), String(m.bad), '', '', '', `${m.needed} more labels needed (${m.reason})`, '', ''],
    ),
    values: c.metrics.map((m) => [
      m.metric, m.labelled, m.bad, m.status, m.needed, m.atThreshold?.precision, m.atThreshold?.recall, m.atThreshold?.f1,
      m.suggested?.threshold, m.suggested?.interval?.low, m.suggested?.interval?.high, m.suggested?.f1, m.auc,
    ]),
    numeric: [false, true, true, true, true, true, false, true, true],
  };
}

const CALIBRATION_CSV_HEADER = ['metric', 'labelled', 'bad', 'status', 'more_labels_needed', 'precision', 'recall', 'f1', 'suggested_threshold', 'suggested_low', 'suggested_high', 'suggested_f1', 'auc'];

function curveTable(st: StatisticsReport): Table | undefined {
  // Each metric has its own grid (its scores' range): one line per (metric, threshold).
  const points = st.calibration.metrics.filter((m) => m.status === 'ready').flatMap((m) => m.curve.map((p) => ({ metric: m.metric, ...p })));
  if (points.length === 0) return undefined;
  return {
    title: 'Calibration curve (score < threshold => bad)',
    header: ['metric', 'threshold', 'precision', 'recall', 'F1'],
    text: points.map((p) => [p.metric, p.threshold.toFixed(3), fixed(p.precision), fixed(p.recall), fixed(p.f1)]),
    values: points.map((p) => [p.metric, p.threshold, p.precision, p.recall, p.f1]),
    numeric: [false, true, true, true, true],
  };
}

function slicesTable(st: StatisticsReport): Table | undefined {
  const s = st.slices;
  if (!s) return undefined;
  const more = s.omittedValues > 0 ? `; ${s.omittedValues} more values (${s.omittedRows} rows) not shown` : '';
  const rows = s.slices.flatMap((slice) => slice.models.map((m) => ({ slice, m })));
  return {
    title: `Slices by ${s.field} (${s.slices.length} values${more})`,
    header: [s.field, 'rows', 'model', 'n', 'mean [95% CI]', `share >= ${st.threshold} [95% CI]`],
    text: rows.map(({ slice, m }) => [slice.value, String(slice.rows), m.model, String(m.n), withInterval(m.mean), withInterval(m.shareAtLeast, pct)]),
    values: rows.map(({ slice, m }) => [slice.value, slice.rows, m.model, m.n, m.mean?.value, m.mean?.low, m.mean?.high, m.shareAtLeast?.value, m.shareAtLeast?.low, m.shareAtLeast?.high]),
    numeric: [false, true, false, true, true, true],
  };
}

const SLICES_CSV_HEADER = ['value', 'rows', 'model', 'n', 'mean', 'mean_low', 'mean_high', 'share', 'share_low', 'share_high'];

function slicePairsTable(st: StatisticsReport): Table | undefined {
  const s = st.slices;
  if (!s || !s.slices.some((slice) => slice.pairs.length > 0)) return undefined;
  const rows = s.slices.flatMap((slice) => slice.pairs.map((p) => ({ slice, p })));
  return {
    title: `Paired tests by ${s.field}`,
    header: [s.field, 'model a', 'model b', 'rows', 'mean b - a [95% CI]', 'p', 'verdict'],
    text: rows.map(({ slice, p }) => [slice.value, p.a, p.b, String(p.n), withInterval(p.meanDifference), p.p === null ? '' : formatP(p.p), p.verdict]),
    values: rows.map(({ slice, p }) => [slice.value, p.a, p.b, p.n, p.meanDifference?.value, p.meanDifference?.low, p.meanDifference?.high, p.p, p.method, p.verdict]),
    numeric: [false, false, false, true, true, true, false],
  };
}

const SLICE_PAIRS_CSV_HEADER = ['value', ...PAIRS_CSV_HEADER];

/** The human band first (people against people), then each model against it, on cosine and ROUGE-L. */
function humanBandTable(h: HumanBandView | undefined): Table | undefined {
  if (!h) return undefined;
  const from = [
    ...(h.sources.includes('references') ? ['rows\' several references, each against the others'] : []),
    ...(h.sources.includes('models') || h.humanModels.length > 0 ? [`human outputs (${h.humanModels.join(', ')})`] : []),
  ].join('; ');
  const lines = [
    { model: '(human band)', n: h.n as number | null, mean: h.mean, verdict: '', rougeL: h.rougeL.mean, rougeLVerdict: '' },
    ...h.models.map((m) => ({ model: m.model, n: null as number | null, mean: m.mean, verdict: m.verdict, rougeL: m.rougeL, rougeLVerdict: m.rougeLVerdict })),
  ];
  return {
    title: `Human band: the same metric, human against human (${from}); a model is "below" when its whole interval lies under the band's`,
    header: ['model', 'rows', 'cosine mean [95% CI]', 'cosine', 'ROUGE-L F [95% CI]', 'ROUGE-L'],
    text: lines.map((l) => [l.model, l.n === null ? '' : String(l.n), withInterval(l.mean), l.verdict, withInterval(l.rougeL), l.rougeLVerdict]),
    values: lines.map((l) => [l.model, l.n, l.mean?.value, l.mean?.low, l.mean?.high, l.verdict, l.rougeL?.value, l.rougeL?.low, l.rougeL?.high, l.rougeLVerdict]),
    numeric: [false, true, true, false, true, false],
  };
}

/** The human band as Markdown (`score`'s table), or undefined when there is none. */
export function renderHumanBandMarkdown(band: HumanBandView | undefined): string | undefined {
  const t = humanBandTable(band);
  return t ? `**${markdownCell(t.title)}**\n\n${markdownTable(t.header, t.text, t.numeric)}\n` : undefined;
}

const HUMAN_BAND_CSV_HEADER = ['model', 'rows', 'mean', 'mean_low', 'mean_high', 'verdict', 'rougeL', 'rougeL_low', 'rougeL_high', 'rougeL_verdict'];

const METRIC_NAMES: Readonly<Record<RankedMetricView, string>> = { cosine: 'cosine', rougeL: 'ROUGE-L F', contradiction: 'contradiction flag', judge: 'LLM judge' };

function thresholdText(m: MetricAgreementView): string {
  if (m.thresholdSource === 'verdict') return 'its verdict';
  if (m.threshold === null) return '';
  return `${m.threshold.toFixed(3)}${m.thresholdSource === 'fitted' ? ' (fitted on these labels)' : ''}`;
}

/** The metrics ranked by agreement with the labels: AUC and kappa with intervals (and how they were computed), cost per 1,000 outputs. */
function rankingTable(st: StatisticsReport): Table | undefined {
  const r = st.ranking;
  if (!r) return undefined;
  const method = [...new Set(r.metrics.flatMap((m) => [m.auc?.method, m.kappa?.method]).filter((x): x is NonNullable<typeof x> => x !== undefined))];
  const judge = r.judge ? `; judge ${r.judge.models.join(', ')}: ${r.judge.judged} verdicts, ${r.judge.failed} failed, ${r.judge.stale} made with another prompt or judge (not counted)` : '';
  return {
    title: `Metrics against the reviewers' labels, best first (95% intervals: ${method.length ? method.join(', ') : 'bootstrap'}${method.includes('bootstrap') ? `, ${r.resamples} resamples` : ''}${judge})`,
    header: ['rank', 'metric', 'labelled', 'bad', 'AUC [95% CI]', 'kappa [95% CI]', 'bad when', 'cost per 1,000 outputs'],
    text: r.metrics.map((m, i) => [String(i + 1), METRIC_NAMES[m.metric], String(m.n), String(m.bad), withInterval(m.auc), withInterval(m.kappa), thresholdText(m), m.costPer1000 === null ? 'no price' : costText(m.costPer1000)]),
    values: r.metrics.map((m, i) => [i + 1, m.metric, m.n, m.bad, m.auc?.value, m.auc?.low, m.auc?.high, m.kappa?.value, m.kappa?.low, m.kappa?.high, m.auc?.method ?? m.kappa?.method, m.threshold, m.thresholdSource, m.costPer1000]),
    numeric: [true, false, true, true, true, true, false, true],
  };
}

const RANKING_CSV_HEADER = ['rank', 'metric', 'labelled', 'bad', 'auc', 'auc_low', 'auc_high', 'kappa', 'kappa_low', 'kappa_high', 'method', 'threshold', 'threshold_source', 'cost_per_1000'];

/** Labelled outputs where the judge's verdict is not the label's class (the judge's reason is data: escaped per surface). */
function judgeDisagreementsTable(st: StatisticsReport): Table | undefined {
  const list = st.ranking?.disagreements;
  if (!list || list.length === 0) return undefined;
  return {
    title: `Where the judge and the reviewers disagree (${list.length} output${list.length === 1 ? '' : 's'})`,
    header: ['row', 'line', 'model', 'label', 'judge', 'judge\'s reason'],
    text: list.map((d) => [d.rowId, String(d.line), d.model, `${d.label} (${d.labelClass})`, `${d.verdict}${d.rating !== undefined ? ` (${d.rating}/5)` : ''}`, d.reason]),
    values: list.map((d) => [d.rowId, d.line, d.model, d.label, d.labelClass, d.verdict, d.rating, d.reason]),
    numeric: [false, true, false, false, false, false],
  };
}

const JUDGE_DISAGREEMENTS_CSV_HEADER = ['row', 'line', 'model', 'label', 'label_class', 'verdict', 'rating', 'reason'];

function statisticsTables(st: StatisticsReport): Table[] {
  const tables = [intervalsTable(st)];
  const band = humanBandTable(st.humanBand);
  if (band) tables.push(band);
  if (st.pairs.list.length > 0) tables.push(pairsTable(st));
  tables.push(calibrationTable(st));
  for (const t of [rankingTable(st), judgeDisagreementsTable(st)]) if (t) tables.push(t);
  const curve = curveTable(st);
  if (curve) tables.push(curve);
  tables.push(biasTable(st));
  for (const t of [slicesTable(st), slicePairsTable(st)]) if (t) tables.push(t);
  return tables;
}

/** The statistics tables as CSV, one block each after a `# title` line (blank line between). */
function statisticsCsv(st: StatisticsReport): string {
  const blocks: [string, readonly string[], Table][] = [
    ['intervals', INTERVALS_CSV_HEADER, intervalsTable(st)],
    ['pairs', PAIRS_CSV_HEADER, pairsTable(st)],
    ['calibration', CALIBRATION_CSV_HEADER, calibrationTable(st)],
    ['bias', BIAS_CSV_HEADER, biasTable(st)],
  ];
  const band = humanBandTable(st.humanBand);
  if (band) blocks.push(['human band', HUMAN_BAND_CSV_HEADER, band]);
  const ranking = rankingTable(st);
  if (ranking) blocks.push(['metrics against labels', RANKING_CSV_HEADER, ranking]);
  const disagreements = judgeDisagreementsTable(st);
  if (disagreements) blocks.push(['judge disagreements', JUDGE_DISAGREEMENTS_CSV_HEADER, disagreements]);
  const slices = slicesTable(st);
  if (slices) blocks.push(['slices', SLICES_CSV_HEADER, slices]);
  const slicePairs = slicePairsTable(st);
  if (slicePairs) blocks.push(['slice pairs', SLICE_PAIRS_CSV_HEADER, slicePairs]);
  const curve = curveTable(st);
  const parts = blocks.map(([name, header, t]) => `# ${name}\r\n${csvTable(header, t.values)}`);
  if (curve) parts.push(`# calibration curve\r\n${csvTable(['metric', 'threshold', 'precision', 'recall', 'f1'], curve.values)}`);
  return parts.join('\r\n');
}

function statisticText(s: AgreementStatistic | undefined): string {
  if (!s) return '';
  if (s.value === null) return 'n/a';
  return `${s.value.toFixed(3)}${s.interval ? ` [${intervalText(s.interval)}]` : ''}`;
}

const AGREEMENT_CSV_HEADER = ['label', 'ratings', 'units', 'percent_agreement', 'cohen_kappa', 'cohen_low', 'cohen_high', 'fleiss_kappa', 'fleiss_low', 'fleiss_high', 'krippendorff_alpha', 'alpha_low', 'alpha_high'];

function agreementTable(a: AgreementReport): Table {
  const two = a.reviewers.length === 2;
  const lines = [{ label: '(all labels)', count: undefined as number | undefined, m: a.overall }, ...a.perLabel.map((l) => ({ label: l.label, count: l.count as number | undefined, m: l as AgreementReport['overall'] }))];
  const stat = (s: AgreementStatistic | undefined): CsvValue[] => [s?.value ?? null, s?.interval?.low ?? null, s?.interval?.high ?? null];
  return {
    title: `Agreement between reviewers (${a.reviewers.length}: ${a.reviewers.join(', ')}; ${a.disagreements} open disagreement(s), ${a.adjudicated} adjudicated)`,
    header: ['label', 'ratings', 'units rated by 2+', 'agreement', ...(two ? ["Cohen's kappa [95% CI]"] : []), "Fleiss' kappa [95% CI]", "Krippendorff's alpha [95% CI]"],
    text: lines.map(({ label, count, m }) => [
      label, count === undefined ? '' : String(count), String(m.units), percent(m.percentAgreement), ...(two ? [statisticText(m.cohenKappa)] : []), statisticText(m.fleissKappa), statisticText(m.krippendorffAlpha),
    ]),
    values: lines.map(({ label, count, m }) => [label, count ?? null, m.units, m.percentAgreement, ...stat(m.cohenKappa), ...stat(m.fleissKappa), ...stat(m.krippendorffAlpha)]),
    numeric: [false, true, true, true, true, true, true],
  };
}

function progressTable(a: AgreementReport): Table {
  return {
    title: 'Reviewer progress',
    header: ['reviewer', 'labels', 'rows', 'share of rows'],
    text: a.progress.map((p) => [p.reviewer, String(p.labelled), String(p.rows), percent(a.totalRows ? p.rows / a.totalRows : null)]),
    values: a.progress.map((p) => [p.reviewer, p.labelled, p.rows, a.totalRows ? p.rows / a.totalRows : null]),
    numeric: [false, true, true, true],
  };
}

/** The agreement blocks as CSV (`# agreement`, `# reviewers`). */
export function agreementCsv(a: AgreementReport): string {
  return `# agreement\r\n${csvTable(AGREEMENT_CSV_HEADER, agreementTable(a).values)}\r\n# reviewers\r\n${csvTable(['reviewer', 'labels', 'rows', 'share_of_rows'], progressTable(a).values)}`;
}

function annotationText(row: ReportRow): string {
  return (row.annotations ?? []).map((a) => `${a.target}: ${a.label}${a.note ? ` (${a.note})` : ''}`).join('; ');
}

function scoreCell(cell: ReportCell | undefined, threshold: number): string {
  if (!cell) return '';
  if (cell.stale) return 'stale';
  const by = cell.answeredBy !== undefined ? ` (answered by ${cell.answeredBy})` : '';
  if (cell.fromFile) return 'from the file';
  if (cell.empty) return `empty${by}`;
  if (cell.unmeasurable) return `not measurable${by}`;
  if (cell.score === null) return `${cell.error ? `failed: ${cell.error}` : 'n/a'}${by}`;
  // A text marker as well as the number: the report is read without colours.
  const contradiction = cell.nli?.contradicts ? ` ⚠ contradicts reference${cell.nli.reference !== undefined ? ` ${cell.nli.reference + 1}` : ''} (P ${cell.nli.contradiction.toFixed(2)})` : '';
  return `${formatScore(cell.score, threshold, 3)}${isBelowThreshold(cell.score, threshold) ? ' ▼ below' : ''}${contradiction}${by}`;
}

/** The models some row has a judge's verdict for, in column order. */
function judgedModels(input: ReportInput, rows: readonly ReportRow[]): string[] {
  return input.models.filter((m) => rows.some((r) => ownValue(r.scores, m)?.judge !== undefined));
}

/** A judge cell as text (md): the verdict as every view shows it; a verdict of another judge or prompt says so. */
function judgeCellText(j: JudgeView | undefined): string {
  if (!j) return '';
  return `${j.stale ? '(another judge or prompt) ' : ''}${judgeVerdictText(j) ?? ''}`;
}

/** The models some row carries an output text of, in column order. */
function outputModels(input: ReportInput, rows: readonly ReportRow[]): string[] {
  return input.models.filter((m) => rows.some((r) => r.outputs !== undefined && ownValue(r.outputs, m) !== undefined));
}

function rowsTable(input: ReportInput, rows: readonly ReportRow[]): Table {
  const withText = rows.some((r) => r.input !== undefined);
  const withCorrections = rows.some((r) => r.correctedReference !== undefined);
  const withAnnotations = rows.some((r) => r.annotations !== undefined);
  const t = input.summary.threshold;
  const withOutputs = outputModels(input, rows);
  const judged = judgedModels(input, rows);
  return {
    title: `Rows (${rows.length})`,
    header: [
      'id', 'line', ...(withText ? ['input', 'reference'] : []), ...(withCorrections ? ['corrected reference'] : []), ...input.models,
      ...judged.map((m) => `judge: ${m}`), ...withOutputs.map((m) => `output: ${m}`), ...(withAnnotations ? ['annotations'] : []),
    ],
    text: rows.map((row) => [
      row.id, String(row.line), ...(withText ? [row.input ?? '', row.reference ?? ''] : []), ...(withCorrections ? [row.correctedReference ?? ''] : []),
      ...input.models.map((m) => scoreCell(ownValue(row.scores, m), t)), ...judged.map((m) => judgeCellText(ownValue(row.scores, m)?.judge)),
      ...withOutputs.map((m) => ownValue(row.outputs ?? {}, m) ?? ''),
      ...(withAnnotations ? [annotationText(row)] : []),
    ]),
    values: [],
    numeric: [false, true, ...(withText ? [false, false] : []), ...(withCorrections ? [false] : []), ...input.models.map(() => true)],
  };
}

// ---- documents ----

function titleOf(summary: ReportSummary): string {
  const file = summary.file ?? '';
  return file.split(/[\\/]/).pop() || file;
}

/** The report as GitHub Markdown: a titled document, or the bare tables (CLI). */
export function renderMarkdown(input: ReportInput): string {
  const { summary } = input;
  const out: string[] = [];
  const heading = (level: number, text: string) => {
    if (input.titled) out.push(`${'#'.repeat(level)} ${markdownCell(text)}`, '');
  };
  if (input.titled) {
    out.push(`# PiSAR Review report: ${markdownCell(titleOf(summary))}`, '');
    if (summary.file) out.push(`- File: ${markdownCell(summary.file)}`);
    out.push(`- Rows: ${summary.rowCount}${summary.annotated !== undefined ? `; annotated: ${summary.annotated}` : ''}`);
    out.push(`- Threshold: ${summary.threshold}`);
    out.push(`- ${markdownCell(embeddingSentence(summary))}`);
    if (summary.selection) out.push(`- Rows exported: ${markdownCell(summary.selection)}`);
    if (input.references) out.push(`- ${markdownCell(referencesSentence(input.references))}`);
    out.push('');
  } else {
    out.push(markdownCell(`${embeddingSentence(summary)} Threshold: ${summary.threshold}.`), '');
    if (input.references) out.push(markdownCell(referencesSentence(input.references)), '');
  }
  const push = (t: Table) => {
    heading(2, t.title);
    out.push(markdownTable(t.header, t.text, t.numeric), '');
  };
  heading(2, 'Summary');
  if (summary.models.length === 0) out.push('_No stored results yet: run `pisar-review score` first._', '');
  else out.push(markdownTable(summaryTable(summary).header, summaryTable(summary).text, summaryTable(summary).numeric), '');
  if (summary.gaps.length > 0) push(gapsTable(summary));
  if (summary.suspect) out.push(`${summary.suspect} row(s) scored below ${summary.threshold} by every model${suspectRuleText(summary)}: check their reference rationales.`, '');
  const distribution = input.distribution ? histogramTable(summary) : undefined;
  if (distribution) {
    if (!input.titled) out.push(`**${markdownCell(distribution.title)}**`, '');
    push(distribution);
  }
  if (input.statistics && summary.models.length > 0) {
    for (const t of statisticsTables(input.statistics)) {
      if (!input.titled) out.push(`**${markdownCell(t.title)}**`, '');
      push(t);
    }
  }
  if (input.agreement && input.agreement.unitsRated > 0) {
    for (const t of [agreementTable(input.agreement), progressTable(input.agreement)]) {
      if (!input.titled) out.push(`**${markdownCell(t.title)}**`, '');
      push(t);
    }
  }
  const rows = input.rows ? [...input.rows] : undefined;
  if (rows && (rows.length > 0 || input.titled)) push(rowsTable(input, rows));
  while (out[out.length - 1] === '') out.pop();
  return out.join('\n') + '\n';
}

/** The rows as CSV: id, line, input and reference when known, then score, error and ROUGE-L F per model, then annotations. */
export function renderRowsCsv(input: ReportInput, rows: readonly ReportRow[]): string {
  const withText = rows.some((r) => r.input !== undefined);
  const withCorrections = rows.some((r) => r.correctedReference !== undefined);
  const withAnnotations = rows.some((r) => r.annotations !== undefined);
  // answered_by:<model> only for models some row was answered in place of (the model the server named)
  const answered = new Set(input.models.filter((m) => rows.some((r) => ownValue(r.scores, m)?.answeredBy !== undefined)));
  const withOutputs = outputModels(input, rows);
  // contradiction:<model> (P) and contradicts:<model> (true/false) only for models some row was checked for
  const checked = new Set(input.models.filter((m) => rows.some((r) => ownValue(r.scores, m)?.nli !== undefined)));
  // judge:<model> (good, bad, failed; stale for another judge or prompt), judge_rating:<model> (1-5) and judge_reason:<model> (the reason, or the failure) only for judged models
  const judged = new Set(judgedModels(input, rows));
  const header = [
    'id', 'line', ...(withText ? ['input', 'reference'] : []), ...(withCorrections ? ['corrected_reference'] : []),
    ...input.models.flatMap((m) => [`score:${m}`, `error:${m}`, `rougeL:${m}`, ...(answered.has(m) ? [`answered_by:${m}`] : []), ...(checked.has(m) ? [`contradiction:${m}`, `contradicts:${m}`] : []),
      ...(judged.has(m) ? [`judge:${m}`, `judge_rating:${m}`, `judge_reason:${m}`] : [])]),
    ...withOutputs.map((m) => `output:${m}`), ...(withAnnotations ? ['annotations'] : []),
  ];
  const values = rows.map((row) => [
    row.id, row.line, ...(withText ? [row.input ?? '', row.reference ?? ''] : []), ...(withCorrections ? [row.correctedReference ?? ''] : []),
    ...input.models.flatMap((m) => {
      const c = ownValue(row.scores, m);
      const nli = c?.stale || c?.fromFile ? undefined : c?.nli;
      return [c?.stale || c?.fromFile ? null : c?.score, c?.stale ? 'stale' : c?.fromFile ? 'from the file' : c?.error, c?.rougeL, ...(answered.has(m) ? [c?.answeredBy] : []),
        ...(checked.has(m) ? [nli?.contradiction, nli ? String(nli.contradicts) : null] : []),
        ...(judged.has(m) ? judgeCsvCells(c?.stale || c?.fromFile ? undefined : c?.judge) : [])];
    }),
    ...withOutputs.map((m) => ownValue(row.outputs ?? {}, m) ?? ''),
    ...(withAnnotations ? [annotationText(row)] : []),
  ]);
  return csvTable(header, values);
}

/** A judge cell's CSV values: the verdict word, the 1-5 rating, the reason (or the failure); csvTable makes the text formula-safe. */
function judgeCsvCells(j: JudgeView | undefined): CsvValue[] {
  if (!j) return [null, null, null];
  if (j.error) return ['failed', null, `${j.error.kind}: ${j.error.message}`];
  return [j.stale ? 'stale' : j.verdict, j.rating, j.reason];
}

/** The summary as CSV: one row per model, with the gap to every other model. */
export function renderSummaryCsv({ summary }: ReportInput): string {
  const t = summaryTable(summary);
  const names = summary.models.map((m) => m.model);
  // The gaps are a capped list; look them up once instead of scanning it per cell. gap_vs:<m> is this row's model minus m.
  const gaps = new Map<string, number | null>();
  for (const g of summary.gaps) {
    gaps.set(`${g.b}\u0000${g.a}`, g.difference);
    if (g.difference !== null) gaps.set(`${g.a}\u0000${g.b}`, -g.difference);
  }
  // Columns only for the models the gaps name (the first MAX_GAP_MODELS with a mean): 10,000 models would otherwise
  // make a 10,000 x 10,000 table of empty cells (100 MB).
  const gapped = new Set(summary.gaps.flatMap((g) => [g.a, g.b]));
  const columns = names.filter((n) => gapped.has(n));
  const header = [...t.header, ...columns.map((n) => `gap_vs:${n}`)];
  const values = t.values.map((v, i) => [...v, ...columns.map((other) => (other === names[i] ? null : gaps.get(`${names[i]}\u0000${other}`) ?? null))]);
  return csvTable(header, values);
}

/** CSV for a terminal: the summary, then the statistics blocks and the rows, separated by blank lines. */
export function renderCsv(input: ReportInput): string {
  const parts = [renderSummaryCsv(input), scoringCsv(input.summary)];
  if (input.references) parts.push(`# references\r\n${csvTable(['choice', 'corrected_rows'], [[input.references.choice, input.references.correctedRows]])}`);
  if (input.statistics && input.summary.models.length > 0) parts.push(statisticsCsv(input.statistics));
  if (input.agreement && input.agreement.unitsRated > 0) parts.push(agreementCsv(input.agreement));
  const distribution = input.distribution ? histogramCsv(input.summary) : undefined;
  if (distribution) parts.push(`# score distribution\r\n${distribution}`);
  const rows = input.rows ? [...input.rows] : undefined;
  if (rows && rows.length > 0) parts.push(renderRowsCsv(input, rows));
  return parts.join('\r\n');
}

export function renderJsonl(input: ReportInput): string {
  const lines = [JSON.stringify({ type: 'summary', ...input.summary })];
  if (input.statistics) lines.push(JSON.stringify({ type: 'statistics', ...input.statistics }));
  if (input.agreement) lines.push(JSON.stringify({ type: 'agreement', ...input.agreement }));
  for (const row of input.rows ?? []) lines.push(JSON.stringify({ type: 'row', ...row }));
  return lines.join('\n') + '\n';
}

// ---- the panel's export: files ----

export type ReportFormat = 'markdown' | 'csv' | 'jsonl';

/** One file of an export. `suffix` is added before the extension (CSV writes the summary beside the rows). */
export interface ReportFile {
  readonly suffix: string;
  readonly extension: string;
  readonly text: string;
}

export function renderReport(format: ReportFormat, input: ReportInput): ReportFile[] {
  switch (format) {
    case 'markdown':
      return [{ suffix: '', extension: '.md', text: renderMarkdown({ ...input, titled: true }) }];
    case 'csv': {
      const files = [
        { suffix: '', extension: '.csv', text: renderRowsCsv(input, [...(input.rows ?? [])]) },
        { suffix: '.summary', extension: '.csv', text: `${renderSummaryCsv(input)}\r\n${scoringCsv(input.summary)}` },
      ];
      const distribution = input.distribution ? histogramCsv(input.summary) : undefined;
      if (distribution) files.push({ suffix: '.distribution', extension: '.csv', text: distribution });
      if (input.statistics) files.push({ suffix: '.statistics', extension: '.csv', text: statisticsCsv(input.statistics) });
      if (input.agreement && input.agreement.unitsRated > 0) files.push({ suffix: '.agreement', extension: '.csv', text: agreementCsv(input.agreement) });
      return files;
    }
    case 'jsonl':
      return [{ suffix: '', extension: '.jsonl', text: renderJsonl(input) }];
    default: {
      const unknown: never = format;
      throw new Error(`Unknown report format "${String(unknown)}": use markdown, csv or jsonl.`);
    }
  }
}

// ---- comparison of two runs ----

function comparisonHead(c: RunComparison, a: string, b: string): Table {
  return {
    title: `Compare ${a} (A) with ${b} (B)`,
    header: ['rows paired', 'improved', 'regressed', 'unchanged', 'only A', 'only B', 'mean A', 'mean B', 'mean B - A [95% CI]', 'p', 'verdict'],
    text: [[
      String(c.paired), String(c.improved), String(c.regressed), String(c.unchanged), String(c.onlyA), String(c.onlyB),
      fixed(c.meanA), fixed(c.meanB), withInterval(c.meanDifference), c.p === null ? '' : formatP(c.p), c.verdict,
    ]],
    values: [[c.paired, c.improved, c.regressed, c.unchanged, c.onlyA, c.onlyB, c.meanA, c.meanB, c.meanDifference?.value, c.meanDifference?.low, c.meanDifference?.high, c.p, c.method, c.verdict]],
    numeric: [true, true, true, true, true, true, true, true, true, true, false],
  };
}

/** The comparison as Markdown: the counts and the test, then the changed rows, largest change first (at most `limit`). */
export function renderComparisonMarkdown(c: RunComparison, a: string, b: string, limit = 50): string {
  const head = comparisonHead(c, a, b);
  const out = [`**${markdownCell(head.title)}** (unchanged: |B - A| <= ${c.epsilon})`, '', markdownTable(head.header, head.text, head.numeric), ''];
  const changed = c.rows.filter((r) => r.change !== 'unchanged').sort((x, y) => Math.abs(y.difference) - Math.abs(x.difference));
  if (changed.length > 0) {
    const shown = changed.slice(0, limit);
    out.push(`**Changed rows** (${changed.length}${changed.length > shown.length ? `; the ${shown.length} largest shown, all in --format csv or json` : ''})`, '');
    if (c.lineage) out.push(`Why they changed: the model changed on ${c.lineage.modelChanged}, the reference was corrected on ${c.lineage.referenceCorrected}, both on ${c.lineage.both}.`, '');
    const withCause = c.lineage !== undefined;
    const causeText = { model: 'the model changed', reference: 'the reference was corrected', both: 'both' } as const;
    out.push(markdownTable(['id', 'A', 'B', 'B - A', 'change', ...(withCause ? ['why'] : [])], shown.map((r) => [r.id, fixed(r.a), fixed(r.b), signed(r.difference), r.change, ...(withCause ? [r.cause ? causeText[r.cause] : ''] : [])]), [false, true, true, true, false, false]));
    out.push('');
  }
  return out.join('\n');
}

/** The comparison as CSV: a summary block, then every paired row. */
export function renderComparisonCsv(c: RunComparison): string {
  const head = csvTable(['paired', 'improved', 'regressed', 'unchanged', 'only_a', 'only_b', 'mean_a', 'mean_b', 'mean_difference', 'difference_low', 'difference_high', 'p', 'method', 'verdict'], comparisonHead(c, '', '').values);
  return `${head}\r\n${csvTable(['id', 'a', 'b', 'difference', 'change', 'cause'], c.rows.map((r) => [r.id, r.a, r.b, r.difference, r.change, r.cause ?? '']))}`;
}
