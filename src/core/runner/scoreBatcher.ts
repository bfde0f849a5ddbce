// Scores a run's outputs beside its calls. Outputs queue here; the scorer gets everything queued in one
// call (up to a window of pairs), so it can sort the whole window by length and keep every worker busy.
// A called output that waits longer than holdMs (the embedding model still loading) is written unscored
// at once, so a crash loses only calls in flight; its score follows as a second line (the latest wins).
// Outputs that cost nothing to redo (precomputed, already stored) are written once, with their score.
import { redactCredentials } from '../security/redact';
import type { StoredResult } from '../store/results';
import { unmeasurableNote, type UnmeasurableShares } from '../rules/rules';
import type { RunNliChecker, RunScorer } from './runTypes';
import { combineReferenceScores, humanAgreement, type MultiReference } from '../rules/multiReference';
import { embeddingOriginOf, referencesDigest, textDigest } from '../store/provenance';

export interface ScoreBatcherOptions {
  scorer: RunScorer;
  signal: AbortSignal;
  /** Hands a result to the writer; counted is false for the follow-up score of an output written unscored. */
  write(result: StoredResult, counted: boolean): void;
  /** An output that costs nothing to redo left unscored (scoring failed, or cancelled): not written. */
  unscored(result: StoredResult): void;
  /** Called once when scoring fails as a whole; later called outputs are written unscored. */
  onFailed(message: string): void;
  /** A row with several references: its score is the best match (default) or the mean. */
  multiReference?: MultiReference;
  /** The contradiction check: each scored output against the reference it matched (stored as `nli`). */
  nli?: RunNliChecker;
  /** Called once when the contradiction check fails as a whole; outputs are stored with their scores and no check. */
  onNliFailed?(message: string): void;
  /** Most pairs per scorer call (default 2048). */
  window?: number;
  /** Longest a called output waits for its score before it is written unscored (default 1500 ms). */
  holdMs?: number;
  /**
   * Producers wait (room()) while more than this many pairs are queued (default one window: with MAX_CALLS_IN_FLIGHT
   * calls running, the next call's window is ready when one ends; a second window queued only held its rows' texts).
   */
  maxQueued?: number;
}

type Facts = { pieces: number; read: number; unknown: number } | undefined;

/** The shares of [UNK] word pieces above `limit` in the output and the reference, or undefined when both are measurable. */
export function unmeasurableShares(output: Facts, reference: Facts, limit: number | undefined): UnmeasurableShares | undefined {
  if (limit === undefined) return undefined;
  const share = (f: Facts): number | undefined => {
    if (!f) return undefined;
    const pieces = Math.max(0, f.read - 2); // [CLS] and [SEP] are never unknown
    const s = pieces === 0 ? 0 : f.unknown / pieces;
    return s > limit ? Math.round(s * 1000) / 1000 : undefined;
  };
  const o = share(output);
  const r = share(reference);
  return o === undefined && r === undefined ? undefined : { ...(o !== undefined ? { output: o } : {}), ...(r !== undefined ? { reference: r } : {}), limit };
}

interface PendingScore {
  readonly result: StoredResult;
  /** The references the output is scored against (one, or a row's several). */
  readonly references: readonly string[];
  /** Set when `references` is a reviewer's correction: the file's references, scored too (originalScore). */
  readonly originalReferences?: readonly string[];
  readonly queuedAt: number;
  /** A model call made it: kept on disk even unscored. */
  readonly costly: boolean;
  written: boolean;
  done: boolean;
}

/** The error kind of a pair whose embedding was unusable (NaN, infinities, zeros, another width). */
export const BAD_EMBEDDING = 'bad-embedding';

/** Scorer calls running at once: while one finishes its last batches, the next keeps the workers busy. */
const MAX_CALLS_IN_FLIGHT = 2;

