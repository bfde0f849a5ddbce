import * as assert from 'node:assert/strict';
import { bestThreshold, bestThresholdInterval, rocAuc, type LabelledScore } from '../../src/core/report/calibration';
import { lcsLength, rougeL, TokenIds, tokens } from '../../src/core/report/rougeL';
import { writeJson, writeIndentedJson } from '../../src/cli/args';
import { dict } from '../../src/core/security/ownKeys';
import { ANALYTIC_MIN, bootstrapCountsInterval, bootstrapInterval, bootstrapSummary, ranks, seededRandom } from '../../src/core/report/stats';
import { callKappa, callKappaOfCounts, rocAucOfCounts, type MetricPoint } from '../../src/core/report/metricRanking';

/** Scores with ties (two decimals) from a seeded generator, bad ones lower on average. */
function labelled(n: number, seed: number): LabelledScore[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const bad = random() < 0.3;
    return { score: Math.round((bad ? 0.45 + 0.3 * random() : 0.6 + 0.35 * random()) * 100) / 100, bad };
  });
}

describe('report statistics at scale: linear methods that give the same numbers', () => {
  it('ROC AUC by ranks equals the comparison of every bad output with every good one (ties half)', () => {
    for (const [n, seed] of [[7, 1], [200, 2], [1500, 3]] as const) {
      const points = labelled(n, seed);
      const bad = points.filter((p) => p.bad).map((p) => p.score);
      const good = points.filter((p) => !p.bad).map((p) => p.score);
      let wins = 0;
      for (const b of bad) for (const g of good) wins += b < g ? 1 : b === g ? 0.5 : 0;
      const expected = wins / (bad.length * good.length);
      assert.ok(Math.abs(rocAuc(points)! - expected) < 1e-12, `n=${n}: ${rocAuc(points)} != ${expected}`);
    }
    assert.equal(rocAuc([{ score: 0.5, bad: true }]), null);
  });

  it("the best threshold's bootstrap interval equals resampling the points and sorting each resample", () => {
    for (const [n, seed] of [[30, 4], [400, 5]] as const) {
      const points = labelled(n, seed);
      const naive = bootstrapInterval(points, (sample) => bestThreshold(sample)?.threshold ?? NaN, { seed: 99, resamples: 300 });
      const fast = bestThresholdInterval(points, { seed: 99, resamples: 300 });
      assert.deepEqual(fast, naive, `n=${n}`);
    }
  });

  it("the metric ranking's AUC and kappa intervals from draw counts equal resampling the points (to the last bit)", () => {
    // Tiny sets too: some resamples draw one class only (no AUC, dropped) or calls that all agree (no kappa).
    for (const [n, seed] of [[3, 6], [12, 7], [250, 8], [900, 9]] as const) {
      const random = seededRandom(seed + 100);
      const points: MetricPoint[] = labelled(n, seed).map((p) => ({ ...p, flagged: random() < (p.bad ? 0.7 : 0.2) }));
      const auc = rocAucOfCounts(points);
      const kappa = callKappaOfCounts(points);
      for (const resamples of [50, 300]) {
        const options = { seed: 31 + n, resamples };
        assert.deepEqual(bootstrapCountsInterval(n, (c) => auc(c) ?? NaN, options), bootstrapInterval(points, (s) => rocAuc(s) ?? NaN, options), `AUC n=${n}`);
        assert.deepEqual(bootstrapCountsInterval(n, (c) => kappa(c) ?? NaN, options), bootstrapInterval(points, (s) => callKappa(s) ?? NaN, options), `kappa n=${n}`);
      }
    }
  });

  it('ranks by binary search equal the textbook average ranks (ties share the mean of their places)', () => {
    const random = seededRandom(12);
    for (const [n, levels] of [[1, 3], [9, 2], [300, 5], [2000, 40], [3000, 1e9]] as const) {
      const values = Array.from({ length: n }, () => Math.floor(random() * levels) / levels - 0.5);
      // Textbook: a value's rank is 1 + the count of smaller values + (the count of equal others) / 2.
      const expected = values.map((v) => 1 + values.filter((w) => w < v).length + (values.filter((w) => w === v).length - 1) / 2);
      assert.deepEqual([...ranks(values)], expected, `n=${n}`);
      assert.deepEqual([...ranks(values, Float64Array.from(values).sort())], expected, `n=${n}, sorted by the caller`);
    }
  });

  it(`above ${ANALYTIC_MIN} values the mean, median and share take large-sample intervals that agree with the bootstrap`, () => {
    const random = seededRandom(11);
    // A skewed, tied distribution, as cosine scores are.
    const values = Array.from({ length: ANALYTIC_MIN + 1 }, () => Math.round((0.3 + 0.6 * random() ** 2) * 1000) / 1000);
    const analytic = bootstrapSummary(values, 0.7)!;
    assert.equal(analytic.mean.method, 'normal');
    assert.equal(analytic.median.method, 'order-statistic');
    assert.equal(analytic.shareAtLeast.method, 'normal');
    // The same data with one value fewer is bootstrapped (2,000 resamples): the intervals must match to within the
    // bootstrap's own noise (a tenth of the interval's width at the ends).
    const boot = bootstrapSummary(values.slice(1), 0.7)!;
    assert.equal(boot.mean.method, 'bootstrap');
    for (const key of ['mean', 'median', 'shareAtLeast'] as const) {
      const a = analytic[key];
      const b = boot[key];
      const width = b.high - b.low;
      assert.ok(width > 0, key);
      assert.ok(Math.abs(a.low - b.low) < 0.1 * width + 1e-3 && Math.abs(a.high - b.high) < 0.1 * width + 1e-3, `${key}: [${a.low}, ${a.high}] vs bootstrap [${b.low}, ${b.high}]`);
      assert.ok(a.low <= a.value && a.value <= a.high, key);
    }
  });
});

