import * as assert from 'node:assert/strict';
import { bestThreshold, calibrate, confusionAt, labelClass, rocAuc, type LabelledScore } from '../../src/core/report/calibration';
import { classifyChange, ComparedRows, compareRuns, compareScores, type RunLineage } from '../../src/core/report/compare';
import { writeIndentedJson } from '../../src/cli/args';
import { lcsLength, rougeL, tokens } from '../../src/core/report/rougeL';
import { computeStatistics, StatisticsTable, statisticsTableOf, type StatisticsRow } from '../../src/core/report/statistics';
import {
  bootstrapSummary,
  normalUpperTail,
  pairedTest,
  pairedVerdict,
  pearson,
  quantileSorted,
  seededRandom,
  signFlipTest,
  spearman,
  wilsonInterval,
} from '../../src/core/report/stats';

const close = (actual: number | null | undefined, expected: number, digits = 4, what = '') =>
  assert.ok(actual !== null && actual !== undefined && Math.abs(actual - expected) < 0.5 * 10 ** -digits, `${what} ${actual} != ${expected} to ${digits} places`);

describe('report statistics: intervals', () => {
  it('Wilson interval matches Newcombe (1998), Table I, method 3', () => {
    // Newcombe RG. Two-sided confidence intervals for the single proportion. Stat Med 1998;17:857-72.
    const table: [number, number, number, number][] = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ];
    for (const [k, n, low, high] of table) {
      const w = wilsonInterval(k, n)!;
      close(w.low, low, 4, `${k}/${n} low`);
      close(w.high, high, 4, `${k}/${n} high`);
    }
    assert.equal(wilsonInterval(0, 0), null);
  });

  it('bootstrap intervals are reproducible from the seed, and differ with another seed', () => {
    const values = Array.from({ length: 60 }, (_, i) => Math.sin(i * 1.7) * 0.3 + 0.5);
    const a = bootstrapSummary(values, 0.7, { seed: 7 })!;
    const b = bootstrapSummary(values, 0.7, { seed: 7 })!;
    const c = bootstrapSummary(values, 0.7, { seed: 8 })!;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.mean, c.mean);
  });

  it('bootstrap of mean, median and share equals a naive bootstrap drawing the same indices', () => {
    const values = [0.91, 0.12, 0.55, 0.7, 0.7, 0.33, 0.82, 0.64, 0.05, 0.77, 0.49];
    const threshold = 0.7;
    const resamples = 500;
    const got = bootstrapSummary(values, threshold, { seed: 3, resamples })!;
    // Independent: copy each resample out, sort it, take the middle; same PRNG stream.
    const sorted = [...values].sort((x, y) => x - y);
    const random = seededRandom(3);
    const means: number[] = [];
    const medians: number[] = [];
    const shares: number[] = [];
    for (let r = 0; r < resamples; r++) {
      const sample = sorted.map(() => sorted[Math.floor(random() * sorted.length)]).sort((x, y) => x - y);
      means.push(sample.reduce((s, x) => s + x, 0) / sample.length);
      medians.push(sample[(sample.length - 1) / 2]);
      shares.push(sample.filter((x) => x >= threshold).length / sample.length);
    }
    const interval = (xs: number[]) => {
      const s = [...xs].sort((x, y) => x - y);
      return [quantileSorted(s, 0.025), quantileSorted(s, 0.975)];
    };
    assert.deepEqual([got.mean.low, got.mean.high].map((x) => x.toFixed(12)), interval(means).map((x) => x.toFixed(12)));
    assert.deepEqual([got.median.low, got.median.high], interval(medians));
    assert.deepEqual([got.shareAtLeast.low, got.shareAtLeast.high], interval(shares));
    assert.equal(got.median.value, 0.64); // 6th of 11 sorted
    assert.equal(got.shareAtLeast.value, 5 / 11); // 0.7, 0.7, 0.77, 0.82, 0.91
  });

  it('the bootstrap interval of a mean is close to mean +- 1.96 standard errors on a large sample', () => {
    const random = seededRandom(99);
    const values = Array.from({ length: 2000 }, () => random());
    const m = values.reduce((s, x) => s + x, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, x) => s + (x - m) ** 2, 0) / values.length);
    const se = sd / Math.sqrt(values.length);
    const got = bootstrapSummary(values, 0.5, { seed: 1 })!;
    assert.ok(Math.abs(got.mean.low - (m - 1.96 * se)) < 0.15 * 1.96 * se, `low ${got.mean.low} vs ${m - 1.96 * se}`);
    assert.ok(Math.abs(got.mean.high - (m + 1.96 * se)) < 0.15 * 1.96 * se, `high ${got.mean.high} vs ${m + 1.96 * se}`);
  });
});

