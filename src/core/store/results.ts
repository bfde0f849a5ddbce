import * as fs from 'node:fs';
import * as path from 'node:path';
import { isEmptyOutput } from '../rules/rules';
import { redactCredentials } from '../security/redact';
import { OffThreadMacCheck } from './macCheck';
import { hasValidMac, installationKey, isScoredHere, isVerified, markScoredHere, scoredHereRecord, signRecord, type ResultOrigin } from './provenance';
import { sidecarFileFor } from './sidecarNames';
import { checkAppendable, readSidecar, SidecarAppender, type ReadSidecarOptions, type SidecarProblem } from './sidecar';
import { SidecarPosition } from './sidecarPosition';
import { ChangeEvents, type StoreChange } from './storeEvents';
import { HeldResults, NOT_HELD, OUTPUT_TOKENS_AT } from './heldResults';

/**
 * One model output for one row, as stored in `<dataset>.pisar-results.jsonl` (one JSON object a line).
 * ResultOrigin: the hashes of the texts scored, the embedding model, and this installation's MAC (provenance.ts).
 */
export interface StoredResult extends ResultOrigin {
  rowId: string;
  /** Hash of the row's content when the result was made; a different current hash means stale. */
  rowHash: string;
  model: string;
  /** 'precomputed': the row's own `outputs`; 'called': a model call made by PiSAR Review. */
  source: 'precomputed' | 'called';
  output?: string;
  /** The model's text as written, when `output` differs from it (`<think>` blocks removed before scoring). */
  rawOutput?: string;
  /** The reasoning removed from `rawOutput` before scoring (which markup, how many characters). */
  reasoningStripped?: { marker: string; chars: number };
  /** The model the server said answered (`response.model`), when it is not the model id asked. */
  answeredBy?: string;
  /** Set when the call failed; `kind` is e.g. 'rate-limit', 'server', 'timeout', 'auth', 'malformed', 'empty-choices'. */
  error?: { kind: string; message: string; status?: number };
  /** sha256 of the messages sent (prefix), to tell which prompt made the output. */
  promptHash?: string;
  latencyMs?: number;
  usage?: { promptTokens?: number; completionTokens?: number };
  finishReason?: string;
  /** True when answered from the request cache (no call made). */
  cached?: boolean;
  /** Cosine similarity of output and reference, when scored. */
  score?: number;
  /** The scorer's cache key (embedding model + settings) that made `score`. */
  scorer?: string;
  /** Texts longer than the embedding model reads (256 word pieces for all-MiniLM-L6-v2): `score` compares their start only. */
  scoreCut?: ('output' | 'reference')[];
  /**
   * A row with several references: the score against each, in the row's order (null where that pair
   * could not be scored); `score` is their best or mean (`multiReference`).
   */
  referenceScores?: (number | null)[];
  /** With `referenceScores`: the 0-based index of the reference the output matched best. */
  matchedReference?: number;
  /** With `referenceScores`: how `score` reads them, 'best' or 'mean' (pisarReview.scoring.multiReference). */
  multiReference?: 'best' | 'mean';
  /**
   * With `referenceScores`: the row's references against each other by the same rule (each against
   * the others, mean over the references), a property of the row kept with each of its results: the human band.
   */
  humanScore?: number;
  /** Set when `score` was made against a reviewer's corrected reference: that correction's id (annotations sidecar). */
  correction?: string;
  /** With `correction`: the score against the dataset's own reference (used by `report --original-references`). */
  originalScore?: number;
  /** The run's tag (`score --tag`: a model checkpoint or version), for lineage in `compare`. */
  tag?: string;
  /** Why the output has no score (e.g. the row has no reference). */
  scoreNote?: string;
  /** Not measurable by the embedding model (most word pieces [UNK]): the shares above the limit; no score is given. */
  unmeasurable?: { output?: number; reference?: number; limit: number };
  /** The LLM judge's verdict on `output` (`pisar-review judge`, "Judge File"): another metric beside the cosine. */
  judge?: JudgeResult;
  /** The contradiction check beside the cosine (pisarReview.contradiction.enabled, `score --contradiction`): see NliCheck. */
  nli?: NliCheck;
  /** ISO time the record was written. */
  at: string;
}

/**
 * An LLM judge's verdict on a result's output, stored with the result. Current while the judge model (name and
 * model id) and the prompt sent (its hash covers the template, the reference, the output and the input) are the same.
 */
export interface JudgeResult {
  /** The judge model's name (one of the configured models). */
  model: string;
  /** The model id the judge request asked for (its "model" field). */
  modelId: string;
  /** First 16 hex digits of the SHA-256 of the messages sent to the judge. */
  promptHash: string;
  verdict?: 'good' | 'bad';
  /** The judge's 1-5 score, when it gave one. */
  rating?: number;
  /** The judge's one-sentence reason: text from a model, shown as data only. */
  reason?: string;
  /** The judgement failed: the call ('rate-limit', 'server', ...) or the answer ('unparsable'); no verdict. */
  error?: { kind: string; message: string; status?: number };
  usage?: { promptTokens?: number; completionTokens?: number };
  /** Answered from the request cache (no call made). */
  cached?: boolean;
  /** ISO time of the judgement. */
  at: string;
}

/**
 * A natural-language-inference cross-encoder's reading of a result's output (hypothesis) against the reference
 * it matched (premise): the three probabilities, the model that gave them (a changed model or weights re-checks).
 * The output "contradicts" where `contradiction` >= pisarReview.contradiction.threshold (read, not stored: a new
 * threshold needs no re-check).
 */
