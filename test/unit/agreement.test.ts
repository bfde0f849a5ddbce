import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { agreementReport, agreementUnits, cohensKappa, fleissKappa, krippendorffAlphaNominal } from '../../src/core/report/agreement';
import { seededRandom } from '../../src/core/report/stats';
import { AnnotationStore } from '../../src/core/store/annotations';
import { jsonl, makeTempDir } from '../support/files';

// ---- independent implementations, written differently on purpose (pairwise counting, no matrices) ----

/** Krippendorff's alpha (nominal) as the mean pairwise disagreement within units over the pairwise disagreement of all pairable values. */
function alphaByPairs(units: readonly (readonly string[])[]): number {
  const pairable = units.filter((u) => u.length >= 2);
  const values = pairable.flat();
  const n = values.length;
  let within = 0;
  for (const u of pairable) {
    let d = 0;
    for (let i = 0; i < u.length; i++) for (let j = 0; j < u.length; j++) if (i !== j && u[i] !== u[j]) d++;
    within += d / (u.length - 1);
  }
  let across = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j && values[i] !== values[j]) across++;
  const observed = within / n;
  const expected = across / (n * (n - 1));
  return 1 - observed / expected;
}

/** Fleiss' kappa by enumerating rater pairs per unit. */
function fleissByPairs(units: readonly (readonly string[])[]): number {
  const rated = units.filter((u) => u.length >= 2);
  let agreement = 0;
  for (const u of rated) {
    let agreeing = 0;
    let pairs = 0;
    for (let i = 0; i < u.length; i++) {
      for (let j = i + 1; j < u.length; j++) {
        pairs++;
        if (u[i] === u[j]) agreeing++;
      }
    }
    agreement += agreeing / pairs;
  }
  const all = rated.flat();
  const labels = [...new Set(all)];
  const chance = labels.reduce((s, l) => s + (all.filter((x) => x === l).length / all.length) ** 2, 0);
  return (agreement / rated.length - chance) / (1 - chance);
}

/** Cohen's kappa from an explicit confusion table. */
function cohenByTable(pairs: readonly [string, string][]): number {
  const labels = [...new Set(pairs.flat())];
  const table = labels.map((a) => labels.map((b) => pairs.filter(([x, y]) => x === a && y === b).length));
  const n = pairs.length;
  const observed = labels.reduce((s, _, i) => s + table[i][i], 0) / n;
  const rows = table.map((r) => r.reduce((s, x) => s + x, 0));
  const cols = labels.map((_, j) => table.reduce((s, r) => s + r[j], 0));
  const expected = labels.reduce((s, _, i) => s + (rows[i] * cols[i]) / (n * n), 0);
  return (observed - expected) / (1 - expected);
}

