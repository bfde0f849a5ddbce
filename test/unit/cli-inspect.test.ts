import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { jsonl, makeTempDir, repoRoot, writeFixture } from '../support/files';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

function run(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('pisar-review inspect', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.cleanup());

  it('prints rows, valid rows, the mapping and every bad line as one JSON document', () => {
    writeFixture(tmp.dir, 'd.jsonl', jsonl([{ id: 'a', input: 'i', rationale: 'r', outputs: { m: 'o' } }, '{oops', [1]]));
    const { code, stdout } = run(['inspect', 'd.jsonl', '--json'], tmp.dir);
    assert.equal(code, 0);
    const doc = JSON.parse(stdout);
    assert.equal(doc.schema, 'pisar-review/inspect@1');
    assert.equal(doc.rows, 3);
    assert.equal(doc.validRows, 1);
    assert.equal(doc.badLines, 2);
    assert.deepEqual(doc.mapping.reference, { key: 'rationale', source: 'detected' });
    assert.deepEqual(doc.models, ['m']);
    assert.deepEqual(doc.findings.map((f: { line: number; code: string }) => [f.line, f.code]), [[2, 'invalid-json'], [3, 'not-an-object']]);
  });

  it('prints findings as file:line for a person, and takes a field mapping from --field', () => {
    writeFixture(tmp.dir, 'd.jsonl', jsonl([{ id: 'a', input: 'i', gold: 'g' }, '{oops']));
    const { code, stdout } = run(['inspect', 'd.jsonl', '--field', 'reference=gold'], tmp.dir);
    assert.equal(code, 0);
    assert.match(stdout, /reference <- "gold" \(configured\)/);
    assert.match(stdout, /d\.jsonl:2 +error +line is not valid JSON/);
    assert.match(stdout, /fix: +Make the line one complete JSON object/);
  });

  it('shows ANSI escapes from a dataset as visible text, never as terminal control sequences', () => {
    writeFixture(tmp.dir, 'd.jsonl', jsonl([{ id: 'x\u001b[2J\u001b[31m', input: 'i', rationale: 'r' }, { id: 'x\u001b[2J\u001b[31m', input: 'i', rationale: 'r' }]));
    const { code, stdout } = run(['inspect', 'd.jsonl'], tmp.dir);
    assert.equal(code, 0);
    assert.ok(!stdout.includes('\u001b'), 'no raw ESC byte reaches the terminal');
    assert.match(stdout, /id "x\\x1b\[2J\\x1b\[31m" is already used on line 1/);
  });

  it('exits 2 with one clear message for a missing file, a directory, or bad usage', () => {
    const missing = run(['inspect', 'nope.jsonl'], tmp.dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.jsonl: no such file/);
    assert.equal(missing.stdout, '');
    const directory = run(['inspect', '.'], tmp.dir);
    assert.equal(directory.code, 2);
    assert.match(directory.stderr, /is a directory/);
    const usage = run(['inspect'], tmp.dir);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Usage: pisar-review inspect/);
    const unknown = run(['inspect', 'd.jsonl', '--bogus'], tmp.dir);
    assert.equal(unknown.code, 2);
    const badField = run(['inspect', 'd.jsonl', '--field', 'nonsense'], tmp.dir);
    assert.equal(badField.code, 2);
    assert.match(badField.stderr, /ROLE=KEY/);
  });
});
