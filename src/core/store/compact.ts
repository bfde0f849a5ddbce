import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { eventKey, validateAnnotationEvent, type AnnotationEvent } from './annotations';
import { repeatsFailure, validateResult, type StoredResult } from './results';
import { installationKey, isScoredHere, verifyRecord } from './provenance';
import { RunLock, type AcquireOptions } from './runLock';
import { openSafe } from './safeFile';
import { SIDECAR_KINDS, sidecarFileFor, type SidecarKind } from './sidecarNames';

/**
 * `compact`: rewrites a dataset's sidecars to the lines that still decide something. Every view reads
 * the same state after as before: results keep the latest line of each (row, model) at the place the
 * pair first appeared (so row and model order are unchanged); annotations keep every event but the
 * copies a union merge doubled (with `dropHistory`, only the events the standing labels are folded
 * from); batches drop the upload lines their submission repeats. Lines that cannot be read are kept as
 * they are (a person may mend them). The rewrite is atomic: a file beside, fsynced, renamed over the
 * sidecar, the folder fsynced; a kill at any point leaves the old file whole. The run lock is held, so
 * no run appends meanwhile; lines another writer appends during the rewrite are carried over.
 */


export interface LineCount {
  /** Lines holding something (blank lines aside). */
  readonly lines: number;
  readonly bytes: number;
}

/** Why lines were dropped, by kind of sidecar. */
export interface DroppedLines {
  /** results: an older line of a (row, model) whose latest line is kept. */
  superseded?: number;
  /** results: of those, lines made for an older version of the row (another row hash than the latest). */
  staleByHash?: number;
  /** results: of those, failures repeated by the next line of the same pair. */
  repeatedFailures?: number;
  /** annotations and batches: a line repeating an event already kept (a union merge of two branches). */
  duplicates?: number;
  /** annotations with dropHistory: edits replaced by a later edit, and every event of a removed label. */
  history?: number;
  /** batches: an upload whose submission line repeats its requests. */
  submittedUploads?: number;
  /** Empty lines. */
  blank?: number;
}

export interface SidecarCompaction {
  readonly kind: SidecarKind;
  readonly file: string;
  readonly exists: boolean;
  /** False when no line could be dropped (the file was left as it was). */
  readonly rewritten: boolean;
  readonly before: LineCount;
  readonly after: LineCount;
  readonly dropped: DroppedLines;
  /** Lines kept as they were because they are not valid records (the readers report them). */
  readonly unreadableKept: number;
  /** Lines another writer appended while the rewrite ran, carried into the new file. */
  readonly appendedMeanwhile: number;
}

export interface CompactOptions {
  /** Annotations: keep only the events the standing labels are folded from (default: the whole history). */
  readonly dropHistory?: boolean;
  /** Which sidecars (default all three). */
  readonly kinds?: readonly SidecarKind[];
  /** Passed to the run lock (waiting while a run holds it). */
  readonly lock?: AcquireOptions;
  /** Called after each chunk is written to the file beside, with the bytes written so far (tests pause here to kill the process mid-write). */
  readonly afterChunk?: (file: string, bytesWritten: number) => Promise<void> | void;
}

export interface CompactResult {
  readonly sidecars: readonly SidecarCompaction[];
  /** Files beside left by a compaction that was killed, deleted before this one. */
  readonly leftoversRemoved: readonly string[];
}

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;
const TEMP_MARK = '.compacting-';

/** Compacts the sidecars of `datasetFile` (see the module comment), holding its run lock throughout. */
export async function compactSidecars(datasetFile: string, options: CompactOptions = {}): Promise<CompactResult> {
  const dataset = path.resolve(datasetFile);
  const lock = await RunLock.acquire(sidecarFileFor(dataset, 'results'), options.lock);
  try {
    const sidecars: SidecarCompaction[] = [];
    const leftoversRemoved: string[] = [];
    for (const kind of options.kinds ?? SIDECAR_KINDS) {
      const file = sidecarFileFor(dataset, kind);
      leftoversRemoved.push(...(await removeLeftovers(file)));
      sidecars.push(await compactFile(file, kind, options));
    }
    return { sidecars, leftoversRemoved };
  } finally {
    await lock.release();
  }
}

