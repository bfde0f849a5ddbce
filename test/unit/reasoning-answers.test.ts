import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelConfig } from '../../src/core/config/models';
import { readSettings, jsonSettingsSource } from '../../src/core/config/settings';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { isEmptyOutput } from '../../src/core/rules/rules';
import { runDataset, type RunOptions } from '../../src/core/runner/runner';
import { ResultsStore } from '../../src/core/store/results';
import { recordingScorer } from '../support/recordingScorer';
import { FakeOpenAIServer, type AnswerShape } from '../support/openaiServer';

// One rule for reasoning and for "no answer", whether the output was called or came with the row.

const FAST_RETRY = { retries: 2, baseDelayMs: 5, maxDelayMs: 20 };

/** Reasoning in every markup seen in the wild, each around the same answer. */
const MARKUPS: [string, string][] = [
  ['<think>', '<think>The user wants a reason. Let me think.</think>\n\nThe answer is forty-two.'],
  ['<thinking>', '<thinking>step one, step two</thinking>The answer is forty-two.'],
  ['<reasoning>', '<reasoning>hmm</reasoning> The answer is forty-two.'],
  ['<seed:think>', '<seed:think>Got it, the user asks...</seed:think>The answer is forty-two.'],
  ['◁think▷', '◁think▷Kimi thinks here◁/think▷The answer is forty-two.'],
  ['[THINK]', '[THINK]Magistral reasons[/THINK]The answer is forty-two.'],
  ['<|begin_of_thought|>', '<|begin_of_thought|>\n\nLong thought\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\nThe answer is forty-two.\n\n<|end_of_solution|>'],
  ['gpt-oss channels', '<|channel|>analysis<|message|>We need to answer.<|end|><|start|>assistant<|channel|>final<|message|>The answer is forty-two.<|return|>'],
  ['gpt-oss channels', 'analysisWe need to answer briefly.assistantfinalThe answer is forty-two.'],
  ['<think>', 'The prompt opened the block, so only the close is here.</think>The answer is forty-two.'],
  ['<think>', '<THINK>upper case</THINK>The answer is forty-two.'],
];
const ANSWER = 'The answer is forty-two.';

async function writeRows(rows: Record<string, unknown>[]): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-reasoning-'));
  const file = path.join(dir, 'data.jsonl');
  await fsp.writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}


async function run(file: string, models: ModelConfig[], extra: Partial<RunOptions> = {}) {
  const dataset = await Dataset.open(file);
  const results = await ResultsStore.open(file);
  const scorer = recordingScorer();
  const summary = await runDataset({ dataset, models, results, scorer, retry: FAST_RETRY, apiKeyFor: async () => undefined, ...extra });
  await dataset.close();
  return { summary, results, scorer };
}

describe('reasoning is not the answer: one rule for called and precomputed outputs (real server, real files)', function () {
  this.timeout(30_000);
  let server: FakeOpenAIServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('strips every known markup from called answers and records what was stripped', async () => {
    const rows = MARKUPS.map((_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: 'because' }));
    server = await FakeOpenAIServer.start({ respond: (r) => MARKUPS[Number(r.prompt.slice(1))][1] });
    const file = await writeRows(rows);
    const { results, scorer } = await run(file, [{ name: 'm', baseUrl: server.url, model: 'm', concurrency: 2 }]);
    assert.deepEqual(scorer.outputs, MARKUPS.map(() => ANSWER), 'only the answers were scored');
    for (const [i, [marker, raw]] of MARKUPS.entries()) {
      const r = results.latest(`r${i}`, 'm')!;
      assert.equal(r.output, ANSWER, marker);
      assert.equal(r.rawOutput, raw, `${marker}: the raw text is kept`);
      assert.equal(r.reasoningStripped?.marker.toLowerCase(), marker.toLowerCase(), `${marker}: the markup is named`);
      assert.equal(r.reasoningStripped?.chars, raw.length - ANSWER.length, `${marker}: the characters removed are counted`);
    }
  });

  it('strips the same markups from precomputed outputs (no call), and extra markers from the setting', async () => {
    const settings = readSettings(jsonSettingsSource({ reasoning: { markers: [{ open: '<plan>', close: '</plan>' }] } }));
    assert.deepEqual(settings.problems, []);
    const rows = [
      ...MARKUPS.map(([, raw], i) => ({ id: `p${i}`, input: 'q', rationale: 'because', outputs: { pre: raw } })),
      { id: 'extra', input: 'q', rationale: 'because', outputs: { pre: '<plan>1. read 2. answer</plan>The answer is forty-two.' } },
      { id: 'only', input: 'q', rationale: 'because', outputs: { pre: '<think>never finished thinking' } },
      { id: 'plain', input: 'q', rationale: 'because', outputs: { pre: 'An answer that mentions think blocks in words.' } },
    ];
    const file = await writeRows(rows);
    const { results, scorer, summary } = await run(file, [], { reasoningMarkers: settings.settings.reasoningMarkers });
    assert.equal(summary.called, 0);
    assert.deepEqual(scorer.outputs.sort(), [...MARKUPS.map(() => ANSWER), ANSWER, 'An answer that mentions think blocks in words.'].sort());
    assert.equal(results.latest('p0', 'pre')?.reasoningStripped?.marker, '<think>');
    assert.equal(results.latest('extra', 'pre')?.reasoningStripped?.marker, '<plan>');
    const only = results.latest('only', 'pre')!;
    assert.equal(only.score, undefined, 'reasoning alone is not scored');
    assert.ok(isEmptyOutput(only.output), 'reasoning alone is an empty answer');
    assert.equal(only.rawOutput, '<think>never finished thinking', 'the text is kept');
    assert.match(only.scoreNote ?? '', /only its reasoning/);
    assert.equal(results.latest('plain', 'pre')?.reasoningStripped, undefined);
  });

  it('keepThinking keeps the reasoning of a configured model, precomputed and called', async () => {
    server = await FakeOpenAIServer.start({ respond: () => MARKUPS[0][1] });
    const file = await writeRows([
      { id: 'a', input: 'q', rationale: 'because', outputs: { keep: MARKUPS[5][1] } },
      { id: 'b', input: 'q2', rationale: 'because' },
    ]);
    const { results, scorer } = await run(file, [{ name: 'keep', baseUrl: server.url, model: 'm', keepThinking: true, concurrency: 1 }]);
    assert.deepEqual(scorer.outputs.sort(), [MARKUPS[0][1], MARKUPS[5][1]].sort());
    assert.equal(results.latest('a', 'keep')?.reasoningStripped, undefined);
  });

  it('re-scores a stored precomputed output that still holds reasoning (stored by an older version)', async () => {
    const file = await writeRows([{ id: 'a', input: 'q', rationale: 'because', outputs: { pre: MARKUPS[1][1] } }]);
    const dataset = await Dataset.open(file);
    const hash = dataset.rowHash(0);
    await dataset.close();
    // What an older version stored: the whole text, scored.
    await fsp.writeFile(file.replace(/\.jsonl$/, '.pisar-results.jsonl'), JSON.stringify({ rowId: 'a', rowHash: hash, model: 'pre', source: 'precomputed', output: MARKUPS[1][1], score: 0.9, scorer: 'rec-v1', at: new Date().toISOString() }) + '\n');
    const { results, scorer } = await run(file, []);
    assert.deepEqual(scorer.outputs, [ANSWER]);
    assert.equal(results.latest('a', 'pre')?.output, ANSWER);
  });
});

