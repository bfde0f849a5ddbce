// The runner's parts, each on its own: plan, model lane, row feed, score batcher, result writer.
import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { ModelLane, type LaneContext } from '../../src/core/runner/modelLane';
import { planRun, RowList } from '../../src/core/runner/plan';
import { ResultWriter } from '../../src/core/runner/resultWriter';
import { DEFAULT_RETRY_POLICY } from '../../src/core/http/retry';
import { RowFeed } from '../../src/core/runner/rowFeed';
import type { ModelFailure } from '../../src/core/runner/runTypes';
import { ScoreBatcher } from '../../src/core/runner/scoreBatcher';
import { ResultsStore, type StoredResult } from '../../src/core/store/results';
import { readSidecar } from '../../src/core/store/sidecar';
import { FakeOpenAIServer } from '../support/openaiServer';

async function writeDataset(rows: Record<string, unknown>[]): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-parts-'));
  const file = path.join(dir, 'data.jsonl');
  await fsp.writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

const result = (i: number, extra: Partial<StoredResult> = {}): StoredResult => ({ rowId: `r${i}`, rowHash: 'h', model: 'm', source: 'precomputed', output: `out ${i}`, at: new Date(0).toISOString(), ...extra });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('runner parts: plan', () => {
  it('plans only unsettled pairs, configured models first, and counts the lanes that need each row', async () => {
    const file = await writeDataset([
      { id: 'a', input: 'q', rationale: 'r', outputs: { p: 'x' } },
      { id: 'b', input: 'q', rationale: 'r', outputs: { p: 'y' } },
      { id: 'c', input: 'q', rationale: 'r' },
    ]);
    const dataset = await Dataset.open(file);
    const results = await ResultsStore.open(file);
    await results.append([{ rowId: 'a', rowHash: dataset.rowHash(0), model: 'm', source: 'called', output: 'o', score: 0.5, scorer: 'k', at: 'now' }]);
    const m = { name: 'm', baseUrl: 'http://127.0.0.1:1/v1', model: 'm' };
    const plan = planRun({ dataset, results, models: [m], scorerKey: 'k' });
    assert.deepEqual(plan.lanes.map((l) => [l.name, [...l.rows], l.reused]), [['m', [1, 2], 1], ['p', [0, 1, 2], 0]]);
    assert.equal(plan.pairs, 6);
    assert.equal(plan.total, 5);
    assert.deepEqual([...plan.rowUses], [1, 2, 2]);
    assert.deepEqual([...planRun({ dataset, results, models: [m], scorerKey: 'other' }).lanes[0].rows], [0, 1, 2], 'a score by another scorer is redone');
    assert.deepEqual(planRun({ dataset, results, models: [m], scorerKey: 'k', rerun: true, modelNames: ['m'] }).lanes.map((l) => [...l.rows]), [[0, 1, 2]]);
    await dataset.close();
  });

  it('a lane\'s rows are held as a range while consecutive, and as they were pushed once not', () => {
    const cases = [[], [0], [5, 6, 7], [0, 1, 2, 4, 5], [3, 2, 1], [7, 7], Array.from({ length: 100 }, (_, i) => (i < 40 ? i + 10 : 3 * i))];
    for (const rows of cases) {
      const list = new RowList();
      for (const r of rows) list.push(r);
      assert.equal(list.length, rows.length);
      assert.deepEqual([...list], rows);
      assert.deepEqual(rows.map((_, i) => list.at(i)), rows);
    }
  });
});

