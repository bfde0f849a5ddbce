import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ScorerError, type Embedder, type EmbeddingDtype, type EmbedRunOptions, type TextFacts } from './embedder';
import { onnxFileName, type MaxLength } from './modelFiles';
import type { EmbeddingRuntime, MainToWorker, WorkerInit, WorkerToMain } from './workerProtocol';

export interface LocalEmbedderOptions {
  model: string;
  isLocalFolder: boolean;
  dtype: EmbeddingDtype;
  modelCacheDir: string;
  hubUrl?: string;
  workerPath?: string;
  workers: number;
  threadsPerWorker: number;
  batchSize: number;
  maxSeqLength?: number;
  /** Told once a worker has read the maximum length from the model's files (when maxSeqLength was unknown). */
  onMaxLength?: (found: MaxLength) => void;
  /** Told of each job as it goes to a worker: its kind, rows, (embed) longest row and the worker (0 the first started) (for tests and the benchmark). */
  onJob?: (job: { type: 'tokenize' | 'embed'; rows: number; width: number; worker: number }) => void;
}

/** The worker script: dist/scoring-worker.js next to a bundle, or worker.js next to the tsc output. */
export function defaultWorkerPath(): string {
  const candidates = [join(__dirname, 'scoring-worker.js'), join(__dirname, 'worker.js')];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new ScorerError('model-corrupt', `The scoring worker script is missing: looked for ${candidates.join(' and ')}. Rebuild the extension (npm run build).`);
  return found;
}

/**
 * Keep the process alive only while a worker owes us an answer: counted, because a worker may owe
 * several batches and the first answer must not let the process end under the rest.
 */
function owe(slot: Slot): void {
  if (slot.owed++ === 0) slot.worker.ref();
}

function paid(slot: Slot): void {
  if (--slot.owed === 0) slot.worker.unref();
}

/** Files a transformers.js feature-extraction folder needs, checked before any thread starts. */
export function checkModelFolder(folder: string, dtype: EmbeddingDtype): void {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new ScorerError('model-missing', `Embedding model folder ${folder} does not exist. Set pisarReview.embedding.model (CLI: --embedding-model) to a folder holding config.json, tokenizer.json, tokenizer_config.json and onnx/${onnxFileName(dtype)}.`);
  }
  const required = ['config.json', 'tokenizer.json', 'tokenizer_config.json', join('onnx', onnxFileName(dtype))];
  const missing = required.filter((file) => !existsSync(join(folder, file)));
  if (missing.length > 0) {
    throw new ScorerError('model-missing', `Embedding model folder ${folder} is missing ${missing.join(', ')} (needed for dtype ${dtype}). Copy the complete model folder there, or choose another dtype.`);
  }
}

// A worker gets this long to finish its batch and exit before it is terminated.
const CLOSE_GRACE_MS = 30_000;

/** Asks the worker to exit after its running batch: terminating during session.run can abort the process. */
function closeWorker(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => void worker.terminate().then(() => resolve(), () => resolve()), CLOSE_GRACE_MS);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.ref();
    const close: MainToWorker = { type: 'close' };
    try {
      worker.postMessage(close);
    } catch {
      clearTimeout(timer);
      resolve(); // already gone
    }
  });
}

interface Slot {
  worker: Worker;
  inFlight: number;
  /** Jobs (tokenise or embed) this worker has run. */
  batches: number;
  readonly order: number;
  /** Batches this worker owes: the process stays alive while any is owed. */
  owed: number;
}

type Answer = Extract<WorkerToMain, { type: 'tokens' | 'result' }>;

interface Pending {
  resolve: (answer: Answer) => void;
  reject: (error: ScorerError) => void;
  onEvent?: EmbedRunOptions['onEvent'];
}

/** One piece of work waiting for a worker: texts to tokenise, or rows of ids to embed; jobs of every call share one queue. */
interface Job {
  work: { type: 'tokenize'; texts: string[] } | { type: 'embed'; ids: Int32Array; lengths: Uint32Array };
  run: EmbedRunOptions;
  /** True once the call that queued it failed or was cancelled: the job is dropped unsent. */
  dropped: () => boolean;
  done: (answer: Answer) => void;
  fail: (error: ScorerError) => void;
}

// Two jobs per worker: one running, one queued, so a worker never waits for the main thread.
const IN_FLIGHT_PER_WORKER = 2;
/** A worker's young generation (V8's nursery) in MB. */
const WORKER_YOUNG_GENERATION_MB = 6;

