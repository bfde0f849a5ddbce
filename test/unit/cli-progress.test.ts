import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { runCliCaptured as cli } from '../support/cli';
import { repoRoot } from '../support/files';
import { type FakeOpenAIServer } from '../support/openaiServer';
import { useCliWorkspace } from '../support/cliWorkspace';
import { RunMeter } from '../../src/core/runner/progress';
import { settledGarbage } from '../support/garbage';
import type { StoredResult } from '../../src/core/store/results';

const CLI = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

describe('progress a person can plan by (issue 22.4)', function () {
  this.timeout(60_000);
  const tmp = useCliWorkspace('pisar-cli-progress-');
  let server: FakeOpenAIServer | undefined;

  async function setup(n: number, models: Record<string, unknown>[]) {
    const { common } = await tmp.dataset(Array.from({ length: n }, (_, i) => ({ id: `r${i}`, input: `question ${i}`, rationale: `Rationale: question ${i}` })), models);
    return common;
  }

  it('a CLI whose stderr is a pipe prints a plain line with rate, time left, tokens and cost per model while it runs', async () => {
    server = await tmp.startServer({ latencyMs: 250 });
    const price = { inputPerMillion: 1000, outputPerMillion: 4000 };
    const common = await setup(12, [{ name: 'slow', baseUrl: server.url, model: 'slow', concurrency: 1, price }]);
    const child = spawn(process.execPath, [CLI, 'score', ...common, '--progress-interval', '0.2'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // A line of a run under way: at least two pairs done (a rate), some left (a time left).
    const line = /^pisar-review score: (\d+) done · 0 failed · (\d+) left of 12 · [\d.]+\/(s|min) · about \d+s left \| slow: (\d+) done, (\d+) \+ (\d+) tokens, cost (\d+\.\d{4})$/m;
    const seen = await new Promise<RegExpMatchArray>((resolve, reject) => {
      child.stderr.on('data', (c) => {
        err += c;
        const m = [...err.matchAll(new RegExp(line, 'gm'))].find((l) => Number(l[1]) >= 2 && Number(l[2]) > 0);
        if (m) resolve(m);
      });
      child.on('exit', () => reject(new Error(`the run ended before a progress line with a rate was printed:\n${err}`)));
    });
    assert.equal(child.exitCode, null, 'the line came while the run was still going');
    const done = Number(seen[4]);
    assert.equal(done, Number(seen[1]));
    // The fake server counts words: "question i" in (2), "Rationale: question i" out (3).
    assert.equal(Number(seen[5]), 2 * done);
    assert.equal(Number(seen[6]), 3 * done);
    assert.equal(seen[7], ((2 * done * price.inputPerMillion + 3 * done * price.outputPerMillion) / 1e6).toFixed(4));
    assert.equal(await exited, 0, err);
    assert.ok(!err.includes('\x1b'), 'no escape codes in a log');
  });

  it('--progress-interval 0 prints no progress lines; a bad value is refused with the fix', async () => {
    server = await tmp.startServer();
    const common = await setup(3, [{ name: 'm', baseUrl: server.url, model: 'm' }]);
    const quiet = await cli(['score', ...common, '--progress-interval', '0']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.match(quiet.stderr, /pisar-review score: 3 called/, 'the end line is there');
    assert.doesNotMatch(quiet.stderr, / left of /);
    const bad = await cli(['score', ...common, '--progress-interval', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--progress-interval: expected seconds from 0 \(off\) to 86400, e\.g\. 5; got "soon"/);
  });

  it('RunMeter: rate over the last minute, time left at that rate, tokens of this run\'s calls only', () => {
    let now = 0;
    const meter = new RunMeter(new Map([['a', { inputPerMillion: 10, outputPerMillion: 20 }]]), () => now);
    const result = (model: string, extra: Partial<StoredResult> = {}): StoredResult => ({ rowId: 'r', rowHash: 'h', model, source: 'called', output: 'x', at: '', ...extra });
    meter.update({ kind: 'start', total: 100, pairs: 100, models: ['a', 'b'] });
    assert.equal(meter.reading().perSecond, undefined);
    assert.match(meter.reading().text, /0 done · 0 failed · 100 left of 100 · rate not known yet/);
    let done = 0;
    for (let i = 0; i < 10; i++) {
      now += 500;
      done++;
      meter.update({ kind: 'result', result: result(i % 2 ? 'b' : 'a', { usage: { promptTokens: 100, completionTokens: 50 } }), done, failed: 0, total: 100 });
    }
    meter.update({ kind: 'skip', rowId: 'r', model: 'b', reason: 'stored', done: ++done, failed: 0, total: 100 });
    meter.update({ kind: 'result', result: result('a', { cached: true, usage: { promptTokens: 999, completionTokens: 999 } }), done: ++done, failed: 0, total: 100 });
    // The same pair told again once scored (done unchanged): no new pair, no new tokens.
    meter.update({ kind: 'result', result: result('b', { score: 0.9, usage: { promptTokens: 100, completionTokens: 50 } }), done, failed: 0, total: 100 });
    let r = meter.reading();
    assert.equal(r.perSecond, 11 / 5, 'ten calls and a cache hit in five seconds; a skip took no time');
    assert.equal(r.etaMs, (88 / (11 / 5)) * 1000);
    assert.match(r.text, /12 done · 0 failed · 88 left of 100 · 2\.2\/s · about 40s left/);
    const a = r.models.find((m) => m.model === 'a')!;
    assert.deepEqual({ ...a }, { model: 'a', done: 6, failed: 0, inputTokens: 500, outputTokens: 250, cost: (500 * 10 + 250 * 20) / 1e6 });
    assert.equal(r.models.find((m) => m.model === 'b')!.cost, undefined);
    assert.deepEqual(r.modelTexts, ['a: 6 done, 500 + 250 tokens, cost 0.0100', 'b: 6 done, 500 + 250 tokens']);
    // A minute of nothing (a long rate-limit pause): the rate falls to what the last minute saw.
    now += 59_000;
    r = meter.reading();
    assert.equal(r.perSecond, 4 / 60, 'the four finishes of the last minute');
    assert.match(r.text, /4\.0\/min · about 22m 00s left/);
  });

  it('RunMeter holds a finish time once for the pairs finished at it (a run writes a scored batch in one millisecond)', async () => {
    let now = 1_000;
    const meter = new RunMeter(new Map(), () => now);
    const pairs = 400_000;
    meter.update({ kind: 'start', total: pairs, pairs, models: ['a'] });
    const result: StoredResult = { rowId: 'r', rowHash: 'h', model: 'a', source: 'precomputed', output: 'x', at: '' };
    await settledGarbage();
    const before = process.memoryUsage().heapUsed;
    for (let done = 1; done <= pairs; done++) {
      if (done % 2048 === 0) now += 1; // a scored window a millisecond
      meter.update({ kind: 'result', result, done, failed: 0, total: pairs });
    }
    await settledGarbage();
    const grown = process.memoryUsage().heapUsed - before;
    // A time a pair held 400,000 numbers: 3.2 MB or more.
    assert.ok(grown < 1_000_000, `the meter grew by ${grown} bytes`);
    now += 1_000;
    assert.equal(meter.reading().perSecond, pairs / ((now - 1_000) / 1000), 'every pair since the start counted');
    now += 60_000;
    assert.equal(meter.reading().perSecond, undefined, 'none in the last minute');
  });
});
