/**
 * Rows' ids as written (raw: before a repeated or missing one is given a made-up id), kept as bytes until a
 * string is asked for. An ASCII id (most are) is copied into one growing byte array with its hash, any other is
 * kept as the string it is. Checking that all ids differ needs no string, and inspect asks for none: a million id
 * strings cost a third of its time at 1,000,000 rows, most of it in garbage collection.
 */
export class RowIds {
  private bytes = new Uint8Array(1 << 16);
  private used = 0;
  /** Per row: where its id starts in `bytes`, or, for an id kept as a string, its index in `strings`. */
  private starts = new Float64Array(1024);
  /** Per row: its id's length in `bytes`; NONE: the row has no id; STRING: the id is in `strings`. */
  private lengths = new Int32Array(1024);
  /** Per row: the FNV-1a hash of its id's UTF-16 code units. */
  private hashes = new Uint32Array(1024);
  private readonly strings: string[] = [];
  /** Every id as a string, once asked for (the bytes are let go then). */
  private decoded: (string | undefined)[] | undefined;
  count = 0;

  /** Adds the id written as `buf[start..end)`, when it is ASCII (false, nothing added, when it is not). */
  pushAscii(buf: Uint8Array, start: number, end: number): boolean {
    const length = end - start;
    if (this.used + length > this.bytes.length) this.growBytes(length);
    const bytes = this.bytes;
    let at = this.used;
    let hash = 0x811c9dc5;
    for (let j = start; j < end; j++) {
      const byte = buf[j];
      if (byte >= 0x80) return false;
      bytes[at++] = byte;
      hash = Math.imul(hash ^ byte, 0x01000193);
    }
    this.add(this.used, length, hash >>> 0);
    this.used = at;
    return true;
  }

  /** Adds an id read as a string (undefined: the row has none). */
  push(id: string | undefined): void {
    if (id === undefined) {
      this.add(0, NONE, 0);
      return;
    }
    this.strings.push(id);
    this.add(this.strings.length - 1, STRING, hashOf(id));
  }

  /** Every row's id, in row order (made once; the bytes are let go). */
  all(): readonly (string | undefined)[] {
    if (this.decoded) return this.decoded;
    const view = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.used);
    const ids: (string | undefined)[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) {
      const length = this.lengths[i];
      ids[i] = length === NONE ? undefined : length === STRING ? this.strings[this.starts[i]] : textOf(view, this.starts[i], this.starts[i] + length, true);
    }
    this.decoded = ids;
    this.bytes = new Uint8Array(0);
    this.starts = new Float64Array(0);
    this.lengths = new Int32Array(0);
    this.hashes = new Uint32Array(0);
    this.strings.length = 0;
    return ids;
  }

  /**
   * True when every row has an id and no two are the same. An open-addressing table of row positions in one
   * typed array (a Set of a million strings cost a second, most of it growing and garbage).
   */
  allDistinct(): boolean {
    if (this.decoded) return distinctStrings(this.decoded);
    let capacity = 16;
    while (capacity < this.count * 2) capacity *= 2;
    const slots = new Int32Array(capacity).fill(-1);
    const mask = capacity - 1;
    const { hashes, lengths } = this;
    for (let i = 0; i < this.count; i++) {
      if (lengths[i] === NONE) return false;
      const hash = hashes[i];
      for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
        const other = slots[slot];
        if (other < 0) {
          slots[slot] = i;
          break;
        }
        if (hashes[other] === hash && this.same(other, i)) return false;
      }
    }
    return true;
  }

  /** Rows a and b (both with an id) have the same id. */
  private same(a: number, b: number): boolean {
    const length = this.lengths[a];
    if (length === STRING || this.lengths[b] === STRING) return this.stringAt(a) === this.stringAt(b);
    if (length !== this.lengths[b]) return false;
    const from = this.starts[a];
    const to = this.starts[b];
    for (let j = 0; j < length; j++) if (this.bytes[from + j] !== this.bytes[to + j]) return false;
    return true;
  }

  private stringAt(i: number): string {
    const length = this.lengths[i];
    if (length === STRING) return this.strings[this.starts[i]];
    return textOf(Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.used), this.starts[i], this.starts[i] + length, true);
  }

  private add(start: number, length: number, hash: number): void {
    if (this.count === this.lengths.length) {
      const size = this.count * 2;
      const starts = new Float64Array(size);
      starts.set(this.starts);
      this.starts = starts;
      const lengths = new Int32Array(size);
      lengths.set(this.lengths);
      this.lengths = lengths;
      const hashes = new Uint32Array(size);
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    this.starts[this.count] = start;
    this.lengths[this.count] = length;
    this.hashes[this.count] = hash;
    this.count++;
  }

  private growBytes(more: number): void {
    const grown = new Uint8Array(Math.max(this.used + more, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.used));
    this.bytes = grown;
  }
}

/**
 * Row positions by id: open addressing in one Int32Array on the ids' FNV-1a hashes (hashOf), the strings compared only
 * on a hash's slot. A Map of a million ids (built from a million [id, position] pairs) was 2% of report's main thread
 * and tens of MB the collector marks; this is 8 bytes a row, off the JS heap. As such a Map, the last of equal ids wins.
 */
export class RowIdTable {
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(private readonly ids: readonly string[]) {
    let capacity = 16;
    while (capacity < ids.length * 2) capacity *= 2;
    this.slots = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      for (let slot = hashOf(id) & this.mask; ; slot = (slot + 1) & this.mask) {
        const other = this.slots[slot];
        if (other < 0 || ids[other] === id) {
          this.slots[slot] = i;
          break;
        }
      }
    }
  }

  /** The position of the row with this id; undefined when no row has it. */
  get(id: string): number | undefined {
    if (typeof id !== 'string') return undefined;
    for (let slot = hashOf(id) & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = this.slots[slot];
      if (at < 0) return undefined;
      if (this.ids[at] === id) return at;
    }
  }
}

const NONE = -1;
const STRING = -2;

/** A 32-bit FNV-1a hash of a string's UTF-16 code units (of an ASCII id: its bytes). */
export function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** allDistinct over ids already decoded. */
function distinctStrings(ids: readonly (string | undefined)[]): boolean {
  const seen = new RowIds();
  for (const id of ids) seen.push(id);
  return seen.allDistinct();
}

/** Buffer's own decoders, called as methods without toString's checks of its arguments (they cost as much as decoding a short id). */
interface BufferSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
const hasSlices = typeof (Buffer.prototype as unknown as Partial<BufferSlices>).latin1Slice === 'function' && typeof (Buffer.prototype as unknown as Partial<BufferSlices>).utf8Slice === 'function';

/** The text of `buf[start..end)`, UTF-8 already checked; `ascii`: no byte there is 0x80 or more. */
export function textOf(buf: Buffer, start: number, end: number, ascii: boolean): string {
  if (!hasSlices) return buf.toString(ascii ? 'latin1' : 'utf8', start, end);
  const slices = buf as unknown as BufferSlices;
  return ascii ? slices.latin1Slice(start, end) : slices.utf8Slice(start, end);
}
