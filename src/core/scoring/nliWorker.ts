// The contradiction check's worker thread: loads the NLI cross-encoder (lazily, on the first check), tokenises
// the pairs and runs the model, so none of it blocks the thread that asked (the extension host, the CLI).
import { parentPort, workerData } from 'node:worker_threads';
import { ScorerError } from './embedder';
import { createOnnxNliChecker, type NliFromWorker, type NliToWorker, type NliWorkerInit } from './nli';

const port = parentPort;
if (!port) throw new Error('nliWorker.ts runs as a worker thread only.');
const checker = createOnnxNliChecker(workerData as NliWorkerInit);
// One check at a time, in order: the model runs one batch at a time anyway.
let queue: Promise<void> = Promise.resolve();

port.on('message', (message: NliToWorker) => {
  if (message.type === 'close') {
    queue = queue.then(async () => {
      await checker.dispose().catch(() => undefined);
      process.exit(0); // the runtime's own threads may hold the thread open after the model is disposed
    });
    return;
  }
  queue = queue.then(async () => {
    let reply: NliFromWorker;
    try {
      reply = { type: 'done', id: message.id, probabilities: await checker.check(message.pairs) };
    } catch (error) {
      reply = error instanceof ScorerError ? { type: 'failed', id: message.id, code: error.code, message: error.message } : { type: 'failed', id: message.id, code: 'model-corrupt', message: `The contradiction check failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    port.postMessage(reply);
  });
});