describe('report statistics: paired test', () => {
  it('exact sign-flip p-values equal hand enumeration', () => {
    // [1, 2, 3]: flip sums 6, 4, 2, 0, 0, -2, -4, -6; |sum| >= 6 twice in 8.
    assert.deepEqual(signFlipTest([1, 2, 3]), { p: 0.25, method: 'exact', resamples: 8 });
    // [1, -1, 2, 3]: observed 5; |sum| >= 5 for 7, 5, 5, -5, -5, -7: 6 of 16.
    assert.equal(signFlipTest([1, -1, 2, 3]).p, 0.375);
    // Zero differences carry no sign: [0, 1, 2, 3] is [1, 2, 3].
    assert.equal(signFlipTest([0, 1, 2, 3]).p, 0.25);
    assert.equal(signFlipTest([0, 0]).p, 1);
    assert.equal(signFlipTest([]).p, null);
  });

  it('Monte Carlo and normal p-values agree with the exact one for the same data', () => {
    const random = seededRandom(5);
    const d = Array.from({ length: 16 }, () => random() - 0.35);
    const exact = signFlipTest(d).p!;
    // Force the other two methods on the same 16 differences by padding with zeros.
    const monteCarlo = signFlipTest([...d, 0, 0, 0, 0, 0], { seed: 1 }); // zeros drop: still exact
    assert.equal(monteCarlo.method, 'exact');
    const doubled = [...d, ...d]; // 32 non-zero: Monte Carlo; its exact p is unknown, the normal limit is close
    const mc = signFlipTest(doubled, { seed: 2, resamples: 20000 });
    assert.equal(mc.method, 'monte-carlo');
    const sum = Math.abs(doubled.reduce((s, x) => s + x, 0));
    const normal = 2 * normalUpperTail(sum / Math.sqrt(doubled.reduce((s, x) => s + x * x, 0)));
    assert.ok(Math.abs(mc.p! - normal) < 0.02, `monte carlo ${mc.p} vs normal ${normal}`);
    assert.ok(exact > 0 && exact < 1);
  });

  it('the normal tail matches the table: 1 - Phi(1.96) = 0.0250, 1 - Phi(1) = 0.1587', () => {
    close(normalUpperTail(1.959964), 0.025, 5);
    close(normalUpperTail(1), 0.158655, 5);
    close(normalUpperTail(-1), 0.841345, 5);
  });

  it('pairs the rows and gives a plain verdict', () => {
    const t = pairedTest([0.4, 0.5, 0.45], [0.5, 0.7, 0.75]);
    close(t.meanDifference!.value, 0.2, 10);
    assert.equal(t.p, 0.25); // differences 0.1, 0.2, 0.3: as [1, 2, 3]
    assert.equal(pairedVerdict('gpt', 'claude', 0.46, 0.48, 0.31, 661), '0.46 vs 0.48: within noise, p = 0.31 (661 rows both scored)');
    assert.equal(pairedVerdict('gpt', 'ft', 0.46, 0.78, 0.0001, 661), '0.46 vs 0.78: ft scores higher, p < 0.001 (661 rows both scored)');
    assert.throws(() => pairedTest([1], [1, 2]), /pair them by row/);
  });
});

