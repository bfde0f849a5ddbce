import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main';
import { jsonl, makeTempDir, repoRoot } from '../support/files';
import { FakeOpenAIServer } from '../support/openaiServer';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');
/** Strings that are keys of every plain object: as model names, field names, ids and labels they must be data. */
const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const stdout = new PassThrough().on('data', (c) => (out += c));
  const stderr = new PassThrough().on('data', (c) => (err += c));
  const code = await runCli(args, { stdout, stderr, env, cwd });
  return { code, out, err };
}

describe('security: dataset and config strings are data, never object keys', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let server: FakeOpenAIServer | undefined;
  beforeEach(() => (tmp = makeTempDir('pisar-keys-')));
  afterEach(async () => {
    await server?.close();
    server = undefined;
    tmp.cleanup();
  });

  it('models named __proto__, constructor, toString: called, stored, reported and re-read like any other', async () => {
    server = await FakeOpenAIServer.start();
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl([
      { id: 'constructor', input: 'question one', rationale: 'Rationale: question one', outputs: { hasOwnProperty: 'Rationale: question one' } },
      { id: '__proto__', input: 'question two', rationale: 'Rationale: question two', outputs: { hasOwnProperty: 'something else' } },
    ]));
    const config = path.join(tmp.dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models: PROTO_NAMES.slice(0, 3).map((name) => ({ name, baseUrl: server!.url, model: name })) }));
    const scored = await cli(['score', data, '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'c'), '--json'], repoRoot);
    assert.equal(scored.code, 0, scored.err);
    assert.equal(server.stats.requests, 6, 'three models x two rows');
    const doc = JSON.parse(scored.out) as { summary: { models: { model: string; scored: number }[] } };
    assert.deepEqual(doc.summary.models.map((m) => [m.model, m.scored]).sort(), PROTO_NAMES.map((m) => [m, 2]).sort());

    const report = await cli(['report', data, '--format', 'json', '--rows'], repoRoot);
    assert.equal(report.code, 0, report.err);
    const rows = (JSON.parse(report.out) as { rows: { id: string; results: Record<string, { status: string }> }[] }).rows;
    assert.deepEqual(rows.map((r) => r.id), ['constructor', '__proto__']);
    for (const r of rows) {
      for (const name of PROTO_NAMES) assert.equal(Object.getOwnPropertyDescriptor(r.results, name)?.value?.status, 'scored', `${r.id}/${name}`);
    }
    const again = await cli(['score', data, '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'c'), '--json'], repoRoot);
    assert.equal(again.code, 0, again.err);
    assert.equal(server.stats.requests, 6, 'a second run re-read every result and called nothing');
  });

  it('template {{constructor}} is a missing field (the row fails, nothing is sent), not "function Object()"', async () => {
    server = await FakeOpenAIServer.start();
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl([{ id: 'a', input: 'q', rationale: 'r' }]));
    const config = path.join(tmp.dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm', baseUrl: server.url, model: 'm', promptTemplate: 'Explain {{constructor}} and {{toString}}' }] }));
    const run = await cli(['score', data, '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'c'), '--json'], repoRoot);
    assert.equal(server.stats.requests, 0, `sent: ${server.requests[0]?.prompt}`);
    const doc = JSON.parse(run.out) as { failures: { kind: string; message: string }[] };
    assert.equal(doc.failures[0]?.kind, 'prompt');
    assert.match(doc.failures[0].message, /constructor/);
  });

  it('a field named constructor works when the row has it, and --field input=constructor on rows without it is a finding, not a crash', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl([{ id: 'a', constructor: 'the input', rationale: 'r' }, { id: 'b', other: 'x', rationale: 'r' }]));
    const run = await cli(['inspect', data, '--field', 'input=constructor', '--json'], repoRoot);
    assert.equal(run.code, 0, run.err);
    const doc = JSON.parse(run.out) as { validRows: number; mapping: Record<string, { key: string | null }>; findings: { line: number; message: string }[] };
    assert.equal(doc.mapping.input.key, 'constructor');
    assert.ok(doc.findings.some((f) => f.line === 2), JSON.stringify(doc.findings));
    assert.ok(!doc.findings.some((f) => f.line === 1), `row 1 has the field: ${JSON.stringify(doc.findings)}`);
  });
});