export interface NliCheck {
  contradiction: number;
  entailment: number;
  neutral: number;
  /** A row with several references: the 0-based index of the one checked against (the matched one, as `matchedReference`). */
  reference?: number;
  /** The NLI model: Hub id or folder, and the first 12 hex digits of its weights' SHA-256. */
  model: { id: string; weights?: string };
}

/** The results sidecar beside a dataset: `data.jsonl` -> `data.pisar-results.jsonl` (see sidecarFileFor). */
export function resultsFileFor(datasetFile: string): string {
  return sidecarFileFor(datasetFile, 'results');
}

const SOURCES = ['precomputed', 'called'];

/** Longest ids and names a sidecar line may hold (a row id, a model name, a tag): longer is an invalid line, not a crash. */
const MAX_ID = 4096;
const MAX_NAME = 1024;
const MAX_WORD = 128;
const HEX = /^[0-9a-f]{1,64}$/;

/** Why a parsed sidecar line is not a stored result, or undefined when it is one. Every field is checked: the file is data from outside. */
export function validateResult(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'expected a JSON object';
  const r = value as Record<string, unknown>;
  const problem = textProblem(r, 'rowId', MAX_ID, true) ?? textProblem(r, 'rowHash', 64, true) ?? textProblem(r, 'model', MAX_NAME, true) ?? textProblem(r, 'at', 64, true)
    ?? textProblem(r, 'promptHash', MAX_WORD) ?? hexProblem(r, 'outputHash', 16) ?? hexProblem(r, 'referenceHash', 16) ?? hexProblem(r, 'mac', 32)
    ?? textProblem(r, 'scorer', MAX_ID) ?? textProblem(r, 'answeredBy', MAX_NAME) ?? textProblem(r, 'finishReason', MAX_WORD) ?? textProblem(r, 'tag', MAX_NAME) ?? textProblem(r, 'correction', MAX_WORD)
    ?? textProblem(r, 'rawOutput', Number.MAX_SAFE_INTEGER) ?? textProblem(r, 'scoreNote', Number.MAX_SAFE_INTEGER) ?? textProblem(r, 'output', Number.MAX_SAFE_INTEGER);
  if (problem) return problem;
  if (!SOURCES.includes(r.source as string)) return '"source" must be "precomputed" or "called"';
  if (r.unmeasurable !== undefined) {
    const u = r.unmeasurable as Record<string, unknown> | null;
    const share = (v: unknown): boolean => typeof v === 'number' && v >= 0 && v <= 1;
    if (!u || typeof u !== 'object' || !share(u.limit) || (u.output !== undefined && !share(u.output)) || (u.reference !== undefined && !share(u.reference))) {
      return '"unmeasurable" must be {"limit": 0..1, "output"?: 0..1, "reference"?: 0..1}';
    }
  }
  if (r.error !== undefined) {
    const e = r.error as Record<string, unknown> | null;
    if (!e || typeof e !== 'object' || typeof e.kind !== 'string' || e.kind.length > MAX_WORD || typeof e.message !== 'string') return '"error" must be { kind, message }';
    if (e.status !== undefined && !(Number.isInteger(e.status) && (e.status as number) >= 100 && (e.status as number) <= 599)) return '"error.status" must be an HTTP status (100-599)';
  }
  if (r.output === undefined && r.error === undefined) return 'a result needs "output" or "error"';
  if (r.embedding !== undefined) {
    const e = r.embedding as Record<string, unknown> | null;
    const ok = e && typeof e === 'object' && !Array.isArray(e) && typeof e.id === 'string' && e.id.length <= MAX_ID
      && (e.dtype === undefined || (typeof e.dtype === 'string' && e.dtype.length <= MAX_WORD))
      && (e.weights === undefined || (typeof e.weights === 'string' && HEX.test(e.weights)));
    if (!ok) return '"embedding" must be {"id": string, "dtype"?: string, "weights"?: hex digits}';
  }
  if (r.outputFrom !== undefined && r.outputFrom !== 'file') return '"outputFrom" must be "file"';
  if (r.cached !== undefined && typeof r.cached !== 'boolean') return '"cached" must be true or false';
  if (r.latencyMs !== undefined && !isCount(r.latencyMs)) return '"latencyMs" must be a number of milliseconds';
  if (r.usage !== undefined) {
    const u = r.usage as Record<string, unknown> | null;
    if (!u || typeof u !== 'object' || Array.isArray(u) || (u.promptTokens !== undefined && !isCount(u.promptTokens)) || (u.completionTokens !== undefined && !isCount(u.completionTokens))) return '"usage" must be {"promptTokens"?: n, "completionTokens"?: n}';
  }
  if (r.scoreCut !== undefined && !(Array.isArray(r.scoreCut) && r.scoreCut.length <= 2 && r.scoreCut.every((p) => p === 'output' || p === 'reference'))) return '"scoreCut" must list "output" and/or "reference"';
  if (r.reasoningStripped !== undefined) {
    const x = r.reasoningStripped as Record<string, unknown> | null;
    if (!x || typeof x !== 'object' || typeof x.marker !== 'string' || x.marker.length > MAX_WORD || !isCount(x.chars)) return '"reasoningStripped" must be {"marker": string, "chars": n}';
  }

  return undefined;
}

