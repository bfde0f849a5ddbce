import { dict } from '../security/ownKeys';
import { rowJudgeOf, rowNliOf } from '../report/rows';
import { contradictionText, contradicts } from '../rules/contradiction';
import { scoreHistogram } from '../report/histogram';
import type { DatasetRow } from '../dataset/types';
import { scoredHereOnly } from '../report/origin';
import { summarize, summaryRowsOf } from '../report/summary';
import { costText } from '../rules/cost';
import { sameTarget, type AnnotationTarget } from '../store/annotations';
import { agreementReport, agreementUnits, isDisagreement, type AgreementUnit } from '../report/agreement';
import { shownAnnotations, shownRowState, type ReviewerView } from './blindView';
import type {
  AgreementView,
  AnnotationView,
  DatasetView,
  ModelSummaryView,
  OutputView,
  RowDetail,
  RowView,
  ScoreView,
  SettledView,
  SummaryView,
} from '../../shared/protocol';
import type { DatasetReview, ModelResultState, PlacedAnnotation } from './datasetReview';
import { compactModelNames, embeddingModelName, matchedReferenceText, noScore } from './display';
import { judgeVerdictText } from '../rules/judgePrompt';
import { formatScore, isBelowThreshold, isNotScored } from '../rules/rules';
import { readRowsInBlocks } from './rowBlocks';
import { foldCase, rowSearchText, TextIndex } from './textIndex';
import type { Dataset } from '../dataset/datasetReader';

/**
 * The review's view model: what the editor's side panel (and anything else) reads about the active
 * dataset, as the types of src/shared/protocol.ts, and the annotation actions. No vscode: the
 * extension's ReviewService extends it with events, navigation and scoring; the panel's tests run
 * against it over real files, so they assert the product's answers.
 */

/** One condition of a panel filter (the panel intersects them). */
export type RowCondition =
  | { readonly kind: 'belowThreshold'; readonly model?: string }
  | { readonly kind: 'suspectReference' }
  | { readonly kind: 'annotated' }
  | { readonly kind: 'notScored' }
  /** Some current score's output contradicts its reference (the contradiction check; none in blind mode). */
  | { readonly kind: 'contradicts' }
  /** Reviewers gave one target different labels and no adjudication settled it (none in blind mode). */
  | { readonly kind: 'reviewersDisagree' }
  /** The current reviewer labelled something on the row. */
  | { readonly kind: 'labelledByMe' }
  /** `within`: only these rows can match (the panel narrows a search as the user types on). */
  | { readonly kind: 'text'; readonly text: string; readonly within?: readonly number[] };

/** What the view model needs from outside the dataset. */
export interface ReviewContext {
  /** Annotation labels, in order. */
  readonly labels: readonly string[];
  /** Model calls are allowed (a trusted workspace). */
  readonly canScore: boolean;
  /** Who is reviewing (named on every annotation event); each reviewer edits only their own labels. */
  readonly reviewer?: string;
  /** Blind mode: other reviewers' labels and every score are left out of every view (src/core/review/blindView.ts). */
  readonly blind?: boolean;
}

/** Model names in the panel's column headers longer than this are shortened in the middle (the full name is the title). */
export const HEADER_NAME_MAX = 16;
/** Characters of the input's first line in a row of the list. */
const INPUT_PREVIEW_CHARS = 200;
/** Characters of the reference in a row of the list. */
const REFERENCE_PREVIEW_CHARS = 500;
/** Characters of each output in a row of the list (shown with the Outputs toggle). */
const OUTPUT_PREVIEW_CHARS = 300;

export class ReviewModel {
  private cache: { review: DatasetReview; version: number; resultsVersion: number; viewKey: string; dataset: DatasetView; summary: SummaryView } | undefined;

  constructor(
    private readonly active: () => DatasetReview | undefined,
    private readonly context: () => ReviewContext,
  ) {}

