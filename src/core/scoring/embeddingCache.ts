import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { readSafe, truncateSafe, writeSafe } from '../store/safeFile';

const FORMAT_VERSION = 1;
const HASH_BYTES = 32;

export function textHash(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

interface CacheMeta {
  version: number;
  namespace: string;
  dim: number;
}

/**
 * Embeddings on disk for one namespace (provider, model, dtype): an append-only file of
 * [sha256(text) | float32 x dim] records, loaded whole on first use.
 */
export class EmbeddingCache {
  readonly dir: string;
  private readonly vectors = new Map<string, Float32Array>();
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

  get(hash: Buffer): Float32Array | undefined {
    return this.vectors.get(hash.toString('hex'));
  }

  /** Keeps vectors in memory and appends them to disk in one write (a torn tail is cut on the next load). */
  put(entries: ReadonlyArray<{ hash: Buffer; vector: Float32Array }>): Promise<void> {
    if (entries.length === 0) return this.writeChain;
    const dim = entries[0].vector.length;
    for (const { hash, vector } of entries) this.vectors.set(hash.toString('hex'), vector);
    this.writeChain = this.writeChain.then(() => this.append(entries, dim)).catch(() => {
      // A cache that cannot be written only costs recomputation later; scoring goes on.
    });
    return this.writeChain;
  }

  flush(): Promise<void> {
    return this.writeChain;
  }

  private async append(entries: ReadonlyArray<{ hash: Buffer; vector: Float32Array }>, dim: number): Promise<void> {
    if (this.dim !== dim) {
      // First write, or the model's width changed: start the file over.
      await fs.mkdir(this.dir, { recursive: true });
      const meta: CacheMeta = { version: FORMAT_VERSION, namespace: this.namespace, dim };
      await writeSafe(this.dataFile, new Uint8Array(0));
      await writeSafe(this.metaFile, `${JSON.stringify(meta)}\n`);
      this.dim = dim;
    }
    const recordBytes = HASH_BYTES + 4 * dim;
    const out = Buffer.allocUnsafe(recordBytes * entries.length);
    entries.forEach(({ hash, vector }, i) => {
      const at = i * recordBytes;
      hash.copy(out, at);
      Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).copy(out, at + HASH_BYTES);
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
    const recordBytes = HASH_BYTES + 4 * meta.dim;
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
    for (let i = 0; i < whole; i++) {
      const at = i * recordBytes;
      const key = Buffer.from(aligned.buffer, at, HASH_BYTES).toString('hex');
      this.vectors.set(key, new Float32Array(aligned.buffer, at + HASH_BYTES, meta.dim));
    }
    this.dim = meta.dim;
  }
}