/** Jobs waiting for a worker, first in first out; a taken job's place is emptied at once (see take). */
class JobQueue {
  /** Queued jobs from head on. */
  private jobs: Array<Job | undefined> = [];
  private head = 0;

  get size(): number {
    return this.jobs.length - this.head;
  }

  push(job: Job): void {
    this.jobs.push(job);
  }

  /** Drops the jobs of failed or cancelled calls at the front; the first live job, left queued. */
  peek(): Job | undefined {
    while (this.head < this.jobs.length && this.jobs[this.head]!.dropped()) this.take();
    if (this.head < this.jobs.length) return this.jobs[this.head];
    this.jobs = [];
    this.head = 0;
    return undefined;
  }

  /**
   * The next job, released from the queue: while calls keep adding jobs the queue never empties, and a
   * job left in it would keep its texts and its call's state (every vector of the call) alive to the end of the run.
   */
  take(): Job {
    const job = this.jobs[this.head]!;
    this.jobs[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.jobs.length) {
      this.jobs = this.jobs.slice(this.head);
      this.head = 0;
    }
    return job;
  }

  /** Every queued job, the queue emptied. */
  drain(): Job[] {
    const jobs = this.jobs.slice(this.head).filter((job): job is Job => job !== undefined);
    this.jobs = [];
    this.head = 0;
    return jobs;
  }
}

/**
 * A pool of worker threads, each with its own single ONNX session. Jobs of every call go to two
 * queues and from there to the least-loaded worker, so all workers run; a worker (and its copy of the
 * model) is started only when a job is waiting and every running worker is busy, or by warmUp.
 */
export class LocalEmbedder implements Embedder {
  private slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  /**
   * Tokenise jobs go before embed jobs: a call's rows are sorted across the whole call, so its first batch waits
   * for its last text's ids; tokenised while the call before it still embeds, no worker waits at the seam.
   */
  private readonly tokenizeJobs = new JobQueue();
  private readonly embedJobs = new JobQueue();
  private nextId = 1;
  private nextOrder = 0;
  private disposed = false;
  private modelReady = false;
  private loadedOn: EmbeddingRuntime | undefined;

  /** Rows are sorted by their word pieces once tokenised (computeEmbeddings). */
  readonly sortsByLength = true;

  constructor(private readonly options: LocalEmbedderOptions) {}

  /** Worker threads running (for tests and the benchmark). */
  get workerCount(): number {
    return this.slots.length;
  }

  /** What ran the model in the workers once one loaded it (for tests and the benchmark). */
  get runtime(): EmbeddingRuntime | undefined {
    return this.loadedOn;
  }

  /** Word pieces the model read, and the positions it ran (padding included), over every batch so far (for tests and the benchmark). */
  readonly wordPieces = { read: 0, run: 0 };

  /** Jobs (tokenise or embed) run by each running worker, in start order (for tests and the benchmark). */
  get batchesPerWorker(): number[] {
    return [...this.slots].sort((a, b) => a.order - b.order).map((s) => s.batches);
  }

  /**
   * Starts every worker and loads the model in each now, before any text is asked for (a run that will compute
   * overlaps the load with its own start). A load that fails here is told by the first job that needs the model.
   */
  warmUp(): void {
    if (this.disposed) return;
    while (this.slots.length < this.workerLimit) {
      let slot: Slot;
      try {
        slot = this.spawn();
      } catch {
        return; // told by the first job, as without warmUp
      }
      this.slots.push(slot);
      const load: MainToWorker = { type: 'load', tokenizer: slot === this.tokenizingSlot() };
      slot.worker.postMessage(load);
    }
  }