  /** A snapshot of the active dataset, or undefined when none is open. */
  activeDataset(): DatasetView | undefined {
    return this.snapshot()?.dataset;
  }

  /** The active dataset's summary (core summarize(): the numbers the CLI prints), or null. */
  summary(): SummaryView | null {
    return this.snapshot()?.summary ?? null;
  }

  /** What the current reviewer may see (blind mode: their own labels, no scores). */
  reviewerView(): ReviewerView {
    const context = this.context();
    return { reviewer: context.reviewer, blind: context.blind === true };
  }

  /** Rows `start .. start+count-1` of the active dataset (clamped). */
  async rows(start: number, count: number): Promise<RowView[]> {
    const review = this.active();
    if (!review) return [];
    const from = Math.max(0, Math.floor(start));
    const to = Math.min(review.dataset.rowCount, from + Math.max(0, Math.floor(count)));
    const view = this.reviewerView();
    const units = view.blind ? undefined : reviewUnitsOf(review);
    const out: RowView[] = [];
    for await (const [i, row] of readRowsInBlocks(review.dataset, range(from, to))) out.push(rowView(review, i, row, view, units?.byRow.get(i)));
    return out;
  }

  /** Agreement per label and overall with intervals, reviewers' progress (core agreementReport, as `report`); blind mode sends progress only. */
  agreement(options: { seed?: number; resamples?: number } = {}): AgreementView | null {
    const review = this.active();
    if (!review) return null;
    const view = this.reviewerView();
    const report = agreementReport(reviewUnitsOf(review).units, review.dataset.rowCount, options);
    return {
      reviewers: report.reviewers,
      unitsRated: report.unitsRated,
      overall: view.blind ? null : report.overall,
      perLabel: view.blind ? [] : report.perLabel,
      progress: report.progress,
      disagreements: view.blind ? null : report.disagreements,
      adjudicated: report.adjudicated,
      totalRows: report.totalRows,
      blind: view.blind,
    };
  }

  /** Settles the label of a row's target (the reviewers disagree on it): an adjudicate event by the current reviewer; the store announces the row. */
  async adjudicate(rowIndex: number, target: AnnotationTarget, label: string, note?: string, review = this.active()): Promise<void> {
    if (!review) throw new Error('No dataset is open.');
    if (rowIndex < 0 || rowIndex >= review.dataset.rowCount) throw new RangeError(`Row ${rowIndex} does not exist.`);
    const store = await review.annotationStore();
    await store.adjudicate({
      rowId: review.dataset.rowIds()[rowIndex], rowHash: review.dataset.rowHash(rowIndex),
      target: target.kind === 'output' ? { kind: 'output', model: target.model } : { kind: 'reference' },
      label, ...(note ? { note } : {}), reviewer: this.context().reviewer,
    });
  }

  /** Every row index matching a condition, in file order (no row is parsed except for text). */
  async filterRows(condition: RowCondition): Promise<number[]> {
    const review = this.active();
    if (!review) return [];
    const states = review.rowStates();
    const view = this.reviewerView();
    const all = Array.from({ length: review.dataset.rowCount }, (_, i) => i);
    switch (condition.kind) {
      case 'belowThreshold':
        if (view.blind) return [];
        return all.filter((i) => {
          const s = states.get(i);
          if (!s) return false;
          const model = condition.model;
          return model === undefined ? s.below : s.results.some((r) => r.model === model && countsAsBelow(r, review.threshold));
        });
      case 'suspectReference':
        return view.blind ? [] : all.filter((i) => states.get(i)?.suspect === true);
      case 'contradicts':
        return view.blind ? [] : all.filter((i) => states.get(i)?.results.some((r) => countsAsContradicting(r, review.contradictionThreshold)) ?? false);
      case 'annotated':
        return all.filter((i) => shownAnnotations(states.get(i)?.annotations ?? [], view).length > 0);
      case 'labelledByMe':
        return all.filter((i) => states.get(i)?.annotations.some((p) => p.annotation.reviewer === view.reviewer) ?? false);
      case 'reviewersDisagree': {
        if (view.blind) return [];
        const byRow = reviewUnitsOf(review).byRow;
        return all.filter((i) => byRow.get(i)?.some(isDisagreement) ?? false);
      }
      case 'notScored': {
        const models = review.models();
        return all.filter((i) => {
          const s = states.get(i);
          return isNotScored(models, (m) => s?.results.some((r) => r.model === m && !r.stale && r.score !== undefined) ?? false);
        });
      }
      case 'text': {
        const needle = foldCase(condition.text);
        if (needle === '') return condition.within ? [...condition.within] : all;
        const inDataset = await this.datasetTextHits(review, needle, condition.within);
        // Outputs in the results sidecar: indexed per state of the stores (a run's appends make a new one).
        const inResults = resultsTextIndexOf(review).search(needle, condition.within);
        return mergeAscending(inDataset, inResults);
      }
      default: {
        const unknown: never = condition;
        throw new Error(`unknown row condition ${JSON.stringify(unknown)}`);
      }
    }
  }

