import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Indexer, type IndexPart } from './indexer';
import type { OpenDatasetOptions } from './types';

const CHUNK_BYTES = 1 << 20;

/**
 * Files from this size are indexed in parts, one a thread. With the byte scanner a part a thread costs about a
 * quarter more CPU time (starting the workers, handing back their ids), and on 2 busy cores 1,000,000 rows
 * (210 MiB) took longer in wall time too (2 threads 2.7 s CPU, 5.0 s wall; 1 thread 2.2 s CPU, 3.0 s wall).
 */
const PARALLEL_FROM_BYTES = 1 << 30;
/** No part smaller than this (a thread costs a few tens of milliseconds to start). */
const MIN_PART_BYTES = 4 << 20;
const MAX_THREADS = 8;

export function indexThreads(options: OpenDatasetOptions, size: number): number {
  if (options.threads !== undefined) return Math.max(1, Math.floor(options.threads));
  if (size < (options.parallelFromBytes ?? PARALLEL_FROM_BYTES)) return 1;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(MAX_THREADS, cores, Math.ceil(size / MIN_PART_BYTES)));
}

/** Parts a thread: enough that a thread slowed by other work on the machine holds no one up for long, few
 * enough that their set-up costs little (4 a thread measured 10-15% slower than 2 on 2 cores). */
const PARTS_PER_THREAD = 2;

/**
 * Indexes a plain file in parts, each starting at a line's start, on this thread and `threads - 1`
 * workers at once: this thread takes parts from the front, each worker (once it is up) the last part
 * nobody took, so a busy machine makes this thread do more rather than wait. The parts' facts are
 * absorbed in file order, so the index (line numbers, findings, ids) is the one a single pass builds.
 * A worker that cannot start or fails leaves its part to this thread.
 */
export async function indexInParts(indexer: Indexer, file: string, options: OpenDatasetOptions, size: number, threads: number): Promise<void> {
  const starts = await partStarts(file, size, threads * PARTS_PER_THREAD);
  const ends = [...starts.slice(1), size];
  const done: (IndexPart | undefined)[] = new Array<IndexPart | undefined>(starts.length);
  let front = 1;
  let back = starts.length - 1;
  const helpers = Array.from({ length: threads - 1 }, () => new PartWorker(file, options));
  const helping = helpers.map((helper) => helper.run(() => (front <= back ? back-- : undefined), (k) => [starts[k], ends[k]], (k, part) => (done[k] = part)));
  try {
    // This thread's parts follow one another from the file's start: it reads them into its own index.
    await indexRange(indexer, file, 0, ends[0]);
    while (front <= back) {
      const k = front++;
      await indexRange(indexer, file, starts[k], ends[k]);
    }
  } finally {
    for (const helper of helpers) helper.stop();
  }
  await Promise.all(helping);
  for (let k = front; k < starts.length; k++) {
    indexer.absorb(done[k] ?? (await indexPart(file, options, starts[k], ends[k])));
  }
}

let workerScript: { readonly path: string | undefined } | undefined;

/** The worker's script: the bundle beside dist/*.js, or the compiled module beside this one (looked up once). */
function partWorkerScript(): string | undefined {
  workerScript ??= { path: [path.join(__dirname, 'dataset-worker.js'), path.join(__dirname, 'indexWorker.js')].find((candidate) => fs.existsSync(candidate)) };
  return workerScript.path;
}

/** A worker thread that indexes the parts it is given, one at a time, until told to stop. */
class PartWorker {
  private worker: Worker | undefined;
  private stopped = false;
  private inFlight = false;

  constructor(
    private readonly file: string,
    private readonly options: OpenDatasetOptions,
  ) {}

  /**
   * Takes parts with `next` (undefined: none left) and hands back each one indexed; resolves when no
   * part is left or the worker failed (its part, if any, stays undone for the caller to index).
   */
  run(next: () => number | undefined, range: (k: number) => [number, number], indexed: (k: number, part: IndexPart) => void): Promise<void> {
    const script = partWorkerScript();
    if (!script || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let current: number | undefined;
      const finish = () => {
        this.inFlight = false;
        void this.worker?.terminate();
        this.worker = undefined;
        resolve();
      };
      const give = () => {
        current = this.stopped ? undefined : next();
        if (current === undefined) return finish();
        this.inFlight = true;
        const [start, end] = range(current);
        this.worker?.postMessage({ start, end });
      };
      try {
        this.worker = new Worker(script, { workerData: { file: this.file, options: { ...this.options, threads: 1 } } });
      } catch {
        return finish();
      }
      this.worker.on('message', (message: { ready?: true; part?: IndexPart }) => {
        if (message.part && current !== undefined) indexed(current, message.part);
        else if (!message.ready) return finish(); // it failed on its part: leave that part undone
        give();
      });
      this.worker.once('error', finish);
      this.worker.once('exit', finish);
      this.onStop = () => {
        if (!this.inFlight) finish();
      };
    });
  }

  /** No more parts: a worker still starting (or idle) is ended; one indexing a part finishes it. */
  stop(): void {
    this.stopped = true;
    this.onStop();
  }

  private onStop: () => void = () => undefined;
}

/** Byte offsets where the parts start: 0, then the first line start at or after each k/parts of the file. */
async function partStarts(file: string, size: number, parts: number): Promise<number[]> {
  const starts = [0];
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (let k = 1; k < parts; k++) {
      let at = Math.max(Math.floor((size * k) / parts), starts[starts.length - 1]);
      let found = -1;
      while (found < 0 && at < size) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
        if (bytesRead === 0) break;
        const newline = buffer.subarray(0, bytesRead).indexOf(10);
        if (newline >= 0) found = at + newline + 1;
        else at += bytesRead;
      }
      if (found < 0 || found >= size) break;
      if (found > starts[starts.length - 1]) starts.push(found);
    }
  } finally {
    await handle.close();
  }
  return starts;
}

export async function indexRange(indexer: Indexer, file: string, start: number, end: number): Promise<void> {
  if (end <= start) return;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: CHUNK_BYTES, start, end: end - 1 })) {
    indexer.push(chunk as Buffer);
  }
}

/** Indexes bytes `start`..`end` of a file (start at a line's start) on this thread; what a worker runs. */
export async function indexPart(file: string, options: OpenDatasetOptions, start: number, end: number): Promise<IndexPart> {
  const indexer = new Indexer(file, options, start);
  await indexRange(indexer, file, start, end);
  indexer.finish();
  return indexer.part();
}