  /**
   * Two steps, as the fastest raw layout runs: the workers tokenise the call's texts (each once, in parallel), then
   * the rows of ids, sorted by their real length across the whole call, go back to them one batch (batchSize rows) a
   * job, the longest first: the last jobs of a call are its shortest, so the workers finish it together.
   */
  computeEmbeddings(texts: readonly string[], sink: (positions: readonly number[], vectors: Float32Array[], facts?: TextFacts[]) => void, run: EmbedRunOptions): Promise<void> {
    if (texts.length === 0) return Promise.resolve();
    const perBatch = this.options.batchSize;
    return new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (error: ScorerError): void => {
        if (failed) return;
        failed = true;
        run.signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const onAbort = (): void => fail(new ScorerError('cancelled', 'Scoring was cancelled.'));
      if (run.signal?.aborted) return onAbort();
      run.signal?.addEventListener('abort', onAbort, { once: true });
      const queue = (work: Job['work'], done: Job['done']): void => {
        (work.type === 'tokenize' ? this.tokenizeJobs : this.embedJobs).push({ work, run, dropped: () => failed, done, fail });
      };

      // Step 1: ids and facts of every text, in one job (one worker tokenises, see nextJob; the call's batches wait for
      // its last text anyway).
      let tokens: Extract<Answer, { type: 'tokens' }> | undefined;
      queue({ type: 'tokenize', texts: texts.slice() }, (answer) => {
        if (answer.type !== 'tokens' || failed) return;
        tokens = answer;
        embedSorted();
      });
      this.dispatch();

      // Step 2: rows sorted by length (ties in the caller's order), cut into batches from the shortest, queued from the
      // longest; their vectors handed over as they come.
      const embedSorted = (): void => {
        const { ids: allIds, lengths, facts: allFacts } = tokens!;
        tokens = undefined;
        const offsets = new Uint32Array(texts.length);
        const facts: TextFacts[] = new Array<TextFacts>(texts.length);
        for (let i = 0; i < texts.length; i++) {
          if (i > 0) offsets[i] = offsets[i - 1] + lengths[i - 1];
          facts[i] = { pieces: allFacts[3 * i], read: allFacts[3 * i + 1], unknown: allFacts[3 * i + 2] };
        }
        const order = Array.from({ length: texts.length }, (_, r) => r).sort((a, b) => lengths[a] - lengths[b] || a - b);
        const batches = Math.ceil(texts.length / perBatch);
        let left = batches;
        for (let start = (batches - 1) * perBatch; start >= 0; start -= perBatch) {
          const rows = order.slice(start, start + perBatch);
          let total = 0;
          for (const r of rows) total += lengths[r];
          const ids = new Int32Array(total);
          const rowLengths = new Uint32Array(rows.length);
          let at = 0;
          rows.forEach((r, k) => {
            ids.set(allIds.subarray(offsets[r], offsets[r] + lengths[r]), at);
            at += lengths[r];
            rowLengths[k] = lengths[r];
          });
          this.wordPieces.read += total;
          queue({ type: 'embed', ids, lengths: rowLengths }, (answer) => {
            if (answer.type !== 'result') return;
            this.wordPieces.run += answer.slots;
            const vectors = rows.map((_, k) => answer.data.subarray(k * answer.dim, (k + 1) * answer.dim));
            sink(rows, vectors, rows.map((r) => facts[r])); // finished work is kept even if the run was cancelled meanwhile
            if (!failed && --left === 0) {
              run.signal?.removeEventListener('abort', onAbort);
              resolve();
            }
          });
        }
        this.dispatch();
      };
    });
  }

  /** Workers that may run now: a Hub model downloads in one thread first; the others then load it from the cache. */
  private get workerLimit(): number {
    return this.options.isLocalFolder || this.modelReady ? this.options.workers : 1;
  }

  /** Hands queued jobs to the workers (tokenise first, see nextJob) until none waits or every worker is full. */
  private dispatch(): void {
    for (;;) {
      const next = this.nextJob();
      if (!next) return;
      const job = next.queue.take();
      const target = next.slot;
      if (this.options.onJob) this.options.onJob(job.work.type === 'tokenize' ? { type: 'tokenize', rows: job.work.texts.length, width: 0, worker: target.order } : { type: 'embed', rows: job.work.lengths.length, width: Math.max(...job.work.lengths), worker: target.order });
      target.inFlight++;
      this.send(target, job.work, job.run).then(
        (answer) => {
          target.inFlight--;
          target.batches++;
          if (!this.modelReady) this.modelReady = true;
          job.done(answer);
          this.dispatch();
        },
        (error: ScorerError) => {
          target.inFlight--;
          job.fail(error);
          this.dispatch();
        },
      );
    }
  }

  /**
   * The next job and its worker. Tokenise jobs all go to one worker, the first started (only it parses tokenizer.json and
   * builds the vocabulary: a few hundred ms of CPU a worker), with one more in flight than batches get: the worker runs
   * them ahead of its queued batch. Embed jobs go to the least-loaded worker; a worker is started only when all are busy.
   */
  private nextJob(): { queue: JobQueue; slot: Slot } | undefined {
    if (this.tokenizeJobs.peek()) {
      const slot = this.tokenizingSlot() ?? this.started();
      if (!slot) return undefined;
      if (slot.inFlight <= IN_FLIGHT_PER_WORKER) return { queue: this.tokenizeJobs, slot };
    }
    if (!this.embedJobs.peek()) return undefined;
    let slot = this.leastLoaded();
    if ((!slot || slot.inFlight > 0) && this.slots.length < this.workerLimit) slot = this.started();
    return slot && slot.inFlight < IN_FLIGHT_PER_WORKER ? { queue: this.embedJobs, slot } : undefined;
  }

  /** The worker tokenise jobs go to: the first started of those running. */
  private tokenizingSlot(): Slot | undefined {
    let first: Slot | undefined;
    for (const slot of this.slots) if (!first || slot.order < first.order) first = slot;
    return first;
  }

  /** A new worker; undefined (every queued job failed) when it cannot start. */
  private started(): Slot | undefined {
    try {
      const slot = this.spawn();
      this.slots.push(slot);
      return slot;
    } catch (error) {
      this.failQueued(error instanceof ScorerError ? error : new ScorerError('model-corrupt', String(error)));
      return undefined;
    }
  }

  /** The worker with the fewest batches in flight; ties go to the one that has waited longest for work. */
  private leastLoaded(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.slots) if (!best || slot.inFlight < best.inFlight) best = slot;
    if (best) {
      // Rotate so the next tie goes to another worker.
      this.slots = [...this.slots.filter((s) => s !== best), best];
    }
    return best;
  }

  private failQueued(error: ScorerError): void {
    for (const job of [...this.tokenizeJobs.drain(), ...this.embedJobs.drain()]) job.fail(error);
  }

  private spawn(): Slot {
    if (this.disposed) throw new ScorerError('cancelled', 'The scorer was disposed.');
    const init: WorkerInit = {
      model: this.options.model,
      isLocalFolder: this.options.isLocalFolder,
      dtype: this.options.dtype,
      modelCacheDir: this.options.modelCacheDir,
      hubUrl: this.options.hubUrl,
      intraOpThreads: this.options.threadsPerWorker,
      maxSeqLength: this.options.maxSeqLength,
      batchSize: this.options.batchSize,
    };
    // A small young generation: a worker's garbage is short-lived (token arrays, tensors), and V8's default (up to 48 MB
    // a thread) would keep that much memory per worker for nothing.
    const worker = new Worker(this.options.workerPath ?? defaultWorkerPath(), { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    const slot: Slot = { worker, inFlight: 0, batches: 0, order: this.nextOrder++, owed: 0 };
    worker.unref();
    worker.on('message', (message: WorkerToMain) => this.onMessage(message));
    worker.on('error', (error) => this.onWorkerGone(slot, `the scoring worker failed: ${error.message}`));
    worker.on('exit', (code) => this.onWorkerGone(slot, `the scoring worker exited (code ${code})`));
    return slot;
  }

  private send(slot: Slot, work: Job['work'], run: EmbedRunOptions): Promise<Answer> {
    const id = this.nextId++;
    return new Promise<Answer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent: run.onEvent });
      owe(slot);
      const message: MainToWorker = { ...work, id };
      // The ids go to the worker, not a copy of them.
      slot.worker.postMessage(message, work.type === 'embed' ? [work.ids.buffer as ArrayBuffer, work.lengths.buffer as ArrayBuffer] : undefined);
    }).finally(() => paid(slot));
  }

  private onMessage(message: WorkerToMain): void {
    if (message.type === 'download') {
      const listeners = new Set([...this.pending.values()].map((p) => p.onEvent));
      for (const onEvent of listeners) onEvent?.({ kind: 'download', file: message.file, loaded: message.loaded, total: message.total });
      return;
    }
    if (message.type === 'ready') {
      this.options.onMaxLength?.({ maxLength: message.maxLength, source: message.source });
      return;
    }
    if (message.type === 'runtime') {
      this.loadedOn = message.runtime;
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.type === 'error') {
      const error = new ScorerError(message.code, message.message);
      pending.reject(error);
      // A model that failed to load is retried with fresh threads on the next call (e.g. back online).
      this.failQueued(error);
      void this.stopWorkers();
      return;
    }
    pending.resolve(message);
  }

  private onWorkerGone(slot: Slot, reason: string): void {
    if (!this.slots.includes(slot)) return;
    this.slots = this.slots.filter((s) => s !== slot);
    if (this.disposed) return;
    const error = new ScorerError('model-corrupt', `Embedding stopped: ${reason}.`);
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(error);
    }
    this.failQueued(error);
  }

  private async stopWorkers(): Promise<void> {
    const slots = this.slots;
    this.modelReady = false;
    this.slots = [];
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new ScorerError('cancelled', 'Embedding stopped after a model load failure.'));
    }
    await Promise.all(slots.map((slot) => closeWorker(slot.worker)));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.failQueued(new ScorerError('cancelled', 'The scorer was disposed.'));
    await this.stopWorkers();
  }
}