// validateResult's checks of one field, as functions of their own: closures made anew for each of a million lines cost as much as the checks.
function textProblem(r: Record<string, unknown>, key: string, max: number, required = false): string | undefined {
  const v = r[key];
  if (v === undefined) return required ? `"${key}" must be a string` : undefined;
  if (typeof v !== 'string') return `"${key}" must be a string`;
  return v.length > max ? `"${key}" is ${v.length} characters long (at most ${max})` : undefined;
}

function hexProblem(r: Record<string, unknown>, key: string, exact?: number): string | undefined {
  const v = r[key];
  if (v === undefined) return undefined;
  return typeof v === 'string' && HEX.test(v) && (exact === undefined || v.length === exact) ? undefined : `"${key}" must be ${exact ?? 'up to 64'} hex digits`;
}

function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** Why a stored `judge` is not a judge result (every field is checked: the file is data from outside). */
function judgeProblem(value: unknown): string | undefined {
  const shape = '"judge" must be {"model", "modelId", "promptHash", "verdict"?: "good"|"bad", "rating"?: 1-5, "reason"?, "error"?, "usage"?, "cached"?, "at"}';
  if (!value || typeof value !== 'object' || Array.isArray(value)) return shape;
  const j = value as Record<string, unknown>;
  const text = (v: unknown, max: number) => typeof v === 'string' && v.length <= max;
  if (!text(j.model, MAX_NAME) || !text(j.modelId, MAX_NAME) || !text(j.promptHash, MAX_WORD) || !text(j.at, 64)) return shape;
  if (j.verdict !== undefined && j.verdict !== 'good' && j.verdict !== 'bad') return '"judge.verdict" must be "good" or "bad"';
  if (j.rating !== undefined && !(Number.isInteger(j.rating) && (j.rating as number) >= 1 && (j.rating as number) <= 5)) return '"judge.rating" must be a whole number from 1 to 5';
  if (j.reason !== undefined && typeof j.reason !== 'string') return '"judge.reason" must be a string';
  if (j.cached !== undefined && typeof j.cached !== 'boolean') return '"judge.cached" must be true or false';
  if (j.error !== undefined) {
    const e = j.error as Record<string, unknown> | null;
    if (!e || typeof e !== 'object' || typeof e.kind !== 'string' || e.kind.length > MAX_WORD || typeof e.message !== 'string') return '"judge.error" must be { kind, message }';
    if (e.status !== undefined && !(Number.isInteger(e.status) && (e.status as number) >= 100 && (e.status as number) <= 599)) return '"judge.error.status" must be an HTTP status (100-599)';
  }
  if ((j.verdict === undefined) === (j.error === undefined)) return '"judge" needs a "verdict" or an "error" (one of them)';
  if (j.usage !== undefined) {
    const u = j.usage as Record<string, unknown> | null;
    if (!u || typeof u !== 'object' || Array.isArray(u) || (u.promptTokens !== undefined && !isCount(u.promptTokens)) || (u.completionTokens !== undefined && !isCount(u.completionTokens))) return '"judge.usage" must be {"promptTokens"?: n, "completionTokens"?: n}';
  }
  return undefined;
}

/** Whether `next` fails the same way as the stored `prior` (same row content, prompt, kind, status and message, counts aside). */
export function repeatsFailure(prior: StoredResult, next: StoredResult): boolean {
  if (!prior.error || !next.error || prior.output !== undefined) return false;
  const digitsAside = (text: string) => text.replace(/\d+(\.\d+)?/g, '#');
  return prior.rowHash === next.rowHash && prior.source === next.source && prior.promptHash === next.promptHash &&
    prior.error.kind === next.error.kind && prior.error.status === next.error.status && digitsAside(prior.error.message) === digitsAside(next.error.message);
}

/** A stored score that cannot be a cosine similarity (NaN, text, outside [-1, 1]) is ignored, with a warning. */
function scoreWarning(value: unknown): string | undefined {
  for (const key of SCORE_KEYS) {
    const score = (value as Record<string, unknown>)[key];
    if (score === undefined || (typeof score === 'number' && Number.isFinite(score) && score >= -1 && score <= 1)) continue;
    return `"${key}" ${JSON.stringify(score) ?? String(score)} is not a cosine similarity (a number from -1 to 1); the score was ignored and the output kept`;
  }
  return referenceScoresWarning(value as Record<string, unknown>) ?? judgeWarning(value as Record<string, unknown>) ?? nliWarning(value as Record<string, unknown>);
}

const SCORE_KEYS = ['score', 'originalScore', 'humanScore'] as const;

/** A stored contradiction check that is not one (probabilities outside 0..1, no model) is ignored, with a warning; the output and its score are kept. */
function nliWarning(r: Record<string, unknown>): string | undefined {
  if (r.nli === undefined) return undefined;
  const n = r.nli as Record<string, unknown> | null;
  const probability = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
  const m = n && typeof n === 'object' ? (n.model as Record<string, unknown> | null) : null;
  const ok = n && typeof n === 'object' && !Array.isArray(n) && probability(n.contradiction) && probability(n.entailment) && probability(n.neutral)
    && (n.reference === undefined || (Number.isInteger(n.reference) && (n.reference as number) >= 0))
    && m && typeof m === 'object' && !Array.isArray(m) && typeof m.id === 'string' && m.id.length <= MAX_ID && (m.weights === undefined || (typeof m.weights === 'string' && HEX.test(m.weights)));
  return ok ? undefined : '"nli" must be {"contradiction", "entailment", "neutral": probabilities 0..1, "reference"?: index, "model": {"id", "weights"?: hex digits}}; the contradiction check was ignored and the output kept';
}

