import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import type * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelConfig } from '../../src/core/config/models';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { checkModel } from '../../src/core/runner/checkModels';
import { runDataset, type RunEvent, type RunOptions } from '../../src/core/runner/runner';
import { ResultsStore } from '../../src/core/store/results';
import { runCliCaptured } from '../support/cli';
import { repoRoot } from '../support/files';
import { chatCompletion, RawServer, type RawRequest } from '../support/rawServer';
import { recordingScorer } from '../support/recordingScorer';

// Each provider's way of saying "wait", "wrong key", "wrong path" or "too long", spoken by a loopback
// server in that provider's dialect (bodies as the providers document and send them).

const FAST_RETRY = { retries: 4, baseDelayMs: 5, maxDelayMs: 20 };
const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
  res.end(text);
}

const chatRequests = (server: RawServer) => server.requests.filter((r) => r.method === 'POST');

async function writeRows(n: number): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-dialect-'));
  const file = path.join(dir, 'data.jsonl');
  await fsp.writeFile(file, Array.from({ length: n }, (_, i) => JSON.stringify({ id: `r${i}`, input: `question ${i}`, rationale: `because ${i}` })).join('\n') + '\n');
  return file;
}

async function run(file: string, model: ModelConfig, extra: Partial<RunOptions> = {}) {
  const dataset = await Dataset.open(file);
  const results = await ResultsStore.open(file);
  const events: RunEvent[] = [];
  const scorer = recordingScorer();
  const summary = await runDataset({ dataset, models: [model], results, scorer, retry: FAST_RETRY, apiKeyFor: async () => 'test-key-123456', onEvent: (e) => events.push(e), ...extra });
  await dataset.close();
  return { summary, results, events, scorer };
}

/** Gemini's per-minute limit, as its OpenAI-compatible endpoint sends it (a list of one error). */
const geminiPerMinute = [{
  error: {
    code: 429,
    message: 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: gemini-2.0-flash\nPlease retry in 1.2s.',
    status: 'RESOURCE_EXHAUSTED',
    details: [
      { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier' }] },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' },
    ],
  },
}];

const geminiBadKey = [{
  error: {
    code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT',
    details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }],
  },
}];

