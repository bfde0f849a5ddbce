// Which embedding model scores, and how much of a text it reads: a Hub id is a Hub id (a folder of that
// name in the working directory is not used), a local model is written as a path, and the maximum
// length comes from the model's own files and known model ids, as sentence-transformers decides it.
import * as assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { modelMaxLength } from '../../src/core/scoring/modelFiles';
import { ScorerError } from '../../src/core/scoring/embedder';
import { createScorer, resolveModelLocation, type Scorer } from '../../src/core/scoring/scorer';
import { runCliCaptured } from '../support/cli';
import { makeTempDir, repoRoot } from '../support/files';

const PARITY = path.join(repoRoot, 'test', 'fixtures', 'models', 'parity');
const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

/** A copy of a model folder as the Hub has it: the given files removed, config edits applied. */
function copyModel(from: string, to: string, drop: string[] = [], edit: { tokenizerConfig?: Record<string, unknown> } = {}): string {
  cpSync(from, to, { recursive: true });
  for (const file of drop) rmSync(path.join(to, file), { force: true });
  if (edit.tokenizerConfig) {
    const file = path.join(to, 'tokenizer_config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    for (const [key, value] of Object.entries(edit.tokenizerConfig)) {
      if (value === undefined) delete config[key];
      else config[key] = value;
    }
    writeFileSync(file, JSON.stringify(config));
  }
  return to;
}

