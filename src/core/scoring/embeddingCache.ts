import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { readSafe, truncateSafe, writeSafe } from '../store/safeFile';
import type { TextFacts } from './embedder';

// 2: each record carries the text's facts (word pieces, pieces read, unknown pieces) after its hash.
const FORMAT_VERSION = 2;
const HASH_BYTES = 32;
const FACT_BYTES = 12;

export function textHash(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A text's key in memory: its SHA-256's 32 bytes as a one-byte string (half the memory of hex). */
export function textKey(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest().toString('latin1');
}

/** The key in memory of a hash made by textHash. */
export function keyOfHash(hash: Buffer): string {
  return hash.toString('latin1');
}

/** Texts held per block in memory: a block is one Float32Array of vectors, one Uint32Array of facts, one Uint8Array of hashes. */
const BLOCK = 4096;

/** Where a key's probe starts in the table: its first four bytes (a SHA-256's bytes are uniform). */
function probeStart(key: string): number {
  return key.charCodeAt(0) | (key.charCodeAt(1) << 8) | (key.charCodeAt(2) << 16) | (key.charCodeAt(3) << 24);
}

interface CacheMeta {
  version: number;
  namespace: string;
  dim: number;
}

export interface CacheEntry {
  hash: Buffer;
  /** The key in memory (textKey / keyOfHash). */
  key: string;
  vector: Float32Array;
  /** What the model read of the text (local models); absent for remote ones. */
  facts?: TextFacts;
}

/**
 * Embeddings on disk for one namespace (provider, model, dtype): an append-only file of
 * [sha256(text) | uint32 x 3 facts (0 when unknown) | float32 x dim] records, loaded whole on first use.
 */
export class EmbeddingCache {
  readonly dir: string;
  /**
   * In memory: a slot per text, its hash, vector and facts at that slot of fixed-size typed-array blocks, found
   * through an open-addressing table of slot numbers: no object or string a text (a Map of 32-byte string keys
   * cost ~90 bytes a text: 270 MB for the 3,000,000 texts of a million rows).
   */
  private table = new Uint32Array(1024);
  /** Slots in use (texts held). */
  private count = 0;
  private hashBlocks: Uint8Array[] = [];
  private vectorBlocks: Float32Array[] = [];
  private factBlocks: Uint32Array[] = [];
  /** The width of the vectors held in memory. */
  private width = 0;
  private dim: number | undefined;
  private loading: Promise<void> | undefined;
  private writeChain: Promise<void> = Promise.resolve();

  constructor(cacheDir: string, readonly namespace: string) {
    const id = createHash('sha256').update(namespace).digest('hex').slice(0, 32);
    this.dir = join(cacheDir, 'embeddings', id);
  }

  private get metaFile(): string {
    return join(this.dir, 'meta.json');
  }

  private get dataFile(): string {
    return join(this.dir, 'vectors.bin');
  }

  /** Texts held in memory (after load: every text on disk). */
  get size(): number {
    return this.count;
  }

  load(): Promise<void> {
    this.loading ??= this.readFromDisk();
    return this.loading;
  }

  /** The vector of a text by its key (textKey): a view of the block holding it, to read. */
  get(key: string): Float32Array | undefined {
    const slot = this.slotOf(key);
    if (slot === undefined) return undefined;
    const at = (slot % BLOCK) * this.width;
    return this.vectorBlocks[Math.floor(slot / BLOCK)].subarray(at, at + this.width);
  }

  /** What the model read of a text, by its key, kept with its vector (so a re-score never loads the model to count). */
  facts(key: string): TextFacts | undefined {
    const slot = this.slotOf(key);
    if (slot === undefined) return undefined;
    const block = this.factBlocks[Math.floor(slot / BLOCK)];
    const at = (slot % BLOCK) * 3;
    return block[at] > 0 ? { pieces: block[at], read: block[at + 1], unknown: block[at + 2] } : undefined;
  }

  /** The slot holding `key`, or undefined. */
  private slotOf(key: string): number | undefined {
    const mask = this.table.length - 1;
    for (let i = probeStart(key) & mask; ; i = (i + 1) & mask) {
      const entry = this.table[i];
      if (entry === 0) return undefined;
      if (this.hashAt(entry - 1, key)) return entry - 1;
    }
  }

  /** True when the slot holds the hash whose key is `key` (32 one-byte characters). */
  private hashAt(slot: number, key: string): boolean {
    const block = this.hashBlocks[Math.floor(slot / BLOCK)];
    const at = (slot % BLOCK) * HASH_BYTES;
    for (let k = 0; k < HASH_BYTES; k++) if (block[at + k] !== key.charCodeAt(k)) return false;
    return key.length === HASH_BYTES;
  }

  /** Enters a new slot in the table (the table at most half full: grown by doubling). */
  private enter(key: string, slot: number): void {
    if (2 * (this.count + 1) > this.table.length) this.rehash(this.table.length * 2);
    const mask = this.table.length - 1;
    let i = probeStart(key) & mask;
    while (this.table[i] !== 0) i = (i + 1) & mask;
    this.table[i] = slot + 1;
  }

  private rehash(size: number): void {
    const table = new Uint32Array(size);
    const mask = size - 1;
    for (let slot = 0; slot < this.count; slot++) {
      const block = this.hashBlocks[Math.floor(slot / BLOCK)];
      const at = (slot % BLOCK) * HASH_BYTES;
      let i = (block[at] | (block[at + 1] << 8) | (block[at + 2] << 16) | (block[at + 3] << 24)) & mask;
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = slot + 1;
    }
    this.table = table;
  }

  /** Holds a vector (copied into its block) and its facts; a vector of another width starts memory over. */
  private hold(key: string, vector: Float32Array, facts: TextFacts | undefined): void {
    if (vector.length !== this.width) {
      this.table = new Uint32Array(1024);
      this.count = 0;
      this.hashBlocks = [];
      this.vectorBlocks = [];
      this.factBlocks = [];
      this.width = vector.length;
    }
    let slot = this.slotOf(key);
    if (slot === undefined) {
      slot = this.count;
      const b = Math.floor(slot / BLOCK);
      this.hashBlocks[b] ??= new Uint8Array(BLOCK * HASH_BYTES);
      this.vectorBlocks[b] ??= new Float32Array(BLOCK * this.width);
      this.factBlocks[b] ??= new Uint32Array(BLOCK * 3);
      const at = (slot % BLOCK) * HASH_BYTES;
      for (let k = 0; k < HASH_BYTES; k++) this.hashBlocks[b][at + k] = key.charCodeAt(k);
      this.enter(key, slot);
      this.count++;
    }
    const b = Math.floor(slot / BLOCK);
    this.vectorBlocks[b].set(vector, (slot % BLOCK) * this.width);
    const at = (slot % BLOCK) * 3;
    this.factBlocks[b][at] = facts?.pieces ?? 0;
    this.factBlocks[b][at + 1] = facts?.read ?? 0;
    this.factBlocks[b][at + 2] = facts?.unknown ?? 0;
  }

  /** Keeps vectors in memory and appends them to disk in one write (a torn tail is cut on the next load). */
  put(entries: readonly CacheEntry[]): Promise<void> {
    if (entries.length === 0) return this.writeChain;
    const dim = entries[0].vector.length;
    for (const { key, vector, facts } of entries) this.hold(key, vector, facts);
    this.writeChain = this.writeChain.then(() => this.append(entries, dim)).catch(() => {
      // A cache that cannot be written only costs recomputation later; scoring goes on.
    });
    return this.writeChain;
  }

  flush(): Promise<void> {
    return this.writeChain;
  }

  private async append(entries: readonly CacheEntry[], dim: number): Promise<void> {
    if (this.dim !== dim) {
      // First write, or the model's width changed: start the file over.
      await fs.mkdir(this.dir, { recursive: true });
      const meta: CacheMeta = { version: FORMAT_VERSION, namespace: this.namespace, dim };
      await writeSafe(this.dataFile, new Uint8Array(0));
      await writeSafe(this.metaFile, `${JSON.stringify(meta)}\n`);
      this.dim = dim;
    }
    const recordBytes = HASH_BYTES + FACT_BYTES + 4 * dim;
    const out = Buffer.allocUnsafe(recordBytes * entries.length);
    entries.forEach(({ hash, vector, facts }, i) => {
      const at = i * recordBytes;
      hash.copy(out, at);
      out.writeUInt32LE(facts?.pieces ?? 0, at + HASH_BYTES);
      out.writeUInt32LE(facts?.read ?? 0, at + HASH_BYTES + 4);
      out.writeUInt32LE(facts?.unknown ?? 0, at + HASH_BYTES + 8);
      Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).copy(out, at + HASH_BYTES + FACT_BYTES);
    });
    await writeSafe(this.dataFile, out, 'append');
  }

  private async readFromDisk(): Promise<void> {
    let meta: CacheMeta;
    try {
      const text = await readSafe(this.metaFile);
      if (!text) return;
      meta = JSON.parse(text.toString('utf8')) as CacheMeta;
    } catch {
      return; // no cache yet, or unreadable: it is rebuilt on the first write
    }
    if (meta.version !== FORMAT_VERSION || meta.namespace !== this.namespace || !(meta.dim > 0)) return;
    let data: Buffer | undefined;
    try {
      data = await readSafe(this.dataFile);
    } catch {
      return;
    }
    if (!data) return;
    const recordBytes = HASH_BYTES + FACT_BYTES + 4 * meta.dim;
    const whole = Math.floor(data.length / recordBytes);
    if (whole * recordBytes !== data.length) {
      // An interrupted append left a partial record: cut it so later appends stay aligned.
      try {
        await truncateSafe(this.dataFile, whole * recordBytes);
      } catch {
        return; // a linked or unwritable cache is not used; scoring computes instead
      }
    }
    // One aligned copy so each vector can be read as a Float32Array, then copied into its block.
    const aligned = new Uint8Array(whole * recordBytes);
    aligned.set(data.subarray(0, whole * recordBytes));
    data = undefined;
    const view = new DataView(aligned.buffer);
    for (let i = 0; i < whole; i++) {
      const at = i * recordBytes;
      const pieces = view.getUint32(at + HASH_BYTES, true);
      const facts = pieces > 0 ? { pieces, read: view.getUint32(at + HASH_BYTES + 4, true), unknown: view.getUint32(at + HASH_BYTES + 8, true) } : undefined;
      this.hold(Buffer.from(aligned.buffer, at, HASH_BYTES).toString('latin1'), new Float32Array(aligned.buffer, at + HASH_BYTES + FACT_BYTES, meta.dim), facts);
    }
    this.dim = meta.dim;
  }
}
