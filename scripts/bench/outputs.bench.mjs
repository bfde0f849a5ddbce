// One row with many precomputed outputs (issue 18 point 8: 40,000 took 254 s): open, plan, score with
// the tiny embedding model, store. Sizes double so the cost per output shows: a linear run keeps it flat.
// Usage: node scripts/bench/outputs.bench.mjs [max outputs, default 40000]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const out = (p) => join(root, 'out', p);
const { Dataset } = require(out('src/core/dataset/datasetReader.js'));
const { ResultsStore } = require(out('src/core/store/results.js'));
const { runDataset } = require(out('src/core/runner/runner.js'));
const { createScorer } = require(out('src/core/scoring/scorer.js'));

const max = Number(process.argv[2] ?? 40000);
const sizes = [];
for (let n = 5000; n < max; n *= 2) sizes.push(n);
sizes.push(max);

const dir = mkdtempSync(join(tmpdir(), 'pisar-outputs-bench-'));
const cacheDir = join(dir, 'cache');
const tiny = join(root, 'test', 'fixtures', 'models', 'tiny');
const rows = [];
try {
  for (const n of sizes) {
    const file = join(dir, `outputs-${n}.jsonl`);
    const outputs = {};
    for (let i = 0; i < n; i++) outputs[`model-${i}`] = `answer ${i % 97}`;
    writeFileSync(file, JSON.stringify({ id: 'one', input: 'question', rationale: 'answer 1', outputs }) + '\n');
    const t0 = performance.now();
    const dataset = await Dataset.open(file);
    const row = await dataset.getRow(0);
    const tOpen = performance.now() - t0;
    const results = await ResultsStore.open(file);
    const scorer = createScorer({ provider: 'local', model: tiny, dtype: 'fp32', cacheDir });
    const t1 = performance.now();
    const summary = await runDataset({ dataset, models: [], results, scorer });
    await results.flushed();
    const tRun = performance.now() - t1;
    const reopened = await ResultsStore.open(file);
    const stored = [...reopened.latestResults()].length;
    await dataset.close();
    rows.push({ outputs: n, parsedOutputs: Object.keys(row.outputs).length, stored, scored: summary.scored, openMs: Math.round(tOpen), runMs: Math.round(tRun), usPerOutput: Math.round(((tOpen + tRun) * 1000) / n) });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
