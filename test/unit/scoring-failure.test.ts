import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main';
import { DatasetReview } from '../../src/core/review/datasetReview';
import { scoreView } from '../../src/core/review/reviewModel';
import { ResultsStore } from '../../src/core/store/results';
import { startEmbeddingsServer } from '../support/embeddingsServer';
import { jsonl, makeTempDir, repoRoot } from '../support/files';
import { FakeOpenAIServer } from '../support/openaiServer';

/** A run whose embeddings fail keeps its outputs, and each says why it has no score: not "no reference". */
describe('scoring failure kept with the outputs', function () {
  this.timeout(60_000);

  it('stores the reason beside each unscored called output (a paid call is kept), and the view model tells it apart from a missing reference', async () => {
    const tmp = makeTempDir('pisar-scoring-failure-');
    const embeddings = await startEmbeddingsServer({ failWith: { status: 500, message: 'embedding model is not loaded' } });
    const server = await FakeOpenAIServer.start();
    try {
      const data = path.join(tmp.dir, 'data.jsonl');
      await fsp.writeFile(data, jsonl([
        { id: 'a', input: 'q', rationale: 'r' },
        { id: 'b', input: 'q2', outputs: { m1: 'no reference here' } },
      ]));
      const config = path.join(tmp.dir, 'config.json');
      await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm1', baseUrl: server.url, model: 'm1' }] }));
      const sink = () => new PassThrough().resume();
      const code = await runCli(['score', data, '--config', config, '--embedding-url', embeddings.baseUrl, '--embedding-remote-model', 'e', '--cache-dir', path.join(tmp.dir, 'c')], {
        stdout: sink(), stderr: sink(), env: {}, cwd: repoRoot,
      });
      assert.equal(code, 2);
      const stored = (await ResultsStore.open(data)).latest('a', 'm1');
      assert.equal(stored?.score, undefined);
      assert.match(stored?.scoreNote ?? '', /^scoring failed: .*embedding model is not loaded/);

      // After a reload, with no memory of the run: still "unscored" with the reason, and the other row still "no reference".
      const review = await DatasetReview.open(data, { threshold: 0.7, models: [{ name: 'm1' }] });
      const unscored = scoreView(review.rowState(0)!.results[0], 0.7);
      assert.equal(unscored.unscored, true);
      assert.match(unscored.note ?? '', /embedding model is not loaded/);
      const noReference = scoreView(review.rowState(1)!.results[0], 0.7);
      assert.equal(noReference.unscored, undefined);
      assert.match(noReference.note ?? '', /no reference/);
    } finally {
      await server.close();
      await embeddings.close();
      tmp.cleanup();
    }
  });
});
