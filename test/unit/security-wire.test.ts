import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main';
import { ConfigError, parseModelList, type ModelConfig } from '../../src/core/config/models';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { RequestCache } from '../../src/core/runner/requestCache';
import { runDataset, type RunEvent, type RunSummary } from '../../src/core/runner/runner';
import { RemoteEmbedder } from '../../src/core/scoring/remoteEmbedder';
import { ResultsStore, type StoredResult } from '../../src/core/store/results';
import { startEmbeddingsServer } from '../support/embeddingsServer';
import { jsonl, makeTempDir, repoRoot } from '../support/files';
import { FakeOpenAIServer } from '../support/openaiServer';
import { chatCompletion, RawServer } from '../support/rawServer';

/** A key no pattern recognises: only knowing its value can mask it. */
const freshKey = () => `tok${Math.random().toString(36).slice(2)}${Date.now().toString(36)}Z`;

describe('security: what a hostile server can no longer do', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof makeTempDir>;
  const servers: { close(): Promise<void> }[] = [];
  beforeEach(() => (tmp = makeTempDir('pisar-wire-')));
  afterEach(async () => {
    while (servers.length) await servers.pop()!.close();
    tmp.cleanup();
  });
  const track = <T extends { close(): Promise<void> }>(s: T): T => (servers.push(s), s);

  async function run(model: Partial<ModelConfig> & { baseUrl: string }, options: { key?: string; rows?: number; cacheDir?: string; maxRetryAfterMs?: number; retries?: number } = {}) {
    const file = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(file, jsonl(Array.from({ length: options.rows ?? 1 }, (_, i) => ({ id: `r${i}`, input: `question ${i}`, rationale: 'because' }))));
    const dataset = await Dataset.open(file);
    const results = await ResultsStore.open(file);
    const events: RunEvent[] = [];
    const requestCache = options.cacheDir ? await RequestCache.open(options.cacheDir) : undefined;
    const t0 = Date.now();
    const summary: RunSummary = await runDataset({
      dataset, results, models: [{ name: 'm', model: 'm', concurrency: 1, timeoutMs: 5000, ...model }],
      apiKeyFor: async () => options.key, onEvent: (e) => events.push(e), requestCache,
      retry: { retries: options.retries ?? 0, baseDelayMs: 5, maxDelayMs: 10 }, maxRetryAfterMs: options.maxRetryAfterMs,
    });
    await dataset.close();
    await results.flushed();
    const stored = [...results.latestResults()];
    return { summary, events, stored, sidecar: await fsp.readFile(results.file, 'utf8'), elapsedMs: Date.now() - t0 };
  }
  const only = (stored: StoredResult[]) => {
    assert.equal(stored.length, 1);
    return stored[0];
  };

  for (const status of [301, 302, 303, 307, 308]) {
    it(`HTTP ${status} to another origin is not followed: the row fails naming the target, the other origin gets nothing`, async () => {
      const elsewhere = track(await RawServer.start((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(chatCompletion('a page from elsewhere'))));
      const redirector = track(await RawServer.start((req, res) => res.writeHead(status, { location: `${elsewhere.origin}${req.url}` }).end()));
      const { stored, summary } = await run({ baseUrl: redirector.url }, { key: freshKey() });
      const r = only(stored);
      assert.equal(r.output, undefined, 'the other origin\'s page was stored as the output');
      assert.equal(r.error?.kind, 'redirect');
      assert.ok(r.error!.message.includes(elsewhere.origin), r.error!.message);
      assert.equal(elsewhere.requests.length, 0, `${elsewhere.requests[0]?.method} reached the other origin`);
      assert.equal(summary.modelFailures.length, 1, 'the model is stopped: every row would be redirected');
    });
  }

  it('a redirect within the same origin is still followed (307 keeps the POST)', async () => {
    const server = track(await RawServer.start((req, res) => {
      if (req.url.startsWith('/old/')) return res.writeHead(307, { location: req.url.replace('/old/', '/v1/') }).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(chatCompletion(`answered ${req.method}`));
    }));
    const { stored } = await run({ baseUrl: `${server.origin}/old` });
    assert.equal(only(stored).output, 'answered POST');
  });

  it('a body that drips one byte a second does not outlive timeoutMs', async () => {
    const server = track(await RawServer.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const body = chatCompletion('slow');
      let i = 0;
      const timer = setInterval(() => (i < body.length ? res.write(body[i++]) : (clearInterval(timer), res.end())), 1000);
      res.on('close', () => clearInterval(timer));
    }));
    const { stored, elapsedMs } = await run({ baseUrl: server.url, timeoutMs: 1500 });
    assert.equal(only(stored).error?.kind, 'timeout');
    assert.ok(elapsedMs < 6000, `the call lasted ${elapsedMs} ms with timeoutMs 1500`);
  });

  it('a huge body fails the row with kind too-large, read no further than the cap', async () => {
    let sent = 0;
    const server = track(await RawServer.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // no content-length: the cap must count
      res.write('{"choices":[{"message":{"content":"');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (sent < 512 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 512 * 1024 * 1024) res.once('drain', pump);
      };
      pump();
    }));
    const { stored } = await run({ baseUrl: server.url, maxResponseBytes: 1024 * 1024 });
    const r = only(stored);
    assert.equal(r.error?.kind, 'too-large', JSON.stringify(r.error));
    assert.match(r.error!.message, /maxResponseBytes/);
    assert.ok(sent < 64 * 1024 * 1024, `the server got to send ${sent} bytes`);
  });

  it('a key echoed in a completion never reaches the results sidecar or the request cache', async () => {
    const key = freshKey();
    const server = track(await FakeOpenAIServer.start({ respond: (req) => `your key is ${req.authorization?.replace('Bearer ', '')}, escaped ${JSON.stringify(req.authorization)}` }));
    const cacheDir = path.join(tmp.dir, 'cache');
    const { stored, sidecar, events } = await run({ baseUrl: server.url }, { key, cacheDir });
    assert.ok(server.stats.authorizations.has(`Bearer ${key}`), 'the key was sent');
    assert.match(only(stored).output ?? '', /your key is \[redacted\]/);
    const cache = await fsp.readFile(path.join(cacheDir, 'requests.v1.jsonl'), 'utf8');
    for (const [where, text] of [['sidecar', sidecar], ['request cache', cache], ['events', JSON.stringify(events)]]) {
      assert.ok(!text.includes(key), `the key is in the ${where}`);
    }
  });

  it('score --json: the embeddings key quoted by the embeddings server is not in the JSON document', async () => {
    const key = freshKey();
    const embeddings = track(await startEmbeddingsServer({ failWith: { status: 400, message: `bad request for key ${key}` } }));
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl([{ id: 'a', input: 'q', rationale: 'r', outputs: { pre: 'r' } }]));
    let out = '';
    let err = '';
    const stdout = new PassThrough().on('data', (c) => (out += c));
    const stderr = new PassThrough().on('data', (c) => (err += c));
    const code = await runCli(['score', data, '--json', '--embedding-url', embeddings.baseUrl, '--embedding-remote-model', 'e', '--cache-dir', path.join(tmp.dir, 'c')], {
      stdout, stderr, env: { PISAR_EMBEDDING_API_KEY: key }, cwd: repoRoot,
    });
    assert.equal(code, 2, err);
    const doc = JSON.parse(out) as { scoringError: string };
    assert.match(doc.scoringError, /bad request for key \[redacted\]/);
    assert.ok(!(out + err).includes(key), 'the key left the process');
  });

  it('a huge Retry-After is not waited: the pair fails at once with the reason, and nothing is retried', async () => {
    const server = track(await FakeOpenAIServer.start({ faultFor: (req) => (req.attempt === 0 ? { kind: '429', retryAfterSec: 1e9 } : undefined) }));
    const { stored, events, elapsedMs } = await run({ baseUrl: server.url }, { maxRetryAfterMs: 200, retries: 1 });
    const result = only(stored);
    assert.equal(result.output, undefined);
    assert.match(result.error?.message ?? '', /asked to wait 1000000000 s, more than "maxRetryWaitMs" allows \(0 s\); not waited/);
    assert.equal(events.filter((e) => e.kind === 'retry').length, 0);
    assert.equal(server.stats.requests, 1);
    assert.ok(elapsedMs < 5000);
  });
});