interface Line {
  /** The line's bytes, newline included (none on an unterminated last line). */
  readonly bytes: Buffer;
  /** The parsed record when the line is a valid one. */
  readonly record?: unknown;
}

/** What one kind of sidecar keeps: the indexes of the lines to write, in the order to write them. */
type Selection = { readonly keep: number[]; readonly dropped: DroppedLines };

async function compactFile(file: string, kind: SidecarKind, options: CompactOptions): Promise<SidecarCompaction> {
  let handle: fsp.FileHandle;
  try {
    handle = await openSafe(file, 'read');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const none = { lines: 0, bytes: 0 };
    return { kind, file, exists: false, rewritten: false, before: none, after: none, dropped: {}, unreadableKept: 0, appendedMeanwhile: 0 };
  }
  try {
    const stat = await handle.stat();
    const data = await readFrom(handle, 0, stat.size);
    const lines = splitLines(data, kind);
    const blank = lines.filter((l) => isBlank(l.bytes)).length;
    const selection = kind === 'results' ? selectResults(lines) : kind === 'annotations' ? selectAnnotations(lines, options.dropHistory ?? false) : selectBatches(lines);
    const unreadableKept = lines.filter((l) => l.record === undefined && !isBlank(l.bytes)).length;
    const before = { lines: lines.length - blank, bytes: data.length };
    if (selection.keep.length === before.lines) {
      return { kind, file, exists: true, rewritten: false, before, after: before, dropped: {}, unreadableKept, appendedMeanwhile: 0 };
    }
    const dropped = { ...selection.dropped, ...(blank > 0 ? { blank } : {}) };
    const kept = selection.keep.map((i) => lines[i].bytes);
    // An unterminated last line kept in the middle would swallow the next: it goes last, as it was.
    const written = await replaceAtomically(file, handle, stat, kept, options);
    return { kind, file, exists: true, rewritten: true, before, after: { lines: kept.length + written.appendedLines, bytes: written.bytes }, dropped, unreadableKept, appendedMeanwhile: written.appendedLines };
  } finally {
    await handle.close();
  }
}

function isBlank(bytes: Buffer): boolean {
  return bytes.toString('utf8').trim() === '';
}

function splitLines(data: Buffer, kind: SidecarKind): Line[] {
  const validate = kind === 'results' ? validateResult : kind === 'annotations' ? validateAnnotationEvent : validateBatchLine;
  const lines: Line[] = [];
  let start = 0;
  while (start < data.length) {
    const nl = data.indexOf(NEWLINE, start);
    const end = nl === -1 ? data.length : nl + 1;
    const bytes = data.subarray(start, end);
    start = end;
    let record: unknown;
    if (nl !== -1) {
      try {
        const value: unknown = JSON.parse(bytes.toString('utf8'));
        if (validate(value) === undefined) record = value;
      } catch {
        // Not JSON: kept as it is, below.
      }
    }
    lines.push({ bytes, record });
  }
  return lines;
}

/** Unreadable lines keep their place; an unterminated last line stays last. */
function withUnreadable(lines: readonly Line[], keep: Set<number>, order: (i: number) => number = (i) => i): number[] {
  const all = lines.map((l, i) => i).filter((i) => keep.has(i) || (lines[i].record === undefined && !isBlank(lines[i].bytes)));
  return all.sort((a, b) => order(a) - order(b));
}

