import { createHash } from 'node:crypto';
import { closeSync, promises as fs, readSync } from 'node:fs';
import { join } from 'node:path';
import { openSafe, openSafeSync, readSafe, truncateSafe, writeSafe } from '../store/safeFile';
import type { TextFacts } from './embedder';

// 2: each record carries the text's facts (word pieces, pieces read, unknown pieces) after its hash.
const FORMAT_VERSION = 2;
const HASH_BYTES = 32;
const FACT_BYTES = 12;

/**
 * A text's key in memory: its SHA-256's 32 bytes as a one-byte string (half the memory of hex), made without a Buffer
 * (a run hashes every text it scores: a Buffer each was an ArrayBuffer and its backing store a text in flight).
 */
export function textKey(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('binary'); // 'binary' is latin1: a byte a character
}

/** Texts held per block in memory: a block is one Uint8Array of hashes, one Uint32Array of facts, one of record numbers. */
const BLOCK = 4096;
/** A slot whose vector is in no record of the file (its write failed, or the file was started over). */
const NO_RECORD = 0xffffffff;
/**
 * A text's facts in memory: its word pieces, then the pieces read and the unknown ones on 16 bits each (a model reads a
 * few hundred); facts wider than that are held in a map, marked by WIDE_FACTS in their second word.
 */
const FACT_WORDS = 2;
const WIDE_FACTS = 0xffffffff;
/** Bytes of the file read at a time on load. */
const LOAD_CHUNK_BYTES = 4 << 20;

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
  /** The key in memory (textKey): the text's SHA-256, written as the record's first bytes. */
  key: string;
  vector: Float32Array;
  /** What the model read of the text (local models); absent for remote ones. */
  facts?: TextFacts;
}

/**
 * Embeddings on disk for one namespace (provider, model, dtype): an append-only file of
 * [sha256(text) | uint32 x 3 facts (0 when unknown) | float32 x dim] records. The file is read once, in chunks, for
 * its hashes and facts; a vector is read from its record when asked for (a vector written this run is held until its
 * record is on disk), so memory holds ~50 bytes a text whatever the model's width: every vector of a million rows
 * (three million texts, 4.6 GB at all-MiniLM-L6-v2's 384 dimensions) was held to the end of the run.
 */
export class EmbeddingCache {
  readonly dir: string;
  /**
   * A slot per text: its hash, facts and record number at that slot of fixed-size typed-array blocks, found through
   * an open-addressing table of slot numbers: no object or string a text (a Map of 32-byte string keys cost ~90 bytes
   * a text: 270 MB for the 3,000,000 texts of a million rows).
   */
  private table = new Uint32Array(1024);
  /** Slots in use (texts held). */
  private count = 0;
  private hashBlocks: Uint8Array[] = [];
  private factBlocks: Uint32Array[] = [];
  /** Facts of a slot whose pieces read or unknown do not fit 16 bits (see FACT_WORDS), by slot. */
  private wideFacts: Map<number, TextFacts> | undefined;
  private recordBlocks: Uint32Array[] = [];
  /** Vectors put whose records are not on disk yet, by slot (kept when their write failed: the run still uses them). */
  private readonly unwritten = new Map<number, Float32Array>();
  /** The width of the vectors of the slots held. */
  private width = 0;
  /** The width of the file's records, once it is read or written. */
  private dim: number | undefined;
  /** Records the file holds once the appends queued are done: the next record's number. */
  private records = 0;
  /** The file, open for reading vectors (opened at the first read). */
  private fd: number | undefined;
  private record: Buffer | undefined;
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

  /** Texts held (after load: every text on disk; their vectors on disk or about to be). */
  get size(): number {
    return this.count;
  }

  load(): Promise<void> {
    this.loading ??= this.readFromDisk();
    return this.loading;
  }

  /**
   * The vector of a text by its key (textKey), read from its record; undefined when the cache has none, or when the
   * record no longer holds that text (the file was started over or cut by another process): it is computed again.
   */
  get(key: string): Float32Array | undefined {
    const slot = this.slotOf(key);
    if (slot === undefined) return undefined;
    return this.unwritten.get(slot) ?? this.readVector(slot, key);
  }

  /** What the model read of a text, by its key, kept with its vector (so a re-score never loads the model to count). */
  facts(key: string): TextFacts | undefined {
    const slot = this.slotOf(key);
    if (slot === undefined) return undefined;
    const block = this.factBlocks[Math.floor(slot / BLOCK)];
    const at = (slot % BLOCK) * FACT_WORDS;
    if (block[at] === 0) return undefined;
    const packed = block[at + 1];
    return packed === WIDE_FACTS ? this.wideFacts?.get(slot) : { pieces: block[at], read: packed & 0xffff, unknown: packed >>> 16 };
  }

