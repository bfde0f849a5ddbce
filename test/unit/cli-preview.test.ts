import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { summariseImages } from '../../src/core/runner/preview';
import { runCliCaptured } from '../support/cli';
import { repoRoot } from '../support/files';
import { chatCompletion, RawServer } from '../support/rawServer';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');
/** A real 1x1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

describe('CLI: preview shows the request a row sends (compared with what a loopback server receives)', function () {
  this.timeout(60_000);
  let server: RawServer | undefined;
  afterEach(async () => server?.close());

  it('for a plain row, a chat row and an image row: the same body byte for byte (images summarised), the key redacted', async () => {
    server = await RawServer.start((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(chatCompletion('an answer'));
    });
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-preview-'));
    await fsp.writeFile(path.join(dir, 'pic.png'), PNG);
    const data = path.join(dir, 'data.jsonl');
    const rows = [
      { id: 'plain', input: 'Why is the sky blue? (plain)', rationale: 'scattering' },
      { id: 'chat', messages: [{ role: 'system', content: 'Be brief. (chat)' }, { role: 'user', content: 'Why do leaves fall?' }, { role: 'assistant', content: 'Abscission.' }, { role: 'user', content: 'And in spring?' }], rationale: 'growth' },
      { id: 'img', input: 'Describe the picture. (img) é ✓', image: 'pic.png', rationale: 'one pixel' },
    ];
    await fsp.writeFile(data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const config = path.join(dir, 'config.json');
    const key = 'sk-preview-secret-0123456789';
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm', baseUrl: `${server.url}?api-version=2024-06-01`, model: 'model-x', apiKeyEnv: 'PREVIEW_KEY', systemPrompt: 'You explain behaviour.', temperature: 0.2, maxTokens: 300, extraBody: { top_p: 0.9, seed: 7 }, headers: { 'X-Team': 'eval' }, concurrency: 1 }] }));
    const env = { PREVIEW_KEY: key };

    const scored = await runCliCaptured(['score', data, '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(dir, 'cache')], { env });
    assert.equal(scored.code, 0, scored.stderr);
    const received = server.requests.filter((r) => r.method === 'POST');
    assert.equal(received.length, 3);

    for (const row of rows) {
      const sent = received.find((r) => r.body.includes(`(${row.id})`) || (row.id === 'chat' && r.body.includes('Abscission')));
      assert.ok(sent, `the server received row ${row.id}`);
      const out = await runCliCaptured(['preview', data, '--row', row.id, '--config', config, '--json'], { env });
      assert.equal(out.code, 0, out.stderr);
      const doc = JSON.parse(out.stdout) as { schema: string; row: { id: string; line: number }; request: { method: string; url: string; headers: Record<string, string>; body: Record<string, unknown> } };
      assert.equal(doc.schema, 'pisar-review/preview@1');
      assert.equal(doc.row.id, row.id);
      assert.equal(doc.request.url, `${server.origin}${sent.url}`, 'the URL the request went to');
      assert.equal(doc.request.headers.Authorization, 'Bearer [redacted]');
      assert.equal(sent.headers.authorization, `Bearer ${key}`);
      assert.equal(doc.request.headers['X-Team'], sent.headers['x-team']);
      assert.ok(!out.stdout.includes(key), 'the key never appears');
      if (row.id === 'img') {
        assert.equal(JSON.stringify(doc.request.body), JSON.stringify(summariseImages(JSON.parse(sent.body))), 'the same body, image bytes summarised');
        assert.match(out.stdout, new RegExp(`data:image/png;base64,<${PNG.length} bytes sha256 [0-9a-f]{12}…>`));
        assert.ok(sent.body.includes(PNG.toString('base64')), 'the server got the bytes themselves');
      } else {
        assert.equal(JSON.stringify(doc.request.body), sent.body, 'byte for byte');
      }
    }

    const text = await runCliCaptured(['preview', data, '--row', 'plain', '--config', config], { env });
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions\?api-version=2024-06-01\n/);
    const missing = await runCliCaptured(['preview', data, '--row', 'nope', '--config', config]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no row with id "nope"/);
  });
});
