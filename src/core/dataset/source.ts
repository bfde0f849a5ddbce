import * as fs from 'node:fs';

const FILE_HANDLE_IDLE_MS = 1000;

/** Random access to a dataset's bytes (its rows are read back by offset and length). */
export interface Source {
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** Bytes held in memory (an editor's buffer). */
export class BufferSource implements Source {
  constructor(private readonly buffer: Buffer) {}
  async read(offset: number, length: number): Promise<Buffer> {
    return this.buffer.subarray(offset, offset + length);
  }
  async close(): Promise<void> {}
}

/** Random access to the file; the handle closes itself after a moment idle so callers need not remember. */
export class FileSource implements Source {
  private handle: Promise<fs.promises.FileHandle> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private reading = 0;
  constructor(private readonly file: string) {}
  async read(offset: number, length: number): Promise<Buffer> {
    this.handle ??= fs.promises.open(this.file, 'r');
    const handlePromise = this.handle;
    this.reading += 1;
    clearTimeout(this.idleTimer);
    try {
      const handle = await handlePromise;
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    } finally {
      this.reading -= 1;
      if (this.reading === 0) {
        this.idleTimer = setTimeout(() => void this.close(), FILE_HANDLE_IDLE_MS);
        this.idleTimer.unref();
      }
    }
  }
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const handle = this.handle;
    this.handle = undefined;
    if (handle) {
      await (await handle.catch(() => undefined))?.close();
    }
  }
}

const BLOCK_BYTES = 4 << 20;

/**
 * Bytes held in memory in fixed blocks, appended as they stream in (a decompressed or converted
 * file): no single Buffer grows past a block, so nothing depends on offsets past 2 GiB inside one.
 */
export class BlockSource implements Source {
  private readonly blocks: Buffer[] = [];
  private filled = 0;
  /** Bytes held. */
  size = 0;

  append(bytes: Uint8Array): void {
    let from = 0;
    while (from < bytes.length) {
      if (this.blocks.length === 0 || this.filled === BLOCK_BYTES) {
        this.blocks.push(Buffer.allocUnsafe(BLOCK_BYTES));
        this.filled = 0;
      }
      const take = Math.min(bytes.length - from, BLOCK_BYTES - this.filled);
      this.blocks[this.blocks.length - 1].set(bytes.subarray(from, from + take), this.filled);
      this.filled += take;
      from += take;
    }
    this.size += bytes.length;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.size);
    if (end <= offset) return Buffer.alloc(0);
    const first = Math.floor(offset / BLOCK_BYTES);
    const last = Math.floor((end - 1) / BLOCK_BYTES);
    if (first === last) return this.blocks[first].subarray(offset - first * BLOCK_BYTES, end - first * BLOCK_BYTES);
    const out = Buffer.allocUnsafe(end - offset);
    let at = 0;
    for (let k = first; k <= last; k++) {
      const from = k === first ? offset - k * BLOCK_BYTES : 0;
      const to = k === last ? end - k * BLOCK_BYTES : BLOCK_BYTES;
      this.blocks[k].copy(out, at, from, to);
      at += to - from;
    }
    return out;
  }

  async close(): Promise<void> {}
}
