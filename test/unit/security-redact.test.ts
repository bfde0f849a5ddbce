import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { redactCredentials, rememberSecret } from '../../src/core/security/redact';
import { runCliCaptured } from '../support/cli';
import { jsonl, makeTempDir, repoRoot } from '../support/files';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

/** Text a user may well keep in a dataset: it looks like credentials but is nobody's key. */
const HOSTILE = [
  'authorization: "',
  'Authorization: Bearer abc.def-ghi',
  'sk-proj-Abc123_def456-GHI789jkl',
  'Bearer tok_9f8e7d6c5b4a',
  'api_key=0123456789abcdef',
  '{"apiKey": "0123456789abcdef"}',
  'https://user:hunter2secret@example.com/v1?key=AIzaSyXYZ123&token=abc',
];

describe('security: redactCredentials masks the keys this process knows, never patterns in user data', () => {
  it('leaves credential-looking user text exactly as it is', () => {
    for (const text of HOSTILE) assert.equal(redactCredentials(text), text);
  });

  it('masks a known key as it is, JSON-escaped, URL-encoded, base64 (both alphabets) and reversed', () => {
    const key = 'k3y/with+odd"chars?&=';
    const forms = [
      key,
      JSON.stringify(key).slice(1, -1),
      encodeURIComponent(key),
      Buffer.from(key).toString('base64').replace(/=+$/, ''),
      Buffer.from(key).toString('base64url'),
      [...key].reverse().join(''),
    ];
    for (const form of forms) {
      const out = redactCredentials(`before ${form} after`, [key]);
      assert.equal(out, 'before [redacted] after', `form ${form}`);
    }
  });

  it('masks a remembered key in every later redaction, and too-short secrets never', () => {
    const key = `remembered-${Math.random().toString(36).slice(2)}`;
    rememberSecret(key);
    assert.equal(redactCredentials(`the proxy said: ${key} is not valid`), 'the proxy said: [redacted] is not valid');
    assert.equal(redactCredentials('a cat sat', ['cat']), 'a cat sat');
  });
});

describe('security: hostile ids and texts pass every CLI command unchanged, and every --json parses', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('pisar-redact-')));
  afterEach(() => tmp.cleanup());

  it('inspect, score, report (json, csv, md) and compare keep them and print valid JSON', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    const rows = HOSTILE.map((text, i) => ({ id: `${text} #${i}`, input: `q ${text}`, rationale: `because ${text}`, outputs: { m1: `answer ${text}`, m2: `other ${text}` } }));
    await fsp.writeFile(data, jsonl(rows));
    // A real key in the environment: it is masked, the look-alikes are not.
    const env = { OPENAI_API_KEY: 'sk-the-real-key-0000000000' };
    const common = ['--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')];

    const inspect = await runCliCaptured(['inspect', data, '--json'], { env });
    assert.equal(inspect.code, 0, inspect.stderr);
    JSON.parse(inspect.stdout);
    const score = await runCliCaptured(['score', data, '--json', ...common], { env });
    assert.equal(score.code, 0, score.stderr);
    JSON.parse(score.stdout);
    const report = await runCliCaptured(['report', data, '--json', '--rows'], { env });
    assert.equal(report.code, 0, report.stderr);
    const doc = JSON.parse(report.stdout) as { rows: { id: string }[] };
    assert.deepEqual(doc.rows.map((r) => r.id).sort(), rows.map((r) => r.id).sort(), 'ids are printed as they are');
    const compare = await runCliCaptured(['compare', data, '--models', 'm1,m2', '--json'], { env });
    assert.equal(compare.code, 0, compare.stderr);
    JSON.parse(compare.stdout);

    for (const format of ['csv', 'md']) {
      const out = await runCliCaptured(['report', data, '--format', format, '--rows'], { env });
      assert.equal(out.code, 0, out.stderr);
      // Markdown backslash-escapes its syntax characters (`_` -> `\_`, src/core/security/escape.ts): compare the text a reader sees.
      const shown = format === 'md' ? out.stdout.replace(/\\([!-/:-@[-`{-~])/g, '$1') : out.stdout;
      for (const token of ['abc.def-ghi', 'sk-proj-Abc123_def456-GHI789jkl', 'tok_9f8e7d6c5b4a', '0123456789abcdef', 'hunter2secret', 'AIzaSyXYZ123']) {
        assert.ok(shown.includes(token), `${format}: "${token}" was altered:\n${out.stdout.slice(-1500)}`);
      }
      assert.ok(!out.stdout.includes('[redacted]'), `${format}: user text was masked`);
    }
    const results = await fsp.readFile(path.join(tmp.dir, 'data.pisar-results.jsonl'), 'utf8');
    assert.ok(!results.includes('[redacted]'), 'the results sidecar keeps user text as it is');
  });
});
