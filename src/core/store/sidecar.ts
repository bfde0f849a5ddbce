import * as fs from 'node:fs';
import type { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { openSafe, openSafeSync, UnsafeFileError, writeSafe } from './safeFile';
import type { AppendedRange } from './sidecarPosition';

/**
 * Append-only JSONL sidecar files (`data.pisar-results.jsonl`, `data.pisar-annotations.jsonl`).
 *
 * Writers never rewrite a sidecar: each record is one line, written by ONE write() call on an fd
 * opened with O_APPEND, so concurrent writers (two windows, CLI and editor) never interleave partial
 * lines. Readers skip (and report) corrupt lines, and repair a cut-off last line.
 */

/** One problem found while reading a sidecar; the record on that line was skipped. */
export interface SidecarProblem {
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  readonly kind: 'corrupt-line' | 'invalid-record' | 'invalid-field' | 'truncated-tail' | 'unsafe-file';
  /** What was wrong, in a sentence. */
  readonly reason: string;
  /** What to do (or what was done) about it, in a sentence. */
  readonly fix: string;
}

export interface SidecarContents<T> {
  readonly records: T[];
  readonly problems: SidecarProblem[];
  /** Where the cut-off bytes of a repaired last line were kept, if a repair happened. */
  readonly repairedTo?: string;
  /** Byte offset just after the last line read (where a later read of the tail starts). */
  readonly end?: number;
  /** Lines counted up to `end` (so a tail read numbers its lines on). */
  readonly lines?: number;
}

export interface ReadSidecarOptions<T> {
  /** Return a reason when a parsed line is not a valid record; the line is then skipped and reported. */
  readonly validate?: (value: unknown) => string | undefined;
  /** Repair a cut-off last line on disk (default true). Read-only callers pass false. */
  readonly repair?: boolean;
  /** Return a warning when part of a valid record is unusable; the record is kept (map should drop that part) and the line reported. */
  readonly warn?: (value: unknown) => string | undefined;
  /** Map a parsed, valid line to the record type (default: as is); `line` is the text it was parsed from, `fact` lineFacts' byte for it. */
  readonly map?: (value: unknown, line: string, fact?: number) => T;
  /**
   * A byte a line for each block of whole lines (each ended by a newline, as read), worked out elsewhere (another thread)
   * while the block before is parsed; handed to `map` with each line. Undefined (or a line without one): no fact.
   */
  readonly lineFacts?: (wholeLines: Uint8Array) => Promise<LineFacts | undefined>;
  // (the bytes are the reader's no more once handed over: lineFacts may transfer their memory to another thread)
  /**
   * Each record handed on as it is read, in file order, instead of collected (the answer's records are then none): a reader
   * that keeps only part of each lets the rest go at once, not after the last line (two million objects alive to the end
   * of the read were promoted and marked by the collector).
   */
  readonly onRecord?: (record: T) => void;
  /** Read only from this byte offset (the start of a line: a tail read after an earlier read's `end`). */
  readonly from?: number;
  /** Lines before `from` (for line numbers in problems). */
  readonly firstLine?: number;
}

/** lineFacts' answer: a byte a line, and the block's bytes handed back (the reader reads its next blocks into them). */
export interface LineFacts {
  readonly facts: Uint8Array;
  readonly bytes?: Uint8Array;
}

export interface AppendOptions {
  /** fdatasync after writing, for callers that must survive power loss (default false). */
  readonly durable?: boolean;
}

const NEWLINE = 0x0a;
/** How long to wait before treating an unterminated tail as cut off rather than a write in flight. */
const SETTLE_MS = 60;

/** Encodes one record as one line (JSON.stringify escapes newlines inside strings). */
export function encodeRecord(record: unknown): Buffer {
  const json = JSON.stringify(record);
  if (json === undefined) throw new TypeError('sidecar records must be JSON values');
  return Buffer.from(json + '\n', 'utf8');
}

/**
 * Appends each record as one whole line. Each line goes out in a single write() on an O_APPEND fd,
 * which the kernel places atomically at the current end of file.
 */
/** Appends one line per record (one write() each, O_APPEND); returns where they landed (see AppendedRange). */
export async function appendRecords(file: string, records: readonly unknown[], options: AppendOptions = {}): Promise<AppendedRange | undefined> {
  if (records.length === 0) return undefined;
  const lines = records.map(encodeRecord);
  const handle = await openSafe(file, 'append');
  try {
    // A cut-off tail (power loss) would swallow our first line: start on a fresh line instead.
    const { size, ino } = await handle.stat();
    if (size > 0 && !(await endsWithNewline(handle, size))) {
      lines[0] = Buffer.concat([Buffer.from('\n'), lines[0]]);
    }
    let written = 0;
    for (const line of lines) {
      const { bytesWritten } = await handle.write(line, 0, line.length);
      if (bytesWritten !== line.length) {
        throw new Error(`${file}: short write (${bytesWritten} of ${line.length} bytes); the disk may be full. Free space and run again.`);
      }
      written += bytesWritten;
    }
    if (options.durable) await handle.datasync();
    // Sure of the range only if nobody else wrote between our stat and our last write.
    const after = await handle.stat();
    return { start: size, end: size + written, alone: after.size === size + written, ino };
  } finally {
    await handle.close();
  }
}

/**
 * Keeps one O_APPEND fd open for a stream of appends (a run writes thousands of results): each line is
 * still one write() call. Writes are synchronous because a small write to the page cache costs far
 * less than a thread-pool round trip. The fd is reopened if the file was deleted or replaced, and
 * closed after a second without writes.
 */
export class SidecarAppender {
  private fd: number | undefined;
  /** File size right after our last write: if it still matches, the file ends with our newline. */
  private endAfterLastWrite = -1;
  private idle: NodeJS.Timeout | undefined;

  constructor(readonly file: string, private readonly idleCloseMs = 1000) {}

  /** Appends one line per record; returns where they landed (start: the file's size before, end: after; alone: no other writer came between). */
  append(records: readonly unknown[]): AppendedRange | undefined {
    if (records.length === 0) return undefined;
    const lines = records.map(encodeRecord);
    let fd = this.fd ?? this.open();
    let stat = fs.fstatSync(fd);
    if (stat.nlink !== 1) {
      // Deleted or replaced since opened (the user cleared results): our writes would vanish.
      // Linked since opened: reopening refuses it rather than writing through the other name.
      this.close();
      fd = this.open();
      stat = fs.fstatSync(fd);
    }
    if (stat.size > 0 && stat.size !== this.endAfterLastWrite) {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, stat.size - 1);
      // A cut-off tail (power loss, a writer killed mid-write) would swallow our first line: start a fresh one.
      if (last[0] !== NEWLINE) lines[0] = Buffer.concat([Buffer.from('\n'), lines[0]]);
    }
    let end = stat.size;
    // One write per batch, not per line: a run appends thousands of records at a time.
    const data = lines.length === 1 ? lines[0] : Buffer.concat(lines);
    let written: number;
    try {
      written = fs.writeSync(fd, data, 0, data.length);
    } catch (err) {
      this.close();
      throw err;
    }
    if (written !== data.length) {
      this.undo(fd, stat.size, written);
      throw Object.assign(new Error(`short write (${written} of ${data.length} bytes): the disk is full or over a limit`), { code: 'ENOSPC' });
    }
    end += written;
    // Another writer may have appended in between; then the sizes differ and the next append checks the tail.
    this.endAfterLastWrite = end;
    this.scheduleClose();
    // Sure of the range only if nobody else wrote between our fstat and write.
    return { start: stat.size, end, alone: fs.fstatSync(fd).size === end, ino: stat.ino };
  }

  /** After a short write (a full disk): cuts the part of a line it left, when no other writer came after it, and lets the fd go. */
  private undo(fd: number, size: number, written: number): void {
    try {
      if (fs.fstatSync(fd).size === size + written) fs.ftruncateSync(fd, size);
    } catch {
      // The reader repairs a cut-off last line (keeping its bytes) the next time it reads.
    }
    this.close();
  }

  close(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.endAfterLastWrite = -1;
  }

  private open(): number {
    this.fd = openSafeSync(this.file, 'append');
    return this.fd;
  }

  private scheduleClose(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.close(), this.idleCloseMs);
    this.idle.unref();
  }
}

