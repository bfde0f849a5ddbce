// The panel at 100,000 rows x 3 models (300,000 stored results), through the product's review model
// (core ReviewModel over real files) and the panel's query code (computeOrder), in one run:
//   - a plain one-pass read of the dataset file: the yardstick every figure is divided by
//   - sort by each column (the first sort reads the sort columns), then sorts again (ranks kept)
//   - the text index read ahead, then the first text search and a narrowing one
//   - the way before (one read per row, Intl.Collator compares) on the same data, side by side
//   - the watcher's reload after this window's own run (refresh: nothing to read) and after another
//     writer appended 3,000 results (refresh reads the tail), beside a full re-read of the sidecar
// Usage: node scripts/bench/panel.bench.mjs   (needs out/: npm run bench)
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { panelDataset } from './panelData.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const out = (...p) => join(root, 'out', 'src', ...p);
const { DatasetReview } = require(out('core', 'review', 'datasetReview.js'));
const { ReviewModel } = require(out('core', 'review', 'reviewModel.js'));
const { ResultsStore } = require(out('core', 'store', 'results.js'));
const { computeOrder, SortColumns, TextMatches } = require(out('host', 'panel', 'rowQuery.js'));

const ROWS = Number(process.env.PISAR_BENCH_ROWS) || 100_000;
const { file, resultsFile, models: MODELS, rand, write } = await panelDataset(ROWS);

async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function plainRead() {
  let n = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) n += chunk.length;
  return n;
}

/** Before: one read per row, and Intl.Collator compares (the panel's code until this change). */
async function before(review, column) {
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  const keys = [];
  for (let i = 0; i < ROWS; i++) {
    const row = await review.dataset.getRow(i);
    keys.push(column === 'id' ? row.id : row.input.slice(0, 64));
  }
  const kept = Array.from({ length: ROWS }, (_, i) => i);
  kept.sort((a, b) => collator.compare(keys[a], keys[b]) || a - b);
  return kept;
}

async function searchBefore(review, needle) {
  const hits = [];
  for (let i = 0; i < ROWS; i++) {
    const row = await review.dataset.getRow(i);
    const hay = [row.id, row.input, row.reference, ...Object.values(row.outputs), ...(review.rowState(i)?.results.map((r) => r.result.output ?? '') ?? [])];
    if (hay.some((t) => t?.toLowerCase().includes(needle))) hits.push(i);
  }
  return hits;
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const read = await timed(plainRead);
const opened = await timed(() => DatasetReview.open(file, { threshold: 0.7, models: [] }, { repair: false }));
const review = opened.value;
review.rowStates(); // built once when the panel opens; not what this bench measures
const model = new ReviewModel(() => review, () => ({ labels: [], canScore: true }));
const source = { rows: (s, c) => model.rows(s, c), filterRows: (f) => model.filterRows(f), scoreColumns: () => model.scoreColumns() };
const view = model.activeDataset();
const columns = new SortColumns();
const text = new TextMatches();
const order = (column, descending = false, filter = {}) => timed(() => computeOrder(source, view, { sort: { column, descending }, filter }, columns, text));

const rows = [];
const row = (name, t, extra = '') => {
  rows.push({ name, ms: t.ms, overRead: t.ms / read.ms, load: load() });
  console.log(`  ${name.padEnd(52)} ${t.ms.toFixed(0).padStart(7)} ms  ${(t.ms / read.ms).toFixed(2).padStart(6)}x read  ${extra}`);
};
console.log(`${ROWS} rows x ${MODELS.length} models (${(statSync(file).size / 1e6).toFixed(0)} MB dataset, ${(statSync(resultsFile).size / 1e6).toFixed(0)} MB results); plain read ${read.ms.toFixed(0)} ms; load ${load()}`);
row('open (index + stores), for scale', opened);
// The panel reads the sort columns ahead once a large dataset is shown; the user's first sort comes after.
const ahead = new SortColumns();
row('background prefill of the sort columns and ranks (panel shown)', await timed(() => ahead.prefill(source, view)));
row('first sort by input, after the prefill', await timed(() => computeOrder(source, view, { sort: { column: 'input', descending: false }, filter: {} }, ahead, new TextMatches())));
row('first sort by id, after the prefill', await timed(() => computeOrder(source, view, { sort: { column: 'id', descending: false }, filter: {} }, ahead, new TextMatches())));
row('first sort: input, no prefill (reads the sort columns)', await order('input'));
row('sort: id', await order('id'));
row('sort: reference, descending', await order('reference', true));
row('sort: annotation', await order('annotation'));
row(`sort: score:${MODELS[1]}`, await order(`score:${MODELS[1]}`));
row('sort: input, descending (ranks kept)', await order('input', true));
// Then (panel shown, after the sort columns) the text index: every row's text, case-folded once.
row('background text index (panel shown, after the sort columns)', await timed(() => model.prepareSearch()));
row('first text search "stable grasp", after the read-ahead', await order('index', false, { text: 'stable grasp' }), '');
row('narrowing search "stable grasp agent"', await order('index', false, { text: 'stable grasp agent' }));
const was = await timed(() => before(review, 'input'));
row('BEFORE: first sort by input (row reads + collator)', was);
const wasSearch = await timed(() => searchBefore(review, 'stable grasp'));
row('BEFORE: first text search (row reads)', wasSearch);

// The watcher after a run: this window appended its own results (nothing new to read) ...
const store = review.results;
await store.append(Array.from({ length: 3000 }, (_, i) => ({ rowId: `pisar-${i}`, rowHash: review.dataset.rowHash(i), model: MODELS[0], source: 'precomputed', output: 'again', score: 0.5, scorer: 'local:bench', at: new Date().toISOString() })));
row('watcher reload after own append (refresh)', await timed(() => store.refresh({ repair: false })));
// ... or another writer did (the CLI): the tail is read.
const other = await ResultsStore.open(file, { repair: false });
await other.append(Array.from({ length: 3000 }, (_, i) => ({ rowId: `pisar-${i}`, rowHash: review.dataset.rowHash(i), model: MODELS[1], source: 'precomputed', output: 'again', score: 0.5, scorer: 'local:bench', at: new Date().toISOString() })));
row('watcher reload after 3,000 lines from another writer', await timed(() => store.refresh({ repair: false })));
row('BEFORE: full re-read of the results sidecar', await timed(() => store.reload({ repair: false })));
console.log(`load average at the end: ${load()}`);
writeFileSync(join(root, 'bench-results', 'panel.json'), `${JSON.stringify({ rowsInDataset: ROWS, models: MODELS.length, plainReadMs: read.ms, rows }, null, 2)}\n`);
// Restore the sidecar for the next run.
await write(resultsFile, function* () {
  const lines = readFileSync(resultsFile, 'utf8').split('\n');
  yield `${lines.slice(0, ROWS * MODELS.length).join('\n')}\n`;
});
