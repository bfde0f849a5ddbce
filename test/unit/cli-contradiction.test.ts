// The contradiction check end to end (issue 24.3): `score --contradiction` with the project's tiny NLI model
// stores each output's probabilities with the result (and the NLI model's id and weights), the flagged rows
// are exactly those PyTorch's reference probabilities put at or above the threshold, report shows the flag
// in md/csv/json, a re-run re-checks nothing, another NLI model re-checks everything (no model call), and a
// row with several references is checked against the one it matched.
import * as assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createNliChecker, type NliProbabilities } from '../../src/core/scoring/nli';
import { DatasetReview } from '../../src/core/review/datasetReview';
import { ReviewModel } from '../../src/core/review/reviewModel';
import { renderRowsCsv } from '../../src/core/report/render';
import { runCliCaptured } from '../support/cli';
import { jsonl, makeTempDir, repoRoot } from '../support/files';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');
const NLI = path.join(repoRoot, 'test', 'fixtures', 'models', 'nli');
const fixture = JSON.parse(readFileSync(path.join(repoRoot, 'test', 'fixtures', 'nli', 'pairs.json'), 'utf8')) as {
  pairs: { premise: string; hypothesis: string; probabilities: NliProbabilities }[];
};

type Cell = { status: string; score?: number; matchedReference?: number; nli?: { contradiction: number; contradicts: boolean; reference?: number } };
type ReportDoc = {
  rows: Array<{ id: string; results: Record<string, Cell> }>;
  models: Array<{ model: string; contradiction?: { checked: number; contradicts: number } }>;
  contradictionThreshold?: number;
};
type ScoreDoc = { run: { reused: number; scored: number }; contradiction: { model: { id: string; weights?: string }; threshold: number } | null; contradictionError: string | null };

