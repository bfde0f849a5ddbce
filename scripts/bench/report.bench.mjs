// `report --json` and `compare --json` on stored results at three sizes (default 10,000, 100,000 and 1,000,000 rows;
// PISAR_BENCH_REPORT=10000,100000 for a short run), each beside `inspect` of the same file in the same run: time per
// row must not grow with the rows (linear), 1 M rows within 30 s and 1.5 GB for each command.
// The dataset and its results sidecar are written directly (two models' outputs and scores per row, a label on one
// row in fifty), so what is measured is reading, joining and the statistics, not scoring. Each result line is signed
// with a key of the bench's own (PISAR_REVIEW_KEY_FILE) and both models are configured (--config), so every result
// counts as scored on this machine: unsigned lines read "from the file" and enter no statistic.
// inspect is judged beside a plain read that splits lines (its own node process, as the CLI's): goal <= 3x, in CPU time.
// Usage: node scripts/bench/report.bench.mjs   (needs dist/: npm run build)
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './cli-run.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sizes = (process.env.PISAR_BENCH_REPORT || '10000,100000,1000000').split(',').map(Number);
const dir = join(root, 'bench-results', 'report');
mkdirSync(dir, { recursive: true });
// The installation key the CLI children verify result lines with (src/core/store/provenance.ts), and the config naming both models.
// Kept across runs, so files kept by PISAR_BENCH_KEEP stay signed with it.
const keyFile = join(dir, 'bench.key');
if (!existsSync(keyFile)) writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
const key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'hex');
process.env.PISAR_REVIEW_KEY_FILE = keyFile;
const signed = (record) => JSON.stringify({ ...record, mac: createHmac('sha256', key).update(JSON.stringify(record)).digest('hex').slice(0, 32) });
const configFile = join(dir, 'config.json');
writeFileSync(configFile, JSON.stringify({ models: ['ft', 'base'].map((name) => ({ name, baseUrl: 'http://127.0.0.1:9/v1', model: name })) }));

const words = ('the driver slowed because a pedestrian stepped toward the crossing while the light was about to change ' +
  'robot picked the cup by its handle to keep a stable grasp agent refunded the order since the parcel arrived damaged').split(' ');
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const sentence = (n) => Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]).join(' ');
const pool = Array.from({ length: 4000 }, (_, i) => `${sentence(10 + (i % 25))} ${i}.`);

async function writeLines(file, count, lineOf) {
  const stream = createWriteStream(file);
  for (let i = 0; i < count; i++) {
    const line = lineOf(i);
    if (line !== undefined && !stream.write(`${line}\n`)) await new Promise((r) => stream.once('drain', r));
  }
  await new Promise((r) => stream.end(r));
}

