import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmbeddingCache, textKey, type CacheEntry } from '../../src/core/scoring/embeddingCache';
import { makeTempDir } from '../support/files';
import { collectGarbage, settledGarbage } from '../support/garbage';

/** A text's entry with a vector and facts derived from its number, so each can be told apart on reading (its pieces; a model reads at most a few hundred). */
function entry(i: number, width = 4): CacheEntry {
  return { key: textKey(`text ${i}`), vector: Float32Array.from({ length: width }, (_, k) => i + k / 10), facts: { pieces: i + 3, read: 2 + (i % 510), unknown: i % 3 } };
}

/** A key of 32 one-byte characters starting 7, 7, 7, 7 (where the table's probe starts), `n` in its last two bytes. */
function sameStartKey(n: number): string {
  const bytes = Buffer.alloc(32);
  bytes.fill(7, 0, 4);
  bytes.writeUInt16BE(n, 30);
  return bytes.toString('latin1');
}

/**
 * The embedding cache in memory (issue 23.3): every text scored in a run is held by its hash, so a million rows hold
 * three million of them; they are found again exactly (vector and facts), across reloads, and cost no object a text.
 */
describe('embedding cache: held by hash in typed arrays', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());

  it('finds each of 20,000 texts again by its key, vector and facts, and after a reload from disk', async () => {
    const cache = new EmbeddingCache(tmp.dir, 'ns');
    await cache.load();
    const entries = Array.from({ length: 20_000 }, (_, i) => entry(i));
    for (let i = 0; i < entries.length; i += 1000) await cache.put(entries.slice(i, i + 1000));
    const again = new EmbeddingCache(tmp.dir, 'ns');
    await again.load();
    for (const c of [cache, again]) {
      assert.equal(c.size, 20_000);
      for (const [i, e] of entries.entries()) {
        assert.deepEqual([...c.get(e.key)!], [...e.vector], `vector of text ${i}`);
        assert.deepEqual(c.facts(e.key), e.facts, `facts of text ${i}`);
      }
      assert.equal(c.get(entry(20_000).key), undefined);
      assert.equal(c.facts(entry(20_001).key), undefined);
    }
  });

  it('tells apart keys that share their first bytes (one probe chain) and keeps one slot per text written twice', async () => {
    const cache = new EmbeddingCache(tmp.dir, 'ns');
    await cache.load();
    const keys = Array.from({ length: 600 }, (_, i) => sameStartKey(i));
    assert.equal(new Set(keys).size, 600);
    await cache.put(keys.map((key, i) => ({ key, vector: Float32Array.of(i, 1, 2, 3) })));
    await cache.put([{ key: keys[5], vector: Float32Array.of(-5, 1, 2, 3) }]);
    assert.equal(cache.size, 600);
    keys.forEach((key, i) => assert.equal(cache.get(key)![0], i === 5 ? -5 : i, `key ${i}`));
    assert.equal(cache.get(sameStartKey(600)), undefined);
    assert.equal(cache.facts(keys[9]), undefined, 'no facts were given');
  });

  it('starts memory over when the model\'s width changes', async () => {
    const cache = new EmbeddingCache(tmp.dir, 'ns');
    await cache.load();
    await cache.put([entry(1, 4), entry(2, 4)]);
    await cache.put([entry(3, 8)]);
    assert.equal(cache.size, 1);
    assert.equal(cache.get(entry(1).key), undefined);
    assert.equal(cache.get(entry(3).key)!.length, 8);
  });

  it('holds 200,000 texts in under 3 MB of JavaScript heap (typed arrays, no string or object a text)', async () => {
    const cache = new EmbeddingCache(tmp.dir, 'ns');
    await cache.load();
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    // Made a chunk at a time, each key a fresh string as the scorer makes them: a cache keeping its keys keeps these.
    for (let i = 0; i < 200_000; i += 4096) await cache.put(Array.from({ length: Math.min(4096, 200_000 - i) }, (_, k) => entry(i + k, 2)));
    collectGarbage();
    const grown = process.memoryUsage().heapUsed - before;
    assert.equal(cache.size, 200_000);
    assert.deepEqual([...cache.get(entry(199_999).key)!], [199_999, 199_999.1].map(Math.fround));
    assert.ok(grown < 3e6, `the cache grew the heap by ${(grown / 1e6).toFixed(1)} MB for 200,000 texts`);
  });

  it('holds the index of 300,000 texts in under 54 bytes a text (hash 32, facts 8, record 4, a table at most 3/4 full)', async function () {
    this.timeout(60_000);
    const cache = new EmbeddingCache(tmp.dir, 'ns');
    await cache.load();
    await settledGarbage();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 300_000; i += 4096) await cache.put(Array.from({ length: Math.min(4096, 300_000 - i) }, (_, k) => entry(i + k, 2)));
    await cache.flush();
    await settledGarbage();
    const perText = (process.memoryUsage().arrayBuffers - before) / 300_000;
    assert.equal(cache.size, 300_000);
    assert.deepEqual(cache.facts(entry(299_999).key), entry(299_999).facts);
    // ~51.4 (blocks of 4,096 slots, a table of 2^19); facts on 12 bytes ~55.5; a table kept half full (2^20) ~62.5.
    assert.ok(perText < 54, `${perText.toFixed(1)} bytes a text`);
    cache.close();
  });

  it('keeps facts of any width: pieces read or unknown past 16 bits beside narrow ones, replaced either way, from disk too', async () => {
    const cache = new EmbeddingCache(tmp.dir, 'ns');
    await cache.load();
    const facts = [
      { pieces: 300, read: 256, unknown: 3 },
      { pieces: 200_000, read: 70_000, unknown: 65_536 },
      { pieces: 0xffff, read: 0xffff, unknown: 0xffff },
      { pieces: 0x10000, read: 0xfffe, unknown: 0xffff },
      { pieces: 9, read: 9, unknown: 70_000 },
      undefined,
    ];
    const keys = facts.map((_, i) => textKey(`wide ${i}`));
    await cache.put(keys.map((key, i) => ({ key, vector: Float32Array.of(i, 1), facts: facts[i] })));
    // Replaced: a wide one by a narrow one and a narrow one by a wide one.
    const later = [...facts];
    later[1] = { pieces: 5, read: 5, unknown: 0 };
    later[0] = { pieces: 100_000, read: 100_000, unknown: 1 };
    await cache.put([0, 1].map((i) => ({ key: keys[i], vector: Float32Array.of(i, 2), facts: later[i] })));
    await cache.flush();
    const again = new EmbeddingCache(tmp.dir, 'ns');
    await again.load();
    for (const c of [cache, again]) keys.forEach((key, i) => assert.deepEqual(c.facts(key), later[i], `text ${i}`));
    cache.close();
    again.close();
  });

  it('keeps the vectors on disk: 20,000 vectors of 384 dimensions grow memory by a fraction of their 30 MB, and are read back exact', async () => {
    const cache = new EmbeddingCache(tmp.dir, 'ns');
    await cache.load();
    await settledGarbage();
    const before = process.memoryUsage();
    for (let i = 0; i < 20_000; i += 1000) await cache.put(Array.from({ length: 1000 }, (_, k) => entry(i + k, 384)));
    await cache.flush();
    await settledGarbage();
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
    assert.ok(grown < 5e6, `the cache grew memory by ${(grown / 1e6).toFixed(1)} MB for 20,000 vectors of 30.7 MB`);
    for (const i of [0, 1, 9_999, 19_999]) assert.deepEqual([...cache.get(entry(i).key)!], [...entry(i, 384).vector]);
    cache.close();
  });

  it('never gives a vector from a record that no longer holds the text (the file cut or started over by another process)', async () => {
    const cache = new EmbeddingCache(tmp.dir, 'ns');
    await cache.load();
    await cache.put([entry(1), entry(2), entry(3)]);
    await cache.flush();
    assert.deepEqual([...cache.get(entry(2).key)!], [...entry(2).vector]);
    const file = path.join(cache.dir, 'vectors.bin');
    const records = fs.readFileSync(file);
    const recordBytes = records.length / 3;
    // Another process started the file over and wrote other texts: record 1 now holds text 9.
    const other = Buffer.concat([records.subarray(0, recordBytes), Buffer.alloc(recordBytes)]);
    other.write(textKey('text 9'), recordBytes, 'latin1');
    fs.writeFileSync(file, other);
    assert.equal(cache.get(entry(2).key), undefined, 'record 1 holds another text');
    assert.equal(cache.get(entry(3).key), undefined, 'record 2 is gone');
    assert.deepEqual([...cache.get(entry(1).key)!], [...entry(1).vector], 'record 0 still holds text 1');
    cache.close();
  });
});