async function endsWithNewline(handle: fsp.FileHandle, size: number): Promise<boolean> {
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  return last[0] === NEWLINE;
}

/**
 * Reads every complete line. Corrupt lines are skipped and reported; a cut-off last line (no
 * newline, not valid JSON) is reported and, unless `repair: false`, cut from the file after its
 * bytes are saved to `<file>.corrupt-<timestamp>`, so nothing is lost. A missing file is empty.
 */
export async function readSidecar<T = unknown>(file: string, options: ReadSidecarOptions<T> = {}): Promise<SidecarContents<T>> {
  const from = options.from ?? 0;
  let handle: fsp.FileHandle;
  try {
    handle = await openSafe(file, 'read');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], problems: [], end: 0, lines: 0 };
    // A planted link or pipe is reported like a bad line and read as empty; writes to it are refused.
    if (err instanceof UnsafeFileError) return { records: [], problems: [{ file, line: 1, kind: 'unsafe-file', reason: err.reason, fix: err.fix }] };
    throw err;
  }
  const records: T[] = [];
  const problems: SidecarProblem[] = [];
  const map = options.map ?? ((v: unknown) => v as T);
  const onRecord = options.onRecord;

  let line = options.firstLine ?? 0;
  // Bytes after the last newline read so far: the start of a line the next block completes, or the unterminated tail.
  let rest: Buffer = Buffer.alloc(0);
  let read = 0;
  // A block's whole lines wait here while the next is read and handed to lineFacts, so both threads are busy.
  let waiting: { readonly text: string; readonly facts: Promise<LineFacts | undefined> | undefined } | undefined;
  // Read buffers to read into again: blocks of 8 MiB freed and made anew, one a block, held the process's memory (glibc
  // serves them from its heap once one is freed) when another thread freed them: about 90 MB more at 1 M rows.
  const spare: ArrayBuffer[] = [];
  const reuse = (bytes: Uint8Array | undefined) => {
    if (bytes && bytes.byteOffset === 0 && bytes.buffer instanceof ArrayBuffer && bytes.buffer.byteLength >= SIDECAR_BLOCK_BYTES) spare.push(bytes.buffer);
  };
  const acceptBlock = async ({ text, facts }: NonNullable<typeof waiting>) => {
    const known = facts && (await facts);
    reuse(known?.bytes);
    for (let start = 0, k = 0; start < text.length; k++) {
      const end = text.indexOf('\n', start);
      line++;
      const raw = text.slice(start, end);
      start = end + 1;
      const content = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
      if (content.trim() === '') continue;
      acceptLine(content, line, known?.facts[k]);
    }
  };
  try {
    // Read in blocks, each decoded once up to its last newline (a 1,000,000-row sidecar is never in memory whole,
    // and a line costs one slice of the block's text, not a decode of its own). The bytes of a line a block cut come
    // first in the next block's buffer, so a block is read straight after them (no buffers joined).
    for (;;) {
      const room = rest.length + SIDECAR_BLOCK_BYTES / 2;
      const kept = spare.pop();
      const buffer = kept && kept.byteLength >= room ? Buffer.from(kept) : Buffer.allocUnsafe(Math.max(SIDECAR_BLOCK_BYTES, room));
      rest.copy(buffer, 0);
      const { bytesRead } = await handle.read(buffer, rest.length, buffer.length - rest.length, from + read);
      if (bytesRead === 0) break;
      read += bytesRead;
      const block = buffer.subarray(0, rest.length + bytesRead);
      const last = block.lastIndexOf(NEWLINE);
      if (last === -1) {
        rest = Buffer.from(block);
        reuse(buffer);
        continue;
      }
      const whole = block.subarray(0, last + 1);
      rest = Buffer.from(block.subarray(last + 1));
      // Decoded before lineFacts sees the bytes: it may take them (transferred to another thread, not copied).
      const next = { text: whole.toString('utf8'), facts: options.lineFacts?.(whole) };
      if (!options.lineFacts) reuse(buffer);
      if (waiting) await acceptBlock(waiting);
      waiting = next;
    }
    if (waiting) await acceptBlock(waiting);
  } finally {
    await handle.close();
  }

  let repairedTo: string | undefined;
  const linesDone = line;
  const endOfLines = from + read - rest.length;
  if (rest.length > 0) {
    line++;
    const tail = rest;
    const tailText = tail.toString('utf8');
    const parsed = tryParse(tailText);
    if (parsed.ok) {
      // Whole JSON without its newline (hand edit): keep it; the next append starts a new line.
      acceptParsed(parsed.value, line, tailText);
      return { records, problems, end: from + read, lines: line };
    } else if (options.repair === false) {
      problems.push({
        file, line, kind: 'truncated-tail',
        reason: `line ${line} was cut off mid-write (${tail.length} bytes, no newline at the end); it was skipped`,
        fix: 'Open the file in a trusted session to repair it, or delete the partial last line by hand.',
      });
    } else {
      repairedTo = await repairTail(file, endOfLines, from + read, line, problems);
    }
  }
  return repairedTo ? { records, problems, repairedTo, end: endOfLines, lines: linesDone } : { records, problems, end: endOfLines, lines: linesDone };

  function acceptLine(text: string, lineNo: number, fact?: number): void {
    const parsed = tryParse(text);
    if (!parsed.ok) {
      problems.push({
        file, line: lineNo, kind: 'corrupt-line',
        reason: `line ${lineNo} is not valid JSON (${parsed.error}); it was skipped`,
        fix: `Correct or delete line ${lineNo} of ${file}; every other line was kept.`,
      });
      return;
    }
    acceptParsed(parsed.value, lineNo, text, fact);
  }

  function acceptParsed(value: unknown, lineNo: number, text: string, fact?: number): void {
    const invalid = options.validate?.(value);
    if (invalid) {
      problems.push({
        file, line: lineNo, kind: 'invalid-record',
        reason: `line ${lineNo} is not a valid record: ${invalid}; it was skipped`,
        fix: `Correct or delete line ${lineNo} of ${file}; every other line was kept.`,
      });
      return;
    }
    const warning = options.warn?.(value);
    if (warning) {
      problems.push({
        file, line: lineNo, kind: 'invalid-field',
        reason: `line ${lineNo}: ${warning}`,
        fix: `Correct line ${lineNo} of ${file}, or run again to redo what was ignored; the rest of the record was kept.`,
      });
    }
    const record = map(value, text, fact);
    if (onRecord) onRecord(record);
    else records.push(record);
  }
}

