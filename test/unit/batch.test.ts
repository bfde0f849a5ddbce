// Batch generation (issue 22 point 1): a loopback server that implements OpenAI's Files and Batches
// API and Anthropic's Message Batches; the real CLI, killed with SIGKILL after submitting.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { customIdOf } from '../../src/core/batch/batchRun';
import { BatchLedger } from '../../src/core/store/batchLedger';
import { ResultsStore } from '../../src/core/store/results';
import { BatchServer } from '../support/batchServer';
import { FakeOpenAIServer } from '../support/openaiServer';
import { runCliCaptured } from '../support/cli';
import { makeTempDir, repoRoot } from '../support/files';

const ROWS = 661;
const tiny = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

describe('batch engines (real loopback Files/Batches and Message Batches servers, real CLI processes)', function () {
  this.timeout(180_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let server: BatchServer;
  let data: string;
  beforeEach(async () => {
    tmp = makeTempDir('pisar-batch-');
    server = await BatchServer.start({ requireKey: 'sk-batch-key' });
    data = path.join(tmp.dir, 'data.jsonl');
    const rows = Array.from({ length: ROWS }, (_, i) => JSON.stringify({ id: `row-${i}`, input: i === 7 ? 'question 7 badline' : `question ${i}`, rationale: `Rationale: question ${i}` }));
    await fsp.writeFile(data, rows.join('\n') + '\n');
  });
  afterEach(async () => {
    await server.close();
    tmp.cleanup();
  });

  const config = async (engine: 'openai' | 'anthropic') => {
    const file = path.join(tmp.dir, `${engine}.json`);
    await fsp.writeFile(file, JSON.stringify({ models: [
      { name: 'alpha', baseUrl: server.url, model: 'alpha-1', apiKeyEnv: 'BATCH_KEY', maxTokens: 200 },
      { name: 'beta', baseUrl: server.url, model: 'beta-1', apiKeyEnv: 'BATCH_KEY', maxTokens: 200 },
    ] }));
    return file;
  };
  const env = { BATCH_KEY: 'sk-batch-key' };
  const cli = (args: string[]) => runCliCaptured(['batch', ...args, '--embedding-model', tiny, '--cache-dir', path.join(tmp.dir, 'cache')], { env });

  it('OpenAI: the CLI killed (SIGKILL) after submit; collect resumes with 0 duplicate submissions and 1,322 results, scored; a per-line error is that row\'s failure', async () => {
    const conf = await config('openai');
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'pisar-review.js'), 'batch', 'submit', data, '--config', conf, '--wait', '--poll-seconds', '1'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Wait for the positive signal: both batches recorded in the sidecar, then kill the process.
    const batchesFile = path.join(tmp.dir, 'data.pisar-batches.jsonl');
    for (let i = 0; i < 600; i++) {
      if (existsSync(batchesFile) && readFileSync(batchesFile, 'utf8').split('\n').filter((l) => l.includes('"submitted"')).length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    await exited;
    assert.equal(server.creates, 2, stderr);
    assert.equal(server.uploads, 2, 'one model per file: two input files');

    // Before the server finishes: status says running (exit 4), and a second submit sends nothing.
    assert.equal((await cli(['status', data, '--config', conf])).code, 4);
    const again = await cli(['submit', data, '--config', conf]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(server.creates, 2, 'nothing submitted twice');

    server.finishAll();
    const collected = await cli(['collect', data, '--config', conf, '--json']);
    assert.equal(collected.code, 1, collected.stderr); // the badline row failed in both batches
    const doc = JSON.parse(collected.stdout) as { answered: number; failed: number; scored: number; running: number };
    assert.equal(doc.answered + doc.failed, 2 * ROWS);
    assert.equal(doc.failed, 2);
    assert.equal(doc.scored, doc.answered);
    const store = await ResultsStore.open(data);
    let results = 0;
    for (let i = 0; i < ROWS; i++) {
      for (const model of ['alpha', 'beta']) {
        const r = store.latest(`row-${i}`, model);
        assert.ok(r, `row-${i}/${model} has a result`);
        results++;
        if (i === 7) {
          assert.equal(r.error?.kind, 'request');
          assert.match(r.error!.message, /badline/);
        } else {
          assert.equal(r.output, `Rationale: question ${i}`);
          assert.equal(r.source, 'called');
          assert.ok(typeof r.score === 'number' && r.score > 0.99, `scored like a live call (${r.score})`);
        }
      }
    }
    assert.equal(results, 2 * ROWS);
    // Collected batches are not collected again.
    const second = await cli(['collect', data, '--config', conf, '--json']);
    assert.equal(JSON.parse(second.stdout).answered, 0);
    assert.equal(server.creates, 2);
  });

  for (const engine of ['openai', 'anthropic'] as const) {
    it(`${engine}: a batch expired 40% done: 40% ingested, the rest submitted again and collected`, async () => {
      const conf = await config(engine);
      const submit = await cli(['submit', data, '--config', conf, '--engine', engine, '--models', 'alpha']);
      assert.equal(submit.code, 0, submit.stderr);
      const [batchId] = (await BatchLedger.open(data)).submitted.map((b) => b.batchId);
      server.expire(batchId, 0.4);
      const first = JSON.parse((await cli(['collect', data, '--config', conf, '--engine', engine, '--json'])).stdout) as { answered: number; failed: number; requeued: number };
      const done = Math.round(ROWS * 0.4);
      assert.equal(first.answered + first.failed, done);
      assert.equal(first.requeued, ROWS - done);
      const store = await ResultsStore.open(data);
      const stored = Array.from({ length: ROWS }, (_, i) => store.latest(`row-${i}`, 'alpha')).filter(Boolean).length;
      assert.equal(stored, done);

      const resubmit = await cli(['submit', data, '--config', conf, '--engine', engine, '--models', 'alpha']);
      assert.equal(resubmit.code, 0, resubmit.stderr);
      const ledger = await BatchLedger.open(data);
      assert.equal(ledger.submitted.length, 2);
      // The requests not run, and the row that failed (as a live run retries a failed row); no answered one.
      assert.equal(ledger.submitted[1].requests.length, ROWS - done + 1, 'only the requests not run (and the failed row) are sent again');
      assert.ok(ledger.submitted[1].requests.every(([, rowId]) => Number(rowId.slice(4)) >= done || rowId === 'row-7'));
      server.finishAll();
      await cli(['collect', data, '--config', conf, '--engine', engine]);
      const after = await ResultsStore.open(data);
      assert.equal(Array.from({ length: ROWS }, (_, i) => after.latest(`row-${i}`, 'alpha')).filter((r) => r?.output !== undefined).length, ROWS - 1);
    });
  }

  for (const engine of ['openai', 'anthropic'] as const) {
    it(`${engine}: batch cancel cancels on the provider, keeps the lines already run (stored and scored), and leaves the rest for the next submit`, async () => {
      const conf = await config(engine);
      assert.equal((await cli(['submit', data, '--config', conf, '--engine', engine, '--models', 'alpha'])).code, 0);
      const [batchId] = (await BatchLedger.open(data)).submitted.map((b) => b.batchId);
      server.advance(batchId, 0.5);
      const status = JSON.parse((await cli(['status', data, '--config', conf, '--engine', engine, '--json'])).stdout) as { batches: { done: number; total: number }[] };
      const run = Math.round(ROWS * 0.5);
      assert.deepEqual(status.batches.map((b) => [b.done, b.total]), [[run, ROWS]], 'status reads the provider\'s progress');
      const cancelled = await cli(['cancel', data, '--config', conf, '--engine', engine, '--json']);
      assert.equal(cancelled.code, 1, cancelled.stderr); // row-7 (badline) ran and failed
      assert.match(cancelled.stderr, new RegExp(`batch ${batchId} cancelled on the provider`));
      assert.equal(server.cancels, 1);
      const doc = JSON.parse(cancelled.stdout) as { answered: number; failed: number; requeued: number; scored: number; running: number };
      assert.deepEqual({ answered: doc.answered, failed: doc.failed, requeued: doc.requeued, scored: doc.scored, running: doc.running }, { answered: run - 1, failed: 1, requeued: ROWS - run, scored: run - 1, running: 0 });
      const store = await ResultsStore.open(data);
      assert.equal(Array.from({ length: ROWS }, (_, i) => store.latest(`row-${i}`, 'alpha')).filter((r) => typeof r?.score === 'number').length, run - 1);
      assert.equal((await cli(['cancel', data, '--config', conf, '--engine', engine])).stderr.includes('no batch is pending'), true);
      assert.equal(server.cancels, 1, 'nothing pending: nothing cancelled again');
      assert.equal((await cli(['submit', data, '--config', conf, '--engine', engine, '--models', 'alpha'])).code, 0);
      assert.equal((await BatchLedger.open(data)).submitted[1].requests.length, ROWS - run + 1, 'the rest (and the failed row) are sent again');
    });
  }

  it('score leaves the pairs of a pending batch to it: nothing called (it would pay twice), the other model called; the batch collected afterwards', async () => {
    const conf = await config('openai');
    assert.equal((await cli(['submit', data, '--config', conf, '--models', 'alpha'])).code, 0);
    const chat = await FakeOpenAIServer.start({});
    try {
      // beta answers live from a chat server; alpha's requests are in the pending batch.
      const live = path.join(tmp.dir, 'live.json');
      await fsp.writeFile(live, JSON.stringify({ models: [
        { name: 'alpha', baseUrl: server.url, model: 'alpha-1', apiKeyEnv: 'BATCH_KEY', maxTokens: 200 },
        { name: 'beta', baseUrl: chat.url, model: 'beta-1', apiKeyEnv: 'BATCH_KEY', maxTokens: 200, concurrency: 16 },
      ] }));
      const scored = await runCliCaptured(['score', data, '--config', live, '--embedding-model', tiny, '--cache-dir', path.join(tmp.dir, 'cache')], { env });
      assert.equal(scored.code, 0, scored.stderr);
      assert.match(scored.stderr, new RegExp(`${ROWS} row × model pair\\(s\\) are in a pending provider batch and were not called`));
      assert.equal(chat.requests.filter((r) => r.model === 'alpha-1').length, 0);
      assert.equal(chat.requests.filter((r) => r.model === 'beta-1').length, ROWS, 'the other model is called as usual');
      const store = await ResultsStore.open(data);
      assert.equal(Array.from({ length: ROWS }, (_, i) => store.latest(`row-${i}`, 'alpha')).filter(Boolean).length, 0, 'no alpha result (not even a failure) before the batch ends');
    } finally {
      await chat.close();
    }
    server.finishAll();
    const collected = JSON.parse((await cli(['collect', data, '--config', conf, '--json'])).stdout) as { answered: number; failed: number };
    assert.equal(collected.answered + collected.failed, ROWS);
  });

  it('a key from the environment goes only to its origins: OPENAI_API_KEY is not sent to another host\'s batch API (nothing uploaded), with the fix', async () => {
    const port = new URL(server.url).port;
    const conf = path.join(tmp.dir, 'elsewhere.json');
    // 0.0.0.0 reaches the loopback server but is another origin than this machine's 127.0.0.1.
    await fsp.writeFile(conf, JSON.stringify({ models: [{ name: 'alpha', baseUrl: `http://0.0.0.0:${port}/v1`, model: 'alpha-1', apiKeyEnv: 'OPENAI_API_KEY' }] }));
    const out = await runCliCaptured(['batch', 'submit', data, '--config', conf], { env: { OPENAI_API_KEY: 'sk-real-openai-key-0000' } });
    assert.equal(out.code, 1, out.stderr);
    assert.match(out.stderr, new RegExp(`OPENAI_API_KEY belongs to https://api.openai.com, not http://0.0.0.0:${port}`));
    assert.match(out.stderr, /apiKeyOrigins/);
    assert.equal(server.uploads + server.creates, 0, 'nothing sent');
  });

  it('vLLM run-batch: export writes OpenAI batch JSONL per model; a recorded output file is imported and scored', async () => {
    const conf = await config('openai');
    const out = path.join(tmp.dir, 'export');
    const exported = await cli(['export', data, '--config', conf, '--models', 'alpha', '--out', out, '--json']);
    assert.equal(exported.code, 0, exported.stderr);
    const [file] = (JSON.parse(exported.stdout) as { files: { file: string; requests: number }[] }).files;
    assert.equal(file.requests, ROWS);
    const lines = readFileSync(file.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; method: string; url: string; body: { model: string; messages: { content: string }[] } });
    assert.ok(lines.every((l) => l.method === 'POST' && l.url === '/v1/chat/completions' && l.body.model === 'alpha-1' && /^[A-Za-z0-9_-]{1,64}$/.test(l.custom_id)));
    // A vLLM output file as run-batch writes it (recorded shape: id, custom_id, response{status_code, request_id, body}, error).
    const recorded = lines.slice(0, 100).map((l, i) => JSON.stringify({
      id: `vllm-${i}`, custom_id: l.custom_id,
      response: { status_code: 200, request_id: `vllm-batch-${i}`, body: { id: `cmpl-${i}`, object: 'chat.completion', created: 1, model: 'alpha-1', choices: [{ index: 0, message: { role: 'assistant', content: `<think>hm</think>Rationale: ${l.body.messages.at(-1)!.content}`, reasoning_content: null, tool_calls: [] }, logprobs: null, finish_reason: 'stop', stop_reason: null }], usage: { prompt_tokens: 12, total_tokens: 20, completion_tokens: 8 }, prompt_logprobs: null } },
      error: null,
    }));
    const output = path.join(tmp.dir, 'vllm-output.jsonl');
    await fsp.writeFile(output, recorded.join('\n') + '\n');
    const imported = await cli(['import', data, '--config', conf, '--output', output, '--json']);
    assert.equal(imported.code, 0, imported.stderr);
    assert.deepEqual({ ...JSON.parse(imported.stdout), file: undefined, schema: undefined }, { file: undefined, schema: undefined, answered: 100, failed: 0, unknown: 0, scored: 100 });
    const r = (await ResultsStore.open(data)).latest('row-3', 'alpha')!;
    assert.equal(r.output, 'Rationale: question 3', 'reasoning stripped as for a live call');
    assert.ok(typeof r.score === 'number');
  });

  it('custom_id: derived from row id, model and request, within [A-Za-z0-9_-]{1,64} for any id', () => {
    const long = 'x'.repeat(500) + '/é space';
    const id = customIdOf(long, 'model/with:chars', { a: 1 });
    assert.match(id, /^[A-Za-z0-9_-]{1,64}$/);
    assert.notEqual(customIdOf('a b', 'm', {}), customIdOf('a_b', 'm', {}), 'ids that slug alike still differ');
    assert.notEqual(customIdOf('a', 'm', { x: 1 }), customIdOf('a', 'm', { x: 2 }));
  });
});
