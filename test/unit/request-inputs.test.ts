import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, parseModelList } from '../../src/core/config/models';
import { jsonSettingsSource, readSettings } from '../../src/core/config/settings';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { runDataset } from '../../src/core/runner/runner';
import { ResultsStore } from '../../src/core/store/results';
import { runCliCaptured } from '../support/cli';
import { chatCompletion, RawServer } from '../support/rawServer';

// What a config or a row hands the request builder, refused where it is read, never mangled on the wire.

async function tempDir(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-inputs-'));
}

describe('request inputs: URLs, headers and inline images', function () {
  this.timeout(30_000);
  let server: RawServer | undefined;
  afterEach(async () => server?.close());

  async function callOnce(baseUrl: (s: RawServer) => string, rows: Record<string, unknown>[] = [{ id: 'r0', input: 'q', rationale: 'r' }]) {
    server = await RawServer.start((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(chatCompletion('fine'));
    });
    const dir = await tempDir();
    const file = path.join(dir, 'data.jsonl');
    await fsp.writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const [model] = parseModelList([{ name: 'm', baseUrl: baseUrl(server), model: 'm' }], 'config.json');
    const dataset = await Dataset.open(file);
    const results = await ResultsStore.open(file);
    await runDataset({ dataset, models: [model], results, apiKeyFor: async () => undefined, retry: { retries: 0 } });
    await dataset.close();
    return { results, requests: server.requests };
  }

  it('a baseUrl with a trailing space or a query is sent with the path first and the query kept as a query', async () => {
    const spaced = await callOnce((s) => `${s.url} `);
    assert.equal(spaced.requests[0].url, '/v1/chat/completions');
    await server!.close();
    server = undefined;
    const keyed = await callOnce((s) => `${s.url}/?key=abc123&alt=json`);
    assert.equal(keyed.requests[0].url, '/v1/chat/completions?key=abc123&alt=json');
    assert.equal(keyed.results.latest('r0', 'm')?.output, 'fine');
  });

  it('a baseUrl with whitespace inside, a fragment or another scheme is refused when the config is read, with the fix', () => {
    for (const [baseUrl, words] of [['http://h/v 1', /whitespace/], ['http://h/v1\n/x', /whitespace or a control character/], ['file:///etc/passwd', /must be http or https/], ['http://h/v1#frag', /fragment/]] as const) {
      assert.throws(() => parseModelList([{ name: 'm', baseUrl, model: 'm' }], 'config.json'), (e: ConfigError) => e instanceof ConfigError && e.field === 'models[0].baseUrl' && words.test(e.message), baseUrl);
    }
  });

  it('a CR or LF in a header value fails when the settings are read (extension) and the config is loaded (CLI), in the same words', async () => {
    const models = [{ name: 'm', baseUrl: 'http://127.0.0.1:9/v1', model: 'm', headers: { 'X-Team': 'eval\r\nX-Injected: 1' } }];
    const read = readSettings(jsonSettingsSource({ models }));
    assert.equal(read.problems[0]?.key, 'models[0].headers.X-Team');
    assert.match(read.problems[0].problem, /line break/);
    const dir = await tempDir();
    const config = path.join(dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models }));
    const cli = await runCliCaptured(['check-models', '--config', config]);
    assert.equal(cli.code, 2);
    assert.ok(cli.stderr.includes(read.problems[0].problem), cli.stderr);
  });

  it('--embedding-url file://... and a non-http embedding.remote.baseUrl are refused at parse time with the fix', async () => {
    const dir = await tempDir();
    const data = path.join(dir, 'data.jsonl');
    await fsp.writeFile(data, JSON.stringify({ id: 'a', input: 'q', rationale: 'r', outputs: { pre: 'x' } }) + '\n');
    const cli = await runCliCaptured(['score', data, '--embedding-url', 'file:///tmp/embed', '--embedding-remote-model', 'e', '--cache-dir', path.join(dir, 'c')]);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /--embedding-url file:\/\/\/tmp\/embed: must be http or https; got "file:"/);
    assert.doesNotMatch(cli.stderr, /request to null/);
    const read = readSettings(jsonSettingsSource({ embedding: { remote: { baseUrl: 'ftp://host/v1' } } }));
    assert.match(read.problems[0]?.problem ?? '', /must be http or https/);
  });

  it('non-base64 data URLs and non-image types (SVG with an external href, text/html) are refused as images: nothing is sent', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><image href="https://tracker.example/p.png"/></svg>').toString('base64');
    const images = [`data:image/svg+xml;base64,${svg}`, 'data:text/html,<script>alert(1)</script>', 'data:image/png,%89PNG%0D%0A', 'javascript:alert(1)', 'data:text/plain;base64,aGVsbG8='];
    const rows = images.map((image, i) => ({ id: `r${i}`, input: 'Describe', image, rationale: 'r' }));
    const { results, requests } = await callOnce((s) => s.url, rows);
    assert.equal(requests.length, 0, 'no row was sent');
    for (const [i, image] of images.entries()) {
      const r = results.latest(`r${i}`, 'm');
      assert.ok(r?.error, `${image}: failed`);
      assert.match(r.error.kind, /^(image|prompt)$/, image);
    }
  });
});
