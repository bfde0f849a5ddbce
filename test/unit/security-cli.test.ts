import * as assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { jsonl, makeTempDir, repoRoot } from '../support/files';
import { FakeOpenAIServer } from '../support/openaiServer';

const CLI = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');
const run = promisify(execFile);

/** The CLI as a separate process (so the fake server in this one keeps answering); never rejects. */
async function cliProcess(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; prefix?: string[]; timeoutMs?: number } = {}) {
  const [file, ...pre] = options.prefix ?? [process.execPath];
  try {
    const { stdout, stderr } = await run(file, [...pre, ...(options.prefix ? [process.execPath] : []), CLI, ...args], { cwd: options.cwd, env: { PATH: process.env.PATH, ...options.env }, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 0 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function rows(n: number) {
  return Array.from({ length: n }, (_, i) => ({ id: `r${i}`, input: `question ${i}`, rationale: `Rationale: question ${i}` }));
}

describe('security: the CLI under pipes, failures, read-only folders and concurrent runs', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let server: FakeOpenAIServer | undefined;
  beforeEach(() => (tmp = makeTempDir('pisar-cli-sec-')));
  afterEach(async () => {
    await server?.close();
    server = undefined;
    tmp.cleanup();
  });

  it('`report --rows | head -1` ends quietly with exit 0 (no EPIPE crash)', () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    fs.writeFileSync(data, jsonl(rows(5000)));
    const script = `node ${JSON.stringify(CLI)} report ${JSON.stringify(data)} --rows | head -1; echo "status=\${PIPESTATUS[0]}" >&2`;
    const out = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    assert.equal(out.stdout.split('\n').filter(Boolean).length, 1);
    assert.match(out.stderr, /status=0\s*$/, out.stderr);
    assert.doesNotMatch(out.stderr, /EPIPE|Error/);
  });

  for (const [what, args] of [
    ['a missing dataset (score)', ['score', 'missing.jsonl', '--json']],
    ['a bad flag (inspect)', ['inspect', 'data.jsonl', '--json', '--no-such-flag']],
    ['a bad threshold (report --format json)', ['report', 'data.jsonl', '--format', 'json', '--threshold', '7']],
  ] as const) {
    it(`--json on a failure path prints exactly one JSON document: ${what}`, async () => {
      fs.writeFileSync(path.join(tmp.dir, 'data.jsonl'), jsonl(rows(1)));
      const out = await cliProcess([...args], { cwd: tmp.dir });
      assert.equal(out.code, 2, out.stderr);
      const doc = JSON.parse(out.stdout) as { schema: string; exitCode: number; error: string };
      assert.equal(doc.schema, 'pisar-review/error@1');
      assert.equal(doc.exitCode, 2);
      assert.ok(doc.error.length > 10, doc.error);
    });
  }

  it('a read-only folder is found before any billable call (exit 2, the sidecar named, 0 requests)', async function () {
    if (process.getuid?.() !== 0) this.skip(); // needs root to run the CLI as another user; as that user chmod is enough
    server = await FakeOpenAIServer.start();
    const folder = path.join(tmp.dir, 'readonly');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'data.jsonl'), jsonl(rows(3)));
    const writable = path.join(tmp.dir, 'w');
    fs.mkdirSync(writable);
    fs.writeFileSync(path.join(writable, 'config.json'), JSON.stringify({ models: [{ name: 'm', baseUrl: server.url, model: 'm' }] }));
    for (const p of [tmp.dir, folder]) fs.chmodSync(p, 0o755);
    fs.chmodSync(writable, 0o777);
    fs.chmodSync(path.join(folder, 'data.jsonl'), 0o644);
    // Root ignores file modes: run the CLI as "nobody", for whom the folder is read-only.
    const out = await cliProcess(['score', path.join(folder, 'data.jsonl'), '--config', path.join(writable, 'config.json'), '--embedding-model', TINY, '--cache-dir', path.join(writable, 'cache')], {
      prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
      env: { HOME: writable },
    });
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /data\.pisar-results\.jsonl/);
    assert.match(out.stderr, /EACCES/);
    assert.equal(server.stats.requests, 0, 'a model was called before the write failed');
  });

  it('two runs on one dataset at once do not call any pair twice (the second waits for the lock, then reuses)', async () => {
    server = await FakeOpenAIServer.start({ latencyMs: 40 });
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl(rows(24)));
    const config = path.join(tmp.dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm', baseUrl: server.url, model: 'm', concurrency: 2 }] }));
    const args = ['score', data, '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')];
    const [a, b] = await Promise.all([cliProcess(args), cliProcess(args)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(server.repeatedSuccesses(), 0, `${server.repeatedSuccesses()} pairs were called twice`);
    assert.equal(server.stats.requests, 24);
    assert.match(a.stderr + b.stderr, /waiting for another run on this dataset \(pid \d+ on .*\), which holds .*\.lock/);
    assert.ok(!fs.existsSync(`${path.join(tmp.dir, 'data.pisar-results.jsonl')}.lock`), 'the lock is removed at the end');
  });

  it('a lock that came with the folder (another host, pid 1, not refreshed for years) is taken over and reported, not waited on forever', async () => {
    server = await FakeOpenAIServer.start();
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl(rows(3)));
    const config = path.join(tmp.dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm', baseUrl: server.url, model: 'm' }] }));
    const lock = path.join(tmp.dir, 'data.pisar-results.jsonl.lock');
    fs.writeFileSync(lock, JSON.stringify({ pid: 1, host: 'build-server-7', startedAt: '2020-01-01T00:00:00.000Z' }));
    fs.utimesSync(lock, new Date('2020-01-01'), new Date('2020-01-01'));
    const out = await cliProcess(['score', data, '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')], { timeoutMs: 30_000 });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /took over a stale lock .*\.lock \(pid 1 on "build-server-7", started 2020-01-01T00:00:00\.000Z\): not refreshed for \d+ s/);
    assert.equal(server.stats.requests, 3);
    assert.ok(!fs.existsSync(lock), 'the lock is released at the end');
  });

  it('a live foreign lock is waited on visibly and for a bounded time; --break-lock takes it', async () => {
    server = await FakeOpenAIServer.start();
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl(rows(2)));
    const config = path.join(tmp.dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm', baseUrl: server.url, model: 'm' }] }));
    const lock = path.join(tmp.dir, 'data.pisar-results.jsonl.lock');
    // Fresh: as a run on another machine sharing the folder keeps it.
    fs.writeFileSync(lock, JSON.stringify({ pid: 4242, host: 'other-machine', startedAt: new Date().toISOString() }));
    const args = ['score', data, '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')];
    const bounded = await cliProcess([...args, '--lock-timeout', '1'], { timeoutMs: 30_000 });
    assert.equal(bounded.code, 2, bounded.stderr);
    assert.match(bounded.stderr, /waiting for another run on this dataset \(pid 4242 on "other-machine"/, 'the wait says what it waits for');
    assert.match(bounded.stderr, /still holds .*\.lock after \d+ s; nothing was called\. .*--break-lock/, 'the end of the wait names the fix');
    assert.equal(server.stats.requests, 0);
    const broken = await cliProcess([...args, '--break-lock'], { timeoutMs: 30_000 });
    assert.equal(broken.code, 0, broken.stderr);
    assert.match(broken.stderr, /--break-lock: deleted .*\.lock \(pid 4242 on "other-machine"/);
    assert.equal(server.stats.requests, 2);
  });

  it('a lock left by a killed run (its pid is gone) is taken over at once', async () => {
    const { RunLock } = await import('../../src/core/store/runLock');
    const os = await import('node:os');
    const results = path.join(tmp.dir, 'data.pisar-results.jsonl');
    fs.writeFileSync(RunLock.fileFor(results), JSON.stringify({ pid: 2 ** 22 + 7, host: os.hostname(), startedAt: 'then' }));
    let waited = false;
    const lock = await RunLock.acquire(results, { onWait: () => (waited = true) });
    assert.equal(waited, false);
    assert.match(fs.readFileSync(RunLock.fileFor(results), 'utf8'), new RegExp(`"pid":${process.pid}`));
    await lock.release();
    assert.ok(!fs.existsSync(RunLock.fileFor(results)));
  });

  it('--embedding-model org/name is a Hub id (the default id works through the flag), even when such a folder exists; ./path is a folder', async () => {
    const { runCli } = await import('../../src/cli/main');
    const { PassThrough } = await import('node:stream');
    // No reference: nothing is scored, so no model is loaded (and nothing is downloaded); `scorer` shows how the flag was read.
    fs.writeFileSync(path.join(tmp.dir, 'data.jsonl'), jsonl([{ id: 'a', input: 'q', outputs: { pre: 'x' } }]));
    const scorerOf = async (flag: string) => {
      let out = '';
      const stdout = new PassThrough().on('data', (c) => (out += c));
      const code = await runCli(['score', 'data.jsonl', '--json', '--embedding-model', flag, '--cache-dir', path.join(tmp.dir, 'cache')], { stdout, stderr: new PassThrough(), env: {}, cwd: tmp.dir });
      assert.equal(code, 0, out);
      return (JSON.parse(out) as { scorer: string }).scorer;
    };
    assert.equal(await scorerOf('Xenova/all-MiniLM-L6-v2'), 'local:Xenova/all-MiniLM-L6-v2:fp32');
    assert.equal(await scorerOf('sentence-transformers/all-mpnet-base-v2'), 'local:sentence-transformers/all-mpnet-base-v2:fp32');
    fs.mkdirSync(path.join(tmp.dir, 'org', 'name'), { recursive: true });
    assert.equal(await scorerOf('org/name'), 'local:org/name:fp32', 'a folder named like the id is not the model');
    assert.equal(await scorerOf('./models/tiny'), `local:${path.join(tmp.dir, 'models', 'tiny')}:fp32`);
  });
});