describe('agreement between reviewers', () => {
  it("Fleiss' kappa of Fleiss (1971)'s worked example (10 subjects, 14 raters, 5 categories) is 0.210", () => {
    const table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]];
    const units = table.map((row) => row.flatMap((count, category) => Array<string>(count).fill(`c${category + 1}`)));
    const kappa = fleissKappa(units)!;
    assert.equal(kappa.toFixed(3), '0.210');
    assert.ok(Math.abs(kappa - fleissByPairs(units)) < 1e-9);
  });

  it("Krippendorff's alpha of his nominal example with missing values (2011) is 0.743", () => {
    const observers = [
      [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
      [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3],
      [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null],
      [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null],
    ];
    const units = observers[0].map((_, u) => observers.map((o) => o[u]).filter((v): v is number => v !== null).map(String));
    const alpha = krippendorffAlphaNominal(units)!;
    assert.equal(alpha.toFixed(3), '0.743');
    assert.ok(Math.abs(alpha - alphaByPairs(units)) < 1e-9);
  });

  it("Cohen's kappa matches a confusion-table computation; undefined when chance agreement is 1", () => {
    const pairs: [string, string][] = [['a', 'a'], ['a', 'b'], ['b', 'b'], ['b', 'b'], ['c', 'a'], ['c', 'c'], ['a', 'a']];
    assert.ok(Math.abs(cohensKappa(pairs)! - cohenByTable(pairs)) < 1e-12);
    assert.equal(cohensKappa([['x', 'x'], ['x', 'x']]), null);
  });

  it('reads a generated annotations file with three reviewers and agrees with the independent implementations to 1e-9', async () => {
    const { dir } = makeTempDir();
    const file = path.join(dir, 'data.jsonl');
    const N = 120;
    await fsp.writeFile(file, jsonl(Array.from({ length: N }, (_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: `because ${i}` }))));
    const dataset = await Dataset.open(file);
    await dataset.close();
    const random = seededRandom(7);
    const labels = ['wrong', 'incomplete', 'fine'];
    const reviewers = ['ana@example.org', 'bo@example.org', 'cy@example.org'];
    const truth: string[][] = [];
    const perReviewer = new Map<string, number>();
    const store = await AnnotationStore.forDataset(file);
    for (let i = 0; i < N; i++) {
      const given: string[] = [];
      const base = labels[Math.floor(random() * 3)];
      for (const reviewer of reviewers) {
        if (random() < 0.2) continue; // missing ratings
        const label = random() < 0.7 ? base : labels[Math.floor(random() * 3)];
        given.push(label);
        perReviewer.set(reviewer, (perReviewer.get(reviewer) ?? 0) + 1);
        await store.add({ rowId: `r${i}`, rowHash: dataset.rowHash(i), target: { kind: 'output', model: 'ft' }, label, reviewer });
      }
      truth.push(given);
    }
    const again = await AnnotationStore.forDataset(file);
    const report = agreementReport(agreementUnits(again.all(), again.adjudications(), dataset), N, { resamples: 200 });
    assert.deepEqual(report.reviewers, reviewers);
    const multi = truth.filter((u) => u.length >= 2);
    assert.equal(report.overall.units, multi.length);
    assert.ok(Math.abs(report.overall.fleissKappa.value! - fleissByPairs(truth)) < 1e-9);
    assert.ok(Math.abs(report.overall.krippendorffAlpha.value! - alphaByPairs(truth)) < 1e-9);
    assert.equal(report.overall.cohenKappa, undefined, 'Cohen is for two reviewers');
    const interval = report.overall.krippendorffAlpha.interval!;
    assert.ok(interval.low <= report.overall.krippendorffAlpha.value! && report.overall.krippendorffAlpha.value! <= interval.high);
    // Per label: "wrong or not", by the same independent formula.
    const wrong = report.perLabel.find((l) => l.label === 'wrong')!;
    const binary = truth.map((u) => u.map((l) => (l === 'wrong' ? 'wrong' : 'other')));
    assert.ok(Math.abs(wrong.krippendorffAlpha.value! - alphaByPairs(binary)) < 1e-9);
    for (const p of report.progress) assert.equal(p.labelled, perReviewer.get(p.reviewer));
  });

  it("two reviewers get Cohen's kappa, the disagreements are counted, and an adjudication settles one", async () => {
    const { dir } = makeTempDir();
    const file = path.join(dir, 'data.jsonl');
    await fsp.writeFile(file, jsonl(Array.from({ length: 6 }, (_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: `because ${i}` }))));
    const dataset = await Dataset.open(file);
    await dataset.close();
    const store = await AnnotationStore.forDataset(file);
    const a = ['wrong', 'wrong', 'fine', 'fine', 'wrong', 'fine'];
    const b = ['wrong', 'fine', 'fine', 'fine', 'fine', 'fine'];
    for (let i = 0; i < 6; i++) {
      await store.add({ rowId: `r${i}`, rowHash: dataset.rowHash(i), target: { kind: 'reference' }, label: a[i], reviewer: 'a' });
      await store.add({ rowId: `r${i}`, rowHash: dataset.rowHash(i), target: { kind: 'reference' }, label: b[i], reviewer: 'b' });
    }
    let report = agreementReport(agreementUnits(store.all(), store.adjudications(), dataset), 6, { resamples: 100 });
    assert.ok(Math.abs(report.overall.cohenKappa!.value! - cohenByTable(a.map((x, i) => [x, b[i]]))) < 1e-12);
    assert.equal(report.disagreements, 2);
    await store.adjudicate({ rowId: 'r1', rowHash: dataset.rowHash(1), target: { kind: 'reference' }, label: 'wrong', reviewer: 'lead' });
    const reread = await AnnotationStore.forDataset(file);
    report = agreementReport(agreementUnits(reread.all(), reread.adjudications(), dataset), 6, { resamples: 100 });
    assert.equal(report.disagreements, 1);
    assert.equal(report.adjudicated, 1);
    assert.deepEqual(report.reviewers, ['a', 'b'], 'the adjudicator is no rater');
  });
});