  /**
   * Starts building the active dataset's text index in the background (the panel calls it once a large
   * dataset is shown), so the first search finds it ready. Resolves when done; never rejects.
   */
  async prepareSearch(): Promise<void> {
    const review = this.active();
    if (!review) return;
    await textIndexOf(review.dataset);
    resultsTextIndexOf(review);
  }

  /** Rows among `within` (all when not given) whose dataset text holds the case-folded needle, ascending. */
  private async datasetTextHits(review: DatasetReview, needle: string, within: readonly number[] | undefined): Promise<number[]> {
    const index = await textIndexOf(review.dataset);
    if (index) return index.search(needle, within);
    // Too large to keep, or the file changed under the read: read the rows for this search.
    const hits: number[] = [];
    for await (const [i, row] of readRowsInBlocks(review.dataset, within ?? range(0, review.dataset.rowCount))) {
      if (row && rowSearchText(row).some((t) => foldCase(t).includes(needle))) hits.push(i);
    }
    return hits;
  }

  /** Per model, every row's current score (NaN where there is none), from the stores without parsing rows. */
  async scoreColumns(): Promise<ReadonlyMap<string, Float64Array>> {
    const review = this.active();
    if (!review) return new Map();
    const n = review.dataset.rowCount;
    const columns = new Map(review.models().map((m) => [m, new Float64Array(n).fill(Number.NaN)]));
    if (this.reviewerView().blind) return columns;
    for (const state of review.rowStates().values()) {
      for (const r of state.results) {
        const column = columns.get(r.model);
        if (column && state.index < n && !r.result.error && r.score !== undefined) column[state.index] = r.score;
      }
    }
    return columns;
  }

  /** One row with its full text, images (as written), every model's output and the annotations. */
  async rowDetail(index: number): Promise<RowDetail | undefined> {
    const review = this.active();
    if (!review || !Number.isInteger(index) || index < 0 || index >= review.dataset.rowCount) return undefined;
    const row = await readRow(review, index);
    const view = this.reviewerView();
    const state = shownRowState(review.rowState(index), view);
    const units = view.blind ? [] : reviewUnitsOf(review).byRow.get(index) ?? [];
    const outputs: OutputView[] = (state?.results ?? []).map((r) => ({
      model: r.model,
      output: r.result.output ?? null,
      score: view.blind ? null : scoreView(r, review.threshold, review.scoringFailure, review.contradictionThreshold),
      ...(r.result.latencyMs !== undefined ? { latencyMs: r.result.latencyMs } : {}),
      ...(r.result.answeredBy !== undefined ? { answeredBy: r.result.answeredBy } : {}),
      ...(matchedReferenceText(r.result) !== undefined ? { matched: matchedReferenceText(r.result) } : {}),
      ...(!view.blind && r.result.judge ? { judge: judgeVerdictText(r.result.judge) } : {}),
    }));
    for (const [model, output] of Object.entries(row?.outputs ?? {})) {
      if (!outputs.some((o) => o.model === model)) outputs.push({ model, output, score: null });
    }
    return {
      file: review.file,
      index,
      line: review.dataset.rowLine(index),
      id: review.dataset.rowIds()[index],
      input: row?.input ?? '',
      reference: row?.reference ?? null,
      ...(row?.references ? { references: row.references } : {}),
      images: row?.images.map((i) => ({ kind: i.kind, source: i.value })) ?? [],
      outputs,
      annotations: state?.annotations.map(annotationView) ?? [],
      disagreeOn: disagreeOn(units),
      settled: settledOf(units),
    };
  }