/** A stored judge verdict that is not one is ignored (the result is kept, its judgement redone), with a warning. */
function judgeWarning(r: Record<string, unknown>): string | undefined {
  if (r.judge === undefined) return undefined;
  const problem = judgeProblem(r.judge);
  return problem && `${problem}; the judge's verdict was ignored and the output kept`;
}

/** The scores against each of several references, checked like `score`. */
function referenceScoresWarning(r: Record<string, unknown>): string | undefined {
  const scores = r.referenceScores;
  if (scores === undefined) return undefined;
  const what = !Array.isArray(scores) || !scores.every((s) => s === null || (typeof s === 'number' && Number.isFinite(s) && s >= -1 && s <= 1))
    ? '"referenceScores" is not a list of cosine similarities (numbers from -1 to 1, or null)'
    : !Number.isInteger(r.matchedReference) || (r.matchedReference as number) < 0 || (r.matchedReference as number) >= scores.length ? '"matchedReference" is not the index of one of "referenceScores"'
      : r.multiReference !== 'best' && r.multiReference !== 'mean' ? '"multiReference" is not "best" or "mean"' : undefined;
  return what && `${what}; the score was ignored and the output kept`;
}

/**
 * A line as a result: a score that is no cosine similarity dropped; marked scored here when its MAC is this installation's
 * (`key`; `tailVerified`: the line's tail MAC was found valid on another thread, see OffThreadMacCheck).
 */
function withoutBadScore(value: unknown, line: string, key: Buffer | null, tailVerified = false, warnedOfNothing = false, verdict?: MacVerdict): StoredResult {
  const r = value as StoredResult;
  // scoreWarning found nothing (it reads the contradiction check and the judge too): nothing to drop.
  if (warnedOfNothing) return verified(r, line, key, tailVerified, verdict);
  if (nliWarning(r as unknown as Record<string, unknown>) !== undefined) {
    // Changed from what was written, so never verified: the score stays, shown as read from the file.
    const { nli: _nli, mac: _mac, ...rest } = r;
    return withoutBadScore(rest, line, key);
  }
  if (judgeWarning(r as unknown as Record<string, unknown>) !== undefined) {
    // Changed from what was written, so never verified.
    const { judge: _judge, mac: _mac, ...rest } = r;
    return withoutBadScore(rest, line, key);
  }
  if (scoreWarning(r) !== undefined) {
    // Changed from what was written, so never verified.
    const { score: _score, scorer: _scorer, originalScore: _original, referenceScores: _each, matchedReference: _matched, multiReference: _mode, humanScore: _human, mac: _mac, ...rest } = r;
    return rest;
  }
  return verified(r, line, key, tailVerified, verdict);
}

/**
 * `r` marked scored here when its MAC is this installation's (see withoutBadScore). With `verdict`, the mark is left to
 * the reader, told by verdict.checked: a result the store then holds in its columns needs none (a defineProperty a line
 * was 2-3% of reading two million lines).
 */
function verified(r: StoredResult, line: string, key: Buffer | null, tailVerified: boolean, verdict?: MacVerdict): StoredResult {
  if (hasValidMac(r, key, line, tailVerified)) {
    // Checked once: the 32 hex digits are never read again. Deleted while `mac` is still the line's last key (as this
    // installation writes it), so the object keeps its fast shape and the mark takes the slot the MAC held.
    delete r.mac;
    if (verdict) verdict.checked = true;
    else markScoredHere(r);
  }
  return r;
}

/** Whether the line last read had its MAC found valid (its mark left to the reader: see verified). */
interface MacVerdict {
  checked: boolean;
}

/**
 * A result as held without its texts: a copy (the caller's record is written and announced whole) of the keys the counts
 * read, in a new object (the record's spread copy kept its texts' empty slots and its out-of-object properties: ~350 bytes
 * a result against ~200): no output (a blank one kept: the counts read it as empty) but its fingerprint for outputIdentity,
 * no raw output, no digests, and no MAC (read only to verify a line; the copy is marked scored here, as a verified line is).
 */
function withoutTexts(r: StoredResult): StoredResult {
  const held = {} as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!NOT_HELD.has(key)) held[key] = r[key as keyof StoredResult];
  if (r.output !== undefined) {
    if (isEmptyOutput(r.output)) held.output = r.output;
    else (held as { [OUTPUT_FINGERPRINT]?: number })[OUTPUT_FINGERPRINT] = fingerprintOf(r.output);
  }
  if (isVerified(r)) markScoredHere(held); // the mark is not an own enumerable key: copied by hand
  return held as unknown as StoredResult;
}

/**
 * readSidecar's warn and map for results under the installation's `key` (looked up once a read, not once a line); a line's
 * fact 1: OffThreadMacCheck found its tail MAC valid. `texts: false`: held as dropTexts leaves them; a function: shown each
 * result with its texts, it says whether to hold it as it then is (see ResultsStore.open). With `verdict`, a line whose MAC
 * is valid is not marked: verdict.checked says so until the next line is read (see verified).
 */
