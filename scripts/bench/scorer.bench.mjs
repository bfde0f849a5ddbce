// Embedding scorer throughput on a model with exactly all-MiniLM-L6-v2's shape (random weights, built on
// demand), 2,000 distinct rationale-length texts (the sample's texts with variations), in one run:
//   (a) raw onnxruntime-node session.run on the same deduplicated, pre-tokenised, length-sorted batches,
//       in each thread layout; the fastest is the runtime's limit 
//   (b) the scorer end to end (hashing, cache lookup, worker threads, tokenising, pooling, disk cache)
//   (c) a naive loop: the transformers.js pipeline called once per text with default options (every 4th text)
// All run in turn on each slice of 160 texts, so load from other processes hits them alike.
// then a re-score of the same texts (must compute zero embeddings). fp32 and q8.
// Usage: node scripts/bench/scorer.bench.mjs [fp32|q8]   (needs out/: npm run test:unit or npm run bench)
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildModel } from '../build-test-models.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const TEXTS = Number(process.env.PISAR_BENCH_TEXTS) || 2000; // smaller only to smoke-test this script
const BATCH = 32;
const SLICE = 160; // texts per interleaved slice (5 batches)
const NAIVE_STRIDE = 4;

const scorerModule = join(root, 'out', 'src', 'core', 'scoring', 'scorer.js');
if (!existsSync(scorerModule)) {
  console.error(`${scorerModule} is missing: compile first (npx tsc -p tsconfig.test.json, or npm run bench).`);
  process.exit(2);
}
const { createScorer } = require(scorerModule);
const ort = require('onnxruntime-node');
const transformers = await import('@huggingface/transformers');

// ---- texts: the sample's rationales and outputs, each varied until there are 2,000 distinct ones
function loadTexts() {
  const sample = join(root, 'samples', 'pisar-sample.jsonl');
  let base = [];
  if (existsSync(sample)) {
    for (const line of readFileSync(sample, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const row = JSON.parse(line);
        for (const v of [row.rationale, row.reference, ...Object.values(row.outputs ?? {})]) if (typeof v === 'string' && v.length > 20) base.push(v);
      } catch { /* a malformed sample line is not this bench's business */ }
    }
  }
  if (base.length === 0) {
    base = ['The driver slowed because the crest hides the road ahead and stopping distance would be too short.',
      'The robot grasped the mug by its handle to keep a stable hold while moving it across the table.',
      'The agent asked for a wired test to rule out Wi-Fi before sending a technician to the house.'];
  }
  const markers = ['clearly', 'probably', 'mainly', 'mostly', 'likely', 'simply', 'really', 'partly', 'largely', 'chiefly', 'plainly', 'surely'];
  const out = new Set();
  for (let k = 0; out.size < TEXTS; k++) {
    for (const text of base) {
      if (out.size >= TEXTS) break;
      const words = text.split(' ');
      if (k > 0) words.splice((k * 7) % words.length, 1, markers[k % markers.length]); // same length, different text
      out.add(words.join(' '));
    }
  }
  return [...out];
}

/** Wall time, and CPU time of every thread of this process (what other processes' load cannot inflate much). */
async function timed(fn) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, value };
}

