import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import type { Finding } from '../../src/core/dataset/types';
import { ResultsStore } from '../../src/core/store/results';
import { runCliCaptured } from '../support/cli';
import { makeTempDir, repoRoot, writeFixture } from '../support/files';

/**
 * One parse decides a row: the id, the reference and the outputs a row is stored under are the ones
 * JSON.parse (and Python's json, pandas, jq) reads, whichever reader in this product looks at the line
 * (the index on one thread, the index in parts, the parse of a row), and a key written twice is a finding.
 */
const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

async function inspect(file: string, ...flags: string[]): Promise<{ findings: Finding[] }> {
  const { code, stdout, stderr } = await runCliCaptured(['inspect', file, '--json', ...flags]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as { findings: Finding[] };
}

/** Row ids as every reader of the product reads them: one pass, four parts, and each parsed row. */
async function idsEverywhere(file: string, mapping?: Record<string, string>): Promise<string[]> {
  const single = await Dataset.open(file, { mapping, threads: 1 });
  const parts = await Dataset.open(file, { mapping, threads: 4, parallelFromBytes: 0 });
  try {
    assert.deepEqual(parts.rowIds(), single.rowIds(), 'the index in parts reads the ids the one-pass index reads');
    assert.deepEqual(parts.findings, single.findings, 'and the same findings');
    for (let i = 0; i < single.rowCount; i++) assert.equal((await single.getRow(i)).id, single.rowIds()[i], `row ${i} parsed under its indexed id`);
    return [...single.rowIds()];
  } finally {
    await single.close();
    await parts.close();
  }
}

describe('Row ids: one parse decides a row (issue 19.7)', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('pisar-ids-')));
  afterEach(() => tmp.cleanup());

  it('a repeated "id" is read as JSON.parse reads it (the last), everywhere, with a finding naming the line, the key and the fix', async () => {
    const file = writeFixture(tmp.dir, 'd.jsonl', [
      '{"id": "a", "input": "q1", "rationale": "r1", "id": "b"}',
      '{"id": "a", "input": "q2", "rationale": "r2"}',
      '{"id": 1, "\\u0069d": 2, "input": "q3", "rationale": "r3"}',
      '{"id": 12345678901234567890, "input": "q4", "rationale": "r4", "id": 12345678901234567891}',
      '{"id": 12345678901234567890, "input": "q5", "rationale": "r5"}',
      '',
    ].join('\n'));
    assert.deepEqual(await idsEverywhere(file), ['b', 'a', '2', '12345678901234567891', '12345678901234567890']);
    const { findings } = await inspect(file);
    const repeated = findings.filter((f) => f.code === 'repeated-key');
    assert.deepEqual(repeated.map((f) => f.line), [1, 3, 4]);
    assert.ok(repeated.every((f) => f.severity === 'warning'), JSON.stringify(repeated));
    assert.match(repeated[2].message, /the last value \(12345678901234567891\) is read/, 'the value as written');
    assert.match(repeated[0].message, /key "id" is written 2 times; the last value \("b"\) is read.*decides the row's id/);
    assert.match(repeated[0].fix, /Keep one "id" on this line/);
    assert.match(repeated[1].message, /key "id" is written 2 times; the last value \(2\)/, 'a key written with a unicode escape is the same key');
    assert.equal(findings.filter((f) => f.code === 'duplicate-id').length, 0, 'no false duplicate');
  });

  it('repeated keys that decide the reference, the outputs or the input are read the last way and reported, nested ones by their path', async () => {
    const file = writeFixture(tmp.dir, 'd.jsonl', [
      '{"id": "r", "input": "first question", "input": "the question", "rationale": "old", "rationale": "new", "outputs": {"m": "one", "m": "two", "m": "three"}}',
      '',
    ].join('\n'));
    const dataset = await Dataset.open(file);
    const row = await dataset.getRow(0);
    assert.equal(row.input, 'the question');
    assert.equal(row.reference, 'new');
    assert.deepEqual({ ...row.outputs }, { m: 'three' });
    const repeated = dataset.findings.filter((f) => f.code === 'repeated-key');
    assert.deepEqual(repeated.map((f) => /key "([^"]+)" is written (\d) times( in "[^"]+")?/.exec(f.message)?.slice(1)), [
      ['input', '2', undefined],
      ['rationale', '2', undefined],
      ['m', '3', ' in "outputs"'],
    ]);
    assert.match(repeated[1].message, /decides the row's reference/);
    assert.match(repeated[2].message, /the last value \("three"\).*decides the row's outputs/);
    await dataset.close();
  });

  it('a key written twice is found wherever the line writes it: spaces before the colon, colons and escaped quotes in text, inside lists', async () => {
    const file = writeFixture(tmp.dir, 'd.jsonl', [
      '{"id": "r1", "input": "q", "rationale": "r", "rationale"  :  "twice, spaced"}',
      '{"id": "r2", "input": "he said \\"no\\": then \\":\\"", "rationale": "r", "meta": [{"k": 1}, {"k": 2, "k" : 3}]}',
      '{"id": "r3", "input": "he said \\"no\\": then \\":\\"", "rationale": "r", "meta": [{"k": 1}, {"k": 2}]}',
      '{"id": "r4", "input": "a: b", "rationale": "r", "x": {"__proto__": 1, "__proto__": 2}}',
      '{"id": "r5", "input": "a", "rationale": "r", "outputs": {"m": "one"}, "outputs"\t:{"m": "two"}}',
      '',
    ].join('\n'));
    const { findings } = await inspect(file);
    assert.deepEqual(findings.filter((f) => f.code === 'repeated-key').map((f) => [f.line, /key "([^"]+)" is written (\d) times( in "[^"]+")?/.exec(f.message)?.slice(1, 4)]), [
      [1, ['rationale', '2', undefined]],
      [2, ['k', '2', ' in "meta.1"']],
      [4, ['__proto__', '2', ' in "x"']],
      [5, ['outputs', '2', undefined]],
    ]);
  });

  it('a nested id through --field id=meta.id keeps every digit beyond 2^53 and makes no false duplicate; numbers read as the value they stand for', async () => {
    const lines = [
      { meta: '{"id": 12345678901234567890}' },
      { meta: '{"id": 12345678901234567891}' },
      { meta: '{"id": 9007199254740993}' },
      { meta: '{"id": 9007199254740992}' },
      { meta: '{"id": 1, "id": 7}' },
      { meta: '{"id": 5}, "meta": {"id": 1e2}' },
      { meta: '{"id": -0}' },
      { meta: '{"id": 0.50}' },
      { meta: '{"id": "x"}' },
    ].map(({ meta }, i) => `{"meta": ${meta}, "input": "q${i}", "rationale": "r${i}"}`);
    const file = writeFixture(tmp.dir, 'd.jsonl', `${lines.join('\n')}\n`);
    const ids = await idsEverywhere(file, { id: 'meta.id' });
    assert.deepEqual(ids, ['12345678901234567890', '12345678901234567891', '9007199254740993', '9007199254740992', '7', '100', '0', '0.5', 'x']);
    const { findings } = await inspect(file, '--field', 'id=meta.id');
    assert.equal(findings.filter((f) => f.code === 'duplicate-id').length, 0, JSON.stringify(findings));
    assert.deepEqual(findings.filter((f) => f.code === 'repeated-key').map((f) => [f.line, /key "(\w+)" is written 2 times( in "meta")?/.exec(f.message)?.[0]]), [
      [5, 'key "id" is written 2 times in "meta"'],
      [6, 'key "meta" is written 2 times'],
    ]);
    // ids a JSON reader holds equal are one id: 1e2 and 100, -0 and 0
    const same = writeFixture(tmp.dir, 'same.jsonl', '{"meta": {"id": 1e2}, "input": "q", "rationale": "r"}\n{"meta": {"id": 100}, "input": "q", "rationale": "r"}\n');
    const sameFindings = (await inspect(same, '--field', 'id=meta.id')).findings;
    assert.deepEqual(sameFindings.map((f) => [f.line, f.code]), [[2, 'duplicate-id']]);
    // a nested id through a list index, also beyond 2^53
    const listed = writeFixture(tmp.dir, 'listed.jsonl', '{"ids": [1, 98765432109876543210], "input": "q", "rationale": "r"}\n{"ids": [1, 98765432109876543211], "input": "q", "rationale": "r"}\n');
    assert.deepEqual(await idsEverywhere(listed, { id: 'ids.1' }), ['98765432109876543210', '98765432109876543211']);
  });

  it('score stores each result under the id JSON.parse reads, with the reference and output of that reading', async () => {
    const file = writeFixture(tmp.dir, 'd.jsonl', [
      '{"id": "a", "input": "q", "rationale": "the robot stopped", "outputs": {"m": "the robot stopped"}, "id": "b"}',
      '{"id": "a", "input": "q", "rationale": "a cat sat", "outputs": {"m": "a cat sat"}}',
      '{"meta": {"id": 5}, "id": 12345678901234567890, "input": "q", "rationale": "x", "outputs": {"m": "y"}}',
      '{"id": 12345678901234567891, "input": "q", "rationale": "x", "outputs": {"m": "y"}}',
      '',
    ].join('\n'));
    const { code, stdout, stderr } = await runCliCaptured(['score', file, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache'), '--json']);
    assert.ok(code === 0 || code === 3, `${code} ${stderr}`);
    const doc = JSON.parse(stdout) as { dataset: { findings: Finding[] } };
    assert.deepEqual(doc.dataset.findings.filter((f) => f.code === 'repeated-key').map((f) => f.line), [1]);
    const results = await ResultsStore.open(file);
    const stored = (id: string) => results.latest(id, 'm');
    assert.equal(stored('b')?.output, 'the robot stopped', 'row 1 is "b", as every JSON reader sees it');
    assert.equal(stored('a')?.output, 'a cat sat', 'row 2 keeps its own id "a", not "a#L2"');
    assert.equal(stored('a#L2'), undefined);
    assert.ok(stored('12345678901234567890') && stored('12345678901234567891'), `both big ids stored apart: ${fs.readFileSync(results.file, 'utf8')}`);
  });

  it('a mapping path through a list index that resolves to nothing is a finding for every role, never silence or another field', async () => {
    const chat = [{ from: 'human', value: 'Why did it stop?' }, { from: 'gpt', value: 'A person stepped in.' }];
    const file = writeFixture(tmp.dir, 'd.jsonl', `${JSON.stringify({ id: 'two-turns', conversations: chat, runs: [{ m: 'x' }], pics: ['a.png'] })}\n`);
    const cases: [string, RegExp][] = [
      ['input=conversations.5.value', /row has no input .*"conversations\.5\.value".*"conversations" has 2 item\(s\), so index 5 is past its end/],
      ['reference=conversations.2.value', /row has no reference rationale .*"conversations" has 2 item\(s\), so index 2 is past its end/],
      ['id=conversations.9.id', /row has no id at "conversations\.9\.id".*index 9 is past its end/],
      ['outputs=runs.3', /row has no precomputed outputs.*"runs" has 1 item\(s\), so index 3 is past its end/],
      ['image=pics.1', /row has no image.*"pics" has 1 item\(s\), so index 1 is past its end/],
    ];
    for (const [field, message] of cases) {
      const { findings } = await inspect(file, '--field', field);
      assert.ok(findings.some((f) => f.line === 1 && message.test(f.message)), `${field}: ${JSON.stringify(findings)}`);
    }
    // the configured reference is not replaced by the chat's last turn behind the user's back
    const dataset = await Dataset.open(file, { mapping: { reference: 'conversations.2.value' } });
    assert.equal((await dataset.getRow(0)).reference, undefined);
    await dataset.close();
  });
});
