import { Dataset } from '../../src/core/dataset/datasetReader';
import { runDataset } from '../../src/core/runner/runner';
import { ResultsStore } from '../../src/core/store/results';

/**
 * One soak phase in its own process (so it can be cancelled with SIGINT or killed with SIGKILL):
 *   node out/test/support/soakChild.js '<json options>'
 * Prints one JSON line: the run summary, its peak RSS and the sidecar problems it found on open.
 */
interface ChildOptions {
  dataset: string;
  baseUrl: string;
  models: string[];
  concurrency: number;
  timeoutMs: number;
  retry: { retries: number; baseDelayMs: number; maxDelayMs: number };
}

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2]) as ChildOptions;
  const controller = new AbortController();
  process.on('SIGINT', () => controller.abort());
  const dataset = await Dataset.open(o.dataset);
  const results = await ResultsStore.open(o.dataset);
  const summary = await runDataset({
    dataset,
    results,
    models: o.models.map((name) => ({ name, baseUrl: o.baseUrl, model: name, concurrency: o.concurrency, timeoutMs: o.timeoutMs })),
    retry: o.retry,
    signal: controller.signal,
    apiKeyFor: async () => 'sk-soak-secret',
  });
  await dataset.close();
  const { failures: _failures, models: _models, ...counts } = summary;
  // Heap still held after a full GC: what the run retains, apart from V8's lazy heap growth.
  (globalThis as { gc?: () => void }).gc?.();
  const heapAfterGcBytes = process.memoryUsage().heapUsed;
  process.stdout.write(JSON.stringify({ summary: counts, maxRssBytes: process.resourceUsage().maxRSS * 1024, heapAfterGcBytes, problems: results.problems }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`soakChild: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
