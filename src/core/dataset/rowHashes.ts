import * as crypto from 'node:crypto';

/** Bytes of a row hash kept per row: the first 8 of its SHA-1, shown as 16 hex digits. */
const HASH_BYTES = 8;

/** The character codes of the lower-case hex digits, as Buffer's toString('hex') writes them. */
export const HEX_DIGITS = Uint16Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** Row hashes in one growing byte array (no string a row until one is asked for). */
export class RowHashes {
  private bytes: Uint8Array;
  private count = 0;
  /** No hash was computed (the index was built without them): every row's hash reads ''. */
  constructor(readonly empty: boolean) {
    this.bytes = new Uint8Array(empty ? 0 : HASH_BYTES * 1024);
  }

  push(digest: Uint8Array | undefined): void {
    if (this.empty) {
      this.count++; // nothing kept: every hash reads ''
      return;
    }
    this.reserve(1);
    if (digest) this.bytes.set(digest.subarray(0, HASH_BYTES), this.count * HASH_BYTES);
    this.count++;
  }

  /** The hashes of another part, in order. */
  append(other: { readonly bytes: Uint8Array; readonly count: number }): void {
    if (this.empty) {
      this.count += other.count;
      return;
    }
    this.reserve(other.count);
    this.bytes.set(other.bytes.subarray(0, other.count * HASH_BYTES), this.count * HASH_BYTES);
    this.count += other.count;
  }

  /** Room for `more` hashes, growing by doubling. */
  private reserve(more: number): void {
    const needed = (this.count + more) * HASH_BYTES;
    if (needed <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.count * HASH_BYTES));
    this.bytes = grown;
  }

  get(index: number): string {
    return this.empty ? '' : Buffer.from(this.bytes.buffer, this.bytes.byteOffset + index * HASH_BYTES, HASH_BYTES).toString('hex');
  }

  /**
   * get(index) === hash, with no string made: a result's stored row hash (16 lower-case hex digits) against the row's.
   * compare checks two million results against their rows.
   */
  is(index: number, hash: string): boolean {
    if (this.empty) return hash === '';
    if (typeof hash !== 'string' || hash.length !== 2 * HASH_BYTES) return false;
    const at = index * HASH_BYTES;
    for (let i = 0; i < HASH_BYTES; i++) {
      const byte = this.bytes[at + i];
      if (hash.charCodeAt(2 * i) !== HEX_DIGITS[byte >> 4] || hash.charCodeAt(2 * i + 1) !== HEX_DIGITS[byte & 15]) return false;
    }
    return true;
  }

  /**
   * The first row whose hash is `hash` (get(index) === hash), undefined when none: an open-addressing table of row
   * positions on the hashes' first four bytes, made at the first call (8 bytes a row; a Map of a million hex strings
   * to lists of rows was made for one annotation whose row had moved).
   */
  indexOf(hash: string): number | undefined {
    if (this.empty) return hash === '' && this.count > 0 ? 0 : undefined;
    if (typeof hash !== 'string' || hash.length !== 2 * HASH_BYTES) return undefined;
    let key = 0;
    for (let i = 0; i < 8; i++) {
      const digit = HEX_DIGITS.indexOf(hash.charCodeAt(i));
      if (digit < 0) return undefined;
      key = (key << 4) | digit;
    }
    const table = (this.table ??= this.tableOfRows());
    const mask = table.length - 1;
    for (let slot = key & mask; ; slot = (slot + 1) & mask) {
      const at = table[slot];
      if (at < 0) return undefined;
      if (this.is(at, hash)) return at;
    }
  }
  private table: Int32Array | undefined;

  private tableOfRows(): Int32Array {
    let capacity = 16;
    while (capacity < this.count * 2) capacity *= 2;
    const table = new Int32Array(capacity).fill(-1);
    const mask = capacity - 1;
    const bytes = this.bytes;
    for (let i = 0; i < this.count; i++) {
      const at = i * HASH_BYTES;
      const key = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
      for (let slot = key & mask; ; slot = (slot + 1) & mask) {
        const other = table[slot];
        if (other < 0) {
          table[slot] = i;
          break;
        }
        if (this.sameBytes(other, i)) break; // the first row with the hash stays
      }
    }
    return table;
  }

  private sameBytes(a: number, b: number): boolean {
    for (let k = 0; k < HASH_BYTES; k++) if (this.bytes[a * HASH_BYTES + k] !== this.bytes[b * HASH_BYTES + k]) return false;
    return true;
  }

  /** True when `digest` (a row's SHA-1) begins with the hash kept for row `index`: compared as bytes, no string made. */
  matches(index: number, digest: Uint8Array): boolean {
    const at = index * HASH_BYTES;
    for (let i = 0; i < HASH_BYTES; i++) if (this.bytes[at + i] !== digest[i]) return false;
    return true;
  }

  /** What a part hands over: just the bytes in use. */
  transferable(): { bytes: Uint8Array; count: number } {
    return { bytes: this.bytes.slice(0, this.count * HASH_BYTES), count: this.count };
  }
}

