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
  readonly rows: ComparedRows;
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

/** A change's code in ComparedRows (Uint8Array), and a cause's (0: none). */
const CHANGES: readonly RowChange[] = ['improved', 'regressed', 'unchanged'];
const CAUSES: readonly (ComparedRow['cause'] | undefined)[] = [undefined, 'model', 'reference', 'both'];

/**
 * The compared rows as columns (a row's key, its change and cause as small codes): a row is made an object only where
 * it is read (at, filter, map, the JSON writer), so a million compared rows are not a million objects held at once.
 * JSON.stringify writes it as the array of rows.
 */
export class ComparedRows implements Iterable<ComparedRow> {
  constructor(
    private readonly keys: Int32Array,
    private readonly changes: Uint8Array,
    private readonly causes: Uint8Array,
    private readonly scores: RunScores,
  ) {}

  get length(): number {
    return this.keys.length;
  }

  at(index: number): ComparedRow {
    const key = this.keys[index];
    const x = this.scores.a[key];
    const y = this.scores.b[key];
    const cause = CAUSES[this.causes[index]];
    return { id: this.scores.idOf(key), a: x, b: y, difference: y - x, change: CHANGES[this.changes[index]], ...(cause ? { cause } : {}) };
  }

  /**
   * JSON.stringify(at(index), null, 2) with `indent` before each line after the first, written without the row object
   * (a million rows were a million objects, their indented texts and the texts moved right by a regular expression).
   */
  json(index: number, indent: string): string {
    const key = this.keys[index];
    const x = this.scores.a[key];
    const y = this.scores.b[key];
    const cause = CAUSES[this.causes[index]];
    const line = `\n${indent}  `;
    return `{${line}"id": ${JSON.stringify(this.scores.idOf(key))},${line}"a": ${jsonNumber(x)},${line}"b": ${jsonNumber(y)},${line}"difference": ${jsonNumber(y - x)},` +
      `${line}"change": "${CHANGES[this.changes[index]]}"${cause ? `,${line}"cause": "${cause}"` : ''}\n${indent}}`;
  }

  filter(keep: (row: ComparedRow) => boolean): ComparedRow[] {
    const out: ComparedRow[] = [];
    for (let i = 0; i < this.keys.length; i++) {
      const row = this.at(i);
      if (keep(row)) out.push(row);
    }
    return out;
  }

  find(match: (row: ComparedRow) => boolean): ComparedRow | undefined {
    for (let i = 0; i < this.keys.length; i++) {
      const row = this.at(i);
      if (match(row)) return row;
    }
    return undefined;
  }

  map<T>(f: (row: ComparedRow, index: number) => T): T[] {
    const out = new Array<T>(this.keys.length);
    for (let i = 0; i < this.keys.length; i++) out[i] = f(this.at(i), i);
    return out;
  }

  *[Symbol.iterator](): Iterator<ComparedRow> {
    for (let i = 0; i < this.keys.length; i++) yield this.at(i);
  }

  toJSON(): ComparedRow[] {
    return this.map((r) => r);
  }
}

/** A number as JSON.stringify writes it (null where it is not finite). */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/**
 * Two runs' scores by a row key (a small int: the dataset's row index, or one given each row id), NaN where a run has
 * none; A's keys in A's order; each key's row id; and with lineage, each side's result on a key.
 */
export interface RunScores {
  readonly a: Float64Array;
  readonly b: Float64Array;
  /** A's scored keys, each once, in A's order (the order of the compared rows). */
  readonly orderA: Int32Array;
  idOf(key: number): string;
  readonly lineage?: readonly [(key: number) => RunLineage | undefined, (key: number) => RunLineage | undefined];
}

/** Compares scores keyed by row id; A is the baseline, B the candidate (improved = B higher by more than epsilon). */
export function compareRuns(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>, options: CompareOptions = {}): RunComparison {
  const ids = [...new Set([...a.keys(), ...b.keys()])];
  const sa = new Float64Array(ids.length).fill(NaN);
  const sb = new Float64Array(ids.length).fill(NaN);
  ids.forEach((id, key) => {
    sa[key] = a.get(id) ?? NaN;
    sb[key] = b.get(id) ?? NaN;
  });
  const lineage = options.lineage;
  return compareScores(
    {
      a: sa,
      b: sb,
      orderA: Int32Array.from({ length: a.size }, (_, i) => i),
      idOf: (key) => ids[key],
      ...(lineage ? { lineage: [(key: number) => lineage[0].get(ids[key]), (key: number) => lineage[1].get(ids[key])] as const } : {}),
    },
    options,
  );
}

/** compareRuns over scores held by row key (RunScores): the CLI's million-row path. */
export function compareScores(scores: RunScores, options: Omit<CompareOptions, 'lineage'> = {}): RunComparison {
  const epsilon = options.epsilon ?? DEFAULT_EPSILON;
  const seed = options.seed ?? DEFAULT_SEED;
  const { a, b, orderA } = scores;
  let n = 0;
  for (const key of orderA) if (!Number.isNaN(b[key])) n++;
  const keys = new Int32Array(n);
  const changes = new Uint8Array(n);
  const causes = new Uint8Array(n);
  const xs = new Array<number>(n);
  const ys = new Array<number>(n);
  const counts = [0, 0, 0];
  const causeCounts = [0, 0, 0, 0];
  let i = 0;
  for (const key of orderA) {
    const x = a[key];
    const y = b[key];
    if (Number.isNaN(y)) continue;
    const change = classifyChange(y - x, epsilon);
    const code = CHANGES.indexOf(change);
    keys[i] = key;
    changes[i] = code;
    counts[code]++;
    const la = scores.lineage?.[0](key);
    const lb = scores.lineage?.[1](key);
    if (change !== 'unchanged' && la && lb) causes[i] = CAUSES.indexOf(causeOf(la, lb));
    causeCounts[causes[i]]++;
    xs[i] = x;
    ys[i] = y;
    i++;
  }
  const onlyA = orderA.length - n;
  let onlyB = 0;
  for (let key = 0; key < b.length; key++) if (!Number.isNaN(b[key]) && Number.isNaN(a[key])) onlyB++;
  const test = pairedTest(xs, ys, { seed, permutations: permutationsFor(n) });
  const meanA = n ? xs.reduce((s, x) => s + x, 0) / n : null;
  const meanB = n ? ys.reduce((s, x) => s + x, 0) / n : null;
  const [nameA, nameB] = options.names ?? ['A', 'B'];
  return {
    epsilon,
    seed,
    paired: n,
    onlyA,
    onlyB,
    improved: counts[0],
    regressed: counts[1],
    unchanged: counts[2],
    meanA,
    meanB,
    meanDifference: test.meanDifference,
    p: test.p,
    method: test.method,
    verdict: pairedVerdict(nameA, nameB, meanA ?? 0, meanB ?? 0, test.p, n),
    rows: new ComparedRows(keys, changes, causes, scores),
    ...(scores.lineage ? { lineage: { modelChanged: causeCounts[1], referenceCorrected: causeCounts[2], both: causeCounts[3] } } : {}),
  };
}
