import { bootstrapInterval, DEFAULT_SEED, type Interval } from './stats';
import { AnnotationResolver, type Adjudication, type Annotation, type AnnotationTarget, type RowLookup } from '../store/annotations';

/**
 * Agreement between reviewers. A unit is one thing judged: a row's reference, or one model's output
 * on a row. Each reviewer's latest label on a unit is their rating. Statistics (nominal labels):
 * - Cohen's kappa (1960) when exactly two reviewers rated: units both rated;
 * - Fleiss' kappa (1971) over units rated by two or more (a unit's agreement is the share of agreeing
 *   rater pairs, so units may have different numbers of raters; with a constant number it is Fleiss' own);
 * - Krippendorff's alpha, nominal (2011: coincidence matrix; missing ratings allowed).
 * Per label: the same statistics on "this label or not". Intervals: percentile bootstrap over units.
 */

/** A label (or the absence of a reviewer's rating: undefined) per reviewer, on one unit. */
export type UnitRatings = readonly string[];

/** Cohen's kappa of two raters' labels on the same units; null when undefined (no units, or chance agreement is 1). */
export function cohensKappa(pairs: readonly (readonly [string, string])[]): number | null {
  const n = pairs.length;
  if (n === 0) return null;
  const first = new Map<string, number>();
  const second = new Map<string, number>();
  let agree = 0;
  for (const [a, b] of pairs) {
    if (a === b) agree++;
    first.set(a, (first.get(a) ?? 0) + 1);
    second.set(b, (second.get(b) ?? 0) + 1);
  }
  let chance = 0;
  for (const [label, count] of first) chance += (count / n) * ((second.get(label) ?? 0) / n);
  if (chance === 1) return null;
  return (agree / n - chance) / (1 - chance);
}

/** Fleiss' kappa over units (each the labels given to it, two or more); null when undefined. */
export function fleissKappa(units: readonly UnitRatings[]): number | null {
  const rated = units.filter((u) => u.length >= 2);
  if (rated.length === 0) return null;
  const totals = new Map<string, number>();
  let ratings = 0;
  let agreementSum = 0;
  for (const unit of rated) {
    const counts = countLabels(unit);
    let agreeingPairs = 0;
    for (const [label, c] of counts) {
      agreeingPairs += c * (c - 1);
      totals.set(label, (totals.get(label) ?? 0) + c);
    }
    ratings += unit.length;
    agreementSum += agreeingPairs / (unit.length * (unit.length - 1));
  }
  const observed = agreementSum / rated.length;
  let chance = 0;
  for (const c of totals.values()) chance += (c / ratings) ** 2;
  if (chance === 1) return null;
  return (observed - chance) / (1 - chance);
}

/** Krippendorff's alpha for nominal data over units (each the labels given to it; units with one label are not pairable); null when undefined. */
export function krippendorffAlphaNominal(units: readonly UnitRatings[]): number | null {
  // Coincidence matrix: within a unit of m values, each ordered pair of different raters adds 1/(m-1).
  const coincidences = new Map<string, Map<string, number>>();
  const add = (c: string, k: string, w: number) => {
    let row = coincidences.get(c);
    if (!row) coincidences.set(c, (row = new Map()));
    row.set(k, (row.get(k) ?? 0) + w);
  };
  for (const unit of units) {
    const m = unit.length;
    if (m < 2) continue;
    const counts = countLabels(unit);
    for (const [c, nc] of counts) {
      for (const [k, nk] of counts) add(c, k, (c === k ? nc * (nc - 1) : nc * nk) / (m - 1));
    }
  }
  const marginals = new Map<string, number>();
  let n = 0;
  let observedDisagreement = 0;
  for (const [c, row] of coincidences) {
    let nc = 0;
    for (const [k, o] of row) {
      nc += o;
      if (k !== c) observedDisagreement += o;
    }
    marginals.set(c, nc);
    n += nc;
  }
  if (n <= 1) return null;
  let sumSquares = 0;
  for (const nc of marginals.values()) sumSquares += nc * nc;
  const expectedDisagreement = n * n - sumSquares; // sum over c != k of n_c * n_k
  if (expectedDisagreement === 0) return null;
  return 1 - ((n - 1) * observedDisagreement) / expectedDisagreement;
}