/** A row's SHA-1 (crypto.hash, one call, where Node has it). */
export const digestBytes: (bytes: Uint8Array) => Buffer =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (bytes) => (crypto as unknown as { hash(a: string, d: Uint8Array, e: string): Buffer }).hash('sha1', bytes, 'buffer')
    : (bytes) => crypto.createHash('sha1').update(bytes).digest();

/** Bytes a block of ByteBlocks reaches before it ends, at the next line's start (as many as rows() reads at once). */
const BLOCK_BYTES = 8 * 1024 * 1024;

/**
 * The SHA-1 of the indexed bytes in blocks of about BLOCK_BYTES, each ended at a line's start (so no line is in two), as
 * the index read them: a sequential read back (Dataset.rows) checks a block of rows with one digest of the bytes it read
 * instead of one a row (the second SHA-1 a row was 3.7% of report's main thread at a million rows); a block that differs
 * is checked row by row, as before.
 */
export class ByteBlocks {
  private starts: number[] = [];
  private ends: number[] = [];
  private digests: Uint8Array[] = [];
  private hash: crypto.Hash | undefined;
  private blockStart = 0;
  private size = 0;

  /** `off`: nothing is kept (an index without row hashes has nothing to check rows against). */
  constructor(readonly off: boolean, private readonly target = BLOCK_BYTES) {}

  /** Takes the next bytes indexed: `chunk`, from file offset `at` (right after the bytes taken before). */
  feed(chunk: Uint8Array, at: number): void {
    if (this.off) return;
    let from = 0;
    while (from < chunk.length) {
      if (this.hash === undefined) {
        this.hash = crypto.createHash('sha1');
        this.blockStart = at + from;
        this.size = 0;
      }
      // The block ends after the first newline at or past its target size.
      const newline = chunk.indexOf(NEWLINE, from + Math.max(this.target - this.size - 1, 0));
      if (newline < 0) {
        this.hash.update(chunk.subarray(from));
        this.size += chunk.length - from;
        return;
      }
      this.hash.update(chunk.subarray(from, newline + 1));
      this.size += newline + 1 - from;
      this.close();
      from = newline + 1;
    }
  }

  /** Ends the block being taken (the end of what this index reads). */
  finish(): void {
    if (this.hash !== undefined) this.close();
  }

  /** Blocks kept, in file order. */
  get count(): number {
    return this.starts.length;
  }

  start(k: number): number {
    return this.starts[k];
  }

  end(k: number): number {
    return this.ends[k];
  }

  /** True when `bytes` are block k's bytes as indexed. */
  holds(k: number, bytes: Uint8Array): boolean {
    return bytes.length === this.ends[k] - this.starts[k] && digestBytes(bytes).equals(this.digests[k]);
  }

  /** What a part indexed on another thread hands over. */
  transferable(): { starts: number[]; ends: number[]; digests: Uint8Array[] } {
    return { starts: this.starts, ends: this.ends, digests: this.digests };
  }

  /** The blocks of the next part of the file (this index's own block ended first). */
  append(other: { readonly starts: readonly number[]; readonly ends: readonly number[]; readonly digests: readonly Uint8Array[] }): void {
    if (this.off) return;
    this.finish();
    this.starts.push(...other.starts);
    this.ends.push(...other.ends);
    this.digests.push(...other.digests);
  }

  private close(): void {
    this.starts.push(this.blockStart);
    this.ends.push(this.blockStart + this.size);
    this.digests.push(new Uint8Array(this.hash!.digest())); // its own memory: a part posts it to another thread
    this.hash = undefined;
  }
}

const NEWLINE = 0x0a;
