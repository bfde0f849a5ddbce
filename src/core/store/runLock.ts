import * as os from 'node:os';
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import { openSafe, readSafe } from './safeFile';

/**
 * One run at a time per dataset: two runs (two terminals, the CLI and an editor) would each call every
 * missing pair, paying twice. The lock is a file beside the results sidecar, created with O_EXCL; it
 * holds the owner's pid and host, so a lock left by a killed run on this machine is taken over.
 */
export interface RunLockHolder {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  /** Linux's boot id: the same host name after a reboot (or another container) is another machine's pid space. */
  readonly bootId?: string;
}

export interface AcquireOptions {
  readonly signal?: AbortSignal;
  /** Called once when another run holds the lock and this one waits for it (what it waits for, and how to stop). */
  readonly onWait?: (message: string) => void;
  /** Called when a stale lock (a dead run's, a copied one's) is taken over, saying whose it was. */
  readonly onNotice?: (message: string) => void;
  /** How often to look again (default 250 ms). */
  readonly pollMs?: number;
  /** A lock whose holder has not refreshed it for this long is stale (default 60 s; holders refresh every staleAfterMs / 6). */
  readonly staleAfterMs?: number;
  /** Longest wait for a live holder before giving up with a LockError (default 10 minutes). */
  readonly maxWaitMs?: number;
  /** Delete whatever lock is there first (the user said no run holds it: --break-lock). */
  readonly breakLock?: boolean;
}

/** The lock could not be taken: held too long by another run. Names the holder and the fix. */
export class LockError extends Error {
  constructor(message: string, readonly fix: string) {
    super(message);
    this.name = 'LockError';
  }
}

export const DEFAULT_STALE_AFTER_MS = 60_000;
export const DEFAULT_MAX_LOCK_WAIT_MS = 10 * 60_000;

export class RunLock {
  private heartbeat: NodeJS.Timeout | undefined;

  private constructor(readonly file: string, readonly waited: boolean, refreshMs: number) {
    // A live holder keeps its lock fresh; a lock nobody refreshes (a killed run, a copied folder) goes stale.
    this.heartbeat = setInterval(() => {
      const now = new Date();
      fsp.utimes(file, now, now).catch(() => undefined);
    }, refreshMs);
    this.heartbeat.unref();
  }

  /** The lock file of a results sidecar. */
  static fileFor(resultsFile: string): string {
    return `${resultsFile}.lock`;
  }

  /**
   * Takes the lock, waiting (bounded by maxWaitMs, cancellable by signal) while another live run holds
   * it. A stale lock (not refreshed for staleAfterMs, or its pid gone on this host and boot) is taken
   * over and told through onNotice. Throws LockError when the wait runs out, the abort reason when
   * `signal` aborts, or the fs error when the folder cannot be written.
   */
  static async acquire(resultsFile: string, options: AcquireOptions = {}): Promise<RunLock> {
    const file = RunLock.fileFor(resultsFile);
    const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    const maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_LOCK_WAIT_MS;
    const started = Date.now();
    let waited = false;
    if (options.breakLock) {
      const holder = await readHolder(file);
      if (holder !== 'gone') {
        await fsp.unlink(file).catch(() => undefined);
        options.onNotice?.(`--break-lock: deleted ${file}${typeof holder === 'object' ? ` (${describeHolder(holder)})` : ''}`);
      }
    }
    for (;;) {
      try {
        const handle = await openSafe(file, 'create-new');
        try {
          const holder: RunLockHolder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), ...(BOOT_ID ? { bootId: BOOT_ID } : {}) };
          await handle.writeFile(`${JSON.stringify(holder)}\n`);
        } finally {
          await handle.close();
        }
        heldHere.add(file);
        return new RunLock(file, waited, Math.max(50, Math.floor(staleAfterMs / 6)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readHolder(file);
      if (holder === 'gone') continue;
      const stale = holder === 'broken' ? 'it is not a lock PiSAR Review wrote' : holder === 'young' ? undefined : staleReason(holder, file, staleAfterMs);
      if (stale) {
        // Left by a run that died, or copied in with the folder: take it over, and say so.
        await fsp.unlink(file).catch(() => undefined);
        options.onNotice?.(`took over a stale lock ${file}${typeof holder === 'object' ? ` (${describeHolder(holder)})` : ''}: ${stale}`);
        continue;
      }
      if (holder !== 'young' && !waited) {
        waited = true;
        options.onWait?.(`waiting for another run on this dataset (${describeHolder(holder as RunLockHolder)}), which holds ${file}; then only what it left undone is called. ` +
          `Waiting at most ${Math.round(maxWaitMs / 1000)} s; Ctrl-C (or Cancel) stops waiting. If no run holds it, delete ${file} or pass --break-lock.`);
      }
      if (Date.now() - started >= maxWaitMs) {
        throw new LockError(
          `another run${typeof holder === 'object' ? ` (${describeHolder(holder)})` : ''} still holds ${file} after ${Math.round((Date.now() - started) / 1000)} s; nothing was called`,
          `Wait for it to finish and run again, or, if no run holds it, delete ${file} (CLI: --break-lock).`,
        );
      }
      await delay(options.pollMs ?? 250, options.signal);
    }
  }

  async release(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    heldHere.delete(this.file);
    await fsp.unlink(this.file).catch(() => undefined);
  }
}

function describeHolder(holder: RunLockHolder): string {
  return `pid ${holder.pid} on ${JSON.stringify(holder.host)}, started ${holder.startedAt}`;
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
const BOOT_ID = readBootId();

async function readHolder(file: string): Promise<RunLockHolder | 'gone' | 'young' | 'broken'> {
  const text = await readSafe(file); // a planted link or pipe: UnsafeFileError names it
  if (text === undefined) return 'gone';
  try {
    const value = JSON.parse(text.toString('utf8')) as Partial<RunLockHolder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.startedAt === 'string' && (value.bootId === undefined || typeof value.bootId === 'string')) return value as RunLockHolder;
  } catch {
    // not JSON: below
  }
  // Being written right now (give it a moment), or garbage left by a crash (take it over).
  const stat = await fsp.stat(file).catch(() => undefined);
  return stat && Date.now() - stat.mtimeMs < 2000 ? 'young' : 'broken';
}

/** Lock files this process holds (two runs in one extension host share a pid). */
const heldHere = new Set<string>();

/** Why the lock is stale (its holder cannot be running), or undefined while it may be. */
function staleReason(holder: RunLockHolder, file: string, staleAfterMs: number): string | undefined {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return undefined; // gone: the next loop takes it
  }
  const idle = Date.now() - mtimeMs;
  // Every holder refreshes its lock; one nobody refreshed came from a dead run or with a copied folder, whatever host it names.
  if (idle > staleAfterMs) return `not refreshed for ${Math.round(idle / 1000)} s (a live run refreshes it every ${Math.round(staleAfterMs / 6000)} s)`;
  if (holder.host !== os.hostname()) return undefined; // another machine on a shared folder: its pid means nothing here
  if (holder.bootId && BOOT_ID && holder.bootId !== BOOT_ID) return 'written before this machine last started';
  if (holder.pid === process.pid) return heldHere.has(file) ? undefined : 'its pid is this process, which does not hold it';
  try {
    process.kill(holder.pid, 0);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? undefined : `no process ${holder.pid} runs on this machine`;
  }
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('cancelled'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason ?? new Error('cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