describe('runner parts: model lane', function () {
  this.timeout(20_000);
  let server: FakeOpenAIServer | undefined;
  afterEach(async () => server?.close());

  function lane(rows: number[], extra: Partial<LaneContext> = {}, failures: ModelFailure[] = []) {
    const retries: number[] = [];
    const ctx: LaneContext = {
      runSignal: new AbortController().signal,
      policy: { ...DEFAULT_RETRY_POLICY, retries: 3, baseDelayMs: 10, maxDelayMs: 50 },
      maxRetryAfterMs: 1000,
      apiKeyFor: async () => undefined,
      onRetry: (e) => retries.push(e.retry),
      onWait: () => undefined,
      onModelFailed: (f) => failures.push(f),
      ...extra,
    };
    const list = new RowList();
    for (const r of rows) list.push(r);
    return { lane: new ModelLane('m', { name: 'm', baseUrl: server!.url, model: 'm', timeoutMs: 2000 }, list, ctx), retries, failures };
  }
  const body = (prompt: string) => ({ model: 'm', messages: [{ role: 'user', content: prompt }] });

  it('hands out its rows in order, each once', async () => {
    server = await FakeOpenAIServer.start();
    const { lane: l } = lane([4, 7, 9]);
    assert.deepEqual([l.take(), l.take(), l.remaining, l.take(), l.take()], [4, 7, 1, 9, undefined]);
  });

  it('retries a 5xx and returns the output; counts one call and its retries', async () => {
    server = await FakeOpenAIServer.start({ faultFor: (req) => (req.attempt < 2 ? '500' : undefined) });
    const { lane: l, retries } = lane([0]);
    const outcome = await l.call(body('hello'), 'r0');
    assert.equal(outcome.ok, true);
    assert.deepEqual(retries, [1, 2]);
    assert.equal(l.stats.called, 1);
    assert.equal(l.stats.retries, 2);
  });

  it('stops at a 401: one failure with a fix, later calls answered without a request', async () => {
    server = await FakeOpenAIServer.start({ requireKey: 'sk-good' });
    const { lane: l, failures } = lane([0, 1]);
    const first = await l.call(body('one'), 'r0');
    const second = await l.call(body('two'), 'r1');
    assert.equal(first.ok, false);
    assert.equal(second.ok || second.error.kind, 'model-failed');
    assert.equal(failures.length, 1);
    assert.match(failures[0].fix, /API key/);
    assert.equal(server.stats.requests, 1);
  });
});

describe('runner parts: row feed', () => {
  it('reads planned rows block by block, one read per block, and drops each block once every lane is done with it', async () => {
    const file = await writeDataset(Array.from({ length: 1000 }, (_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: `because ${i}` })));
    const dataset = await Dataset.open(file);
    let reads = 0;
    const counting = { rowCount: dataset.rowCount, readRows: (a: number, b: number, want: (i: number) => boolean) => (reads++, dataset.readRows(a, b, want)) };
    const uses = new Uint32Array(1000).fill(2);
    const feed = new RowFeed(counting, uses);
    for (let i = 0; i < 1000; i++) {
      const [x, y] = await Promise.all([feed.get(i), feed.get(i)]);
      assert.equal(x.id, `r${i}`);
      assert.equal(x, y, 'one parse shared by both lanes');
      feed.release(i);
      feed.release(i);
    }
    assert.equal(reads, 4, '1000 rows in 4 reads of 256 rows');
    assert.equal(feed.heldBlocks, 0, 'nothing kept after the run');
    await dataset.close();
  });
});

