import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isScoredHere } from '../../src/core/store/provenance';
import { causeOf } from '../../src/core/report/compare';
import { outputIdentity, ResultsStore, type StoredResult } from '../../src/core/store/results';
import { makeTempDir } from '../support/files';
import { writeScoredDataset } from '../support/storedResults';
import { collectStatisticsRows } from '../../src/core/report/rows';
import { OutputTokens } from '../../src/core/report/rougeL';

/**
 * `score` holds the results it appends without their output texts (issue 23.3: a million rows' texts were held
 * to the end of the run): the file has every text, the store the numbers and keys the counts read.
 */
describe('results store: a run that holds no texts', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());

  const result = (rowId: string, output: string, extra: Partial<StoredResult> = {}): StoredResult => ({
    rowId, rowHash: 'aaaaaaaaaaaaaaaa', model: 'ft', source: 'precomputed', output, score: 0.5, scorer: 'tiny', outputHash: '0123456789abcdef', referenceHash: 'fedcba9876543210', at: new Date(0).toISOString(), ...extra,
  });

  it('appends every text to the file, holds the results without them (a blank output kept), still marked scored here', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    fs.writeFileSync(data, '{"id":"r1","input":"i","rationale":"r"}\n');
    const store = await ResultsStore.open(data, { texts: false });
    const long = 'a long rationale the model wrote '.repeat(20);
    await store.append([result('r1', long, { rawOutput: `<think>x</think>${long}` }), result('r2', '  \n', { score: undefined, scorer: undefined, scoreNote: 'empty' })]);

    const held = store.latest('r1', 'ft')!;
    assert.equal(held.output, undefined, 'no output text held');
    assert.equal(held.rawOutput, undefined);
    assert.equal(held.outputHash, undefined, 'nor the digests of the texts scored (nothing counting reads them)');
    assert.equal(held.referenceHash, undefined);
    assert.equal(held.mac, undefined, 'nor its MAC (read only to verify a line)');
    assert.deepEqual(Object.keys(held), ['rowId', 'rowHash', 'model', 'source', 'score', 'scorer', 'at'], 'held without empty slots for what it dropped');
    assert.equal(held.score, 0.5);
    assert.ok(isScoredHere(held), 'still this installation\'s result');
    assert.equal(store.latest('r2', 'ft')!.output, '  \n', 'a blank output is kept: the counts read it as empty');
    assert.notEqual(outputIdentity(held), undefined, 'the output is still told apart from another by its fingerprint');

    const lines = fs.readFileSync(store.file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as StoredResult);
    assert.equal(lines[0].output, long, 'the file has the text');
    assert.equal(lines[0].rawOutput, `<think>x</think>${long}`);
    assert.equal(lines[0].outputHash, '0123456789abcdef', 'the file has the digests');
    assert.equal(lines[0].referenceHash, 'fedcba9876543210');
    const reopened = await ResultsStore.open(data);
    assert.equal(reopened.latest('r1', 'ft')!.output, long);
    assert.ok(isScoredHere(reopened.latest('r1', 'ft')!));
  });

  it('reads a sidecar without its texts (readTexts: false, as compare reads it): none held, a blank one kept, outputs still told apart as their texts are', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    fs.writeFileSync(data, '{"id":"r1","input":"i","rationale":"r"}\n');
    const writer = await ResultsStore.open(data);
    const long = 'a long rationale the model wrote, \u00e9 and \u{1F600} '.repeat(20);
    await writer.append([
      result('r1', long, { rawOutput: `<think>x</think>${long}` }),
      result('r1', long, { model: 'same' }),
      result('r1', `${long}.`, { model: 'other' }),
      result('r1', long, { model: 'corrected', correction: 'c1' }),
      result('r1', `${long}!`, { model: 'both', correction: 'c1' }),
      result('r2', '  \n', { score: undefined, scorer: undefined, scoreNote: 'empty' }),
    ]);

    const store = await ResultsStore.open(data, { repair: false, readTexts: false });
    const held = store.latest('r1', 'ft')!;
    assert.equal(held.output, undefined, 'no output text held');
    assert.equal(held.rawOutput, undefined);
    assert.equal(held.score, 0.5);
    assert.ok(isScoredHere(held), 'still this installation\'s result');
    assert.equal(store.latest('r2', 'ft')!.output, '  \n', 'a blank output is kept: the counts read it as empty');
    assert.equal(JSON.stringify(held).includes('rationale'), false);

    const cause = (a: string, b: string) => causeOf(store.latest('r1', a)!, store.latest('r1', b)!);
    assert.equal(cause('ft', 'same'), 'model', 'the same text: not the output (nor the reference) changed: reads as the model');
    assert.equal(outputIdentity(store.latest('r1', 'ft')!), outputIdentity(store.latest('r1', 'same')!));
    assert.notEqual(outputIdentity(store.latest('r1', 'ft')!), outputIdentity(store.latest('r1', 'other')!), 'one character more: another output');
    assert.equal(cause('ft', 'corrected'), 'reference', 'same output, another reference');
    assert.equal(cause('ft', 'both'), 'both');
    // The same answers as with the texts held.
    const whole = await ResultsStore.open(data, { repair: false });
    for (const [a, b] of [['ft', 'same'], ['ft', 'other'], ['ft', 'corrected'], ['ft', 'both'], ['other', 'both']]) {
      assert.equal(cause(a, b), causeOf(whole.latest('r1', a)!, whole.latest('r1', b)!), `${a} against ${b}`);
    }
  });
});