function resultsOfLines(key: Buffer | null, texts: ReadTexts = true, verdict?: MacVerdict): Required<Pick<ReadSidecarOptions<StoredResult>, 'warn' | 'map'>> {
  // The value warn last found nothing wrong with: map, called next with that value, need not look again.
  let clean: unknown;
  const warn = (value: unknown): string | undefined => {
    const warning = scoreWarning(value);
    clean = warning === undefined ? value : undefined;
    return warning;
  };
  const read = (value: unknown, line: string, fact?: number) => {
    if (verdict) verdict.checked = false;
    return withoutBadScore(value, line, key, fact === 1, value === clean, verdict);
  };
  if (texts === true) return { warn, map: read };
  if (texts === false) return { warn, map: (value, line, fact) => dropTexts(read(value, line, fact)) };
  return {
    warn,
    map: (value, line, fact) => {
      const r = read(value, line, fact);
      return texts(r) ? r : dropTexts(r);
    },
  };
}

/** Whether results read from the file keep their texts: all, none, or as a function shown each result (its texts still in it) leaves them. */
export type ReadTexts = boolean | ((r: StoredResult) => boolean);

/** A results sidecar from this size has its MACs checked on another thread while it is parsed (a worker costs tens of ms to start). */
const OFF_THREAD_MACS_FROM_BYTES = 16 * 1024 * 1024;

/** Where a result read without its texts keeps its output's fingerprint (a symbol: never written, never from JSON). */
const OUTPUT_FINGERPRINT = Symbol('pisar-review.outputFingerprint');

/**
 * A result read from the file held as withoutTexts holds one, in place (set to undefined, not deleted: the object keeps
 * its shape, and no copy is made): a blank output is kept (the counts read it), and a fingerprint of the output stays for
 * outputIdentity.
 */
function dropTexts(r: StoredResult): StoredResult {
  if (r.output !== undefined && !isEmptyOutput(r.output)) {
    (r as { [OUTPUT_FINGERPRINT]?: number })[OUTPUT_FINGERPRINT] = fingerprintOf(r.output);
    r.output = undefined;
  }
  if (r.rawOutput !== undefined) r.rawOutput = undefined;
  if (r.outputHash !== undefined) r.outputHash = undefined;
  if (r.referenceHash !== undefined) r.referenceHash = undefined;
  return r;
}

/**
 * What tells a result's output from another's: its text, or for a result read without its texts (ResultsStore.open
 * `readTexts: false`) a 53-bit fingerprint of it (two 32-bit FNV-1a hashes; equal texts, equal values). Undefined: no output.
 */
export function outputIdentity(r: { readonly output?: string }): string | number | undefined {
  return r.output ?? (r as { [OUTPUT_FINGERPRINT]?: number })[OUTPUT_FINGERPRINT];
}

function fingerprintOf(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0) * 0x200000 + ((b ^ text.length) & 0x1fffff);
}

function maskResult(r: StoredResult): void {
  if (r.source === 'called' && r.output !== undefined) r.output = redactCredentials(r.output);
  if (r.error) r.error = { ...r.error, message: redactCredentials(r.error.message) };
  if (r.scoreNote !== undefined) r.scoreNote = redactCredentials(r.scoreNote);
  if (r.judge?.reason !== undefined) r.judge = { ...r.judge, reason: redactCredentials(r.judge.reason) };
  if (r.judge?.error) r.judge = { ...r.judge, error: { ...r.judge.error, message: redactCredentials(r.judge.error.message) } };
}

/**
 * A change of the results held: records this store appended ('write', with the byte range they took),
 * or records another process appended, read by refresh ('file'); no records and no rowIds when the
 * file was read again whole.
 */
export interface ResultsChange extends StoreChange {
  readonly records?: readonly StoredResult[];
  readonly range?: { readonly start: number; readonly end: number };
}

/**
 * All stored results of one dataset; the latest record per (row, model) wins. Appends go straight
 * to the sidecar (one line per record), so a crash loses nothing already appended.
 */
export class ResultsStore {
  /**
   * Row id -> the latest result of each model: a chain in the columns while they hold every one, else a small array
   * while a row has few models (a million rows each holding a Map of their own was a quarter of the store), a Map beyond.
   */
  private byRow = new Map<string, RowResults>();
  /** Results this store appended and holds as numbers (holdsTexts false): a row's entry is then their index here, chained by row. */
  private held = heldColumns();
  /**
   * "row\0model" -> the latest result scored here, only where a later line read from the file came after it
   * (a shipped or forged line must not displace what this machine computed; numbers read this one).
   */
  private shadowed = new Map<string, StoredResult>();
  private modelOrder = new Set<string>();
  private _problems: SidecarProblem[] = [];
  private _records = 0;
  private writeChain: Promise<void> = Promise.resolve();
  private readonly appender: SidecarAppender;
  /** Bytes of the file already read or written by this store: a refresh reads only what lies beyond. */
  private readonly position: SidecarPosition;
  private readonly changes = new ChangeEvents<ResultsChange>();

  /** Every change of the results held, naming the rows: this store's appends, and other writers' lines read by refresh(). */
  readonly onDidChange = this.changes.on;

  private constructor(
    readonly datasetFile: string,
    readonly file: string,
    /** Results this store appends are held with their output texts (false: a run that only counts them afterwards). */
    readonly holdsTexts: boolean,
    /** Results read from the file are held with their output texts (false: held as dropTexts leaves them). */
    private readonly readsTexts: ReadTexts,
    /** A sidecar from this size has its MACs checked on another thread while it is read whole (OffThreadMacCheck). */
    private readonly offThreadMacsFromBytes: number,
  ) {
    this.appender = new SidecarAppender(file);
    this.position = new SidecarPosition(file);
  }

