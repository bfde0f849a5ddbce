// The LLM judge through the batch engines (issue 24.4: "batchable through the batch engines"): batch submit --judge
// sends the requests a live `judge` run sends, collect stores the answers as the live run's verdicts, and a live run
// leaves a pending batch's judgements to it. Real loopback Files/Batches and Message Batches servers, the real CLI.
import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { JudgeDocument } from '../../src/cli/commands/judge';
import { BatchLedger } from '../../src/core/store/batchLedger';
import { BatchServer } from '../support/batchServer';
import { makeTempDir } from '../support/files';
import { judgedDataset, judgedOutputOf, judgeServer, latestResults, RECORDED } from '../support/judgeFixture';
import type { FakeOpenAIServer } from '../support/openaiServer';

interface CollectDoc { answered: number; scored: number; failed: number; judged: number; verdicts: { good: number; bad: number }; judgeFailed: number; stale: number; running: number; batches: { purpose: string }[] }

describe('LLM judge through the batch engines (issue 24.4)', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let batch: BatchServer;
  let live: FakeOpenAIServer | undefined;
  beforeEach(async () => {
    tmp = makeTempDir('pisar-batch-judge-');
    // The batch server answers each judge request with the recorded verdict for the output it asks about.
    batch = await BatchServer.start({ respond: (prompt) => RECORDED[judgedOutputOf(prompt) ?? ''] ?? 'no recorded answer' });
  });
  afterEach(async () => {
    await batch.close();
    await live?.close();
    live = undefined;
    tmp.cleanup();
  });

  for (const engine of ['openai', 'anthropic'] as const) {
    it(`${engine}: submit --judge sends judge's own requests; a live judge leaves them to the batch; collect stores them as judge's verdicts (same provenance, unparsable = counted failure)`, async () => {
      const { data, config, cache, cli } = await judgedDataset(batch, tmp);
      const submit = await cli(['batch', 'submit', data, '--judge', '--config', config, '--engine', engine, '--json']);
      assert.equal(submit.code, 0, submit.stderr);
      const submitted = JSON.parse(submit.stdout) as { purpose: string; submitted: { model: string; requests: number }[] };
      assert.equal(submitted.purpose, 'judge');
      assert.deepEqual(submitted.submitted.map((b) => [b.model, b.requests]), [['judge', 6]]);
      const ledger = await BatchLedger.open(data);
      assert.equal(ledger.pendingPairs().size, 0, 'a judge batch generates nothing: score still calls the judge model for its own outputs');
      assert.equal(ledger.pendingJudgements().size, 6);
      // Submitting again while the batch is pending sends nothing.
      assert.equal((await cli(['batch', 'submit', data, '--judge', '--config', config, '--engine', engine])).code, 0);
      assert.equal(batch.creates, 1, 'nothing submitted twice');

      // A live judge run (the same judge model, answering live elsewhere) leaves the batch's judgements to it.
      live = await judgeServer();
      const liveConfig = path.join(tmp.dir, 'live.json');
      await fsp.writeFile(liveConfig, JSON.stringify({ models: [{ name: 'judge', baseUrl: live.url, model: 'judge-1' }], judge: { model: 'judge' } }));
      const meanwhile = await cli(['judge', data, '--config', liveConfig, ...cache, '--json']);
      assert.equal(meanwhile.code, 0, meanwhile.stderr);
      assert.equal((JSON.parse(meanwhile.stdout) as JudgeDocument).run.inBatch, 6);
      assert.match(meanwhile.stderr, /6 output\(s\) have the same judge request in a pending provider batch/);
      assert.equal(live.stats.requests, 0, 'nothing paid twice');

      const running = await cli(['batch', 'collect', data, '--config', config, '--json']);
      assert.equal(running.code, 4, running.stderr);
      assert.equal((JSON.parse(running.stdout) as CollectDoc).batches[0].purpose, 'judge');
      batch.finishAll();
      const collected = await cli(['batch', 'collect', data, '--config', config, '--json']);
      assert.equal(collected.code, 1, `the unparsable answer is a failure (exit 1): ${collected.stderr}`);
      const doc = JSON.parse(collected.stdout) as CollectDoc;
      assert.deepEqual({ judged: doc.judged, verdicts: doc.verdicts, judgeFailed: doc.judgeFailed, stale: doc.stale, answered: doc.answered, scored: doc.scored, failed: doc.failed },
        { judged: 6, verdicts: { good: 3, bad: 2 }, judgeFailed: 1, stale: 0, answered: 0, scored: 0, failed: 0 });
      assert.match(collected.stderr, /6 verdict\(s\) stored \(3 good, 2 bad\); 1 judgement\(s\) failed/);

      const stored = await latestResults(data);
      assert.deepEqual([...stored.values()].map((r) => r.judge?.verdict ?? r.judge?.error?.kind), ['good', 'bad', 'unparsable', 'good', 'bad', 'good']);
      assert.match(stored.get('r2')!.judge!.error!.message, /not one JSON object: "I think it is fine, mostly\."/);
      const r1 = stored.get('r1')!;
      assert.equal(r1.judge!.reason, '=HYPERLINK("http://evil.example","click")', 'the reason is stored as the judge wrote it');
      assert.deepEqual([r1.judge!.model, r1.judge!.modelId], ['judge', 'judge-1']);
      assert.equal(stored.get('r4')!.judge!.rating, 2);
      assert.equal(typeof r1.score, 'number', 'the cosine score stays with the result');
      assert.equal(r1.output, 'Speed limits are the law.');

      // The same provenance as a live verdict: a live run keeps the five verdicts and asks again only about the failure.
      const after = await cli(['judge', data, '--config', liveConfig, ...cache, '--json']);
      const afterDoc = JSON.parse(after.stdout) as JudgeDocument;
      assert.deepEqual({ reused: afterDoc.run.reused, judged: afterDoc.run.judged, called: afterDoc.run.called, inBatch: afterDoc.run.inBatch }, { reused: 5, judged: 1, called: 1, inBatch: 0 });
      // And the batch's requests were the live judge's own: the same messages (and, for OpenAI, the same body) for every output.
      await cli(['judge', data, '--config', liveConfig, ...cache, '--rerun']);
      const liveBodies = new Map(live.requests.map((r) => [judgedOutputOf(r.prompt), r.body]));
      const batchBodies = engine === 'openai'
        ? [...batch.openaiBatches.values()][0].lines.map((l) => l.body as Record<string, unknown>)
        : [...batch.anthropicBatches.values()][0].requests.map((r) => r.params as Record<string, unknown>);
      assert.equal(batchBodies.length, 6);
      for (const body of batchBodies) {
        const prompt = (body.messages as { content: string }[]).at(-1)!.content;
        const sent = liveBodies.get(judgedOutputOf(prompt))!;
        assert.ok(sent, prompt);
        if (engine === 'openai') assert.deepEqual(body, sent);
        else assert.deepEqual([body.model, body.messages], [sent.model, sent.messages]);
      }
    });
  }

  it('vLLM run-batch: export --judge writes the judge\'s requests; the recorded output file is imported as verdicts', async () => {
    const { data, config, cli } = await judgedDataset(batch, tmp);
    const out = path.join(tmp.dir, 'export');
    const exported = await cli(['batch', 'export', data, '--judge', '--config', config, '--out', out, '--json']);
    assert.equal(exported.code, 0, exported.stderr);
    const doc = JSON.parse(exported.stdout) as { purpose: string; files: { model: string; file: string; requests: number }[] };
    assert.equal(doc.purpose, 'judge');
    assert.deepEqual(doc.files.map((f) => [f.model, f.requests]), [['judge', 6]]);
    const lines = (await fsp.readFile(doc.files[0].file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; url: string; body: { model: string; messages: { content: string }[] } });
    assert.ok(lines.every((l) => l.url === '/v1/chat/completions' && l.body.model === 'judge-1'));
    // vLLM's output file as run-batch writes it, each line answered with the recorded verdict for the output it asks about.
    const output = path.join(tmp.dir, 'vllm-out.jsonl');
    await fsp.writeFile(output, lines.map((l, i) => JSON.stringify({
      id: `vllm-${i}`, custom_id: l.custom_id, error: null,
      response: { status_code: 200, request_id: `r-${i}`, body: { id: `c-${i}`, object: 'chat.completion', model: 'judge-1', choices: [{ index: 0, message: { role: 'assistant', content: RECORDED[judgedOutputOf(l.body.messages.at(-1)!.content)!] }, finish_reason: 'stop' }], usage: { prompt_tokens: 50, completion_tokens: 9 } } },
    })).join('\n') + '\n');
    const imported = await cli(['batch', 'import', data, '--config', config, '--output', output, '--json']);
    assert.equal(imported.code, 1, `the unparsable answer is a failure: ${imported.stderr}`);
    const importDoc = JSON.parse(imported.stdout) as CollectDoc & { unknown: number };
    assert.deepEqual({ judged: importDoc.judged, verdicts: importDoc.verdicts, judgeFailed: importDoc.judgeFailed, answered: importDoc.answered, unknown: importDoc.unknown }, { judged: 6, verdicts: { good: 3, bad: 2 }, judgeFailed: 1, answered: 0, unknown: 0 });
    const stored = await latestResults(data);
    assert.deepEqual([...stored.values()].map((r) => r.judge?.verdict ?? r.judge?.error?.kind), ['good', 'bad', 'unparsable', 'good', 'bad', 'good']);
    assert.deepEqual(stored.get('r0')!.judge!.usage, { promptTokens: 50, completionTokens: 9 });
  });

  it('an answer about an output that changed since submit is not stored (stale; the next submit --judge asks again); --judge needs a judge model', async () => {
    const { data, config, cli } = await judgedDataset(batch, tmp);
    assert.equal((await cli(['batch', 'submit', data, '--judge', '--config', config])).code, 0);
    // r0's reference changes: the answer the batch brings judged the old one.
    const text = await fsp.readFile(data, 'utf8');
    await fsp.writeFile(data, text.replace('The crest hides oncoming traffic.', 'The crest hides the road ahead.'));
    batch.finishAll();
    const collected = await cli(['batch', 'collect', data, '--config', config, '--json']);
    const doc = JSON.parse(collected.stdout) as CollectDoc;
    assert.deepEqual({ judged: doc.judged, stale: doc.stale }, { judged: 5, stale: 1 });
    assert.match(collected.stderr, /1 answer\(s\) not stored: the output, its row or its reference changed since submit/);
    const stored = await latestResults(data);
    assert.equal(stored.get('r0')!.judge, undefined, 'no verdict on r0');
    assert.equal(stored.get('r3')!.judge!.verdict, 'good');

    const bare = path.join(tmp.dir, 'bare.json');
    await fsp.writeFile(bare, JSON.stringify({ models: [{ name: 'judge', baseUrl: batch.url, model: 'judge-1' }] }));
    const none = await cli(['batch', 'submit', data, '--judge', '--config', bare]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no judge model: set "judge": \{"model": "<name>"\}/);
    assert.equal(batch.creates, 1);
  });
});
