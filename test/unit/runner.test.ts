import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelConfig } from '../../src/core/config/models';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { completeOnce, createClient } from '../../src/core/runner/provider';
import { RequestCache } from '../../src/core/runner/requestCache';
import { runDataset, type RunEvent, type RunOptions } from '../../src/core/runner/runner';
import type { RunScorer } from '../../src/core/runner/runTypes';
import { ResultsStore } from '../../src/core/store/results';
import { readSidecar } from '../../src/core/store/sidecar';
import { FakeOpenAIServer, type Fault } from '../support/openaiServer';

const FAST_RETRY = { retries: 4, baseDelayMs: 20, maxDelayMs: 200 };

async function writeDataset(rows: Record<string, unknown>[], name = 'data.jsonl'): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-runner-'));
  const file = path.join(dir, name);
  await fsp.writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

function rows(n: number, extra: (i: number) => Record<string, unknown> = () => ({})): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({ id: `r${i}`, input: `question ${i}`, rationale: `because ${i}`, ...extra(i) }));
}

function model(server: FakeOpenAIServer, name = 'm1', extra: Partial<ModelConfig> = {}): ModelConfig {
  return { name, baseUrl: server.url, model: name, concurrency: 4, timeoutMs: 2000, ...extra };
}

/** A scorer for runner logic only: word overlap, counting the pairs it scored. */
function overlapScorer(cacheKey = 'overlap-v1'): RunScorer & { pairsScored: number } {
  const scorer = {
    cacheKey,
    pairsScored: 0,
    async scorePairs(pairs: { output: string; reference: string }[]) {
      scorer.pairsScored += pairs.length;
      return pairs.map(({ output, reference }) => {
        const a = new Set(output.toLowerCase().split(/\W+/).filter(Boolean));
        const b = new Set(reference.toLowerCase().split(/\W+/).filter(Boolean));
        const shared = [...a].filter((w) => b.has(w)).length;
        return shared / Math.max(1, Math.max(a.size, b.size));
      });
    },
  };
  return scorer;
}

async function run(file: string, models: ModelConfig[], extra: Partial<RunOptions> = {}) {
  const dataset = await Dataset.open(file);
  const results = await ResultsStore.open(file);
  const events: RunEvent[] = [];
  const summary = await runDataset({
    dataset, models, results, retry: FAST_RETRY, apiKeyFor: async () => undefined,
    onEvent: (e) => events.push(e), ...extra,
  });
  await dataset.close();
  return { summary, events, results };
}

async function sha256(file: string): Promise<string> {
  return crypto.createHash('sha256').update(await fsp.readFile(file)).digest('hex');
}

