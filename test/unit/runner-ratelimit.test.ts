// Rate limits without stalls (issue 22 point 3): a 429 delays the request that got it, not the model;
// a server that refuses most requests brings the model's concurrency down. Real HTTP server on 127.0.0.1.
import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { ConcurrencyLimit } from '../../src/core/runner/modelLane';
import { runDataset } from '../../src/core/runner/runner';
import { ResultsStore } from '../../src/core/store/results';
import { FakeOpenAIServer } from '../support/openaiServer';

async function dataset(n: number): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-ratelimit-'));
  const file = path.join(dir, 'data.jsonl');
  await fsp.writeFile(file, Array.from({ length: n }, (_, i) => JSON.stringify({ id: `r${i}`, input: `question ${i}`, rationale: `because ${i}` })).join('\n') + '\n');
  return file;
}

async function run(file: string, server: FakeOpenAIServer, concurrency: number) {
  const data = await Dataset.open(file);
  const results = await ResultsStore.open(file);
  try {
    const summary = await runDataset({
      dataset: data, results, apiKeyFor: async () => undefined, retry: { retries: 6, baseDelayMs: 20, maxDelayMs: 200 },
      models: [{ name: 'm', baseUrl: server.url, model: 'm', concurrency, timeoutMs: 5000 }],
    });
    return { summary, results };
  } finally {
    await data.close();
  }
}

describe('rate limits without stalls (real HTTP server on 127.0.0.1)', function () {
  this.timeout(60_000);
  let server: FakeOpenAIServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('a 429 with Retry-After: 1 delays only the request that got it; the model\'s other rows keep flowing meanwhile', async () => {
    server = await FakeOpenAIServer.start({ latencyMs: 20, faultFor: (req) => (req.prompt === 'question 0' && req.attempt === 0 ? { kind: '429', retryAfterSec: 1 } : undefined) });
    const { summary } = await run(await dataset(120), server, 4);
    assert.equal(summary.succeeded, 120);
    const [refused, retried] = server.requests.filter((r) => r.prompt === 'question 0');
    assert.ok(retried.receivedAt - refused.receivedAt >= 950, `Retry-After honoured for that request (${retried.receivedAt - refused.receivedAt} ms)`);
    const meanwhile = server.requests.filter((r) => r.receivedAt > refused.receivedAt + 100 && r.receivedAt < refused.receivedAt + 900).length;
    assert.ok(meanwhile >= 5, `${meanwhile} other requests were sent while that one waited (the model was not paused)`);
  });

  it('a server that serves 2 requests at a time: the model\'s concurrency comes down to it, so few requests are refused and every row succeeds', async () => {
    server = await FakeOpenAIServer.start({ latencyMs: 40, maxConcurrent: 2, retryAfterSec: 0 });
    const { summary } = await run(await dataset(80), server, 12);
    assert.equal(summary.succeeded, 80, JSON.stringify(summary.failures.slice(0, 3)));
    const refused = server.stats.faults['429'] ?? 0;
    assert.ok(refused < 80, `${refused} requests refused for 80 rows`);
  });

  it('ConcurrencyLimit: windows of 429s shrink it (never below 1), clean windows grow it back to the configured concurrency', async () => {
    const limit = new ConcurrencyLimit(16);
    const signal = new AbortController().signal;
    const window = async (outcome: 'ok' | 'rate-limited') => {
      const n = limit.value;
      for (let i = 0; i < n; i++) await limit.acquire(signal);
      for (let i = 0; i < n; i++) limit.release(outcome);
    };
    await window('rate-limited');
    assert.equal(limit.value, 8, 'a window all refused halves it');
    for (let i = 0; i < 6; i++) await window('rate-limited');
    assert.equal(limit.value, 1);
    for (let i = 0; i < 20; i++) await window('ok');
    assert.equal(limit.value, 16);
    // One refusal in a window of 16 costs 1/32 of the limit, not half.
    for (let i = 0; i < 15; i++) await limit.acquire(signal);
    await limit.acquire(signal);
    limit.release('rate-limited');
    for (let i = 0; i < 15; i++) limit.release('ok');
    assert.equal(limit.value, 15);
  });
});
