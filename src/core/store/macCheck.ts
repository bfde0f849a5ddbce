import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LineFacts } from './sidecar';

/**
 * The MACs of a large results sidecar checked on another thread (src/core/store/macWorker.ts) while this one parses
 * its lines: at a million rows the HMACs were half of reading the file. The worker is handed a copy of the very bytes
 * this thread reads (never the file again, which may change between two reads) and answers a verdict byte a line
 * (provenance.ts, tailMacVerdicts). A worker that cannot start or fails answers nothing: the reader checks those lines itself.
 */
export class OffThreadMacCheck {
  private readonly pending = new Map<number, (answer: LineFacts | undefined) => void>();
  private nextId = 0;
  private failed = false;

  private constructor(private readonly worker: Worker) {
    const fail = () => {
      this.failed = true;
      for (const resolve of this.pending.values()) resolve(undefined);
      this.pending.clear();
    };
    worker.on('message', ({ id, verdicts, bytes }: { id: number; verdicts: Uint8Array; bytes: Uint8Array }) => {
      this.pending.get(id)?.({ facts: verdicts, bytes });
      this.pending.delete(id);
    });
    worker.once('error', fail);
    worker.once('exit', fail);
  }

  /** A checker under `key`, or undefined where no worker can start (its script missing, threads refused). */
  static start(key: Buffer): OffThreadMacCheck | undefined {
    const script = macWorkerScript();
    if (!script) return undefined;
    try {
      return new OffThreadMacCheck(new Worker(script, { workerData: new Uint8Array(key), resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } }));
    } catch {
      return undefined;
    }
  }

  /**
   * Verdicts for each line of `wholeLines` (every line ended by a newline), or undefined when the worker is gone. The
   * bytes' memory goes to the worker where it is theirs alone (a block the reader read; else they are copied), and
   * comes back with the verdicts.
   */
  verdicts(wholeLines: Uint8Array): Promise<LineFacts | undefined> {
    if (this.failed) return Promise.resolve(undefined);
    const id = this.nextId++;
    const own = wholeLines.buffer instanceof ArrayBuffer && wholeLines.byteOffset === 0 && wholeLines.buffer.byteLength >= MIN_TRANSFER_BYTES;
    const bytes = own ? wholeLines : new Uint8Array(wholeLines);
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ id, bytes }, [bytes.buffer as ArrayBuffer]);
    });
  }

  close(): void {
    void this.worker.terminate();
  }
}

/** A buffer this large is a block of its own (Buffer's shared pool holds only small ones): safe to hand over whole. */
const MIN_TRANSFER_BYTES = 64 * 1024;

/** The worker's nursery: it keeps nothing, and a million lines' HMAC objects should not grow the process. */
const WORKER_YOUNG_GENERATION_MB = 2;

let workerScript: { readonly path: string | undefined } | undefined;

/** The worker's script: the bundle beside dist/*.js, or the compiled module beside this one (looked up once). */
function macWorkerScript(): string | undefined {
  workerScript ??= { path: [path.join(__dirname, 'mac-worker.js'), path.join(__dirname, 'macWorker.js')].find((candidate) => fs.existsSync(candidate)) };
  return workerScript.path;
}
