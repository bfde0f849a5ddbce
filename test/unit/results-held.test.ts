import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { installationKey, isScoredHere, isVerified, signRecord } from '../../src/core/store/provenance';
import { outputIdentity, ResultsStore, type StoredResult } from '../../src/core/store/results';
import { OutputTokens } from '../../src/core/report/rougeL';
import { isEmptyOutput } from '../../src/core/rules/rules';
import { makeTempDir } from '../support/files';

const execFileAsync = promisify(execFile);

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

  it('keeps a row\'s models in their order, the latest of each, as results held as objects are kept: many models, some replaced, objects among them', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    fs.writeFileSync(data, '{"id":"r1","input":"i","rationale":"r"}\n');
    const store = await ResultsStore.open(data, { texts: false });
    const models = Array.from({ length: 20 }, (_, k) => `m${k}`);
    const lines: StoredResult[] = [];
    // Row a: 20 models (past the 16 an array holds), the first, a middle and the last replaced, one held as an object
    // (a call's usage) in the middle. Row b: two models, the first replaced by a result held as an object, then by one
    // held in the columns again. Row c: one model replaced three times.
    for (const [k, m] of models.entries()) lines.push(result('a', m, { score: k / 100, ...(k === 9 ? { usage: { promptTokens: 1 } } : {}) }));
    for (const m of ['m0', 'm10', 'm19', 'm0']) lines.push(result('a', m, { score: 0.99, at: '2026-12-07T20:00:00.000Z' }));
    lines.push(result('b', 'ft'), result('b', 'base'), result('b', 'ft', { error: { kind: 'timeout', message: 't' }, score: undefined }), result('b', 'ft', { score: 0.5 }));
    for (let n = 0; n < 4; n++) lines.push(result('c', 'ft', { score: n / 10 }));
    // Appended in pieces, as a run appends them.
    for (let i = 0; i < lines.length; i += 3) await store.append(lines.slice(i, i + 3));
    const reread = await ResultsStore.open(data, { repair: false, readTexts: false });
    for (const id of ['a', 'b', 'c']) {
      assert.deepEqual(store.forRow(id).map(heldForm), reread.forRow(id).map(heldForm), `row ${id}`);
      for (const m of [...models, 'ft', 'base']) assert.deepEqual(heldForm(store.latest(id, m)), heldForm(reread.latest(id, m)), `${id}/${m}`);
    }
    assert.deepEqual(store.forRow('a').map((r) => r.model), models);
    assert.deepEqual(store.forRow('c').map((r) => r.score), [0.3]);
    assert.deepEqual([...store.latestResults()].map((r) => `${r.rowId}/${r.model}/${r.score}`), [...reread.latestResults()].map((r) => `${r.rowId}/${r.model}/${r.score}`));
  });

  it('holds what a run of 20,000 rows appends in under 100 bytes a result (about 85; columns grown by doubling, about 110; with an array a row, about 145; as objects, about 310)', async function () {
    this.timeout(60_000);
    // Measured in a process of its own: in this one, what other tests left running allocates between the two measures.
    const { stdout } = await execFileAsync(process.execPath, [path.join(__dirname, '..', 'support', 'heldMemoryChild.js'), tmp.dir, '20000']);
    const { perResult, lastScore } = JSON.parse(stdout) as { perResult: number; lastScore: number };
    assert.equal(lastScore, 19_999 / 20_000, 'every result held');
    assert.ok(perResult < 100, `held ${perResult.toFixed(0)} bytes a result`);
  });
});

/**
 * compare and report read two million results and count them (issue 23.2): each result read from the file without its
 * texts is held as numbers in the columns where its shape allows, and made again as the object read whole would be held.
 */
