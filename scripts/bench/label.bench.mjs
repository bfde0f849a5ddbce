// A label on a sorted 100,000-row file (x 3 models, 300,000 stored results): how long from the
// annotate call until the panel's data is current (the rows' order for the sort, and the summary),
// through the product's review model (core ReviewModel/DatasetReview over real files) and the
// panel's query code (computeOrder over SortColumns, patched as the panel's refresh does):
//   - now: the annotation store announces the row it wrote; the review patches that row's state;
//     the sort columns re-read that row only;
//   - before (side by side, same data): the file watcher's echo re-read the annotations, the review
//     dropped every row state ("anything may have changed") and the panel refilled its sort columns.
// Usage: node scripts/bench/label.bench.mjs   (needs out/: npm run bench). PISAR_BENCH_ROWS=n for another size.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { panelDataset } from './panelData.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const out = (...p) => join(root, 'out', 'src', ...p);
const { DatasetReview } = require(out('core', 'review', 'datasetReview.js'));
const { ReviewModel } = require(out('core', 'review', 'reviewModel.js'));
const { annotationsFileFor } = require(out('core', 'store', 'annotations.js'));
const { computeOrder, SortColumns, TextMatches } = require(out('host', 'panel', 'rowQuery.js'));

const ROWS = Number(process.env.PISAR_BENCH_ROWS) || 100_000;
const LABELS = Number(process.env.PISAR_BENCH_LABELS) || 7;
const { file } = await panelDataset(ROWS);
rmSync(annotationsFileFor(file), { force: true });

const review = await DatasetReview.open(file, { threshold: 0.7, models: [] });
const model = new ReviewModel(() => review, () => ({ labels: ['wrong'], canScore: true }));
const source = { rows: (s, c) => model.rows(s, c), filterRows: (f) => model.filterRows(f), scoreColumns: () => model.scoreColumns() };
const columns = new SortColumns();
const text = new TextMatches();
// What the panel's refresh does with a change: patch the rows named, or drop everything.
review.onDidChangeRows(({ indexes }) => {
  if (indexes) columns.markChanged(indexes);
  else {
    columns.invalidate();
    text.clear();
  }
});
const query = { sort: { column: 'input', descending: false }, filter: {} };
const panelData = async () => {
  // The snapshot (dataset view and summary) first, as the panel's refresh reads it, then the order.
  const t0 = performance.now();
  const view = model.activeDataset();
  const summary = model.summary();
  const t1 = performance.now();
  const order = await computeOrder(source, view, query, columns, text);
  return { order, summary, summaryMs: t1 - t0, orderMs: performance.now() - t1 };
}
review.rowStates();
await panelData(); // the panel is open, sorted by input: its sort columns are filled

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function labels(echo) {
  const times = [];
  const parts = [];
  for (let k = 0; k < LABELS; k++) {
    const index = (k * 9973 + (echo ? 5 : 0)) % ROWS;
    const t0 = performance.now();
    await model.annotate(index, { kind: 'reference' }, 'wrong');
    if (echo) {
      // The way before: the watcher's event for our own append re-read the sidecar and said "anything may have changed".
      await review.annotations.reload();
      review.changed();
    }
    const t1 = performance.now();
    const { order, orderMs, summaryMs } = await panelData();
    times.push(performance.now() - t0);
    parts.push({ writeAndPatchMs: t1 - t0, orderMs, summaryMs });
    if (order.length !== ROWS) throw new Error('the panel lost rows');
  }
  return { times, parts };
}

const { times: now, parts: nowParts } = await labels(false);
const { times: before, parts: beforeParts } = await labels(true);
const part = (parts, key) => median(parts.map((p) => p[key]));
const breakdown = (parts) => `write+patch ${part(parts, 'writeAndPatchMs').toFixed(0)}, order ${part(parts, 'orderMs').toFixed(0)}, summary ${part(parts, 'summaryMs').toFixed(0)} ms`;
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const result = { rows: ROWS, labels: LABELS, load, nowMedianMs: median(now), beforeMedianMs: median(before), nowMs: now, beforeMs: before, nowParts, beforeParts };
console.log(`${ROWS} rows, sorted by input; ${LABELS} labels each way (median):`);
console.log(`  now (store event patches the row)      ${result.nowMedianMs.toFixed(0).padStart(6)} ms   (${breakdown(nowParts)})`);
console.log(`  before (watcher echo, full re-read)     ${result.beforeMedianMs.toFixed(0).padStart(6)} ms   (${breakdown(beforeParts)})`);
console.log(`  load average ${load}`);
writeFileSync(join(root, 'bench-results', 'label.json'), `${JSON.stringify(result, null, 2)}\n`);
rmSync(annotationsFileFor(file), { force: true });