describe('ROUGE-L at scale: the fast paths give the textbook answers', () => {
  /** The textbook dynamic programme (CLRS 15.4), O(|a| * |b|). */
  function lcsReference(a: readonly string[], b: readonly string[]): number {
    const table = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) table[i][j] = a[i - 1] === b[j - 1] ? table[i - 1][j - 1] + 1 : Math.max(table[i - 1][j], table[i][j - 1]);
    }
    return table[a.length][b.length];
  }

  it('the bit-parallel LCS equals the dynamic programme for lists of 0 to 140 tokens (one to five words of bits)', () => {
    const random = seededRandom(5);
    const vocabulary = ['a', 'b', 'c', 'd', 'e', 'the', 'cup', 'x'];
    const list = (n: number, k: number) => Array.from({ length: n }, () => vocabulary[Math.floor(random() * k)]);
    for (let trial = 0; trial < 400; trial++) {
      const a = list(Math.floor(random() * 141), 2 + (trial % 7));
      const b = list(Math.floor(random() * 141), 2 + (trial % 7));
      assert.equal(lcsLength(a, b), lcsReference(a, b), `trial ${trial}: ${a.length} x ${b.length}`);
    }
    for (const n of [31, 32, 33, 63, 64, 65]) {
      const same = list(n, 3);
      assert.equal(lcsLength(same, same), n, `a list against itself, ${n} tokens`);
    }
  });

  it('token ids give the tokens and the ROUGE-L of the texts themselves (ASCII, other scripts, case that changes length, 0 to 70 tokens)', () => {
    const random = seededRandom(8);
    const vocabulary = ['the', 'Cup', 'CUP', 'x1', '42', 'ça', 'Coûte', 'İstanbul', 'KELVIN', '\u212A', 'naïve', '東京', 'b', 'a'];
    const separators = [' ', ', ', '. ', '-', '_', '  ', '\n', '!'];
    const text = (n: number) => Array.from({ length: n }, () => vocabulary[Math.floor(random() * vocabulary.length)] + separators[Math.floor(random() * separators.length)]).join('');
    const ids = new TokenIds();
    const spelled = new Map<number, string>();
    for (let trial = 0; trial < 600; trial++) {
      // Most trials ASCII only (the fast path), the rest with other scripts.
      const ascii = trial % 3 !== 0;
      const pick = () => (ascii ? text(Math.floor(random() * 71)).replace(/[^ -~\n]/g, 'q') : text(Math.floor(random() * 71)));
      const candidate = pick();
      const reference = pick();
      const c = ids.of(candidate);
      const r = ids.of(reference);
      // The same token always has the same id, and different tokens different ids.
      tokens(candidate).forEach((token, k) => {
        const known = spelled.get(c[k]);
        assert.ok(known === undefined || known === token, `id ${c[k]} is both ${known} and ${token}`);
        spelled.set(c[k], token);
      });
      assert.equal(c.length, tokens(candidate).length, candidate);
      assert.deepEqual(ids.rougeL(c, r), rougeL(candidate, reference), `trial ${trial}: ${JSON.stringify(candidate)} vs ${JSON.stringify(reference)}`);
      assert.equal(ids.lcs(c, r), lcsLength(tokens(candidate), tokens(reference)));
    }
    assert.equal(new Set(spelled.values()).size, spelled.size, 'one id per token');
    for (const n of [1, 31, 32, 33]) {
      const same = ids.of(Array.from({ length: n }, (_, k) => `w${k % 5}`).join(' '));
      assert.equal(ids.lcs(same, same), n, `a text against itself, ${n} tokens`);
    }
  });

  it('token ids stay one per token past the table\'s growth (20,000 tokens, each spelled in three cases, ASCII and not)', () => {
    const ids = new TokenIds();
    const words = Array.from({ length: 20_000 }, (_, k) => (k % 7 === 0 ? `ça${k}` : `Tok${k}x`));
    const first = ids.of(words.join(' '));
    assert.equal(new Set(first).size, words.length, 'different tokens, different ids');
    assert.deepEqual(ids.of(words.map((w) => w.toUpperCase()).join(', ')), first, 'upper case: the same ids');
    assert.deepEqual(words.map((w) => ids.of(`(${w.toLowerCase()})`)[0]), first, 'one at a time, lower case: the same ids');
  });
});

