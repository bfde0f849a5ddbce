// Which (row, model) pairs a run has to work on, decided from the index and the stored results alone
// (no row is parsed): a pair whose latest result is current, successful and scored needs nothing.
import type { ModelConfig } from '../config/models';
import { isVerified, otherEmbedding, type EmbeddingOrigin } from '../store/provenance';
import type { Dataset } from '../dataset/datasetReader';
import { isEmptyOutput } from '../rules/rules';
import { splitReasoning, type ReasoningMarker } from '../rules/reasoning';
import type { ResultsStore, StoredResult } from '../store/results';

/**
 * Row indexes in the order pushed: consecutive rows (a first run's every row) are held as the first and a count, any
 * other list as an Int32Array grown by doubling (a million rows were a number[] of 8 bytes a row, and more, a lane).
 */
export class RowList implements Iterable<number> {
  private first = 0;
  private count = 0;
  private list: Int32Array | undefined;

  /** 0, 1, ..., count - 1. */
  static range(count: number): RowList {
    const list = new RowList();
    list.count = count;
    return list;
  }

  get length(): number {
    return this.count;
  }

  push(index: number): void {
    if (this.list === undefined) {
      if (this.count === 0) this.first = index;
      if (index === this.first + this.count) {
        this.count++;
        return;
      }
      this.list = new Int32Array(Math.max(16, 2 * this.count));
      for (let i = 0; i < this.count; i++) this.list[i] = this.first + i;
    } else if (this.count === this.list.length) {
      const grown = new Int32Array(2 * this.count);
      grown.set(this.list);
      this.list = grown;
    }
    this.list[this.count++] = index;
  }

  /** The i-th row index (0 <= i < length). */
  at(i: number): number {
    return this.list === undefined ? this.first + i : this.list[i];
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let i = 0; i < this.count; i++) yield this.at(i);
  }
}

export interface LanePlan {
  readonly name: string;
  /** Undefined for a model seen only in precomputed outputs (never called). */
  readonly config: ModelConfig | undefined;
  /** Row indexes to work on, in dataset order. */
  readonly rows: RowList;
  /** Pairs already settled (nothing to do). */
  reused: number;
}

export interface RunPlan {
  readonly lanes: LanePlan[];
  /** (row, model) pairs in scope. */
  pairs: number;
  /** Pairs that need work. */
  total: number;
  /** Pairs left to a pending provider batch (not called, so not paid twice). */
  inBatch: number;
  /** How many lanes need each row (indexed by row): a parsed row is dropped once this reaches 0. */
  readonly rowUses: Uint32Array;
}

export interface PlanInput {
  dataset: Pick<Dataset, 'rowCount' | 'rowIds' | 'rowHash' | 'modelNames'>;
  results: Pick<ResultsStore, 'latest'>;
  /** Models that may be called; models seen only in precomputed outputs get lanes too. */
  models: readonly ModelConfig[];
  rowIndexes?: readonly number[];
  modelNames?: readonly string[];
  rerun?: boolean;
  /** The scorer's cache key, when scoring: a stored score made by another key is redone. */
  scorerKey?: string;
  /** The embedding model scoring now (id, dtype, weights): a score made by another one is redone. */
  embedding?: EmbeddingOrigin;
  /** The contradiction check's NLI model (id, weights), when checking: a scored result not checked by it is redone (no call). */
  nli?: EmbeddingOrigin;
  /** Extra reasoning markers: a stored output that still holds reasoning (stored before it was stripped) is redone. */
  reasoningMarkers?: readonly ReasoningMarker[];
  /** Corrected references in force by row id: a score made against another reference is redone (no call). */
  corrections?: ReadonlyMap<string, { readonly id: string }>;
  /** How a row with several references is scored: a score read the other way is redone (no call). */
  multiReference?: 'best' | 'mean';
  /** `${rowId}\0${model}` of the requests in a pending provider batch: a configured model does not call them (the batch answers them). */
  inBatch?: ReadonlySet<string>;
}