describe('runner parts: score batcher', () => {
  function batcher(scorePairs: (pairs: { output: string; reference: string }[]) => Promise<number[]>, extra = {}) {
    const written: { result: StoredResult; counted: boolean }[] = [];
    const failures: string[] = [];
    const calls: number[] = [];
    const unscored: StoredResult[] = [];
    const b = new ScoreBatcher({
      scorer: { cacheKey: 'k', scorePairs: async (pairs) => (calls.push(pairs.length), scorePairs(pairs)) },
      signal: new AbortController().signal,
      write: (result, counted) => written.push({ result: { ...result }, counted }),
      onFailed: (m) => failures.push(m),
      unscored: (r) => unscored.push(r),
      ...extra,
    });
    return { b, written, failures, calls, unscored };
  }
  const lengths = async (pairs: { output: string }[]) => pairs.map((p) => p.output.length);

  it('gives the scorer everything queued in one call, up to a window', async () => {
    const { b, written, calls } = batcher(lengths, { window: 2048 });
    for (let i = 0; i < 3000; i++) b.add(result(i), ['ref'], false);
    await b.idle();
    assert.deepEqual(calls, [2048, 952]);
    assert.equal(written.length, 3000);
    assert.equal(b.scored, 3000);
    assert.ok(written.every((w) => w.counted && w.result.score === w.result.output!.length && w.result.scorer === 'k'));
  });

  it('writes a precomputed output once, with its score, however long the scorer takes (no unscored first line)', async () => {
    const { b, written } = batcher(async (pairs) => (await tick(120), lengths(pairs)), { holdMs: 20 });
    for (let i = 0; i < 5; i++) b.add(result(i), ['ref'], false);
    await b.idle();
    b.dispose();
    assert.equal(written.length, 5);
    assert.ok(written.every((w) => typeof w.result.score === 'number'));
  });

  it('writes a called output unscored when it waits past holdMs, then its score as an uncounted line', async () => {
    const { b, written } = batcher(async (pairs) => (await tick(150), lengths(pairs)), { holdMs: 20 });
    b.add(result(1, { source: 'called' }), ['ref'], true);
    await b.idle();
    b.dispose();
    assert.deepEqual(written.map((w) => [w.result.score, w.counted]), [[undefined, true], [5, false]]);
  });

  it('reports a failed scorer once, writes every called output unscored and stores no free one (precomputed, already stored)', async () => {
    const { b, written, failures, unscored } = batcher(async () => {
      throw new Error('model missing');
    }, { window: 2 });
    for (let i = 0; i < 7; i++) b.add(result(i, { source: 'called' }), ['ref'], true);
    for (let i = 7; i < 10; i++) b.add(result(i), ['ref'], false);
    await b.idle();
    b.dispose();
    assert.deepEqual(failures, ['model missing']);
    assert.equal(written.length, 7);
    assert.ok(written.every((w) => w.counted && w.result.score === undefined && w.result.source === 'called'));
    assert.equal(unscored.length, 3);
    assert.equal(b.error, 'model missing');
  });

  it('makes producers wait while the queue is full', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { b } = batcher(async (pairs) => (await gate, lengths(pairs)), { window: 4, maxQueued: 4 });
    for (let i = 0; i < 8; i++) b.add(result(i), ['ref'], false); // 2 calls of 4 in flight
    await tick(5);
    for (let i = 8; i < 12; i++) b.add(result(i), ['ref'], false);
    let roomed = false;
    void b.room().then(() => (roomed = true));
    await tick(20);
    assert.equal(roomed, false, 'full: the producer waits');
    release();
    await b.idle();
    assert.equal(roomed, true);
  });
});

describe('runner parts: score batcher queue', () => {
  it('queues one window by default beside the calls running (a second window queued only held its rows\' texts)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls: number[] = [];
    const b = new ScoreBatcher({
      scorer: { cacheKey: 'k', scorePairs: async (pairs) => (calls.push(pairs.length), await gate, pairs.map(() => 0.5)) },
      signal: new AbortController().signal, write: () => undefined, onFailed: () => undefined, unscored: () => undefined, window: 4,
    });
    const add = (from: number, to: number) => {
      for (let i = from; i < to; i++) b.add({ rowId: `r${i}`, rowHash: 'h', model: 'm', source: 'precomputed', output: `o${i}`, at: '' }, ['ref'], false);
    };
    // room() is settled at once when there is room: its callback runs before the next turn's.
    const state = () => Promise.race([b.room().then(() => 'room'), new Promise((r) => setImmediate(() => r('full')))]);
    add(0, 8);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [4, 4], 'two calls of a window each running');
    add(8, 11);
    assert.equal(await state(), 'room', 'three queued');
    add(11, 12);
    assert.equal(await state(), 'full', 'a window queued: the producer waits');
    release();
    await b.idle();
    assert.equal(await state(), 'room');
  });
});

describe('runner parts: result writer', () => {
  it('coalesces what finishes during a write into the next append, in order, and reports a failed write once', async () => {
    const file = await writeDataset([{ id: 'r0', input: 'q', rationale: 'r' }]);
    const store = await ResultsStore.open(file);
    const appends: number[] = [];
    const counting = { append: (rs: readonly StoredResult[]) => (appends.push(rs.length), store.append(rs)) };
    const seen: string[] = [];
    const errors: Error[] = [];
    const writer = new ResultWriter(counting, (w) => seen.push(w.result.rowId), (e) => errors.push(e));
    for (let i = 0; i < 50; i++) writer.write(result(i));
    await writer.idle();
    assert.deepEqual(appends, [1, 49]);
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => `r${i}`));
    assert.equal((await readSidecar(store.file, { repair: false })).records.length, 50);

    writer.write({ ...result(99), output: undefined });
    writer.write({ ...result(100), output: undefined });
    await writer.idle();
    assert.equal(errors.length, 1);
    assert.match(writer.error!.message, /invalid result/);
  });
});
