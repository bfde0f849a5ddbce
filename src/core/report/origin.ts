// Which stored results a number may count, and what every table says about where its numbers came from:
// results scored on this machine count; results read "from the file" (no valid MAC: shipped with the
// folder, edited, forged, or written by an older version) are shown apart and counted, never averaged.
import { isScoredHere, type EmbeddingOrigin } from '../store/provenance';
import type { StoredResult } from '../store/results';
import type { DatasetSummary, ResultLookup } from './summary';

/** Where a report's results came from: left-out counts, foreign models, and the embedding models behind its scores. */
export interface ResultsOrigin {
  /** Per model: rows whose latest result was read from the file (left out of every number; a result scored here before it still counts). */
  readonly fromFile: Readonly<Record<string, number>>;
  /** Models with results in the sidecar that are neither configured nor in the dataset's outputs: ignored, with the fix. */
  readonly foreign: readonly { readonly model: string; readonly results: number }[];
  /** The embedding models that made the scores counted (one, unless the results mix models). */
  readonly embedding: readonly EmbeddingOrigin[];
}

/**
 * The results as numbers may count them: the latest result scored here (a ResultsStore keeps it under later lines read
 * from the file, so a forged line displaces nothing); a lookup without that reads a result from the file as absent.
 */
export function scoredHereOnly(results: ResultLookup & { latestScoredHere?(rowId: string, model: string): StoredResult | undefined }): ResultLookup {
  return {
    models: () => results.models(),
    latest: (rowId, model) => {
      if (results.latestScoredHere) return results.latestScoredHere(rowId, model);
      const r = results.latest(rowId, model);
      return r && isScoredHere(r) ? r : undefined;
    },
  };
}

/**
 * Counts, over `rowIds`, the results of `models` read from the file, the foreign models of the sidecar
 * (`modelsWithResults` not in `known`, none of whose results were scored here) and the embedding models of
 * the scores that count.
 */
export function resultsOrigin(rowIds: readonly string[], results: ResultLookup, models: readonly string[], known: ReadonlySet<string>): ResultsOrigin {
  const fromFile: Record<string, number> = Object.create(null) as Record<string, number>;
  const embeddings = new Map<string, EmbeddingOrigin>();
  const candidates = results.models().filter((m) => !known.has(m));
  const foreignCount = new Map(candidates.map((m) => [m, 0]));
  const note = (r: StoredResult) => {
    if (r.embedding && r.score !== undefined) embeddings.set(embeddingText(r.embedding), r.embedding);
  };
  for (const id of rowIds) {
    for (const model of models) {
      const r = results.latest(id, model);
      if (!r) continue;
      if (isScoredHere(r)) note(r);
      else fromFile[model] = (fromFile[model] ?? 0) + 1;
    }
    for (const [model, n] of foreignCount) {
      const r = results.latest(id, model);
      if (!r) continue;
      if (isScoredHere(r)) foreignCount.delete(model); // called here once: a model that was configured then
      else foreignCount.set(model, n + 1);
    }
  }
  const foreign = [...foreignCount].filter(([, n]) => n > 0).map(([model, n]) => ({ model, results: n }));
  for (const f of foreign) delete fromFile[f.model]; // counted as foreign, not twice
  return {
    fromFile,
    foreign,
    embedding: [...embeddings.values()],
  };
}

/** An embedding model in words: `id (dtype, weights 0123abcd…)`. */
export function embeddingText(e: EmbeddingOrigin): string {
  const details = [e.dtype, e.weights !== undefined ? `weights ${e.weights}` : undefined].filter((d) => d !== undefined);
  return details.length > 0 ? `${e.id} (${details.join(', ')})` : e.id;
}

/** What a report says about a foreign model: the model, what was done, and the fix. */
export function foreignFinding(resultsFile: string, f: { model: string; results: number }): string {
  return `${resultsFile}: ${f.results} result(s) for model ${JSON.stringify(f.model)}, which is neither configured nor in the dataset's outputs, were read from the file and ignored. ` +
    `Add the model to the config and run pisar-review score to score it here, or delete its lines from ${resultsFile}.`;
}

/** What a report says about results read from the file. */
export function fromFileFinding(resultsFile: string, fromFile: Readonly<Record<string, number>>): string | undefined {
  const total = Object.values(fromFile).reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const per = Object.entries(fromFile).map(([m, n]) => `${JSON.stringify(m)} ${n}`).join(', ');
  return `${resultsFile}: ${total} result(s) were read from the file, not scored on this machine (${per}); they are shown but left out of every number. ` +
    'Run pisar-review score to score them here (precomputed outputs are taken from the dataset again; no model is called for them).';
}

/** Every finding about where results came from: foreign models, then results read from the file. */
export function originFindings(resultsFile: string, origin: ResultsOrigin): string[] {
  const fromFile = fromFileFinding(resultsFile, origin.fromFile);
  return [...origin.foreign.map((f) => foreignFinding(resultsFile, f)), ...(fromFile ? [fromFile] : [])];
}

/** The summary with each model's results read from the file counted apart (summarized through scoredHereOnly, they read as missing). */
export function withFromFile(summary: DatasetSummary, origin: ResultsOrigin): DatasetSummary {
  return { ...summary, models: summary.models.map((m) => ({ ...m, fromFile: origin.fromFile[m.model] ?? 0 })) };
}
