import * as assert from 'node:assert/strict';
import { DEFAULT_EMBEDDING_MODEL } from '../../src/core/config/settings';
import { createScorer } from '../../src/core/scoring/scorer';
import { startEmbeddingsServer, type EmbeddingsServer, type EmbeddingsServerOptions } from '../support/embeddingsServer';
import { makeTempDir } from '../support/files';

function cosine(a: number[], b: number[]): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

describe('remote embeddings: a text over the model\'s limit (real HTTP server on 127.0.0.1)', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let server: EmbeddingsServer | undefined;
  beforeEach(() => (tmp = makeTempDir('pisar-remote-long-')));
  afterEach(async () => {
    await server?.close();
    server = undefined;
    tmp.cleanup();
  });

  const words = (n: number, seed: string) => Array.from({ length: n }, (_, i) => `${seed}${i % 37}`).join(' ');

  for (const style of ['tei-413', 'openai-400', 'vllm-400', 'bare-413'] as const) {
    it(`${style}: cuts the long text client-side and retries it alone; the rest of its batch is scored exactly`, async () => {
      server = await startEmbeddingsServer({ maxWords: 100, tooLong: style } satisfies EmbeddingsServerOptions);
      const long = words(600, 'alpha');
      const pairs = [
        { output: 'the robot stopped because a person was in the way', reference: 'a person blocked the robot so it stopped' },
        { output: long, reference: 'alpha1 alpha2 alpha3' },
        { output: 'it rained', reference: 'the weather was wet' },
      ];
      const scorer = createScorer({ provider: 'remote', model: DEFAULT_EMBEDDING_MODEL, dtype: 'fp32', remote: { baseUrl: server.baseUrl, model: 'bge-small' }, cacheDir: tmp.dir });
      try {
        const scores = await scorer.scorePairs(pairs);
        for (const i of [0, 2]) {
          const expected = cosine(server.vectorFor(pairs[i].output), server.vectorFor(pairs[i].reference));
          assert.ok(Math.abs(scores[i] - expected) < 1e-6, `pair ${i} scored exactly: ${scores[i]} vs ${expected}`);
        }
        assert.ok(Number.isFinite(scores[1]), 'the long text got a score');
        const sent = server.requests.flatMap((r) => r.input).filter((t) => t.startsWith('alpha0'));
        const accepted = sent.at(-1)!;
        assert.ok(accepted.split(' ').length <= 100, `the text that was accepted fits the limit (${accepted.split(' ').length} words)`);
        assert.ok(long.startsWith(accepted), 'it is the start of the text');
        const expected = cosine(server.vectorFor(accepted), server.vectorFor(pairs[1].reference));
        assert.ok(Math.abs(scores[1] - expected) < 1e-6);
      } finally {
        await scorer.dispose();
      }
    });
  }
});
