// A worker thread that checks the MACs of a results sidecar's lines while the thread that reads the file parses them
// (src/core/store/macCheck.ts): blocks of whole lines in, a verdict byte a line out (provenance.ts, tailMacVerdicts) with the block.
import { parentPort, workerData } from 'node:worker_threads';
import { tailMacVerdicts } from './provenance';

const key = Buffer.from(workerData as Uint8Array);

parentPort?.on('message', ({ id, bytes }: { id: number; bytes: Uint8Array }) => {
  const verdicts = tailMacVerdicts(bytes, key);
  // The bytes go back too: the reader reads its next block into them.
  parentPort?.postMessage({ id, verdicts, bytes }, [verdicts.buffer as ArrayBuffer, bytes.buffer as ArrayBuffer]);
});