describe('report statistics: correlation, ROUGE-L, calibration', () => {
  it('Pearson and Spearman (with ties) equal hand computation', () => {
    // x = 1..5, y = 2,4,5,4,5: Sxy = 6, Sxx = 10, Syy = 6 -> r = 6 / sqrt(60).
    close(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 6 / Math.sqrt(60), 10);
    // ranks of y: 1, 2.5, 4.5, 2.5, 4.5 (mean 3) -> Sxy = 7, Sxx = 10, Syy = 9 -> rho = 7 / sqrt(90).
    close(spearman([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 7 / Math.sqrt(90), 10);
    assert.equal(pearson([1, 1, 1], [1, 2, 3]), null);
  });

  it('ROUGE-L F equals the rouge-score README example and Lin (2004)', () => {
    // rouge-score README: target "The quick brown fox jumps over the lazy dog", prediction "The quick brown dog jumps on the log."
    const r = rougeL('The quick brown dog jumps on the log.', 'The quick brown fox jumps over the lazy dog');
    close(r.precision, 0.625, 4);
    close(r.recall, 0.5556, 4);
    close(r.f, 0.5882, 4);
    // Lin 2004, section 3.1: S1 "police killed the gunman"; S2 scores 3/4, S3 2/4.
    close(rougeL('police kill the gunman', 'police killed the gunman').f, 0.75, 10);
    close(rougeL('the gunman kill police', 'police killed the gunman').f, 0.5, 10);
    assert.equal(rougeL('', 'anything').f, 0);
    assert.deepEqual(tokens('Ça coûte 12€, non?'), ['ça', 'coûte', '12', 'non']);
    assert.equal(lcsLength(['a', 'b', 'c', 'b', 'd', 'a', 'b'], ['b', 'd', 'c', 'a', 'b', 'a']), 4); // CLRS 15.4
  });

  const points: LabelledScore[] = [
    { score: 0.2, bad: true },
    { score: 0.3, bad: false },
    { score: 0.5, bad: true },
    { score: 0.6, bad: true },
    { score: 0.8, bad: false },
    { score: 0.9, bad: false },
  ];

  it('precision, recall and F1 of "score < threshold => bad" equal the hand count', () => {
    // At 0.7: flagged 0.2b 0.3g 0.5b 0.6b -> TP 3, FP 1, FN 0, TN 2.
    const c = confusionAt(points, 0.7);
    assert.deepEqual([c.truePositives, c.falsePositives, c.falseNegatives, c.trueNegatives], [3, 1, 0, 2]);
    assert.equal(c.precision, 0.75);
    assert.equal(c.recall, 1);
    close(c.f1, 6 / 7, 10);
    // At 0.4: flagged 0.2b 0.3g -> TP 1, FP 1, FN 2: P 1/2, R 1/3, F1 2/5.
    const d = confusionAt(points, 0.4);
    assert.equal(d.precision, 0.5);
    close(d.recall, 1 / 3, 10);
    close(d.f1, 0.4, 10);
  });

  it('the F1-maximising threshold and the AUC equal the hand values', () => {
    // Flag the lowest k: F1 = 0.5, 0.4, 0.667, 0.857, 0.75, 0.667 -> k = 4, between 0.6 and 0.8.
    const best = bestThreshold(points)!;
    close(best.threshold, 0.7, 10);
    close(best.f1, 6 / 7, 10);
    // bad {0.2, 0.5, 0.6} below good {0.3, 0.8, 0.9}: 3 + 2 + 2 of 9 pairs.
    close(rocAuc(points), 7 / 9, 10);
  });

  it('says how many more labels are needed, then gives the suggestion with an interval', () => {
    const few = calibrate('cosine', points, 0.7);
    assert.equal(few.status, 'needs-labels');
    assert.equal(few.needed, 14); // 20 labelled outputs, have 6; each kind already has 3 of the 5 needed
    assert.match(few.reason!, /20 labelled outputs \(have 6\)/);
    const onlyBad = calibrate('cosine', points.filter((p) => p.bad), 0.7, { minLabels: 3 });
    assert.equal(onlyBad.needed, 7); // 2 more bad and 5 fine
    const many = [...points, ...points, ...points, ...points];
    const ready = calibrate('cosine', many, 0.7, { seed: 4 });
    assert.equal(ready.status, 'ready');
    close(ready.suggested!.threshold, 0.7, 10);
    assert.ok(ready.suggested!.interval!.low <= 0.7 && ready.suggested!.interval!.high >= 0.7);
    assert.deepEqual(calibrate('cosine', many, 0.7, { seed: 4 }), ready, 'same seed, same interval');
    assert.equal(ready.curve.length, 21);
    assert.equal(labelClass('Hallucinated'), 'bad');
    assert.equal(labelClass('fine'), 'good');
    assert.equal(labelClass('unsure'), undefined);
    assert.equal(labelClass('meh', { bad: ['meh'], good: [] }), 'bad');
  });
});

describe('report statistics: the whole section and run comparison', () => {
  it('computes intervals, capped pairs, calibration per metric and bias checks from rows', () => {
    const rows: StatisticsRow[] = Array.from({ length: 30 }, (_, i) => ({
      id: `r${i}`,
      reference: 'the driver slows because the crest hides the road',
      cells: {
        a: { score: 0.5 + (i % 5) * 0.1, output: i % 2 ? 'the driver slows because the crest hides the road ahead' : 'caution', truncated: i === 0 },
        b: { score: 0.4 + (i % 3) * 0.1, output: 'rural roads are risky' },
        c: { score: 0.3 },
      },
      labels: i < 24 ? { a: i % 2 ? 'fine' : 'wrong', b: i % 4 === 0 ? 'unsure' : 'off-topic' } : undefined,
    }));
    const st = computeStatistics(rows, ['a', 'b', 'c'], { threshold: 0.7, maxPairModels: 2 });
    assert.deepEqual(st.pairs.models, ['a', 'b']);
    assert.equal(st.pairs.omittedModels, 1);
    assert.equal(st.pairs.list.length, 1);
    assert.equal(st.pairs.list[0].n, 30);
    const a = st.models[0];
    assert.equal(a.n, 30);
    assert.equal(a.truncated.count, 1);
    assert.equal(a.truncated.outputs, 30);
    assert.ok(a.mean!.low <= a.mean!.value && a.mean!.value <= a.mean!.high);
    assert.equal(st.calibration.unmapped, 6); // b's "unsure" on rows 0, 4, 8, 12, 16, 20
    const [cosine, lexical] = st.calibration.metrics;
    assert.equal(cosine.labelled, 24 + 18);
    assert.equal(lexical.status, 'ready');
    // ROUGE-L separates a's copied outputs (fine) from "caution" and b's (bad) perfectly.
    assert.equal(lexical.auc, 1);
    assert.ok(cosine.auc! < 1);
    assert.equal(st.models[2].rougeL.n, 0, 'no output, no ROUGE-L');
    const few = computeStatistics(rows, ['a', 'b', 'c'], { threshold: 0.7, maxModels: 1 });
    assert.deepEqual([few.models.map((m) => m.model), few.omittedModels], [['a'], 2]);
  });

  it('reads the same numbers from columns as from row objects: a table grown from one row, slices, labels, the human band, cut-off cells, a model with no cell', () => {
    const rows: StatisticsRow[] = Array.from({ length: 70 }, (_, i) => ({
      id: `r${i}`,
      line: i + 1,
      slice: ['x', 'y', 'z'][i % 3],
      cells: {
        a: i % 9 === 0 ? { truncated: true } : { score: 0.4 + ((i * 7) % 11) * 0.05, rougeL: ((i * 3) % 10) / 10, lengthRatio: 0.5 + (i % 4) * 0.25, hasOutput: true, truncated: i % 5 === 0 },
        b: { score: 0.3 + ((i * 5) % 13) * 0.05, rougeL: (i % 7) / 7, hasOutput: true, ...(i % 4 === 0 ? { contradiction: (i % 8) / 8 } : {}) },
        ...(i % 2 ? { h: { score: 0.8, rougeL: 0.6, hasOutput: true } } : {}),
      },
      ...(i % 3 === 0 ? { labels: { a: i % 2 ? 'fine' : 'wrong', b: i % 4 ? 'off-topic' : 'fine', ghost: 'wrong' } } : {}),
      ...(i % 10 === 0 ? { human: { score: 0.7, rougeL: 0.5 } } : {}),
    }));
    const models = ['a', 'b', 'h', 'none'];
    const options = { threshold: 0.6, sliceField: 'split', humanModels: ['h'] };
    const table = new StatisticsTable(models, 1, true);
    for (const row of rows) {
      const i = table.addRow(row.id, row.line, row.slice);
      for (const [model, cell] of Object.entries(row.cells)) table.setCell(i, model, cell);
      if (row.labels) table.labels.set(i, row.labels);
      if (row.human) table.human.set(i, row.human);
    }
    assert.equal(table.length, 70);
    const fromTable = computeStatistics(table, models, options);
    assert.deepEqual(fromTable, computeStatistics(rows, models, options));
    assert.deepEqual(computeStatistics(statisticsTableOf(rows, models), models, options), fromTable);
    // What the columns must have kept, counted from the rows by hand.
    const a = fromTable.models[0];
    assert.equal(a.n, rows.filter((r) => r.cells.a.score !== undefined).length);
    assert.equal(a.truncated.outputs, 70);
    assert.equal(a.truncated.count, rows.filter((r) => r.cells.a.truncated).length);
    assert.equal(fromTable.models[3].n, 0);
    assert.deepEqual(fromTable.slices!.slices.map((s) => [s.value, s.rows]), [['x', 24], ['y', 23], ['z', 23]]);
    assert.equal(fromTable.humanBand!.n, rows.filter((r) => r.human || r.cells.h).length);
    assert.equal(fromTable.calibration.metrics[0].labelled, rows.filter((r) => r.labels && r.cells.a.score !== undefined).length + rows.filter((r) => r.labels).length);
  });

  it('compares two runs row by row with an epsilon and a paired test', () => {
    const a = new Map([['r1', 0.5], ['r2', 0.6], ['r3', 0.7], ['r4', 0.2]]);
    const b = new Map([['r1', 0.6], ['r2', 0.59], ['r3', 0.5], ['r5', 0.9]]);
    const c = compareRuns(a, b, { epsilon: 0.02, names: ['old', 'new'] });
    assert.equal(c.paired, 3);
    assert.equal(c.onlyA, 1);
    assert.equal(c.onlyB, 1);
    assert.deepEqual(c.rows.map((r) => r.change), ['improved', 'unchanged', 'regressed']);
    // differences 0.1, -0.01, -0.2: |sum| = 0.11; flips with |sum| >= 0.11: 0.31, 0.29(-0.1,...)? enumerate:
    // (+.1,-.01,-.2) -.11 | (-.1,-.01,-.2) -.31 | (+.1,+.01,-.2) -.09 | (-.1,+.01,-.2) -.29
    // (+.1,-.01,+.2) .29 | (-.1,-.01,+.2) .09 | (+.1,+.01,+.2) .31 | (-.1,+.01,+.2) .11 -> 6 of 8
    assert.equal(c.p, 0.75);
    assert.match(c.verdict, /within noise, p = 0\.75/);
    assert.equal(classifyChange(0.02, 0.02), 'unchanged');
    assert.equal(classifyChange(-0.021, 0.02), 'regressed');
  });

  it('compares scores held by row key (typed columns) as it does by row id, and writes the compared rows as their array', () => {
    // Keys as a dataset's row indexes with gaps (rows neither run scored), A in an order of its own, rows only A or only B
    // scored, and lineage giving each cause: the columns must give exactly what the maps by row id give.
    const ids = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8'];
    const a = new Map([['r5', 0.5], ['r1', 0.6], ['r3', 0.7], ['r7', 0.2], ['r0', 0.4], ['r8', 0.9]]);
    const b = new Map([['r0', 0.45], ['r8', 0.1], ['r1', 0.59], ['r3', 0.5], ['r5', 0.9], ['r6', 0.3], ['r2', 0.3]]);
    const lineage = (side: number): Map<string, RunLineage> =>
      new Map(ids.map((id, i) => [id, { output: side && i % 2 ? `changed ${id}` : `same ${id}`, ...(side && i % 3 === 0 ? { correction: 'fixed' } : {}) }]));
    const options = { epsilon: 0.02, seed: 7, names: ['old', 'new'] as const };
    const byId = compareRuns(a, b, { ...options, lineage: [lineage(0), lineage(1)] });
    const column = (m: Map<string, number>) => Float64Array.from(ids, (id) => m.get(id) ?? NaN);
    const [la, lb] = [lineage(0), lineage(1)];
    const byKey = compareScores(
      { a: column(a), b: column(b), orderA: Int32Array.from([...a.keys()], (id) => ids.indexOf(id)), idOf: (key) => ids[key], lineage: [(key) => la.get(ids[key]), (key) => lb.get(ids[key])] },
      options,
    );
    assert.ok(byKey.rows instanceof ComparedRows);
    assert.deepEqual(JSON.parse(JSON.stringify(byKey)), JSON.parse(JSON.stringify(byId)));
    assert.deepEqual(
      byKey.rows.map((r) => [r.id, r.change, r.cause]),
      [['r5', 'improved', 'model'], ['r1', 'unchanged', undefined], ['r3', 'regressed', 'both'], ['r0', 'improved', 'reference'], ['r8', 'regressed', 'model']],
    );
    assert.deepEqual([byKey.onlyA, byKey.onlyB, byKey.paired], [1, 2, 5]);
    assert.deepEqual(byKey.lineage, { modelChanged: 2, referenceCorrected: 1, both: 1 });
    assert.deepEqual([...byKey.rows].map((r) => r.id), byKey.rows.filter(() => true).map((r) => r.id));
    // The JSON writer makes a row at a time and writes exactly what JSON.stringify writes of the rows as an array.
    const doc = { schema: 'x', ...byKey, problems: [] };
    const pieces: string[] = [];
    writeIndentedJson(doc, '', (text) => pieces.push(text));
    const written = pieces.join('');
    // ... a row at a time: no piece holds two rows (the rows are never one string).
    assert.ok(Math.max(...pieces.map((p) => p.length)) < JSON.stringify(byKey.rows.at(0), null, 2).length * 1.5, 'the rows were written as one piece');
    assert.equal(written, JSON.stringify({ ...doc, rows: byKey.rows.map((r) => r) }, null, 2));
    assert.equal(written, JSON.stringify(doc, null, 2));
  });
});
