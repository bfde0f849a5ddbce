import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isScoredHere, isVerified } from '../../src/core/store/provenance';
import { outputIdentity, ResultsStore, type StoredResult } from '../../src/core/store/results';
import { makeTempDir } from '../support/files';

/** A full collection (mocha runs without --expose-gc: the function is taken from a new context, the flag set back). */
function collect(): void {
  setFlagsFromString('--expose-gc');
  try {
    (runInNewContext('gc') as () => void)();
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** A result held as the store holds it, as plain data: its own keys (those with a value), values, fingerprint and mark. */
function heldForm(r: StoredResult | undefined): unknown {
  if (!r) return r;
  // A key read as undefined (dropTexts) is no key; the order is not compared (a blank output is held last, as withoutTexts holds it).
  const keys = Object.keys(r).filter((k) => (r as unknown as Record<string, unknown>)[k] !== undefined).sort();
  return { keys, value: JSON.parse(JSON.stringify(r)) as unknown, identity: outputIdentity(r), verified: isVerified(r), scoredHere: isScoredHere(r) };
}

/**
 * `score` holds each result it appends, without its texts, to count it at the end of the run (issue 23.3): a result of
 * the shapes the scorer writes is held as numbers in columns, made again as the same object when asked for.
 */
describe('results store: results held as numbers', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());

  const embedding = { id: '/models/tiny', dtype: 'fp32' as const, weights: '8114fbfcc4b5' };
  const result = (rowId: string, model: string, extra: Partial<StoredResult> = {}): StoredResult => ({
    rowId, rowHash: '3ffeb51ff7ef7cd0', model, source: 'precomputed', output: `the output of ${rowId} by ${model}`, at: '2026-12-07T19:51:14.380Z', score: 0.25,
    scorer: 'local:/models/tiny:fp32', outputHash: '83f86094bb2e7fac', referenceHash: 'c526ec0063ff6ffd', embedding, ...extra,
  });

  /** Every shape a run appends: the scorer's (a tag, cut texts either way, a negative zero), and those the columns do not hold. */
  const appended = (): StoredResult[] => [
    result('r1', 'ft'),
    result('r1', 'base', { tag: 'ckpt-1200', scoreCut: ['output'] }),
    result('r2', 'ft', { scoreCut: ['reference', 'output'], score: -0, rowHash: '00000000000000ff' }),
    result('r2', 'base', { scoreCut: ['output', 'reference'], source: 'called', promptHash: 'abc', latencyMs: 12, usage: { promptTokens: 3, completionTokens: 4 } }),
    result('r3', 'ft', { score: undefined, scorer: undefined, scoreNote: 'the row has no reference rationale', outputHash: undefined, referenceHash: undefined, embedding: undefined }),
    result('r3', 'base', { output: '  \n', score: undefined, scorer: undefined, scoreNote: 'empty' }),
    result('r4', 'ft', { rowHash: 'NOT-HEX-0123456789', at: 'yesterday' }),
    result('r4', 'base', { error: { kind: 'bad-embedding', message: 'NaN' }, score: undefined }),
    result('r5', 'ft', { nli: { contradiction: 0.1, entailment: 0.8, neutral: 0.1, model: { id: 'nli' } } }),
    result('r5', 'base', { outputFrom: 'file' }),
    result('r1', 'ft', { score: 0.75, at: '2026-12-07T19:51:15.000Z' }), // the latest of (r1, ft): replaces the first
  ];

  it('gives back every result it appended as the object held before (keys, values, output fingerprint, scored-here mark), by latest, forRow and latestResults', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    fs.writeFileSync(data, '{"id":"r1","input":"i","rationale":"r"}\n');
    // A store that holds its results whole, read again without texts, is the reference: the same lines, each held as dropTexts leaves it.
    const store = await ResultsStore.open(data, { texts: false });
    await store.append(appended());
    const reread = await ResultsStore.open(data, { repair: false, readTexts: false });
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) {
      for (const model of ['ft', 'base']) {
        const held = store.latest(id, model)!;
        const read = reread.latest(id, model)!;
        assert.deepEqual(heldForm(held), heldForm(read), `${id}/${model}`);
        assert.equal(held.output, read.output, `${id}/${model}: output (a blank one kept)`);
        if (isScoredHere(held)) assert.deepEqual(heldForm(store.latestScoredHere(id, model)), heldForm(held));
      }
      assert.deepEqual(store.forRow(id).map(heldForm), reread.forRow(id).map((r) => heldForm(store.latest(r.rowId, r.model))), `forRow ${id}: the models in their order`);
    }
    assert.equal(store.latest('r1', 'ft')!.score, 0.75, 'the later line wins');
    assert.ok(Object.is(store.latest('r2', 'ft')!.score, -0), 'a negative zero stays one');
    assert.deepEqual([...store.latestResults()].map((r) => `${r.rowId}/${r.model}`), [...reread.latestResults()].map((r) => `${r.rowId}/${r.model}`));
    assert.deepEqual(store.models(), ['ft', 'base']);
    assert.equal(store.recordCount, appended().length);
  });

  it('holds what a run of 20,000 rows appends in under 200 bytes a result (about 140; as objects, about 310)', async function () {
    this.timeout(60_000);
    const data = path.join(tmp.dir, 'data.jsonl');
    fs.writeFileSync(data, '{"id":"r1","input":"i","rationale":"r"}\n');
    const store = await ResultsStore.open(data, { texts: false });
    const rows = 20_000;
    const batch = (first: number): StoredResult[] => {
      const out: StoredResult[] = [];
      for (let i = first; i < first + 500; i++) {
        const rowHash = (0x3ffeb51f00000000 + i * 7919).toString(16).padStart(16, '0').slice(-16);
        for (const model of ['ft', 'base']) out.push(result(`r${i}`, model, { rowHash, score: i / rows, at: new Date(1_800_000_000_000 + Math.floor(i / 4)).toISOString() }));
      }
      return out;
    };
    await store.append(batch(0)); // the store's code and first growth, before the measure
    collect();
    const before = process.memoryUsage();
    for (let first = 500; first < rows; first += 500) await store.append(batch(first));
    collect();
    const after = process.memoryUsage();
    const perResult = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / (2 * (rows - 500));
    assert.equal(store.latest('r19999', 'base')!.score, 19_999 / rows, 'every result held');
    assert.ok(perResult < 200, `held ${perResult.toFixed(0)} bytes a result`);
  });
});
