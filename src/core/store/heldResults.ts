// Results a run appends and only counts afterwards (ResultsStore.open `texts: false`), and results a reader of numbers
// reads from the sidecar (`readTexts` false or a function: compare, report), held as numbers in typed columns instead of
// one object each: a result of the common shapes (a score, its scorer and embedding model, the write time, the
// row's hash, a fingerprint of its output) costs ~46 bytes here against ~300 as objects (the object, its out-of-object
// properties, two boxed numbers and the row hash's string), and a row's results are chained here, not held in an array.
// A result is made an object again each time it is asked for, with the keys it was held with, in their order.

import { HEX_DIGITS } from '../dataset/rowHashes';

/** A results record as the store holds it (results.ts's StoredResult, read by key: this module imports nothing of the store). */
type HeldRecord = Record<string, unknown>;

/** The keys the columns hold (each with its own column); a result with any other key is held as an object. */
const COLUMN_KEYS = new Set(['rowId', 'rowHash', 'model', 'source', 'tag', 'at', 'score', 'scorer', 'scoreCut', 'embedding']);
/** Keys a result appended by a store that holds no texts is held without: its texts, their digests and its MAC. */
export const NOT_HELD: ReadonlySet<string> = new Set(['output', 'rawOutput', 'outputHash', 'referenceHash', 'mac']);
const NONE = 0xffff;
const MAX_SHAPES = 255;

const SOURCE_CALLED = 1;
const VERIFIED = 2;
const CUT_OUTPUT = 4;
const CUT_REFERENCE = 8;
const CUT_REFERENCE_FIRST = 16;
const FINGERPRINT = 32;
/** The fingerprint column holds where the output's token ids are (OUTPUT_TOKENS_AT), not a fingerprint. */
const TOKENS = 64;

/**
 * Where a result read without its output text keeps where its output's token ids are (report's OutputTokens, in
 * src/core/report/rougeL.ts): a symbol, never written, never from JSON; the columns hold it as a number.
 */
export const OUTPUT_TOKENS_AT: unique symbol = Symbol('pisar-review.outputTokens');

export interface HeldExtras {
  /** The output's fingerprint (outputIdentity), when the output is held only by it. */
  readonly fingerprint: number | undefined;
  /** The result is this installation's (its MAC was valid, or it was signed here). */
  readonly verified: boolean;
  /** Where the output's token ids are (OUTPUT_TOKENS_AT), when the output is held only by them. */
  readonly tokens?: number | undefined;
}

/** Results a chunk of columns holds: columns are never copied to grow, and hold at most one chunk more than is used. */
const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
const IN_CHUNK = CHUNK - 1;

/** The columns of CHUNK results. */
class Columns {
  readonly shapeOf = new Uint8Array(CHUNK);
  readonly flags = new Uint8Array(CHUNK);
  readonly modelOf = new Uint16Array(CHUNK);
  readonly scorerOf = new Uint16Array(CHUNK);
  readonly tagOf = new Uint16Array(CHUNK);
  readonly embeddingOf = new Uint16Array(CHUNK);
  readonly hashHigh = new Uint32Array(CHUNK);
  readonly hashLow = new Uint32Array(CHUNK);
  readonly atOf = new Uint32Array(CHUNK);
  readonly scoreOf = new Float64Array(CHUNK);
  readonly fingerprintOf = new Float64Array(CHUNK);
  /** The next result held of the same row (a row's results chained in the order of their models' first appearance), or -1. */
  readonly nextOf = new Int32Array(CHUNK);
}

export class HeldResults {
  private count = 0;
  /** Columns in chunks of CHUNK results (doubling one array a column left up to half of it unused, and copied it whole). */
  private readonly chunks: Columns[] = [];
  /** Key lists in the order each result had them (without the keys not held). */
  private readonly shapes = new Numbered<readonly string[]>(MAX_SHAPES);
  /** Model names, scorers and tags: few, one string each. */
  private readonly names = new Numbered<string>(NONE);
  private readonly embeddings = new Numbered<object>(NONE);
  private lastEmbedding: { value: unknown; index: number } | undefined;
  /** Write times, each once in a row of results that share it (a run writes many results in one millisecond). */
  private readonly times: string[] = [];

  constructor(
    /** Gives a result made again what the columns do not name as keys: the output's fingerprint or token ids' place. */
    private readonly dress: (result: HeldRecord, extras: HeldExtras) => void,
    /** A new empty result, this installation's (verified) or not: where the scored-here mark comes from. */
    private readonly create: (verified: boolean) => HeldRecord,
  ) {}

