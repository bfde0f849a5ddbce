import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { CompareDocument } from '../../src/cli/commands/compare';
import type { CorrectDocument } from '../../src/cli/commands/review';
import type { ExportDocument } from '../../src/cli/commands/export';
import type { ReportDocument } from '../../src/cli/commands/report';
import type { ScoreDocument } from '../../src/cli/commands/score';
import type { TrainingManifest } from '../../src/core/review/trainingExport';
import { annotationsFileFor } from '../../src/core/store/annotations';
import type { StoredResult } from '../../src/core/store/results';
import { runCliCaptured } from '../support/cli';
import { FakeOpenAIServer } from '../support/openaiServer';
import { jsonl, makeTempDir, repoRoot } from '../support/files';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

const rows = [
  { id: 'r0', input: 'Why brake at the crest?', rationale: 'The crest hides oncoming traffic.', split: 'train', outputs: { ft: 'The crest hides oncoming traffic.', gpt: 'Speed is fun.' } },
  { id: 'r1', input: 'Why slow near the school?', rationale: 'Children cross without looking.', split: 'train', outputs: { ft: 'Kids may run into the road.', gpt: 'It is the law.' } },
  { id: 'r2', input: 'Why keep distance?', rationale: 'Stopping takes room.', split: 'train', outputs: { ft: 'Braking needs distance.', gpt: 'Tailgating is rude.' } },
  { id: 'r3', input: 'Why use lights at dusk?', rationale: 'Others must see you.', split: 'test', outputs: { ft: 'To be seen.', gpt: 'Lights are pretty.' } },
];

async function setup() {
  const tmp = makeTempDir();
  const data = path.join(tmp.dir, 'data.jsonl');
  await fsp.writeFile(data, jsonl(rows));
  const embed = ['--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')];
  const cli = (args: string[]) => runCliCaptured(args, { cwd: tmp.dir, env: { PISAR_REVIEWER: 'env-reviewer' } });
  const scored = await cli(['score', data, ...embed, '--json']);
  assert.equal(scored.code, 0, scored.stderr);
  return { tmp, data, embed, cli };
}

