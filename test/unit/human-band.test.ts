// The human band (issue 24.2): where a row has several human references (or outputs marked human), the
// same metric human against human, and each model read against that band ("at human level" or
// "below") in report md, csv and json. Real CLI, real files, the tiny BERT; the band is recomputed
// here from the model's embeddings and ROUGE-L by hand, its interval by the same bootstrap as a mean.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { readSettings } from '../../src/core/config/settings';
import { createScorer } from '../../src/core/scoring/scorer';
import { rougeL } from '../../src/core/report/rougeL';
import { bootstrapSummary, DEFAULT_RESAMPLES, DEFAULT_SEED } from '../../src/core/report/stats';
import type { HumanBandView, StatisticsView } from '../../src/shared/statisticsView';
import { runCliCaptured } from '../support/cli';
import { jsonl, makeTempDir, repoRoot } from '../support/files';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

// Three people explain each row; "close" paraphrases one of them, "off" talks about something else.
const ROWS = [
  ['A dog running is not a cat sleeping.', 'The animal cannot be both a dog and a cat.', 'A dog is not a cat, so the animal differs.'],
  ['The man plays a guitar, so he makes music.', 'Playing guitar is making music.', 'A man playing guitar makes music.'],
  ['The woman reads a book in the park.', 'Reading a book in a park is reading outdoors.', 'She is outdoors reading, which the park implies.'],
  ['Children play football on the grass.', 'Kids playing football are playing a sport.', 'Football on grass is a sport children play.'],
  ['The chef cooks pasta in the kitchen.', 'Cooking pasta happens in a kitchen.', 'A chef in a kitchen cooking pasta is cooking.'],
  ['Two people ride bicycles down the street.', 'Riding bicycles on a street is cycling.', 'People on bikes in the street are cycling.'],
];
const CLOSE = ['A dog is not a cat, so the animal is different.', 'A man playing a guitar is making music.', 'She reads outdoors, as the park implies.', 'Football is a sport the children play on grass.', 'A chef cooking pasta in a kitchen is cooking.', 'People riding bikes in the street are cycling.'];
const OFF = 'Quarterly revenue figures exceeded the analysts\u2019 consensus estimate by a wide margin.';

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Each reference against the others (best match), then the mean over the references: the row's human score. */
function leaveOneOut(k: number, score: (i: number, j: number) => number): number {
  let sum = 0;
  for (let i = 0; i < k; i++) {
    let best = -Infinity;
    for (let j = 0; j < k; j++) if (j !== i) best = Math.max(best, score(i, j));
    sum += best;
  }
  return sum / k;
}