describe('runner against a real OpenAI-compatible server', function () {
  this.timeout(30_000);
  let server: FakeOpenAIServer;
  afterEach(async () => server?.close());

  it('calls every missing row once, stores every result beside the dataset, and never writes the dataset', async () => {
    server = await FakeOpenAIServer.start();
    const file = await writeDataset(rows(12));
    const before = await sha256(file);
    const { summary, events, results } = await run(file, [model(server)]);
    assert.equal(server.stats.requests, 12);
    assert.equal(summary.succeeded, 12);
    assert.equal(summary.failed, 0);
    assert.equal(await sha256(file), before, 'the dataset is never written');
    for (let i = 0; i < 12; i++) {
      const r = results.latest(`r${i}`, 'm1');
      assert.equal(r?.output, `Rationale: question ${i}`);
      assert.equal(r?.source, 'called');
      assert.ok(r?.promptHash && r.usage?.completionTokens === 3 && r.finishReason === 'stop');
    }
    const { records, problems } = await readSidecar(path.join(path.dirname(file), 'data.pisar-results.jsonl'));
    assert.equal(records.length, 12);
    assert.deepEqual(problems, []);
    assert.equal(events[0].kind, 'start');
    assert.equal(events.at(-1)?.kind, 'done');
    assert.equal(events.filter((e) => e.kind === 'result').length, 12);
  });

  it('ends every row scored or failed with its reason under injected faults, and repeats no successful call', async () => {
    const plan: Record<string, (Fault | Fault['kind'])[]> = {
      'question 0': [{ kind: '429', retryAfterSec: 1 }],
      'question 1': ['500', '503'],
      'question 2': ['reset'],
      'question 3': [{ kind: 'slow', delayMs: 1500 }],
      'question 4': ['malformed', 'malformed'],
      'question 5': ['empty-choices', 'empty-choices'],
      'question 6': ['400'],
      'question 7': ['500', '500', '500', '500', '500', '500'],
    };
    server = await FakeOpenAIServer.start({ faultFor: (req) => plan[req.prompt]?.[req.attempt] });
    const file = await writeDataset(rows(10));
    const scorer = overlapScorer();
    const { summary, results } = await run(file, [model(server, 'm1', { timeoutMs: 500 })], { scorer });

    const latest = (i: number) => results.latest(`r${i}`, 'm1')!;
    for (const i of [0, 1, 2, 3, 8, 9]) {
      assert.equal(latest(i).error, undefined, `row ${i} recovered`);
      assert.equal(typeof latest(i).score, 'number', `row ${i} scored`);
    }
    assert.equal(latest(4).error?.kind, 'malformed');
    assert.equal(latest(5).error?.kind, 'empty-choices');
    assert.equal(latest(6).error?.kind, 'context-length', 'a context-size 400 is this row\'s, with its own kind');
    assert.equal(latest(6).error?.status, 400);
    assert.equal(latest(7).error?.kind, 'server');
    assert.match(latest(7).error!.message, /gave up after 5 attempts/);
    assert.equal(summary.succeeded, 6);
    assert.equal(summary.failed, 4);
    assert.equal(server.repeatedSuccesses(), 0, 'no call that succeeded was made again');
    const attempts = (q: string) => server.requests.filter((r) => r.prompt === q);
    assert.equal(attempts('question 4').length, 1, 'a malformed body is not retried');
    assert.equal(attempts('question 5').length, 1, 'empty choices are not retried');
    assert.equal(attempts('question 6').length, 1, 'a 400 is not retried');
    assert.equal(attempts('question 7').length, 5, 'one retry layer: 1 + 4 retries, not multiplied by client retries');
    assert.equal(attempts('question 1').length, 3);
    assert.equal(summary.retries, 1 + 2 + 1 + 1 + 4);
    const [first429, second429] = attempts('question 0');
    assert.ok(second429.receivedAt - first429.receivedAt >= 950, `Retry-After: 1 honoured (waited ${second429.receivedAt - first429.receivedAt} ms)`);
  });

  it('stops a model at the first 401 with one event naming the model and the fix, marking its rows failed', async () => {
    server = await FakeOpenAIServer.start({ requireKey: 'sk-good' });
    const file = await writeDataset(rows(40));
    const good = model(server, 'good', { concurrency: 2 });
    const bad = model(server, 'bad', { concurrency: 4, apiKeyEnv: 'BAD_KEY' });
    const { summary, events, results } = await run(file, [good, bad], {
      apiKeyFor: async (m) => (m.name === 'good' ? 'sk-good' : 'sk-wrong'),
    });
    const failedEvents = events.filter((e) => e.kind === 'model-failed');
    assert.equal(failedEvents.length, 1);
    const ev = failedEvents[0] as Extract<RunEvent, { kind: 'model-failed' }>;
    assert.equal(ev.model, 'bad');
    assert.match(ev.message, /bad: HTTP 401/);
    assert.match(ev.fix, /BAD_KEY/);
    const badRequests = server.requests.filter((r) => r.model === 'bad').length;
    assert.ok(badRequests <= 4, `at most the calls already in flight reach the server (${badRequests})`);
    for (let i = 0; i < 40; i++) {
      assert.ok(results.latest(`r${i}`, 'bad')?.error, `row ${i} marked failed for bad`);
      assert.equal(results.latest(`r${i}`, 'good')?.error, undefined);
    }
    assert.equal(summary.modelFailures.length, 1);
    assert.equal(summary.models.find((m) => m.model === 'bad')?.failed, 40);
    assert.ok([...server.stats.authorizations].every((a) => a === 'Bearer sk-good' || a === 'Bearer sk-wrong'));
  });

  it('treats an unknown model (404) as a model failure, not one error per row', async () => {
    server = await FakeOpenAIServer.start({ models: ['known'] });
    const file = await writeDataset(rows(20));
    const { events, results } = await run(file, [model(server, 'known'), model(server, 'typo', { concurrency: 1 })]);
    assert.equal(events.filter((e) => e.kind === 'model-failed').length, 1);
    assert.equal(server.requests.filter((r) => r.model === 'typo').length, 1);
    assert.equal(results.latest('r19', 'typo')?.error?.kind, 'model-failed');
    assert.equal(results.latest('r19', 'known')?.error, undefined);
  });

  it('stops a model whose server cannot be reached after its retries, instead of retrying every row', async () => {
    server = await FakeOpenAIServer.start();
    const port = server.port;
    await server.close();
    const file = await writeDataset(rows(30));
    const { summary, events } = await run(file, [{ name: 'down', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'down', concurrency: 2 }]);
    assert.equal(events.filter((e) => e.kind === 'model-failed').length, 1);
    assert.match(summary.modelFailures[0].message, /cannot reach/);
    assert.equal(summary.failed, 30);
  });

  it('stops only the model whose key cannot be read or whose baseUrl is not a URL', async () => {
    server = await FakeOpenAIServer.start();
    const file = await writeDataset(rows(5));
    const { summary, events, results } = await run(file, [model(server, 'ok'), model(server, 'nokey'), { name: 'badurl', baseUrl: 'not a url', model: 'x' }], {
      apiKeyFor: async (m) => {
        if (m.name === 'nokey') throw new Error('SecretStorage is unavailable');
        return undefined;
      },
    });
    const failed = events.filter((e): e is Extract<RunEvent, { kind: 'model-failed' }> => e.kind === 'model-failed');
    assert.deepEqual(failed.map((e) => e.model).sort(), ['badurl', 'nokey']);
    assert.match(failed.find((e) => e.model === 'nokey')!.message, /could not get its API key \(SecretStorage is unavailable\)/);
    assert.match(failed.find((e) => e.model === 'badurl')!.fix, /baseUrl/);
    assert.equal(server.stats.requests, 5, 'only the healthy model called');
    assert.equal(summary.models.find((m) => m.model === 'ok')?.succeeded, 5);
    assert.equal(results.latest('r4', 'badurl')?.error?.kind, 'model-failed');
    assert.equal(results.latest('r4', 'nokey')?.error?.kind, 'model-failed');
  });

  it('writes outputs that wait on a slow scorer unscored, so a crash then would lose only calls in flight', async () => {
    server = await FakeOpenAIServer.start();
    const file = await writeDataset(rows(10));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const inner = overlapScorer();
    const slowScorer: RunScorer = { cacheKey: inner.cacheKey, scorePairs: async (pairs) => (await released, inner.scorePairs(pairs)) };
    const running = run(file, [model(server)], { scorer: slowScorer, scoreHoldMs: 100 });
    const sidecar = path.join(path.dirname(file), 'data.pisar-results.jsonl');
    const deadline = Date.now() + 10_000;
    let onDisk: { output?: string; score?: number }[] = [];
    while (onDisk.length < 10 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      onDisk = (await readSidecar<{ output?: string; score?: number }>(sidecar, { repair: false })).records;
    }
    assert.equal(onDisk.length, 10, 'every finished call is on disk while the scorer is still busy');
    assert.ok(onDisk.every((r) => r.output && r.score === undefined));
    release();
    const { summary, results } = await running;
    assert.equal(summary.succeeded, 10, 'each pair counted once');
    assert.equal(summary.done, 10);
    assert.equal(summary.scored, 10);
    assert.ok([...results.latestResults()].every((r) => typeof r.score === 'number'), 'the scores follow as the latest lines');
    assert.equal(results.recordCount, 20);
    assert.equal(server.stats.requests, 10);
  });

  it('writes each precomputed output once, with its score, even when the scorer is slow (no unscored first line)', async () => {
    server = await FakeOpenAIServer.start();
    const file = await writeDataset(rows(300, (i) => ({ outputs: { pre: `because ${i} it is so` } })));
    const inner = overlapScorer();
    const slowScorer: RunScorer = { cacheKey: inner.cacheKey, scorePairs: async (pairs) => (await new Promise((r) => setTimeout(r, 150)), inner.scorePairs(pairs)) };
    const { summary, results } = await run(file, [], { scorer: slowScorer, scoreHoldMs: 20 });
    assert.equal(summary.scored, 300);
    assert.equal(results.recordCount, 300, 'one line per pair');
    assert.ok([...results.latestResults()].every((r) => typeof r.score === 'number'));
  });

  it('keeps every finished row on cancel, and a resumed run calls only what is missing', async () => {
    server = await FakeOpenAIServer.start({ latencyMs: 20 });
    const file = await writeDataset(rows(60));
    const controller = new AbortController();
    const first = await run(file, [model(server)], {
      signal: controller.signal,
      onEvent: (e) => e.kind === 'result' && e.done === 15 && controller.abort(),
    });
    assert.equal(first.summary.cancelled, true);
    const stored = (await ResultsStore.open(file)).recordCount;
    assert.ok(stored >= 15 && stored < 60, `finished rows kept (${stored})`);
    assert.equal(first.summary.failed, 0, 'cancelled calls are not stored as failures');
    const before = server.stats.requests;
    const second = await run(file, [model(server)]);
    assert.equal(server.stats.requests - before, 60 - stored, 'only the missing rows are called');
    assert.equal(second.summary.reused, stored);
    assert.ok(server.repeatedSuccesses() <= before - stored, 'only calls cut off by the cancel were repeated');
    const final = await ResultsStore.open(file);
    assert.equal([...final.latestResults()].length, 60);
    assert.equal(final.recordCount, 60, 'no duplicates');
  });

  it('uses precomputed outputs as they are and calls only where a model output is missing', async () => {
    server = await FakeOpenAIServer.start();
    const file = await writeDataset(rows(6, (i) => (i < 4 ? { outputs: { m1: `stored answer ${i}`, other: `other ${i}` } } : {})));
    const scorer = overlapScorer();
    const { summary, results } = await run(file, [model(server)], { scorer });
    assert.equal(server.stats.requests, 2);
    assert.deepEqual(server.requests.map((r) => r.prompt).sort(), ['question 4', 'question 5']);
    assert.equal(results.latest('r0', 'm1')?.source, 'precomputed');
    assert.equal(results.latest('r0', 'm1')?.output, 'stored answer 0');
    assert.equal(results.latest('r0', 'other')?.source, 'precomputed');
    assert.equal(typeof results.latest('r0', 'other')?.score, 'number');
    assert.equal(summary.precomputed, 8);
    // --rerun calls the configured model everywhere, precomputed or not.
    await run(file, [model(server)], { scorer, rerun: true });
    assert.equal(server.stats.requests, 8);
    assert.equal((await ResultsStore.open(file)).latest('r0', 'm1')?.source, 'called');
  });

  it('re-running an unchanged dataset makes zero calls and zero scores; an edited row is stale and redone', async () => {
    server = await FakeOpenAIServer.start();
    const data = rows(8);
    const file = await writeDataset(data);
    const scorer = overlapScorer();
    await run(file, [model(server)], { scorer });
    assert.equal(server.stats.requests, 8);
    assert.equal(scorer.pairsScored, 8);
    const again = await run(file, [model(server)], { scorer });
    assert.equal(server.stats.requests, 8, 'zero calls');
    assert.equal(scorer.pairsScored, 8, 'zero scores');
    assert.equal(again.summary.reused, 8);

    data[3] = { ...data[3], input: 'question 3, edited' };
    await fsp.writeFile(file, data.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const dataset = await Dataset.open(file);
    const store = await ResultsStore.open(file);
    const old = store.latest('r3', 'm1')!;
    assert.equal(store.isStale(old, dataset.rowHash(3)), true);
    assert.equal(store.isStale(store.latest('r2', 'm1')!, dataset.rowHash(2)), false);
    await run(file, [model(server)], { scorer });
    assert.equal(server.stats.requests, 9);
    assert.equal(server.requests.at(-1)?.prompt, 'question 3, edited');

    // A different scorer re-scores stored outputs without calling the model.
    const other = overlapScorer('other-embedder');
    await run(file, [model(server)], { scorer: other });
    assert.equal(server.stats.requests, 9);
    assert.equal(other.pairsScored, 8);
  });

  it('answers identical requests once: concurrent duplicates share a call; a persistent cache survives runs', async () => {
    server = await FakeOpenAIServer.start({ latencyMs: 30 });
    const file = await writeDataset(rows(6, () => ({ input: 'the same question' })));
    const cacheDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-cache-'));
    const requestCache = await RequestCache.open(cacheDir);
    const { summary, results } = await run(file, [model(server, 'm1', { apiKeyEnv: 'X' })], {
      requestCache, apiKeyFor: async () => 'sk-secret-123',
    });
    assert.equal(server.stats.requests, 1);
    assert.equal(summary.cacheHits, 5);
    assert.equal(results.latest('r5', 'm1')?.output, 'Rationale: the same question');
    // Another dataset with the same prompt is answered from the cache on disk.
    const file2 = await writeDataset(rows(2, () => ({ input: 'the same question' })));
    await run(file2, [model(server, 'm1')], { requestCache: await RequestCache.open(cacheDir) });
    assert.equal(server.stats.requests, 1);
    const cacheText = await fsp.readFile(path.join(cacheDir, 'requests.v1.jsonl'), 'utf8');
    const sidecarText = await fsp.readFile(results.file, 'utf8');
    assert.ok(!cacheText.includes('sk-secret-123') && !sidecarText.includes('sk-secret-123'), 'no key in cache or results');
  });

  it('starts a new request cache file once the old one passes its size cap', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-cache-cap-'));
    const first = await RequestCache.open(dir, 200);
    for (let i = 0; i < 5; i++) await first.share(`k${i}`, async () => ({ output: `answer ${i}` }), (o) => o);
    assert.equal((await RequestCache.open(dir, 10_000)).size, 5, 'under the cap: every entry kept');
    const capped = await RequestCache.open(dir, 200);
    assert.equal(capped.size, 0, 'over the cap: a fresh file');
    assert.ok((await fsp.stat(path.join(dir, 'requests.v1.jsonl.old'))).size > 200, 'the old file is kept once, as .old');
  });

  it('never caches errors', async () => {
    server = await FakeOpenAIServer.start({ faultFor: (req) => (req.seq === 0 ? '400' : undefined) });
    const file = await writeDataset(rows(1));
    const requestCache = RequestCache.inMemory();
    await run(file, [model(server)], { requestCache });
    assert.ok((await ResultsStore.open(file)).latest('r0', 'm1')?.error);
    await run(file, [model(server)], { requestCache });
    assert.equal(server.stats.requests, 2, 'the failed request was made again');
    assert.equal((await ResultsStore.open(file)).latest('r0', 'm1')?.error, undefined);
  });

  it('fills prompt templates and system prompts; sends chat rows as messages', async () => {
    server = await FakeOpenAIServer.start();
    const file = await writeDataset([
      { id: 'a', input: 'plain', topic: 'cats', rationale: 'x' },
      { id: 'b', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }], rationale: 'y' },
    ]);
    await run(file, [model(server, 't', { promptTemplate: 'Topic: {{topic}}. Q: {{input}}', systemPrompt: 'You explain.' })], { rowIndexes: [0] });
    assert.deepEqual(server.requests[0].body.messages, [{ role: 'system', content: 'You explain.' }, { role: 'user', content: 'Topic: cats. Q: plain' }]);
    await run(file, [model(server, 'c', { systemPrompt: 'ignored: the row has its own' })], { rowIndexes: [1] });
    assert.deepEqual(server.requests[1].body.messages, [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }]);
    const { results } = await run(file, [model(server, 't2', { promptTemplate: '{{missing_field}}' })], { rowIndexes: [0] });
    assert.equal(results.latest('a', 't2')?.error?.kind, 'prompt');
    assert.match(results.latest('a', 't2')!.error!.message, /missing_field/);
  });

  describe('images', () => {
    const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

    it('sends a local image as a data URL image part', async () => {
      server = await FakeOpenAIServer.start();
      const file = await writeDataset([{ id: 'i', input: 'what is this', image: 'img/cat.png', rationale: 'r' }]);
      await fsp.mkdir(path.join(path.dirname(file), 'img'));
      await fsp.writeFile(path.join(path.dirname(file), 'img', 'cat.png'), PNG);
      await run(file, [model(server)]);
      const content = (server.requests[0].body.messages as { content: unknown }[])[0].content as { type: string; image_url?: { url: string } }[];
      assert.equal(content[0].type, 'text');
      assert.equal(content[1].image_url?.url, `data:image/png;base64,${PNG.toString('base64')}`);
    });

    it('refuses paths that escape the dataset folder, symlinks out, non-images and oversize files, without a call', async () => {
      server = await FakeOpenAIServer.start();
      const outside = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-outside-'));
      await fsp.writeFile(path.join(outside, 'secret.png'), PNG);
      const file = await writeDataset([
        { id: 'up', input: 'q', image: '../../etc/passwd', rationale: 'r' },
        { id: 'abs', input: 'q', image: path.join(outside, 'secret.png'), rationale: 'r' },
        { id: 'link', input: 'q', image: 'link.png', rationale: 'r' },
        { id: 'text', input: 'q', image: 'notes.png', rationale: 'r' },
        { id: 'big', input: 'q', image: 'big.png', rationale: 'r' },
      ]);
      const dir = path.dirname(file);
      await fsp.symlink(path.join(outside, 'secret.png'), path.join(dir, 'link.png'));
      await fsp.writeFile(path.join(dir, 'notes.png'), 'not an image at all');
      await fsp.writeFile(path.join(dir, 'big.png'), Buffer.concat([PNG, Buffer.alloc(4096)]));
      const { results } = await run(file, [model(server)], { maxImageBytes: 1024 });
      assert.equal(server.stats.requests, 0, 'no row was sent');
      const reason = (id: string) => results.latest(id, 'm1')?.error?.message ?? '';
      assert.match(reason('up'), /outside the dataset's folder/);
      assert.match(reason('abs'), /absolute/);
      assert.match(reason('link'), /link to a file outside/);
      assert.match(reason('text'), /not a PNG, JPEG, GIF or WebP/);
      assert.match(reason('big'), /over the 1 KB limit/);
      assert.ok(['up', 'abs', 'link', 'text', 'big'].every((id) => results.latest(id, 'm1')?.error?.kind === 'image'));
    });
  });

  it('respects per-model concurrency', async () => {
    server = await FakeOpenAIServer.start({ latencyMs: 40 });
    const file = await writeDataset(rows(24));
    await run(file, [model(server, 'm1', { concurrency: 3 })]);
    assert.equal(server.stats.maxInFlight, 3);
  });

  it('sends no Authorization header when a model has no key', async () => {
    server = await FakeOpenAIServer.start();
    const file = await writeDataset(rows(1));
    const previous = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-from-env-must-not-leak';
    try {
      await run(file, [model(server)]);
    } finally {
      if (previous === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = previous;
    }
    assert.equal(server.requests[0].authorization, undefined);
  });
});

describe('runner: listeners', () => {
  it('leaves no abort listener behind per call (regression: openai adds one to the signal and never removes it)', async function () {
    this.timeout(30_000);
    const server = await FakeOpenAIServer.start();
    try {
      const client = createClient(model(server), undefined);
      const signal = new AbortController().signal;
      for (let i = 0; i < 50; i++) {
        await completeOnce(client, { model: 'm1', messages: [{ role: 'user', content: `q${i}` }] }, signal);
      }
      assert.equal(server.stats.succeeded, 50);
      assert.equal(EventEmitter.getEventListeners(signal, 'abort').length, 0, 'the run\'s signal holds no listener per finished call');
    } finally {
      await server.close();
    }
  });
});