/**
 * `report` reads the results sidecar holding each output's token ids, not its text (issue 23.2: two million output
 * strings were most of what report's garbage collector copied and marked at a million rows).
 */
describe('results store: report takes its outputs\' tokens as each line is read', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());

  it('holds no output text past its line, yet ROUGE-L and length ratios are the texts\' own (ASCII, other scripts, a letter that lower-cases to two tokens, long, blank, several references, a judged output kept whole)', async () => {
    const file = path.join(tmp.dir, 'data.jsonl');
    const long = Array.from({ length: 70 }, (_, i) => `Word${i % 9}`).join(' ');
    const rows = [
      { id: 'a', input: 'q', rationale: 'The driver slowed because a pedestrian stepped out' },
      { id: 'b', input: 'q', rationale: 'Straße und Ärger: ÉCOLE fermée' },
      { id: 'c', input: 'q', rationale: ['first reference text here', 'a second, quite different one'] },
      { id: 'd', input: 'q', rationale: long },
      { id: 'e', input: 'q', rationale: 'nothing said' },
    ];
    const outputs: Record<string, [string, string]> = {
      a: ['the DRIVER slowed, because someone stepped out', 'pedestrian pedestrian slowed'],
      b: ['strasse und ärger: école İİİİİİ', 'STRASSE UND ÄRGER ÉCOLE FERMÉE'],
      c: ['a second reference', 'first text'],
      d: [long.toLowerCase().split(' ').reverse().join(' '), `${long} more`],
      e: ['  \n', 'said nothing'],
    };
    const dataset = await writeScoredDataset(file, rows, (i) => {
      const [ft, base] = outputs[rows[i].id];
      return [
        { model: 'ft', output: ft, score: 0.5 + i / 20 },
        { model: 'base', output: base, score: 0.4 + i / 20, ...(i === 1 ? { judge: { model: 'judge', modelId: 'judge', verdict: 'good' as const, promptHash: '0123456789abcdef', at: new Date(0).toISOString() } } : {}) },
      ];
    });
    const models = ['ft', 'base'];
    const withTexts = await collectStatisticsRows(dataset, await ResultsStore.open(file, { repair: false }), [], models);

    const tokens = new OutputTokens();
    const store = await ResultsStore.open(file, { repair: false, readTexts: tokens.take });
    for (const row of rows) {
      const held = store.latest(row.id, 'ft')!;
      if (row.id === 'e') assert.equal(held.output, '  \n', 'a blank output is kept: the counts read it as empty');
      else assert.equal(held.output, undefined, `no output text held (row ${row.id})`);
      assert.ok(isScoredHere(held));
    }
    assert.equal(store.latest('b', 'base')!.output, outputs.b[1], 'a judged output keeps its text: the judge prompt\'s hash is of it');
    assert.equal(store.latest('a', 'base')!.output, undefined);
    const fromTokens = await collectStatisticsRows(dataset, store, [], models, { outputTokens: tokens });
    await dataset.close();

    for (const model of models) {
      const a = withTexts.column(model)!;
      const b = fromTokens.column(model)!;
      assert.deepEqual([...b.rougeL.subarray(0, rows.length)], [...a.rougeL.subarray(0, rows.length)], `${model}: ROUGE-L`);
      assert.deepEqual([...b.lengthRatio.subarray(0, rows.length)], [...a.lengthRatio.subarray(0, rows.length)], `${model}: length ratios`);
      assert.deepEqual([...b.flags.subarray(0, rows.length)], [...a.flags.subarray(0, rows.length)], `${model}: cells present, with an output`);
    }
    assert.ok(withTexts.column('ft')!.rougeL.subarray(0, 4).every((f) => f > 0 && f <= 1), 'the texts overlap: not all zeros compared');
    assert.equal(withTexts.column('ft')!.rougeL[4], 0, 'a blank output: ROUGE-L 0');
  });
});
