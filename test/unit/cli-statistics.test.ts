import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { CompareDocument } from '../../src/cli/commands/compare';
import type { ReportDocument } from '../../src/cli/commands/report';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { rougeL } from '../../src/core/report/rougeL';
import { wilsonInterval } from '../../src/core/report/stats';
import { AnnotationStore } from '../../src/core/store/annotations';
import { ResultsStore, type StoredResult } from '../../src/core/store/results';
import { runCliCaptured } from '../support/cli';
import { makeTempDir } from '../support/files';
import { writeScoredDataset } from '../support/storedResults';

const cli = (args: string[], cwd: string) => runCliCaptured(args, { cwd });

const N = 24;
const reference = (i: number) => `The driver slows down because the crest ${i} hides the road ahead`;

/** A dataset, results for two models (good: even rows copy the reference; bad: a generic answer) and labels. */
async function setup(dir: string): Promise<string> {
  const file = path.join(dir, 'data.jsonl');
  const rows = Array.from({ length: N }, (_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: reference(i) }));
  const dataset = await writeScoredDataset(file, rows, (i) => {
    const copy = i % 2 === 0;
    return [
      { model: 'ft', output: copy ? reference(i) : 'caution is always wise', score: copy ? 0.9 - i / 100 : 0.5 + i / 100, ...(i === 3 ? { finishReason: 'length' } : {}) },
      { model: 'gpt', output: 'rural roads are risky', score: 0.4 + (i % 3) / 100 },
    ];
  });
  const annotations = await AnnotationStore.forDataset(file);
  for (let i = 0; i < N; i++) {
    await annotations.add({ rowId: `r${i}`, rowHash: dataset.rowHash(i), target: { kind: 'output', model: 'ft' }, label: i % 2 === 0 ? 'fine' : 'hallucinated' });
  }
  // A label on the reference judges the reference, not the metric: left out of calibration.
  await annotations.add({ rowId: 'r0', rowHash: dataset.rowHash(0), target: { kind: 'reference' }, label: 'wrong' });
  return file;
}

