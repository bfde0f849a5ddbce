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

/** A text's key in the cache: its SHA-256 in hex. */
export function textKey(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

interface CacheMeta {
  version: number;
  namespace: string;
  dim: number;
}

export interface CacheEntry {
  hash: Buffer;
  /** The hash in hex (textKey), the key in memory. */
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
  private readonly vectors = new Map<string, Float32Array>();
  private readonly textFacts = new Map<string, TextFacts>();
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

  load(): Promise<void> {
    this.loading ??= this.readFromDisk();
    return this.loading;
  }

  /** The vector of a text by its key (textKey). */
  get(key: string): Float32Array | undefined {
    return this.vectors.get(key);
  }

  /** What the model read of a text, by its key, kept with its vector (so a re-score never loads the model to count). */
  facts(key: string): TextFacts | undefined {
    return this.textFacts.get(key);
  }

  /** Keeps vectors in memory and appends them to disk in one write (a torn tail is cut on the next load). */
  put(entries: readonly CacheEntry[]): Promise<void> {
    if (entries.length === 0) return this.writeChain;
    const dim = entries[0].vector.length;
    for (const { key, vector, facts } of entries) {
      this.vectors.set(key, vector);
      if (facts) this.textFacts.set(key, facts);
    }
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
    // One aligned copy so each vector can be a Float32Array view without a per-record copy.
    const aligned = new Uint8Array(whole * recordBytes);
    aligned.set(data.subarray(0, whole * recordBytes));
    const view = new DataView(aligned.buffer);
    for (let i = 0; i < whole; i++) {
      const at = i * recordBytes;
      const key = Buffer.from(aligned.buffer, at, HASH_BYTES).toString('hex');
      this.vectors.set(key, new Float32Array(aligned.buffer, at + HASH_BYTES + FACT_BYTES, meta.dim));
      const pieces = view.getUint32(at + HASH_BYTES, true);
      if (pieces > 0) this.textFacts.set(key, { pieces, read: view.getUint32(at + HASH_BYTES + 4, true), unknown: view.getUint32(at + HASH_BYTES + 8, true) });
    }
    this.dim = meta.dim;
  }
}
