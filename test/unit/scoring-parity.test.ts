// The product's scores against sentence-transformers, the reference implementation of the metric: a small
// BERT saved both as a sentence-transformers model and as the ONNX folder the product loads, with the
// reference cosines computed once by sentence-transformers (scripts/fixtures/make_parity.py; committed).
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createScorer, type EmbeddingSettings, type Scorer } from '../../src/core/scoring/scorer';
import { makeTempDir, repoRoot } from '../support/files';

const MODEL = path.join(repoRoot, 'test', 'fixtures', 'models', 'parity');

interface PairsFixture {
  maxSeqLength: number;
  texts: string[];
  pieces: number[][];
  pairs: Array<[number, number]>;
  scores: number[];
}

const fixture = JSON.parse(readFileSync(path.join(repoRoot, 'test', 'fixtures', 'parity', 'pairs.json'), 'utf8')) as PairsFixture;

describe('scorer parity with sentence-transformers (fp32, real ONNX inference)', function () {
  this.timeout(180_000);
  const tmp = makeTempDir('pisar-parity-');
  let scorer: Scorer | undefined;

  afterEach(async () => {
    await scorer?.dispose();
    scorer = undefined;
  });
  after(() => tmp.cleanup());

  const settings = (overrides: Partial<EmbeddingSettings> = {}): EmbeddingSettings => ({
    provider: 'local', model: MODEL, dtype: 'fp32', cacheDir: path.join(tmp.dir, String(Math.random())), local: { workers: 1 }, ...overrides,
  });

  it(`scores ${fixture.pairs.length} pairs (long, accented, CJK, Arabic, emoji, marks, controls, whitespace) within 1e-6 of sentence-transformers`, async () => {
    const long = fixture.pieces.filter((p) => p.length + 2 > fixture.maxSeqLength).length;
    assert.ok(fixture.pairs.length >= 500 && long >= 20, `the fixture holds ${fixture.pairs.length} pairs, ${long} texts past the maximum length`);
    scorer = createScorer(settings());
    const pairs = fixture.pairs.map(([a, b]) => ({ output: fixture.texts[a], reference: fixture.texts[b] }));
    const scores = await scorer.scorePairs(pairs);
    const off = scores
      .map((score, i) => ({ i, score, want: fixture.scores[i], gap: Math.abs(score - fixture.scores[i]) }))
      .filter((x) => !(x.gap <= 1e-6))
      .sort((a, b) => b.gap - a.gap);
    assert.deepEqual(
      off.slice(0, 5).map((x) => `pair ${x.i} ${JSON.stringify(fixture.texts[fixture.pairs[x.i][0]].slice(0, 40))}: ${x.score} vs ${x.want}`),
      [],
      `${off.length} of ${scores.length} scores differ from sentence-transformers by more than 1e-6`,
    );
  });

  it('reads the maximum length from sentence_bert_config.json and flags exactly the texts sentence-transformers cuts', async () => {
    scorer = createScorer(settings());
    assert.deepEqual({ maxLength: scorer.identity().maxLength, source: scorer.identity().maxLengthSource }, { maxLength: fixture.maxSeqLength, source: 'sentence_bert_config.json' });
    await scorer.embed(fixture.texts);
    const cut = await scorer.cutTexts(fixture.texts);
    assert.deepEqual(cut, fixture.pieces.map((p) => p.length + 2 > fixture.maxSeqLength));
  });

  it('q8: a text\'s vector does not depend on the texts batched with it (bit for bit, one text at a time vs batches)', async () => {
    const texts = fixture.texts.slice(0, 120);
    scorer = createScorer(settings({ dtype: 'q8' }));
    const batched = await scorer.embed(texts);
    await scorer.dispose();
    // The same texts one per model run (batches of one), in the reverse order.
    scorer = createScorer(settings({ dtype: 'q8', local: { workers: 1, batchSize: 1 } }));
    const alone = (await scorer.embed([...texts].reverse())).reverse();
    const differing = texts.filter((_, i) => Buffer.compare(Buffer.from(batched[i].buffer, batched[i].byteOffset, batched[i].byteLength), Buffer.from(alone[i].buffer, alone[i].byteOffset, alone[i].byteLength)) !== 0);
    assert.equal(differing.length, 0, `${differing.length} of ${texts.length} q8 vectors change with their batch`);
  });
});
