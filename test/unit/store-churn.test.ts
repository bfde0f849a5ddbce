import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { runCliCaptured } from '../support/cli';
import { startEmbeddingsServer } from '../support/embeddingsServer';
import { jsonl, makeTempDir } from '../support/files';
import { FakeOpenAIServer } from '../support/openaiServer';

async function lineCount(file: string): Promise<number> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).length;
}

describe('sidecar churn: a run appends only lines that decide something', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  const closers: (() => Promise<void>)[] = [];
  beforeEach(() => (tmp = makeTempDir('pisar-churn-')));
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    tmp.cleanup();
  });

  it('a sidecar after ten identical failing runs (a wrong key) is as long as after one; each run still reports every failure', async () => {
    const server = await FakeOpenAIServer.start({ faultFor: () => '401' });
    closers.push(() => server.close());
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl(Array.from({ length: 12 }, (_, i) => ({ id: `r${i}`, input: `question ${i}`, rationale: `because ${i}` }))));
    const config = path.join(tmp.dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm1', baseUrl: server.url, model: 'm1', apiKeyEnv: 'M1_KEY', concurrency: 2 }] }));
    const sidecar = path.join(tmp.dir, 'data.pisar-results.jsonl');
    const args = ['score', data, '--config', config, '--json', '--embedding-url', 'http://127.0.0.1:9/v1', '--embedding-remote-model', 'e', '--cache-dir', path.join(tmp.dir, 'cache')];
    const lengths: number[] = [];
    for (let run = 0; run < 10; run++) {
      const out = await runCliCaptured(args, { env: { M1_KEY: 'wrong-key-123456' } });
      assert.equal(out.code, 1, out.stderr);
      const doc = JSON.parse(out.stdout) as { run: { failed: number; total: number } };
      assert.equal(doc.run.failed, 12, 'every pair is reported failed on every run');
      lengths.push(await lineCount(sidecar));
    }
    assert.equal(lengths[0], 12, 'one failure line per pair after the first run');
    assert.deepEqual(lengths, Array(10).fill(12), 'no run after the first appended a repeated failure');
  });

  it('a failure that differs from the stored one (another status) is appended', async () => {
    let status: '401' | '404' = '401';
    const server = await FakeOpenAIServer.start({ faultFor: () => status });
    closers.push(() => server.close());
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl([{ id: 'a', input: 'q', rationale: 'r' }]));
    const config = path.join(tmp.dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm1', baseUrl: server.url, model: 'm1', concurrency: 1 }] }));
    const args = ['score', data, '--config', config, '--embedding-url', 'http://127.0.0.1:9/v1', '--embedding-remote-model', 'e', '--cache-dir', path.join(tmp.dir, 'cache')];
    await runCliCaptured(args);
    status = '404';
    await runCliCaptured(args);
    assert.equal(await lineCount(path.join(tmp.dir, 'data.pisar-results.jsonl')), 2);
  });

  it('when scoring fails, precomputed outputs are not stored unscored (nothing to lose), so a second run appends nothing', async () => {
    const embeddings = await startEmbeddingsServer({ failWith: { status: 500, message: 'embedding backend down' } });
    closers.push(() => embeddings.close());
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl(Array.from({ length: 5 }, (_, i) => ({ id: `r${i}`, input: `q${i}`, rationale: `because ${i}`, outputs: { pre: `answer ${i}` } }))));
    const args = ['score', data, '--json', '--embedding-url', embeddings.baseUrl, '--embedding-remote-model', 'e', '--cache-dir', path.join(tmp.dir, 'cache')];
    for (let run = 0; run < 2; run++) {
      const out = await runCliCaptured(args);
      assert.equal(out.code, 2, out.stderr);
      assert.match((JSON.parse(out.stdout) as { scoringError: string }).scoringError, /embedding backend down|500/);
    }
    assert.equal(await lineCount(path.join(tmp.dir, 'data.pisar-results.jsonl')), 0);
  });
});