  /**
   * Opens (and reads) the results sidecar of `datasetFile`; a missing sidecar is an empty store. `texts: false`: the
   * results this store appends are held without their output texts and text digests (written whole; a
   * blank output is kept, as the counts read it), for a run that only counts and scores them afterwards: `score` of a
   * million rows held every text. `readTexts: false`: the results read from the file are held so too (dropTexts; the
   * output told from another by outputIdentity), for a reader of numbers: `compare` of a million rows held every text.
   * `readTexts` a function: shown each result read, its texts still in it; true: the result is held as it then is (the
   * function may have taken what it needs and let go of the text: `report` keeps each output's token ids, so no output
   * text outlives its line), false: held as dropTexts leaves it.
   */
  static async open(datasetFile: string, options: { repair?: boolean; texts?: boolean; readTexts?: ReadTexts; offThreadMacsFromBytes?: number } = {}): Promise<ResultsStore> {
    const absolute = path.resolve(datasetFile);
    const store = new ResultsStore(absolute, resultsFileFor(absolute), options.texts ?? true, options.readTexts ?? true, options.offThreadMacsFromBytes ?? OFF_THREAD_MACS_FROM_BYTES);
    await store.load(options.repair);
    return store;
  }

  /** Lines skipped while reading (corrupt, invalid, cut off), each with file, line, reason and fix. */
  get problems(): readonly SidecarProblem[] {
    return this._problems;
  }

  /** How many records the sidecar holds (all of them, not only the latest). */
  get recordCount(): number {
    return this._records;
  }

  /** Re-reads the sidecar whole (another window or the CLI may have appended). */
  async reload(options: { repair?: boolean } = {}): Promise<void> {
    await this.writeChain;
    await this.load(options.repair);
    this.changes.fire({ origin: 'file', rowIds: undefined });
  }

  /**
   * Brings the store up to date with the file, reading only what was appended since it was last read
   * or written by this store (by byte offset). Returns undefined when nothing new is there (e.g. the
   * change a watcher saw was this store's own append), else the records read (all of them when the
   * file had to be read again whole: replaced, truncated, or another writer came between ours).
   */
  async refresh(options: { repair?: boolean } = {}): Promise<{ records: readonly StoredResult[]; whole: boolean } | undefined> {
    await this.writeChain;
    const pending = await this.position.pending();
    if (pending.read === 'nothing') return undefined;
    if (pending.read === 'whole') {
      await this.load(options.repair);
      this.changes.fire({ origin: 'file', rowIds: undefined });
      return { records: [...this.latestResults()], whole: true };
    }
    const { records, problems, end, lines } = await readSidecar<StoredResult>(this.file, { validate: validateResult, ...resultsOfLines(installationKey(), this.readsTexts), repair: options.repair ?? true, from: pending.from, firstLine: pending.firstLine });
    for (const r of records) this.remember(r, this.heldRead(r));
    this._problems = [...this._problems, ...problems];
    this.position.readTo(end ?? pending.from, lines ?? pending.firstLine, pending.ino);
    if (records.length > 0) this.changes.fire({ origin: 'file', rowIds: rowIdsOf(records), records });
    return { records, whole: false };
  }

  latest(rowId: string, model: string): StoredResult | undefined {
    const row = this.byRow.get(rowId);
    return row === undefined ? undefined : this.resultOf(rowId, entryOfModel(row, model, this.held));
  }

  /** The latest result scored on this machine (valid MAC, output called here or the row's own), even under later lines read from the file. */
  latestScoredHere(rowId: string, model: string): StoredResult | undefined {
    const r = this.latest(rowId, model);
    if (!r || isScoredHere(r)) return r;
    return this.shadowed.get(`${rowId}\0${model}`);
  }

  /** The latest result of each model for a row. */
  forRow(rowId: string): StoredResult[] {
    const row = this.byRow.get(rowId);
    return row !== undefined ? entriesOf(row, this.held).map((entry) => this.resultOf(rowId, entry)!) : [];
  }

  isStale(result: StoredResult, currentRowHash: string): boolean {
    return result.rowHash !== currentRowHash;
  }

  /** Models with stored results, in order of first appearance. */
  models(): string[] {
    return [...this.modelOrder];
  }

  /** Every latest result (one per row and model). */
  *latestResults(): IterableIterator<StoredResult> {
    for (const [rowId, row] of this.byRow) for (const entry of entriesOf(row, this.held)) yield this.resultOf(rowId, entry)!;
  }

  /** Appends results (one line each) and makes them the latest. Appends are serialised in call order. */
  append(results: readonly StoredResult[]): Promise<void> {
    if (results.length === 0) return this.writeChain;
    for (const r of results) {
      const problem = validateResult(r) ?? scoreWarning(r);
      if (problem) return Promise.reject(new Error(`refusing to store an invalid result for ${r.rowId}/${r.model}: ${problem}`));
    }
    // The file gate: whatever a server echoed never lands in the sidecar (masked in place, so events match the file).
    for (const r of results) maskResult(r);
    // Signed after masking: the MAC covers the line exactly as written.
    const key = installationKey(); // once an append, not once a line (its default argument works out the key file's path)
    for (const r of results) signRecord(r, key);
    const write = this.writeChain.then(() => {
      const range = this.appender.append(results);
      for (const r of results) this.remember(r, this.holdsTexts ? r : this.heldOf(r));
      if (range) {
        // Our lines follow what we know directly: the next refresh starts after them.
        this.position.wrote(range, results.length);
        this.changes.fire({ origin: 'write', rowIds: rowIdsOf(results), records: results, range: { start: range.start, end: range.end } });
      }
    });
    // Keep the chain alive after a failed write; the caller still sees the failure.
    this.writeChain = write.catch(() => undefined);
    return write;
  }