  /**
   * Holds `r` (its texts, digests and MAC left out) and returns its index, or undefined when r is not of a shape the columns
   * hold. `read`: r was read from the sidecar and is held as it is, so a key the columns leave out must already read
   * undefined (dropTexts, OutputTokens.take): a result that still has its output, digests or MAC stays an object.
   */
  hold(r: Readonly<HeldRecord>, extras: HeldExtras, read = false): number | undefined {
    const plan = this.planOf(Object.keys(r));
    if (plan === undefined) return undefined;
    if (read) for (const key of plan.left) if (r[key] !== undefined) return undefined;
    for (const key of plan.kept) if (r[key] === undefined) return undefined;
    if (typeof r.rowId !== 'string' || typeof r.rowHash !== 'string' || typeof r.model !== 'string' || typeof r.at !== 'string') return undefined;
    const high = hexWord(r.rowHash, 0);
    const low = hexWord(r.rowHash, 8);
    if (high < 0 || low < 0 || r.rowHash.length !== 16) return undefined;
    if (r.source !== 'precomputed' && r.source !== 'called') return undefined;
    if (r.score !== undefined && typeof r.score !== 'number') return undefined;
    if (extras.fingerprint !== undefined && extras.tokens !== undefined) return undefined;
    let cut = 0;
    if (r.scoreCut !== undefined) {
      cut = cutFlags(r.scoreCut);
      if (cut < 0) return undefined;
    }
    const model = this.name(r.model);
    const scorer = r.scorer === undefined ? NONE : typeof r.scorer === 'string' ? this.name(r.scorer) : undefined;
    const tag = r.tag === undefined ? NONE : typeof r.tag === 'string' ? this.name(r.tag) : undefined;
    const embedding = r.embedding === undefined ? NONE : this.embeddingNumber(r.embedding);
    const shape = plan.shape ?? this.shape(plan);
    if (model === undefined || scorer === undefined || tag === undefined || embedding === undefined || shape === undefined) return undefined;

    const i = this.count;
    const c = (this.chunks[i >>> CHUNK_BITS] ??= new Columns());
    const j = i & IN_CHUNK;
    this.count++;
    c.shapeOf[j] = shape;
    c.flags[j] = (r.source === 'called' ? SOURCE_CALLED : 0) | (extras.verified ? VERIFIED : 0) | cut | (extras.fingerprint !== undefined ? FINGERPRINT : 0) | (extras.tokens !== undefined ? TOKENS : 0);
    c.modelOf[j] = model;
    c.scorerOf[j] = scorer;
    c.tagOf[j] = tag;
    c.embeddingOf[j] = embedding;
    c.hashHigh[j] = high;
    c.hashLow[j] = low;
    if (this.times.length === 0 || this.times[this.times.length - 1] !== r.at) this.times.push(r.at);
    c.atOf[j] = this.times.length - 1;
    c.scoreOf[j] = r.score ?? 0;
    c.fingerprintOf[j] = extras.fingerprint ?? extras.tokens ?? 0;
    c.nextOf[j] = -1;
    return i;
  }

  /** The model of the result held at `i`. */
  model(i: number): string {
    return this.names.at(this.chunks[i >>> CHUNK_BITS].modelOf[i & IN_CHUNK]);
  }

  /** The result chained after `i` in its row (see next), or -1. */
  next(i: number): number {
    return this.chunks[i >>> CHUNK_BITS].nextOf[i & IN_CHUNK];
  }

  /** Chains `next` (or -1: none) after `i`. */
  chain(i: number, next: number): void {
    this.chunks[i >>> CHUNK_BITS].nextOf[i & IN_CHUNK] = next;
  }

  /** Whether the result held at `i` is this installation's. */
  verified(i: number): boolean {
    return (this.chunks[i >>> CHUNK_BITS].flags[i & IN_CHUNK] & VERIFIED) !== 0;
  }

  /** The result held at `i`, made again as an object of the keys it was held with (rowId: the row's id, as the store keys it). */
  result(i: number, rowId: string): HeldRecord {
    const c = this.chunks[i >>> CHUNK_BITS];
    const j = i & IN_CHUNK;
    const flags = c.flags[j];
    const r = this.create((flags & VERIFIED) !== 0);
    for (const key of this.shapes.at(c.shapeOf[j])) {
      switch (key) {
        case 'rowId': r.rowId = rowId; break;
        case 'rowHash': r.rowHash = hex16(c.hashHigh[j], c.hashLow[j]); break;
        case 'model': r.model = this.names.at(c.modelOf[j]); break;
        case 'source': r.source = flags & SOURCE_CALLED ? 'called' : 'precomputed'; break;
        case 'tag': r.tag = this.names.at(c.tagOf[j]); break;
        case 'at': r.at = this.times[c.atOf[j]]; break;
        case 'score': r.score = c.scoreOf[j]; break;
        case 'scorer': r.scorer = this.names.at(c.scorerOf[j]); break;
        case 'scoreCut': r.scoreCut = cutOf(flags); break;
        case 'embedding': r.embedding = this.embeddings.at(c.embeddingOf[j]); break;
      }
    }
    this.dress(r, { fingerprint: flags & FINGERPRINT ? c.fingerprintOf[j] : undefined, verified: (flags & VERIFIED) !== 0, tokens: flags & TOKENS ? c.fingerprintOf[j] : undefined });
    return r;
  }

  private name(text: string): number | undefined {
    return this.names.numberOf(text, text);
  }

