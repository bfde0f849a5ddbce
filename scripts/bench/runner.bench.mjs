// Model runner throughput: 2,000 calls to the fake OpenAI server (its own process, 50 ms latency) at
// concurrency 16, by runDataset and, side by side, by the bare openai client at the same concurrency.
// Goal: runner wall time <= 1.15 x the ideal (calls / concurrency x latency). Then the same dataset is
// scored (tiny embedding model) and re-run unchanged: zero calls and zero embeddings expected.
// Rate limits: a second server answers 5% of requests 429 with Retry-After: 1; runDataset against a
// plain client that honours Retry-After per request (sleeps, retries) at the same concurrency.
// Goal: runner <= 1.3 x that client. Both ratios are printed side by side.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const out = (p) => join(root, 'out', p);
const { Dataset } = require(out('src/core/dataset/datasetReader.js'));
const { ResultsStore } = require(out('src/core/store/results.js'));
const { runDataset } = require(out('src/core/runner/runner.js'));
const { createScorer } = require(out('src/core/scoring/scorer.js'));
const { OpenAI } = require(join(root, 'node_modules', 'openai'));

const CALLS = 2000;
const CONCURRENCY = 16;
const LATENCY_MS = 50;
const IDEAL_MS = (CALLS / CONCURRENCY) * LATENCY_MS;

const FAULT_RATE = 0.05;
const RETRY_AFTER_SEC = 1;

async function startServer(extra = []) {
  const child = spawn(process.execPath, [out('test/support/openaiServerMain.js'), '--port', '0', '--latency', String(LATENCY_MS), ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (c) => {
      text += c;
      if (text.includes('\n')) resolve(text.split('\n')[0].trim());
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const stats = async () => (await fetch(url.replace(/\/v1$/, '/_stats'))).json();
  return { url, stats, stop: () => child.kill('SIGTERM') };
}

function writeDataset(dir, tag, n = CALLS) {
  const file = join(dir, `bench-${tag}.jsonl`);
  const lines = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify({ id: `b${i}`, input: `bench ${tag} question ${i}`, rationale: `The answer to bench ${tag} question ${i}.` }));
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function rawClient(url, tag) {
  const client = new OpenAI({ apiKey: 'k', baseURL: url, maxRetries: 0, logLevel: 'off' });
  let next = 0;
  const cpu = process.cpuUsage();
  const t = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < CALLS) {
      const i = next++;
      await client.chat.completions.create({ model: 'raw', messages: [{ role: 'user', content: `raw ${tag} question ${i}` }] });
    }
  }));
  return { ms: performance.now() - t, cpuMs: cpuMs(process.cpuUsage(cpu)) };
}

const cpuMs = (u) => (u.user + u.system) / 1000;

/** The plain client a careful script would write: each 429 sleeps its own Retry-After and retries; the other workers go on. */
async function politeClient(url, tag) {
  const client = new OpenAI({ apiKey: 'k', baseURL: url, maxRetries: 0, logLevel: 'off' });
  let next = 0;
  let refused = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < CALLS) {
      const i = next++;
      for (;;) {
        try {
          await client.chat.completions.create({ model: 'raw', messages: [{ role: 'user', content: `polite ${tag} question ${i}` }] });
          break;
        } catch (err) {
          if (err?.status !== 429) throw err;
          refused++;
          await new Promise((resolve) => setTimeout(resolve, Number(err.headers?.get('retry-after') ?? 1) * 1000));
        }
      }
    }
  }));
  return { ms: performance.now() - t, refused };
}

async function runner(file, url, scorer) {
  const dataset = await Dataset.open(file);
  const results = await ResultsStore.open(file);
  const cpu = process.cpuUsage();
  const t = performance.now();
  const summary = await runDataset({ dataset, results, scorer, models: [{ name: 'm', baseUrl: url, model: 'm', concurrency: CONCURRENCY }], apiKeyFor: async () => undefined });
  const ms = performance.now() - t;
  await dataset.close();
  return { ms, cpuMs: cpuMs(process.cpuUsage(cpu)), summary };
}

