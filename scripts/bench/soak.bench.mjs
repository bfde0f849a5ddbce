// Faults under load (issue 8): 5,000 calls (2,500 rows x 2 models) at concurrency 32 (16 per model)
// against the fake OpenAI server with 10% injected faults (429, 500, resets, slow past the timeout).
// The run is cancelled once (SIGINT) and resumed, then killed (SIGKILL) and resumed to the end.
// Reports calls, faults, retries, results stored, duplicates, lost, peak RSS, and wall time relative
// to a fault-free run of the same size measured side by side. test/unit/soak.test.ts is the scaled-down twin.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const { runSoak } = require(join(root, 'out', 'test', 'support', 'soak.js'));

const report = await runSoak({
  rows: 2500, models: 2, concurrencyPerModel: 16, latencyMs: 20, faultRate: 0.1,
  timeoutMs: 1000, slowMs: 2000, retry: { retries: 6, baseDelayMs: 100, maxDelayMs: 2000 },
  cancelAt: 0.3, killAt: 0.6, seed: 42, smallBaseline: true,
  log: (line) => console.log(`  ${line}`),
});

const mb = (b) => (b === null || b === undefined ? 'n/a' : `${(b / 1024 / 1024).toFixed(0)} MB`);
console.log(`calls: ${report.calls} (2,500 rows x 2 models, concurrency 32)`);
console.log(`requests at the server: ${report.requestsAtServer}; faults injected: ${report.faultsTotal} ${JSON.stringify(report.faultsInjected)}`);
console.log(`retries (phases that finished): ${report.retries}`);
console.log(`results stored: ${report.resultsStored} lines; pairs with exactly one success: ${report.pairsWithOneSuccess}/${report.pairs}`);
console.log(`duplicates: ${report.duplicates}   lost: ${report.lost}   sidecar problems at the end: ${report.sidecarProblemsAtEnd.length}   repaired on open: ${report.repairedOnOpen.length}`);
console.log(`successful calls repeated because the cancel or the kill cut them off: ${report.repeatedAtServer}`);
console.log(`peak RSS: faulty phases ${mb(report.peakRssBytes)} (per phase: ${report.phases.map((p) => `${p.phase} ${mb(p.peakRssBytes)}`).join(', ')}); fault-free run ${mb(report.baseline.peakRssBytes)}, fault-free run of one fifth the size ${mb(report.smallBaselinePeakRssBytes)} (x${(report.baseline.peakRssBytes / report.smallBaselinePeakRssBytes).toFixed(2)} for 5x the calls)`);
console.log(`heap held after a full GC at the end: 5,000 calls ${mb(report.baseline.heapAfterGcBytes)}, 1,000 calls ${mb(report.smallBaselineHeapAfterGcBytes)}`);
console.log(`wall time: faulty (all phases) ${Math.round(report.faultyWallMs)} ms vs fault-free ${Math.round(report.baseline.wallMs)} ms: x${report.wallRatio.toFixed(2)}`);
console.log(`key in sidecar: ${report.keyInSidecar}; dataset unchanged: ${report.datasetUnchanged}; load average ${loadavg()[0].toFixed(1)}`);

mkdirSync(join(root, 'bench-results'), { recursive: true });
writeFileSync(join(root, 'bench-results', 'soak.json'), JSON.stringify(report, null, 2));
if (report.duplicates !== 0 || report.lost !== 0 || report.sidecarProblemsAtEnd.length !== 0) process.exitCode = 1;
