// Dataset indexing: a 100,000-row PiSAR file (~100 MB), indexed by Dataset.open (in parts, one a thread,
// and on one thread), beside `wc -l`, a plain
// one-pass read in Node, and the naive readline + JSON.parse-everything reader, all in this one run.
// Each contender runs in its own child process (so its peak RSS is its own), 3 times; medians reported.
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sentences } from './sentences.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = join(root, 'bench-results');
mkdirSync(outDir, { recursive: true });
const file = join(outDir, 'bench-100k.jsonl');
const ROWS = 100_000;

const { rand, sentence } = sentences(7);

async function generate() {
  if (existsSync(file) && statSync(file).size > 90e6) return;
  const out = createWriteStream(file);
  for (let i = 0; i < ROWS; i++) {
    const row = { id: `pisar-${String(i).padStart(6, '0')}`, input: sentence(95), rationale: sentence(30),
      outputs: { 'ft-qwen3-vl-8b': sentence(30), 'gpt-4o': sentence(32), 'claude-sonnet': sentence(28) } };
    if (!out.write(JSON.stringify(row) + '\n')) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
}

// Each contender is a tiny script run in a fresh node; it prints {ms, rss}.
const contenders = {
  'wc -l': null,
  'node one-pass read': `
    const fs = require('fs'); const t = performance.now(); let n = 0;
    (async () => { for await (const c of fs.createReadStream(process.argv[1], { highWaterMark: 1 << 20 })) n += c.length;
      console.log(JSON.stringify({ ms: performance.now() - t, rss: process.resourceUsage().maxRSS * 1024 })); })();`,
  'Dataset.open (index + validate)': `
    const { Dataset } = require(${JSON.stringify(join(root, 'out', 'src', 'core', 'dataset', 'datasetReader.js'))});
    const t = performance.now();
    Dataset.open(process.argv[1]).then(async (d) => { const ms = performance.now() - t; if (d.rowCount !== ${ROWS}) throw new Error('rows ' + d.rowCount);
      const t2 = performance.now(); const r = await d.getRow(${ROWS - 1}); const rowMs = performance.now() - t2; await d.close();
      console.log(JSON.stringify({ ms, rss: process.resourceUsage().maxRSS * 1024, rowMs, id: r.id })); });`,
  'Dataset.open, one thread': `
    const { Dataset } = require(${JSON.stringify(join(root, 'out', 'src', 'core', 'dataset', 'datasetReader.js'))});
    const t = performance.now();
    Dataset.open(process.argv[1], { threads: 1 }).then(async (d) => { const ms = performance.now() - t; if (d.rowCount !== ${ROWS}) throw new Error('rows ' + d.rowCount);
      await d.close(); console.log(JSON.stringify({ ms, rss: process.resourceUsage().maxRSS * 1024 })); });`,
  'Dataset.open, no row hashes (inspect)': `
    const { Dataset } = require(${JSON.stringify(join(root, 'out', 'src', 'core', 'dataset', 'datasetReader.js'))});
    const t = performance.now();
    Dataset.open(process.argv[1], { rowHashes: false }).then(async (d) => { const ms = performance.now() - t; if (d.rowCount !== ${ROWS}) throw new Error('rows ' + d.rowCount);
      await d.close(); console.log(JSON.stringify({ ms, rss: process.resourceUsage().maxRSS * 1024 })); });`,
  'naive readline + JSON.parse all': `
    const fs = require('fs'); const readline = require('readline'); const t = performance.now(); const rows = [];
    (async () => { for await (const line of readline.createInterface({ input: fs.createReadStream(process.argv[1]) })) if (line.trim()) rows.push(JSON.parse(line));
      console.log(JSON.stringify({ ms: performance.now() - t, rss: process.resourceUsage().maxRSS * 1024, n: rows.length })); })();`,
};

function runOnce(name) {
  if (name === 'wc -l') {
    const t = performance.now();
    execFileSync('wc', ['-l', file]);
    return { ms: performance.now() - t, rss: null };
  }
  const result = spawnSync(process.execPath, ['-e', contenders[name], file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${name}: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await generate();
const size = statSync(file).size;
const baselineRss = JSON.parse(spawnSync(process.execPath, ['-e', 'console.log(JSON.stringify({rss: process.resourceUsage().maxRSS*1024}))'], { encoding: 'utf8' }).stdout).rss;
runOnce('node one-pass read'); // warm the page cache
const results = {};
for (let round = 0; round < 3; round++) {
  for (const name of Object.keys(contenders)) {
    (results[name] ??= []).push(runOnce(name));
  }
}
const base = median(results['node one-pass read'].map((r) => r.ms));
const rows = Object.entries(results).map(([name, runs]) => {
  const ms = median(runs.map((r) => r.ms));
  const rss = runs[0].rss === null ? null : median(runs.map((r) => r.rss));
  return { name, ms: Math.round(ms), xRead: +(ms / base).toFixed(2), rssMB: rss === null ? null : +(rss / 2 ** 20).toFixed(0), rssOverFile: rss === null ? null : +(rss / size).toFixed(2) };
});
const openRuns = results['Dataset.open (index + validate)'];
console.log(`file: ${ROWS} rows, ${(size / 2 ** 20).toFixed(1)} MiB; an empty node process peaks at ${(baselineRss / 2 ** 20).toFixed(0)} MiB RSS`);
console.table(rows);
console.log(`random access: getRow(last) after open took ${median(openRuns.map((r) => r.rowMs)).toFixed(2)} ms`);
const open = rows.find((r) => r.name.startsWith('Dataset.open'));
console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
const cores = (await import('node:os')).availableParallelism();
console.log(`Dataset.open indexes in parts on up to ${Math.min(8, cores)} threads here (${cores} cores); 'one thread' is the single pass`);
console.log(`goal: index within 6x of the one-pass read on 2 cores -> ${open.xRead}x (${open.xRead <= 6 ? 'met' : 'NOT met'}); peak RSS under 2x the file -> ${open.rssOverFile}x (${open.rssOverFile < 2 ? 'met' : 'NOT met'})`);
writeFileSync(join(outDir, 'dataset.json'), JSON.stringify({ rows: ROWS, bytes: size, results: rows }, null, 2));
