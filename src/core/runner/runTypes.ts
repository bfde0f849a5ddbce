/** The contracts between runDataset and its parts (ModelLane, ScoreBatcher): types only, so no part imports runner.ts. */

/** What the runner needs from the scorer (src/core/scoring/scorer.ts provides it). */
export interface RunScorer {
  /** Identifies the embedding model and settings; a stored score made by another key is redone. */
  readonly cacheKey: string;
  scorePairs(pairs: { output: string; reference: string }[], options?: { signal?: AbortSignal; onEvent?: (e: never) => void; onBadPair?: (index: number, reason: string) => void }): Promise<number[]>;
  /** Which texts the embedding model reads only the start of (longer than its word-piece limit); undefined when it cannot tell. */
  cutTexts?(texts: string[], options?: { signal?: AbortSignal }): Promise<boolean[] | undefined>;
  /** What the model read of each text (word pieces, read, unknown), when it can tell (local models). */
  textFacts?(texts: string[]): Array<{ pieces: number; read: number; unknown: number } | undefined>;
  /** Above this share of [UNK] word pieces in the output or the reference, a pair is not measurable. */
  readonly maxUnknownShare?: number;
  /** The embedding model (id, dtype, weights hash), stored beside each score it makes. */
  identity?(): { id: string; dtype?: string; weights?: string };
}

/** What the runner needs from the contradiction check (src/core/scoring/nli.ts provides it). */
export interface RunNliChecker {
  /** P(entailment), P(neutral), P(contradiction) of each (premise = reference, hypothesis = output). */
  check(pairs: readonly { premise: string; hypothesis: string }[], options?: { signal?: AbortSignal }): Promise<{ entailment: number; neutral: number; contradiction: number }[]>;
  /** The NLI model (id, weights hash), stored beside each check: a check made by another one is redone. */
  identity(): { id: string; weights?: string };
}

export interface ModelFailure {
  readonly model: string;
  readonly message: string;
  readonly fix: string;
}

/** Per-model counts for one run. */
export interface ModelRunStats {
  readonly model: string;
  /** Requests sent (first attempts; retries are counted apart). */
  called: number;
  cacheHits: number;
  precomputed: number;
  /** Stored, current and scored already: nothing done. */
  reused: number;
  succeeded: number;
  failed: number;
  retries: number;
  /** Failures by kind (e.g. timeout, rate-limit, model-failed). */
  failedByKind: Record<string, number>;
}
