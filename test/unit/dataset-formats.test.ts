import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { ScoreDocument } from '../../src/cli/commands/score';
import type { ModelConfig } from '../../src/core/config/models';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { DatasetReadError } from '../../src/core/dataset/errors';
import { buildMessages } from '../../src/core/runner/prompt';
import { runDataset } from '../../src/core/runner/runner';
import { annotationsFileFor } from '../../src/core/store/annotations';
import { ResultsStore, resultsFileFor } from '../../src/core/store/results';
import { jsonl, makeTempDir, repoRoot, writeFixture } from '../support/files';
import { runCliCaptured } from '../support/cli';
import { FakeOpenAIServer } from '../support/openaiServer';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');
const row = (id: string | number, extra: Record<string, unknown> = {}) => ({ id, input: `input of ${id}`, rationale: `because of ${id}`, ...extra });
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliCaptured(args);
}

describe('datasets as people have them (real files)', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('pisar-formats-')));
  afterEach(() => tmp.cleanup());

  const text = jsonl([row('a'), row('b'), row('c', { input: 'café ☕' })]);

  it('reads UTF-16 LE and BE files (with a BOM) as their text, saying "save as UTF-8"', async () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le);
    be.swap16();
    for (const [name, bytes] of [['le.jsonl', le], ['be.jsonl', be]] as const) {
      const dataset = await Dataset.open(writeFixture(tmp.dir, name, bytes));
      assert.deepEqual(dataset.rowIds(), ['a', 'b', 'c'], name);
      assert.equal((await dataset.getRow(2)).input, 'café ☕', name);
      assert.match(dataset.findings[0].message, /UTF-16/);
      assert.match(dataset.findings[0].fix, /Save the file as UTF-8/);
      assert.equal(dataset.findings.filter((f) => f.severity !== 'info').length, 0, `${name}: no bad lines`);
      await dataset.close();
    }
  });

  it('reads .jsonl.gz transparently and refuses archives and binary files with what to do', async () => {
    const dataset = await Dataset.open(writeFixture(tmp.dir, 'data.jsonl.gz', zlib.gzipSync(Buffer.from(text))));
    assert.deepEqual(dataset.rowIds(), ['a', 'b', 'c']);
    assert.equal((await dataset.getRow(1)).reference, 'because of b');
    await dataset.close();
    const parquet = writeFixture(tmp.dir, 'data.parquet', Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64)]));
    await assert.rejects(Dataset.open(parquet), (e: DatasetReadError) => e instanceof DatasetReadError && /Parquet/.test(e.message) && /to_json/.test(e.fix));
    const broken = writeFixture(tmp.dir, 'broken.jsonl.gz', zlib.gzipSync(Buffer.from(text)).subarray(0, 20));
    await assert.rejects(Dataset.open(broken), (e: DatasetReadError) => e instanceof DatasetReadError && /gzip/.test(e.message));
  });

  it('reports NaN and Infinity with the field and the exact fix', async () => {
    const file = writeFixture(tmp.dir, 'nan.jsonl', jsonl([row('a'), '{"id": "b", "input": "x", "rationale": "y", "score": NaN}', '{"id": "c", "input": "x", "rationale": "y", "w": -Infinity}']));
    const dataset = await Dataset.open(file);
    assert.deepEqual(dataset.findings.map((f) => [f.line, f.code]), [[2, 'non-finite-number'], [3, 'non-finite-number']]);
    assert.match(dataset.findings[0].message, /NaN for "score"/);
    assert.match(dataset.findings[0].fix, /Write null instead of NaN for "score"/);
    assert.match(dataset.findings[1].message, /-Infinity for "w"/);
  });

  it('keeps integer ids above 2^53 exactly as written, never calling them duplicates', async () => {
    const file = writeFixture(tmp.dir, 'big.jsonl', jsonl(['{"id": 9007199254740993, "input": "x", "rationale": "y"}', '{"id": 9007199254740992, "input": "x", "rationale": "y"}', '{"id": 12345678901234567890, "input": "x", "rationale": "y"}']));
    const dataset = await Dataset.open(file);
    assert.deepEqual(dataset.rowIds(), ['9007199254740993', '9007199254740992', '12345678901234567890']);
    assert.deepEqual(dataset.findings, []);
    assert.equal((await dataset.getRow(0)).rawId, '9007199254740993');
  });

  it('never makes up an id that a real row has: duplicate and missing ids get fresh ones', async () => {
    const file = writeFixture(tmp.dir, 'ids.jsonl', jsonl([row('a'), row('a'), row('a#L2'), { input: 'no id', rationale: 'r' }, row('line:4')]));
    const dataset = await Dataset.open(file);
    const ids = dataset.rowIds();
    assert.equal(new Set(ids).size, ids.length, `unique: ${ids.join(', ')}`);
    assert.equal(ids[0], 'a');
    assert.equal(ids[2], 'a#L2', 'the real id keeps its name');
    assert.equal(ids[4], 'line:4', 'the real id keeps its name');
    assert.notEqual(ids[1], 'a#L2');
    assert.notEqual(ids[3], 'line:4');
    assert.deepEqual(dataset.findings.map((f) => [f.line, f.code]), [[2, 'duplicate-id']]);
  });

  it('reads ShareGPT conversations as chat input; a final assistant turn is the reference and is not sent', async () => {
    const file = writeFixture(tmp.dir, 'sharegpt.jsonl', jsonl([
      { id: 's1', conversations: [{ from: 'system', value: 'Be brief.' }, { from: 'human', value: 'Why did the robot stop?' }, { from: 'gpt', value: 'Because a person stepped in front of it.' }] },
      { id: 's2', conversations: [{ from: 'human', value: 'Why?' }], rationale: 'Given.' },
    ]));
    const dataset = await Dataset.open(file);
    assert.deepEqual(dataset.findings, [], 'no "no reference" or "no input" finding');
    const first = await dataset.getRow(0);
    assert.deepEqual(first.messages, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Why did the robot stop?' }]);
    assert.equal(first.reference, 'Because a person stepped in front of it.');
    const sent = await buildMessages(first, { name: 'm', baseUrl: 'http://x/v1', model: 'm' }, file);
    assert.deepEqual(sent.map((m) => m.role), ['system', 'user']);
    assert.equal((await dataset.getRow(1)).reference, 'Given.');
  });

  it('sends Hugging Face image objects {bytes, path} as images, and fails the row (nothing sent) when they are not images', async () => {
    const server = await FakeOpenAIServer.start();
    try {
      const file = writeFixture(tmp.dir, 'hf.jsonl', jsonl([
        row('ok', { image: { bytes: PNG.toString('base64'), path: 'x.png' } }),
        row('list', { image: { bytes: [...PNG], path: null } }),
        row('bad', { image: { bytes: Buffer.from('not an image at all').toString('base64'), path: 'y.png' } }),
        row('empty', { image: { bytes: null, path: null } }),
      ]));
      const dataset = await Dataset.open(file);
      const results = await ResultsStore.open(file);
      const model: ModelConfig = { name: 'm', baseUrl: server.url, model: 'm' };
      await runDataset({ dataset, models: [model], results, apiKeyFor: async () => undefined });
      assert.equal(server.stats.requests, 2, 'only the rows with real images were sent');
      for (const r of server.requests) {
        const parts = (r.body.messages as { content: { type: string; image_url?: { url: string } }[] }[]).at(-1)!.content;
        assert.match(parts.find((p) => p.type === 'image_url')!.image_url!.url, /^data:image\/png;base64,/);
      }
      assert.equal(results.latest('bad', 'm')?.error?.kind, 'image');
      assert.equal(results.latest('empty', 'm')?.error?.kind, 'image');
      await dataset.close();
    } finally {
      await server.close();
    }
  });

  it('gives every dataset name its own sidecars (data.jsonl, data.jsonl.gz, data.ndjson, data.json, data.ndjson.jsonl)', () => {
    const names = ['data.jsonl', 'data.jsonl.gz', 'data.ndjson', 'data.json', 'data.ndjson.jsonl', 'data.json.jsonl', 'data.txt'];
    const results = names.map((n) => resultsFileFor(path.join(tmp.dir, n)));
    const annotations = names.map((n) => annotationsFileFor(path.join(tmp.dir, n)));
    assert.equal(new Set(results).size, names.length, results.join('\n'));
    assert.equal(new Set(annotations).size, names.length);
    assert.equal(path.basename(results[0]), 'data.pisar-results.jsonl', 'existing sidecars of .jsonl files keep their name');
  });

  it('counts empty outputs apart in score and report (md column, JSON count and row status), ignoring scores stored for them by older versions', async () => {
    const file = writeFixture(tmp.dir, 'empty.jsonl', jsonl([
      row('a', { outputs: { pre: 'because of a' } }),
      row('b', { outputs: { pre: '' } }),
      row('c', { outputs: { pre: '   ' } }),
    ]));
    const common = [file, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')];
    const scored = await cli(['score', ...common, '--json']);
    assert.equal(scored.code, 0, scored.stderr);
    const doc = JSON.parse(scored.stdout) as ScoreDocument;
    const pre = doc.summary.models.find((m) => m.model === 'pre')!;
    assert.deepEqual([pre.rows, pre.scored, pre.empty, pre.failed], [3, 1, 2, 0]);
    assert.equal(pre.mean, 1, 'the mean is over the one real output only');
    // An older version scored blank outputs: that number must not count.
    const results = await ResultsStore.open(file);
    const b = results.latest('b', 'pre')!;
    await results.append([{ ...b, score: 0.31, scorer: 'old', scoreNote: undefined, at: new Date().toISOString() }]);
    const md = await cli(['report', file, '--rows']);
    assert.equal(md.code, 0, md.stderr);
    assert.match(md.stdout, /\| model \| rows \| scored \| mean \| median \| share >= 0\.7 \| failed \| empty \| stale \|/);
    assert.match(md.stdout, /\| pre \| 3 \| 1 \| 1\.000 \| 1\.000 \| 100\.0% \| 0 \| 2 \| 0 \|/);
    assert.match(md.stdout, /\| b \| 2 \| empty \|/);
    const json = JSON.parse((await cli(['report', file, '--rows', '--json'])).stdout) as { models: { empty: number }[]; rows: { id: string; results: Record<string, { status: string }> }[] };
    assert.equal(json.models[0].empty, 2);
    assert.equal(json.rows.find((r) => r.id === 'b')!.results.pre.status, 'empty');
  });

  it('flags texts cut at the embedding model\'s 256 word pieces on the result and counts them in the summary', async () => {
    const long = Array.from({ length: 400 }, (_, i) => `word${i % 50}`).join(' ');
    const file = writeFixture(tmp.dir, 'long.jsonl', jsonl([
      row('short', { outputs: { pre: 'because of short' } }),
      row('long-output', { outputs: { pre: long } }),
      { id: 'long-reference', input: 'x', rationale: long, outputs: { pre: 'a short answer' } },
      row('medium', { outputs: { pre: Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ') } }),
    ]));
    const common = [file, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')];
    const scored = await cli(['score', ...common, '--json']);
    assert.equal(scored.code, 0, scored.stderr);
    const doc = JSON.parse(scored.stdout) as ScoreDocument;
    assert.equal(doc.summary.models[0].cut, 2);
    assert.equal(doc.summary.models[0].scored, 4, 'cut texts are still scored (on their start)');
    const results = await ResultsStore.open(file);
    assert.deepEqual(results.latest('long-output', 'pre')?.scoreCut, ['output']);
    assert.deepEqual(results.latest('long-reference', 'pre')?.scoreCut, ['reference']);
    assert.equal(results.latest('short', 'pre')?.scoreCut, undefined);
    assert.equal(results.latest('medium', 'pre')?.scoreCut, undefined, '60 words fit in 256 word pieces');
    const md = await cli(['report', file]);
    assert.match(md.stdout, /\| failed \| cut at model limit \| stale \|/);
    assert.match(md.stdout, /\| pre \| 4 \| 4 \| .* \| 0 \| 2 \| 0 \|/);
  });

  describe('score says what it skipped', () => {
    it('prints the findings and exits 3 when lines were skipped; --json carries them', async () => {
      const file = writeFixture(tmp.dir, 'mixed.jsonl', jsonl([row('a', { outputs: { pre: 'because of a' } }), '{"id": "b", "score": NaN}', 'not json', row('d', { outputs: { pre: 'because of d' } })]));
      const common = [file, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')];
      const text = await cli(['score', ...common]);
      assert.equal(text.code, 3, text.stderr);
      assert.match(text.stderr, /2 row\(s\) read, 2 line\(s\) skipped/);
      assert.match(text.stderr, /mixed\.jsonl:2: error line has NaN/);
      assert.match(text.stderr, /mixed\.jsonl:3: error line is not valid JSON/);
      const json = await cli(['score', ...common, '--json']);
      assert.equal(json.code, 3);
      const doc = JSON.parse(json.stdout) as ScoreDocument;
      assert.equal(doc.dataset.skippedLines, 2);
      assert.equal(doc.dataset.rows, 2);
      assert.deepEqual(doc.dataset.findings.map((f) => [f.line, f.code]), [[2, 'non-finite-number'], [3, 'invalid-json']]);
    });

    it('never says "0 rows, exit 0": an unreadable, empty or all-bad file is exit 2 with the reason', async () => {
      const cases: [string, string | Buffer, RegExp][] = [
        ['array.json', JSON.stringify([row('a'), row('b')], null, 2), /no row could be read.*jq -c/s],
        ['empty.jsonl', '\n\n', /has no rows/],
        ['binary.jsonl', Buffer.from([0x00, 0x01, 0x02, 0x03, 0x7b]), /binary data/],
      ];
      for (const [name, content, reason] of cases) {
        const r = await cli(['score', writeFixture(tmp.dir, name, content), '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')]);
        assert.equal(r.code, 2, `${name}: ${r.stderr}`);
        assert.match(r.stderr, reason, name);
      }
    });

    it('opens .ndjson and .json files holding JSONL, and .jsonl.gz, through the CLI', async () => {
      for (const [name, bytes] of [['d.ndjson', Buffer.from(text)], ['d.json', Buffer.from(text)], ['d.jsonl.gz', zlib.gzipSync(Buffer.from(text))]] as const) {
        const r = await cli(['inspect', writeFixture(tmp.dir, name, bytes), '--json']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).validRows, 3, name);
      }
    });
  });
});
