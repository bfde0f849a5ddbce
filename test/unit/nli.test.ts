// The contradiction check's model path (issue 24.3): the product's NLI code, on the project's own tiny
// cross-encoder (scripts/fixtures/make_nli.py), gives the probabilities PyTorch/transformers gave for the
// same pairs (test/fixtures/nli/pairs.json), label by label as config.json's id2label names them.
import * as assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createNliChecker, labelIndexes, longestFirst, type NliProbabilities } from '../../src/core/scoring/nli';
import { makeTempDir, repoRoot } from '../support/files';

const NLI = path.join(repoRoot, 'test', 'fixtures', 'models', 'nli');

interface ReferencePair {
  premise: string;
  hypothesis: string;
  madeAs: string;
  tokens: number;
  probabilities: NliProbabilities;
}

const fixture = JSON.parse(readFileSync(path.join(repoRoot, 'test', 'fixtures', 'nli', 'pairs.json'), 'utf8')) as { pairs: ReferencePair[] };

describe('contradiction check: the NLI cross-encoder through the ONNX runtime', function () {
  this.timeout(120_000);
  const tmp = makeTempDir('pisar-nli-');
  after(() => tmp.cleanup());

  it('gives the reference probabilities (PyTorch) for every committed pair, within 1e-4, batched together', async () => {
    const checker = createNliChecker({ model: NLI, cacheDir: path.join(tmp.dir, 'cache'), batchSize: 4 });
    try {
      const got = await checker.check(fixture.pairs.map((p) => ({ premise: p.premise, hypothesis: p.hypothesis })));
      assert.equal(got.length, fixture.pairs.length);
      fixture.pairs.forEach((p, i) => {
        for (const label of ['entailment', 'neutral', 'contradiction'] as const) {
          assert.ok(Math.abs(got[i][label] - p.probabilities[label]) < 1e-4, `pair ${i} (${p.madeAs}) ${label}: ${got[i][label]} vs reference ${p.probabilities[label]}`);
        }
      });
      // The fixture holds a pair longer than the model reads: the output (hypothesis) must survive the cut.
      assert.ok(fixture.pairs.some((p) => p.tokens === 128), 'the fixture has a pair cut to the model\'s 128 word pieces');
      assert.ok(checker.identity().weights?.match(/^[0-9a-f]{12}$/), 'the weights hash is known once the model is on disk');
      assert.equal(checker.identity().id, NLI);
    } finally {
      await checker.dispose();
    }
  });

  it('runs the model in a worker thread: the calling thread never loads transformers.js, and a cancelled check is refused', async () => {
    const ofTransformers = (k: string): boolean => k.includes(`${path.sep}@huggingface${path.sep}transformers${path.sep}`);
    assert.equal(Object.keys(require.cache).some(ofTransformers), false, 'nothing before the check has loaded it here');
    const checker = createNliChecker({ model: NLI, cacheDir: path.join(tmp.dir, 'cache') });
    try {
      const [p] = await checker.check([{ premise: fixture.pairs[0].premise, hypothesis: fixture.pairs[0].hypothesis }]);
      assert.ok(Math.abs(p.contradiction - fixture.pairs[0].probabilities.contradiction) < 1e-4);
      assert.equal(Object.keys(require.cache).some(ofTransformers), false, 'the NLI model must run in its worker thread, not on the calling thread');
      const controller = new AbortController();
      const checking = checker.check([{ premise: 'a', hypothesis: 'b' }], { signal: controller.signal });
      controller.abort();
      await assert.rejects(checking, (error: Error & { code?: string }) => error.code === 'cancelled');
    } finally {
      await checker.dispose();
    }
  });

  it('reads the label order from config.json: the same weights with id2label permuted give permuted probabilities', async () => {
    const folder = path.join(tmp.dir, 'relabelled');
    cpSync(NLI, folder, { recursive: true });
    const config = JSON.parse(readFileSync(path.join(folder, 'config.json'), 'utf8')) as { id2label: Record<string, string>; label2id: Record<string, number> };
    // Logit 0 now says contradiction, 2 entailment.
    config.id2label = { 0: 'contradiction', 1: 'neutral', 2: 'entailment' };
    config.label2id = { contradiction: 0, neutral: 1, entailment: 2 };
    writeFileSync(path.join(folder, 'config.json'), JSON.stringify(config));
    const checker = createNliChecker({ model: folder, cacheDir: path.join(tmp.dir, 'cache') });
    try {
      const pair = fixture.pairs.find((p) => p.madeAs === 'contradiction')!;
      const [got] = await checker.check([{ premise: pair.premise, hypothesis: pair.hypothesis }]);
      assert.ok(Math.abs(got.entailment - pair.probabilities.contradiction) < 1e-4, `${got.entailment} vs ${pair.probabilities.contradiction}`);
      assert.ok(Math.abs(got.contradiction - pair.probabilities.entailment) < 1e-4);
    } finally {
      await checker.dispose();
    }
  });

  it('a model whose labels name no contradiction is refused with the setting to change', () => {
    assert.throws(() => labelIndexes({ 0: 'POSITIVE', 1: 'NEGATIVE' }, 'some/sentiment'), /names no "contradiction" label.*pisarReview\.contradiction\.model/);
    assert.deepEqual(labelIndexes({ 0: 'CONTRADICTION', 1: 'Entailment', 2: 'neutral' }, 'x'), { contradiction: 0, entailment: 1, neutral: 2 });
  });

  it('a folder that is not there says which and what to set', async () => {
    const checker = createNliChecker({ model: path.join(tmp.dir, 'nowhere'), cacheDir: path.join(tmp.dir, 'cache') });
    await assert.rejects(checker.check([{ premise: 'a', hypothesis: 'b' }]), /NLI model folder .*nowhere does not exist.*--nli-model/);
  });

  it('cuts a pair as tokenizers\' longest_first does', () => {
    assert.deepEqual(longestFirst(10, 5, 20), [10, 5]);
    assert.deepEqual(longestFirst(200, 5, 125), [120, 5]);
    assert.deepEqual(longestFirst(5, 200, 125), [5, 120]);
    assert.deepEqual(longestFirst(100, 90, 125), [63, 62]);
    assert.deepEqual(longestFirst(90, 100, 125), [62, 63]);
  });
});
