// Remote embeddings at full width (issue 22 point 2), in every dialect (issue 19 point 9), and bad
// vectors from an endpoint failing their pairs only (issue 18 point 7). Real HTTP servers on 127.0.0.1.
import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_EMBEDDING_MODEL } from '../../src/core/config/settings';
import { ResultsStore } from '../../src/core/store/results';
import { createScorer, type Scorer } from '../../src/core/scoring/scorer';
import { runCliCaptured } from '../support/cli';
import { startEmbeddingsServer, type EmbeddingsServer, type EmbeddingsServerOptions } from '../support/embeddingsServer';
import { makeTempDir } from '../support/files';

function unit(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

function cosine(a: number[], b: number[]): number {
  const ua = unit(a);
  const ub = unit(b);
  return ua.reduce((s, x, i) => s + x * ub[i], 0);
}

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('remote embeddings at full width, every dialect, bad vectors (real HTTP servers on 127.0.0.1)', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let server: EmbeddingsServer | undefined;
  let scorer: Scorer | undefined;
  beforeEach(() => (tmp = makeTempDir('pisar-remote-width-')));
  afterEach(async () => {
    await scorer?.dispose();
    scorer = undefined;
    await server?.close();
    server = undefined;
    tmp.cleanup();
  });

  const texts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} text number ${i} about robots and people`);
  const remoteScorer = (baseUrl: string, cacheDir = tmp.dir) =>
    (scorer = createScorer({ provider: 'remote', model: DEFAULT_EMBEDDING_MODEL, dtype: 'fp32', remote: { baseUrl, model: 'bge-small' }, cacheDir }));

  const assertExact = (got: Float32Array[], sent: string[], s: EmbeddingsServer) => {
    assert.equal(got.length, sent.length);
    sent.forEach((text, i) => {
      const expected = unit(s.vectorFor(text));
      for (let k = 0; k < expected.length; k++) assert.ok(Math.abs(got[i][k] - expected[k]) < 1e-6, `text ${i} value ${k}`);
    });
  };

  it('a TEI server with a 32-text limit and no /info: 117 texts in ceil(117/32) requests plus the refusals, and a second run sends no refused batch', async () => {
    server = await startEmbeddingsServer({ maxBatch: 32 } satisfies EmbeddingsServerOptions);
    const sent = texts(117, 'first');
    assertExact(await remoteScorer(server.baseUrl, path.join(tmp.dir, 'a')).embed(sent), sent, server);
    const posts = server.requests.filter((r) => r.route === '/v1/embeddings');
    const refused = posts.filter((r) => r.input.length > 32).length;
    assert.ok(posts.length <= Math.ceil(117 / 32) + 3, `${posts.length} requests for 117 texts (${refused} refused)`);
    assert.ok(posts.every((r) => r.input.length > 1), 'no text was sent alone');

    // The endpoint's size is remembered: a new scorer sends only batches it takes.
    await scorer!.dispose();
    const before = server.requests.length;
    const again = texts(117, 'second');
    assertExact(await remoteScorer(server.baseUrl, path.join(tmp.dir, 'b')).embed(again), again, server);
    const later = server.requests.slice(before).filter((r) => r.route === '/v1/embeddings');
    assert.equal(later.length, Math.ceil(117 / 32));
    assert.ok(later.every((r) => r.input.length <= 32));
  });

  it('a TEI server with /info: its max_client_batch_size is read first, so no batch is refused', async () => {
    server = await startEmbeddingsServer({ maxBatch: 32, info: true });
    const sent = texts(117, 'info');
    assertExact(await remoteScorer(server.baseUrl).embed(sent), sent, server);
    assert.equal(server.requests.filter((r) => r.route === '/info').length, 1);
    const posts = server.requests.filter((r) => r.route === '/v1/embeddings');
    assert.equal(posts.length, Math.ceil(117 / 32));
    assert.ok(posts.every((r) => r.input.length <= 32));
  });

  for (const [dialect, route] of [['TEI /embed', '/embed'], ['Ollama /api/embed', '/api/embed']] as const) {
    it(`${dialect}: the native route is read, scores exact`, async () => {
      server = await startEmbeddingsServer();
      const baseUrl = server.baseUrl.replace(/\/v1$/, route);
      const pairs = [{ output: 'the robot stopped for a person', reference: 'a person blocked the robot' }, { output: 'it rained', reference: 'wet weather' }];
      const scores = await remoteScorer(baseUrl).scorePairs(pairs);
      pairs.forEach((p, i) => assert.ok(Math.abs(scores[i] - cosine(server!.vectorFor(p.output), server!.vectorFor(p.reference))) < 1e-6));
      assert.ok(server.requests.every((r) => r.route === route || r.route === '/info'), server.requests.map((r) => r.route).join());
    });
  }

  it('base64 embeddings (a server that sends them whatever was asked) are read', async () => {
    server = await startEmbeddingsServer({ forceBase64: true });
    const sent = texts(5, 'b64');
    assertExact(await remoteScorer(server.baseUrl).embed(sent), sent, server);
  });

  it('a URL with no embeddings API (Ollama\'s root) is refused with the URL to use, not "check --embedding-model"', async () => {
    server = await startEmbeddingsServer();
    const root = server.baseUrl.replace(/\/v1$/, '');
    await assert.rejects(remoteScorer(root).embed(['a text']), (err: Error) => {
      assert.match(err.message, /HTTP 404/);
      assert.ok(err.message.includes(`${new URL(root).origin}/v1`) && err.message.includes('/api/embed') && err.message.includes('/embed'), err.message);
      return true;
    });
    await scorer!.dispose();
    await assert.rejects(remoteScorer(`${root}/api/embeddings`).embed(['x']), (err: Error) => err.message.includes(`${root}/api/embed `) && err.message.includes(`${root}/v1`));
  });

  it('bad vectors (NaN, Infinity, null, zeros, another width): only those pairs fail, with kind bad-embedding naming the endpoint; score exits 1; a second run redoes only those scores', async () => {
    server = await startEmbeddingsServer({ badVectors: true });
    const data = path.join(tmp.dir, 'data.jsonl');
    const rows = [
      { id: 'good', input: 'q', rationale: 'the robot stopped for a person', outputs: { pre: 'a person blocked the robot' } },
      { id: 'nan', input: 'q', rationale: 'a reference', outputs: { pre: 'an answer nanword' } },
      { id: 'inf', input: 'q', rationale: 'a reference infword', outputs: { pre: 'an answer' } },
      { id: 'null', input: 'q', rationale: 'a reference', outputs: { pre: 'an answer nullword' } },
      { id: 'zero', input: 'q', rationale: 'a reference', outputs: { pre: 'zeroword' } },
      { id: 'wide', input: 'q', rationale: 'a reference', outputs: { pre: 'an answer wideword' } },
      { id: 'good2', input: 'q', rationale: 'wet weather today', outputs: { pre: 'it rained today' } },
    ];
    await fsp.writeFile(data, jsonl(rows));
    const args = ['score', data, '--json', '--embedding-url', server.baseUrl, '--embedding-remote-model', 'e', '--cache-dir', path.join(tmp.dir, 'c')];
    const { code, stdout, stderr } = await runCliCaptured(args);
    assert.equal(code, 1, stderr);
    const doc = JSON.parse(stdout) as { failures: { rowId: string; kind: string; message: string }[] };
    const failed = new Map(doc.failures.map((f) => [f.rowId, f]));
    assert.deepEqual([...failed.keys()].sort(), ['inf', 'nan', 'null', 'wide', 'zero']);
    for (const f of failed.values()) {
      assert.equal(f.kind, 'bad-embedding');
      assert.ok(f.message.includes(new URL(server.baseUrl).origin), f.message);
    }
    assert.match(failed.get('nan')!.message, /NaN/);
    assert.match(failed.get('inf')!.message, /Infinity/);
    assert.match(failed.get('zero')!.message, /zeros/);
    assert.match(failed.get('wide')!.message, /128 values|two widths/);
    const store = await ResultsStore.open(data);
    for (const id of ['good', 'good2']) {
      const r = store.latest(id, 'pre')!;
      const row = rows.find((x) => x.id === id)!;
      assert.ok(Math.abs(r.score! - cosine(server.vectorFor(row.outputs.pre), server.vectorFor(row.rationale))) < 1e-6, id);
    }
    assert.equal(store.latest('nan', 'pre')!.score, undefined);
    assert.equal(store.latest('nan', 'pre')!.output, 'an answer nanword');

    // The endpoint mends: only the failed pairs are embedded again.
    server.configure({ badVectors: false });
    const before = server.requests.length;
    const second = await runCliCaptured(args);
    assert.equal(second.code, 0, second.stderr);
    const embedded = server.requests.slice(before).flatMap((r) => r.input);
    assert.ok(!embedded.includes('it rained today'), 'a good pair was not redone');
    assert.ok(embedded.includes('an answer nanword'));
    const after = await ResultsStore.open(data);
    assert.ok(Number.isFinite(after.latest('nan', 'pre')!.score));
    assert.equal(after.latest('nan', 'pre')!.error, undefined);
  });
});