function countLabels(unit: UnitRatings): Map<string, number> {
  const counts = new Map<string, number>();
  for (const label of unit) counts.set(label, (counts.get(label) ?? 0) + 1);
  return counts;
}

/** One judged thing: a row's reference or a model's output on it. */
export interface AgreementUnit {
  readonly rowId: string;
  readonly rowIndex: number;
  readonly target: AnnotationTarget;
  /** Each reviewer's latest label. */
  readonly ratings: ReadonlyMap<string, string>;
  /** The latest adjudication, if the unit was settled. */
  readonly adjudication: Adjudication | undefined;
}

/** Reviewers' labels differ on the unit (two or more rated) and no adjudication settled it. */
export function isDisagreement(unit: AgreementUnit): boolean {
  return unit.adjudication === undefined && new Set(unit.ratings.values()).size > 1;
}

/** The label that stands for a unit: the adjudicated one, else the label every reviewer gave (undefined while they disagree or none rated). */
export function settledLabel(unit: AgreementUnit): string | undefined {
  if (unit.adjudication) return unit.adjudication.label;
  const labels = new Set(unit.ratings.values());
  return labels.size === 1 ? [...labels][0] : undefined;
}

export function unitKey(rowId: string, target: AnnotationTarget): string {
  return target.kind === 'output' ? `${rowId}\u0000output\u0000${target.model}` : `${rowId}\u0000reference`;
}

/** Groups annotations (and adjudications) of rows that did not change since into units, in row order. Annotations without a reviewer count as reviewer "(unknown)". */
export function agreementUnits(annotations: readonly Annotation[], adjudications: readonly Adjudication[], rows: RowLookup): AgreementUnit[] {
  const resolver = new AnnotationResolver(rows);
  const units = new Map<string, { rowId: string; rowIndex: number; target: AnnotationTarget; ratings: Map<string, { label: string; at: string }>; adjudication: Adjudication | undefined }>();
  const unitFor = (rowId: string, rowIndex: number, target: AnnotationTarget) => {
    const key = unitKey(rowId, target);
    let unit = units.get(key);
    if (!unit) units.set(key, (unit = { rowId, rowIndex, target, ratings: new Map(), adjudication: undefined }));
    return unit;
  };
  for (const a of annotations) {
    const place = resolver.place(a);
    if (place.state !== 'current') continue;
    const unit = unitFor(a.rowId, place.index, a.target);
    const reviewer = a.reviewer ?? UNKNOWN_REVIEWER;
    const prev = unit.ratings.get(reviewer);
    if (!prev || prev.at <= a.updatedAt) unit.ratings.set(reviewer, { label: a.label, at: a.updatedAt });
  }
  for (const j of adjudications) {
    const place = resolver.place(j);
    if (place.state !== 'current') continue;
    unitFor(j.rowId, place.index, j.target).adjudication = j; // oldest first: the latest stays
  }
  return [...units.values()]
    .sort((a, b) => a.rowIndex - b.rowIndex)
    .map((u) => ({ rowId: u.rowId, rowIndex: u.rowIndex, target: u.target, ratings: new Map([...u.ratings].map(([r, v]) => [r, v.label])), adjudication: u.adjudication }));
}

export const UNKNOWN_REVIEWER = '(unknown)';

/** A statistic with its bootstrap interval (null where undefined, e.g. everyone gave one label). */
export interface AgreementStatistic {
  readonly value: number | null;
  readonly interval: Interval | null;
}

export interface AgreementMeasures {
  /** Units rated by two or more reviewers (what the statistics use). */
  readonly units: number;
  /** Share of those units where every reviewer gave the same label. */
  readonly percentAgreement: number | null;
  /** Only with exactly two reviewers. */
  readonly cohenKappa?: AgreementStatistic;
  readonly fleissKappa: AgreementStatistic;
  readonly krippendorffAlpha: AgreementStatistic;
}

export interface LabelAgreement extends AgreementMeasures {
  readonly label: string;
  /** Ratings with this label. */
  readonly count: number;
}

export interface ReviewerProgress {
  readonly reviewer: string;
  /** Units this reviewer labelled. */
  readonly labelled: number;
  /** Rows this reviewer labelled something on. */
  readonly rows: number;
}

