// Scoring throughput on a model with exactly all-MiniLM-L6-v2's shape (random weights, built on demand),
// 2,644 distinct rationale-length texts (the sample's texts with variations), in one run, by rounds:
//   (a) raw onnxruntime-node session.run on the same deduplicated, pre-tokenised, length-sorted batches
//       of 32 (of three thread layouts, picked in a first pass: the fastest for the wall-time ratio, the cheapest
//       in CPU time for the per-CPU-second ratio, each run every round): the runtime's limit. For q8 the
//       product runs one text per run (dynamic quantisation takes one scale per run, padding included, so a
//       batch would change each text's vector): (a) is then the raw one-text-per-run layout on every core, and
//       the raw batched figure is printed beside it
//   (b) the CLI end to end, as a user runs it: `pisar-review score` on a dataset whose rows hold the
//       texts as reference rationales and precomputed outputs, fresh cache (process start, model load,
//       dataset read, tokenising, workers, results written: all of it counted)
//   (c) a naive loop, as a user writes it: pipeline('feature-extraction', model, { dtype }) with its default
//       session options (ONNX Runtime's own thread count), then one call per text with mean pooling and
//       normalisation; every text (PISAR_BENCH_NAIVE_STRIDE=k times only every k-th, the rate is per text)
// Each round runs all three in turn (order alternating), so load from other processes hits them alike;
// ratios are medians over rounds. Then: a re-score (must compute nothing), and a check that scores of
// large batches equal, bit for bit, scores computed one text at a time. fp32 (and q8 if asked).
// Usage: node scripts/bench/scorer.bench.mjs [fp32] [q8]   (needs out/ and dist/: npm run bench)
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildModel } from '../build-test-models.mjs';
import { buildMatMulOnnx } from '../models/onnxBert.mjs';
import { runCli as runCliIn } from './cli-run.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const TEXTS = Number(process.env.PISAR_BENCH_TEXTS) || 2644; // the size of the measurement in issue 13
const BATCH = 32;
const ROUNDS = Number(process.env.PISAR_BENCH_ROUNDS) || 3;
const NAIVE_STRIDE = Math.max(1, Number(process.env.PISAR_BENCH_NAIVE_STRIDE) || 1);

const runCli = (args) => runCliIn(root, args);
const scorerModule = join(root, 'out', 'src', 'core', 'scoring', 'scorer.js');
if (!existsSync(scorerModule)) {
  console.error(`${scorerModule} is missing: compile first (npx tsc -p tsconfig.test.json, or npm run bench).`);
  process.exit(2);
}
const { createScorer } = require(scorerModule);
const { LocalEmbedder } = require(join(root, 'out', 'src', 'core', 'scoring', 'localEmbedder.js'));
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

/**
 * The machine's peak, measured: a short loop of one large matrix product in ONNX Runtime on every core (fp32 MatMul,
 * and int8 MatMulInteger for q8), best of the timed runs, not derived from CPU flags (which guess the FMA pipes).
 */
async function measuredPeak() {
  const n = 1024;
  const cores = availableParallelism();
  const out = { cores, n };
  for (const kind of ['fp32', 'int8']) {
    const session = await ort.InferenceSession.create(buildMatMulOnnx(kind, n), { intraOpNumThreads: cores, interOpNumThreads: 1 });
    const feeds = kind === 'int8'
      ? { a: new ort.Tensor('uint8', Uint8Array.from({ length: n * n }, (_, i) => i % 251), [n, n]), b: new ort.Tensor('int8', Int8Array.from({ length: n * n }, (_, i) => (i % 253) - 126), [n, n]) }
      : { a: new ort.Tensor('float32', Float32Array.from({ length: n * n }, (_, i) => (i % 97) / 97), [n, n]), b: new ort.Tensor('float32', Float32Array.from({ length: n * n }, (_, i) => (i % 89) / 89), [n, n]) };
    await session.run(feeds); // warm-up
    let best = Infinity;
    const until = performance.now() + 1500;
    for (let runs = 0; runs < 5 || performance.now() < until; runs++) {
      const t0 = performance.now();
      await session.run(feeds);
      best = Math.min(best, performance.now() - t0);
    }
    out[kind === 'fp32' ? 'gflops' : 'int8Gops'] = (2 * n ** 3) / (best / 1000) / 1e9;
    await session.release?.();
  }
  out.describe = `measured: ${n}x${n} matrix product on ${cores} threads, best run`;
  return out;
}

