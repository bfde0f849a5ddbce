// A label on a sorted 100,000-row file (x 3 models, 300,000 stored results): how long from the
// panel's label request until the labelled row, with its label, is back in the panel, through the
// product's parts over real files: core's ReviewModel/DatasetReview and the host's PanelController
// (no vscode), driven as the webview drives it:
//   row/annotate request -> the annotation store appends and announces the row -> the review patches
//   that row's state -> the controller patches its sort columns for that row and pushes rows/didChange
//   (the patch message) -> the page holding the row is asked for (rows/page) and carries the label.
//   - now: exactly that (no re-read of any file);
//   - before (side by side, same data): the file watcher's echo re-read the annotations and the review
//     said "anything may have changed": every row state dropped, the sort columns refilled.
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
const { PanelController } = require(out('host', 'panel', 'panelController.js'));

const ROWS = Number(process.env.PISAR_BENCH_ROWS) || 100_000;
const LABELS = Number(process.env.PISAR_BENCH_LABELS) || 7;
const PAGE = 100;
const { file } = await panelDataset(ROWS);
rmSync(annotationsFileFor(file), { force: true });

const review = await DatasetReview.open(file, { threshold: 0.7, models: [] });
const model = new ReviewModel(() => review, () => ({ labels: ['wrong', 'fine'], canScore: true }));
const source = {
  activeDataset: () => model.activeDataset(),
  summary: () => model.summary(),
  rows: (s, c) => model.rows(s, c),
  filterRows: (f) => model.filterRows(f),
  scoreColumns: () => model.scoreColumns(),
  prepareSearch: () => model.prepareSearch(),
  rowDetail: (i) => model.rowDetail(i),
  indexOfRow: (id) => model.indexOfRow(id),
  rowIdAt: (i) => model.rowIdAt(i),
  isScoring: () => false,
  annotate: (i, target, label, note) => model.annotate(i, target, label, note),
};
// The product's controller with its own change delay, wired to the review as src/host/panel/reviewPanel.ts wires it.
const controller = new PanelController(source);
review.onDidChangeRows(({ indexes }) => controller.rowsChanged(indexes));

// The webview's side: messages as they arrive, and requests answered by id.
let nextId = 0;
const waiting = new Map();
const watchers = new Set();
let generation = 0;
controller.attach((m) => {
  if (m.type === 'response') waiting.get(m.id)?.(m);
  if (m.type === 'rows/didChange') generation = m.generation;
  for (const w of watchers) w(m);
});
const request = async (type, params) => {
  const id = ++nextId;
  const answered = new Promise((resolve) => waiting.set(id, resolve));
  await controller.handle({ type, id, params });
  const m = await answered;
  waiting.delete(id);
  if (!m.ok) throw new Error(`${type}: ${m.error}`);
  return m.result;
};
const next = (type) => new Promise((resolve) => {
  const w = (m) => {
    if (m.type !== type) return;
    watchers.delete(w);
    resolve(m);
  };
  watchers.add(w);
});
const query = { sort: { column: 'input', descending: false }, filter: {} };
const shown = next('rows/didChange');
await controller.handle({ type: 'webview/ready', query });
await shown;
// The panel is open, sorted by input, its first page on screen: the rows a reviewer labels.
const firstPage = (await request('rows/page', { generation, start: 0, count: PAGE })).rows;
await controller.settled();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function labels(echo, label) {
  const times = [];
  const parts = [];
  for (let k = 0; k < LABELS; k++) {
    const row = firstPage[(k * 7 + (echo ? 3 : 0)) % firstPage.length];
    const patched = next('rows/didChange');
    const t0 = performance.now();
    if (echo) {
      // The way before: the watcher's event for our own append re-read the sidecar and said "anything may have changed".
      await model.annotate(model.indexOfRow(row.id), { kind: 'reference' }, label);
      await review.annotations.reload();
      review.changed();
    } else {
      await request('row/annotate', { rowId: row.id, target: 'reference', label });
    }
    const change = await patched;
    const t1 = performance.now();
    // The webview asks again for the page on screen; the row must be in it, labelled.
    const page = await request('rows/page', { generation: change.generation, start: 0, count: PAGE });
    const t2 = performance.now();
    const shownRow = page.rows.find((r) => r.id === row.id);
    if (change.total !== ROWS) throw new Error('the panel lost rows');
    if (!shownRow?.annotations.some((a) => a.target === 'reference' && a.label === label)) throw new Error(`row ${row.id} is not shown labelled ${label}`);
    times.push(t2 - t0);
    parts.push({ patchMs: t1 - t0, pageMs: t2 - t1 });
    await controller.settled();
  }
  return { times, parts };
}

const { times: now, parts: nowParts } = await labels(false, 'wrong');
const { times: before, parts: beforeParts } = await labels(true, 'fine');
const part = (parts, key) => median(parts.map((p) => p[key]));
const breakdown = (parts) => `to rows/didChange ${part(parts, 'patchMs').toFixed(0)}, page ${part(parts, 'pageMs').toFixed(0)} ms`;
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const result = { rows: ROWS, labels: LABELS, load, goalMs: 150, nowMedianMs: median(now), beforeMedianMs: median(before), nowMs: now, beforeMs: before, nowParts, beforeParts };
console.log(`${ROWS} rows, sorted by input; ${LABELS} labels each way from the panel's request to the labelled row back in its page (median):`);
console.log(`  now (store event patches the row)      ${result.nowMedianMs.toFixed(0).padStart(6)} ms   (${breakdown(nowParts)}; goal <= 150 ms)`);
console.log(`  before (watcher echo, full re-read)     ${result.beforeMedianMs.toFixed(0).padStart(6)} ms   (${breakdown(beforeParts)})`);
console.log(`  load average ${load}`);
controller.dispose();
writeFileSync(join(root, 'bench-results', 'label.json'), `${JSON.stringify(result, null, 2)}\n`);
rmSync(annotationsFileFor(file), { force: true });
