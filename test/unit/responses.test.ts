import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelConfig } from '../../src/core/config/models';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { runDataset, type RunOptions } from '../../src/core/runner/runner';
import { ResultsStore } from '../../src/core/store/results';
import { readSidecar } from '../../src/core/store/sidecar';
import { recordingScorer } from '../support/recordingScorer';
import { FakeOpenAIServer, type AnswerShape, type Fault } from '../support/openaiServer';

const FAST_RETRY = { retries: 2, baseDelayMs: 10, maxDelayMs: 50 };

async function writeDataset(n: number): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-dialects-'));
  const file = path.join(dir, 'data.jsonl');
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ id: `r${i}`, input: `question ${i}`, rationale: `because ${i}` }));
  await fsp.writeFile(file, lines.join('\n') + '\n');
  return file;
}

function model(server: FakeOpenAIServer, extra: Partial<ModelConfig> = {}): ModelConfig {
  return { name: 'm1', baseUrl: server.url, model: 'm1', concurrency: 1, timeoutMs: 5000, ...extra };
}


async function run(file: string, models: ModelConfig[], extra: Partial<RunOptions> = {}) {
  const dataset = await Dataset.open(file);
  const results = await ResultsStore.open(file);
  const summary = await runDataset({ dataset, models, results, retry: FAST_RETRY, apiKeyFor: async () => undefined, ...extra });
  await dataset.close();
  return { summary, results };
}