// ---- raw onnxruntime-node: one session on this thread, or one per worker thread
const RAW_WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const ort = require(workerData.ortPath);
  (async () => {
    const session = await ort.InferenceSession.create(workerData.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    parentPort.postMessage({ ready: true });
    parentPort.on('message', async (b) => {
      const dims = [b.rows, b.cols];
      await session.run({ input_ids: new ort.Tensor('int64', b.ids, dims), attention_mask: new ort.Tensor('int64', b.mask, dims), token_type_ids: new ort.Tensor('int64', b.types, dims) });
      parentPort.postMessage({ done: b.rows });
    });
  })();`;

function tensorsOf(batch) {
  const dims = [batch.rows, batch.cols];
  return { input_ids: new ort.Tensor('int64', batch.ids, dims), attention_mask: new ort.Tensor('int64', batch.mask, dims), token_type_ids: new ort.Tensor('int64', batch.types, dims) };
}

/** A raw runner keeps its session(s) loaded; run(batches) is timed by the caller. */
async function rawSingleSession(modelFile, intraOpNumThreads) {
  const session = await ort.InferenceSession.create(modelFile, intraOpNumThreads ? { intraOpNumThreads, interOpNumThreads: 1 } : {});
  return {
    run: async (batches) => {
      for (const b of batches) await session.run(tensorsOf(b));
    },
    close: async () => session.release?.(),
  };
}

async function rawWorkers(modelFile, count) {
  const workers = await Promise.all(Array.from({ length: count }, () => new Promise((resolve, reject) => {
    const w = new Worker(RAW_WORKER, { eval: true, workerData: { model: modelFile, ortPath: require.resolve('onnxruntime-node') } });
    w.once('message', () => resolve(w));
    w.once('error', reject);
  })));
  const run = (list) => new Promise((resolve) => {
    let next = 0;
    let done = 0;
    const feed = (w) => {
      if (next < list.length) {
        const { rows, cols, ids, mask, types } = list[next++];
        w.postMessage({ rows, cols, ids, mask, types });
      }
    };
    for (const w of workers) {
      w.removeAllListeners('message');
      w.on('message', () => {
        if (++done === list.length) resolve();
        else feed(w);
      });
      feed(w); feed(w); // two in flight per worker, as the scorer does
    }
  });
  return { run, close: () => Promise.all(workers.map((w) => w.terminate())) }; // idle here: safe to terminate
}

function peakGflops() {
  const flags = readFileSync('/proc/cpuinfo', 'utf8');
  const lanes = /\bavx512f\b/.test(flags) ? 16 : /\bavx2\b/.test(flags) ? 8 : 4;
  const fma = /\bfma\b/.test(flags) ? 2 : 1;
  const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(flags)?.[1]) || cpus()[0]?.speed || 2000;
  const ghz = mhz / 1000;
  const cores = availableParallelism();
  // Two vector FMA ports per core (Xeon server cores); FMA counts as 2 FLOPs.
  return { gflops: cores * ghz * lanes * fma * 2, cores, ghz, lanes, fma };
}

async function benchDtype(dtype, modelDir, texts) {
  const modelFile = join(modelDir, 'onnx', dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx');
  // Pre-tokenise once, deduplicate, sort by token count, batch: exactly what the runtime needs, nothing more.
  const tokenizer = await transformers.AutoTokenizer.from_pretrained(modelDir);
  const unique = [...new Set(texts)];
  const encoded = unique.map((text) => Object.assign(tokenizer(text, { truncation: true, max_length: 256 }).input_ids.data, { text })).sort((a, b) => a.length - b.length);
  const realTokens = encoded.reduce((n, ids) => n + ids.length, 0);
  const batches = [];
  for (let i = 0; i < encoded.length; i += BATCH) {
    const group = encoded.slice(i, i + BATCH);
    const cols = group.at(-1).length;
    const ids = new BigInt64Array(group.length * cols);
    const mask = new BigInt64Array(group.length * cols);
    group.forEach((row, r) => {
      ids.set(row, r * cols);
      mask.fill(1n, r * cols, r * cols + row.length);
    });
    batches.push({ rows: group.length, cols, ids, mask, types: new BigInt64Array(group.length * cols), texts: group.map((row) => row.text) });
  }

  // Every contender runs on each slice of SLICE texts in turn (order alternating), so bursts of load from
  // other processes hit all of them alike; ratios are the median over slices of the paired rates.
  const workerCount = availableParallelism();
  const runners = {
    '1 session, ORT default threads': await rawSingleSession(modelFile, 0),
    '1 session, 2 intra-op threads': await rawSingleSession(modelFile, 2),
    [`${workerCount} worker threads x 1 session, 1 thread`]: await rawWorkers(modelFile, workerCount),
  };
  for (const r of Object.values(runners)) await r.run(batches.slice(0, workerCount)); // warm-up
  const cacheDir = mkdtempSync(join(tmpdir(), 'pisar-bench-scorer-'));
  const scorer = createScorer({ provider: 'local', model: modelDir, dtype, cacheDir });
  // Model loading is not timed (as session creation in (a)); warm-up texts load every worker.
  await scorer.embed(Array.from({ length: 2 * BATCH * workerCount }, (_, i) => `warm-up text number ${i}`));
  const computedBefore = scorer.stats.computed;
  const extractor = await transformers.pipeline('feature-extraction', modelDir, { dtype });
  await extractor('warm-up', { pooling: 'mean', normalize: true });

  const perSlice = [];
  const sum = {};
  const add = (name, t, n) => {
    sum[name] ??= { ms: 0, cpuMs: 0, n: 0 };
    sum[name].ms += t.ms;
    sum[name].cpuMs += t.cpuMs;
    sum[name].n += n;
  };
  const slicesOfBatches = [];
  for (let i = 0; i < batches.length; i += SLICE / BATCH) slicesOfBatches.push(batches.slice(i, i + SLICE / BATCH));
  for (const [i, sliceBatches] of slicesOfBatches.entries()) {
    const sliceTexts = sliceBatches.flatMap((b) => b.texts);
    const naiveTexts = sliceTexts.filter((_, j) => j % NAIVE_STRIDE === 0);
    const steps = [
      ...Object.entries(runners).map(([name, r]) => [name, () => r.run(sliceBatches), sliceTexts.length]),
      ['scorer', () => scorer.embed(sliceTexts), sliceTexts.length],
      ['naive', async () => {
        for (const text of naiveTexts) await extractor(text, { pooling: 'mean', normalize: true });
      }, naiveTexts.length],
    ];
    if (i % 2 === 1) steps.reverse();
    const rates = {};
    for (const [name, fn, n] of steps) {
      const t = await timed(fn);
      add(name, t, n);
      rates[name] = n / t.ms;
    }
    perSlice.push(rates);
  }
  const computed = scorer.stats.computed - computedBefore;
  await scorer.dispose();
  for (const r of Object.values(runners)) await r.close();
  await extractor.dispose?.();

  const layouts = Object.fromEntries(Object.keys(runners).map((name) => [name, (sum[name].n / sum[name].ms) * 1000]));
  const [fastestLayout] = Object.entries(layouts).sort((x, y) => y[1] - x[1])[0];
  const median = (values) => {
    const v = [...values].sort((x, y) => x - y);
    return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  const medianRatios = {
    scorerOverRaw: median(perSlice.map((r) => r.scorer / r[fastestLayout])),
    scorerOverNaive: median(perSlice.map((r) => r.scorer / r.naive)),
  };
  const scaled = (t) => ({ ms: (t.ms * unique.length) / t.n, cpuMs: (t.cpuMs * unique.length) / t.n });
  const raw = scaled(sum[fastestLayout]);
  const scored = scaled(sum.scorer);
  const naive = scaled(sum.naive);

  // Re-score with a fresh scorer: everything must come from the disk cache.
  const again = createScorer({ provider: 'local', model: modelDir, dtype, cacheDir });
  const rescore = await timed(() => again.embed(texts));
  const rescoreComputed = again.stats.computed;
  await again.dispose();
  rmSync(cacheDir, { recursive: true, force: true });

  const rate = (ms) => (unique.length / ms) * 1000;
  return { dtype, texts: texts.length, unique: unique.length, realTokens, layouts, fastestLayout, raw, scored, computed, rescore, rescoreComputed, naive, rate, medianRatios, slices: perSlice.length };
}

const dtypes = process.argv.slice(2).filter((a) => a === 'fp32' || a === 'q8');
const modelDir = buildModel('minilm-bench');
const texts = loadTexts();
const peak = peakGflops();
const results = [];
for (const dtype of dtypes.length ? dtypes : ['fp32', 'q8']) results.push(await benchDtype(dtype, modelDir, texts));

const FLOP_PER_TOKEN = 21.5e6;
const fmt = (x, d = 0) => x.toFixed(d);
console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (other processes share these cores; CPU-time ratios are the steadier ones)`);
console.log(`MiniLM-L6-shaped model, ${texts.length} distinct texts of rationale length, batch ${BATCH}; ${peak.cores} cores @ ${fmt(peak.ghz, 2)} GHz, ${peak.lanes}-lane fp32 FMA: peak ~${fmt(peak.gflops)} GFLOP/s`);
const summary = [];
for (const r of results) {
  console.log(`\n[${r.dtype}] ${r.unique} texts, ${fmt(r.realTokens / r.unique, 1)} tokens/text on average`);
  console.log('  raw onnxruntime-node layouts (texts/s):');
  for (const [name, rate] of Object.entries(r.layouts)) console.log(`    ${name.padEnd(44)} ${fmt(rate).padStart(6)}${name === r.fastestLayout ? '  <- (a)' : ''}`);
  const a = r.rate(r.raw.ms);
  const b = r.rate(r.scored.ms);
  const c = r.rate(r.naive.ms);
  const perCpu = (t) => r.unique / (t.cpuMs / 1000);
  const [ac, bc, cc] = [perCpu(r.raw), perCpu(r.scored), perCpu(r.naive)];
  const gflops = (r.realTokens * FLOP_PER_TOKEN) / (r.scored.ms / 1000) / 1e9;
  const rows = [
    ['(a) raw session.run, fastest layout', a, ac, ''],
    ['(b) scorer end to end', b, bc, `(b)/(a) = ${fmt(r.medianRatios.scorerOverRaw, 2)} median of ${r.slices} slices; totals ${fmt(b / a, 2)} wall, ${fmt(bc / ac, 2)} cpu  (goal >= 0.9)`],
    ['(c) naive pipeline per text', c, cc, `(b)/(c) = ${fmt(r.medianRatios.scorerOverNaive, 2)} median; totals ${fmt(b / c, 2)} wall, ${fmt(bc / cc, 2)} cpu  (goal >= 3)`],
    ['re-score (disk cache)', r.rate(r.rescore.ms), perCpu(r.rescore), `computed ${r.rescoreComputed} (goal 0); ${fmt(r.scored.ms / r.rescore.ms, 0)}x faster than (b)`],
  ];
  console.log('  contender                                texts/s  texts/cpu-s  ratios');
  for (const [name, rate, cpuRate, ratio] of rows) console.log(`  ${name.padEnd(40)} ${fmt(rate).padStart(7)}  ${fmt(cpuRate).padStart(11)}  ${ratio}`);
  // Per CPU-second against one core's peak: the efficiency that other processes' load cannot hide.
  const gflopsPerCpuSecond = (r.realTokens * FLOP_PER_TOKEN) / (r.scored.cpuMs / 1000) / 1e9;
  const corePeak = peak.gflops / peak.cores;
  console.log(`  (b) reaches ${fmt(gflops, 1)} GFLOP/s = ${fmt((100 * gflops) / peak.gflops, 1)}% of the ${peak.cores}-core fp32 peak; per CPU-second ${fmt(gflopsPerCpuSecond, 1)} GFLOP = ${fmt((100 * gflopsPerCpuSecond) / corePeak, 1)}% of one core's (${FLOP_PER_TOKEN / 1e6} MFLOP per real token)`);
  summary.push({ dtype: r.dtype, textsPerSecond: { raw: a, scorer: b, naive: c, rescore: r.rate(r.rescore.ms) }, textsPerCpuSecond: { raw: ac, scorer: bc, naive: cc },
    ratios: { medianScorerOverRaw: r.medianRatios.scorerOverRaw, medianScorerOverNaive: r.medianRatios.scorerOverNaive, scorerOverRaw: b / a, scorerOverNaive: b / c, scorerOverRawCpu: bc / ac, scorerOverNaiveCpu: bc / cc },
    fastestLayout: r.fastestLayout, layouts: r.layouts, rescoreComputed: r.rescoreComputed, computed: r.computed, tokensPerText: r.realTokens / r.unique,
    shareOfPeak: gflops / peak.gflops, shareOfCorePeakPerCpuSecond: gflopsPerCpuSecond / corePeak, loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number) });
}
mkdirSync(join(root, 'bench-results'), { recursive: true });
writeFileSync(join(root, 'bench-results', 'scorer.json'), `${JSON.stringify({ peak, results: summary }, null, 2)}\n`);
const failed = summary.some((s) => s.rescoreComputed !== 0 || s.computed !== TEXTS);
process.exitCode = failed ? 1 : 0;