async function generate(rows) {
  const file = join(dir, `report-${rows}.jsonl`);
  const hashes = [];
  await writeLines(file, rows, (i) => {
    const line = JSON.stringify({ id: `r${i}`, input: `Why did it happen? ${i}`, rationale: pool[i % pool.length], label: ['entailment', 'neutral', 'contradiction'][i % 3] });
    hashes.push(createHash('sha1').update(line).digest('hex').slice(0, 16));
    return line;
  });
  const at = new Date(0).toISOString();
  await writeLines(join(dir, `report-${rows}.pisar-results.jsonl`), rows * 2, (k) => {
    const i = k >> 1;
    const model = k & 1 ? 'base' : 'ft';
    const score = k & 1 ? 0.3 + 0.4 * rand() : 0.55 + 0.4 * rand();
    return signed({ rowId: `r${i}`, rowHash: hashes[i], model, source: 'called', output: pool[(i * 7 + (k & 1) * 13) % pool.length], score, scorer: 'bench', at });
  });
  await writeLines(join(dir, `report-${rows}.pisar-annotations.jsonl`), Math.ceil(rows / 50), (k) => {
    const i = k * 50;
    return JSON.stringify({ v: 1, op: 'set', id: `a${k}`, at, rowId: `r${i}`, rowHash: hashes[i], target: 'output', model: k % 2 ? 'base' : 'ft', label: k % 3 ? 'fine' : 'wrong' });
  });
  return file;
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// The baseline of inspect: read the file in 1 MiB blocks, decode and split each into lines, count them.
const plainRead = `
  const fs = require('fs'); let lines = 0; let rest = '';
  (async () => { for await (const chunk of fs.createReadStream(process.argv[1], { highWaterMark: 1 << 20, encoding: 'utf8' })) {
    const parts = (rest + chunk).split('\\n'); rest = parts.pop(); lines += parts.length; }
    const u = process.resourceUsage(); console.log(JSON.stringify({ lines, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssMb: u.maxRSS / 1024 })); })();`;
function runPlainRead(file) {
  const t0 = performance.now();
  const result = spawnSync(process.execPath, ['-e', plainRead, file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`plain read: ${result.stderr}`);
  return { ms: performance.now() - t0, ...JSON.parse(result.stdout) };
}
const commands = {
  inspect: (f) => ['inspect', f, '--json'],
  report: (f) => ['report', f, '--json', '--config', configFile],
  compare: (f) => ['compare', f, '--models', 'ft,base', '--json', '--config', configFile],
};
const runs = [];
for (const rows of sizes) {
  const file = await generate(rows);
  const run = { rows, load: load() };
  const plain = runPlainRead(file);
  run.plainRead = { ms: plain.ms, cpuMs: plain.cpuMs, peakRssMb: plain.maxRssMb };
  for (const [name, args] of Object.entries(commands)) {
    const r = await runCli(root, args(file));
    // What is measured must be the statistics over every row: each model's results all counted.
    if (name === 'report' && !(r.doc.models.length === 2 && r.doc.models.every((m) => m.scored === rows))) throw new Error(`report counted ${JSON.stringify(r.doc.models.map((m) => [m.model, m.scored]))} of ${rows} rows a model: the bench measures nothing`);
    run[name] = { ms: r.ms, cpuMs: r.cpuMs, peakRssMb: r.maxRssMb, usPerRow: (r.ms * 1000) / rows };
  }
  runs.push(run);
  console.log(`  ${String(rows).padStart(8)} rows (load ${run.load}): ` + Object.keys(commands).map((c) => `${c} ${(run[c].ms / 1000).toFixed(1)} s, ${run[c].usPerRow.toFixed(0)} us/row, ${run[c].peakRssMb.toFixed(0)} MB`).join('; ') +
    `; report / inspect ${(run.report.ms / run.inspect.ms).toFixed(2)}x, compare / inspect ${(run.compare.ms / run.inspect.ms).toFixed(2)}x`);
  console.log(`           CPU time: plain read ${(plain.cpuMs / 1000).toFixed(2)} s, ` + Object.keys(commands).map((c) => `${c} ${(run[c].cpuMs / 1000).toFixed(1)} s`).join(', ') +
    `; inspect / plain read that splits lines ${(run.inspect.cpuMs / plain.cpuMs).toFixed(2)}x CPU, ${(run.inspect.ms / plain.ms).toFixed(2)}x wall (goal <= 3x)`);
  if (!process.env.PISAR_BENCH_KEEP) for (const suffix of ['.jsonl', '.pisar-results.jsonl', '.pisar-annotations.jsonl']) rmSync(join(dir, `report-${rows}${suffix}`), { force: true });
}
const small = runs[0];
const large = runs.at(-1);
const growth = (c) => large[c].cpuMs / large.rows / (small[c].cpuMs / small.rows);
console.log(`inspect: ${(large.inspect.cpuMs / large.plainRead.cpuMs).toFixed(2)}x a plain read that splits lines at ${large.rows} rows, in CPU time (goal <= 3x)`);
for (const c of ['report', 'compare']) {
  // At another size than 1 M the time goal is scaled to the rows (30 s a million), the memory goal is not.
  const timeGoalMs = (30000 * large.rows) / 1e6;
  console.log(`${c}: CPU time per row at ${large.rows} / at ${small.rows}: ${growth(c).toFixed(2)} (1.00 = linear; goal <= 1.3); ${large.rows} rows in ${(large[c].ms / 1000).toFixed(1)} s wall, ` +
    `${(large[c].cpuMs / 1000).toFixed(1)} s CPU: ${(large[c].ms / timeGoalMs).toFixed(2)}x wall, ${(large[c].cpuMs / timeGoalMs).toFixed(2)}x CPU the goal of 30 s a million rows; ` +
    `peak RSS ${large[c].peakRssMb.toFixed(0)} MB, ${(large[c].peakRssMb / 1536).toFixed(2)}x the goal of 1536 MB`);
}
console.log(`load average at the start of each size: ${runs.map((r) => r.load).join(' | ')}; at the end: ${load()} (2 cores: above 2, wall times include waiting for a core)`);
writeFileSync(join(root, 'bench-results', 'report.json'), `${JSON.stringify({ runs }, null, 2)}\n`);
const ok = ['report', 'compare'].every((c) => growth(c) <= 1.3 && large[c].peakRssMb <= 1536 && (large.rows < 1e6 || large[c].ms <= 30000)) && large.inspect.cpuMs <= 3 * large.plainRead.cpuMs;
process.exitCode = ok ? 0 : 1;