describe('contradiction check end to end (score --contradiction, report, re-check)', function () {
  this.timeout(240_000);
  const tmp = makeTempDir('pisar-contradiction-');
  after(() => tmp.cleanup());
  const cache = path.join(tmp.dir, 'cache');
  const env = { XDG_CONFIG_HOME: path.join(tmp.dir, 'config') };
  const file = path.join(tmp.dir, 'pairs.jsonl');
  const pairs = fixture.pairs;
  const rowId = (i: number) => `p${i}`;
  const run = (args: string[]) => runCliCaptured(args, { env });

  before(() => {
    writeFileSync(file, jsonl(pairs.map((p, i) => ({ id: rowId(i), input: 'check', rationale: p.premise, outputs: { m: p.hypothesis } }))));
  });

  const report = async (extra: string[] = []): Promise<ReportDoc> => {
    const r = await run(['report', file, '--rows', '--json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as ReportDoc;
  };

  it('flags exactly the rows whose reference P(contradiction) >= 0.5, stores the probabilities and the NLI model, and report shows them in md, csv and json', async () => {
    const scored = await run(['score', file, '--json', '--embedding-model', TINY, '--cache-dir', cache, '--contradiction', '--nli-model', NLI]);
    assert.equal(scored.code, 0, scored.stderr);
    const doc = JSON.parse(scored.stdout) as ScoreDoc;
    assert.equal(doc.contradictionError, null);
    assert.equal(doc.contradiction?.model.id, NLI);
    assert.match(doc.contradiction?.model.weights ?? '', /^[0-9a-f]{12}$/);
    assert.equal(doc.contradiction?.threshold, 0.5);

    const expected = pairs.map((p) => p.probabilities.contradiction >= 0.5);
    assert.ok(expected.some(Boolean) && expected.some((x) => !x), 'the fixture has both kinds');
    const json = await report();
    pairs.forEach((p, i) => {
      const cell = json.rows.find((r) => r.id === rowId(i))!.results.m;
      assert.equal(cell.status, 'scored');
      assert.ok(cell.nli, `row ${i} was checked`);
      assert.ok(Math.abs(cell.nli.contradiction - p.probabilities.contradiction) < 1e-4, `row ${i}: ${cell.nli.contradiction} vs ${p.probabilities.contradiction}`);
      assert.equal(cell.nli.contradicts, expected[i], `row ${i} flag`);
      assert.equal(cell.nli.reference, undefined, 'one reference: no index');
    });
    const flagged = expected.filter(Boolean).length;
    assert.deepEqual(json.models.find((m) => m.model === 'm')?.contradiction, { checked: pairs.length, contradicts: flagged });
    assert.equal(json.contradictionThreshold, 0.5);

    // The sidecar line holds the probabilities and the model that gave them.
    const lines = readFileSync(file.replace(/\.jsonl$/, '.pisar-results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { rowId: string; nli?: { model: { id: string; weights?: string } } });
    assert.ok(lines.every((l) => l.nli?.model.id === NLI && l.nli.model.weights === doc.contradiction?.model.weights));

    const csv = await run(['report', file, '--rows', '--format', 'csv']);
    assert.equal(csv.code, 0, csv.stderr);
    const rowsCsv = csv.stdout.split('\r\n\r\n').find((block) => block.startsWith('id,'))!.split('\r\n');
    const header = rowsCsv[0].split(',');
    const at = header.indexOf('contradicts:m');
    assert.ok(at > 0 && header.includes('contradiction:m'), header.join(','));
    const flaggedIds = rowsCsv.slice(1).filter((l) => l.split(',')[at] === 'true').map((l) => l.split(',')[0]);
    assert.deepEqual(flaggedIds.sort(), pairs.map((_, i) => rowId(i)).filter((_, i) => expected[i]).sort());
    assert.match(csv.stdout, new RegExp(`contradicts reference \\(P >= 0\\.5\\),contradiction checked`));

    const md = await run(['report', file, '--rows']);
    assert.equal(md.code, 0, md.stderr);
    const markedLines = md.stdout.split('\n').filter((l) => l.includes('⚠ contradicts reference'));
    assert.equal(markedLines.length, flagged, md.stdout);
  });

  it('another threshold flags other rows with no re-check; a re-run checks nothing again', async () => {
    // The long-premise entailment pair sits near 0.5: a lower threshold flags it, read from the stored probabilities.
    const low = 0.4;
    const json = await report(['--contradiction-threshold', String(low)]);
    pairs.forEach((p, i) => assert.equal(json.rows.find((r) => r.id === rowId(i))!.results.m.nli?.contradicts, p.probabilities.contradiction >= low, `row ${i}`));
    assert.ok(pairs.some((p) => p.probabilities.contradiction >= low && p.probabilities.contradiction < 0.5), 'some row changes with the threshold');

    const again = await run(['score', file, '--json', '--embedding-model', TINY, '--cache-dir', cache, '--contradiction', '--nli-model', NLI]);
    assert.equal(again.code, 0, again.stderr);
    const doc = JSON.parse(again.stdout) as ScoreDoc;
    assert.equal(doc.run.reused, pairs.length, 'every checked result is current');
    assert.equal(doc.run.scored, 0);
  });

  it('a result checked by another NLI model (other weights) is checked again, without a model call; without --contradiction nothing is redone', async () => {
    const without = JSON.parse((await run(['score', file, '--json', '--embedding-model', TINY, '--cache-dir', cache])).stdout) as ScoreDoc;
    assert.equal(without.contradiction, null);
    assert.equal(without.run.reused, pairs.length);

    const other = path.join(tmp.dir, 'nli-copy');
    cpSync(NLI, other, { recursive: true });
    const scored = await run(['score', file, '--json', '--embedding-model', TINY, '--cache-dir', cache, '--nli-model', other]);
    assert.equal(scored.code, 0, scored.stderr);
    const doc = JSON.parse(scored.stdout) as ScoreDoc;
    assert.equal(doc.run.scored, pairs.length, 'the same weights in another folder are another model id: every result re-checked');
    const json = await report();
    assert.ok(json.rows.every((r) => r.results.m.nli !== undefined));
  });

  it('a row with several references is checked against the one it matched (the index is stored and shown)', async () => {
    const multi = path.join(tmp.dir, 'multi.jsonl');
    const contradiction = pairs.find((p) => p.probabilities.contradiction > 0.9)!;
    const references = ['the shop sells fresh bread.', contradiction.premise];
    writeFileSync(multi, jsonl([{ id: 'mr', input: 'check', rationale: references, outputs: { m: contradiction.hypothesis } }]));
    const scored = await run(['score', multi, '--json', '--embedding-model', TINY, '--cache-dir', cache, '--nli-model', NLI]);
    assert.equal(scored.code, 0, scored.stderr);
    const r = await run(['report', multi, '--rows', '--json']);
    const cell = (JSON.parse(r.stdout) as ReportDoc).rows[0].results.m;
    assert.equal(cell.nli?.reference, cell.matchedReference);
    const checker = createNliChecker({ model: NLI, cacheDir: path.join(tmp.dir, 'independent') });
    try {
      const [p] = await checker.check([{ premise: references[cell.matchedReference!], hypothesis: contradiction.hypothesis }]);
      assert.ok(Math.abs(cell.nli!.contradiction - p.contradiction) < 1e-6, `${cell.nli!.contradiction} vs ${p.contradiction}`);
    } finally {
      await checker.dispose();
    }
  });

  it('the training export leaves out (or keeps only) rows where an output contradicts its reference, and its manifest names the models', async () => {
    const flagged = pairs.map((_, i) => rowId(i)).filter((_, i) => pairs[i].probabilities.contradiction >= 0.5).sort();
    const manifestRows = async (mode: string): Promise<{ id: string; contradicts?: string[] }[]> => {
      const out = path.join(tmp.dir, `train-${mode}.jsonl`);
      const r = await run(['export', file, '--format', 'alpaca', '--out', out, '--contradicts', mode]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(readFileSync(out.replace(/\.jsonl$/, '.manifest.json'), 'utf8')) as { rows: { id: string; contradicts?: string[] }[] }).rows;
    };
    const only = await manifestRows('only');
    assert.deepEqual(only.map((r) => r.id).sort(), flagged);
    assert.ok(only.every((r) => JSON.stringify(r.contradicts) === '["m"]'), 'each kept row names the model that contradicts');
    const excluded = await manifestRows('exclude');
    assert.deepEqual(excluded.map((r) => r.id).sort(), pairs.map((_, i) => rowId(i)).filter((id) => !flagged.includes(id)).sort());
    assert.ok(excluded.every((r) => r.contradicts === undefined));
    const bad = await run(['export', file, '--format', 'alpaca', '--out', path.join(tmp.dir, 'x.jsonl'), '--contradicts', 'maybe']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--contradicts maybe: expected exclude/);
  });

  it('an NLI folder that is not there: scores are kept unchecked, the failure names the folder and the flag (exit 2)', async () => {
    const fresh = path.join(tmp.dir, 'fresh.jsonl');
    writeFileSync(fresh, jsonl([{ id: 'a', input: 'x', rationale: pairs[0].premise, outputs: { m: pairs[0].hypothesis } }]));
    const scored = await run(['score', fresh, '--json', '--embedding-model', TINY, '--cache-dir', cache, '--nli-model', path.join(tmp.dir, 'no-such-model')]);
    assert.equal(scored.code, 2, scored.stderr);
    const doc = JSON.parse(scored.stdout) as ScoreDoc;
    assert.match(doc.contradictionError ?? '', /NLI model folder .*no-such-model does not exist/);
    assert.match(scored.stderr, /contradiction check failed.*--nli-model/);
    const json = JSON.parse((await run(['report', fresh, '--rows', '--json'])).stdout) as ReportDoc;
    assert.equal(json.rows[0].results.m.status, 'scored');
    assert.equal(json.rows[0].results.m.nli, undefined);
  });
});

describe('the panel\'s "Contradicts reference" filter and marker (the review model the panel reads)', function () {
  this.timeout(120_000);
  const tmp = makeTempDir('pisar-contradiction-panel-');
  after(() => tmp.cleanup());

  it('lists exactly the rows whose output contradicts its reference, even where the score passes; the row shows the flag; blind mode lists none', async () => {
    const file = path.join(tmp.dir, 'panel.jsonl');
    writeFileSync(file, jsonl(fixture.pairs.map((p, i) => ({ id: `p${i}`, input: 'check', rationale: p.premise, outputs: { m: p.hypothesis } }))));
    const scored = await runCliCaptured(['score', file, '--json', '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache'), '--nli-model', NLI]);
    assert.equal(scored.code, 0, scored.stderr);
    const expected = fixture.pairs.map((p, i) => (p.probabilities.contradiction >= 0.5 ? i : -1)).filter((i) => i >= 0);
    // A threshold of -1: every score passes, and the flag still shows.
    const review = await DatasetReview.open(file, { threshold: -1, models: [], contradiction: { enabled: true, model: NLI, threshold: 0.5 } });
    try {
      const model = new ReviewModel(() => review, () => ({ labels: [], canScore: true }));
      assert.deepEqual(await model.filterRows({ kind: 'contradicts' }), expected);
      const flagged = (await model.rowDetail(expected[0]))!.outputs[0].score!;
      assert.equal(flagged.below, undefined, 'the score passes');
      assert.match(flagged.contradicts ?? '', /^contradicts reference \(P [01]\.\d\d\)$/, 'the flag in words');
      // What the panel's Markdown/CSV export renders from (ReportCell.nli): P as the reference gives it.
      assert.equal(flagged.nli?.contradicts, true);
      assert.ok(Math.abs(flagged.nli!.contradiction - fixture.pairs[expected[0]].probabilities.contradiction) < 1e-4);
      const { text: _t, below: _b, contradicts: _w, ...cell } = flagged;
      const csv = renderRowsCsv({ summary: { threshold: -1, rowCount: 1, models: [], gaps: [] }, models: ['m'] }, [{ line: 1, id: 'x', scores: { m: cell } }]);
      assert.match(csv, /^id,line,score:m,error:m,rougeL:m,contradiction:m,contradicts:m\r\nx,1,[-0-9.e]+,,,[0-9.e-]+,true\r\n$/);
      const clean = fixture.pairs.findIndex((p) => p.probabilities.contradiction < 0.1);
      assert.equal((await model.rowDetail(clean))!.outputs[0].score!.contradicts, undefined);
      const blind = new ReviewModel(() => review, () => ({ labels: [], canScore: true, blind: true, reviewer: 'ana' }));
      assert.deepEqual(await blind.filterRows({ kind: 'contradicts' }), []);
    } finally {
      await review.dataset.close();
    }
  });
});

describe('the results sidecar\'s nli field (read like every other field: optional, checked)', () => {
  const tmp = makeTempDir('pisar-nli-sidecar-');
  after(() => tmp.cleanup());

  it('a malformed nli is ignored with a warning naming the line, the output and score kept; a well-formed one is read; old lines read as before', async () => {
    const { ResultsStore } = await import('../../src/core/store/results');
    const dataset = path.join(tmp.dir, 'd.jsonl');
    writeFileSync(dataset, jsonl([{ id: 'a', rationale: 'r', outputs: { m: 'o' } }]));
    const base = { rowHash: 'h', source: 'precomputed', output: 'o', score: 0.5, at: '2026-12-07T00:00:00.000Z' };
    writeFileSync(dataset.replace(/\.jsonl$/, '.pisar-results.jsonl'), jsonl([
      { rowId: 'old', model: 'm', ...base },
      { rowId: 'good', model: 'm', ...base, nli: { contradiction: 0.9, entailment: 0.05, neutral: 0.05, reference: 1, model: { id: 'x/nli', weights: 'abcdef012345' } } },
      { rowId: 'bad', model: 'm', ...base, nli: { contradiction: 7, entailment: 0, neutral: 0, model: { id: 'x/nli' } } },
      { rowId: 'nomodel', model: 'm', ...base, nli: { contradiction: 0.2, entailment: 0.4, neutral: 0.4 } },
    ]));
    const store = await ResultsStore.open(dataset, { repair: false });
    assert.equal(store.latest('old', 'm')?.score, 0.5);
    assert.equal(store.latest('old', 'm')?.nli, undefined);
    assert.deepEqual(store.latest('good', 'm')?.nli?.reference, 1);
    for (const id of ['bad', 'nomodel']) {
      const r = store.latest(id, 'm');
      assert.equal(r?.output, 'o', id);
      assert.equal(r?.score, 0.5, id);
      assert.equal(r?.nli, undefined, id);
    }
    const warned = store.problems.filter((p) => /"nli" must be/.test(p.reason)).map((p) => p.line).sort();
    assert.deepEqual(warned, [3, 4]);
  });
});