const resultLines = async (data: string) =>
  (await fsp.readFile(data.replace(/\.jsonl$/, '.pisar-results.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as StoredResult);
const sha = async (file: string) => createHash('sha256').update(await fsp.readFile(file)).digest('hex');

describe('CLI: corrected references, reviewers, training export, lineage', () => {
  it('correct re-scores only that row against the new reference, with no call; report uses it unless --original-references', async () => {
    const { tmp, data, embed, cli } = await setup();
    const before = await resultLines(data);
    const datasetHash = await sha(data);
    const baseline = path.join(tmp.dir, 'baseline.pisar-results.jsonl');
    await fsp.copyFile(data.replace(/\.jsonl$/, '.pisar-results.jsonl'), baseline);
    const originalReport = JSON.parse((await cli(['report', data, '--rows', '--json'])).stdout) as ReportDocument;

    const r = await cli(['correct', data, '--row', 'r1', '--text', 'Kids may run into the road.', '--reason', 'the reference was too vague', ...embed, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as CorrectDocument;
    assert.equal(doc.correction.reviewer, 'env-reviewer');
    assert.deepEqual(doc.rescored.map((x) => x.model).sort(), ['ft', 'gpt']);
    const ft = doc.rescored.find((x) => x.model === 'ft')!;
    assert.ok(ft.score! > 0.999, 'the output now equals the corrected reference');
    const after = await resultLines(data);
    assert.deepEqual(after.slice(0, before.length), before, 'nothing rewritten');
    assert.deepEqual(after.slice(before.length).map((x) => x.rowId), ['r1', 'r1'], 'only that row got new results');
    assert.equal(await sha(data), datasetHash, 'the dataset is never written');
    const events = (await fsp.readFile(annotationsFileFor(data), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(events.length, 1);
    assert.equal(events[0].op, 'correct');
    assert.equal(events[0].reason, 'the reference was too vague');

    const corrected = JSON.parse((await cli(['report', data, '--rows', '--json'])).stdout) as ReportDocument;
    assert.deepEqual(corrected.references, { choice: 'corrected', correctedRows: 1 });
    const cell = (d: ReportDocument, id: string, model: string) => d.rows!.find((x) => x.id === id)!.results[model] as { score: number };
    assert.ok(cell(corrected, 'r1', 'ft').score > 0.999);
    assert.equal(corrected.rows!.find((x) => x.id === 'r1')!.correctedReference, 'Kids may run into the road.');
    for (const id of ['r0', 'r2', 'r3']) assert.equal(cell(corrected, id, 'ft').score, cell(originalReport, id, 'ft').score, `${id} unchanged`);
    const original = JSON.parse((await cli(['report', data, '--rows', '--original-references', '--json'])).stdout) as ReportDocument;
    assert.equal(original.references.choice, 'original');
    assert.ok(Math.abs(cell(original, 'r1', 'ft').score - cell(originalReport, 'r1', 'ft').score) < 1e-6);
    const md = await cli(['report', data]);
    assert.match(md.stdout, /References: corrected \(1 row\(s\)/);

    // score: the corrected row is settled, nothing to redo; --tag is stored on new results.
    const again = JSON.parse((await cli(['score', data, ...embed, '--json'])).stdout) as ScoreDocument;
    assert.equal(again.run.total, 0);

    // Lineage: the baseline run against now: r1 changed because its reference was corrected.
    const cmp = JSON.parse((await cli(['compare', baseline, data, '--model', 'ft', '--json'])).stdout) as CompareDocument;
    const changed = cmp.rows.find((x) => x.id === 'r1')!;
    assert.equal(changed.cause, 'reference');
    assert.deepEqual(cmp.lineage, { modelChanged: 0, referenceCorrected: 1, both: 0 });
  });

  it('adopts a model output as the reference, and stores a run tag for compare', async () => {
    const { data, embed, cli } = await setup();
    const r = await cli(['correct', data, '--row', 'r2', '--adopt', 'ft', '--reason', 'better', '--reviewer', 'ana', ...embed, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as CorrectDocument;
    assert.equal(doc.correction.source, 'output:ft');
    assert.equal(doc.correction.reviewer, 'ana');
    assert.ok(doc.rescored.find((x) => x.model === 'ft')!.score! > 0.999);
    const bad = await cli(['correct', data, '--row', 'r2', '--adopt', 'nope', '--reason', 'x', ...embed]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no current output of that model; it has: ft, gpt/);

    const server = await FakeOpenAIServer.start();
    try {
      const config = path.join(path.dirname(data), 'config.json');
      await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm1', baseUrl: server.url, model: 'm1' }] }));
      const tagged = await cli(['score', data, ...embed, '--config', config, '--models', 'm1', '--tag', 'ckpt-1200', '--json']);
      assert.equal(tagged.code, 0, tagged.stderr);
      const lines = await resultLines(data);
      const m1 = lines.filter((x) => x.model === 'm1');
      assert.ok(m1.length >= 4);
      assert.ok(m1.every((x) => x.tag === 'ckpt-1200'));
      const cmp = JSON.parse((await cli(['compare', data, '--models', 'gpt,m1', '--json'])).stdout) as CompareDocument;
      assert.deepEqual(cmp.b.tags, ['ckpt-1200']);
      // The corrected row was scored against its correction in that run too.
      const r2 = lines.filter((x) => x.model === 'm1' && x.rowId === 'r2' && x.score !== undefined).pop()!;
      assert.equal(r2.correction, doc.correction.id);
      assert.equal(typeof r2.originalScore, 'number');
    } finally {
      await server.close();
    }
  });

  it('labels by two reviewers give agreement in report (md, csv, json); an adjudication settles', async () => {
    const { data, cli } = await setup();
    const a = ['wrong', 'wrong', 'fine', 'fine'];
    const b = ['wrong', 'fine', 'fine', 'fine'];
    for (let i = 0; i < 4; i++) {
      assert.equal((await cli(['label', data, '--row', `r${i}`, '--model', 'gpt', '--label', a[i], '--reviewer', 'ana'])).code, 0);
      assert.equal((await cli(['label', data, '--row', `r${i}`, '--model', 'gpt', '--label', b[i], '--reviewer', 'bo'])).code, 0);
    }
    let json = JSON.parse((await cli(['report', data, '--json'])).stdout) as ReportDocument;
    assert.deepEqual(json.agreement!.reviewers, ['ana', 'bo']);
    assert.equal(json.agreement!.disagreements, 1);
    // Cohen's kappa by hand: po = 3/4; pe = (2/4)(1/4) + (2/4)(3/4) = 1/2; kappa = 0.5.
    assert.ok(Math.abs(json.agreement!.overall.cohenKappa!.value! - 0.5) < 1e-12);
    const md = await cli(['report', data]);
    assert.match(md.stdout, /Agreement between reviewers \(2: ana, bo; 1 open disagreement/);
    assert.match(md.stdout, /Cohen's kappa/);
    const csv = await cli(['report', data, '--format', 'csv']);
    assert.match(csv.stdout, /# agreement\r\nlabel,ratings,units,percent_agreement,cohen_kappa/);
    assert.match(csv.stdout, /# reviewers\r\nreviewer,labels,rows,share_of_rows\r\nana,4,4,1\r\n/);
    assert.equal((await cli(['label', data, '--row', 'r1', '--model', 'gpt', '--label', 'wrong', '--adjudicate', '--reviewer', 'lead'])).code, 0);
    json = JSON.parse((await cli(['report', data, '--json'])).stdout) as ReportDocument;
    assert.equal(json.agreement!.disagreements, 0);
    assert.equal(json.agreement!.adjudicated, 1);
  });

  it('export writes the corrected reference as the target with a manifest, and refuses hold-out rows (exit 2, listed)', async () => {
    const { tmp, data, embed, cli } = await setup();
    assert.equal((await cli(['correct', data, '--row', 'r1', '--text', 'Children dart out between cars.', '--reason', 'precise', ...embed])).code, 0);
    const ids = path.join(tmp.dir, 'eval-ids.txt');
    await fsp.writeFile(ids, 'r3\n');
    const out = path.join(tmp.dir, 'train.jsonl');

    for (const holdout of [ids, 'split=test']) {
      const refused = await cli(['export', data, '--format', 'openai-chat', '--out', out, '--holdout', holdout, '--json']);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /1 selected row\(s\) belong to the hold-out/);
      assert.match(refused.stderr, /r3 \(line 4\)/);
      assert.equal((JSON.parse(refused.stdout) as ExportDocument).holdout[0].id, 'r3');
      await assert.rejects(fsp.stat(out), 'nothing was written');
    }
    // An evaluation file with the same input under another id is caught too.
    const evalSet = path.join(tmp.dir, 'eval.jsonl');
    await fsp.writeFile(evalSet, jsonl([{ id: 'other-id', input: 'Why  keep distance?', rationale: 'x' }]));
    const byInput = await cli(['export', data, '--format', 'sharegpt', '--out', out, '--holdout', evalSet]);
    assert.equal(byInput.code, 2);
    assert.match(byInput.stderr, /r2 \(line 3\): the same input is in eval\.jsonl/);

    const ok = await cli(['export', data, '--format', 'openai-chat', '--out', out, '--holdout', ids, '--drop-holdout', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const records = (await fsp.readFile(out, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { messages: { role: string; content: string }[] });
    assert.equal(records.length, 3);
    assert.deepEqual(records[1].messages, [{ role: 'user', content: 'Why slow near the school?' }, { role: 'assistant', content: 'Children dart out between cars.' }]);
    const manifest = JSON.parse(await fsp.readFile(path.join(tmp.dir, 'train.manifest.json'), 'utf8')) as TrainingManifest;
    assert.deepEqual(manifest.rows.map((x) => x.id), ['r0', 'r1', 'r2']);
    assert.equal(manifest.rows[1].corrected !== undefined, true);
    assert.equal(manifest.annotationEvents.length, 1);
    assert.deepEqual(manifest.holdout!.dropped.map((h) => h.id), ['r3']);
    assert.match(manifest.embeddingModel, /MiniLM/);
    assert.equal(typeof manifest.toolVersion, 'string');

    // DPO: chosen is the reference, rejected the output labelled bad; rows with no bad output give no pair.
    assert.equal((await cli(['label', data, '--row', 'r0', '--model', 'gpt', '--label', 'wrong', '--reviewer', 'ana'])).code, 0);
    const dpo = path.join(tmp.dir, 'dpo.jsonl');
    const d = await cli(['export', data, '--format', 'dpo', '--out', dpo, '--labels', 'wrong']);
    assert.equal(d.code, 0, d.stderr);
    const pairs = (await fsp.readFile(dpo, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { chosen: { content: string }[]; rejected: { content: string }[] });
    assert.deepEqual(pairs.map((p) => [p.chosen[0].content, p.rejected[0].content]), [['The crest hides oncoming traffic.', 'Speed is fun.']]);
    // alpaca: instruction / output.
    const alpaca = path.join(tmp.dir, 'alpaca.jsonl');
    assert.equal((await cli(['export', data, '--format', 'alpaca', '--out', alpaca, '--corrected-only'])).code, 0);
    assert.deepEqual(JSON.parse((await fsp.readFile(alpaca, 'utf8')).trim()), { instruction: 'Why slow near the school?', input: '', output: 'Children dart out between cars.' });
  });
});
