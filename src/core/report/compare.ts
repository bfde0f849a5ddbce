import type { ComparedRowView, ComparisonCountsView } from '../../shared/statisticsView';
import { DEFAULT_SEED, pairedTest, pairedVerdict, type PairedTestMethod } from './stats';
import { permutationsFor } from './statistics';
import { outputIdentity } from '../store/results';

/**
 * Row-by-row comparison of two runs (two results files, or two models of one): which rows improved,
 * which regressed, which stayed within `epsilon`, and whether the change of the mean is real.
 */

/** A score change smaller than this (in absolute value) counts as unchanged. */
export const DEFAULT_EPSILON = 0.02;

export type RowChange = ComparedRowView['change'];

export type ComparedRow = ComparedRowView;

export interface RunComparison extends ComparisonCountsView {
  readonly seed: number;
  readonly method: PairedTestMethod;
  /** Every paired row in A's order. */
  readonly rows: readonly ComparedRow[];
  /** With lineage: the changed rows split by why they changed. */
  readonly lineage?: { readonly modelChanged: number; readonly referenceCorrected: number; readonly both: number };
}

/** What lineage needs of each side's result on a row: its output (the text, or held without it: see outputIdentity), and the correction it was scored against. */
export interface RunLineage {
  readonly output?: string;
  readonly correction?: string;
}

/** Why a changed row changed between two runs. */
export function causeOf(a: RunLineage, b: RunLineage): NonNullable<ComparedRow['cause']> {
  const reference = (a.correction ?? '') !== (b.correction ?? '');
  const model = outputIdentity(a) !== outputIdentity(b);
  return reference && model ? 'both' : reference ? 'reference' : 'model';
}

export interface CompareOptions {
  readonly epsilon?: number;
  readonly seed?: number;
  /** Names for the verdict (default "A", "B"). */
  readonly names?: readonly [string, string];
  /** Each side's output and correction by row id: changed rows get a cause. */
  readonly lineage?: readonly [ReadonlyMap<string, RunLineage>, ReadonlyMap<string, RunLineage>];
}

export function classifyChange(difference: number, epsilon: number): RowChange {
  if (difference > epsilon) return 'improved';
  if (difference < -epsilon) return 'regressed';
  return 'unchanged';
}

/** Compares scores keyed by row id; A is the baseline, B the candidate (improved = B higher by more than epsilon). */
export function compareRuns(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>, options: CompareOptions = {}): RunComparison {
  const epsilon = options.epsilon ?? DEFAULT_EPSILON;
  const seed = options.seed ?? DEFAULT_SEED;
  const rows: ComparedRow[] = [];
  let onlyA = 0;
  for (const [id, x] of a) {
    const y = b.get(id);
    if (y === undefined) {
      onlyA++;
      continue;
    }
    const difference = y - x;
    const change = classifyChange(difference, epsilon);
    const la = options.lineage?.[0].get(id);
    const lb = options.lineage?.[1].get(id);
    rows.push({ id, a: x, b: y, difference, change, ...(change !== 'unchanged' && la && lb ? { cause: causeOf(la, lb) } : {}) });
  }
  const onlyB = [...b.keys()].filter((id) => !a.has(id)).length;
  const xs = rows.map((r) => r.a);
  const ys = rows.map((r) => r.b);
  const test = pairedTest(xs, ys, { seed, permutations: permutationsFor(rows.length) });
  const n = rows.length;
  const meanA = n ? xs.reduce((s, x) => s + x, 0) / n : null;
  const meanB = n ? ys.reduce((s, x) => s + x, 0) / n : null;
  const [nameA, nameB] = options.names ?? ['A', 'B'];
  return {
    epsilon,
    seed,
    paired: n,
    onlyA,
    onlyB,
    improved: rows.filter((r) => r.change === 'improved').length,
    regressed: rows.filter((r) => r.change === 'regressed').length,
    unchanged: rows.filter((r) => r.change === 'unchanged').length,
    meanA,
    meanB,
    meanDifference: test.meanDifference,
    p: test.p,
    method: test.method,
    verdict: pairedVerdict(nameA, nameB, meanA ?? 0, meanB ?? 0, test.p, n),
    rows,
    ...(options.lineage
      ? {
          lineage: {
            modelChanged: rows.filter((r) => r.cause === 'model').length,
            referenceCorrected: rows.filter((r) => r.cause === 'reference').length,
            both: rows.filter((r) => r.cause === 'both').length,
          },
        }
      : {}),
  };
}