const dir = mkdtempSync(join(tmpdir(), 'pisar-runner-bench-'));
const server = await startServer();
try {
  // Warm both paths (module loading, connections) on a few calls before timing.
  await runner(writeDataset(dir, 'warm', 200), server.url);

  // Interleaved, best of 3: other load on the machine hits both contenders alike.
  const raws = [];
  const runs = [];
  let fileB;
  for (const tag of ['a', 'b', 'c']) {
    raws.push(await rawClient(server.url, tag));
    fileB = writeDataset(dir, tag);
    runs.push(await runner(fileB, server.url));
  }
  const runnerMs = Math.min(...runs.map((r) => r.ms));
  const rawMs = Math.min(...raws.map((r) => r.ms));
  const runnerCpu = Math.min(...runs.map((r) => r.cpuMs)) / CALLS;
  const rawCpu = Math.min(...raws.map((r) => r.cpuMs)) / CALLS;

  // Score run B's stored outputs with the tiny model, then re-run unchanged with a fresh scorer.
  const cacheDir = join(dir, 'cache');
  const tiny = join(root, 'test', 'fixtures', 'models', 'tiny');
  const scorer1 = createScorer({ provider: 'local', model: tiny, dtype: 'fp32', cacheDir });
  const before = await server.stats();
  const scoring = await runner(fileB, server.url, scorer1);
  await scorer1.dispose();
  const scorer2 = createScorer({ provider: 'local', model: tiny, dtype: 'fp32', cacheDir });
  const rerun = await runner(fileB, server.url, scorer2);
  const rerunStats = scorer2.stats;
  await scorer2.dispose();
  const after = await server.stats();

  // Rate limits: 5% answered 429 with Retry-After: 1, on a server of its own (same latency).
  const limited = await startServer(['--fault-rate', String(FAULT_RATE), '--fault-kinds', '429', '--retry-after', String(RETRY_AFTER_SEC), '--seed', '7']);
  let polite;
  let limitedRun;
  try {
    polite = await politeClient(limited.url, 'p');
    limitedRun = await runner(writeDataset(dir, 'limited'), limited.url);
  } finally {
    limited.stop();
  }
  const limitedRatio = limitedRun.ms / polite.ms;

  const rows = [
    { what: 'ideal (calls / concurrency x latency)', ms: IDEAL_MS, ratio: 1 },
    { what: 'bare openai client, same concurrency', ms: rawMs, ratio: rawMs / IDEAL_MS },
    { what: 'runDataset (best of 3)', ms: runnerMs, ratio: runnerMs / IDEAL_MS },
  ];
  console.log(`${CALLS} calls, ${LATENCY_MS} ms latency, concurrency ${CONCURRENCY}`);
  for (const r of rows) console.log(`  ${r.what.padEnd(40)} ${String(Math.round(r.ms)).padStart(7)} ms  x${r.ratio.toFixed(3)} ideal`);
  console.log(`  runner / bare client: x${(runnerMs / rawMs).toFixed(3)}   goal runner <= 1.15 x ideal: ${runnerMs / IDEAL_MS <= 1.15 ? 'met' : 'NOT met'}`);
  console.log(`  with ${FAULT_RATE * 100}% answered 429 (Retry-After: ${RETRY_AFTER_SEC} s): plain client honouring Retry-After ${Math.round(polite.ms)} ms (${polite.refused} refused), runDataset ${Math.round(limitedRun.ms)} ms (${limitedRun.summary.retries} retries, ${limitedRun.summary.failed} failed)`);
  console.log(`  side by side: no faults runner / ideal x${(runnerMs / IDEAL_MS).toFixed(3)} (goal <= 1.15: ${runnerMs / IDEAL_MS <= 1.15 ? 'met' : 'NOT met'})   rate-limited runner / plain client x${limitedRatio.toFixed(3)} (goal <= 1.3: ${limitedRatio <= 1.3 ? 'met' : 'NOT met'})`);
  console.log(`  client CPU per call: runner ${runnerCpu.toFixed(2)} ms, bare client ${rawCpu.toFixed(2)} ms (x${(runnerCpu / rawCpu).toFixed(3)}); load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores`);
  console.log(`  scoring pass: ${scoring.summary.called} calls, ${scoring.summary.scored} scored`);
  console.log(`  re-run unchanged: ${after.requests - before.requests} calls at the server, ${rerun.summary.called} counted, ${rerunStats.computed} embeddings computed, ${rerunStats.textsRequested} texts asked for, ${Math.round(rerun.ms)} ms (x${(rerun.ms / runnerMs).toFixed(3)} of the calling run)`);
  mkdirSync(join(root, 'bench-results'), { recursive: true });
  writeFileSync(join(root, 'bench-results', 'runner.json'), JSON.stringify({
    calls: CALLS, concurrency: CONCURRENCY, latencyMs: LATENCY_MS, idealMs: IDEAL_MS, rawClientMs: rawMs, runnerMs,
    runnerVsIdeal: runnerMs / IDEAL_MS, runnerVsRawClient: runnerMs / rawMs, goalMet: runnerMs / IDEAL_MS <= 1.15,
    rateLimited: { faultRate: FAULT_RATE, retryAfterSec: RETRY_AFTER_SEC, politeClientMs: polite.ms, politeRefused: polite.refused, runnerMs: limitedRun.ms, runnerRetries: limitedRun.summary.retries, runnerFailed: limitedRun.summary.failed, runnerVsPoliteClient: limitedRatio, goalMet: limitedRatio <= 1.3 },
    cpuMsPerCall: { runner: runnerCpu, rawClient: rawCpu }, loadAverage: loadavg()[0], cores: availableParallelism(),
    rerun: { callsAtServer: after.requests - before.requests - scoring.summary.called, embeddingsComputed: rerunStats.computed, textsRequested: rerunStats.textsRequested, ms: rerun.ms },
    scoringPass: { called: scoring.summary.called, scored: scoring.summary.scored },
  }, null, 2));
} finally {
  server.stop();
  rmSync(dir, { recursive: true, force: true });
}
