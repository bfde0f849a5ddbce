// Texts the embedding model cannot represent: when most word pieces are [UNK], unrelated texts embed
// alike (they scored 1.000). Such a pair is "not measurable by this model": no score, counted apart in
// every summary, with the fix. Real CLI, real files, the tiny BERT with the real bert-base-uncased vocab.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runCliCaptured } from '../support/cli';
import { makeTempDir, repoRoot } from '../support/files';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

// Ge'ez script: no piece of it is in the MiniLM (bert-base-uncased) vocabulary.
const ROWS = [
  { id: 'unknown', prompt: 'p', reference: 'ሰላም ለዓለም ይሁን', outputs: { m: 'བཀྲ་ཤིས་བདེ་ལེགས' } },
  { id: 'english', prompt: 'p', reference: 'The model refused because the request was harmful.', outputs: { m: 'It declined since the request could hurt someone.' } },
];

interface ScoreDoc {
  summary: { models: Array<{ model: string; scored: number; unmeasurable: number; mean: number }> };
}

describe('pairs not measurable by the embedding model (most word pieces unknown)', function () {
  this.timeout(120_000);
  const tmp = makeTempDir('pisar-unk-');
  after(() => tmp.cleanup());

  const dataset = (name: string): string => {
    const file = path.join(tmp.dir, `${name}.jsonl`);
    writeFileSync(file, ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return file;
  };

  it('gives such a pair no score, counts it apart in score --json and report, and names the fix', async () => {
    const file = dataset('data');
    const common = ['--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')];
    const scored = await runCliCaptured(['score', file, '--json', ...common]);
    assert.equal(scored.code, 0, scored.stderr);
    const doc = JSON.parse(scored.stdout) as ScoreDoc;
    assert.deepEqual({ scored: doc.summary.models[0].scored, unmeasurable: doc.summary.models[0].unmeasurable }, { scored: 1, unmeasurable: 1 });

    const rows = await runCliCaptured(['report', file, '--rows', '--json']);
    assert.equal(rows.code, 0, rows.stderr);
    const report = JSON.parse(rows.stdout) as { models: ScoreDoc['summary']['models']; rows: Array<{ id: string; results: Record<string, { status: string; reference?: number; limit?: number }> }> };
    assert.equal(report.models[0].unmeasurable, 1);
    assert.deepEqual(report.rows.find((r) => r.id === 'unknown')!.results.m, { status: 'unmeasurable', reference: 1, limit: 0.5 });
    assert.equal(report.rows.find((r) => r.id === 'english')!.results.m.status, 'scored');

    const md = await runCliCaptured(['report', file]);
    assert.match(md.stdout, /not measurable/);

    const again = await runCliCaptured(['score', file, '--json', ...common]);
    assert.equal((JSON.parse(again.stdout) as ScoreDoc).summary.models[0].unmeasurable, 1, 'kept apart on the next run, not redone');
  });

  it('the limit is the embedding.maxUnknownShare setting (CLI config key): at 1 every pair is measured', async () => {
    const file = dataset('lenient');
    const config = path.join(tmp.dir, 'config.json');
    writeFileSync(config, JSON.stringify({ embedding: { maxUnknownShare: 1 } }));
    const scored = await runCliCaptured(['score', file, '--json', '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')]);
    assert.equal(scored.code, 0, scored.stderr);
    const m = (JSON.parse(scored.stdout) as ScoreDoc).summary.models[0];
    assert.deepEqual({ scored: m.scored, unmeasurable: m.unmeasurable }, { scored: 2, unmeasurable: 0 });
  });
});