/** Length-sorted id rows in batches of `size`, padded to each batch's longest row: the raw runtime's input. */
function batchesOf(encoded, size) {
  const batches = [];
  for (let i = 0; i < encoded.length; i += size) {
    const group = encoded.slice(i, i + size);
    const cols = group.at(-1).length;
    const ids = new BigInt64Array(group.length * cols);
    const mask = new BigInt64Array(group.length * cols);
    group.forEach((row, r) => {
      ids.set(row, r * cols);
      mask.fill(1n, r * cols, r * cols + row.length);
    });
    batches.push({ rows: group.length, cols, ids, mask, types: new BigInt64Array(group.length * cols) });
  }
  return batches;
}

async function benchDtype(dtype, modelDir, texts) {
  const modelFile = join(modelDir, 'onnx', dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx');
  // Pre-tokenise once, deduplicate, sort by token count, batch: exactly what the runtime needs, nothing more.
  const tokenizer = await transformers.AutoTokenizer.from_pretrained(modelDir);
  const unique = [...new Set(texts)];
  const encoded = unique.map((text) => Object.assign(tokenizer(text, { truncation: true, max_length: 256 }).input_ids.data, { text })).sort((a, b) => a.length - b.length);
  const realTokens = encoded.reduce((n, ids) => n + ids.length, 0);
  const batched = batchesOf(encoded, BATCH);
  // q8: the product's layout is one text per run; that is the raw figure it is held to, the batched one printed beside it.
  const batches = dtype === 'q8' ? batchesOf(encoded, 1) : batched;
  const rawPadding = 1 - realTokens / batches.reduce((n, b) => n + b.rows * b.cols, 0);
  const layoutNote = dtype === 'q8' ? 'one text per run' : `length-sorted batches of ${BATCH}`;

  // First pass: the raw layouts on all batches, to pick the fastest in wall time and the cheapest in CPU time (the
  // runtime's limits for (a)): under load, a session's spinning intra-op threads can win on wall time and burn CPU time.
  const workerCount = availableParallelism();
  const layouts = {};
  const layoutCpu = {};
  const opened = {};
  for (const [name, open] of [
    ['1 session, ORT default threads', () => rawSingleSession(modelFile, 0)],
    ['1 session, 2 intra-op threads', () => rawSingleSession(modelFile, 2)],
    [`${workerCount} worker threads x 1 session, 1 thread`, () => rawWorkers(modelFile, workerCount)],
  ]) {
    const r = await open();
    await r.run(batches.slice(0, workerCount)); // warm-up
    // A spread of lengths (every 3rd batch) is enough to rank the layouts.
    const sample = batches.filter((_, i) => i % 3 === 0);
    const t = await timed(() => r.run(sample));
    layouts[name] = (sample.reduce((n, b) => n + b.rows, 0) / t.ms) * 1000;
    layoutCpu[name] = (sample.reduce((n, b) => n + b.rows, 0) / t.cpuMs) * 1000;
    opened[name] = r;
  }
  const best = (of) => Object.keys(of).reduce((a, b) => (of[b] > of[a] ? b : a));
  const fastest = { name: best(layouts), runner: opened[best(layouts)] };
  const cheapest = { name: best(layoutCpu), runner: opened[best(layoutCpu)] };
  for (const [name, r] of Object.entries(opened)) if (name !== fastest.name && name !== cheapest.name) await r.close();
  // q8 batched (not batch-independent): what the runtime would reach if the product batched q8 as it does fp32.
  let rawBatchedRate;
  if (dtype === 'q8') {
    const r = await rawWorkers(modelFile, workerCount);
    await r.run(batched.slice(0, workerCount));
    const t = await timed(() => r.run(batched));
    rawBatchedRate = { rate: (unique.length / t.ms) * 1000, cpuRate: (unique.length / t.cpuMs) * 1000 };
    await r.close();
  }

  // The product's own layout, measured by its embedder on the same texts: the share of the positions it ran that were padding.
  const productPadding = await (async () => {
    const embedder = new LocalEmbedder({ model: modelDir, isLocalFolder: true, dtype, modelCacheDir: join(tmpdir(), 'pisar-bench-none'), workers: workerCount, threadsPerWorker: 1, batchSize: BATCH });
    try {
      await embedder.computeEmbeddings(unique, () => undefined, {}); // the scorer hands them over in the dataset's order: the embedder sorts them
      return 1 - embedder.wordPieces.read / embedder.wordPieces.run;
    } finally {
      await embedder.dispose();
    }
  })();
  console.log(`  [${dtype}] padding: raw layout (${layoutNote}) ${(100 * rawPadding).toFixed(2)}% of the positions run, the product's ${(100 * productPadding).toFixed(2)}%`);

  // The dataset the CLI scores: each row a reference rationale and one precomputed output.
  const work = mkdtempSync(join(tmpdir(), 'pisar-bench-scorer-'));
  const dataset = join(work, 'bench.jsonl');
  const rows = [];
  for (let i = 0; i + 1 < unique.length; i += 2) rows.push(JSON.stringify({ id: `r${i / 2}`, input: 'Why?', rationale: unique[i], outputs: { m: unique[i + 1] } }));
  writeFileSync(dataset, `${rows.join('\n')}\n`);
  const cliTexts = 2 * rows.length;
  const extractor = await transformers.pipeline('feature-extraction', modelDir, { dtype });
  await extractor('warm-up', { pooling: 'mean', normalize: true });
  const naiveTexts = unique.filter((_, j) => j % NAIVE_STRIDE === 0);

  const rounds = [];
  let cliRun;
  for (let round = 0; round < ROUNDS; round++) {
    const steps = [
      ['raw', async () => {
        const t = await timed(() => fastest.runner.run(batches));
        const c = cheapest.name === fastest.name ? t : await timed(() => cheapest.runner.run(batches));
        return { rate: (unique.length / t.ms) * 1000, cpuRate: (unique.length / c.cpuMs) * 1000 };
      }],
      ['cli', async () => {
        rmSync(join(work, 'bench.pisar-results.jsonl'), { force: true });
        const cacheDir = join(work, `cache-${round}`);
        cliRun = await runCli(['score', dataset, '--embedding-model', modelDir, '--embedding-dtype', dtype, '--cache-dir', cacheDir, '--json']);
        rmSync(cacheDir, { recursive: true, force: true });
        return { rate: (cliTexts / cliRun.ms) * 1000, cpuRate: (cliTexts / cliRun.cpuMs) * 1000 };
      }],
      ['naive', async () => {
        const t = await timed(async () => {
          for (const text of naiveTexts) await extractor(text, { pooling: 'mean', normalize: true });
        });
        return { rate: (naiveTexts.length / t.ms) * 1000, cpuRate: (naiveTexts.length / t.cpuMs) * 1000 };
      }],
    ];
    if (round % 2 === 1) steps.reverse();
    const rates = {};
    for (const [name, fn] of steps) {
      const { rate, cpuRate } = await fn();
      rates[name] = rate;
      rates[`${name}Cpu`] = cpuRate;
    }
    rates.loadAverage = loadAverage();
    rounds.push(rates);
    console.log(`  [${dtype}] round ${round + 1}: raw ${rates.raw.toFixed(0)}, CLI ${rates.cli.toFixed(0)}, naive ${rates.naive.toFixed(0)} texts/s (per CPU-second ${rates.rawCpu.toFixed(0)}, ${rates.cliCpu.toFixed(0)}, ${rates.naiveCpu.toFixed(0)}); CLI/raw ${(rates.cli / rates.raw).toFixed(2)} wall, ${(rates.cliCpu / rates.rawCpu).toFixed(2)} CPU; CLI/naive ${(rates.cli / rates.naive).toFixed(2)} wall, ${(rates.cliCpu / rates.naiveCpu).toFixed(2)} CPU; load ${rates.loadAverage.join(' ')}`);
  }
  await fastest.runner.close();
  if (cheapest.name !== fastest.name) await cheapest.runner.close();
  await extractor.dispose?.();

  // Re-score the same dataset with the last round's cache kept: nothing may be computed.
  const keepCache = join(work, 'cache-keep');
  rmSync(join(work, 'bench.pisar-results.jsonl'), { force: true });
  await runCli(['score', dataset, '--embedding-model', modelDir, '--embedding-dtype', dtype, '--cache-dir', keepCache, '--json']);
  rmSync(join(work, 'bench.pisar-results.jsonl'), { force: true });
  const rescore = await runCli(['score', dataset, '--embedding-model', modelDir, '--embedding-dtype', dtype, '--cache-dir', keepCache, '--json']);

  // Correctness: the scores of a default scorer (length-sorted batches of 32 on every worker for fp32; one text a run on every
  // worker for q8) equal, bit for bit, those of one worker running one text at a time. For fp32 that checks batch independence;
  // for q8, which runs one text a run in both, it checks that workers and order change nothing (batching is what q8 avoids).
  const checkPairs = [];
  for (let i = 0; i + 1 < 240; i += 2) checkPairs.push({ output: unique[(i * 37) % unique.length], reference: unique[(i * 53 + 1) % unique.length] });
  const defaults = createScorer({ provider: 'local', model: modelDir, dtype, cacheDir: join(work, 'check-a') });
  const single = createScorer({ provider: 'local', model: modelDir, dtype, cacheDir: join(work, 'check-b'), local: { workers: 1, batchSize: 1 } });
  const together = await defaults.scorePairs(checkPairs);
  let identical = 0;
  for (const [i, pair] of checkPairs.entries()) if ((await single.scorePairs([pair]))[0] === together[i]) identical++;
  await defaults.dispose();
  await single.dispose();
  rmSync(work, { recursive: true, force: true });

  const median = (values) => {
    const v = [...values].sort((x, y) => x - y);
    return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  return {
    dtype, unique: unique.length, realTokens, layouts, layoutCpu, fastestLayout: fastest.name, cheapestLayout: cheapest.name, rounds, cliTexts,
    rate: { raw: median(rounds.map((r) => r.raw)), cli: median(rounds.map((r) => r.cli)), naive: median(rounds.map((r) => r.naive)) },
    ratios: {
      ...(rawBatchedRate ? { cliOverRawBatched: median(rounds.map((r) => r.cli)) / rawBatchedRate.rate, cliOverRawBatchedCpu: median(rounds.map((r) => r.cliCpu)) / rawBatchedRate.cpuRate } : {}),
      cliOverRaw: median(rounds.map((r) => r.cli / r.raw)), cliOverNaive: median(rounds.map((r) => r.cli / r.naive)),
      cliOverRawCpu: median(rounds.map((r) => r.cliCpu / r.rawCpu)), cliOverNaiveCpu: median(rounds.map((r) => r.cliCpu / r.naiveCpu)),
    },
    cliPeakRssMb: cliRun.maxRssMb, cliCpuMs: cliRun.cpuMs, cliMs: cliRun.ms,
    rescore: { ms: rescore.ms, scored: rescore.doc?.run?.scored },
    bitIdentical: { identical, of: checkPairs.length, checks: dtype === 'q8' ? `every worker, one text a run vs one worker, one text a run` : `batches of ${BATCH} on every worker vs one text a run on one worker` },
    padding: { raw: rawPadding, product: productPadding, rawLayout: layoutNote },
    rawBatched: rawBatchedRate, naive: { stride: NAIVE_STRIDE, texts: naiveTexts.length, threads: 'ONNX Runtime default' },
  };
}

function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

const dtypes = process.argv.slice(2).filter((a) => a === 'fp32' || a === 'q8');
const modelDir = buildModel('minilm-bench');
const texts = loadTexts();
const peak = await measuredPeak();
const results = [];
for (const dtype of dtypes.length ? dtypes : ['fp32']) results.push(await benchDtype(dtype, modelDir, texts));

const FLOP_PER_TOKEN = 21.5e6;
const fmt = (x, d = 0) => x.toFixed(d);
console.log(`MiniLM-L6-shaped model, ${texts.length} distinct texts of rationale length, batch ${BATCH}; the machine's peak (${peak.describe}): ${fmt(peak.gflops)} GFLOP/s fp32, ${fmt(peak.int8Gops)} GOP/s int8; load average ${loadAverage().join(' ')}`);
const summary = [];
for (const r of results) {
  console.log(`\n[${r.dtype}] ${r.unique} texts, ${fmt(r.realTokens / r.unique, 1)} tokens/text on average; ${ROUNDS} rounds; raw layout (a): ${r.padding.rawLayout}`);
  console.log(`  naive (c): ${r.naive.texts} texts (every ${r.naive.stride === 1 ? '' : `${r.naive.stride}th `}text), one pipeline call each, ${r.naive.threads} threads`);
  console.log(`  padding (share of the positions the model ran): raw ${fmt(100 * r.padding.raw, 2)}%, the product ${fmt(100 * r.padding.product, 2)}%`);
  console.log('  raw onnxruntime-node layouts (texts/s, first pass):');
  for (const [name, rate] of Object.entries(r.layouts)) console.log(`    ${name.padEnd(44)} ${fmt(rate).padStart(6)} texts/s, ${fmt(r.layoutCpu[name]).padStart(6)} per CPU-second${name === r.fastestLayout ? '  <- (a) wall' : ''}${name === r.cheapestLayout ? '  <- (a) CPU' : ''}`);
  console.log('  texts/s, and per CPU-second:');
  console.log('  round  (a) raw  (b) CLI  (c) naive  (b)/(a) wall  CPU  (b)/(c) wall  CPU  load average');
  for (const [i, x] of r.rounds.entries()) console.log(`  ${String(i + 1).padStart(5)}  ${fmt(x.raw).padStart(7)}  ${fmt(x.cli).padStart(7)}  ${fmt(x.naive).padStart(9)}  ${fmt(x.cli / x.raw, 2).padStart(12)}  ${fmt(x.cliCpu / x.rawCpu, 2).padStart(3)}  ${fmt(x.cli / x.naive, 2).padStart(12)}  ${fmt(x.cliCpu / x.naiveCpu, 2).padStart(3)}  ${x.loadAverage.join(' ')}`);
  if (r.rawBatched) console.log(`  raw q8 batched (${BATCH} a run: faster, but each vector then depends on its batch): ${fmt(r.rawBatched.rate)} texts/s, ${fmt(r.rawBatched.cpuRate)} per CPU-second; CLI / it ${fmt(r.ratios.cliOverRawBatched, 2)} wall, ${fmt(r.ratios.cliOverRawBatchedCpu, 2)} per CPU-second (medians of the CLI's rounds)`);
  const gflops = (r.realTokens * FLOP_PER_TOKEN) / (r.unique / r.rate.raw) / 1e9;
  console.log(`  median wall-clock: (b)/(a) = ${fmt(r.ratios.cliOverRaw, 2)} (goal >= 0.9), (b)/(c) = ${fmt(r.ratios.cliOverNaive, 2)} (goal >= 3)`);
  console.log(`  median per CPU-second (steadier under load): (b)/(a) = ${fmt(r.ratios.cliOverRawCpu, 2)} (goal >= 0.9), (b)/(c) = ${fmt(r.ratios.cliOverNaiveCpu, 2)} (goal >= 3)`);
  console.log(`  CLI: ${r.cliTexts} texts in ${fmt(r.cliMs / 1000, 1)} s, CPU ${fmt(r.cliCpuMs / 1000, 1)} s, peak RSS ${fmt(r.cliPeakRssMb)} MB; re-score ${fmt(r.rescore.ms / 1000, 1)} s, scored ${r.rescore.scored} (embeddings from the disk cache)`);
  const peakOfDtype = r.dtype === 'q8' ? peak.int8Gops : peak.gflops;
  console.log(`  (a) reaches ${fmt(gflops, 1)} G(FL)OP/s = ${fmt((100 * gflops) / peakOfDtype, 1)}% of the measured ${r.dtype === 'q8' ? 'int8' : 'fp32'} matmul peak (${FLOP_PER_TOKEN / 1e6} M operations per real token)`);
  console.log(`  scores, ${r.bitIdentical.checks}: ${r.bitIdentical.identical} of ${r.bitIdentical.of} bit-identical`);
  summary.push({ ...r, shareOfPeak: gflops / peakOfDtype, loadAverage: loadAverage() });
}
console.log(`load average at the end: ${loadAverage().join(' ')}`);
mkdirSync(join(root, 'bench-results'), { recursive: true });
writeFileSync(join(root, 'bench-results', 'scorer.json'), `${JSON.stringify({ peak, results: summary }, null, 2)}\n`);
const failed = summary.some((s) => s.bitIdentical.identical !== s.bitIdentical.of);
process.exitCode = failed ? 1 : 0;