describe('embedding model: where it comes from and how much it reads', function () {
  this.timeout(120_000);
  const tmp = makeTempDir('pisar-model-');
  let scorer: Scorer | undefined;
  afterEach(async () => {
    await scorer?.dispose();
    scorer = undefined;
  });
  after(() => tmp.cleanup());

  it('a Hub id is a Hub id whatever folders exist here; a local model is written as a path', () => {
    const here = path.join(tmp.dir, 'cwd');
    copyModel(TINY, path.join(here, 'Xenova', 'all-MiniLM-L6-v2'));
    copyModel(TINY, path.join(here, 'minilm'));
    assert.deepEqual(resolveModelLocation('Xenova/all-MiniLM-L6-v2', here), { isLocalFolder: false, location: 'Xenova/all-MiniLM-L6-v2' });
    assert.deepEqual(resolveModelLocation('minilm', here), { isLocalFolder: false, location: 'minilm' });
    assert.deepEqual(resolveModelLocation('./minilm', here), { isLocalFolder: true, location: path.join(here, 'minilm') });
    assert.deepEqual(resolveModelLocation('./Xenova/all-MiniLM-L6-v2', here), { isLocalFolder: true, location: path.join(here, 'Xenova', 'all-MiniLM-L6-v2') });
    assert.deepEqual(resolveModelLocation('../cwd/minilm', here), { isLocalFolder: true, location: path.join(here, 'minilm') });
    assert.deepEqual(resolveModelLocation(path.join(here, 'minilm'), '/'), { isLocalFolder: true, location: path.join(here, 'minilm') });
    assert.deepEqual(resolveModelLocation('~/models/minilm', here), { isLocalFolder: true, location: path.join(homedir(), 'models', 'minilm') });
    assert.equal(resolveModelLocation('models\\minilm', here).isLocalFolder, true);
    assert.throws(() => resolveModelLocation('models/minilm/v2', here), (e: unknown) => e instanceof ScorerError && /\.\/models\/minilm\/v2/.test(e.message));
  });

  it('with a folder ./Xenova/all-MiniLM-L6-v2 in the base folder, the default id goes to the Hub (offline here), not to the folder', async () => {
    const here = path.join(tmp.dir, 'shadow');
    copyModel(TINY, path.join(here, 'Xenova', 'all-MiniLM-L6-v2'));
    scorer = createScorer({ provider: 'local', model: 'Xenova/all-MiniLM-L6-v2', dtype: 'fp32', baseDir: here, cacheDir: path.join(tmp.dir, 'cache-shadow'), hubUrl: 'http://127.0.0.1:9/' });
    assert.equal(scorer.identity().id, 'Xenova/all-MiniLM-L6-v2');
    await assert.rejects(scorer.scorePairs([{ output: 'an unrelated answer', reference: 'the reference rationale' }]), (e: unknown) => e instanceof ScorerError && e.code === 'offline');
  });

  it('CLI: a folder is taken only when written as a path, a/b/c is refused with exit 2, and score --json names the model (id, dtype, weights, maximum length)', async () => {
    const here = path.join(tmp.dir, 'cli');
    copyModel(TINY, path.join(here, 'Xenova', 'all-MiniLM-L6-v2'));
    writeFileSync(path.join(here, 'data.jsonl'), `${JSON.stringify({ id: 'r1', prompt: 'p', reference: 'the reference rationale', outputs: { m: 'an unrelated answer' } })}\n`);
    const env = { PISAR_REVIEW_CACHE_DIR: path.join(tmp.dir, 'cli-cache'), HF_ENDPOINT: 'http://127.0.0.1:9' };
    const refused = await runCliCaptured(['score', 'data.jsonl', '--embedding-model', 'models/minilm/v2'], { cwd: here, env });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /\.\/models\/minilm\/v2/);
    const local = await runCliCaptured(['score', 'data.jsonl', '--json', '--embedding-model', './Xenova/all-MiniLM-L6-v2'], { cwd: here, env });
    assert.equal(local.code, 0, local.stderr);
    const doc = JSON.parse(local.stdout) as { embedding: { provider: string; id: string; dtype: string; weights: string; maxLength: number; maxLengthSource: string } };
    assert.deepEqual({ ...doc.embedding, weights: doc.embedding.weights.length }, {
      provider: 'local', id: path.join(here, 'Xenova', 'all-MiniLM-L6-v2'), dtype: 'fp32', weights: 12, maxLength: 256, maxLengthSource: 'sentence_bert_config.json',
    });
  });

  it('takes the maximum length from sentence_bert_config.json, then a known model id, then tokenizer_config.json, then config.json', () => {
    const st = copyModel(PARITY, path.join(tmp.dir, 'len', 'st'));
    assert.deepEqual(modelMaxLength(st), { maxLength: 128, source: 'sentence_bert_config.json' });
    // The Hub folder of the default model has no sentence_bert_config.json and says 512 in tokenizer_config.json.
    const hubCopy = copyModel(PARITY, path.join(tmp.dir, 'len', 'Xenova', 'all-MiniLM-L6-v2'), ['sentence_bert_config.json']);
    assert.deepEqual(modelMaxLength(hubCopy), { maxLength: 256, source: 'known model id' });
    assert.deepEqual(modelMaxLength(undefined, 'Xenova/all-MiniLM-L6-v2'), { maxLength: 256, source: 'known model id' });
    const other = copyModel(PARITY, path.join(tmp.dir, 'len', 'other'), ['sentence_bert_config.json']);
    assert.deepEqual(modelMaxLength(other), { maxLength: 512, source: 'tokenizer_config.json' });
    const huge = copyModel(PARITY, path.join(tmp.dir, 'len', 'huge'), ['sentence_bert_config.json'], { tokenizerConfig: { model_max_length: 1e30 } });
    assert.deepEqual(modelMaxLength(huge), { maxLength: 512, source: 'config.json' });
  });

  it('a local copy of the default model without sentence_bert_config.json cuts at 256 word pieces, as sentence-transformers, and says so', async () => {
    const hubCopy = copyModel(PARITY, path.join(tmp.dir, 'cut', 'Xenova', 'all-MiniLM-L6-v2'), ['sentence_bert_config.json']);
    scorer = createScorer({ provider: 'local', model: hubCopy, dtype: 'fp32', cacheDir: path.join(tmp.dir, 'cache-cut'), local: { workers: 1 } });
    assert.equal(scorer.identity().maxLength, 256);
    const words = (n: number): string => Array.from({ length: n }, (_, i) => ['model', 'answer', 'policy', 'review'][i % 4]).join(' ');
    // 300 words: 302 pieces with [CLS]/[SEP], cut at 256; 200 words: 202 pieces, read whole (512 would cut neither).
    const [long, short] = await scorer.embed([words(300), words(200)]);
    assert.ok(long && short);
    assert.deepEqual(await scorer.cutTexts([words(300), words(200)]), [true, false]);
  });
});