  /** The current index of the row with this id (rows move when the file is edited; ids do not). */
  indexOfRow(id: string): number | undefined {
    return this.active()?.dataset.indexOfId(id);
  }

  /** The id of the row at `index` now. */
  rowIdAt(index: number): string | undefined {
    const dataset = this.active()?.dataset;
    return dataset && Number.isInteger(index) && index >= 0 && index < dataset.rowCount ? dataset.rowIds()[index] : undefined;
  }

  /** Marks a row's reference, or one model's output, with a label and an optional note (edits the existing annotation of that target). */
  async annotate(rowIndex: number, target: AnnotationTarget, label: string, note?: string, review = this.active()): Promise<void> {
    if (!review) throw new Error('No dataset is open.');
    if (rowIndex < 0 || rowIndex >= review.dataset.rowCount) throw new RangeError(`Row ${rowIndex} does not exist.`);
    if (target.kind === 'output' && !target.model) throw new Error('Annotating an output needs the model\'s name.');
    const t: AnnotationTarget = target.kind === 'output' ? { kind: 'output', model: target.model } : { kind: 'reference' };
    const store = await review.annotationStore();
    const reviewer = this.context().reviewer;
    // A reviewer's label on a target is theirs: another reviewer's label there is left as it is.
    const existing = review.rowState(rowIndex)?.annotations.find((p) => sameTarget(p.annotation.target, t) && p.annotation.reviewer === reviewer);
    const rowId = review.dataset.rowIds()[rowIndex];
    const rowHash = review.dataset.rowHash(rowIndex);
    if (existing) {
      // Editing confirms the judgement for the row as it is now: re-anchor it.
      await store.edit(existing.annotation.id, { label, note: note === undefined ? undefined : note, rowHash, rowId }, new Date(), reviewer);
    } else {
      await store.add({ rowId, rowHash, target: t, label, note, reviewer });
    }
    // The store announces the write; the review patches the row and tells the views.
  }

  async removeAnnotation(annotationId: string, review = this.active()): Promise<void> {
    const store = review ? await review.annotationStore() : undefined;
    if (!review || !store?.get(annotationId)) return;
    await store.remove(annotationId);
  }

  private snapshot(): { dataset: DatasetView; summary: SummaryView } | undefined {
    const review = this.active();
    if (!review) return undefined;
    const c = this.cache;
    const context = this.context();
    const view = this.reviewerView();
    const viewKey = JSON.stringify([view.reviewer ?? null, view.blind, context.labels, context.canScore]);
    if (c && c.review === review && c.version === review.version && c.viewKey === viewKey) return c;
    const name = review.file.split(/[\\/]/).pop() ?? review.file;
    const dataset: DatasetView = {
      file: review.file,
      name,
      rowCount: review.dataset.rowCount,
      models: review.models(),
      configuredModels: review.configuredModels,
      canScore: context.canScore,
      findings: {
        errors: review.dataset.findings.filter((f) => f.severity === 'error').length,
        warnings: review.dataset.findings.filter((f) => f.severity === 'warning').length,
        infos: review.dataset.findings.filter((f) => f.severity === 'info').length,
      },
      labels: [...context.labels],
      threshold: review.threshold,
      modelLabels: Object.fromEntries(compactModelNames(review.models(), HEADER_NAME_MAX)),
      ...(review.scoringFailure ? { scoringFailure: review.scoringFailure } : {}),
      reviewer: view.reviewer ?? null,
      blind: view.blind,
    };
    // A label changes the count of annotated rows only: the scores' summary (a pass over every row) is kept.
    const summary = view.blind
      ? blindSummary(summaryView(review), annotatedRows(review, view))
      : c && c.review === review && c.resultsVersion === review.resultsVersion && c.viewKey === viewKey
        ? { ...c.summary, annotated: annotatedRows(review, view) }
        : summaryView(review);
    this.cache = { review, version: review.version, resultsVersion: review.resultsVersion, viewKey, dataset, summary };
    return this.cache;
  }
}

