// A run over precomputed outputs at two sizes (default 50,000 and 500,000 rows; PISAR_BENCH_SCALE=100000,1000000
// for the full check), end to end through the CLI (`pisar-review score --json`), in one run: the time per row must
// not grow with the dataset (linear; CPU time per row, which other processes' load cannot inflate), and peak
// memory must stay under 1.5 GB.
// Texts come from a pool of 2,000 sentences scored with the committed tiny model, so the embedding work is a small
// fixed cost and what is measured is everything around it: index, plan, row reads, hashing and cache lookups for
// every text, batching, writing one results line per pair.
// Usage: node scripts/bench/scale.bench.mjs   (needs dist/: npm run bench)
import { createWriteStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './cli-run.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sizes = (process.env.PISAR_BENCH_SCALE || '50000,500000').split(',').map(Number);
const dir = join(root, 'bench-results', 'scale');
mkdirSync(dir, { recursive: true });
const tiny = join(root, 'test', 'fixtures', 'models', 'tiny');

const words = ('the driver slowed because a pedestrian stepped toward the crossing while the light was about to change ' +
  'robot picked the cup by its handle to keep a stable grasp agent refunded the order since the parcel arrived damaged').split(' ');
let seed = 11;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pool = Array.from({ length: 2000 }, (_, i) => `${Array.from({ length: 12 + (i % 20) }, () => words[Math.floor(rand() * words.length)]).join(' ')} ${i}.`);

async function generate(rows) {
  const file = join(dir, `scale-${rows}.jsonl`);
  const stream = createWriteStream(file);
  for (let i = 0; i < rows; i++) {
    const line = `${JSON.stringify({ id: `r${i}`, input: 'Why?', rationale: pool[i % pool.length], outputs: { ft: pool[(i * 7 + 3) % pool.length] } })}\n`;
    if (!stream.write(line)) await new Promise((r) => stream.once('drain', r));
  }
  await new Promise((r) => stream.end(r));
  return file;
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const runs = [];
for (const rows of sizes) {
  const file = await generate(rows);
  const cacheDir = join(dir, `cache-${rows}`);
  rmSync(join(dir, `scale-${rows}.pisar-results.jsonl`), { force: true });
  const run = await runCli(root, ['score', file, '--embedding-model', tiny, '--cache-dir', cacheDir, '--json']);
  const resultsLines = readFileSync(join(dir, `scale-${rows}.pisar-results.jsonl`), 'utf8').split('\n').filter(Boolean).length;
  runs.push({ rows, ms: run.ms, usPerRow: (run.ms * 1000) / rows, peakRssMb: run.maxRssMb, cpuMs: run.cpuMs, scored: run.doc.run.scored, resultsLines, datasetMb: statSync(file).size / 1e6, load: load() });
  const r = runs.at(-1);
  console.log(`  ${String(rows).padStart(8)} rows: ${(r.ms / 1000).toFixed(1)} s (${r.usPerRow.toFixed(0)} us/row), CPU ${(r.cpuMs / 1000).toFixed(1)} s (${((r.cpuMs * 1000) / rows).toFixed(0)} us/row), peak RSS ${r.peakRssMb.toFixed(0)} MB, ${r.scored} scored, ${r.resultsLines} results lines; load ${r.load}`);
  rmSync(file, { force: true });
  rmSync(join(dir, `scale-${rows}.pisar-results.jsonl`), { force: true });
  rmSync(cacheDir, { recursive: true, force: true });
}
const [small, large] = runs;
// CPU time per row is what load from other processes cannot inflate (a starved run's wall time can grow 5x).
const growth = (large.cpuMs / large.rows) / (small.cpuMs / small.rows);
const wallGrowth = large.usPerRow / small.usPerRow;
console.log(`CPU time per row at ${large.rows} / at ${small.rows}: ${growth.toFixed(2)} (1.00 = linear; goal <= 1.3); wall time per row: ${wallGrowth.toFixed(2)}; peak RSS at ${large.rows}: ${large.peakRssMb.toFixed(0)} MB (goal < 1536)`);
console.log(`one results line per pair: ${runs.every((r) => r.resultsLines === r.rows) ? 'yes' : 'NO'}; load average at the end: ${load()}`);
writeFileSync(join(root, 'bench-results', 'scale.json'), `${JSON.stringify({ runs, growth, wallGrowth }, null, 2)}\n`);
process.exitCode = runs.every((r) => r.resultsLines === r.rows && r.scored === r.rows) && growth <= 1.3 && large.peakRssMb < 1536 ? 0 : 1;
