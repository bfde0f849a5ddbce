import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { CompareDocument } from '../../src/cli/commands/compare';
import type { ReportDocument } from '../../src/cli/commands/report';
import type { ScoreDocument } from '../../src/cli/commands/score';
import { DatasetReview } from '../../src/core/review/datasetReview';
import { scoreView } from '../../src/core/review/reviewModel';
import { reviewScores } from '../../src/core/review/reviewStatistics';
import { inlineResultText } from '../../src/host/review/format';
import { isVerified, signRecord, verifyRecord } from '../../src/core/store/provenance';
import { runCliCaptured } from '../support/cli';
import { jsonl, makeTempDir, repoRoot } from '../support/files';
import { FakeOpenAIServer } from '../support/openaiServer';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

const digest = (text: string) => crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);

/** Each model's numbers, as a report states them. */
function numbers(doc: ReportDocument) {
  return Object.fromEntries(doc.models.map((m) => [m.model, { scored: m.scored, mean: m.mean, median: m.median, share: m.shareAtOrAbove, failed: m.failed }]));
}

describe('results that say where they came from (issue 18.3, 18.6)', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let server: FakeOpenAIServer | undefined;
  beforeEach(() => (tmp = makeTempDir('pisar-prov-')));
  afterEach(async () => {
    await server?.close();
    server = undefined;
    tmp.cleanup();
  });

  async function setup() {
    server = await FakeOpenAIServer.start({ respond: (req) => `An answer about ${req.prompt}` });
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl(Array.from({ length: 4 }, (_, i) => ({
      id: `r${i}`, input: `question ${i}`, rationale: `Rationale: question ${i}`,
      outputs: { pre: i % 2 ? `Rationale: question ${i}` : 'Nothing alike at all, about cooking pasta.' },
    }))));
    const config = path.join(tmp.dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm1', baseUrl: server.url, model: 'm1' }] }));
    const common = ['--config', config, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')];
    return { data, common, sidecar: path.join(tmp.dir, 'data.pisar-results.jsonl') };
  }

  async function report(data: string, common: string[], ...extra: string[]) {
    const out = await runCliCaptured(['report', data, '--config', common[1], '--format', 'json', ...extra]);
    assert.equal(out.code, 0, out.stderr);
    return { doc: JSON.parse(out.stdout) as ReportDocument, stderr: out.stderr };
  }

  it('a crafted sidecar (another text, a fake 0.99, a forged MAC, a foreign model, invalid fields) changes no number and reads as from the file; score redoes it', async () => {
    const { data, common, sidecar } = await setup();
    const first = await runCliCaptured(['score', data, ...common, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const scored = JSON.parse(first.stdout) as ScoreDocument;
    const before = await report(data, common);
    assert.deepEqual(before.doc.fromFile, { });
    assert.equal(before.doc.embedding.length, 1);
    assert.equal(before.doc.embedding[0].id, scored.embedding.id);
    assert.equal(before.doc.embedding[0].weights, scored.embedding.weights);
    assert.match(before.doc.embedding[0].weights ?? '', /^[0-9a-f]{12}$/);

    const compare = async () => {
      const out = await runCliCaptured(['compare', data, '--models', 'pre,m1', '--json']);
      assert.equal(out.code, 0, out.stderr);
      const doc = JSON.parse(out.stdout) as CompareDocument;
      return { doc, numbers: [doc.paired, doc.improved, doc.regressed, doc.unchanged, doc.meanA, doc.meanB, doc.p] };
    };
    const compareBefore = await compare();
    assert.equal(compareBefore.doc.embedding[0].weights, scored.embedding.weights);
    assert.equal(compareBefore.doc.threshold, 0.7);

    // The genuine lines, as an attacker who can read and write the sidecar sees them.
    const lines = (await fsp.readFile(sidecar, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const genuine = (row: string, model: string) => lines.filter((l) => l.rowId === row && l.model === model).at(-1)!;
    assert.match(String(genuine('r0', 'pre').mac), /^[0-9a-f]{32}$/, 'each line this installation writes carries a MAC');
    assert.equal(genuine('r0', 'pre').outputHash, digest('Nothing alike at all, about cooking pasta.'));
    assert.equal(genuine('r0', 'pre').referenceHash, digest('Rationale: question 0'));
    const fake = 'Rationale: question 0';
    const crafted = [
      // Another text for a precomputed output, a fake score, hashes that match the fake text, the genuine line's MAC replayed, claims of origin.
      { ...genuine('r0', 'pre'), output: fake, outputHash: digest(fake), score: 0.99, scoredBy: 'here', verified: true },
      // A called output replaced, with a MAC made up.
      { ...genuine('r2', 'm1'), output: fake, score: 0.99, mac: 'f'.repeat(32) },
      // A model that does not exist.
      { ...genuine('r1', 'm1'), model: 'ghost', output: 'anything', score: 0.99 },
      // Invalid fields: each line is a finding and changes nothing.
      { ...genuine('r3', 'pre'), score: 5 },
      { ...genuine('r3', 'pre'), score: 'NaN' },
      { ...genuine('r3', 'pre'), rowId: 7 },
      { ...genuine('r3', 'pre'), model: 'x'.repeat(5000) },
      { ...genuine('r3', 'pre'), embedding: { id: 7 } },
      { ...genuine('r3', 'pre'), mac: 'not hex' },
    ];
    const firstCrafted = lines.length + 1;
    await fsp.appendFile(sidecar, crafted.map((l) => JSON.stringify(l)).join('\n') + '\n');

    const after = await report(data, common);
    assert.deepEqual(numbers(after.doc), numbers(before.doc), 'no number changed');
    // pre: r0 (another text) and r3 (its score of 5 dropped, the rest of the line kept as read from the file).
    assert.deepEqual(after.doc.fromFile, { pre: 2, m1: 1 });
    assert.deepEqual(after.doc.foreign, [{ model: 'ghost', results: 1 }]);
    assert.ok(!after.doc.models.some((m) => m.model === 'ghost'), 'a foreign model is not a column');
    assert.match(after.stderr, /"ghost", which is neither configured nor in the dataset's outputs, were read from the file and ignored\. Add the model to the config/);
    assert.match(after.stderr, /3 result\(s\) were read from the file, not scored on this machine/);
    // The score of 5 is ignored with a finding (the rest of that line is kept, from the file); the others are skipped.
    const problemLines = after.doc.problems.map((p) => p.line).sort((a, b) => a - b);
    assert.deepEqual(problemLines, [3, 4, 5, 6, 7, 8].map((i) => firstCrafted + i));
    for (const p of after.doc.problems) assert.equal(p.file, sidecar);
    assert.ok(after.doc.models.every((m) => m.mean === null || (m.mean >= -1 && m.mean <= 1)));

    const compareAfter = await compare();
    assert.deepEqual(compareAfter.numbers, compareBefore.numbers, 'compare counts no line read from the file');
    assert.deepEqual([compareAfter.doc.a.fromFile, compareAfter.doc.b.fromFile], [2, 1]);
    const compareMd = await runCliCaptured(['compare', data, '--models', 'pre,m1']);
    assert.ok(compareMd.stdout.includes(`weights ${scored.embedding.weights}`) && compareMd.stdout.includes('Threshold: 0.7'), compareMd.stdout);

    // Markdown and CSV name the embedding model, its weights and the threshold, and count what came from the file.
    const md = await runCliCaptured(['report', data, '--config', common[1], '--rows']);
    assert.match(md.stdout, /from the file \(not counted\)/);
    assert.ok(md.stdout.includes(`weights ${scored.embedding.weights}`), md.stdout);
    assert.match(md.stdout, /Threshold: 0\.7/);
    const csv = await runCliCaptured(['report', data, '--config', common[1], '--format', 'csv']);
    assert.match(csv.stdout, new RegExp(`# scoring\\r\\nembedding_model,dtype,weights,threshold\\r\\n.*,fp32,${scored.embedding.weights},0\\.7`));

    // compact keeps the results scored here that lines from the file came after: the numbers read the same.
    const compacted = await runCliCaptured(['compact', data]);
    assert.equal(compacted.code, 0, compacted.stderr);
    assert.deepEqual(numbers((await report(data, common)).doc), numbers(before.doc), 'compact dropped no result scored here');

    // score redoes what came from the file with no call: the precomputed text is taken from the row again.
    const requests = server!.stats.requests;
    const again = await runCliCaptured(['score', data, ...common, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(server!.stats.requests, requests, 'no model was called');
    const redone = await report(data, common);
    assert.deepEqual(numbers(redone.doc), numbers(before.doc));
    assert.deepEqual(redone.doc.fromFile, { m1: 1 }, 'the called output read from the file is still from the file');
    const latestPre = (await fsp.readFile(sidecar, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.rowId === 'r0' && l.model === 'pre').at(-1)!;
    assert.equal(latestPre.output, 'Nothing alike at all, about cooking pasta.');
    assert.notEqual(latestPre.score, 0.99);

    // --rerun calls it here: nothing is from the file any more.
    const rerun = await runCliCaptured(['score', data, ...common, '--rerun', '--models', 'm1']);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual((await report(data, common)).doc.fromFile, {});
  });

  it('an old sidecar without the new fields still reads: shown, unverified (not stale), left out of the numbers until score scores it here', async () => {
    const { data, common, sidecar } = await setup();
    assert.equal((await runCliCaptured(['score', data, ...common])).code, 0);
    const before = await report(data, common);
    // Strip what this version adds, as a sidecar written by an older version looks.
    const old = (await fsp.readFile(sidecar, 'utf8')).trim().split('\n').map((l) => {
      const { mac: _m, outputHash: _o, referenceHash: _r, embedding: _e, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify(rest);
    });
    await fsp.writeFile(sidecar, old.join('\n') + '\n');
    const read = await report(data, common, '--rows');
    assert.equal(read.doc.problems.length, 0);
    assert.deepEqual(read.doc.fromFile, { m1: 4, pre: 4 });
    assert.ok(read.doc.models.every((m) => m.stale === 0 && m.scored === 0));
    assert.equal(read.doc.rows![0].results.pre.status, 'from-file');
    const requests = server!.stats.requests;
    assert.equal((await runCliCaptured(['score', data, ...common])).code, 0);
    assert.equal(server!.stats.requests, requests);
    const after = await report(data, common);
    assert.deepEqual(after.doc.fromFile, { m1: 4 });
    assert.deepEqual(numbers(after.doc).pre, numbers(before.doc).pre);
  });

  it('a score made by other embedding weights (same model id) is redone by score and names the new weights', async () => {
    const { data, common } = await setup();
    const folder = path.join(tmp.dir, 'model');
    await fsp.cp(TINY, folder, { recursive: true });
    const score = async () => {
      const out = await runCliCaptured(['score', data, '--config', common[1], '--embedding-model', folder, '--cache-dir', common[5], '--json']);
      assert.equal(out.code, 0, out.stderr);
      return JSON.parse(out.stdout) as ScoreDocument;
    };
    assert.equal((await score()).run.scored, 8);
    const unchanged = await score();
    assert.equal(unchanged.run.scored, 0, 'same model, same weights: nothing redone');
    // Another model's files in the same folder: the id is the same, the weights are not.
    await fsp.rm(folder, { recursive: true });
    await fsp.cp(path.join(repoRoot, 'test', 'fixtures', 'models', 'parity'), folder, { recursive: true });
    const redone = await score();
    assert.equal(redone.run.scored, 8);
    assert.notEqual(redone.embedding.weights, unchanged.embedding.weights);
    const doc = (await report(data, common)).doc;
    assert.deepEqual(doc.embedding.map((e) => e.weights), [redone.embedding.weights]);
  });

  it('the panel and the editor tell a result read from the file: marked, never below, never in the panel\'s numbers', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl([{ id: 'r0', input: 'q', rationale: 'because', outputs: { pre: 'an answer' } }]));
    const review0 = await DatasetReview.open(data, { threshold: 0.7, models: [] });
    const rowHash = review0.dataset.rowHash(0);
    // A shipped line with a low score and a forged MAC.
    await fsp.writeFile(path.join(tmp.dir, 'data.pisar-results.jsonl'), JSON.stringify({ rowId: 'r0', rowHash, model: 'pre', source: 'precomputed', output: 'an answer', score: 0.1, mac: '0'.repeat(32), at: new Date(0).toISOString() }) + '\n');
    const review = await DatasetReview.open(data, { threshold: 0.7, models: [] });
    const state = review.rowState(0)!;
    assert.equal(state.results[0].fromFile, true);
    assert.equal(state.below, false, 'a score from the file makes no row below the threshold');
    const view = scoreView(state.results[0], 0.7);
    assert.equal(view.fromFile, true);
    assert.equal(inlineResultText(state.results[0], 0.7), 'pre from file 0.10');
    assert.equal(reviewScores(review, 'pre').size, 0, 'the panel\'s statistics count no score from the file');
  });
});

describe('a line\'s MAC checked over its own text (the fast path of a million-line read)', () => {
  const key = crypto.randomBytes(32);
  const signedLine = () => {
    const record: Record<string, unknown> = { rowId: 'r1', rowHash: '0123456789abcdef', model: 'm', source: 'called', output: 'an \u00e9 answer "quoted"', score: 0.5, at: '2026-01-01T00:00:00.000Z' };
    signRecord(record, key);
    return JSON.stringify(record);
  };
  const verified = (line: string) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    verifyRecord(record, key, line);
    return isVerified(record);
  };

  it('the line as written verifies; written again with other spacing it still verifies (checked over the record)', () => {
    const line = signedLine();
    assert.equal(verified(line), true);
    assert.equal(verified(line.replace('"score":', '"score": ').replace(',"at"', ' , "at"')), true);
  });

  it('any change to the text before the MAC, or a MAC moved from another line, is not verified', () => {
    const line = signedLine();
    assert.equal(verified(line.replace('"score":0.5', '"score":0.51')), false);
    assert.equal(verified(line.replace('"rowId":"r1"', '"rowId":"r2"')), false);
    // The same MAC after a record that differs only in what the text before the MAC holds: another output.
    assert.equal(verified(line.replace('an \u00e9', 'an e')), false);
    const other = JSON.parse(signedLine().replace('"r1"', '"r9"')) as Record<string, unknown>;
    assert.equal(verified(JSON.stringify({ ...other, mac: (JSON.parse(line) as { mac: string }).mac })), false);
    // A MAC not last: checked over the record, as before.
    const { mac, ...rest } = JSON.parse(line) as Record<string, unknown>;
    assert.equal(verified(JSON.stringify({ mac, ...rest })), true);
    assert.equal(verified(JSON.stringify({ mac, ...rest, score: 0.9 })), false);
  });
});
