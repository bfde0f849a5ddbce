import { promises as fsp } from 'node:fs';
import { openSafe } from './safeFile';

/** Where one append of this process landed in a sidecar (SidecarAppender.append, appendRecords). */
export interface AppendedRange {
  readonly start: number;
  readonly end: number;
  /** No other writer came between our stat and our write: the bytes start..end are ours alone. */
  readonly alone: boolean;
  readonly ino: number;
}

/** What a refresh of a store must read: nothing, the tail from a byte offset, or the whole file. */
export type SidecarPending =
  | { readonly read: 'nothing' }
  | { readonly read: 'tail'; readonly from: number; readonly firstLine: number; readonly ino: number }
  | { readonly read: 'whole' };

/**
 * How far a store has read or written its sidecar, by byte offset. The store's own appends move it
 * on, so a file watcher's event for them finds nothing new: the watcher is for other writers only.
 */
export class SidecarPosition {
  private end = 0;
  private lines = 0;
  private ino = -1;
  /** Set when another writer came between ours: the file holds lines this store never read. */
  private stale = false;

  constructor(readonly file: string) {}

  /** After a whole read (or a tail read) that stopped at `end` after `lines` lines. */
  readTo(end: number | undefined, lines: number | undefined, ino: number): void {
    this.end = end ?? 0;
    this.lines = lines ?? 0;
    this.ino = ino;
    this.stale = false;
  }

  /** After this store appended `count` lines at `range`. */
  wrote(range: AppendedRange, count: number): void {
    const sameFile = this.ino === -1 ? this.end === 0 : this.ino === range.ino;
    if (range.alone && sameFile && range.start === this.end) {
      this.end = range.end;
      this.lines += count;
      this.ino = range.ino;
    } else {
      this.stale = true;
    }
  }

  /** What the file holds beyond what this store has read or written. */
  async pending(): Promise<SidecarPending> {
    let stat: { size: number; ino: number };
    try {
      stat = await fsp.lstat(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      stat = { size: 0, ino: -1 };
    }
    if (!this.stale && stat.ino === this.ino && stat.size === this.end) return { read: 'nothing' };
    if (this.stale || stat.ino !== this.ino || stat.size < this.end || !(await this.endsLineAt(this.end))) return { read: 'whole' };
    return { read: 'tail', from: this.end, firstLine: this.lines, ino: stat.ino };
  }

  /** The inode of the file now (-1 when missing), for readTo after a whole read. */
  async currentIno(): Promise<number> {
    return fsp.lstat(this.file).then((s) => s.ino, () => -1);
  }

  private async endsLineAt(offset: number): Promise<boolean> {
    if (offset === 0) return true;
    const handle = await openSafe(this.file, 'read');
    try {
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, offset - 1);
      return byte[0] === 0x0a || byte[0] === 0x7d; // a newline, or the "}" of a last line kept without one
    } finally {
      await handle.close();
    }
  }
}
