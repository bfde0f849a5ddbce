// Following batches from a shell that did not submit them (issue 22 point 1, the editor half): the poll
// schedule, the status line of a dataset's batches read from its real ledger file, and the endpoint
// probe that names a model that cannot batch, against real loopback servers.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { BatchLedger, type RequestEntry } from '../../src/core/store/batchLedger';
import { batchView, PollSchedule, progressed } from '../../src/core/batch/batchWatch';
import { BatchApiError, engineFor, type BatchState } from '../../src/core/batch/engines';
import { readSettings } from '../../src/core/config/settings';
import { BatchServer } from '../support/batchServer';
import { makeTempDir } from '../support/files';
import { FakeOpenAIServer } from '../support/openaiServer';

const entries = (n: number, prefix = 'r'): RequestEntry[] => Array.from({ length: n }, (_, i) => [`${prefix}${i}-id`, `${prefix}${i}`, 'h', 'p']);
const at = '2026-01-01T00:00:00.000Z';
const state = (id: string, over: Partial<BatchState> = {}): BatchState => ({ id, phase: 'running', status: 'in_progress', total: 3, done: 0, failed: 0, ...over });

describe('batches followed from a shell (poll schedule, status line, endpoint probe)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let data: string;
  beforeEach(() => {
    tmp = makeTempDir('pisar-batch-watch-');
    data = path.join(tmp.dir, 'data.jsonl');
  });
  afterEach(() => tmp.cleanup());

  it('poll schedule: the first wait, doubling while nothing moves up to 20 times it (never over 10 minutes), back to the first when a batch moves', () => {
    const s = new PollSchedule(1000);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(() => s.next(false)), [1000, 2000, 4000, 8000, 16000, 20000, 20000]);
    assert.equal(s.next(true), 1000, 'progress: back to the first wait');
    assert.equal(s.next(false), 2000);
    s.reset();
    assert.equal(s.next(false), 1000);
    const slow = new PollSchedule(30_000);
    const waits = Array.from({ length: 8 }, () => slow.next(false));
    assert.equal(Math.max(...waits), 600_000, 'at most 10 minutes');
    assert.equal(new PollSchedule(3_600_000).next(false), 3_600_000, 'a first wait over 10 minutes is kept as asked');
  });

  it('progress: a batch ended, more lines done or failed, or a new status is progress; the same read twice is not', () => {
    const before = [{ batchId: 'b1', model: 'm', engine: 'openai' as const, requests: 3, state: state('b1', { done: 1 }) }];
    assert.equal(progressed(before, before), false);
    assert.equal(progressed(before, [{ ...before[0], state: state('b1', { done: 2 }) }]), true);
    assert.equal(progressed(before, [{ ...before[0], state: state('b1', { done: 1, status: 'finalizing' }) }]), true);
    assert.equal(progressed(before, [{ ...before[0], state: state('b1', { done: 1, phase: 'ended', status: 'completed' }) }]), true);
    assert.equal(progressed([], before), true, 'the first read');
  });

  it('status line from the ledger file: submitted, running n of m, collecting, done, and a second round seen on its own', async () => {
    assert.equal(batchView({ ledger: await BatchLedger.open(data) }), undefined, 'no batch: no status line');
    const ledger = await BatchLedger.open(data);
    await ledger.append({ kind: 'uploaded', engine: 'openai', model: 'alpha', baseUrl: 'http://x/v1', inputFileId: 'file-1', requests: entries(3), at });
    await ledger.append({ kind: 'submitted', engine: 'openai', model: 'alpha', baseUrl: 'http://x/v1', batchId: 'batch_1', inputFileId: 'file-1', requests: entries(3), at });
    await ledger.append({ kind: 'submitted', engine: 'openai', model: 'beta', baseUrl: 'http://x/v1', batchId: 'batch_2', requests: entries(2, 'q'), at });
    const read = await BatchLedger.open(data);
    assert.deepEqual(pick(batchView({ ledger: read })), { phase: 'submitted', text: 'batch submitted · 5 requests' });
    const states = new Map([['batch_1', state('batch_1', { done: 2 })], ['batch_2', state('batch_2', { total: 2, done: 1, failed: 1 })]]);
    const running = batchView({ ledger: read, states })!;
    assert.deepEqual(pick(running), { phase: 'running', text: 'batch running 3 of 5' });
    assert.deepEqual(running.detail, ['alpha · batch_1: in_progress, 2 of 3 done', 'beta · batch_2: in_progress, 1 of 2 done, 1 failed']);
    assert.equal(batchView({ ledger: read, states, collecting: true })!.phase, 'collecting');
    const failedRead = batchView({ ledger: read, states, readError: 'reading batch batch_1: http://x answered HTTP 401: bad key' })!;
    assert.deepEqual(pick(failedRead), { phase: 'failed', text: 'batch status unknown' });
    assert.match(failedRead.detail[0], /HTTP 401: bad key/);

    await read.append({ kind: 'collected', batchId: 'batch_1', status: 'completed', answered: 3, failed: 0, requeued: 0, at });
    assert.deepEqual(pick(batchView({ ledger: read, states })), { phase: 'running', text: 'batch running 1 of 2' }, 'one of the round still runs');
    await read.append({ kind: 'collected', batchId: 'batch_2', status: 'completed', answered: 1, failed: 1, requeued: 0, at });
    assert.deepEqual(pick(batchView({ ledger: await BatchLedger.open(data) })), { phase: 'done', text: 'batch done · 4 answered, 1 failed' });

    // A second round (the failed row sent again): its own numbers, not the first round's.
    await read.append({ kind: 'submitted', engine: 'openai', model: 'beta', baseUrl: 'http://x/v1', batchId: 'batch_3', requests: entries(1, 'q'), at });
    assert.deepEqual(pick(batchView({ ledger: await BatchLedger.open(data) })), { phase: 'submitted', text: 'batch submitted · 1 request' });
    await read.append({ kind: 'collected', batchId: 'batch_3', status: 'completed', answered: 1, failed: 0, requeued: 0, at });
    assert.deepEqual(pick(batchView({ ledger: await BatchLedger.open(data) })), { phase: 'done', text: 'batch done · 1 answered' });
  });

  it('status line: an expired or cancelled batch names what is left to send again; a batch the provider refused says why', async () => {
    const ledger = await BatchLedger.open(data);
    await ledger.append({ kind: 'submitted', engine: 'anthropic', model: 'alpha', baseUrl: 'http://x/v1', batchId: 'msgbatch_1', requests: entries(10), at });
    await ledger.append({ kind: 'collected', batchId: 'msgbatch_1', status: 'ended', answered: 4, failed: 0, requeued: 6, at });
    assert.deepEqual(pick(batchView({ ledger })), { phase: 'requeued', text: 'batch ended: 4 answered, 6 to send again' });
    await ledger.append({ kind: 'submitted', engine: 'openai', model: 'alpha', baseUrl: 'http://x/v1', batchId: 'batch_9', requests: entries(6), at });
    await ledger.append({ kind: 'collected', batchId: 'batch_9', status: 'failed', answered: 0, failed: 0, requeued: 6, reason: 'The input file must hold requests for a single model', at });
    const refused = batchView({ ledger: await BatchLedger.open(data) })!;
    assert.deepEqual(pick(refused), { phase: 'failed', text: 'batch failed: The input file must hold requests for a single model' });
    assert.match(refused.detail[0], /batch_9: failed; 0 answered, 0 failed, 6 not run/);
  });

  it('probe: an endpoint with the batch API passes; one without it (a plain chat server) or with a refused key is named with the reason', async () => {
    const batch = await BatchServer.start({ requireKey: 'sk-good' });
    const chat = await FakeOpenAIServer.start({});
    try {
      await engineFor('openai', { baseUrl: batch.url, apiKey: 'sk-good' }).probe();
      await engineFor('anthropic', { baseUrl: batch.url, apiKey: 'sk-good' }).probe();
      assert.equal(batch.lists, 2);
      await assert.rejects(engineFor('openai', { baseUrl: chat.url }).probe(), (err: Error) => err instanceof BatchApiError && /HTTP 404/.test(err.message) && /may not offer this batch API/.test(err.message));
      await assert.rejects(engineFor('anthropic', { baseUrl: batch.url, apiKey: 'sk-bad' }).probe(), (err: Error) => err instanceof BatchApiError && /HTTP 401/.test(err.message) && /API key/.test(err.message));
    } finally {
      await batch.close();
      await chat.close();
    }
  });

  it('a result the stores sign reads as scored here to a second copy of the provenance module (the editor bundles stores and runner apart)', () => {
    // dist/extension.js (stores) and dist/engine.js (runner) each carry their own copy of provenance.ts: a batch answer
    // stored by the one and scored by the other was read "from the file" when the mark was a module-private symbol.
    const file = require.resolve('../../src/core/store/provenance');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a second module instance on purpose
    const first = require(file) as typeof import('../../src/core/store/provenance');
    delete require.cache[file];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a second module instance on purpose
    const second = require(file) as typeof import('../../src/core/store/provenance');
    assert.notEqual(first, second, 'two module instances, as in two bundles');
    const key = Buffer.alloc(32, 7);
    const record = { rowId: 'r', model: 'm', output: 'x' };
    first.signRecord(record, key);
    assert.equal(second.isVerified(record), true);
    assert.equal(second.isScoredHere(record), true);
  });

  it('setting batch.pollSeconds: seconds from 1 to 3600 (default 30); anything else is a problem naming the setting', () => {
    const read = (v: unknown) => readSettings({ get: (k) => (k === 'batch.pollSeconds' ? v : undefined) });
    assert.equal(read(undefined).settings.batch.pollSeconds, 30);
    assert.equal(read(2).settings.batch.pollSeconds, 2);
    for (const bad of [0, -1, 7200, 'soon']) {
      const r = read(bad);
      assert.equal(r.settings.batch.pollSeconds, 30);
      assert.equal(r.problems[0]?.key, 'batch.pollSeconds', `${String(bad)} is refused`);
    }
  });
});

function pick(view: { phase: string; text: string } | undefined): { phase: string; text: string } | undefined {
  return view && { phase: view.phase, text: view.text };
}
