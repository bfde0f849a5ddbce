import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { ReportDocument } from '../../src/cli/commands/report';
import { runCliCaptured } from '../support/cli';
import { makeTempDir } from '../support/files';
import { writeScoredDataset } from '../support/storedResults';

const LABELS = ['entailment', 'neutral', 'contradiction'];
const N = 30;
const labelOf = (i: number) => (i === 29 ? undefined : i === 28 ? { nested: true } : LABELS[i % 3]);
const ft = (i: number) => 0.5 + ((i * 37) % 45) / 100;
const gpt = (i: number) => 0.3 + ((i * 11) % 40) / 100;

async function setup(dir: string): Promise<string> {
  const file = path.join(dir, 'esnli.jsonl');
  const rows = Array.from({ length: N }, (_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: `reason ${i}`, ...(labelOf(i) !== undefined ? { label: labelOf(i) } : {}) }));
  await writeScoredDataset(file, rows, (i) => [
    { model: 'ft', output: 'a', score: ft(i) },
    // gpt failed on every fifth row: that slice's pairs count only the rows both scored.
    ...(i % 5 !== 0 ? [{ model: 'gpt', output: 'b', score: gpt(i) }] : []),
  ]);
  return file;
}

describe('report --slice: the numbers per value of a metadata field', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());

  it('gives each value its mean, share and paired test, equal to a hand computation over its rows', async () => {
    const file = await setup(tmp.dir);
    const r = await runCliCaptured(['report', file, '--json', '--slice', 'label'], { cwd: tmp.dir });
    assert.equal(r.code, 0, r.stderr);
    const slices = (JSON.parse(r.stdout) as ReportDocument).statistics.slices!;
    assert.equal(slices.field, 'label');
    const values = ['entailment', 'neutral', 'contradiction', '(none)', '(not a scalar)'];
    assert.deepEqual(new Set(slices.slices.map((s) => s.value)), new Set(values));
    assert.deepEqual(slices.slices.map((s) => s.rows), [10, 9, 9, 1, 1], 'largest first, ties by value');
    for (const slice of slices.slices) {
      const rows = Array.from({ length: N }, (_, i) => i).filter((i) => {
        const l = labelOf(i);
        return slice.value === (l === undefined ? '(none)' : typeof l === 'string' ? l : '(not a scalar)');
      });
      const ftScores = rows.map(ft);
      const gptRows = rows.filter((i) => i % 5 !== 0);
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      const ftView = slice.models.find((m) => m.model === 'ft')!;
      assert.equal(ftView.n, rows.length);
      assert.ok(Math.abs(ftView.mean!.value - mean(ftScores)) < 1e-12, `${slice.value} ft mean`);
      assert.ok(Math.abs(ftView.shareAtLeast!.value - ftScores.filter((s) => s >= 0.7).length / rows.length) < 1e-12, `${slice.value} ft share`);
      const gptView = slice.models.find((m) => m.model === 'gpt')!;
      assert.equal(gptView.n, gptRows.length);
      const pair = slice.pairs.find((p) => p.a === 'ft' && p.b === 'gpt')!;
      assert.equal(pair.n, gptRows.length, `${slice.value}: rows both scored`);
      if (pair.n > 0) assert.ok(Math.abs(pair.meanDifference!.value - mean(gptRows.map((i) => gpt(i) - ft(i)))) < 1e-12, `${slice.value} mean b - a`);
    }

    const md = await runCliCaptured(['report', file, '--slice', 'label'], { cwd: tmp.dir });
    assert.match(md.stdout, /Slices by label \(5 values\)/);
    assert.match(md.stdout, /\| entailment +\| 10 +\| ft +\| 10 +\|/);
    assert.match(md.stdout, /Paired tests by label/);
    const csv = await runCliCaptured(['report', file, '--format', 'csv', '--slice', 'label'], { cwd: tmp.dir });
    assert.match(csv.stdout, /# slices\r\nvalue,rows,model,n,mean/);
    assert.match(csv.stdout, /# slice pairs\r\nvalue,model_a,model_b/);
  });

  it('without --slice the report has no slices; an empty --slice is exit 2 with the fix', async () => {
    const file = await setup(tmp.dir);
    const doc = JSON.parse((await runCliCaptured(['report', file, '--json'], { cwd: tmp.dir })).stdout) as ReportDocument;
    assert.equal(doc.statistics.slices, undefined);
    const bad = await runCliCaptured(['report', file, '--slice', ' '], { cwd: tmp.dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--slice: name the field/);
  });
});
