import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main';
import type { ModelConfig } from '../../src/core/config/models';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { runDataset, type RunEvent } from '../../src/core/runner/runner';
import { ResultsStore } from '../../src/core/store/results';
import { jsonl, repoRoot } from '../support/files';
import { useCliWorkspace, type CliWorkspace } from '../support/cliWorkspace';
import type { FakeOpenAIServer, FaultKind } from '../support/openaiServer';


function rows(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({ id: `r${i}`, input: `question ${i}`, rationale: `Rationale: question ${i}` }));
}

/** A server that quotes the caller's Authorization header in its errors: row 0 gets 400, row 1 keeps getting 500, the rest 401. */
function echoingServer(tmp: CliWorkspace): Promise<FakeOpenAIServer> {
  const faults: Record<string, FaultKind> = { 'question 0': '400', 'question 1': '500' };
  return tmp.startServer({ echoCredentials: true, faultFor: (req) => faults[req.prompt] ?? '401' });
}

describe('security: a key echoed back by a server never leaves the run', function () {
  this.timeout(60_000);
  const tmp = useCliWorkspace('pisar-security-');
  let server: FakeOpenAIServer | undefined;

  it('runner: stored failures, events and the summary hold no key, though the server quoted it', async () => {
    const key = `tok${Math.random().toString(36).slice(2)}x9`;
    server = await echoingServer(tmp);
    const file = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(file, jsonl(rows(3)));
    const dataset = await Dataset.open(file);
    const results = await ResultsStore.open(file);
    const events: RunEvent[] = [];
    const model: ModelConfig = { name: 'm1', baseUrl: server.url, model: 'm1', concurrency: 1, timeoutMs: 5000 };
    const summary = await runDataset({
      dataset, results, models: [model], apiKeyFor: async () => key, onEvent: (e) => events.push(e),
      retry: { retries: 1, baseDelayMs: 5, maxDelayMs: 10 },
    });
    await dataset.close();
    assert.ok(server.stats.authorizations.has(`Bearer ${key}`), 'the key was sent');
    assert.ok(server.requests.length >= 3, 'the server saw (and quoted) the calls');
    assert.equal(summary.failed, 3, 'all three rows failed');

    const sidecar = await fsp.readFile(results.file, 'utf8');
    const seen = JSON.stringify({ summary, events }) + sidecar;
    assert.ok(!seen.includes(key), `the key leaked: ${seen.slice(seen.indexOf(key) - 120, seen.indexOf(key) + 40)}`);
    assert.match(sidecar, /Authorization: Bearer \[redacted\]/, 'the quote is kept, masked, so the reason stays readable');
  });

  it('CLI: stderr and the results file hold no key from the environment, though the server quoted it', async () => {
    const key = `sk-test-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    server = await echoingServer(tmp);
    const { common } = await tmp.dataset(rows(3), [{ name: 'm1', baseUrl: server.url, model: 'm1', apiKeyEnv: 'M1_API_KEY', concurrency: 1 }]);
    const stdout = new PassThrough();
    const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    let out = '';
    let err = '';
    stdout.on('data', (c) => (out += c));
    stderr.on('data', (c) => (err += c));
    const code = await runCli(['score', ...common], {
      stdout, stderr, env: { M1_API_KEY: key }, cwd: repoRoot,
    });
    assert.equal(code, 1, err);
    assert.ok(server.stats.authorizations.has(`Bearer ${key}`), 'the key was sent');
    assert.match(err, /401|Incorrect API key/, 'the failure is reported');
    const files = await fsp.readdir(tmp.dir, { recursive: true });
    let written = '';
    for (const f of files) {
      const full = path.join(tmp.dir, String(f));
      if ((await fsp.stat(full)).isFile()) written += await fsp.readFile(full, 'latin1');
    }
    for (const [where, text] of [['stderr', err], ['stdout', out], ['files', written]] as const) {
      assert.ok(!text.includes(key), `${where} holds the key: ${text.slice(Math.max(0, text.indexOf(key) - 120), text.indexOf(key) + 40)}`);
    }
  });
});