function annotatedRows(review: DatasetReview, view: ReviewerView): number {
  let annotated = 0;
  for (const state of review.rowStates().values()) if (shownAnnotations(state.annotations, view).length > 0) annotated++;
  return annotated;
}

/** The summary without anything made of scores (blind mode): counts of scored rows stay, means, shares, histograms and gaps go. */
function blindSummary(summary: SummaryView, annotated: number): SummaryView {
  return {
    ...summary,
    models: summary.models.map((m) => ({ ...m, mean: null, median: null, meanText: null, medianText: null, shareAtLeast: null, histogram: m.histogram.map(() => 0), histogramBins: scoreHistogram([]) })),
    gaps: summary.gaps.map((g) => ({ ...g, difference: null })),
    annotated,
    suspect: 0,
  };
}

/** Each review version's agreement units (a unit: one target of a row), and those of each row. */
const reviewUnits = new WeakMap<DatasetReview, { readonly version: number; readonly units: AgreementUnit[]; readonly byRow: Map<number, AgreementUnit[]> }>();

function reviewUnitsOf(review: DatasetReview): { readonly units: AgreementUnit[]; readonly byRow: ReadonlyMap<number, AgreementUnit[]> } {
  const known = reviewUnits.get(review);
  if (known && known.version === review.version) return known;
  const store = review.annotations;
  const units = store ? agreementUnits(store.all(), store.adjudications(), review.dataset) : [];
  const byRow = new Map<number, AgreementUnit[]>();
  for (const u of units) byRow.set(u.rowIndex, [...(byRow.get(u.rowIndex) ?? []), u]);
  const entry = { version: review.version, units, byRow };
  reviewUnits.set(review, entry);
  return entry;
}

function targetName(target: AnnotationTarget): string {
  return target.kind === 'reference' ? 'reference' : (target.model ?? 'output');
}

function disagreeOn(units: readonly AgreementUnit[]): string[] {
  return units.filter(isDisagreement).map((u) => targetName(u.target));
}

function settledOf(units: readonly AgreementUnit[]): SettledView[] {
  return units.flatMap((u) => {
    const j = u.adjudication;
    return j ? [{ target: targetName(u.target), label: j.label, ...(j.reviewer ? { reviewer: j.reviewer } : {}), ...(j.note ? { note: j.note } : {}) }] : [];
  });
}

/** Counts per bin and each bin's real range ("−0.23–0.1" when a score is negative). */
function histogramView(scores: readonly number[]): Pick<ModelSummaryView, 'histogram' | 'histogramBins'> {
  const bins = scoreHistogram(scores);
  return { histogram: bins.map((b) => b.count), histogramBins: bins };
}

