import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { CheckModelsDocument } from '../../src/cli/commands/checkModels';
import { makeTempDir } from '../support/files';
import { runCliCaptured } from '../support/cli';
import { FakeOpenAIServer } from '../support/openaiServer';

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliCaptured(args, { env });
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('CLI: check-models (real HTTP servers on 127.0.0.1)', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof makeTempDir>;
  const servers: FakeOpenAIServer[] = [];
  beforeEach(() => (tmp = makeTempDir('pisar-check-')));
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    tmp.cleanup();
  });

  async function config(models: Record<string, unknown>[]): Promise<string> {
    const file = path.join(tmp.dir, 'config.json');
    await fsp.writeFile(file, JSON.stringify({ models }));
    return file;
  }

  it('reports reachable, key accepted, model found and the quirks of each model, with exit 1 and the fix for each failure', async () => {
    const good = await FakeOpenAIServer.start({ models: ['good-model'], requireKey: 'sk-right' });
    const quirky = await FakeOpenAIServer.start({
      models: ['qwen3'],
      answerShape: () => ({ message: { role: 'assistant', content: [{ type: 'text', text: '<think>hmm</think>OK' }], reasoning_content: 'hmm' } }),
    });
    const web = await FakeOpenAIServer.start({ faultFor: () => 'html-404' });
    servers.push(good, quirky, web);
    const file = await config([
      { name: 'good', baseUrl: good.url, model: 'good-model', apiKeyEnv: 'GOOD_KEY' },
      { name: 'badkey', baseUrl: good.url, model: 'good-model', apiKeyEnv: 'BAD_KEY' },
      { name: 'missing', baseUrl: good.url, model: 'no-such-model', apiKeyEnv: 'GOOD_KEY' },
      { name: 'quirky', baseUrl: quirky.url, model: 'qwen3' },
      { name: 'down', baseUrl: `http://127.0.0.1:${await closedPort()}/v1`, model: 'x' },
    ]);
    const env = { GOOD_KEY: 'sk-right', BAD_KEY: 'sk-wrong' };
    const r = await cli(['check-models', '--config', file, '--json'], env);
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout) as CheckModelsDocument;
    assert.equal(doc.schema, 'pisar-review/check-models@1');
    assert.equal(doc.ok, false);
    const by = Object.fromEntries(doc.models.map((m) => [m.name, m]));
    assert.deepEqual([by.good.ok, by.good.reachable, by.good.keyAccepted, by.good.modelFound, by.good.answer], [true, true, true, true, 'Rationale: Reply with the single word: OK']);
    assert.deepEqual([by.badkey.ok, by.badkey.reachable, by.badkey.keyAccepted], [false, true, false]);
    assert.match(by.badkey.fix!, /BAD_KEY/);
    assert.deepEqual([by.missing.ok, by.missing.modelFound], [false, false]);
    assert.match(by.missing.fix!, /no-such-model/);
    assert.equal(by.quirky.ok, true);
    assert.equal(by.quirky.answer, 'OK');
    assert.ok(by.quirky.quirks.some((q) => /list of parts/.test(q)), by.quirky.quirks.join('; '));
    assert.ok(by.quirky.quirks.some((q) => /reasoning_content/.test(q)));
    assert.ok(by.quirky.quirks.some((q) => /<think>/.test(q)));
    assert.deepEqual([by.down.ok, by.down.reachable, by.down.keyAccepted], [false, false, null]);
    assert.match(by.down.fix!, /running and reachable/);
    assert.ok(!r.stdout.includes('sk-right') && !r.stdout.includes('sk-wrong'), 'no key in the output');

    const html = await config([{ name: 'web', baseUrl: web.url.replace(/\/v1$/, ''), model: 'm' }]);
    const text = await cli(['check-models', '--config', html]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /FAIL web/);
    assert.match(text.stdout, /add \/v1\?/);
  });

  it('exits 0 when every model passes, and 2 without a config or models', async () => {
    const server = await FakeOpenAIServer.start();
    servers.push(server);
    const file = await config([{ name: 'm', baseUrl: server.url, model: 'fake-model' }]);
    const r = await cli(['check-models', '--config', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ok {3}m \(fake-model at/);
    assert.equal((await cli(['check-models'])).code, 2);
    assert.equal((await cli(['check-models', '--config', await config([])])).code, 2);
  });
  it('a 401 or 403 is "key refused" with the fix, never a quirk of a 200 answer', async () => {
    const server = await FakeOpenAIServer.start({ requireKey: 'sk-right' });
    const forbidden = await FakeOpenAIServer.start({ faultFor: () => '403' });
    servers.push(server, forbidden);
    const file = await config([
      { name: 'wrong', baseUrl: server.url, model: 'fake-model', apiKeyEnv: 'WRONG_KEY' },
      { name: 'forbidden', baseUrl: forbidden.url, model: 'fake-model', apiKeyEnv: 'WRONG_KEY' },
    ]);
    const env = { WRONG_KEY: 'sk-wrong' };
    const json = await cli(['check-models', '--config', file, '--json'], env);
    assert.equal(json.code, 1, json.stderr);
    for (const check of (JSON.parse(json.stdout) as CheckModelsDocument).models) {
      assert.deepEqual([check.name, check.reachable, check.keyAccepted, check.keySent, check.keyNotSet], [check.name, true, false, true, undefined]);
      assert.equal(check.error?.kind, 'auth');
      assert.match(check.error!.message, /^key refused: HTTP 40[13]/);
      assert.match(check.fix!, /WRONG_KEY/);
      assert.ok(!check.quirks.some((q) => /200/.test(q)), `an HTTP error is no quirk of a 200 answer: ${check.quirks.join('; ')}`);
    }
    const text = await cli(['check-models', '--config', file], env);
    assert.match(text.stdout, /FAIL wrong[^\n]*\n\s+reachable: yes · key: REFUSED · model found/);
    assert.match(text.stdout, /error \(auth\): key refused: HTTP 401/);
    assert.match(text.stdout, /error \(auth\): key refused: HTTP 403/);
    assert.doesNotMatch(text.stdout, /inside a 200/);
  });

  it('says the key\'s environment variable is not set, not that the key was refused', async () => {
    const server = await FakeOpenAIServer.start({ requireKey: 'sk-right' });
    const open = await FakeOpenAIServer.start();
    servers.push(server, open);
    const file = await config([
      { name: 'unset', baseUrl: server.url, model: 'fake-model', apiKeyEnv: 'PISAR_UNSET_KEY' },
      { name: 'local', baseUrl: open.url, model: 'fake-model' },
    ]);
    const json = await cli(['check-models', '--config', file, '--json']);
    assert.equal(json.code, 1, json.stderr);
    const by = Object.fromEntries((JSON.parse(json.stdout) as CheckModelsDocument).models.map((m) => [m.name, m]));
    assert.deepEqual([by.unset.ok, by.unset.keyAccepted, by.unset.keySent, by.unset.keyNotSet], [false, null, false, 'PISAR_UNSET_KEY is not set']);
    assert.match(by.unset.error!.message, /^PISAR_UNSET_KEY is not set, so no key was sent; the server asks for one \(HTTP 401/);
    assert.match(by.unset.fix!, /Set the environment variable PISAR_UNSET_KEY/);
    assert.deepEqual([by.local.ok, by.local.keyAccepted, by.local.keySent], [true, true, false]);
    const text = await cli(['check-models', '--config', file]);
    assert.match(text.stdout, /FAIL unset[^\n]*\n\s+reachable: yes · key: PISAR_UNSET_KEY is not set · model found/);
    assert.match(text.stdout, /ok {3}local[^\n]*\n\s+reachable: yes · key: none needed/);
    assert.doesNotMatch(text.stdout, /key accepted: NO|REFUSED/);
  });
});