describe('--json documents written in pieces', () => {
  it('read exactly as JSON.stringify(document, null, 2) writes them, whatever the values', () => {
    const row = dict<unknown>();
    row.ft = { status: 'scored', score: 0.5, cut: ['output'] };
    row.gone = undefined;
    const documents: unknown[] = [
      {}, [], null, 'text', 0, [[]], [{}], { a: [] }, { a: {} },
      {
        schema: 'x@1', when: new Date(0), skip: undefined, fn: () => 1, sym: Symbol('s'), boxed: new Number(3), text: new String('t\nu'),
        map: new Map([[1, 2]]), nested: { deeper: { list: [1, 'two\n"three"', null, undefined, () => 2, [3, [4, []]], { x: undefined }, { y: [{}] }] } },
        rows: Array.from({ length: 50 }, (_, i) => ({ id: `r${i}\u2028é`, line: i + 1, results: row, maybe: i % 2 ? undefined : -0 })),
        withToJSON: { toJSON: () => ({ made: [1, { by: 'toJSON' }] }) }, onlyUndefined: { a: undefined }, nan: NaN, inf: -Infinity,
      },
    ];
    for (const document of documents) {
      const pieces: string[] = [];
      writeIndentedJson(document, '', (text) => pieces.push(text));
      assert.equal(pieces.join(''), JSON.stringify(document, null, 2));
    }
    // writeJson: the same text and a newline, in pieces of about 1 MiB.
    const big = { rows: Array.from({ length: 30_000 }, (_, i) => ({ id: `r${i}`, a: i / 7, b: [i, { c: 'x'.repeat(i % 40) }] })) };
    const writes: string[] = [];
    writeJson({ stdout: { write: (text: string) => writes.push(text) }, stderr: process.stderr, env: {}, cwd: '.' } as never, big);
    assert.equal(writes.join(''), `${JSON.stringify(big, null, 2)}\n`);
    assert.ok(writes.length > 2 && writes.every((w) => w.length < 2 * 1024 * 1024), `${writes.length} writes`);
  });
});