describe('answers that are not answers (real server)', function () {
  this.timeout(30_000);
  let server: FakeOpenAIServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const INVISIBLE = ['\u200b\u200c\u200d', '\ufeff', '\u00a0\u00a0', '\u0007\u001b', '\u0301\u0308', '\ufe0f\ufe0e', '\u2060\u00ad', '\u3164', '\u2800 \u200e', '\u{e0041}\u{e0042}'];

  it('an output with no visible text is empty: never sent to the scorer, called or precomputed', async () => {
    const rows = INVISIBLE.map((text, i) => ({ id: `r${i}`, input: `q${i}`, rationale: 'because', outputs: { pre: text } }));
    rows.push({ id: 'visible', input: 'qv', rationale: 'because', outputs: { pre: '\u200bok' } });
    server = await FakeOpenAIServer.start({ respond: (r) => (r.prompt === 'qv' ? 'fine' : INVISIBLE[Number(r.prompt.slice(1))]) });
    const file = await writeRows(rows);
    const { results, scorer } = await run(file, [{ name: 'm', baseUrl: server.url, model: 'm', concurrency: 2 }]);
    assert.deepEqual(scorer.outputs.sort(), ['\u200bok', 'fine'].sort(), 'only visible text is scored');
    for (const [i, text] of INVISIBLE.entries()) {
      for (const model of ['m', 'pre']) {
        const r = results.latest(`r${i}`, model)!;
        assert.equal(r.output, text, `${JSON.stringify(text)} kept as written`);
        assert.equal(r.score, undefined, `${JSON.stringify(text)} (${model}) has no score`);
        assert.match(r.scoreNote ?? '', /empty/);
      }
    }
  });

  it('finish_reason "abort" (and other non-completions) with a partial answer is a failure, retried and never stored', async () => {
    const reasons = ['abort', 'cancelled', 'timeout', 'SAFETY', 'recitation', 'OTHER'];
    server = await FakeOpenAIServer.start({ respond: () => 'Half an ans', answerShape: (r): AnswerShape => ({ finishReason: reasons[Number(r.prompt.slice(1))] }) });
    const file = await writeRows(reasons.map((_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: 'because' })));
    const { results, scorer, summary } = await run(file, [{ name: 'm', baseUrl: server.url, model: 'm', concurrency: 1 }]);
    assert.deepEqual(scorer.outputs, [], 'no partial answer was scored');
    assert.equal(summary.failed, reasons.length);
    for (const [i, reason] of reasons.entries()) {
      const r = results.latest(`r${i}`, 'm')!;
      assert.equal(r.output, undefined, reason);
      assert.match(r.error?.message ?? '', new RegExp(`finish_reason "${reason}"`), reason);
    }
    // A provider's stop is final; "abort" may pass: it was retried, the safety block was not.
    const attempts = (i: number) => server!.requests.filter((r) => r.prompt === `q${i}`).length;
    assert.equal(attempts(0), 3, 'abort is retried');
    assert.equal(attempts(3), 1, 'a safety block is not');
  });

  it('finish_reason "error" keeps the error text found in content as the reason', async () => {
    server = await FakeOpenAIServer.start({ respond: () => 'Error: upstream model crashed (CUDA out of memory)', answerShape: () => ({ finishReason: 'error' }) });
    const file = await writeRows([{ id: 'r0', input: 'q', rationale: 'because' }]);
    const { results } = await run(file, [{ name: 'm', baseUrl: server.url, model: 'm', concurrency: 1 }]);
    const r = results.latest('r0', 'm')!;
    assert.equal(r.output, undefined);
    assert.equal(r.error?.kind, 'finish-error');
    assert.match(r.error?.message ?? '', /CUDA out of memory/);
  });
});