describe('security: headers and environment sent to endpoints', function () {
  this.timeout(30_000);
  const saved: Record<string, string | undefined> = {};
  const hostileEnv = { OPENAI_ORG_ID: 'org-from-env', OPENAI_PROJECT_ID: 'proj-from-env', OPENAI_ADMIN_KEY: 'admin-key-from-env', OPENAI_API_KEY: 'sk-from-env-000000', OPENAI_CUSTOM_HEADERS: 'X-From-Env: leaked' };
  before(() => {
    for (const [k, v] of Object.entries(hostileEnv)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  after(() => {
    for (const k of Object.keys(hostileEnv)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  const leakedHeaders = (headers: Record<string, unknown>) =>
    Object.entries(headers).filter(([name, value]) => /openai-organization|openai-project|x-from-env/i.test(name) || /from-env/.test(String(value)) || (name === 'authorization' && /no-key|unused/.test(String(value))));

  it('the remote embedder sends no environment org/project ids, no env headers and no placeholder key', async () => {
    const server = await RawServer.start((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ index: 0, embedding: [1, 0] }] })));
    try {
      const embedder = new RemoteEmbedder({ baseUrl: server.url, model: 'e', batchSize: 8, concurrency: 1 });
      await embedder.computeEmbeddings(['text'], () => undefined, {});
      // The embeddings request, and the /info read that learns the server's batch size, alike.
      assert.equal(server.requests.filter((r) => r.method === 'POST').length, 1);
      for (const request of server.requests) {
        assert.deepEqual(leakedHeaders(request.headers), [], request.url);
        assert.equal(request.headers.authorization, undefined, request.url);
      }
    } finally {
      await server.close();
    }
  });

  it('the chat runner sends the model key only: not OPENAI_ADMIN_KEY, org/project ids or env headers', async () => {
    const server = await RawServer.start((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(chatCompletion('ok')));
    const tmp = makeTempDir('pisar-env-');
    try {
      const file = path.join(tmp.dir, 'data.jsonl');
      await fsp.writeFile(file, jsonl([{ id: 'a', input: 'q', rationale: 'r' }]));
      const dataset = await Dataset.open(file);
      await runDataset({ dataset, results: await ResultsStore.open(file), models: [{ name: 'm', baseUrl: server.url, model: 'm' }], apiKeyFor: async () => 'model-key-123456' });
      await dataset.close();
      assert.deepEqual(leakedHeaders(server.requests[0].headers), []);
      assert.equal(server.requests[0].headers.authorization, 'Bearer model-key-123456');
    } finally {
      await server.close();
      tmp.cleanup();
    }
  });

  for (const header of ['api-key', 'x-goog-api-key', 'Ocp-Apim-Subscription-Key', 'Proxy-Authorization', 'X-Auth-Token', 'Cookie']) {
    it(`config header "${header}" is refused like Authorization`, () => {
      assert.throws(
        () => parseModelList([{ name: 'm', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', headers: { [header]: 'secret-value' } }], 'cfg.json'),
        (err: unknown) => err instanceof ConfigError && err.message.includes(header) && /credential/.test(err.message),
      );
    });
  }
  it('an ordinary header is still accepted', () => {
    const [m] = parseModelList([{ name: 'm', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', headers: { 'X-Team': 'eval' } }], 'cfg.json');
    assert.deepEqual(m.headers, { 'X-Team': 'eval' });
  });
});
