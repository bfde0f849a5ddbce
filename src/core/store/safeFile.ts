import * as fs from 'node:fs';
import * as path from 'node:path';
import { constants as fsc, promises as fsp } from 'node:fs';

/**
 * Every file the product writes, repairs or reads back as its own (sidecars, caches, lock files,
 * exports) is opened here. A folder made by someone else may plant a symlink or a hard link where a
 * sidecar belongs, pointing at a file the user can write (a shell rc file): appending to it, or
 * cutting its "corrupt tail", would edit that file. So the last path component is opened with
 * O_NOFOLLOW, and the opened fd must be a regular file with one link; everything else is refused
 * with an UnsafeFileError naming the file and the fix. O_NONBLOCK keeps a FIFO from hanging the open.
 */

/** A file the product will not open: a symlink, a hard link, or not a regular file. */
export class UnsafeFileError extends Error {
  readonly code = 'unsafe-file';
  constructor(readonly file: string, readonly reason: string, readonly fix: string) {
    super(`${file}: ${reason}. ${fix}`);
    this.name = 'UnsafeFileError';
  }
}

const NOFOLLOW = fsc.O_NOFOLLOW ?? 0;
const NONBLOCK = fsc.O_NONBLOCK ?? 0;

function kindOf(stat: fs.Stats): string {
  if (stat.isSymbolicLink()) return 'a symbolic link';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

function refusal(file: string, stat: fs.Stats): UnsafeFileError | undefined {
  if (!stat.isFile()) {
    return new UnsafeFileError(file, `is ${kindOf(stat)}, not a regular file; PiSAR Review will not read or write it`, 'Delete or rename it; PiSAR Review creates its own file in its place.');
  }
  if (stat.nlink > 1) {
    return new UnsafeFileError(file, `is a hard link (${stat.nlink} names for one file), so writing it could change a file elsewhere; it was not written`, 'Delete it (the other names keep their data) or replace it with a plain copy: cp --remove-destination "$(realpath FILE)" FILE.');
  }
  return undefined;
}

function linkRefusal(file: string): UnsafeFileError {
  return new UnsafeFileError(file, 'is a symbolic link; PiSAR Review never reads or writes its files through a link', 'Delete the link; PiSAR Review creates a real file in its place (or copy the target there if you meant to keep its contents).');
}

/** The refusal for a path that exists, checked without following a last-component link; undefined when it is safe or missing. */
export function unsafeFileProblem(file: string): UnsafeFileError | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return undefined;
  }
  if (stat.isSymbolicLink()) return linkRefusal(file);
  return refusal(file, stat);
}

/** Most file systems take names of at most 255 bytes; the longest name PiSAR Review makes beside a dataset adds this. */
const NAME_MAX_BYTES = 255;
const LONGEST_SIDECAR_SUFFIX = '.pisar-annotations.jsonl.lock';

function nameTooLong(file: string): UnsafeFileError {
  const name = path.basename(file);
  const at = name.indexOf('.pisar-');
  const stem = at >= 0 ? name.slice(0, at) : name;
  const room = NAME_MAX_BYTES - LONGEST_SIDECAR_SUFFIX.length;
  return new UnsafeFileError(
    file,
    `cannot be created or read: its name is ${Buffer.byteLength(name)} bytes, over the file system's limit of ${NAME_MAX_BYTES} (PiSAR Review names its files after the dataset, "${stem}", ${Buffer.byteLength(stem)} bytes)`,
    `Rename the dataset so that its name before the extension is at most ${room} bytes, then open it again.`,
  );
}

function translate(err: unknown, file: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  // Linux says ELOOP for O_NOFOLLOW on a symlink; some BSDs say EMLINK or EFTYPE.
  if (code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE') return linkRefusal(file);
  // O_WRONLY|O_NONBLOCK on a FIFO with no reader.
  if (code === 'ENXIO') return new UnsafeFileError(file, 'is a named pipe (FIFO), not a regular file; PiSAR Review will not read or write it', 'Delete it; PiSAR Review creates its own file in its place.');
  if (code === 'ENAMETOOLONG') return nameTooLong(file);
  return err;
}

export type SafeOpenMode = 'read' | 'append' | 'update' | 'create-new' | 'replace';

function flagsOf(mode: SafeOpenMode): number {
  switch (mode) {
    case 'read':
      return fsc.O_RDONLY;
    case 'append':
      return fsc.O_RDWR | fsc.O_APPEND | fsc.O_CREAT;
    case 'update':
      return fsc.O_RDWR;
    case 'create-new':
      return fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL;
    case 'replace':
      // Not O_TRUNC: the file is checked first, then cut through the checked fd.
      return fsc.O_WRONLY | fsc.O_CREAT;
  }
}

/** Opens `file` safely (see the module comment); throws UnsafeFileError, or the fs error (ENOENT, EACCES, ...). */
export async function openSafe(file: string, mode: SafeOpenMode): Promise<fsp.FileHandle> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, flagsOf(mode) | NOFOLLOW | NONBLOCK, 0o644);
  } catch (err) {
    throw translate(err, file);
  }
  try {
    const problem = refusal(file, await handle.stat());
    if (problem) throw problem;
    if (mode === 'replace') await handle.truncate(0);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle;
}

/** openSafe, synchronously, returning an fd. */
export function openSafeSync(file: string, mode: SafeOpenMode): number {
  let fd: number;
  try {
    fd = fs.openSync(file, flagsOf(mode) | NOFOLLOW | NONBLOCK, 0o644);
  } catch (err) {
    throw translate(err, file);
  }
  try {
    const problem = refusal(file, fs.fstatSync(fd));
    if (problem) throw problem;
    if (mode === 'replace') fs.ftruncateSync(fd, 0);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

/** The file from byte `from` on (default: all of it), read safely; undefined when it does not exist. */
export async function readSafe(file: string, from = 0): Promise<Buffer | undefined> {
  let handle: fsp.FileHandle;
  try {
    handle = await openSafe(file, 'read');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    if (from <= 0) return await handle.readFile();
    const { size } = await handle.stat();
    const data = Buffer.allocUnsafe(Math.max(0, size - from));
    const { bytesRead } = await handle.read(data, 0, data.length, from);
    return data.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `file` safely: 'replace' overwrites (creating it if missing), 'append' adds, 'create-new' fails if it exists. */
export async function writeSafe(file: string, data: string | Uint8Array, mode: 'replace' | 'append' | 'create-new' = 'replace'): Promise<void> {
  const handle = await openSafe(file, mode);
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

/** Cuts `file` to `length` bytes through a checked fd, never through a link. */
export async function truncateSafe(file: string, length: number): Promise<void> {
  const handle = await openSafe(file, 'update');
  try {
    await handle.truncate(length);
  } finally {
    await handle.close();
  }
}

/**
 * Refuses a path that is not a regular file (a FIFO or a device would block or never end) before any
 * open; links are followed (the user named this file). Returns the stat of the target.
 */
export async function regularFileStat(file: string): Promise<fs.Stats> {
  const stat = await fsp.stat(file);
  if (!stat.isFile()) throw new UnsafeFileError(file, `is ${kindOf(stat)}, not a regular file; it was not opened`, 'Name a regular file.');
  return stat;
}