describe('results store: results read from the file held as numbers', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());

  const at = '2026-12-07T19:51:14.380Z';
  const base = (rowId: string, model: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    rowId, rowHash: '3ffeb51ff7ef7cd0', model, source: 'precomputed', output: `the output of ${rowId} by ${model}, Straße ÉCOLE \u{1F600}`, score: 0.25, scorer: 'local:/models/tiny:fp32', at, ...extra,
  });
  const signedLine = (record: Record<string, unknown>): string => {
    const copy = { ...record };
    signRecord(copy, installationKey());
    return JSON.stringify(copy);
  };
  const embedding = { id: '/models/tiny', dtype: 'fp32', weights: '8114fbfcc4b5' };

  /** Lines of every kind a sidecar holds: the scorer's shapes, signed, and hostile ones (unsigned, tampered, odd MACs, CRLF, shapes the columns do not hold). */
  function hostileLines(): string[] {
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `r${i}`;
      const v = i % 20;
      const ft = base(id, 'ft', { score: i / 40 - 0.5, ...(i % 3 === 0 ? { output: 'the same text for several rows' } : {}) });
      const extra: Record<string, unknown>[] = [
        {}, { embedding: { ...embedding } }, { embedding, tag: 'ckpt-1', scoreCut: ['output'] }, { scoreCut: ['reference', 'output'], score: -0 },
        { outputHash: '0123456789abcdef', referenceHash: 'fedcba9876543210' }, { output: '  \n', score: undefined, scorer: undefined, scoreNote: 'empty' },
        { rowHash: '3FFEB51FF7EF7CD0' }, { rowHash: 'abc' }, { error: { kind: 'timeout', message: 'took 30000 ms' }, output: undefined, score: undefined, scorer: undefined },
        { judge: { model: 'ft', modelId: 'ft', promptHash: 'abcdef0123456789', verdict: 'good', at } }, { nli: { contradiction: 0.7, entailment: 0.2, neutral: 0.1, model: { id: 'nli' } } },
        { outputFrom: 'file' }, { usage: { promptTokens: 3 }, latencyMs: 12 }, { correction: 'c1', originalScore: 0.5 }, { source: 'called', answeredBy: 'other' },
        { rawOutput: '<think>x</think>text' }, { embedding: { id: 'e', nested: { a: 1 } } }, { tag: `tag-${i}` }, { score: 1.5 }, {},
      ];
      const b = base(id, 'base', extra[v]);
      const line = signedLine(b);
      lines.push(signedLine(ft));
      // The base model's line, written each way a line reaches a sidecar.
      if (i % 7 === 1) lines.push(JSON.stringify(b)); // unsigned
      else if (i % 7 === 2) lines.push(line.replace(/"mac":"([0-9a-f]+)"/, (_, mac: string) => `"mac":"${mac.toUpperCase()}"`));
      else if (i % 7 === 3) lines.push(line.replace('"score":0.25', '"score":0.75')); // tampered
      else if (i % 7 === 4) lines.push(`${line}\r`);
      else if (i % 7 === 5) lines.push(JSON.stringify({ mac: (JSON.parse(line) as { mac: string }).mac, ...b })); // the MAC first
      else lines.push(line);
      if (i % 9 === 4) lines.push(signedLine(base(id, 'ft', { score: 0.9, at: '2026-12-07T19:51:15.000Z' }))); // a later line replaces the first
      if (i % 9 === 5) lines.push(JSON.stringify(base(id, 'ft', { score: 0.1 }))); // a later unsigned line: read from the file, the signed one still counts
    }
    return lines;
  }

  /** A result as held without its texts, from the one read whole: no output (a blank one kept), raw output nor digests (an unchecked MAC stays). */
  const withoutTexts = (r: StoredResult): Record<string, unknown> => {
    const kept: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(r)) {
      if (value === undefined || ['rawOutput', 'outputHash', 'referenceHash'].includes(key) || (key === 'output' && !isEmptyOutput(value as string))) continue;
      kept[key] = value;
    }
    return kept;
  };
  const plain = (r: StoredResult | undefined): unknown => r && { value: Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)), verified: isVerified(r), scoredHere: isScoredHere(r) };
  /** What a result read whole is held as by a store that reads no texts (plain's form). */
  const expectedOf = (w: StoredResult | undefined): unknown => w && { value: withoutTexts(w), verified: isVerified(w), scoredHere: isScoredHere(w) };

  it('gives back each result compare reads (readTexts: false) as the result read whole less its texts: keys in order, values, mark, outputs told apart as their texts are', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    fs.writeFileSync(data, '{"id":"r1","input":"i","rationale":"r"}\n');
    fs.writeFileSync(path.join(tmp.dir, 'data.pisar-results.jsonl'), `${hostileLines().join('\n')}\n`);
    const whole = await ResultsStore.open(data, { repair: false });
    const read = await ResultsStore.open(data, { repair: false, readTexts: false });
    assert.deepEqual(read.problems, whole.problems);
    const pairs: [StoredResult, StoredResult][] = [];
    for (let i = 0; i < 40; i++) {
      for (const model of ['ft', 'base']) {
        const w = whole.latest(`r${i}`, model);
        const r = read.latest(`r${i}`, model);
        assert.deepEqual(plain(r), expectedOf(w), `r${i}/${model}`);
        if (!w || !r) continue;
        assert.deepEqual(Object.keys(r).filter((k) => (r as unknown as Record<string, unknown>)[k] !== undefined), Object.keys(withoutTexts(w)), `r${i}/${model}: keys in order`);
        assert.ok(Object.is(r.score, w.score), `r${i}/${model}: score ${String(w.score)}`);
        assert.deepEqual(plain(read.latestScoredHere(`r${i}`, model)), expectedOf(whole.latestScoredHere(`r${i}`, model)), `r${i}/${model}: scored here`);
        if (w.output !== undefined && !isEmptyOutput(w.output)) assert.equal(typeof outputIdentity(r), 'number', `r${i}/${model}: the output held by its fingerprint`);
        pairs.push([w, r]);
      }
    }
    assert.ok(pairs.length >= 70, `${pairs.length} results compared`);
    assert.ok(pairs.filter(([w]) => isScoredHere(w)).length >= 40, 'most of them scored here');
    for (const [w1, r1] of pairs) for (const [w2, r2] of pairs) if (w1.output !== undefined && w2.output !== undefined) assert.equal(outputIdentity(r1) === outputIdentity(r2), w1.output === w2.output);
    assert.deepEqual([...read.latestResults()].map((r) => `${r.rowId}/${r.model}/${r.score}`), [...whole.latestResults()].map((r) => `${r.rowId}/${r.model}/${r.score}`));
    assert.deepEqual(read.models(), whole.models());
  });

  it('gives back each result report reads (readTexts: its output\'s tokens taken) as the result read whole, its output held as those tokens', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    fs.writeFileSync(data, '{"id":"r1","input":"i","rationale":"r"}\n');
    fs.writeFileSync(path.join(tmp.dir, 'data.pisar-results.jsonl'), `${hostileLines().join('\n')}\n`);
    const whole = await ResultsStore.open(data, { repair: false });
    const tokens = new OutputTokens();
    const read = await ResultsStore.open(data, { repair: false, readTexts: tokens.take });
    for (let i = 0; i < 40; i++) {
      for (const model of ['ft', 'base']) {
        const w = whole.latest(`r${i}`, model);
        const r = read.latest(`r${i}`, model);
        if (!w || !r) {
          assert.equal(r, w, `r${i}/${model}`);
          continue;
        }
        // Taken as tokens: a non-blank output with no judge verdict (whose prompt's hash is of the text); its digests stay.
        const taken = w.output !== undefined && !isEmptyOutput(w.output) && w.judge === undefined;
        const expected = Object.fromEntries(Object.entries(w).filter(([k, v]) => v !== undefined && !(taken && k === 'output')));
        assert.deepEqual(plain(r), { value: expected, verified: isVerified(w), scoredHere: isScoredHere(w) }, `r${i}/${model}`);
        if (w.output !== undefined) assert.deepEqual(Array.from(tokens.of(r)!), Array.from(tokens.ids.of(w.output)), `r${i}/${model}: the output's tokens`);
        else assert.equal(tokens.of(r), undefined);
      }
    }
  });

  it('holds what compare reads of 20,000 rows in under 200 bytes a result (about 115; as objects, over 1,000)', async function () {
    this.timeout(60_000);
    const { stdout } = await execFileAsync(process.execPath, [path.join(__dirname, '..', 'support', 'heldMemoryChild.js'), tmp.dir, '20000', 'read']);
    const { perResult, lastScore, scoredHere } = JSON.parse(stdout) as { perResult: number; lastScore: number; scoredHere: boolean };
    assert.equal(lastScore, 19_999 / 20_000, 'every result held');
    assert.ok(scoredHere, 'its MAC checked as it was read');
    assert.ok(perResult < 200, `held ${perResult.toFixed(0)} bytes a result`);
  });
});
