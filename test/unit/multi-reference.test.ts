// Several references per row (issue 24.1): e-SNLI ships three explanations per row, as a list or as
// explanation_1..3. The output is scored against each; the row's score is the best match (default) or
// the mean, and which reference matched is stored and reported. Real CLI, real files, the tiny BERT;
// the expected numbers are computed here from the same model's embeddings, by hand.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DatasetReview } from '../../src/core/review/datasetReview';
import { ReviewModel } from '../../src/core/review/reviewModel';
import { createScorer } from '../../src/core/scoring/scorer';
import { runCliCaptured } from '../support/cli';
import { jsonl, makeTempDir, repoRoot } from '../support/files';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

const EXPLANATIONS = [
  ['A dog running is not a cat sleeping.', 'The animal cannot be both a dog and a cat.', 'One cannot run while sleeping on a couch.'],
  ['The man plays a guitar, so he makes music.', 'Playing guitar is making music.', 'A guitar is an instrument and playing it is music.'],
];
const OUTPUTS = ['Nobody can run while they are sleeping on a couch.', 'Playing the guitar is a way of making music.'];
const SINGLE = { reference: 'The woman reads a book in the park.', output: 'A woman is reading in a park.' };

type Cell = { status: string; score?: number; matchedReference?: number; referenceScores?: (number | null)[]; multiReference?: string; rougeL?: number };
type RowsDoc = { rows: Array<{ id: string; results: Record<string, Cell> }> };

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe('several references per row (best match or mean; which one matched)', function () {
  this.timeout(180_000);
  const tmp = makeTempDir('pisar-multiref-');
  after(() => tmp.cleanup());
  const cache = path.join(tmp.dir, 'cache');
  const common = ['--embedding-model', TINY, '--cache-dir', cache];

  /** Cosines of each output against each of its references, from the model's embeddings (independent of the runner). */
  let expected: number[][];
  let single: number;
  before(async () => {
    const scorer = createScorer({ provider: 'local', model: TINY, dtype: 'fp32', cacheDir: path.join(tmp.dir, 'independent') });
    try {
      const texts = [...OUTPUTS, ...EXPLANATIONS.flat(), SINGLE.output, SINGLE.reference];
      const vectors = await scorer.embed(texts);
      const at = (t: string) => vectors[texts.indexOf(t)];
      expected = OUTPUTS.map((o, i) => EXPLANATIONS[i].map((r) => dot(at(o), at(r))));
      single = dot(at(SINGLE.output), at(SINGLE.reference));
    } finally {
      await scorer.dispose();
    }
  });

  const rowsOf = async (file: string, extra: string[] = []): Promise<RowsDoc['rows']> => {
    const report = await runCliCaptured(['report', file, '--rows', '--json', ...extra]);
    assert.equal(report.code, 0, report.stderr);
    return (JSON.parse(report.stdout) as RowsDoc).rows;
  };
  const best = (scores: number[]) => Math.max(...scores);
  const argmax = (scores: number[]) => scores.indexOf(best(scores));
  const mean = (scores: number[]) => scores.reduce((s, v) => s + v, 0) / scores.length;

  it('a list of references is scored against each: the best match by default, with the matched one named; inspect has no warning', async () => {
    const file = path.join(tmp.dir, 'list.jsonl');
    writeFileSync(file, jsonl([
      ...EXPLANATIONS.map((refs, i) => ({ id: `r${i}`, input: 'premise / hypothesis', rationale: refs, outputs: { m: OUTPUTS[i] } })),
      { id: 'one', input: 'p', rationale: SINGLE.reference, outputs: { m: SINGLE.output } },
    ]));
    const inspect = await runCliCaptured(['inspect', file, '--json']);
    assert.deepEqual((JSON.parse(inspect.stdout) as { findings: unknown[] }).findings, [], 'a list of texts is a reference, not a bad field');

    const scored = await runCliCaptured(['score', file, '--json', ...common]);
    assert.equal(scored.code, 0, scored.stderr);
    const rows = await rowsOf(file);
    for (let i = 0; i < EXPLANATIONS.length; i++) {
      const cell = rows.find((r) => r.id === `r${i}`)!.results.m;
      assert.equal(cell.status, 'scored');
      assert.ok(Math.abs(cell.score! - best(expected[i])) < 1e-5, `row r${i}: ${cell.score} vs best ${best(expected[i])}`);
      assert.equal(cell.matchedReference, argmax(expected[i]));
      assert.equal(cell.multiReference, 'best');
      cell.referenceScores!.forEach((s, k) => assert.ok(Math.abs(s! - expected[i][k]) < 1e-5));
    }
    assert.equal(argmax(expected[0]), 2, 'the output paraphrases the third explanation, so the third matched');
    const one = rows.find((r) => r.id === 'one')!.results.m;
    assert.ok(Math.abs(one.score! - single) < 1e-5);
    assert.equal(one.matchedReference, undefined, 'a row with one reference is scored as before');

    // --multi-reference mean: the stored best-of scores are redone as the mean (no model to call: precomputed outputs).
    // The panel's row detail lists the references and names the one each output matched.
    const review = await DatasetReview.open(file, { threshold: 0.7, models: [] });
    try {
      const detail = (await new ReviewModel(() => review, () => ({ labels: [], canScore: true })).rowDetail(0))!;
      assert.deepEqual(detail.references, EXPLANATIONS[0]);
      const k = argmax(expected[0]);
      assert.equal(detail.outputs[0].matched, `best of 3 references: matched #${k + 1} (${expected[0].map((v, i) => `#${i + 1} ${v.toFixed(3)}`).join(' · ')})`);
      const plain = (await new ReviewModel(() => review, () => ({ labels: [], canScore: true })).rowDetail(2))!;
      assert.equal(plain.references, undefined, 'one reference: no list');
      assert.equal(plain.outputs[0].matched, undefined);
    } finally {
      await review.dataset.close();
    }

    const meaned = await runCliCaptured(['score', file, '--json', '--multi-reference', 'mean', ...common]);
    assert.equal(meaned.code, 0, meaned.stderr);
    const after = await rowsOf(file);
    for (let i = 0; i < EXPLANATIONS.length; i++) {
      const cell = after.find((r) => r.id === `r${i}`)!.results.m;
      assert.ok(Math.abs(cell.score! - mean(expected[i])) < 1e-5, `row r${i}: ${cell.score} vs mean ${mean(expected[i])}`);
      assert.equal(cell.multiReference, 'mean');
      assert.equal(cell.matchedReference, argmax(expected[i]), 'the best match is still named under the mean');
    }
  });

  it('several mapped reference fields (e-SNLI explanation_1..3, config list or repeated --field) are each a reference', async () => {
    const rows = EXPLANATIONS.map((refs, i) => ({ id: `r${i}`, input: 'p', explanation_1: refs[0], explanation_2: refs[1], explanation_3: refs[2], outputs: { m: OUTPUTS[i] } }));
    const file = path.join(tmp.dir, 'esnli.jsonl');
    writeFileSync(file, jsonl(rows));
    const config = path.join(tmp.dir, 'config.json');
    writeFileSync(config, JSON.stringify({ fieldMapping: { reference: ['explanation_1', 'explanation_2', 'explanation_3'] }, scoring: { multiReference: 'mean' } }));
    const scored = await runCliCaptured(['score', file, '--json', '--config', config, ...common]);
    assert.equal(scored.code, 0, scored.stderr);
    const viaConfig = await rowsOf(file, ['--config', config]);
    for (let i = 0; i < EXPLANATIONS.length; i++) {
      const cell = viaConfig.find((r) => r.id === `r${i}`)!.results.m;
      assert.ok(Math.abs(cell.score! - mean(expected[i])) < 1e-5, 'the config\'s scoring.multiReference "mean" is the mean over the three fields');
      assert.equal(cell.matchedReference, argmax(expected[i]));
    }

    const flags = ['--field', 'reference=explanation_1', '--field', 'reference=explanation_2', '--field', 'reference=explanation_3'];
    const file2 = path.join(tmp.dir, 'esnli2.jsonl');
    writeFileSync(file2, jsonl(rows));
    const again = await runCliCaptured(['score', file2, '--json', ...flags, ...common]);
    assert.equal(again.code, 0, again.stderr);
    const viaFlags = await rowsOf(file2, flags);
    for (let i = 0; i < EXPLANATIONS.length; i++) {
      const cell = viaFlags.find((r) => r.id === `r${i}`)!.results.m;
      assert.ok(Math.abs(cell.score! - best(expected[i])) < 1e-5, 'repeated --field reference= flags: best of the three');
    }
  });

  it('a bad list in the mapping names the setting and the fix; a list holding a non-text item keeps the texts and warns', async () => {
    const config = path.join(tmp.dir, 'bad.json');
    writeFileSync(config, JSON.stringify({ fieldMapping: { reference: ['explanation_1', 3] } }));
    const file = path.join(tmp.dir, 'mixed.jsonl');
    writeFileSync(file, jsonl([{ id: 'x', input: 'p', rationale: [EXPLANATIONS[0][0], 7, EXPLANATIONS[0][2]], outputs: { m: OUTPUTS[0] } }]));
    const bad = await runCliCaptured(['inspect', file, '--config', config]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /fieldMapping\.reference: must be a JSON key, or a list of JSON keys/);

    const inspect = await runCliCaptured(['inspect', file, '--json']);
    const findings = (JSON.parse(inspect.stdout) as { findings: Array<{ line: number; code: string; message: string }> }).findings;
    assert.deepEqual(findings.map((f) => [f.line, f.code]), [[1, 'bad-field']]);
    assert.match(findings[0].message, /not text; it was left out/);
    const scored = await runCliCaptured(['score', file, '--json', ...common]);
    assert.equal(scored.code, 0, scored.stderr);
    const cell = (await rowsOf(file))[0].results.m;
    assert.ok(Math.abs(cell.score! - Math.max(expected[0][0], expected[0][2])) < 1e-5, 'scored against the two texts');
    assert.equal(cell.referenceScores!.length, 2);
  });
});
