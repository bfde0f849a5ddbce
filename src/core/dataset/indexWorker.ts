// A worker thread that indexes parts of a large dataset file, one at a time, as Dataset.open hands
// them out (src/core/dataset/parallelIndex.ts, indexInParts).
import { parentPort, workerData } from 'node:worker_threads';
import { transferablesOf } from './indexer';
import { indexPart } from './parallelIndex';
import type { OpenDatasetOptions } from './types';

const { file, options } = workerData as { file: string; options: OpenDatasetOptions };

parentPort?.on('message', ({ start, end }: { start: number; end: number }) => {
  indexPart(file, options, start, end).then(
    (part) => parentPort?.postMessage({ part }, transferablesOf(part)),
    (error: unknown) => parentPort?.postMessage({ error: error instanceof Error ? error.message : String(error) }),
  );
});
parentPort?.postMessage({ ready: true });