export class ScoreBatcher {
  /** Pairs given a score. */
  scored = 0;
  private failure: string | undefined;
  private nliFailure: string | undefined;
  private readonly window: number;
  private readonly holdMs: number;
  private readonly maxQueued: number;
  private queue: PendingScore[] = [];
  private head = 0;
  private held: PendingScore[] = [];
  private heldHead = 0;
  private holdTimer: NodeJS.Timeout | undefined;
  private calls = 0;
  private pumpScheduled = false;
  private roomWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: ScoreBatcherOptions) {
    this.window = Math.max(1, options.window ?? 2048);
    this.holdMs = options.holdMs ?? 1500;
    this.maxQueued = Math.max(this.window, options.maxQueued ?? this.window);
    options.signal.addEventListener('abort', () => this.release(), { once: true });
  }

  /** Set when scoring failed as a whole. */
  get error(): string | undefined {
    return this.failure;
  }

  private get queued(): number {
    return this.queue.length - this.head;
  }

  /** Queues an output for scoring; hold marks an output that would cost a call to redo (written unscored if it waits too long). */
  add(result: StoredResult, references: readonly string[], hold: boolean, originalReferences?: readonly string[]): void {
    if (this.failure || this.options.signal.aborted) return hold ? this.options.write(this.withFailureNote(result), true) : this.options.unscored(result);
    const pending: PendingScore = { result, references, ...(originalReferences && originalReferences.length > 0 ? { originalReferences } : {}), queuedAt: Date.now(), costly: hold, written: false, done: false };
    this.queue.push(pending);
    if (hold) this.hold(pending);
    this.schedulePump();
  }

  /** Resolves when the queue has room (producers wait here, so a large run keeps a bounded number of outputs in memory). */
  room(): Promise<void> {
    if (this.queued < this.maxQueued || this.failure || this.options.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Resolves when every queued output was scored (or written unscored). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  dispose(): void {
    if (this.holdTimer) clearInterval(this.holdTimer);
    this.holdTimer = undefined;
  }

  private isIdle(): boolean {
    return this.calls === 0 && this.queued === 0 && !this.pumpScheduled;
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // Outputs finishing in the same turn join one call.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queued > 0 && (this.failure || this.options.signal.aborted)) this.settle(this.takeWindow(), false);
    while (this.queued > 0 && this.calls < MAX_CALLS_IN_FLIGHT) {
      const batch = this.takeWindow();
      this.calls++;
      void this.score(batch).finally(() => {
        this.calls--;
        this.pump();
      });
    }
    this.notify();
  }

  private takeWindow(): PendingScore[] {
    const end = Math.min(this.queue.length, this.head + this.window);
    const batch = this.queue.slice(this.head, end);
    this.head = end;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private async score(batch: PendingScore[]): Promise<void> {
    const { scorer, signal } = this.options;
    let scored = false;
    if (!this.failure && !signal.aborted) {
      try {
        const bad = new Map<number, string>();
        const mode = this.options.multiReference ?? 'best';
        // Each output against each of its references, then against the file's references where a correction is in force.
        const pairs: { output: string; reference: string }[] = [];
        const starts = batch.map((b) => {
          const at = pairs.length;
          for (const reference of b.references) pairs.push({ output: b.result.output!, reference });
          return at;
        });
        const measured = pairs.length;
        const originalStarts = batch.map((b) => {
          const at = pairs.length;
          for (const reference of b.originalReferences ?? []) pairs.push({ output: b.result.output!, reference });
          return at;
        });
        // Human against human: each of a row's several references against the others (the human band; see humanAgreement).
        const humanStarts = batch.map((b) => {
          const at = pairs.length;
          const refs = b.references;
          if (refs.length > 1) for (let i = 0; i < refs.length; i++) for (let j = 0; j < refs.length; j++) if (i !== j) pairs.push({ output: refs[i], reference: refs[j] });
          return at;
        });
        const scores = await scorer.scorePairs(pairs, { signal, onBadPair: (i, reason) => bad.set(i, reason) });
        const usable = (i: number): number | undefined => (!bad.has(i) && typeof scores[i] === 'number' && Number.isFinite(scores[i]) ? scores[i] : undefined);
        batch.forEach((b, i) => {
          const n = b.originalReferences?.length ?? 0;
          const original = combineReferenceScores(Array.from({ length: n }, (_, k) => usable(originalStarts[i] + k)), mode);
          if (original) b.result.originalScore = original.score;
        });
        const texts = pairs.slice(0, measured).flatMap((p) => [p.output, p.reference]);
        const embedding = embeddingOriginOf(scorer.identity?.());
        // One lookup of each text's facts (the cut flag is read from them); a scorer without facts may still say what it cut.
        const facts = scorer.textFacts?.(texts);
        const cut = facts ? (facts.some((f) => f !== undefined) ? facts.map((f) => f !== undefined && f.pieces > f.read) : undefined) : await scorer.cutTexts?.(texts, { signal });
        batch.forEach((b, i) => {
          const indexes = b.references.map((_, k) => starts[i] + k);
          // A pair whose embedding is unusable fails on its own (the output is kept; a later run redoes only its score).
          if (indexes.every((p) => bad.has(p))) b.result.error = { kind: BAD_EMBEDDING, message: redactCredentials(bad.get(indexes[0])!) };
          // Most word pieces unknown to the model: any score would be noise (unrelated texts score ~1), so none is given.
          const unmeasurable = indexes.map((p) => unmeasurableShares(facts?.[2 * p], facts?.[2 * p + 1], scorer.maxUnknownShare));
          const each = indexes.map((p, k) => (unmeasurable[k] ? undefined : usable(p)));
          const combined = combineReferenceScores(each, mode);
          const firstUnmeasurable = unmeasurable.find((u) => u !== undefined);
          if (!combined && firstUnmeasurable && !b.result.error) {
            delete b.result.score;
            delete b.result.scoreCut;
            b.result.scorer = scorer.cacheKey;
            b.result.unmeasurable = firstUnmeasurable;
            b.result.scoreNote = unmeasurableNote(firstUnmeasurable);
            return;
          }
          delete b.result.unmeasurable;
          if (combined) {
            b.result.score = combined.score;
            b.result.scorer = scorer.cacheKey;
            const k = b.references.length;
            const human = k > 1 ? humanAgreement(k, (a, c) => usable(humanStarts[i] + a * (k - 1) + (c < a ? c : c - 1)), mode) : undefined;
            if (k > 1) {
              b.result.referenceScores = each.map((s) => s ?? null);
              b.result.matchedReference = combined.matched;
              b.result.multiReference = mode;
              if (human !== undefined) b.result.humanScore = human;
              else delete b.result.humanScore;
            } else {
              delete b.result.referenceScores;
              delete b.result.matchedReference;
              delete b.result.multiReference;
              delete b.result.humanScore;
            }
            // What the score was computed from: a result whose texts or model differ from today's is stale.
            b.result.outputHash = textDigest(b.result.output!);
            b.result.referenceHash = referencesDigest(b.references);
            if (embedding) b.result.embedding = embedding;
            // Texts longer than the model reads are scored on their start only: flagged on the result.
            const scoredPairs = indexes.filter((_, k) => each[k] !== undefined);
            const cutParts = [...(scoredPairs.some((p) => cut?.[2 * p]) ? ['output' as const] : []), ...(scoredPairs.some((p) => cut?.[2 * p + 1]) ? ['reference' as const] : [])];
            if (cutParts.length > 0) b.result.scoreCut = cutParts;
            else delete b.result.scoreCut;
            this.scored++;
          }
        });
        await this.checkContradictions(batch);
        scored = true;
      } catch (err) {
        if (!signal.aborted && !this.failure) {
          this.failure = redactCredentials((err as Error).message ?? String(err));
          this.options.onFailed(this.failure);
        }
      }
    }
    this.settle(batch, scored);
  }

  /**
   * The contradiction check of each output given a score, against the reference it matched (a correction
   * where one is in force). A failed check leaves the scores as they are: told once, the rest of the run unchecked.
   */
  private async checkContradictions(batch: PendingScore[]): Promise<void> {
    const { nli, signal } = this.options;
    for (const b of batch) delete b.result.nli;
    if (!nli || this.nliFailure || signal.aborted) return;
    const checked = batch.filter((b) => b.result.score !== undefined);
    if (checked.length === 0) return;
    try {
      const against = checked.map((b) => b.result.matchedReference ?? 0);
      const probabilities = await nli.check(checked.map((b, i) => ({ premise: b.references[against[i]], hypothesis: b.result.output! })), { signal });
      const { id, weights } = nli.identity();
      checked.forEach((b, i) => {
        const p = probabilities[i];
        b.result.nli = { contradiction: p.contradiction, entailment: p.entailment, neutral: p.neutral, ...(b.references.length > 1 ? { reference: against[i] } : {}), model: { id, ...(weights ? { weights } : {}) } };
      });
    } catch (err) {
      if (signal.aborted) return;
      this.nliFailure = redactCredentials((err as Error).message ?? String(err));
      this.options.onNliFailed?.(this.nliFailure);
    }
  }

  /** Writes a finished batch: unscored outputs (cancelled, scorer broken) are kept; a later run scores them without a call. */
  private settle(batch: PendingScore[], scored: boolean): void {
    for (const b of batch) {
      b.done = true;
      if (!b.written && !scored && !b.costly) this.options.unscored(b.result);
      else if (!b.written) this.options.write(this.withFailureNote(b.result), true);
      else if (scored && (b.result.score !== undefined || b.result.error?.kind === BAD_EMBEDDING)) this.options.write({ ...b.result, at: new Date().toISOString() }, false);
    }
  }

  /** An output left unscored because scoring failed says why in its record (a later run still scores it). */
  private withFailureNote(result: StoredResult): StoredResult {
    return this.failure && result.score === undefined && result.scoreNote === undefined ? { ...result, scoreNote: `scoring failed: ${this.failure}` } : result;
  }

  private hold(pending: PendingScore): void {
    this.held.push(pending);
    this.holdTimer ??= setInterval(() => this.writeOverdue(), Math.max(10, Math.min(250, this.holdMs / 2)));
    this.holdTimer.unref();
  }

  private writeOverdue(): void {
    const now = Date.now();
    while (this.heldHead < this.held.length) {
      const p = this.held[this.heldHead];
      if (!p.done && !p.written) {
        if (now - p.queuedAt < this.holdMs) break; // queued in order: the rest are younger
        p.written = true;
        this.options.write({ ...p.result }, true);
      }
      this.heldHead++;
    }
    if (this.heldHead === this.held.length) {
      this.held = [];
      this.heldHead = 0;
    }
  }

  private release(): void {
    this.schedulePump();
    this.notify();
  }

  private notify(): void {
    if (this.roomWaiters.length > 0 && (this.queued < this.maxQueued || this.failure || this.options.signal.aborted)) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const resolve of waiters) resolve();
    }
    if (this.idleWaiters.length > 0 && this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