function selectResults(lines: readonly Line[]): Selection {
  const first = new Map<string, number>();
  const latest = new Map<string, number>();
  /** The latest line scored here of each pair: kept under a later line read from the file (numbers read it; provenance.ts). */
  const latestHere = new Map<string, number>();
  const macKey = installationKey(); // once, not once a line
  for (let i = 0; i < lines.length; i++) {
    const r = lines[i].record as StoredResult | undefined;
    if (!r) continue;
    const key = `${r.rowId}\u0000${r.model}`;
    if (!first.has(key)) first.set(key, i);
    latest.set(key, i);
    verifyRecord(r, macKey);
    if (isScoredHere(r)) latestHere.set(key, i);
  }
  const shadowed = new Set<number>();
  for (const [key, i] of latest) {
    const here = latestHere.get(key);
    if (here !== undefined && here !== i) shadowed.add(here);
  }
  const dropped = { superseded: 0, staleByHash: 0, repeatedFailures: 0 };
  const next = new Map<string, StoredResult>();
  for (let i = lines.length - 1; i >= 0; i--) {
    const r = lines[i].record as StoredResult | undefined;
    if (!r) continue;
    const key = `${r.rowId}\u0000${r.model}`;
    const later = next.get(key);
    next.set(key, r);
    if (latest.get(key) === i || shadowed.has(i)) continue;
    dropped.superseded++;
    if (later && repeatsFailure(r, later)) dropped.repeatedFailures++;
    else if (r.rowHash !== (lines[latest.get(key)!].record as StoredResult).rowHash) dropped.staleByHash++;
  }
  // The latest line of a pair takes the place of its first: the store then meets rows and models in the same order.
  const place = new Map<number, number>();
  for (const [key, i] of latest) place.set(i, first.get(key)!);
  // A result scored here goes just before the later line from the file that it stands under.
  for (const [key, i] of latestHere) if (shadowed.has(i)) place.set(i, first.get(key)! - 0.5);
  const keep = new Set([...latest.values(), ...shadowed]);
  const last = lines.length;
  return { keep: withUnreadable(lines, keep, (i) => (lines[i].bytes.at(-1) !== NEWLINE ? last : place.get(i) ?? i)), dropped };
}

function selectAnnotations(lines: readonly Line[], dropHistory: boolean): Selection {
  const seen = new Set<string>();
  const unique: { i: number; e: AnnotationEvent }[] = [];
  let duplicates = 0;
  for (let i = 0; i < lines.length; i++) {
    const e = lines[i].record as AnnotationEvent | undefined;
    if (!e) continue;
    const key = eventKey(e);
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    unique.push({ i, e });
  }
  const keep = new Set(unique.map((u) => u.i));
  let history = 0;
  if (dropHistory) {
    // The fold's order (time, then file order); per label, only the events since its last removal count.
    const byTime = [...unique].sort((a, b) => (a.e.at < b.e.at ? -1 : a.e.at > b.e.at ? 1 : 0));
    const segments = new Map<string, { i: number; e: AnnotationEvent }[]>();
    for (const u of byTime) {
      if (u.e.op !== 'set' && u.e.op !== 'remove') continue;
      const segment = segments.get(u.e.id) ?? [];
      segment.push(u);
      segments.set(u.e.id, segment);
    }
    for (const events of segments.values()) {
      const lastRemove = events.map((u) => u.e.op).lastIndexOf('remove');
      const standing = events.slice(lastRemove + 1);
      // What the fold reads: createdAt and the author from the first set (the first naming a reviewer), the rest from the last.
      const needed = new Set<number>();
      if (standing.length > 0) {
        needed.add(standing[0].i);
        const author = standing.find((u) => u.e.reviewer !== undefined);
        if (author) needed.add(author.i);
        needed.add(standing[standing.length - 1].i);
      }
      for (const u of events) {
        if (needed.has(u.i)) continue;
        keep.delete(u.i);
        history++;
      }
    }
  }
  return { keep: withUnreadable(lines, keep, (i) => (lines[i].bytes.at(-1) !== NEWLINE ? lines.length : i)), dropped: { ...(duplicates ? { duplicates } : {}), ...(history ? { history } : {}) } };
}

interface BatchLine {
  readonly kind: string;
  readonly inputFileId?: string;
}

function validateBatchLine(value: unknown): string | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) && typeof (value as BatchLine).kind === 'string' ? undefined : 'expected a batch record';
}

function selectBatches(lines: readonly Line[]): Selection {
  const submittedInputs = new Set<string>();
  for (const l of lines) {
    const r = l.record as BatchLine | undefined;
    if (r?.kind === 'submitted' && typeof r.inputFileId === 'string') submittedInputs.add(r.inputFileId);
  }
  const seen = new Set<string>();
  const keep = new Set<number>();
  let duplicates = 0;
  let submittedUploads = 0;
  for (let i = 0; i < lines.length; i++) {
    const r = lines[i].record as BatchLine | undefined;
    if (!r) continue;
    const text = lines[i].bytes.toString('utf8').trim();
    if (seen.has(text)) duplicates++;
    else if (r.kind === 'uploaded' && r.inputFileId !== undefined && submittedInputs.has(r.inputFileId)) submittedUploads++;
    else keep.add(i);
    seen.add(text);
  }
  return { keep: withUnreadable(lines, keep, (i) => (lines[i].bytes.at(-1) !== NEWLINE ? lines.length : i)), dropped: { ...(duplicates ? { duplicates } : {}), ...(submittedUploads ? { submittedUploads } : {}) } };
}

