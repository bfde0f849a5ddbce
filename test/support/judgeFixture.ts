import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { StoredResult } from '../../src/core/store/results';
import { runCliCaptured } from './cli';
import { jsonl, repoRoot } from './files';
import { FakeOpenAIServer } from './openaiServer';

// A dataset whose outputs an LLM judge reads, and a loopback judge answering recorded verdicts (test/unit/judge*.test.ts).

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

/** Six rows with one precomputed output each; the judge's recorded answer is chosen by the output it reads. */
export const JUDGE_ROWS = [
  { id: 'r0', input: 'Why brake at the crest?', rationale: 'The crest hides oncoming traffic.', outputs: { m: 'Oncoming cars are hidden by the crest.' } },
  { id: 'r1', input: 'Why slow near the school?', rationale: 'Children cross without looking.', outputs: { m: 'Speed limits are the law.' } },
  { id: 'r2', input: 'Why keep distance?', rationale: 'Stopping takes room.', outputs: { m: 'Braking needs distance.' } },
  { id: 'r3', input: 'Why use lights at dusk?', rationale: 'Others must see you.', outputs: { m: 'So others can see you.' } },
  { id: 'r4', input: 'Why check mirrors?', rationale: 'Cyclists may be beside you.', outputs: { m: 'Mirrors are shiny.' } },
  { id: 'r5', input: 'Why slow in rain?', rationale: 'Wet roads lengthen braking.', outputs: { m: 'Rain makes braking take longer.' } },
];

/** What the judge answers for each output (r1's reason is a spreadsheet formula: data, never a formula). */
export const RECORDED: Readonly<Record<string, string>> = {
  'Oncoming cars are hidden by the crest.': '{"verdict": "good", "reason": "Same reason: the crest hides traffic."}',
  'Speed limits are the law.': '{"verdict": "bad", "reason": "=HYPERLINK(\\"http://evil.example\\",\\"click\\")"}',
  'Braking needs distance.': 'I think it is fine, mostly.',
  'So others can see you.': '{"verdict": "good", "reason": "Being seen is the point."}',
  'Mirrors are shiny.': '```json\n{"score": 2, "reason": "Misses the cyclists."}\n```',
  'Rain makes braking take longer.': '{"verdict": "GOOD", "reason": "Longer braking on wet roads."}',
};

/** The output a judge prompt asks about (the default prompt's, or the test prompt's OUT<…>). */
export const judgedOutputOf = (prompt: string): string | undefined => Object.keys(RECORDED).find((o) => prompt.includes(`Model's rationale:\n${o}`) || prompt.includes(`OUT<${o}>`));

/** The judge server: answers from RECORDED by the output the prompt holds; the first request about r3 gets a 429. */
export async function judgeServer(): Promise<FakeOpenAIServer> {
  const outputOf = judgedOutputOf;
  return FakeOpenAIServer.start({
    respond: (req) => RECORDED[outputOf(req.prompt) ?? ''] ?? 'no recorded answer',
    faultFor: (req) => (outputOf(req.prompt) === 'So others can see you.' && req.attempt === 0 ? { kind: '429', retryAfterSec: 0 } : undefined),
  });
}

export async function judgedDataset(server: Pick<FakeOpenAIServer, 'url'>, tmp: { dir: string }) {
  const data = path.join(tmp.dir, 'data.jsonl');
  await fsp.writeFile(data, jsonl(JUDGE_ROWS));
  const config = path.join(tmp.dir, 'config.json');
  await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'judge', baseUrl: server.url, model: 'judge-1', price: { inputPerMillion: 1000, outputPerMillion: 2000 } }], judge: { model: 'judge' } }));
  const cache = ['--cache-dir', path.join(tmp.dir, 'cache')];
  const cli = (args: string[]) => runCliCaptured(args, { cwd: tmp.dir });
  // The outputs are the row's own (precomputed): scoring stores them, no model is called.
  const scored = await cli(['score', data, '--models', 'm', '--embedding-model', TINY, ...cache, '--json']);
  assert.equal(scored.code, 0, scored.stderr);
  return { data, config, cache, cli };
}

export const latestResults = async (data: string): Promise<Map<string, StoredResult>> => {
  const lines = (await fsp.readFile(data.replace(/\.jsonl$/, '.pisar-results.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as StoredResult);
  return new Map(lines.map((r) => [r.rowId, r]));
};