describe('endpoints in their own dialects (loopback servers)', function () {
  this.timeout(30_000);
  let server: RawServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const model = (extra: Partial<ModelConfig> = {}): ModelConfig => ({ name: 'm', baseUrl: server!.url, model: 'gemini-2.0-flash', concurrency: 1, ...extra });

  it('Gemini per-minute 429 (RESOURCE_EXHAUSTED, "exceeded your current quota", RetryInfo) is a rate limit: waited as asked, then answered', async () => {
    let calls = 0;
    server = await RawServer.start((req, res) => (req.method === 'POST' && calls++ === 0 ? send(res, 429, geminiPerMinute) : send(res, 200, chatCompletion('answer'))));
    const started = Date.now();
    const { results, summary } = await run(await writeRows(2), model());
    assert.equal(summary.modelFailures.length, 0, 'not "no credit left"');
    assert.equal(results.latest('r0', 'm')?.output, 'answer');
    assert.equal(results.latest('r1', 'm')?.output, 'answer');
    assert.ok(Date.now() - started >= 950, 'the 1 s the server asked for was waited');
    // check-models: a rate limit is no verdict on the key.
    calls = 0;
    const check = await checkModel(model(), 'test-key-123456');
    assert.notEqual(check.keyAccepted, false, 'check-models must not say "key accepted: NO" for a rate limit');
    assert.equal(check.error?.kind, 'rate-limit');
  });

  it('OpenAI insufficient_quota and a Gemini "limit: 0" quota still stop the model as no credit', async () => {
    const bodies = [
      { status: 429, body: { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota' } } },
      { status: 429, body: [{ error: { code: 429, message: 'You exceeded your current quota. Quota exceeded for metric: generate_content_free_tier_requests, limit: 0, model: gemini-2.5-pro', status: 'RESOURCE_EXHAUSTED' } }] },
    ];
    for (const { status, body } of bodies) {
      server = await RawServer.start((req, res) => send(res, status, body));
      const { summary } = await run(await writeRows(3), model());
      assert.equal(chatRequests(server).length, 1);
      assert.match(summary.modelFailures[0]?.fix ?? '', /no credit/);
      await server.close();
      server = undefined;
    }
  });

  it('a bad Gemini key (400 API_KEY_INVALID) stops the model at the first row', async () => {
    server = await RawServer.start((req, res) => send(res, 400, geminiBadKey));
    const { summary, results } = await run(await writeRows(4), model());
    assert.equal(chatRequests(server).length, 1, 'one request, not one per row');
    assert.equal(summary.modelFailures.length, 1);
    assert.match(summary.modelFailures[0].message, /API key not valid/);
    assert.match(summary.modelFailures[0].fix, /API key/);
    assert.equal(results.latest('r3', 'm')?.error?.kind, 'model-failed');
  });

  it("Azure's documented URL with ?api-version= is sent path first, query after; a URL without the deployment gets Azure's shape as the fix", async () => {
    server = await RawServer.start((req, res) => (req.url.startsWith('/openai/deployments/gpt4/chat/completions?') ? send(res, 200, chatCompletion('azure answer', 'gpt-4o-2024-08-06')) : send(res, 404, { error: { code: '404', message: 'Resource not found' } })));
    const { results } = await run(await writeRows(1), model({ baseUrl: `${server.origin}/openai/deployments/gpt4?api-version=2024-06-01`, model: 'gpt4' }));
    assert.equal(chatRequests(server)[0].url, '/openai/deployments/gpt4/chat/completions?api-version=2024-06-01');
    assert.equal(results.latest('r0', 'm')?.output, 'azure answer');
    assert.equal(results.latest('r0', 'm')?.answeredBy, 'gpt-4o-2024-08-06', 'the model that answered is recorded');

    const userUrl = `${server.origin}/openai?api-version=2024-06-01`;
    const { summary } = await run(await writeRows(2), model({ baseUrl: userUrl, model: 'gpt4' }));
    const fix = summary.modelFailures[0]?.fix ?? '';
    assert.match(fix, /\/openai\/deployments\/<your deployment>\?api-version=2024-06-01/);
    assert.ok(!fix.includes(userUrl), 'the fix is not the user\'s own URL again');
  });

  it('LM Studio without /v1 (200 {"error":"Unexpected endpoint or method."}) stops the model with "add /v1"', async () => {
    server = await RawServer.start((req, res) => send(res, 200, { error: `Unexpected endpoint or method. (${req.method} ${req.url})` }));
    const { summary } = await run(await writeRows(3), model({ baseUrl: server.origin }));
    assert.equal(chatRequests(server).length, 1);
    assert.match(summary.modelFailures[0]?.fix ?? '', /add \/v1/);
    assert.match(summary.modelFailures[0]?.message ?? '', /Unexpected endpoint/);
  });

  it('a llama.cpp context-size error (500, exceeds the available context size) is not retried; the fix names the context', async () => {
    server = await RawServer.start((req, res) => send(res, 500, { error: { code: 500, message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error', n_prompt_tokens: 5120, n_ctx: 4096 } }));
    const { results } = await run(await writeRows(2), model());
    assert.equal(chatRequests(server).length, 2, 'one request per row, no retries');
    const r = results.latest('r0', 'm')!;
    assert.equal(r.error?.kind, 'context-length');
    assert.match(r.error?.message ?? '', /exceeds the available context size/);
  });

  it('streaming-only servers: an event-stream answer to a plain request is read, and "stream": true is sent when configured', async () => {
    const sse = (content: string[]) => [
      ...content.map((c, i) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'qwen-served', choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: c } : { content: c }, finish_reason: null }] })}\n\n`),
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'qwen-served', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
      'data: [DONE]\n\n',
    ].join('');
    server = await RawServer.start((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(sse(['The ', 'streamed ', 'answer.']));
    });
    const { results } = await run(await writeRows(1), model());
    assert.equal(results.latest('r0', 'm')?.output, 'The streamed answer.');
    assert.equal(results.latest('r0', 'm')?.answeredBy, 'qwen-served');
    assert.equal(JSON.parse(chatRequests(server)[0].body).stream, undefined);
    await server.close();

    server = await RawServer.start((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(sse(['Asked ', 'to stream.']));
    });
    const streamed = await run(await writeRows(1), model({ stream: true }));
    assert.equal(JSON.parse(chatRequests(server)[0].body).stream, true);
    assert.equal(streamed.results.latest('r0', 'm')?.output, 'Asked to stream.');
  });

  it('an empty 200 and a 200 saying "Rate limit exceeded" (JSON or text) are retried; choices: [] beside an error keeps its message', async () => {
    const first: ((res: http.ServerResponse) => void)[] = [
      (res) => send(res, 200, ''),
      (res) => send(res, 200, { error: 'Rate limit exceeded' }),
      (res) => send(res, 200, 'Rate limit exceeded'),
    ];
    for (const answerFirst of first) {
      let calls = 0;
      server = await RawServer.start((req, res) => (calls++ === 0 ? answerFirst(res) : send(res, 200, chatCompletion('second time'))));
      const { results, summary } = await run(await writeRows(1), model());
      assert.equal(results.latest('r0', 'm')?.output, 'second time');
      assert.equal(summary.retries, 1);
      await server.close();
      server = undefined;
    }
    server = await RawServer.start((req, res) => send(res, 200, { id: 'x', object: 'chat.completion', choices: [], error: { message: 'Upstream provider refused: prompt flagged by moderation', code: 400 } }));
    const { results } = await run(await writeRows(1), model());
    assert.match(results.latest('r0', 'm')?.error?.message ?? '', /prompt flagged by moderation/);
  });

  it('the model that answered is recorded beside the one asked (OpenRouter fallback)', async () => {
    server = await RawServer.start((req, res) => send(res, 200, chatCompletion('fallback answer', 'mistralai/mistral-7b-instruct')));
    const { results } = await run(await writeRows(1), model({ model: 'openai/gpt-4o' }));
    assert.equal(results.latest('r0', 'm')?.answeredBy, 'mistralai/mistral-7b-instruct');
  });
});

describe('Retry-After: said, and waited once (CLI, stderr not a terminal)', function () {
  this.timeout(60_000);
  let server: RawServer | undefined;
  afterEach(async () => server?.close());

  async function score(maxRetryWaitMs: number, retryAfterSec: number) {
    let calls = 0;
    server = await RawServer.start((req, res) => {
      if (req.method !== 'POST') return send(res, 404, { error: { message: 'no' } });
      return calls++ === 0 ? send(res, 429, { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } }, { 'retry-after': String(retryAfterSec) }) : send(res, 200, chatCompletion('ok then'));
    });
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-wait-'));
    const data = path.join(dir, 'data.jsonl');
    await fsp.writeFile(data, ['a', 'b'].map((id) => JSON.stringify({ id, input: `q ${id}`, rationale: 'r' })).join('\n') + '\n');
    const config = path.join(dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm', baseUrl: server.url, model: 'm', concurrency: 1, maxRetryWaitMs }] }));
    const started = Date.now();
    const out = await runCliCaptured(['score', data, '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(dir, 'cache'), '--json']);
    return { ...out, elapsedMs: Date.now() - started, requests: chatRequests(server) as RawRequest[] };
  }

  it('a Retry-After within maxRetryWaitMs is told on stderr and waited once, whole', async () => {
    const { code, stderr, elapsedMs, requests } = await score(10_000, 2);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /model "m": the server asked to wait 2 s/);
    assert.equal(stderr.match(/asked to wait/g)?.length, 1, 'said once');
    assert.ok(elapsedMs >= 1900, 'waited the 2 s asked');
    assert.equal(requests.length, 3, 'the first row twice (429, then the answer), the second once');
  });

  it('a Retry-After beyond maxRetryWaitMs (440 s) fails the pair with the reason at once, and the model\'s other rows are not called', async () => {
    const { code, stdout, elapsedMs, requests } = await score(1_000, 440);
    assert.equal(code, 1);
    const doc = JSON.parse(stdout) as { failures: { rowId: string; message: string }[] };
    assert.match(doc.failures[0].message, /asked to wait 440 s, more than "maxRetryWaitMs" allows \(1 s\)/);
    assert.match(doc.failures[1].message, /not called/);
    assert.equal(requests.length, 1);
    assert.ok(elapsedMs < 20_000);
  });
});
