import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunSummary } from '../../src/core/runner/runner';
import { resultsFileFor, type StoredResult } from '../../src/core/store/results';
import { readSidecar, type SidecarProblem } from '../../src/core/store/sidecar';
import { FakeOpenAIServer, type FaultKind } from './openaiServer';

/**
 * Faults under load: rows x models against the fake server with a share of injected faults, run in
 * child processes that are cancelled once (SIGINT), resumed, killed (SIGKILL), and resumed until
 * done; then every (row, model) must have exactly one successful stored result. A fault-free run of
 * the same size, side by side, gives the wall-time ratio.
 */
export interface SoakOptions {
  rows: number;
  models: number;
  concurrencyPerModel: number;
  latencyMs: number;
  faultRate: number;
  faultKinds?: FaultKind[];
  /** Per-attempt timeout; 'slow' faults answer after slowMs, past it. */
  timeoutMs: number;
  slowMs: number;
  retry: { retries: number; baseDelayMs: number; maxDelayMs: number };
  /** Cancel the first phase when this share of results is stored; SIGKILL the second at this share. */
  cancelAt: number;
  killAt: number;
  seed?: number;
  /** Also run a fault-free run of rows / 5, to show peak RSS does not grow with the run's size. */
  smallBaseline?: boolean;
  log?: (line: string) => void;
}

export interface PhaseReport {
  phase: string;
  wallMs: number;
  exit: string;
  peakRssBytes: number | null;
  heapAfterGcBytes?: number;
  summary?: Partial<RunSummary>;
  problems?: SidecarProblem[];
}

export interface SoakReport {
  calls: number;
  pairs: number;
  requestsAtServer: number;
  faultsInjected: Partial<Record<FaultKind, number>>;
  faultsTotal: number;
  retries: number;
  resultsStored: number;
  pairsWithOneSuccess: number;
  duplicates: number;
  lost: number;
  sidecarProblemsAtEnd: SidecarProblem[];
  /** Problems found (and repaired) when a phase opened the sidecar, e.g. a line cut by SIGKILL. */
  repairedOnOpen: SidecarProblem[];
  /** Successful calls the server answered twice for the same prompt (cut off by the cancel or the kill). */
  repeatedAtServer: number;
  peakRssBytes: number;
  baseline: { wallMs: number; peakRssBytes: number | null; heapAfterGcBytes?: number; requests: number };
  /** Peak RSS and retained heap of a fault-free run one fifth the size, when asked for. */
  smallBaselinePeakRssBytes?: number | null;
  smallBaselineHeapAfterGcBytes?: number;
  faultyWallMs: number;
  wallRatio: number;
  phases: PhaseReport[];
  keyInSidecar: boolean;
  datasetUnchanged: boolean;
}

const CHILD = path.join(__dirname, 'soakChild.js');

export async function writeSoakDataset(dir: string, rows: number, name = 'data.jsonl'): Promise<string> {
  const file = path.join(dir, name);
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) lines.push(JSON.stringify({ id: `s${i}`, input: `soak question ${i}`, rationale: `because ${i}` }));
  await fsp.writeFile(file, lines.join('\n') + '\n');
  return file;
}

async function countLines(file: string): Promise<number> {
  try {
    const data = await fsp.readFile(file);
    let n = 0;
    for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n++;
    return n;
  } catch {
    return 0;
  }
}

/** VmHWM (peak resident set) of a live process, from /proc; null where /proc is missing. */
async function peakRss(pid: number): Promise<number | null> {
  try {
    const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Runs one phase; `stopAt` (a stored-line count) triggers `signal` on the child. */
function phase(name: string, dataset: string, baseUrl: string, o: SoakOptions, stop?: { atLines: number; signal: NodeJS.Signals }): Promise<PhaseReport> {
  const args = JSON.stringify({ dataset, baseUrl, models: modelNames(o.models), concurrency: o.concurrencyPerModel, timeoutMs: o.timeoutMs, retry: o.retry });
  const started = performance.now();
  const child = spawn(process.execPath, ['--expose-gc', CHILD, args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  let peak: number | null = null;
  let stopped = false;
  const sidecar = resultsFileFor(dataset);
  const timer = setInterval(async () => {
    if (child.pid) peak = (await peakRss(child.pid)) ?? peak;
    if (stop && !stopped && (await countLines(sidecar)) >= stop.atLines) {
      stopped = true;
      child.kill(stop.signal);
    }
  }, 15);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      const wallMs = performance.now() - started;
      if (code !== 0 && signal !== 'SIGKILL') return reject(new Error(`soak phase ${name} exited ${code ?? signal}: ${err}`));
      const report: PhaseReport = { phase: name, wallMs, exit: signal ?? String(code), peakRssBytes: peak };
      if (out.trim()) {
        const parsed = JSON.parse(out.trim().split('\n').at(-1)!) as { summary: Partial<RunSummary>; maxRssBytes: number; heapAfterGcBytes: number; problems: SidecarProblem[] };
        report.heapAfterGcBytes = parsed.heapAfterGcBytes;
        report.summary = parsed.summary;
        report.peakRssBytes = parsed.maxRssBytes;
        report.problems = parsed.problems;
      }
      resolve(report);
    });
  });
}

function modelNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `soak-model-${i + 1}`);
}

async function sha256(file: string): Promise<string> {
  return crypto.createHash('sha256').update(await fsp.readFile(file)).digest('hex');
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => undefined);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-soak-'));
  const pairs = o.rows * o.models;
  try {
    // Fault-free run of the same size, for the wall-time ratio.
    const clean = await FakeOpenAIServer.start({ latencyMs: o.latencyMs });
    clean.recordRequests = false;
    const baselineFile = await writeSoakDataset(dir, o.rows, 'baseline.jsonl');
    const base = await phase('baseline (no faults)', baselineFile, clean.url, o);
    const baselineRequests = clean.stats.requests;
    let small: PhaseReport | undefined;
    if (o.smallBaseline) {
      const smallFile = await writeSoakDataset(dir, Math.max(1, Math.floor(o.rows / 5)), 'small.jsonl');
      small = await phase('baseline, one fifth', smallFile, clean.url, o);
    }
    await clean.close();
    log(`baseline: ${baselineRequests} calls in ${Math.round(base.wallMs)} ms`);

    const server = await FakeOpenAIServer.start({
      latencyMs: o.latencyMs, faultRate: o.faultRate, faultKinds: o.faultKinds ?? ['429', '500', 'reset', 'slow'], slowMs: o.slowMs, seed: o.seed ?? 42,
    });
    server.recordRequests = false;
    const file = await writeSoakDataset(dir, o.rows);
    const datasetHash = await sha256(file);
    const phases: PhaseReport[] = [];
    phases.push(await phase('run, cancelled', file, server.url, o, { atLines: Math.floor(pairs * o.cancelAt), signal: 'SIGINT' }));
    log(`cancelled: ${await countLines(resultsFileFor(file))} lines stored`);
    phases.push(await phase('resume, killed', file, server.url, o, { atLines: Math.floor(pairs * o.killAt), signal: 'SIGKILL' }));
    log(`killed: ${await countLines(resultsFileFor(file))} lines stored`);
    for (let i = 1; i <= 3; i++) {
      const p = await phase(`resume ${i}`, file, server.url, o);
      phases.push(p);
      log(`resume ${i}: ${p.summary?.called} called, ${p.summary?.failed} failed`);
      if (p.summary?.failed === 0) break;
    }
    const faultyWallMs = phases.reduce((sum, p) => sum + p.wallMs, 0);
    await new Promise((r) => setTimeout(r, o.slowMs + 50)); // let slow responses to dead clients finish
    await server.close();

    const { records, problems } = await readSidecar<StoredResult>(resultsFileFor(file), { repair: false });
    const successes = new Map<string, number>();
    const latest = new Map<string, StoredResult>();
    for (const r of records) {
      const key = `${r.rowId}\u0000${r.model}`;
      latest.set(key, r);
      if (r.output !== undefined && !r.error) successes.set(key, (successes.get(key) ?? 0) + 1);
    }
    let duplicates = 0;
    let lost = 0;
    let one = 0;
    for (let i = 0; i < o.rows; i++) {
      for (const model of modelNames(o.models)) {
        const n = successes.get(`s${i}\u0000${model}`) ?? 0;
        if (n === 0) lost++;
        else if (n > 1) duplicates += n - 1;
        else one++;
      }
    }
    const sidecarText = await fsp.readFile(resultsFileFor(file), 'utf8');
    const faultsTotal = Object.values(server.stats.faults).reduce((a, b) => a + (b ?? 0), 0);
    return {
      calls: pairs,
      pairs,
      requestsAtServer: server.stats.requests,
      faultsInjected: server.stats.faults,
      faultsTotal,
      retries: phases.reduce((sum, p) => sum + (p.summary?.retries ?? 0), 0),
      resultsStored: records.length,
      pairsWithOneSuccess: one,
      duplicates,
      lost,
      sidecarProblemsAtEnd: problems,
      repairedOnOpen: phases.flatMap((p) => p.problems ?? []),
      repeatedAtServer: server.repeatedSuccesses(),
      peakRssBytes: Math.max(...phases.map((p) => p.peakRssBytes ?? 0)),
      baseline: { wallMs: base.wallMs, peakRssBytes: base.peakRssBytes, heapAfterGcBytes: base.heapAfterGcBytes, requests: baselineRequests },
      ...(small ? { smallBaselinePeakRssBytes: small.peakRssBytes, smallBaselineHeapAfterGcBytes: small.heapAfterGcBytes } : {}),
      faultyWallMs,
      wallRatio: faultyWallMs / base.wallMs,
      phases,
      keyInSidecar: sidecarText.includes('sk-soak-secret'),
      datasetUnchanged: (await sha256(file)) === datasetHash,
    };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