describe('model answers in every dialect (real HTTP server on 127.0.0.1)', function () {
  this.timeout(30_000);
  let server: FakeOpenAIServer;
  afterEach(async () => server?.close());

  async function oneRow(fault: Fault | Fault['kind'] | undefined, extra: Partial<ModelConfig> = {}, shape?: (content: string) => AnswerShape | undefined) {
    server = await FakeOpenAIServer.start({ faultFor: () => fault, answerShape: shape ? (_r, c) => shape(c) : undefined });
    const file = await writeDataset(1);
    const scorer = recordingScorer();
    const { summary, results } = await run(file, [model(server, extra)], { scorer });
    return { summary, result: results.latest('r0', 'm1')!, scorer, file };
  }

  it('keeps the reason of error bodies in every dialect (vLLM, Ollama, FastAPI, plain text)', async () => {
    const cases: [Fault['kind'], RegExp, number][] = [
      ['vllm-400', /HTTP 400: This model's maximum context length is 4096 tokens/, 1],
      ['ollama-500', /HTTP 500: llama runner process has terminated/, 3],
      ['fastapi-422', /HTTP 422: field required/, 1],
      ['text-502', /HTTP 502: upstream connect error/, 3],
    ];
    for (const [kind, reason, attempts] of cases) {
      const { result } = await oneRow(kind);
      assert.match(result.error?.message ?? '', reason, kind);
      assert.equal(result.output, undefined);
      assert.equal(server.stats.requests, attempts, `${kind}: ${attempts === 1 ? 'not retried' : 'retried as transient'}`);
      await server.close();
    }
  });

  it('treats a 200 whose body is an error as an error: retried when transient, kept with its reason when not', async () => {
    server = await FakeOpenAIServer.start({ faultFor: (r) => (r.attempt === 0 ? { kind: 'error-200', code: 502 } : undefined) });
    const file = await writeDataset(1);
    const { summary, results } = await run(file, [model(server)]);
    assert.equal(results.latest('r0', 'm1')?.output, 'Rationale: question 0', 'the retry answered');
    assert.equal(summary.retries, 1);
    await server.close();

    const { result } = await oneRow({ kind: 'error-200', code: 400 });
    assert.equal(result.output, undefined);
    assert.match(result.error!.message, /answered 200 with an error \(code 400\): Provider returned error \(upstream model overloaded\)/);
    assert.equal(server.stats.requests, 1);
  });

  it('never stores an answer that ended with finish_reason "error", and calls it again on the next run', async () => {
    const { result, file } = await oneRow('finish-error');
    assert.equal(result.output, undefined, 'the partial text is not an output');
    assert.equal(result.error?.kind, 'finish-error');
    assert.match(result.error!.message, /finish_reason "error": upstream stream broke/);
    const before = server.stats.requests;
    server.options = {};
    const again = await run(file, [model(server)]);
    assert.equal(server.stats.requests, before + 1, 'called again');
    assert.equal(again.results.latest('r0', 'm1')?.output, 'Rationale: question 0');
  });

  it('says "cut off: raise maxTokens" for finish_reason "length" with no text, and names the content filter', async () => {
    const cut = await oneRow('length-empty');
    assert.equal(cut.result.error?.kind, 'cut-off');
    assert.match(cut.result.error!.message, /cut off.*raise maxTokens/);
    await server.close();
    const filtered = await oneRow('content-filter');
    assert.equal(filtered.result.error?.kind, 'content-filter');
    assert.equal(filtered.result.output, undefined, 'a filtered partial answer is not scored');
    assert.match(filtered.result.error!.message, /content filter/);
  });

  it('joins content given as a list of text parts (Mistral) and reads JSON sent as text/plain', async () => {
    const parts = await oneRow(undefined, {}, () => ({ message: { role: 'assistant', content: [{ type: 'text', text: 'First part. ' }, { type: 'reference', reference_ids: [1] }, { type: 'text', text: 'Second part.' }] } }));
    assert.equal(parts.result.output, 'First part. Second part.');
    assert.deepEqual(parts.scorer.outputs, ['First part. Second part.']);
    await server.close();
    const text = await oneRow(undefined, {}, () => ({ asText: true }));
    assert.equal(text.result.output, 'Rationale: question 0');
  });

  it('fails clearly when content is null and only reasoning_content came back', async () => {
    const { result, scorer } = await oneRow(undefined, {}, () => ({ message: { role: 'assistant', content: null, reasoning_content: 'Let me think about it...' }, finishReason: 'length' }));
    assert.equal(result.output, undefined);
    assert.equal(result.error?.kind, 'reasoning-only');
    assert.match(result.error!.message, /only its reasoning.*raise maxTokens/);
    assert.deepEqual(scorer.outputs, []);
  });

  it('strips <think> blocks before scoring, keeps the raw text in the sidecar, and keeps them when the model says so', async () => {
    const think = () => ({ message: { role: 'assistant', content: '<think>\nThe user wants a rationale.\n</think>\n\nBecause the sky is blue.' } });
    const stripped = await oneRow(undefined, {}, think);
    assert.equal(stripped.result.output, 'Because the sky is blue.');
    assert.deepEqual(stripped.scorer.outputs, ['Because the sky is blue.']);
    const { records } = await readSidecar(path.join(path.dirname(stripped.file), 'data.pisar-results.jsonl'));
    assert.match(String((records.at(-1) as { rawOutput?: string }).rawOutput), /^<think>\nThe user wants a rationale/);
    await server.close();

    const kept = await oneRow(undefined, { keepThinking: true }, think);
    assert.match(kept.result.output!, /^<think>/);
    assert.deepEqual(kept.scorer.outputs, [kept.result.output]);
    await server.close();

    const onlyThinking = await oneRow(undefined, {}, () => ({ message: { role: 'assistant', content: '<think>still thinking' }, finishReason: 'length' }));
    assert.equal(onlyThinking.result.error?.kind, 'cut-off');
  });

  describe('fails fast once per model, with the fix, where no retry can help', () => {
    async function fiveRows(fault: Fault['kind'], extra: Partial<ModelConfig> = {}) {
      server = await FakeOpenAIServer.start({ faultFor: () => fault });
      const file = await writeDataset(5);
      return run(file, [model(server, extra)]);
    }

    it('429 insufficient_quota: one request, no retries, "add credit"', async () => {
      const { summary } = await fiveRows('quota-429');
      assert.equal(server.stats.requests, 1);
      assert.equal(summary.retries, 0);
      assert.equal(summary.modelFailures.length, 1);
      assert.match(summary.modelFailures[0].message, /exceeded your current quota/);
      assert.match(summary.modelFailures[0].fix, /no credit left/);
      assert.equal(summary.failed, 5);
    });

    it('an HTML page where the API should be: "check baseUrl: add /v1?"', async () => {
      for (const kind of ['html-404', 'html-200'] as const) {
        server = await FakeOpenAIServer.start({ faultFor: () => kind });
        const file = await writeDataset(5);
        const base = server.url.replace(/\/v1$/, '');
        const { summary } = await run(file, [model(server, { baseUrl: base })]);
        assert.equal(server.stats.requests, 1, kind);
        assert.match(summary.modelFailures[0].message, /HTML page \("Open WebUI"\)/, kind);
        assert.match(summary.modelFailures[0].fix, /add \/v1\?/, kind);
        await server.close();
      }
    });

    it('400 unsupported parameter: offers maxTokensParam, which then sends max_completion_tokens', async () => {
      const { summary } = await fiveRows('unsupported-param', { maxTokens: 100 });
      assert.equal(server.stats.requests, 1);
      assert.match(summary.modelFailures[0].fix, /"maxTokensParam": "max_completion_tokens"/);
      await server.close();

      server = await FakeOpenAIServer.start({ faultFor: (r) => ('max_tokens' in r.body ? 'unsupported-param' : undefined) });
      const file = await writeDataset(2);
      const fixed = await run(file, [model(server, { maxTokens: 100, maxTokensParam: 'max_completion_tokens' })]);
      assert.equal(fixed.summary.succeeded, 2);
      assert.equal(server.requests[0].body.max_completion_tokens, 100);
    });
  });
});

describe('empty outputs get no similarity (real server, real files, real embedding model)', function () {
  this.timeout(60_000);
  let server: FakeOpenAIServer;
  afterEach(async () => server?.close());

  it('stores an empty or blank answer unscored as "empty", never sends it to the scorer, and does not call it again', async () => {
    server = await FakeOpenAIServer.start({ respond: (r) => (r.prompt === 'question 0' ? '' : r.prompt === 'question 1' ? ' \n\t ' : `Rationale: ${r.prompt}`) });
    const file = await writeDataset(3);
    const scorer = recordingScorer();
    const { results } = await run(file, [model(server)], { scorer });
    for (const id of ['r0', 'r1']) {
      const r = results.latest(id, 'm1')!;
      assert.equal(r.error, undefined, id);
      assert.equal(r.score, undefined, `${id}: no similarity for blank text`);
      assert.match(r.scoreNote ?? '', /empty/);
    }
    assert.deepEqual(scorer.outputs, ['Rationale: question 2'], 'only the real answer was scored');
    const calls = server.stats.requests;
    await run(file, [model(server)], { scorer });
    assert.equal(server.stats.requests, calls, 'an empty answer is settled, not called again');
  });
});
