import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main';
import type { ReportDocument } from '../../src/cli/commands/report';
import type { ScoreDocument } from '../../src/cli/commands/score';
import { ResultsStore } from '../../src/core/store/results';
import { readSidecar } from '../../src/core/store/sidecar';
import { repoRoot } from '../support/files';
import { type FakeOpenAIServer, type Fault } from '../support/openaiServer';
import { useCliWorkspace } from '../support/cliWorkspace';

const CLI = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}, stderrIsTTY = false): Promise<Captured> {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: stderrIsTTY });
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const code = await runCli(args, { stdout, stderr, env: { ...env }, cwd: repoRoot });
  return { code, stdout: out, stderr: err };
}

function rows(n: number, extra: (i: number) => Record<string, unknown> = () => ({})): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({ id: `r${i}`, input: `question ${i}`, rationale: `Rationale: question ${i}`, ...extra(i) }));
}

async function sha256(file: string): Promise<string> {
  return crypto.createHash('sha256').update(await fsp.readFile(file)).digest('hex');
}

describe('CLI: score and report', function () {
  this.timeout(60_000);
  const tmp = useCliWorkspace('pisar-cli-score-');
  let server: FakeOpenAIServer | undefined;

  async function setup(n: number, models: Record<string, unknown>[], extra?: (i: number) => Record<string, unknown>) {
    return tmp.dataset(rows(n, extra), models);
  }

  it('scores every row with the real embedding model, prints the table, and exits 0', async () => {
    server = await tmp.startServer();
    const { data, common } = await setup(6, [{ name: 'm1', baseUrl: server.url, model: 'm1' }], (i) => (i < 2 ? { outputs: { pre: 'An unrelated answer about the weather.' } } : {}));
    const before = await sha256(data);
    const r = await cli(['score', ...common]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\| model \| rows \| scored \| mean \| median \| share >= 0\.7 \| failed \| stale \|/);
    assert.match(r.stdout, /\| m1 \| 6 \| 6 \| 1\.000 \| 1\.000 \| 100\.0% \| 0 \| 0 \|/, 'identical output and reference score 1 with the real model');
    assert.match(r.stdout, /\| pre \| 2 \| 2 \|/);
    assert.match(r.stderr, /6 called, 0 from cache, 2 precomputed/);
    assert.equal(server.stats.requests, 6);
    assert.equal(await sha256(data), before, 'the dataset is never written');

    const again = await cli(['score', ...common, '--json']);
    assert.equal(again.code, 0);
    const doc = JSON.parse(again.stdout) as ScoreDocument;
    assert.equal(doc.schema, 'pisar-review/score@1');
    assert.equal(doc.run.called, 0, 'an unchanged dataset makes zero calls');
    assert.equal(doc.run.scored, 0, 'and computes zero embeddings');
    assert.equal(server.stats.requests, 6);
    assert.equal(doc.summary.models.find((m) => m.model === 'm1')?.mean, 1);
    assert.ok(doc.summary.models.find((m) => m.model === 'pre')!.mean! < 0.99, 'an unrelated precomputed answer scores below an identical one');
  });

  it('draws a progress bar on stderr only when stderr is a terminal', async () => {
    server = await tmp.startServer({ latencyMs: 5 });
    const { common, data } = await setup(12, [{ name: 'm1', baseUrl: server.url, model: 'm1' }]);
    const tty = await cli(['score', ...common], {}, true);
    assert.equal(tty.code, 0);
    // eslint-disable-next-line no-control-regex -- the bar is drawn with an ANSI erase-line escape
    assert.match(tty.stderr, /\r\x1b\[2K█+ 12 done · 0 failed · 0 left of 12/, 'the bar reaches 12 of 12');
    assert.match(tty.stderr, /0 left of 12\n {2}m1: 12 done, 24 \+ 36 tokens/, 'a line per model under the bar: "question i" in, "Rationale: question i" out');
    // eslint-disable-next-line no-control-regex -- the bar's two lines are erased from the second up before a message
    assert.match(tty.stderr, /tokens\r\x1b\[2K\x1b\[1A\r\x1b\[2Kpisar-review score: 12 called/, 'the bar is erased, both lines, before the last words');
    assert.ok(!tty.stdout.includes('█'), 'the bar never goes to stdout');
    await fsp.rm(path.join(path.dirname(data), 'data.pisar-results.jsonl'));
    const piped = await cli(['score', ...common, '--cache-dir', path.join(tmp.dir, 'other-cache')]);
    assert.equal(piped.code, 0);
    assert.equal(server.stats.requests, 24);
    assert.ok(!piped.stderr.includes('█') && !piped.stderr.includes('\x1b'), 'no bar or escape codes when piped');
  });

  it('counts failures apart from done in the progress bar (two 401s are not progress)', async () => {
    server = await tmp.startServer({ faultFor: () => '401' });
    const { common } = await setup(6, [{ name: 'm1', baseUrl: server.url, model: 'm1', concurrency: 1 }]);
    const tty = await cli(['score', ...common], {}, true);
    assert.equal(tty.code, 1, tty.stderr);
    // eslint-disable-next-line no-control-regex -- the bar is drawn with an ANSI erase-line escape
    assert.match(tty.stderr, /\r\x1b\[2K✗+ 0 done · 6 failed · 0 left of 6/, `failed pairs are not shown as done:\n${tty.stderr}`);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(tty.stderr, /\r\x1b\[2K\S*█/, 'no pair is drawn as done');
  });

  it('exits 1 when calls fail and says which model and why', async () => {
    const plan: Record<string, (Fault | Fault['kind'])[]> = { 'question 1': ['malformed'], 'question 2': ['empty-choices'], 'question 3': ['500', 'reset'] };
    server = await tmp.startServer({ faultFor: (req) => plan[req.prompt]?.[req.attempt] });
    const { common } = await setup(5, [{ name: 'm1', baseUrl: server.url, model: 'm1' }]);
    const r = await cli(['score', ...common, '--json']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /model "m1": 2 failed \((1 malformed, 1 empty-choices|1 empty-choices, 1 malformed)\)/);
    assert.match(r.stderr, /r1 \/ m1: the response body is not valid JSON/);
    const doc = JSON.parse(r.stdout) as ScoreDocument;
    assert.equal(doc.run.failed, 2);
    assert.equal(doc.run.retries, 2);
    assert.deepEqual(doc.failures.map((f) => f.rowId).sort(), ['r1', 'r2']);
    assert.equal(doc.summary.models[0].failed, 2);
    assert.equal(doc.summary.models[0].scored, 3);
  });

  it('a bad key stops the model with one message naming it and the fix, and exits 1', async () => {
    server = await tmp.startServer({ requireKey: 'sk-right' });
    const { common } = await setup(30, [{ name: 'gpt', baseUrl: server.url, model: 'gpt', apiKeyEnv: 'GPT_KEY' }]);
    const r = await cli(['score', ...common], { GPT_KEY: 'sk-wrong' });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.match(/model "gpt" stopped/g)?.length, 1);
    assert.match(r.stderr, /fix: Check the API key for "gpt".*GPT_KEY/);
    assert.ok(server.stats.requests <= 4);
    assert.ok(!r.stderr.includes('sk-wrong') && !r.stdout.includes('sk-wrong'), 'the key is never printed');
    const fixed = await cli(['score', ...common, '--json'], { GPT_KEY: 'sk-right' });
    assert.equal(fixed.code, 0, 'a re-run with the right key calls the failed rows');
    assert.ok(!fixed.stdout.includes('sk-right'));
    // Every file the run wrote (results, request cache, embedding cache) is free of the key.
    const written = await fsp.readdir(tmp.dir, { recursive: true, withFileTypes: true });
    const files = written.filter((d) => d.isFile()).map((d) => path.join(d.parentPath ?? d.path, d.name));
    assert.ok(files.some((f) => f.endsWith('requests.v1.jsonl')) && files.some((f) => f.endsWith('.pisar-results.jsonl')));
    for (const f of files) {
      const bytes = await fsp.readFile(f);
      assert.ok(!bytes.includes('sk-right') && !bytes.includes('sk-wrong'), `no key in ${f}`);
    }
  });

  it('exits 2 on bad usage and unreadable input, naming the problem', async () => {
    server = await tmp.startServer();
    const { data, config } = await setup(2, [{ name: 'm1', baseUrl: server.url, model: 'm1' }]);
    const missing = await cli(['score', path.join(tmp.dir, 'nope.jsonl')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such file/);
    assert.equal((await cli(['score'])).code, 2);
    const threshold = await cli(['score', data, '--threshold', 'high']);
    assert.equal(threshold.code, 2);
    assert.match(threshold.stderr, /--threshold high/);
    const unknown = await cli(['score', data, '--config', config, '--models', 'm2']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no model named "m2"; known: m1/);
    const badConfig = path.join(tmp.dir, 'bad.json');
    await fsp.writeFile(badConfig, JSON.stringify({ models: [{ name: 'x', baseURL: 'http://h/v1', model: 'x' }] }));
    const bad = await cli(['score', data, '--config', badConfig]);
    assert.equal(bad.code, 2);
    assert.ok(bad.stderr.includes(`${badConfig}: models[0].baseURL: is not a known model setting. Did you mean "baseUrl"?`), bad.stderr);
    assert.equal((await cli(['report', data, '--format', 'xml'])).code, 2);
    assert.equal(server.stats.requests, 0);
  });

  it('report prints stored results as md, csv and json without calling or writing anything', async () => {
    server = await tmp.startServer({ faultFor: (req) => (req.prompt === 'question 2' ? '400' : undefined) });
    const { data, common } = await setup(4, [{ name: 'm1', baseUrl: server.url, model: 'm1' }], (i) => ({ outputs: { pre: i % 2 ? `Rationale: question ${i}` : 'Nothing alike at all, about cooking pasta.' } }));
    await cli(['score', ...common]);
    const calls = server.stats.requests;
    const sidecar = path.join(tmp.dir, 'data.pisar-results.jsonl');
    const before = await sha256(sidecar);

    const md = await cli(['report', data, '--rows']);
    assert.equal(md.code, 0);
    assert.match(md.stdout, /\| m1 \| 4 \| 3 \| 1\.000 \| 1\.000 \| 100\.0% \| 1 \| 0 \|/);
    assert.match(md.stdout, /\| r2 \| 3 \| failed: context-length \| \d\.\d{3} \|/);
    const csv = await cli(['report', data, '--format', 'csv']);
    assert.match(csv.stdout, /^model,rows,scored,mean,median,share >= 0\.7,failed,stale,input tokens,output tokens,gap_vs:m1,gap_vs:pre\r\n/);
    assert.match(csv.stdout, /\r\nm1,4,3,1,1,1,1,0,6,9,,0\.0\d+\r\n/, 'three answered calls of 2 prompt and 3 answer words each');
    assert.match(csv.stdout, /\r\npre,4,4,[^\r]*,0,,,-?0\.0\d+,\r\n/, 'precomputed outputs have no token usage: empty cells, not 0');
    const json = await cli(['report', data, '--format', 'json', '--rows', '--threshold', '0.99']);
    const doc = JSON.parse(json.stdout) as ReportDocument;
    assert.equal(doc.schema, 'pisar-review/report@1');
    assert.equal(doc.threshold, 0.99);
    assert.equal(doc.rows?.length, 4);
    assert.deepEqual(doc.rows?.[2].results.m1, { status: 'failed', kind: 'context-length', message: 'HTTP 400: This model\'s maximum context length is exceeded' });
    const pre = doc.models.find((m) => m.model === 'pre')!;
    assert.equal(pre.shareAtOrAbove, 0.5, 'the two identical answers pass 0.99, the two unrelated ones do not');
    assert.equal(doc.gaps.length, 1);

    assert.equal(server.stats.requests, calls, 'report calls nothing');
    assert.equal(await sha256(sidecar), before, 'report writes nothing');
  });

  it('report marks results of edited rows stale and leaves them out of the numbers', async () => {
    server = await tmp.startServer();
    const { data, common } = await setup(3, [{ name: 'm1', baseUrl: server.url, model: 'm1' }]);
    await cli(['score', ...common]);
    const text = await fsp.readFile(data, 'utf8');
    await fsp.writeFile(data, text.replace('question 1"', 'question 1, reworded"'));
    const r = await cli(['report', data, '--format', 'json']);
    const m1 = (JSON.parse(r.stdout) as ReportDocument).models[0];
    assert.equal(m1.stale, 1);
    assert.equal(m1.rows, 2);
    assert.equal(m1.scored, 2);
  });

  it('Ctrl-C cancels a run, keeps every finished row, exits 1 and says how to resume', async function () {
    this.timeout(120_000);
    server = await tmp.startServer({ latencyMs: 25 });
    const n = 200;
    const { common } = await setup(n, [{ name: 'm1', baseUrl: server.url, model: 'm1', concurrency: 4 }]);
    const sidecar = path.join(tmp.dir, 'data.pisar-results.jsonl');
    const child = spawn(process.execPath, [CLI, 'score', ...common], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while ((await fsp.readFile(sidecar, 'utf8').then((t) => t.split('\n').length - 1, () => 0)) < 30) {
      if (child.exitCode !== null) assert.fail(`the CLI finished before it could be cancelled: ${err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGINT');
    assert.equal(await exited, 1);
    assert.match(err, /stopping: no new calls; the calls in flight finish and are written/);
    assert.match(err, /cancelled with \d+ pair\(s\) not done; run the same command again to resume/);
    const { records, problems } = await readSidecar<{ rowId: string; score?: number }>(sidecar);
    assert.deepEqual(problems, [], 'a cancel leaves no cut-off line');
    const latest = new Map(records.map((r) => [r.rowId, r])); // the latest line per row wins
    assert.ok(latest.size >= 30 && latest.size < n);
    const resumed = await cli(['score', ...common, '--json']);
    assert.equal(resumed.code, 0);
    const doc = JSON.parse(resumed.stdout) as ScoreDocument;
    // Calls that finished before the cancel but were not scored yet were kept unscored: scored now, not called.
    const scoredBefore = [...latest.values()].filter((r) => typeof r.score === 'number').length;
    assert.equal(doc.run.reused, scoredBefore);
    assert.equal(doc.run.called + doc.run.cacheHits, n - latest.size, 'only rows without a stored output are called');
    assert.equal(doc.run.scored, n - scoredBefore);
    assert.equal(doc.summary.models[0].scored, n);
  });

  it('a first Ctrl-C starts no new call and keeps every call in flight that answers (all paid calls stored)', async function () {
    this.timeout(60_000);
    server = await tmp.startServer({ latencyMs: 1500 });
    const { common } = await setup(20, [{ name: 'm1', baseUrl: server.url, model: 'm1', concurrency: 4 }]);
    const sidecar = path.join(tmp.dir, 'data.pisar-results.jsonl');
    const child = spawn(process.execPath, [CLI, 'score', ...common], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Four calls in flight (the server has them, none answered yet): then Ctrl-C.
    while (server.stats.requests < 4) {
      if (child.exitCode !== null) assert.fail(`the CLI finished before it could be cancelled: ${err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(server.stats.succeeded, 0, 'the calls are still in flight');
    child.kill('SIGINT');
    assert.equal(await exited, 1, err);
    assert.equal(server.stats.requests, 4, 'no call was started after Ctrl-C');
    assert.equal(server.stats.succeeded, 4, 'the calls in flight were answered');
    const { records } = await readSidecar<{ rowId: string; source: string; output?: string }>(sidecar);
    const called = new Set(records.filter((r) => r.source === 'called' && r.output !== undefined).map((r) => r.rowId));
    assert.equal(called.size, 4, `every answered (paid) call is stored:\n${err}`);
  });

  it('after SIGKILL mid-run, a re-run makes only the calls that were missing', async function () {
    this.timeout(120_000);
    server = await tmp.startServer({ latencyMs: 25 });
    const n = 600;
    const { data, common } = await setup(n, [{ name: 'm1', baseUrl: server.url, model: 'm1', concurrency: 4 }]);
    const before = await sha256(data);
    const sidecar = path.join(tmp.dir, 'data.pisar-results.jsonl');

    const child = spawn(process.execPath, [CLI, 'score', ...common], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let childErr = '';
    child.stderr.on('data', (c) => (childErr += c));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    for (;;) {
      const lines = await fsp.readFile(sidecar, 'utf8').then((t) => t.split('\n').length - 1, () => 0);
      if (lines >= 20) break;
      if (child.exitCode !== null) assert.fail(`the CLI finished before it could be killed: ${childErr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    // The positive signal that the requests the child had in flight reached the server: its connections are closed.
    for (const deadline = Date.now() + 10_000; server.openConnections > 0; await new Promise((r) => setTimeout(r, 10))) {
      assert.ok(Date.now() < deadline, `the killed CLI's ${server.openConnections} connection(s) never closed`);
    }
    const callsBefore = server.stats.requests;
    assert.ok(callsBefore < n, `killed mid-run (${callsBefore} of ${n} calls made)`);

    const stored = await ResultsStore.open(data);
    const kept = [...stored.latestResults()].filter((r) => r.output !== undefined).length;
    const keptScored = [...stored.latestResults()].filter((r) => typeof r.score === 'number').length;
    assert.ok(kept >= 20 && kept < n, `results kept after the kill: ${kept}`);

    const rerun = spawn(process.execPath, [CLI, 'score', ...common, '--json'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    rerun.stdout.on('data', (c) => (out += c));
    rerun.stderr.on('data', (c) => (err += c));
    const code = await new Promise<number | null>((resolve) => rerun.on('exit', resolve));
    assert.equal(code, 0, err);
    const doc = JSON.parse(out) as ScoreDocument;
    assert.equal(server.stats.requests - callsBefore, doc.run.called, 'every call the re-run counted reached the server, no more');
    assert.equal(doc.run.called + doc.run.cacheHits, n - kept, 'only the missing rows were called (or answered from the request cache)');
    assert.equal(doc.run.reused, keptScored, 'outputs kept unscored are scored now, not called');
    assert.equal(doc.run.scored, n - keptScored);
    // Finished calls still waiting for their score were in the request cache on disk: the crash lost only calls in flight.
    assert.ok(server.repeatedSuccesses() <= 4, `successful calls made twice: ${server.repeatedSuccesses()} (at most the 4 in flight)`);

    const { records, problems } = await readSidecar<{ rowId: string; output?: string; score?: number; latencyMs?: number; cached?: boolean }>(sidecar);
    assert.deepEqual(problems, []);
    const byRow = new Map<string, typeof records>();
    for (const r of records) byRow.set(r.rowId, [...(byRow.get(r.rowId) ?? []), r]);
    assert.equal(byRow.size, n, 'every row has a stored result: none lost');
    for (const [rowId, lines] of byRow) {
      // A row may have an unscored line and then its scored line, but both from one call: none duplicated.
      assert.equal(new Set(lines.map((l) => `${l.output}|${l.latencyMs ?? 'cached'}`)).size, 1, `${rowId} stored from one call`);
      assert.equal(typeof lines.at(-1)!.score, 'number', `${rowId} scored`);
    }
    assert.equal(await sha256(data), before, 'the dataset is never written');
  });
});
