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