describe('the human band: people against people, each model read against it', function () {
  this.timeout(180_000);
  const tmp = makeTempDir('pisar-human-');
  after(() => tmp.cleanup());
  const common = ['--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')];

  const band = async (file: string, extra: string[] = []): Promise<{ stats: StatisticsView; band: HumanBandView }> => {
    const report = await runCliCaptured(['report', file, '--json', ...extra]);
    assert.equal(report.code, 0, report.stderr);
    const stats = (JSON.parse(report.stdout) as { statistics: StatisticsView }).statistics;
    assert.ok(stats.humanBand, 'the report has a human band');
    return { stats, band: stats.humanBand };
  };

  it('rows with several references: the band is each reference against the others, its interval the bootstrap of a mean; md and csv show it', async () => {
    const file = path.join(tmp.dir, 'esnli.jsonl');
    writeFileSync(file, jsonl(ROWS.map((refs, i) => ({ id: `r${i}`, input: 'premise / hypothesis', rationale: refs, outputs: { close: CLOSE[i], off: OFF } }))));
    const scored = await runCliCaptured(['score', file, '--json', ...common]);
    assert.equal(scored.code, 0, scored.stderr);

    const scorer = createScorer({ provider: 'local', model: TINY, dtype: 'fp32', cacheDir: path.join(tmp.dir, 'independent') });
    let cosine: number[];
    try {
      cosine = [];
      for (const refs of ROWS) {
        const v = await scorer.embed(refs);
        cosine.push(leaveOneOut(refs.length, (i, j) => dot(v[i], v[j])));
      }
    } finally {
      await scorer.dispose();
    }
    const lexical = ROWS.map((refs) => leaveOneOut(refs.length, (i, j) => rougeL(refs[i], refs[j]).f));

    const { band: h } = await band(file);
    assert.deepEqual(h.sources, ['references']);
    assert.equal(h.n, ROWS.length);
    const expected = bootstrapSummary(cosine, 0, { seed: DEFAULT_SEED, resamples: DEFAULT_RESAMPLES })!.mean;
    for (const key of ['value', 'low', 'high'] as const) assert.ok(Math.abs(h.mean![key] - expected[key]) < 1e-5, `cosine band ${key}: ${h.mean![key]} vs ${expected[key]}`);
    const expectedRouge = bootstrapSummary(lexical, 0, { seed: DEFAULT_SEED, resamples: DEFAULT_RESAMPLES })!.mean;
    for (const key of ['value', 'low', 'high'] as const) assert.ok(Math.abs(h.rougeL.mean![key] - expectedRouge[key]) < 1e-9, `ROUGE-L band ${key}`);

    // Each model against the band: "below" exactly when its whole interval lies under the band's.
    const off = h.models.find((m) => m.model === 'off')!;
    const close = h.models.find((m) => m.model === 'close')!;
    assert.equal(off.rougeLVerdict, 'below', 'an unrelated answer is below people on ROUGE-L');
    assert.equal(close.rougeLVerdict, 'at human level');
    for (const m of h.models) {
      assert.equal(m.verdict, m.mean!.high < h.mean!.low ? 'below' : 'at human level');
      assert.equal(m.rougeLVerdict, m.rougeL!.high < h.rougeL.mean!.low ? 'below' : 'at human level');
    }

    // score's own table and --json carry the same band.
    assert.deepEqual((JSON.parse(scored.stdout) as { humanBand?: HumanBandView }).humanBand, h);
    const table = await runCliCaptured(['score', file, ...common]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /Human band: the same metric[^\n]*\n\n\| model \| rows \| cosine mean [^\n]*\n[^\n]*\n\| \(human band\) \| 6 \|/);

    const md = await runCliCaptured(['report', file]);
    assert.match(md.stdout, /Human band: the same metric, human against human \(rows' several references, each against the others\)/);
    assert.match(md.stdout, /\| off \|[^\n]*\| below \|/);
    const csv = await runCliCaptured(['report', file, '--format', 'csv']);
    assert.match(csv.stdout, /# human band\r\nmodel,rows,mean,mean_low,mean_high,verdict,rougeL,rougeL_low,rougeL_high,rougeL_verdict\r\n\(human band\),6,/);
  });

  it('outputs marked human (humanModels, or models[].human) make the band from their scores, and are not read against it', async () => {
    const file = path.join(tmp.dir, 'annotator.jsonl');
    writeFileSync(file, jsonl(ROWS.map((refs, i) => ({ id: `r${i}`, input: 'p', rationale: refs[0], outputs: { annotator: refs[1], close: CLOSE[i], off: OFF } }))));
    const config = path.join(tmp.dir, 'config.json');
    writeFileSync(config, JSON.stringify({ humanModels: ['annotator'] }));
    const scored = await runCliCaptured(['score', file, '--json', '--config', config, ...common]);
    assert.equal(scored.code, 0, scored.stderr);
    const { stats, band: h } = await band(file, ['--config', config]);
    assert.deepEqual(h.sources, ['models']);
    assert.deepEqual(h.humanModels, ['annotator']);
    const annotator = stats.models.find((m) => m.model === 'annotator')!;
    assert.deepEqual(h.mean, annotator.mean, 'one human column: the band is its mean, with the same interval');
    assert.deepEqual(h.models.map((m) => m.model).sort(), ['close', 'off'], 'the human column is the band, not a model read against it');
  });

  it('no band where no row has two references and no output is marked human', async () => {
    const file = path.join(tmp.dir, 'plain.jsonl');
    writeFileSync(file, jsonl(ROWS.map((refs, i) => ({ id: `r${i}`, input: 'p', rationale: refs[0], outputs: { close: CLOSE[i] } }))));
    const scored = await runCliCaptured(['score', file, '--json', ...common]);
    assert.equal(scored.code, 0, scored.stderr);
    assert.equal((JSON.parse(scored.stdout) as { humanBand?: unknown }).humanBand, undefined);
    const report = await runCliCaptured(['report', file, '--json']);
    assert.equal((JSON.parse(report.stdout) as { statistics: StatisticsView }).statistics.humanBand, undefined);
  });
});

describe('human output columns in settings', () => {
  it('a model marked "human": true joins the humanModels setting; a non-boolean is a problem naming the field', () => {
    const values: Record<string, unknown> = {
      models: [{ name: 'ann', baseUrl: 'http://127.0.0.1:9/v1', model: 'x', human: true }, { name: 'gpt', baseUrl: 'http://127.0.0.1:9/v1', model: 'y' }],
      humanModels: ['second-annotator'],
    };
    const read = readSettings({ get: (key) => values[key] });
    assert.deepEqual(read.problems, []);
    assert.deepEqual(read.settings.humanModels, ['second-annotator', 'ann']);
    const bad = readSettings({ get: (key) => (key === 'models' ? [{ name: 'ann', baseUrl: 'http://127.0.0.1:9/v1', model: 'x', human: 'yes' }] : undefined) });
    assert.match(bad.problems.map((p) => `${p.key}: ${p.problem}`).join('\n'), /models\[0\]\.human: must be true or false; got "yes"/);
  });
});