  /** Throws (naming the file and the fix) when the sidecar cannot be appended to: a run checks before its first call. */
  checkWritable(): Promise<void> {
    return checkAppendable(this.file);
  }

  /** Resolves when every append made so far has reached the file. */
  flushed(): Promise<void> {
    return this.writeChain;
  }

  private async load(repair = true): Promise<void> {
    const ino = await this.position.currentIno();
    const key = installationKey();
    const size = key ? await fs.promises.stat(this.file).then((s) => s.size, () => 0) : 0;
    const macs = key && size >= this.offThreadMacsFromBytes ? OffThreadMacCheck.start(key) : undefined;
    // Each result is held as it is read (heldRead: the line's object let go at once where the columns hold it); what was
    // held before comes back if the read fails.
    const before = { byRow: this.byRow, held: this.held, shadowed: this.shadowed, modelOrder: this.modelOrder, records: this._records };
    this.byRow = new Map();
    this.held = heldColumns();
    this.shadowed = new Map();
    this.modelOrder = new Set();
    this._records = 0;
    const verdict: MacVerdict = { checked: false };
    const lines = resultsOfLines(key, this.readsTexts, this.readsTexts === true ? undefined : verdict);
    let contents: Awaited<ReturnType<typeof readSidecar<StoredResult>>>;
    try {
      contents = await readSidecar<StoredResult>(this.file, {
        validate: validateResult, ...lines, repair, ...(macs ? { lineFacts: (bytes: Uint8Array) => macs.verdicts(bytes) } : {}),
        onRecord: (r) => this.remember(r, this.heldRead(r, verdict.checked)),
      });
    } catch (error) {
      ({ byRow: this.byRow, held: this.held, shadowed: this.shadowed, modelOrder: this.modelOrder, records: this._records } = before);
      throw error;
    } finally {
      macs?.close();
    }
    const { problems, end, lines: lineCount } = contents;
    this.position.readTo(end, lineCount, ino);
    this._problems = problems;
  }

  /**
   * Makes `r` the latest of its row and model; `entry` is what is held for it: r itself, its copy without texts, or its
   * index in the columns (heldOf).
   */
  private remember(r: StoredResult, entry: HeldEntry = r): void {
    this._records++;
    if (typeof entry !== 'number') this.share(entry);
    const model = typeof entry === 'number' ? this.held.model(entry) : entry.model;
    const row = this.byRow.get(r.rowId);
    if (row === undefined) this.byRow.set(r.rowId, rowOf(entry, this.held));
    else {
      // The row's id and (mostly) hash are already held by its other results: keep one copy of each.
      // (A row chained in the columns holds its strings there: nothing to share, and its chain is not walked for it.)
      const other = typeof entry === 'number' ? undefined : firstEntry(row);
      if (typeof entry !== 'number' && other !== undefined && typeof other !== 'number') {
        entry.rowId = other.rowId;
        if (entry.rowHash === other.rowHash) entry.rowHash = other.rowHash;
      }
      const before = entryOfModel(row, model, this.held);
      // The key made only where the map is read or written: a million rows scored here shadow nothing.
      if (this.scoredHere(entry)) {
        if (this.shadowed.size > 0) this.shadowed.delete(`${r.rowId}\0${model}`);
      } else if (before !== undefined && this.scoredHere(before)) this.shadowed.set(`${r.rowId}\0${model}`, this.resultOf(r.rowId, before)!);
      // A newer result takes the older one's place in the order.
      const grown = withEntry(row, entry, model, this.held);
      if (grown !== row) this.byRow.set(r.rowId, grown);
    }
    this.modelOrder.add(model);
  }

  /** A result appended by a store that holds no texts: its index in the columns, or (a shape they do not hold, a blank output) withoutTexts's copy. */
  private heldOf(r: StoredResult): HeldEntry {
    const blank = r.output !== undefined && isEmptyOutput(r.output);
    const index = blank ? undefined : this.held.hold(r as unknown as Record<string, unknown>, { fingerprint: r.output !== undefined ? fingerprintOf(r.output) : undefined, verified: isVerified(r) });
    return index ?? withoutTexts(r);
  }

  /**
   * A result read from the file, as this store holds it: itself where it reads texts; else, once readTexts has let go of
   * its output (a fingerprint or token ids in its place), its index in the columns where they hold its shape (two million
   * results read by report or compare were two million objects the collector promoted and marked), else itself.
   */
  private heldRead(r: StoredResult, checked = isVerified(r)): HeldEntry {
    if (this.readsTexts === true) return r;
    const extras = { fingerprint: (r as { [OUTPUT_FINGERPRINT]?: number })[OUTPUT_FINGERPRINT], tokens: (r as { [OUTPUT_TOKENS_AT]?: number })[OUTPUT_TOKENS_AT], verified: checked };
    const index = this.held.hold(r as unknown as Record<string, unknown>, extras, true);
    if (index !== undefined) return index;
    // Its MAC found valid as it was read, its mark left to here (load: see verified).
    if (checked && !isVerified(r)) markScoredHere(r);
    return r;
  }