  /** Closes the file read for vectors (reopened at the next read). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private readVector(slot: number, key: string): Float32Array | undefined {
    const record = this.recordBlocks[Math.floor(slot / BLOCK)][slot % BLOCK];
    if (record === NO_RECORD || this.dim !== this.width) return undefined;
    const recordBytes = HASH_BYTES + FACT_BYTES + 4 * this.width;
    if (this.record?.length !== recordBytes) this.record = Buffer.alloc(recordBytes); // not pooled: offset 0, so the floats are aligned
    try {
      this.fd ??= openSafeSync(this.dataFile, 'read');
      if (readSync(this.fd, this.record, 0, recordBytes, record * recordBytes) !== recordBytes) return undefined;
    } catch {
      return undefined; // an unreadable cache only costs recomputation
    }
    for (let k = 0; k < HASH_BYTES; k++) if (this.record[k] !== key.charCodeAt(k)) return undefined;
    return new Float32Array(this.record.buffer, HASH_BYTES + FACT_BYTES, this.width).slice();
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

  /**
   * Enters a new slot in the table, at most three quarters full (grown by doubling): a miss probes ~4-8 entries there,
   * each told apart by its hash's first byte, and a table kept half full took 4 MB for the 300,000 texts of 100,000 rows.
   */
  private enter(key: string, slot: number): void {
    if (4 * (this.count + 1) > 3 * this.table.length) this.rehash(this.table.length * 2);
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

  /** Forgets every text: the vectors held are of another width now. */
  private startOver(width: number): void {
    this.table = new Uint32Array(1024);
    this.count = 0;
    this.hashBlocks = [];
    this.factBlocks = [];
    this.wideFacts = undefined;
    this.recordBlocks = [];
    this.unwritten.clear();
    this.width = width;
  }

  /** Holds a text's facts and the number of the record holding its vector; returns its slot. */
  private hold(key: string, facts: TextFacts | undefined, record: number): number {
    let slot = this.slotOf(key);
    if (slot === undefined) {
      slot = this.count;
      const b = Math.floor(slot / BLOCK);
      this.hashBlocks[b] ??= new Uint8Array(BLOCK * HASH_BYTES);
      this.factBlocks[b] ??= new Uint32Array(BLOCK * FACT_WORDS);
      this.recordBlocks[b] ??= new Uint32Array(BLOCK);
      const at = (slot % BLOCK) * HASH_BYTES;
      for (let k = 0; k < HASH_BYTES; k++) this.hashBlocks[b][at + k] = key.charCodeAt(k);
      this.enter(key, slot);
      this.count++;
    }
    const b = Math.floor(slot / BLOCK);
    this.recordBlocks[b][slot % BLOCK] = record;
    const at = (slot % BLOCK) * FACT_WORDS;
    this.factBlocks[b][at] = facts?.pieces ?? 0;
    this.wideFacts?.delete(slot);
    if (facts !== undefined && (facts.read >= 0xffff || facts.unknown > 0xffff)) {
      this.factBlocks[b][at + 1] = WIDE_FACTS;
      (this.wideFacts ??= new Map()).set(slot, { pieces: facts.pieces, read: facts.read, unknown: facts.unknown });
    } else this.factBlocks[b][at + 1] = ((facts?.read ?? 0) | ((facts?.unknown ?? 0) << 16)) >>> 0;
    return slot;
  }

  /** Holds vectors until their records are on disk and appends them in one write (a torn tail is cut on the next load). */
  put(entries: readonly CacheEntry[]): Promise<void> {
    if (entries.length === 0) return this.writeChain;
    const dim = entries[0].vector.length;
    if (dim !== this.width) {
      // Another width: memory and (at the append) the file start over.
      this.startOver(dim);
      this.records = 0;
    }
    const slots = entries.map(({ key, vector, facts }) => {
      const slot = this.hold(key, facts, this.records++);
      this.unwritten.set(slot, vector);
      return slot;
    });
    this.writeChain = this.writeChain.then(() => this.append(entries, dim)).then(() => {
      // On disk now: read from there. (A write that failed leaves them held: this run still uses them.)
      slots.forEach((slot, i) => {
        if (this.unwritten.get(slot) === entries[i].vector) this.unwritten.delete(slot);
      });
    }).catch(() => {
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
    entries.forEach(({ key, vector, facts }, i) => {
      const at = i * recordBytes;
      out.write(key, at, HASH_BYTES, 'latin1');
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
    const recordBytes = HASH_BYTES + FACT_BYTES + 4 * meta.dim;
    let whole: number;
    try {
      const handle = await openSafe(this.dataFile, 'read');
      try {
        const { size } = await handle.stat();
        whole = Math.floor(size / recordBytes);
        if (whole * recordBytes !== size) {
          // An interrupted append left a partial record: cut it so later appends stay aligned.
          await truncateSafe(this.dataFile, whole * recordBytes);
        }
        // The hashes and facts, a chunk of records at a time: the vectors stay on disk.
        this.startOver(meta.dim);
        const perChunk = Math.max(1, Math.floor(LOAD_CHUNK_BYTES / recordBytes));
        const chunk = Buffer.allocUnsafe(perChunk * recordBytes);
        for (let first = 0; first < whole; first += perChunk) {
          const n = Math.min(perChunk, whole - first);
          const { bytesRead } = await handle.read(chunk, 0, n * recordBytes, first * recordBytes);
          if (bytesRead !== n * recordBytes) throw new Error('the cache file shrank while it was read');
          for (let i = 0; i < n; i++) {
            const at = i * recordBytes;
            const pieces = chunk.readUInt32LE(at + HASH_BYTES);
            const facts = pieces > 0 ? { pieces, read: chunk.readUInt32LE(at + HASH_BYTES + 4), unknown: chunk.readUInt32LE(at + HASH_BYTES + 8) } : undefined;
            this.hold(chunk.toString('latin1', at, at + HASH_BYTES), facts, first + i);
          }
        }
      } finally {
        await handle.close();
      }
    } catch {
      this.startOver(0);
      return; // a linked, unwritable or vanished cache is not used; scoring computes instead
    }
    this.records = whole;
    this.dim = meta.dim;
  }
}