export interface AgreementReport {
  readonly reviewers: string[];
  /** Every unit with at least one rating. */
  readonly unitsRated: number;
  readonly overall: AgreementMeasures;
  readonly perLabel: LabelAgreement[];
  readonly progress: ReviewerProgress[];
  /** Units where reviewers disagree and no adjudication settled it. */
  readonly disagreements: number;
  readonly adjudicated: number;
  /** Rows in the dataset (for progress). */
  readonly totalRows: number;
  readonly seed: number;
  readonly resamples: number;
}

export interface AgreementOptions {
  readonly seed?: number;
  /** Bootstrap resamples (default 1000). */
  readonly resamples?: number;
}

const DEFAULT_AGREEMENT_RESAMPLES = 1000;

function measures(units: readonly (readonly (readonly [string, string])[])[], twoReviewers: readonly [string, string] | undefined, options: Required<AgreementOptions>): AgreementMeasures {
  // Each unit: [reviewer, label] ratings; only units with two or more take part.
  const multi = units.filter((u) => u.length >= 2);
  const labelsOf = (u: readonly (readonly [string, string])[]) => u.map(([, l]) => l);
  const stat = (f: (sample: readonly (readonly (readonly [string, string])[])[]) => number | null): AgreementStatistic => {
    const value = f(multi);
    const interval = value === null ? null : bootstrapInterval(multi, (s) => f(s) ?? Number.NaN, { seed: options.seed, resamples: options.resamples });
    return { value, interval };
  };
  const cohen = (sample: readonly (readonly (readonly [string, string])[])[]) => {
    const [a, b] = twoReviewers!;
    const pairs: [string, string][] = [];
    for (const u of sample) {
      const x = u.find(([r]) => r === a)?.[1];
      const y = u.find(([r]) => r === b)?.[1];
      if (x !== undefined && y !== undefined) pairs.push([x, y]);
    }
    return cohensKappa(pairs);
  };
  const agreed = multi.filter((u) => new Set(labelsOf(u)).size === 1).length;
  return {
    units: multi.length,
    percentAgreement: multi.length ? agreed / multi.length : null,
    ...(twoReviewers ? { cohenKappa: stat(cohen) } : {}),
    fleissKappa: stat((s) => fleissKappa(s.map(labelsOf))),
    krippendorffAlpha: stat((s) => krippendorffAlphaNominal(s.map(labelsOf))),
  };
}

/** Agreement overall and per label, reviewers' progress, open disagreements. */
export function agreementReport(units: readonly AgreementUnit[], totalRows: number, options: AgreementOptions = {}): AgreementReport {
  const opts = { seed: options.seed ?? DEFAULT_SEED, resamples: options.resamples ?? DEFAULT_AGREEMENT_RESAMPLES };
  const reviewers = [...new Set(units.flatMap((u) => [...u.ratings.keys()]))].sort();
  const two = reviewers.length === 2 ? ([reviewers[0], reviewers[1]] as const) : undefined;
  const rated = units.filter((u) => u.ratings.size > 0);
  const ratings = rated.map((u) => [...u.ratings] as [string, string][]);
  const labels = [...new Set(rated.flatMap((u) => [...u.ratings.values()]))].sort();
  const perLabel = labels.map((label) => ({
    label,
    count: ratings.reduce((n, u) => n + u.filter(([, l]) => l === label).length, 0),
    ...measures(ratings.map((u) => u.map(([r, l]) => [r, l === label ? label : `not ${label}`] as [string, string])), two, opts),
  }));
  const progress = reviewers.map((reviewer) => {
    const mine = rated.filter((u) => u.ratings.has(reviewer));
    return { reviewer, labelled: mine.length, rows: new Set(mine.map((u) => u.rowIndex)).size };
  });
  return {
    reviewers,
    unitsRated: rated.length,
    overall: measures(ratings, two, opts),
    perLabel,
    progress,
    disagreements: units.filter(isDisagreement).length,
    adjudicated: units.filter((u) => u.adjudication !== undefined).length,
    totalRows,
    seed: opts.seed,
    resamples: opts.resamples,
  };
}