/** The active dataset's summary: core summarize() plus histograms and review progress. */
export function summaryView(review: DatasetReview): SummaryView {
  const threshold = review.threshold;
  const models = review.models();
  // As the CLI counts: only results scored on this machine (report/origin.ts).
  const core = summarize(summaryRowsOf(review.dataset), review.results ? scoredHereOnly(review.results) : { latest: () => undefined, models: () => [] }, threshold, { models, baselines: review.baselineModels, prices: review.prices, contradictionThreshold: review.contradictionThreshold });
  const scores = new Map<string, number[]>(models.map((m) => [m, []]));
  const scorers = new Set<string>();
  let annotated = 0;
  let suspect = 0;
  for (const state of review.rowStates().values()) {
    if (state.annotations.length > 0) annotated++;
    if (state.suspect) suspect++;
    for (const r of state.results) {
      if (!r.stale && !r.result.error && r.score !== undefined) {
        scores.get(r.model)?.push(r.score);
        if (r.result.scorer) scorers.add(r.result.scorer);
      }
    }
  }
  const modelViews: ModelSummaryView[] = core.models.map((m) => ({
    model: m.model,
    scored: m.scored,
    mean: m.mean,
    median: m.median,
    meanText: m.mean === null ? null : formatScore(m.mean, threshold, 3),
    medianText: m.median === null ? null : formatScore(m.median, threshold, 3),
    shareAtLeast: m.shareAtOrAbove,
    failures: m.failed,
    ...histogramView(scores.get(m.model) ?? []),
    ...(m.tokens.withUsage > 0 ? { tokens: { input: m.tokens.input, output: m.tokens.output } } : {}),
    ...(m.cost !== null ? { cost: m.cost, costText: costText(m.cost) } : {}),
  }));
  return {
    threshold,
    rowCount: core.totalRows,
    models: modelViews,
    gaps: core.gaps.map((g) => ({ a: g.a, b: g.b, difference: g.difference })),
    annotated,
    suspect,
    embeddingModels: [...new Set([...scorers].map(embeddingModelName))].sort(),
  };
}

/** Text for display in one line: collapses whitespace and control characters, caps the length. */
export function oneLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

/** A current score (not stale, scored here) whose output the contradiction check flagged. */
function countsAsContradicting(r: ModelResultState, threshold: number): boolean {
  return !r.stale && !r.fromFile && r.score !== undefined && contradicts(r.result, threshold);
}

function countsAsBelow(r: ModelResultState, threshold: number): boolean {
  return !r.stale && r.score !== undefined && isBelowThreshold(r.score, threshold);
}

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i < to; i++) yield i;
}

async function readRow(review: DatasetReview, index: number): Promise<DatasetRow | undefined> {
  try {
    return await review.dataset.getRow(index);
  } catch {
    return undefined; // re-indexed meanwhile; the next change event brings fresh rows
  }
}

/** One model's result as every view shows it: score text and verdict by the rules. */
export function scoreView(r: ModelResultState, threshold: number, scoringFailure?: string, contradictionThreshold?: number): ScoreView {
  // A failed call is an error; an output without a score has a note saying why (no reference, blank, or scoring failed).
  const score = r.result.error ? undefined : r.score;
  const missing = noScore(r, scoringFailure);
  return {
    score: score ?? null,
    ...(score !== undefined ? { text: formatScore(score, threshold) } : {}),
    ...(score !== undefined && isBelowThreshold(score, threshold) ? { below: true as const } : {}),
    ...(r.result.error ? { error: r.error } : {}),
    ...(missing ? { note: missing.reason } : {}),
    ...(missing?.kind === 'unscored' ? { unscored: true as const } : {}),
    ...(r.stale ? { stale: true } : {}),
    ...(r.fromFile ? { fromFile: true } : {}),
    ...(score !== undefined && !r.stale && contradicts(r.result, contradictionThreshold) ? { contradicts: contradictionText(r.result, contradictionThreshold) } : {}),
    ...(score !== undefined && !r.stale && r.result.nli ? { nli: rowNliOf(r.result, contradictionThreshold)! } : {}),
    ...(!r.stale && !r.fromFile && r.result.output !== undefined && !r.result.error && r.result.judge ? { judge: rowJudgeOf(r.result.judge) } : {}),
  };
}

