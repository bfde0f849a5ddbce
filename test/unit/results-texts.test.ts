import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isScoredHere } from '../../src/core/store/provenance';
import { causeOf } from '../../src/core/report/compare';
import { outputIdentity, ResultsStore, type StoredResult } from '../../src/core/store/results';
import { makeTempDir } from '../support/files';

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
