import * as fs from 'node:fs';
import * as path from 'node:path';
import { isScoredHere } from '../../src/core/store/provenance';
import { ResultsStore, type StoredResult } from '../../src/core/store/results';
import { settledGarbage } from './garbage';

/**
 * What `score` holds for each result it appends, measured in a process of its own (results-held.test):
 *   node out/test/support/heldMemoryChild.js <dir> <rows> [append|read]
 * append (the default): appends what a run of <rows> rows x 2 models appends, in batches of 500 rows, to a store that
 * holds no texts; read: those lines written, a store opened on them as compare opens it (readTexts: false). Prints one
 * JSON line: the heap and array-buffer bytes a result added, and the last result's score (every result held).
 * In the test process itself the figure moved with what other tests left running (a timer's or a worker's garbage
 * between the two measures): on 82dc36b, whose columns hold ~140 bytes a result, it read 214-257 there.
 */
async function main(): Promise<void> {
  const [dir, rowsArg, mode = 'append'] = process.argv.slice(2);
  const rows = Number(rowsArg);
  if (fs.readdirSync(dir).length > 0) throw new Error(`heldMemoryChild: ${dir} is not empty (a sidecar read on open is held before the measure)`);
  const data = path.join(dir, 'data.jsonl');
  fs.writeFileSync(data, '{"id":"r1","input":"i","rationale":"r"}\n');
  const store = await ResultsStore.open(data, { texts: false });
  const embedding = { id: '/models/tiny', dtype: 'fp32' as const, weights: '8114fbfcc4b5' };
  const batch = (first: number): StoredResult[] => {
    const out: StoredResult[] = [];
    for (let i = first; i < first + 500; i++) {
      const rowHash = (0x3ffeb51f00000000 + i * 7919).toString(16).padStart(16, '0').slice(-16);
      const at = new Date(1_800_000_000_000 + Math.floor(i / 4)).toISOString();
      for (const model of ['ft', 'base']) {
        out.push({
          rowId: `r${i}`, rowHash, model, source: 'precomputed', output: `the output of r${i} by ${model}`, at, score: i / rows,
          scorer: 'local:/models/tiny:fp32', outputHash: '83f86094bb2e7fac', referenceHash: 'c526ec0063ff6ffd', embedding,
        });
      }
    }
    return out;
  };
  if (mode === 'read') {
    for (let first = 0; first < rows; first += 500) await store.append(batch(first));
    await (await ResultsStore.open(path.join(dir, 'warm-up.jsonl'), { repair: false, readTexts: false })).flushed(); // the read path's code, before the measure
    await settledGarbage();
    const before = process.memoryUsage();
    const read = await ResultsStore.open(data, { repair: false, readTexts: false });
    await settledGarbage();
    const after = process.memoryUsage();
    const perResult = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / (2 * rows);
    process.stdout.write(JSON.stringify({ perResult, lastScore: read.latest(`r${rows - 1}`, 'base')?.score, scoredHere: isScoredHere(read.latest(`r${rows - 1}`, 'base')!) }) + '\n');
    return;
  }
  await store.append(batch(0)); // the store's code and first growth, before the measure
  await settledGarbage();
  const before = process.memoryUsage();
  for (let first = 500; first < rows; first += 500) await store.append(batch(first));
  await settledGarbage();
  const after = process.memoryUsage();
  const perResult = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / (2 * (rows - 500));
  process.stdout.write(JSON.stringify({ perResult, lastScore: store.latest(`r${rows - 1}`, 'base')?.score }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
