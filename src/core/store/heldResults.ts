// Results a run appends and only counts afterwards (ResultsStore.open `texts: false`), held as numbers in typed columns
// instead of one object each: a result of the common shapes (a score, its scorer and embedding model, the write time, the
// row's hash, a fingerprint of its output) costs ~46 bytes here against ~300 as objects (the object, its out-of-object
// properties, two boxed numbers and the row hash's string), and a row's results are chained here, not held in an array.
// A result is made an object again each time it is asked for, with the keys it was held with, in their order.

/** A results record as the store holds it (results.ts's StoredResult, read by key: this module imports nothing of the store). */
type HeldRecord = Record<string, unknown>;

/** The keys the columns hold (each with its own column); a result with any other key is held as an object. */
const COLUMN_KEYS = new Set(['rowId', 'rowHash', 'model', 'source', 'tag', 'at', 'score', 'scorer', 'scoreCut', 'embedding']);
/** Keys a result appended by a store that holds no texts is held without: its texts, their digests and its MAC. */
export const NOT_HELD: ReadonlySet<string> = new Set(['output', 'rawOutput', 'outputHash', 'referenceHash', 'mac']);
const HEX16 = /^[0-9a-f]{16}$/;
const NONE = 0xffff;
const MAX_SHAPES = 255;

const SOURCE_CALLED = 1;
const VERIFIED = 2;
const CUT_OUTPUT = 4;
const CUT_REFERENCE = 8;
const CUT_REFERENCE_FIRST = 16;
const FINGERPRINT = 32;

export interface HeldExtras {
  /** The output's fingerprint (outputIdentity), when the output is held only by it. */
  readonly fingerprint: number | undefined;
  /** The result is this installation's (its MAC was valid, or it was signed here). */
  readonly verified: boolean;
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
  private readonly shapes = new Numbered<string[]>(MAX_SHAPES);
  /** Model names, scorers and tags: few, one string each. */
  private readonly names = new Numbered<string>(NONE);
  private readonly embeddings = new Numbered<object>(NONE);
  private lastEmbedding: { value: unknown; index: number } | undefined;
  /** Write times, each once in a row of results that share it (a run writes many results in one millisecond). */
  private readonly times: string[] = [];

  constructor(
    /** Gives a result made again what the columns do not name as keys: the output's fingerprint and the scored-here mark. */
    private readonly dress: (result: HeldRecord, extras: HeldExtras) => void,
  ) {}

  /** Holds `r` (its texts, digests and MAC left out) and returns its index, or undefined when r is not of a shape the columns hold. */
  hold(r: Readonly<HeldRecord>, extras: HeldExtras): number | undefined {
    const keys: string[] = [];
    for (const key of Object.keys(r)) {
      if (NOT_HELD.has(key)) continue;
      if (!COLUMN_KEYS.has(key) || r[key] === undefined) return undefined;
      keys.push(key);
    }
    if (typeof r.rowId !== 'string' || typeof r.rowHash !== 'string' || !HEX16.test(r.rowHash) || typeof r.model !== 'string' || typeof r.at !== 'string') return undefined;
    if (r.source !== 'precomputed' && r.source !== 'called') return undefined;
    if (r.score !== undefined && typeof r.score !== 'number') return undefined;
    let cut = 0;
    if (r.scoreCut !== undefined) {
      cut = cutFlags(r.scoreCut);
      if (cut < 0) return undefined;
    }
    const model = this.name(r.model);
    const scorer = r.scorer === undefined ? NONE : typeof r.scorer === 'string' ? this.name(r.scorer) : undefined;
    const tag = r.tag === undefined ? NONE : typeof r.tag === 'string' ? this.name(r.tag) : undefined;
    const embedding = r.embedding === undefined ? NONE : this.embeddingNumber(r.embedding);
    const shape = this.shape(keys);
    if (model === undefined || scorer === undefined || tag === undefined || embedding === undefined || shape === undefined) return undefined;

    const i = this.count;
    const c = (this.chunks[i >>> CHUNK_BITS] ??= new Columns());
    const j = i & IN_CHUNK;
    this.count++;
    c.shapeOf[j] = shape;
    c.flags[j] = (r.source === 'called' ? SOURCE_CALLED : 0) | (extras.verified ? VERIFIED : 0) | cut | (extras.fingerprint !== undefined ? FINGERPRINT : 0);
    c.modelOf[j] = model;
    c.scorerOf[j] = scorer;
    c.tagOf[j] = tag;
    c.embeddingOf[j] = embedding;
    c.hashHigh[j] = Number.parseInt(r.rowHash.slice(0, 8), 16);
    c.hashLow[j] = Number.parseInt(r.rowHash.slice(8), 16);
    if (this.times.length === 0 || this.times[this.times.length - 1] !== r.at) this.times.push(r.at);
    c.atOf[j] = this.times.length - 1;
    c.scoreOf[j] = r.score ?? 0;
    c.fingerprintOf[j] = extras.fingerprint ?? 0;
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
    const r: HeldRecord = {};
    for (const key of this.shapes.at(c.shapeOf[j])) {
      switch (key) {
        case 'rowId': r.rowId = rowId; break;
        case 'rowHash': r.rowHash = hex8(c.hashHigh[j]) + hex8(c.hashLow[j]); break;
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
    this.dress(r, { fingerprint: flags & FINGERPRINT ? c.fingerprintOf[j] : undefined, verified: (flags & VERIFIED) !== 0 });
    return r;
  }

  private name(text: string): number | undefined {
    return this.names.numberOf(text, text);
  }

  private shape(keys: string[]): number | undefined {
    return this.shapes.numberOf(keys.join(','), keys);
  }

  /** One object per distinct embedding model (a run's results name one): the results made again share it, as a batch's did. */
  private embeddingNumber(embedding: unknown): number | undefined {
    const last = this.lastEmbedding;
    if (last !== undefined && last.value === embedding) return last.index;
    if (typeof embedding !== 'object' || embedding === null) return undefined;
    const n = this.embeddings.numberOf(JSON.stringify(embedding), embedding);
    if (n !== undefined) this.lastEmbedding = { value: embedding, index: n };
    return n;
  }
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

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
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
