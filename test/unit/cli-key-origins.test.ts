import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliCaptured } from '../support/cli';
import { repoRoot } from '../support/files';
import { chatCompletion, RawServer } from '../support/rawServer';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

// A config's apiKeyEnv key goes only where it is bound: the model's apiKeyOrigins, this machine, or the
// variable's own provider. 0.0.0.0 reaches the loopback server but is another origin than 127.0.0.1.

describe('CLI: a key from the environment goes only to its origins, and stderr says where (real server)', function () {
  this.timeout(60_000);
  let server: RawServer | undefined;
  afterEach(async () => server?.close());

  async function score(model: (port: string) => Record<string, unknown>, env: Record<string, string>) {
    server = await RawServer.start((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(chatCompletion('answer'));
    });
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-keyorigin-'));
    const data = path.join(dir, 'data.jsonl');
    await fsp.writeFile(data, ['a', 'b'].map((id) => JSON.stringify({ id, input: `q ${id}`, rationale: 'r' })).join('\n') + '\n');
    const config = path.join(dir, 'config.json');
    const port = new URL(server.origin).port;
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm', model: 'm', concurrency: 1, baseUrl: `http://0.0.0.0:${port}/v1`, ...model(port) }] }));
    const out = await runCliCaptured(['score', data, '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(dir, 'cache')], { env });
    return { ...out, port, requests: server.requests, config };
  }

  it('OPENAI_API_KEY is not sent to another host: the model stops before any call, with the fix', async () => {
    const { code, stderr, requests, port } = await score(() => ({ apiKeyEnv: 'OPENAI_API_KEY' }), { OPENAI_API_KEY: 'sk-real-openai-key-0000' });
    assert.equal(code, 1);
    assert.equal(requests.length, 0, 'no request left with or without the key');
    assert.match(stderr, new RegExp(`OPENAI_API_KEY belongs to https://api.openai.com, not http://0.0.0.0:${port}`));
    assert.match(stderr, new RegExp(`"apiKeyOrigins": \\["http://0.0.0.0:${port}"\\]`));
  });

  it('a custom variable is bound to no host until apiKeyOrigins names it; then the key goes there and stderr says so once', async () => {
    const refused = await score(() => ({ apiKeyEnv: 'TEAM_KEY' }), { TEAM_KEY: 'team-secret-123456' });
    assert.equal(refused.code, 1);
    assert.equal(refused.requests.length, 0);
    assert.match(refused.stderr, /TEAM_KEY is bound to no host/);
    await server!.close();
    server = undefined;

    const allowed = await score((port) => ({ apiKeyEnv: 'TEAM_KEY', apiKeyOrigins: [`http://0.0.0.0:${port}`] }), { TEAM_KEY: 'team-secret-123456' });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(allowed.requests.length, 2);
    assert.ok(allowed.requests.every((r) => r.headers.authorization === 'Bearer team-secret-123456'));
    const told = allowed.stderr.match(/model "m" sends the key from TEAM_KEY to http:\/\/0\.0\.0\.0:\d+ \(listed in the model's "apiKeyOrigins"\)/g);
    assert.equal(told?.length, 1, 'said once, before the first call');
  });
});