export function planRun(input: PlanInput): RunPlan {
  const { dataset, results } = input;
  const wanted = (name: string) => !input.modelNames || input.modelNames.includes(name);
  const lanes = new Map<string, LanePlan>();
  const addLane = (name: string, config: ModelConfig | undefined) => {
    if (!lanes.has(name) && wanted(name)) lanes.set(name, { name, config, rows: new RowList(), reused: 0 });
  };
  for (const m of input.models) addLane(m.name, m);
  for (const name of dataset.modelNames) addLane(name, undefined);

  const plan: RunPlan = { lanes: [...lanes.values()], pairs: 0, total: 0, inBatch: 0, rowUses: new Uint32Array(dataset.rowCount) };
  const ids = dataset.rowIds();
  const visit = (index: number) => {
    const id = ids[index];
    const hash = dataset.rowHash(index);
    for (const lane of plan.lanes) {
      plan.pairs++;
      const latest = results.latest(id, lane.name);
      // --rerun redoes configured models only: precomputed-only models have nothing to re-run.
      if (latest && isSettled(latest, hash, input.scorerKey, input.corrections?.get(id)?.id, input.multiReference, input.embedding, input.nli) && !(input.rerun && lane.config) && !holdsReasoning(latest, lane.config, input.reasoningMarkers)) {
        lane.reused++;
        continue;
      }
      // A pair a pending batch will answer is not called now (unless re-run on purpose): it would be paid twice.
      if (lane.config && !input.rerun && input.inBatch?.has(`${id}\u0000${lane.name}`) && !(latest && latest.rowHash === hash && latest.output !== undefined && !latest.error)) {
        plan.inBatch++;
        continue;
      }
      lane.rows.push(index);
      plan.rowUses[index]++;
      plan.total++;
    }
  };
  if (input.rowIndexes) for (const index of input.rowIndexes) visit(index);
  else for (let index = 0; index < dataset.rowCount; index++) visit(index);
  return plan;
}

/**
 * True when a stored result needs nothing more: written by this installation (valid MAC), current, successful,
 * and scored by this scorer and embedding weights (or unscorable). A line read "from the file" is always redone.
 */
export function isSettled(result: StoredResult, currentHash: string, scorerKey: string | undefined, correctionId?: string, multiReference?: 'best' | 'mean', embedding?: EmbeddingOrigin, nli?: EmbeddingOrigin): boolean {
  if (result.rowHash !== currentHash || result.error || result.output === undefined) return false;
  if (scorerKey === undefined) return true;
  if (!isVerified(result) || (result.score !== undefined && otherEmbedding(result.embedding, embedding))) return false;
  // Scored over several references and read the other way (best vs mean): redone from the cached embeddings.
  if (result.score !== undefined && result.multiReference !== undefined && multiReference !== undefined && result.multiReference !== multiReference) return false;
  // Scored against another reference than the one in force (a correction made, or the row's own again).
  if (result.score !== undefined && result.correction !== correctionId) return false;
  // Checking for contradictions: a score never checked, or checked by another NLI model or weights, is checked now.
  if (nli && result.score !== undefined && (!result.nli || otherEmbedding(result.nli.model, nli))) return false;
  if (correctionId !== undefined && result.score === undefined && !isEmptyOutput(result.output)) return false;
  if (isEmptyOutput(result.output)) return result.score === undefined; // an empty answer is final; an old score on it is redone (dropped)
  if (result.unmeasurable && result.score === undefined) return result.scorer === scorerKey; // not measurable by this model: final for it
  return (result.score !== undefined && result.scorer === scorerKey) || (result.scoreNote !== undefined && result.score === undefined && /no reference/.test(result.scoreNote));
}

/** A stored output that still holds reasoning the current rule strips (stored by an older version, or before a marker was added). */
function holdsReasoning(result: StoredResult, config: ModelConfig | undefined, markers: readonly ReasoningMarker[] | undefined): boolean {
  if (config?.keepThinking || result.output === undefined || result.output === '') return false;
  return splitReasoning(result.output, markers).stripped !== undefined;
}