/** Cuts an unterminated tail at `offset` after saving its bytes; returns the side file, or undefined if it was a write in flight. */
async function repairTail(file: string, offset: number, sizeSeen: number, lineNo: number, problems: SidecarProblem[]): Promise<string | undefined> {
  // Another process may be mid-write: give it a moment, then repair only if nothing changed.
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  // Cut only through a checked fd: never through a link, never a file with another name elsewhere.
  const handle = await openSafe(file, 'update');
  try {
    const { size } = await handle.stat();
    if (size !== sizeSeen) {
      problems.push({
        file, line: lineNo, kind: 'truncated-tail',
        reason: `line ${lineNo} was still being written while it was read; it was skipped this time`,
        fix: 'Nothing to do: read the file again once the other writer has finished.',
      });
      return undefined;
    }
    const tail = Buffer.alloc(size - offset);
    await handle.read(tail, 0, tail.length, offset);
    const sideFile = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await writeSafe(sideFile, tail, 'create-new').catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
      await writeSafe(sideFile, tail, 'append');
    });
    await handle.truncate(offset);
    problems.push({
      file, line: lineNo, kind: 'truncated-tail',
      reason: `line ${lineNo} was cut off mid-write (${tail.length} bytes, no newline at the end, e.g. after a power loss)`,
      fix: `Repaired: the file now ends at line ${lineNo - 1}; the cut-off bytes were kept in ${sideFile}. Re-run to redo that record.`,
    });
    return sideFile;
  } finally {
    await handle.close();
  }
}