export function annotationView(p: PlacedAnnotation): AnnotationView {
  const a = p.annotation;
  return {
    id: a.id,
    target: a.target.kind === 'reference' ? 'reference' : (a.target.model ?? 'output'),
    label: a.label,
    ...(a.note ? { note: a.note } : {}),
    ...(a.reviewer ? { reviewer: a.reviewer } : {}),
    ...(p.state === 'changed' ? { stale: true } : {}),
  };
}

function rowView(review: DatasetReview, index: number, row: DatasetRow | undefined, view: ReviewerView, units: readonly AgreementUnit[] | undefined): RowView {
  const state = shownRowState(review.rowState(index), view);
  const firstLine = (row?.input ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  const scores: Record<string, ScoreView> = {};
  if (!view.blind) for (const r of state?.results ?? []) scores[r.model] = scoreView(r, review.threshold, review.scoringFailure, review.contradictionThreshold);
  const outputs = dict<string>();
  for (const [model, output] of Object.entries(row?.outputs ?? {})) outputs[model] = oneLine(output, OUTPUT_PREVIEW_CHARS);
  for (const r of state?.results ?? []) if (r.result.output !== undefined) outputs[r.model] = oneLine(r.result.output, OUTPUT_PREVIEW_CHARS);
  const open = disagreeOn(units ?? []);
  const settled = settledOf(units ?? []);
  return {
    index,
    line: review.dataset.rowLine(index),
    id: review.dataset.rowIds()[index],
    input: oneLine(firstLine, INPUT_PREVIEW_CHARS),
    reference: row?.reference === undefined ? null : oneLine(row.reference, REFERENCE_PREVIEW_CHARS),
    scores,
    annotations: state?.annotations.map(annotationView) ?? [],
    suspect: state?.suspect ?? false,
    hasImage: (row?.images.length ?? 0) > 0,
    outputs,
    ...(open.length > 0 ? { disagreeOn: open } : {}),
    ...(settled.length > 0 ? { settled } : {}),
  };
}

/** One text index per dataset snapshot, built on first need and dropped with the snapshot. */
const textIndexes = new WeakMap<Dataset, Promise<TextIndex | undefined>>();

function textIndexOf(dataset: Dataset): Promise<TextIndex | undefined> {
  let index = textIndexes.get(dataset);
  if (!index) {
    index = TextIndex.build(dataset).catch(() => undefined);
    textIndexes.set(dataset, index);
  }
  return index;
}

/** One index of the stored outputs per review and version (every change to the stores bumps it). */
const resultsTextIndexes = new WeakMap<DatasetReview, { readonly version: number; readonly index: TextIndex }>();

function resultsTextIndexOf(review: DatasetReview): TextIndex {
  const known = resultsTextIndexes.get(review);
  if (known && known.version === review.version) return known.index;
  const version = review.version;
  const states = review.rowStates();
  const rows = [...states.keys()].sort((a, b) => a - b);
  const entries = function* (): Generator<[number, string[]]> {
    for (const i of rows) {
      const outputs = states.get(i)!.results.filter((r) => r.result.output !== undefined).map(foldedOutput);
      if (outputs.length > 0) yield [i, outputs];
    }
  };
  // No size limit: the outputs are in memory already, as the stores' records.
  const index = TextIndex.fromFolded(review.dataset.rowCount, entries(), { maxChars: Number.POSITIVE_INFINITY })!;
  resultsTextIndexes.set(review, { version, index });
  return index;
}

/** Two ascending lists of row indexes as one, without repeats. */
function mergeAscending(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (out[out.length - 1] !== next) out.push(next);
  }
  return out;
}

/** Stored outputs case-folded once each (results are immutable records). */
const foldedOutputs = new WeakMap<object, string>();

function foldedOutput(state: ModelResultState): string {
  const key = state.result as object;
  let folded = foldedOutputs.get(key);
  if (folded === undefined) {
    folded = foldCase(state.result.output ?? '');
    foldedOutputs.set(key, folded);
  }
  return folded;
}
