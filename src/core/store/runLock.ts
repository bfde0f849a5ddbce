import * as os from 'node:os';
import { promises as fsp } from 'node:fs';
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
}

export interface AcquireOptions {
  readonly signal?: AbortSignal;
  /** Called once when another run holds the lock and this one waits for it. */
  readonly onWait?: (message: string) => void;
  /** How often to look again (default 250 ms). */
  readonly pollMs?: number;
}

export class RunLock {
  private constructor(readonly file: string, readonly waited: boolean) {}

  /** The lock file of a results sidecar. */
  static fileFor(resultsFile: string): string {
    return `${resultsFile}.lock`;
  }

  /** Takes the lock, waiting while another live run holds it. Throws if `signal` aborts first, or the folder cannot be written. */
  static async acquire(resultsFile: string, options: AcquireOptions = {}): Promise<RunLock> {
    const file = RunLock.fileFor(resultsFile);
    let waited = false;
    for (;;) {
      try {
        const handle = await openSafe(file, 'create-new');
        try {
          const holder: RunLockHolder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
          await handle.writeFile(`${JSON.stringify(holder)}\n`);
        } finally {
          await handle.close();
        }
        heldHere.add(file);
        return new RunLock(file, waited);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readHolder(file);
      if (holder === 'gone') continue;
      if (holder === 'broken' || (holder !== 'young' && !isAlive(holder, file))) {
        // Left by a run that died (or a half-written lock): take it over.
        await fsp.unlink(file).catch(() => undefined);
        continue;
      }
      if (holder !== 'young' && !waited) {
        waited = true;
        options.onWait?.(`another run on this dataset (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}) holds ${file}; waiting for it to finish, then only what it left undone is called`);
      }
      await delay(options.pollMs ?? 250, options.signal);
    }
  }

  async release(): Promise<void> {
    heldHere.delete(this.file);
    await fsp.unlink(this.file).catch(() => undefined);
  }
}

async function readHolder(file: string): Promise<RunLockHolder | 'gone' | 'young' | 'broken'> {
  const text = await readSafe(file); // a planted link or pipe: UnsafeFileError names it
  if (text === undefined) return 'gone';
  try {
    const value = JSON.parse(text.toString('utf8')) as Partial<RunLockHolder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.startedAt === 'string') return value as RunLockHolder;
  } catch {
    // not JSON: below
  }
  // Being written right now (give it a moment), or garbage left by a crash (take it over).
  const stat = await fsp.stat(file).catch(() => undefined);
  return stat && Date.now() - stat.mtimeMs < 2000 ? 'young' : 'broken';
}

/** Lock files this process holds (two runs in one extension host share a pid). */
const heldHere = new Set<string>();

function isAlive(holder: RunLockHolder, file: string): boolean {
  // Another machine (a shared folder): its pid means nothing here; trust the lock.
  if (holder.host !== os.hostname()) return true;
  if (holder.pid === process.pid) return heldHere.has(file);
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
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
