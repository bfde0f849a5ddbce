import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { jsonl, makeTempDir, repoRoot } from '../support/files';

/**
 * The CLI's terminal and export surfaces under hostile text: ESC sequences and other control
 * characters from a dataset or a corrupt sidecar line never reach the terminal raw; a dataset whose
 * name leaves no room for its sidecars ends in a clear error, not a stack trace. Real CLI processes.
 */

const CLI = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');
const run = promisify(execFile);

async function cli(args: string[], cwd: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

// ESC, CSI (7-bit and C1), OSC with BEL (sets the terminal title), a lone CR (rewrites the line), a bidi override.
const HOSTILE = 'r1\u001b]0;pwned\u0007\u001b[2J\u009b31m\rFAKE OK\u202Etxt.exe';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/;

describe('security: control characters and over-long names on the CLI', function () {
  this.timeout(120_000);
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = makeTempDir()));
  after(() => cleanup());

  it('a hostile row id, model name, output and corrupt sidecar line reach stdout and stderr only as visible escapes', async () => {
    const data = path.join(dir, 'hostile.jsonl');
    fs.writeFileSync(data, jsonl([
      { id: HOSTILE, input: 'q\u001b[31m', rationale: 'a reason', outputs: { [`m\u001b[1m`]: 'an answer\u0007' } },
      { id: 'r2', input: 'q2', rationale: 'another reason', outputs: { [`m\u001b[1m`]: 'another answer' } },
    ]));
    const scored = await cli(['score', data, '--embedding-model', TINY], dir);
    assert.equal(scored.code, 0, scored.stderr);
    // A corrupt line someone appended to the results sidecar, holding an escape sequence.
    fs.appendFileSync(path.join(dir, 'hostile.pisar-results.jsonl'), '{"rowId":"\u001b[2J\u001b]0;pwned\u0007 corrupt\n');

    const runs = {
      inspect: await cli(['inspect', data], dir),
      report: await cli(['report', data, '--rows'], dir),
      csv: await cli(['report', data, '--rows', '--format', 'csv'], dir),
      json: await cli(['report', data, '--rows', '--json'], dir),
      score: await cli(['score', data, '--embedding-model', TINY], dir),
    };
    for (const [name, r] of Object.entries(runs)) {
      assert.doesNotMatch(r.stdout, RAW_CONTROL, `${name} stdout: ${JSON.stringify(r.stdout.slice(0, 400))}`);
      assert.doesNotMatch(r.stderr, RAW_CONTROL, `${name} stderr: ${JSON.stringify(r.stderr.slice(0, 400))}`);
    }
    // Shown, not lost: the escapes are visible, and JSON reads back the exact id.
    assert.match(runs.csv.stdout, /r1\\u001b\]0;pwned\\u0007/);
    const doc = JSON.parse(runs.json.stdout) as { rows: { id: string }[] };
    assert.ok(doc.rows.some((r) => r.id === HOSTILE), 'the JSON document keeps the id exactly');
  });

  it('a dataset name too long for its sidecars ends in an error naming the file and the fix, not a stack trace', async () => {
    const name = `${'n'.repeat(245)}.jsonl`; // 251 characters: fits, its sidecars do not
    const data = path.join(dir, name);
    fs.writeFileSync(data, jsonl([{ id: 'r1', input: 'q', rationale: 'a reason', outputs: { m: 'an answer' } }]));
    for (const args of [['score', data, '--embedding-model', TINY], ['report', data]]) {
      const r = await cli(args, dir);
      assert.doesNotMatch(r.stderr, /\n\s+at |internal error|ENAMETOOLONG/, r.stderr);
      assert.match(r.stderr, /n{245}\.pisar-(results|annotations)\.jsonl/, 'names the file');
      assert.match(r.stderr, /over the file system's limit of 255.*Rename the dataset so that its name before the extension is at most 226 bytes/s);
    }
    assert.equal((await cli(['score', data, '--embedding-model', TINY], dir)).code, 2);
  });
});