  /** The result an entry holds (made again from the columns when it is an index). */
  private resultOf(rowId: string, entry: HeldEntry | undefined): StoredResult | undefined {
    return typeof entry === 'number' ? (this.held.result(entry, rowId) as unknown as StoredResult) : entry;
  }

  private scoredHere(entry: HeldEntry): boolean {
    return typeof entry === 'number' ? this.held.verified(entry) : isScoredHere(entry);
  }

  /** Two million results repeat a few model names, sources, scorers and write times: one string each, not one a record. */
  private share(r: StoredResult): void {
    r.model = this.shared(r.model);
    r.source = this.shared(r.source);
    if (r.scorer !== undefined) r.scorer = this.shared(r.scorer);
    if (r.at === this.lastAt) r.at = this.lastAt;
    else this.lastAt = r.at;
  }

  private shared<T extends string>(text: T): T {
    const known = this.strings.get(text);
    if (known !== undefined) return known as T;
    // Model names and scorers are few; a file with endless distinct ones is still read, only not shared beyond this.
    if (this.strings.size < 10_000) this.strings.set(text, text);
    return text;
  }
  private readonly strings = new Map<string, string>();
  private lastAt: string | undefined;
}

/** Columns for the results a store appends without their texts; a result made again gets the fingerprint and mark withoutTexts gives. */
function heldColumns(): HeldResults {
  return new HeldResults(
    (r, { fingerprint, tokens }) => {
      if (fingerprint !== undefined) (r as { [OUTPUT_FINGERPRINT]?: number })[OUTPUT_FINGERPRINT] = fingerprint;
      if (tokens !== undefined) (r as { [OUTPUT_TOKENS_AT]?: number })[OUTPUT_TOKENS_AT] = tokens;
    },
    (verified) => (verified ? scoredHereRecord() : {}),
  );
}

/** A result held by a row: the result, or its index in the store's columns (HeldResults). */
type HeldEntry = StoredResult | number;

/**
 * A row's latest result per model, in order of first appearance: the first of a chain of results held in the columns
 * (a number: no array a row), an array up to ROW_ARRAY_MODELS models, a Map beyond (a row with 40,000 models costs no
 * scan per lookup).
 */
type RowResults = number | HeldEntry[] | Map<string, HeldEntry>;
const ROW_ARRAY_MODELS = 16;

function modelOfEntry(entry: HeldEntry, held: HeldResults): string {
  return typeof entry === 'number' ? held.model(entry) : entry.model;
}

/** A new row's results: a result held in the columns is a chain of one. */
function rowOf(entry: HeldEntry, held: HeldResults): RowResults {
  if (typeof entry !== 'number') return [entry];
  held.chain(entry, -1);
  return entry;
}

/** A row's first result (the chain's first index, or the first held object). */
function firstEntry(row: RowResults): HeldEntry | undefined {
  if (typeof row === 'number') return row;
  return Array.isArray(row) ? row[0] : row.values().next().value;
}

/** A row's results in order. */
function entriesOf(row: RowResults, held: HeldResults): HeldEntry[] {
  if (typeof row === 'number') {
    const entries: number[] = [];
    for (let at = row; at !== -1; at = held.next(at)) entries.push(at);
    return entries;
  }
  return Array.isArray(row) ? row : [...row.values()];
}

function entryOfModel(row: RowResults, model: string, held: HeldResults): HeldEntry | undefined {
  if (typeof row === 'number') {
    for (let at = row; at !== -1; at = held.next(at)) if (held.model(at) === model) return at;
    return undefined;
  }
  if (!Array.isArray(row)) return row.get(model);
  for (const entry of row) if (modelOfEntry(entry, held) === model) return entry;
  return undefined;
}

/**
 * `row` with `entry` in its model's place (replaced in place), or a row holding it too: a chain of results held in the
 * columns grows by one while it has room; with an object among them (or too many models), an array of the exact length, or a Map.
 */
function withEntry(row: RowResults, entry: HeldEntry, model: string, held: HeldResults): RowResults {
  if (typeof row === 'number') {
    if (typeof entry === 'number') {
      let length = 0;
      for (let at = row, before = -1; ; before = at, at = held.next(at)) {
        length++;
        if (held.model(at) === model) {
          held.chain(entry, held.next(at));
          if (before === -1) return entry; // the row's first result replaced: the chain starts at the new one
          held.chain(before, entry);
          return row;
        }
        if (held.next(at) === -1) {
          if (length >= ROW_ARRAY_MODELS) break;
          held.chain(at, entry);
          held.chain(entry, -1);
          return row;
        }
      }
    }
    row = entriesOf(row, held);
  }
  if (!Array.isArray(row)) return row.set(model, entry);
  const at = row.findIndex((x) => modelOfEntry(x, held) === model);
  if (at >= 0) {
    row[at] = entry;
    return row;
  }
  // concat allocates the exact length: push would leave room for 16 more results in every row.
  return row.length < ROW_ARRAY_MODELS ? row.concat(entry) : new Map([...row, entry].map((x) => [modelOfEntry(x, held), x]));
}

function rowIdsOf(records: readonly { readonly rowId: string }[]): string[] {
  return [...new Set(records.map((r) => r.rowId))];
}