  /**
   * What to do with a result of these keys, in this order: the keys held and those left out; undefined when one is neither
   * (the result stays an object). The last list's plan is kept: a million lines read or appended share a few.
   */
  private planOf(keys: readonly string[]): KeyPlan | undefined {
    const last = this.lastPlan;
    if (last !== undefined && sameKeys(last.keys, keys)) return last.plan;
    const kept = keys.filter((key) => !NOT_HELD.has(key));
    const plan = kept.every((key) => COLUMN_KEYS.has(key)) ? { kept, left: keys.filter((key) => NOT_HELD.has(key)), shape: undefined } : undefined;
    this.lastPlan = { keys, plan };
    return plan;
  }
  private lastPlan: { keys: readonly string[]; plan: KeyPlan | undefined } | undefined;

  /** The number of a plan's key list, numbered at its first result held. */
  private shape(plan: KeyPlan): number | undefined {
    const n = this.shapes.numberOf(plan.kept.join(','), plan.kept);
    plan.shape = n;
    return n;
  }

  /** One object per distinct embedding model (a run's results name one): the results made again share it, as a batch's did. */
  private embeddingNumber(embedding: unknown): number | undefined {
    const last = this.lastEmbedding;
    if (last !== undefined && (last.value === embedding || sameFlatObject(last.value, embedding))) return last.index;
    if (typeof embedding !== 'object' || embedding === null) return undefined;
    const n = this.embeddings.numberOf(JSON.stringify(embedding), embedding);
    if (n !== undefined) this.lastEmbedding = { value: embedding, index: n };
    return n;
  }
}

/** The keys of a result held (in its order) and those left out (NOT_HELD); its shape's number once one is held. */
interface KeyPlan {
  readonly kept: readonly string[];
  readonly left: readonly string[];
  shape: number | undefined;
}

/** Values held once each, numbered in order of first use (by an id that tells them apart), at most `max` of them. */
class Numbered<T> {
  private readonly values: T[] = [];
  private readonly numbers = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** The number of the value of `id` (`value` numbered now if new), or undefined once `max` values are numbered. */
  numberOf(id: string, value: T): number | undefined {
    let n = this.numbers.get(id);
    if (n === undefined) {
      if (this.values.length >= this.max) return undefined;
      n = this.values.length;
      this.values.push(value);
      this.numbers.set(id, n);
    }
    return n;
  }

  at(n: number): T {
    return this.values[n];
  }
}


/** Two 32-bit words as 16 lower-case hex digits: one flat string (Number#toString(16) of a word past 2^31 went to the runtime). */
function hex16(high: number, low: number): string {
  const d = HEX_DIGITS;
  return String.fromCharCode(
    d[high >>> 28], d[(high >>> 24) & 15], d[(high >>> 20) & 15], d[(high >>> 16) & 15], d[(high >>> 12) & 15], d[(high >>> 8) & 15], d[(high >>> 4) & 15], d[high & 15],
    d[low >>> 28], d[(low >>> 24) & 15], d[(low >>> 20) & 15], d[(low >>> 16) & 15], d[(low >>> 12) & 15], d[(low >>> 8) & 15], d[(low >>> 4) & 15], d[low & 15],
  );
}

/** The 32-bit word of 8 lower-case hex digits at `from` of `text`, or -1 where one is not a lower-case hex digit (or missing). */
function hexWord(text: string, from: number): number {
  let word = 0;
  for (let i = from; i < from + 8; i++) {
    const c = text.charCodeAt(i); // NaN past the end: no digit
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (digit < 0) return -1;
    word = word * 16 + digit;
  }
  return word;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether two values are objects of the same keys in the same order, each value the same string, number or boolean
 * (an embedding model as each line names it: JSON.stringify of each would cost a string a line).
 */
function sameFlatObject(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null || Array.isArray(a) || Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return false;
    const va = (a as Record<string, unknown>)[ka[i]];
    if (typeof va === 'object' && va !== null) return false;
    if (!Object.is(va, (b as Record<string, unknown>)[kb[i]])) return false;
  }
  return true;
}

/** The flags of a scoreCut the scorer writes (['output'], ['reference'], both), or -1 for anything else. */
function cutFlags(cut: unknown): number {
  if (!Array.isArray(cut) || cut.length === 0 || cut.length > 2) return -1;
  if (cut.length === 1) return cut[0] === 'output' ? CUT_OUTPUT : cut[0] === 'reference' ? CUT_REFERENCE : -1;
  if (cut[0] === 'output' && cut[1] === 'reference') return CUT_OUTPUT | CUT_REFERENCE;
  if (cut[0] === 'reference' && cut[1] === 'output') return CUT_OUTPUT | CUT_REFERENCE | CUT_REFERENCE_FIRST;
  return -1;
}

function cutOf(flags: number): ('output' | 'reference')[] {
  if (flags & CUT_REFERENCE_FIRST) return ['reference', 'output'];
  return [...(flags & CUT_OUTPUT ? ['output' as const] : []), ...(flags & CUT_REFERENCE ? ['reference' as const] : [])];
}