describe('CLI: report statistics and compare', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());

  it('report --json adds intervals, paired tests, calibration, ROUGE-L and bias checks, reproducible by seed', async () => {
    const file = await setup(tmp.dir);
    const r = await cli(['report', file, '--json', '--rows'], tmp.dir);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as ReportDocument;
    assert.equal(doc.schema, 'pisar-review/report@1');
    assert.equal(doc.models.length, 2, 'existing fields kept');
    const st = doc.statistics;
    const ft = st.models.find((m) => m.model === 'ft')!;
    assert.equal(ft.n, N);
    const passes = doc.models.find((m) => m.model === 'ft')!.shareAtOrAbove! * N;
    assert.deepEqual(ft.shareAtLeast!.wilson, wilsonInterval(Math.round(passes), N));
    assert.equal(ft.truncated.count, 1);
    assert.equal(st.pairs.list.length, 1);
    assert.match(st.pairs.list[0].verdict, /ft scores higher, p < 0\.001/);
    const [cosine, lexical] = st.calibration.metrics;
    assert.equal(cosine.labelled, N, 'the reference label is not counted');
    assert.equal(cosine.status, 'ready');
    // Good outputs score 0.68..0.90, bad ones 0.51..0.73: the best cut lies between.
    assert.ok(cosine.suggested!.threshold > 0.5 && cosine.suggested!.threshold < 0.75, String(cosine.suggested!.threshold));
    assert.equal(lexical.auc, 1, 'ROUGE-L separates copies from the generic answer perfectly');
    assert.equal(doc.rows![0].results.ft.status, 'scored');
    assert.equal((doc.rows![1].results.ft as { rougeL: number }).rougeL, rougeL('caution is always wise', reference(1)).f);

    const again = JSON.parse((await cli(['report', file, '--json'], tmp.dir)).stdout) as ReportDocument;
    assert.deepEqual(again.statistics, st, 'same data and seed, same numbers');
    const other = JSON.parse((await cli(['report', file, '--json', '--seed', '5'], tmp.dir)).stdout) as ReportDocument;
    assert.notDeepEqual(other.statistics.models[0].mean, st.models[0].mean);

    const capped = JSON.parse((await cli(['report', file, '--json', '--max-pair-models', '1'], tmp.dir)).stdout) as ReportDocument;
    assert.equal(capped.statistics.pairs.list.length, 0);
    assert.equal(capped.statistics.pairs.omittedModels, 1);

    const relabelled = JSON.parse((await cli(['report', file, '--json', '--good-labels', 'hallucinated', '--bad-labels', 'fine'], tmp.dir)).stdout) as ReportDocument;
    assert.equal(relabelled.statistics.calibration.metrics[0].bad, N / 2);
    assert.ok(relabelled.statistics.calibration.metrics[1].auc! < 0.01, 'labels swapped: ROUGE-L now ranks the other way');
    assert.equal((await cli(['report', file, '--bad-labels', 'fine', '--good-labels', 'fine'], tmp.dir)).code, 2);
    assert.equal((await cli(['report', file, '--seed', '-1'], tmp.dir)).code, 2);

    const md = await cli(['report', file], tmp.dir);
    // Markdown escapes its syntax characters in cells: the interval reads "0.705 [0.66, 0.75]" once rendered.
    assert.match(md.stdout, /\| ft \| 24 \| 0\.\d{3} \\\[0\.\d{3}, 0\.\d{3}\\\] \|/);
    assert.match(md.stdout, /Calibration against labels/);
  });

  it('report counts outputs cut at the token limit and answers cut off before any text as truncated', async () => {
    const file = await setup(tmp.dir);
    const dataset = await Dataset.open(file);
    await dataset.close();
    const results = await ResultsStore.open(file);
    await results.append([{ rowId: 'r5', rowHash: dataset.rowHash(5), model: 'ft', source: 'called', error: { kind: 'cut-off', message: 'raise maxTokens' }, at: new Date(1).toISOString() }]);
    const doc = JSON.parse((await cli(['report', file, '--json'], tmp.dir)).stdout) as ReportDocument;
    const ft = doc.statistics.models.find((m) => m.model === 'ft')!;
    assert.equal(ft.n, N - 1);
    assert.deepEqual([ft.truncated.count, ft.truncated.outputs], [2, N], 'r3 (finish reason length) and r5 (cut-off)');
    assert.equal(doc.statistics.models.find((m) => m.model === 'gpt')!.truncated.count, 0);
  });

  it('report says how many more labels calibration needs', async () => {
    const file = await setup(tmp.dir);
    const store = await AnnotationStore.forDataset(file);
    for (const a of store.all().slice(0, 10)) await store.remove(a.id);
    const doc = JSON.parse((await cli(['report', file, '--json'], tmp.dir)).stdout) as ReportDocument;
    const cosine = doc.statistics.calibration.metrics[0];
    assert.equal(cosine.status, 'needs-labels');
    assert.equal(cosine.labelled, 14); // the first 10 labels (r0..r9) removed
    assert.equal(cosine.needed, 6); // 20 - 14; each kind has 7 >= 5
    assert.match((await cli(['report', file], tmp.dir)).stdout, /6 more labels needed/);
  });

  it('compare: two models of one file, and two results files of the same model', async () => {
    const file = await setup(tmp.dir);
    const r = await cli(['compare', file, '--models', 'gpt,ft', '--json'], tmp.dir);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as CompareDocument;
    assert.equal(doc.schema, 'pisar-review/compare@1');
    assert.equal(doc.paired, N);
    assert.equal(doc.improved, N, 'ft beats gpt on every row');
    assert.equal(doc.regressed, 0);
    assert.ok(doc.p! < 0.001);

    // A second run: copy the dataset, change two scores.
    const run2 = path.join(tmp.dir, 'run2');
    await fsp.mkdir(run2);
    const file2 = path.join(run2, 'data.jsonl');
    await fsp.copyFile(file, file2);
    const text = await fsp.readFile(path.join(tmp.dir, 'data.pisar-results.jsonl'), 'utf8');
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as StoredResult);
    for (const l of lines) {
      if (l.model === 'ft' && l.rowId === 'r0') l.score = 0.1;
      if (l.model === 'ft' && l.rowId === 'r1') l.score = 0.99;
      if (l.model === 'ft' && l.rowId === 'r2') l.score! += 0.01;
    }
    // Written by this installation (a run on this machine), so its scores count.
    await (await ResultsStore.open(file2)).append(lines);
    const two = JSON.parse((await cli(['compare', path.join(tmp.dir, 'data.pisar-results.jsonl'), file2, '--model', 'ft', '--json'], tmp.dir)).stdout) as CompareDocument;
    assert.deepEqual([two.improved, two.regressed, two.unchanged], [1, 1, N - 2]);
    assert.equal(two.rows.find((x) => x.id === 'r0')!.change, 'regressed');
    assert.equal(two.rows.find((x) => x.id === 'r2')!.change, 'unchanged', 'within the epsilon 0.02');
    // Two changes of opposite sign among 24: exact test (2 non-zero differences) p = 1 or 0.5.
    assert.equal(two.method, 'exact');

    // The results file of a dataset named other than x.jsonl (its whole name kept): compare finds its dataset by the same rule.
    for (const name of ['data.ndjson', 'data.jsonl.gz', 'data.v2.jsonl']) {
      const dir = path.join(tmp.dir, `run-${name}`);
      await fsp.mkdir(dir);
      const other = path.join(dir, name);
      await fsp.writeFile(other, '');
      const store = await ResultsStore.open(other);
      await store.append(lines);
      const r3 = await cli(['compare', store.file, path.join(tmp.dir, 'data.pisar-results.jsonl'), '--model', 'ft', '--json'], tmp.dir);
      assert.equal(r3.code, 0, r3.stderr);
      const three = JSON.parse(r3.stdout) as CompareDocument;
      assert.equal(three.paired, N, `${path.basename(store.file)}: every row paired`);
      assert.deepEqual([three.improved, three.regressed], [1, 1]);
    }

    const csv = await cli(['compare', file, '--models', 'gpt,ft', '--format', 'csv'], tmp.dir);
    assert.match(csv.stdout, /^paired,improved,regressed,unchanged,/);
    assert.match(csv.stdout, /\r\nid,a,b,difference,change,cause\r\nr0,0\.4,0\.9,/);
    const md = await cli(['compare', file, '--models', 'gpt,ft'], tmp.dir);
    assert.match(md.stdout, /ft scores higher, p \\< 0\.001/);

    const usage = await cli(['compare', file], tmp.dir);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--models a,b/);
    const unknown = await cli(['compare', file, '--models', 'gpt,nope'], tmp.dir);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no results for model "nope"; it has: ft, gpt/);
  });
});
