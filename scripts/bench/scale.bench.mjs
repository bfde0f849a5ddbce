// `pisar-review score` over precomputed outputs at two sizes (default 100,000 and 1,000,000 rows;
// PISAR_BENCH_SCALE=20000,100000 for a short run), end to end through the CLI (`--json`), in one run:
//   - peak RSS as a multiple of the dataset file (goal < 2x at 100,000 rows): rows and texts stream through the
//     run in bounded windows and are released once scored, whatever the dataset's size;
//   - CPU time per row at the large size / at the small one (linear: 1.00; CPU time, which other processes'
//     load cannot inflate much), and wall time per row.
// Rows are of rationale length (about 1 KB: a reference and two model outputs, every text distinct), so the embedding
// work with the committed tiny model is real but small, and what is measured is everything around it: index, plan,
// row reads, hashing and cache lookups for every text, batching, hand-off to the workers, one results line per pair.
// Usage: node scripts/bench/scale.bench.mjs   (needs dist/: npm run bench)
import { closeSync, createWriteStream, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './cli-run.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sizes = (process.env.PISAR_BENCH_SCALE || '100000,1000000').split(',').map(Number);
const dir = join(root, 'bench-results', 'scale');
mkdirSync(dir, { recursive: true });
const tiny = join(root, 'test', 'fixtures', 'models', 'tiny');
const MEMORY_GOAL = 2; // peak RSS < 2x the file at 100,000 rows (issue 23.3)

const words = ('the driver slowed because a pedestrian stepped toward the crossing while the light was about to change ' +
  'robot picked the cup by its handle to keep a stable grasp agent refunded the order since the parcel arrived damaged ' +
  'so that nobody was hurt and the customer kept trust in the service after checking the log twice').split(' ');
let seed = 11;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const sentence = () => Array.from({ length: 48 + Math.floor(rand() * 16) }, () => words[Math.floor(rand() * words.length)]).join(' ');

/** Each row: a reference and two outputs of rationale length (~330 characters each), every text distinct. */
async function generate(rows) {
  const file = join(dir, `scale-${rows}.jsonl`);
  const stream = createWriteStream(file);
  for (let i = 0; i < rows; i++) {
    const line = `${JSON.stringify({ id: `r${i}`, input: `Why did the agent act? Case ${i}.`, rationale: `${sentence()} (${i}).`, outputs: { ft: `${sentence()} [${i}].`, base: `${sentence()} {${i}}.` } })}\n`;
    if (!stream.write(line)) await new Promise((r) => stream.once('drain', r));
  }
  await new Promise((r) => stream.end(r));
  return file;
}

/** Non-empty lines of a file read in 8 MiB blocks (a million rows' results are more than one string can hold). */
function countLines(file) {
  const fd = openSync(file, 'r');
  const block = Buffer.alloc(8 << 20);
  let lines = 0;
  let lastByte = 0x0a;
  try {
    for (let n; (n = readSync(fd, block, 0, block.length, null)) > 0; ) {
      for (let i = 0; i < n; i++) {
        if (block[i] === 0x0a && lastByte !== 0x0a) lines++;
        lastByte = block[i];
      }
    }
  } finally {
    closeSync(fd);
  }
  return lastByte === 0x0a ? lines : lines + 1;
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const runs = [];
for (const rows of sizes) {
  const file = await generate(rows);
  const results = join(dir, `scale-${rows}.pisar-results.jsonl`);
  const cacheDir = join(dir, `cache-${rows}`);
  rmSync(results, { force: true });
  rmSync(cacheDir, { recursive: true, force: true });
  const run = await runCli(root, ['score', file, '--embedding-model', tiny, '--cache-dir', cacheDir, '--json']);
  const resultsLines = countLines(results);
  const datasetMb = statSync(file).size / 1e6;
  runs.push({ rows, pairs: 2 * rows, ms: run.ms, usPerRow: (run.ms * 1000) / rows, peakRssMb: run.maxRssMb, rssOverFile: (run.maxRssMb * 1.048576) / datasetMb, cpuMs: run.cpuMs, scored: run.doc.run.scored, resultsLines, datasetMb, load: load() });
  const r = runs.at(-1);
  console.log(`  ${String(rows).padStart(8)} rows (${r.datasetMb.toFixed(0)} MB): wall ${(r.ms / 1000).toFixed(1)} s (${r.usPerRow.toFixed(0)} us/row), CPU ${(r.cpuMs / 1000).toFixed(1)} s (${((r.cpuMs * 1000) / rows).toFixed(0)} us/row), peak RSS ${r.peakRssMb.toFixed(0)} MB = ${r.rssOverFile.toFixed(2)}x the file, ${r.scored} scored, ${r.resultsLines} results lines; load ${r.load}`);
  if (!process.env.PISAR_BENCH_KEEP) {
    rmSync(file, { force: true });
    rmSync(results, { force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
const small = runs[0];
const large = runs.at(-1);
const at100k = runs.find((r) => r.rows === 100_000) ?? small;
// CPU time per row is what load from other processes cannot inflate (a starved run's wall time can grow 5x).
const growth = (large.cpuMs / large.rows) / (small.cpuMs / small.rows);
const wallGrowth = large.usPerRow / small.usPerRow;
console.log(`peak RSS at ${at100k.rows} rows: ${at100k.rssOverFile.toFixed(2)}x the file (goal < ${MEMORY_GOAL}x); at ${large.rows}: ${large.rssOverFile.toFixed(2)}x (${large.peakRssMb.toFixed(0)} MB)`);
console.log(`CPU time per row at ${large.rows} / at ${small.rows}: ${growth.toFixed(2)} (1.00 = linear; goal <= 1.3); wall time per row: ${wallGrowth.toFixed(2)}`);
console.log(`one results line per pair: ${runs.every((r) => r.resultsLines === r.pairs) ? 'yes' : 'NO'}; load average at the end: ${load()}`);
writeFileSync(join(root, 'bench-results', 'scale.json'), `${JSON.stringify({ runs, growth, wallGrowth, memoryGoal: MEMORY_GOAL, rssOverFileAt100k: at100k.rssOverFile }, null, 2)}\n`);
process.exitCode = runs.every((r) => r.resultsLines === r.pairs && r.scored === r.pairs) && growth <= 1.3 && at100k.rssOverFile < MEMORY_GOAL ? 0 : 1;