/** Bytes a sidecar is read by at a time. */
const SIDECAR_BLOCK_BYTES = 8 * 1024 * 1024;

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Bytes a run must be able to write beside its sidecar before its first billable call (a few hundred results). */
export const PROBE_BYTES = 256 * 1024;

/**
 * Throws (UnsafeFileError, with the fix) unless `file` can be appended to and its disk has room: a run
 * checks this before its first billable call. Besides permissions it makes a real write of
 * `probeBytes` beside the file (a full disk, a quota or a file-size limit fails it), fsyncs and deletes
 * it, and checks the free space statfs reports. A missing sidecar is not created.
 */
export async function checkAppendable(file: string, probeBytes = PROBE_BYTES): Promise<void> {
  try {
    const handle = await openSafe(file, 'update');
    await handle.close();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw describeWriteFailure(file, err);
    try {
      await fs.promises.access(path.dirname(file), fs.constants.W_OK);
    } catch (dirErr) {
      throw describeWriteFailure(file, dirErr);
    }
  }
  if (probeBytes <= 0) return;
  const dir = path.dirname(file);
  try {
    const free = await fs.promises.statfs(dir);
    const available = Number(free.bavail) * Number(free.bsize);
    if (available < probeBytes) {
      throw Object.assign(new Error(`only ${available} bytes free`), { code: 'ENOSPC' });
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw describeWriteFailure(file, err);
    // statfs unsupported here: the probe write below still tells.
  }
  const probe = `${file}.probe-${process.pid}-${Date.now()}`;
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await openSafe(probe, 'create-new');
    const chunk = Buffer.alloc(Math.min(probeBytes, 64 * 1024), 0x20);
    for (let written = 0; written < probeBytes; ) {
      const { bytesWritten } = await handle.write(chunk, 0, Math.min(chunk.length, probeBytes - written));
      if (bytesWritten === 0) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
      written += bytesWritten;
    }
    await handle.sync();
  } catch (err) {
    throw describeWriteFailure(file, err);
  } finally {
    await handle?.close().catch(() => undefined);
    await fs.promises.unlink(probe).catch(() => undefined);
  }
}

function describeWriteFailure(file: string, err: unknown): Error {
  if (err instanceof UnsafeFileError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') {
    return new UnsafeFileError(file, `cannot be written: the disk holding ${path.dirname(file)} is full or over a limit (${code}: ${(err as Error).message}); nothing was called`, `Free space on that disk (or copy the dataset to another) and run again.`);
  }
  return new UnsafeFileError(file, `cannot be written (${code}); nothing was called`, `Make ${path.dirname(file)} writable (or copy the dataset to a writable folder) and run again.`);
}