async function readFrom(handle: fsp.FileHandle, from: number, to: number): Promise<Buffer> {
  const data = Buffer.alloc(Math.max(0, to - from));
  let at = 0;
  while (at < data.length) {
    const { bytesRead } = await handle.read(data, at, data.length - at, from + at);
    if (bytesRead === 0) break;
    at += bytesRead;
  }
  return data.subarray(0, at);
}

function countLines(data: Buffer): number {
  return data.toString('utf8').split('\n').filter((l) => l.trim() !== '').length;
}

/**
 * Writes `kept` to a file beside `file`, fsyncs it, carries over what another writer appended to the
 * old file meanwhile, renames it over `file` and fsyncs the folder; then carries over any line that
 * reached the old file between the last look and the rename.
 */
async function replaceAtomically(file: string, old: fsp.FileHandle, oldStat: { size: number; mode: number }, kept: readonly Buffer[], options: CompactOptions): Promise<{ bytes: number; appendedLines: number }> {
  const temp = `${file}${TEMP_MARK}${process.pid}`;
  await fsp.unlink(temp).catch(() => undefined);
  const out = await openSafe(temp, 'create-new');
  let bytes = 0;
  let consumed = oldStat.size;
  let appendedLines = 0;
  try {
    await out.chmod(oldStat.mode & 0o777);
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const flush = async () => {
      if (chunkBytes === 0) return;
      const data = Buffer.concat(chunk, chunkBytes);
      await writeAll(out, data, temp);
      bytes += data.length;
      chunk = [];
      chunkBytes = 0;
      await options.afterChunk?.(temp, bytes);
    };
    for (const line of kept) {
      chunk.push(line);
      chunkBytes += line.length;
      if (chunkBytes >= CHUNK_BYTES) await flush();
    }
    await flush();
    // Lines appended to the old file while we wrote (an editor labelling rows): carried over, then looked for again.
    for (;;) {
      const { size } = await old.stat();
      if (size <= consumed) break;
      const extra = await readFrom(old, consumed, size);
      const whole = extra.lastIndexOf(NEWLINE) + 1;
      if (whole === 0) break;
      await writeAll(out, extra.subarray(0, whole), temp);
      bytes += whole;
      appendedLines += countLines(extra.subarray(0, whole));
      consumed += whole;
    }
    await out.sync();
  } catch (err) {
    await out.close();
    await fsp.unlink(temp).catch(() => undefined);
    throw err;
  }
  await out.close();
  await fsp.rename(temp, file);
  await syncFolder(path.dirname(file));
  // A line that reached the old file between our last look and the rename: appended to the new one.
  const { size } = await old.stat();
  if (size > consumed) {
    const extra = await readFrom(old, consumed, size);
    if (extra.length > 0) {
      const handle = await openSafe(file, 'append');
      try {
        await writeAll(handle, extra, file);
        await handle.sync();
      } finally {
        await handle.close();
      }
      bytes += extra.length;
      appendedLines += countLines(extra);
    }
  }
  return { bytes, appendedLines };
}

async function writeAll(handle: fsp.FileHandle, data: Buffer, file: string): Promise<void> {
  let at = 0;
  while (at < data.length) {
    const { bytesWritten } = await handle.write(data, at, data.length - at);
    if (bytesWritten === 0) throw new Error(`${file}: the disk took no more bytes; the sidecar was left as it was. Free space and run compact again.`);
    at += bytesWritten;
  }
}

async function syncFolder(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some systems cannot open or fsync a folder (Windows): the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}

/** Files beside `file` left by a compaction that was killed (this one holds the run lock, so none is running). */
async function removeLeftovers(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}${TEMP_MARK}`;
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
    await fsp.unlink(path.join(dir, name)).catch(() => undefined);
    removed.push(path.join(dir, name));
  }
  return removed;
}
