import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, repoRoot } from '../support/files';

const CLI = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');
const run = promisify(execFile);

/** The CLI as its own process: a run that loses its last handle ends the process, as it would for a user. */
async function score(dataset: string, cacheDir: string, model = TINY): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'score', dataset, '--embedding-model', model, '--cache-dir', cacheDir, '--json'], { env: { PATH: process.env.PATH }, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('CLI: scoring again with every embedding cached', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  before(() => {
    tmp = makeTempDir();
  });
  after(() => tmp.cleanup());

  it('scores every pair and prints its document, though no worker computes anything (two scorer calls at once)', async () => {
    // 1,100 rows x 2 models = 2,200 pairs: more than one scorer window (2,048), so two calls run at once,
    // and texts long enough (> 126 characters) that each call asks a worker which ones the model cuts.
    const long = (i: number, what: string) => `${what} for row ${i}: ${'the agent moved the cup to the left because the user asked for it '.repeat(3)}`;
    const dataset = path.join(tmp.dir, 'data.jsonl');
    const rows = Array.from({ length: 1100 }, (_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: long(i, 'reference'), outputs: { a: long(i, 'output a'), b: long(i, 'output b') } }));
    fs.writeFileSync(dataset, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const cache = path.join(tmp.dir, 'cache');
    const results = path.join(tmp.dir, 'data.pisar-results.jsonl');

    const first = await score(dataset, cache);
    assert.equal(first.code, 0, first.stderr);
    fs.rmSync(results);

    const again = await score(dataset, cache);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.stdout.trim().startsWith('{'), `a JSON document on stdout, got ${JSON.stringify(again.stdout.slice(0, 200))} (stderr: ${again.stderr.slice(0, 500)})`);
    const lines = fs.readFileSync(results, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { score?: number });
    assert.equal(lines.length, 2200);
    assert.equal(lines.filter((r) => typeof r.score === 'number').length, 2200);
    assert.equal(fs.existsSync(`${results}.lock`), false, 'the run lock is released');
  });

  it('never loads the model when every text is cached: the cut flags and unknown shares come from the cache (the tokenizer broken after the first run)', async () => {
    // A copy of the tiny model that reads 16 word pieces a text, so the long texts below are cut.
    const model = path.join(tmp.dir, 'model-16');
    fs.cpSync(TINY, model, { recursive: true });
    fs.writeFileSync(path.join(model, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: 16, do_lower_case: false }));
    const long = (i: number) => `reference ${i}: the agent moved the cup to the left because the user asked for it and the table was wet`;
    const rows = Array.from({ length: 40 }, (_, i) => ({
      id: `r${i}`,
      input: `q${i}`,
      rationale: i % 2 === 0 ? long(i) : `short reference ${i}`,
      // Every third output is snowmen only: word pieces the model does not know, so its pair is not measurable.
      outputs: { a: i % 3 === 0 ? '\u2603\u2603\u2603 \u2603\u2603 \u2603' : i % 4 === 0 ? `output ${i}: ${long(i)}` : `output ${i} moved the cup` },
    }));
    const dataset = path.join(tmp.dir, 'facts.jsonl');
    fs.writeFileSync(dataset, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const cache = path.join(tmp.dir, 'facts-cache');
    const results = path.join(tmp.dir, 'facts.pisar-results.jsonl');
    type Line = { rowId?: string; score?: number; scoreCut?: unknown; unmeasurable?: unknown };
    const read = (): Line[] => fs.readFileSync(results, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line)
      .map(({ rowId, score, scoreCut, unmeasurable }) => ({ rowId, score, scoreCut, unmeasurable }))
      .sort((x, y) => String(x.rowId).localeCompare(String(y.rowId)));

    const first = await score(dataset, cache, model);
    assert.equal(first.code, 0, first.stderr);
    const before = read();
    assert.equal(before.length, 40);
    assert.ok(before.filter((r) => r.scoreCut !== undefined).length >= 10, 'the long texts are marked cut');
    assert.ok(before.filter((r) => r.unmeasurable !== undefined).length >= 10, 'the snowmen outputs are not measurable');
    fs.rmSync(results);

    // Any model load now fails: tokenizer.json is no longer JSON (the weights file, which names the cache, is untouched).
    fs.writeFileSync(path.join(model, 'tokenizer.json'), '{ not json');
    const again = await score(dataset, cache, model);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(read(), before, 'the same scores, cut flags and unmeasurable pairs, from the cache alone');

    // The broken model cannot load: a run that computes anything fails (so the run above computed nothing).
    fs.rmSync(results);
    const fresh = await score(dataset, path.join(tmp.dir, 'fresh-cache'), model);
    assert.equal(fresh.code, 2, fresh.stderr);
    assert.match(fresh.stderr, /tokenizer\.json could not be read as JSON/, 'the message names the broken file');
  });
});
