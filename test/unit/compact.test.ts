import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { CompactDocument } from '../../src/cli/commands/compact';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { AnnotationStore, annotationsFileFor } from '../../src/core/store/annotations';
import { ResultsStore, resultsFileFor, type StoredResult } from '../../src/core/store/results';
import { RunLock } from '../../src/core/store/runLock';
import { runCliCaptured } from '../support/cli';
import { jsonl, makeTempDir, repoRoot } from '../support/files';

const CLI = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');

async function lines(file: string): Promise<number> {
  return (await fsp.readFile(file, 'utf8')).split('\n').filter(Boolean).length;
}

async function sha256(file: string): Promise<string> {
  return crypto.createHash('sha256').update(await fsp.readFile(file)).digest('hex');
}

/** Every view's input and output: report --json --rows, report csv, inspect --json, and the stores as the editor reads them. */
async function views(data: string): Promise<unknown> {
  const report = await runCliCaptured(['report', data, '--json', '--rows']);
  assert.equal(report.code, 0, report.stderr);
  const csv = await runCliCaptured(['report', data, '--format', 'csv']);
  assert.equal(csv.code, 0, csv.stderr);
  const inspect = await runCliCaptured(['inspect', data, '--json']);
  assert.equal(inspect.code, 0, inspect.stderr);
  const results = await ResultsStore.open(data);
  const annotations = await AnnotationStore.forDataset(data);
  return {
    report: JSON.parse(report.stdout) as unknown,
    csv: csv.stdout,
    inspect: JSON.parse(inspect.stdout) as unknown,
    models: results.models(),
    latest: [...results.latestResults()],
    problems: results.problems,
    annotations: annotations.all(),
    corrections: annotations.corrections(),
    adjudications: annotations.adjudications(),
  };
}

describe('pisar-review compact: sidecars rewritten to the lines that still decide something', function () {
  this.timeout(180_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('pisar-compact-')));
  afterEach(() => tmp.cleanup());

  const rows = (edited: boolean) => Array.from({ length: 6 }, (_, i) => ({
    id: `r${i}`, input: `question ${i}`,
    // r3 and r4 are edited after they were scored.
    rationale: edited && (i === 3 || i === 4) ? `a corrected reason ${i}` : `because ${i}`,
  }));

  /** A dataset whose sidecars hold superseded, stale, failed and annotated lines, and lines a union merge doubled. */
  async function messySidecars(): Promise<string> {
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl(rows(false)));
    let dataset = await Dataset.open(data);
    await dataset.close();
    const results = await ResultsStore.open(data);
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const ok = (i: number, model: string, score: number, s: number): StoredResult => ({ rowId: `r${i}`, rowHash: dataset.rowHash(i), model, source: 'called', output: `out ${i} ${model} ${score}`, score, scorer: 'e', at: at(s) });
    const fail = (i: number, model: string, s: number): StoredResult => ({ rowId: `r${i}`, rowHash: dataset.rowHash(i), model, source: 'called', error: { kind: 'auth', message: 'HTTP 401: invalid key', status: 401 }, promptHash: 'p', at: at(s) });
    // m2 first appears on r5, before m1 has rows 1-4: the model order must survive.
    await results.append([ok(0, 'm1', 0.9, 1), ok(5, 'm2', 0.4, 2), fail(1, 'm1', 3), fail(2, 'm1', 4), ok(3, 'm1', 0.7, 5), ok(4, 'm1', 0.6, 6)]);
    await results.append([ok(0, 'm1', 0.8, 7), fail(1, 'm1', 8), fail(1, 'm1', 9), fail(2, 'm1', 10)]);
    await results.append([ok(1, 'm1', 0.75, 11), ok(0, 'm2', 0.3, 12)]);
    const annotations = await AnnotationStore.forDataset(data);
    const a = await annotations.add({ rowId: 'r0', rowHash: dataset.rowHash(0), target: { kind: 'output', model: 'm1' }, label: 'bad', reviewer: 'ann@example.org' }, new Date(at(20)));
    await annotations.edit(a.id, { label: 'fine', note: 'on second reading' }, new Date(at(21)), 'bob@example.org');
    const gone = await annotations.add({ rowId: 'r1', rowHash: dataset.rowHash(1), target: { kind: 'reference' }, label: 'wrong-reference', reviewer: 'ann@example.org' }, new Date(at(22)));
    await annotations.remove(gone.id, new Date(at(23)));
    await annotations.add({ rowId: 'r2', rowHash: dataset.rowHash(2), target: { kind: 'output', model: 'm1' }, label: 'bad', reviewer: 'bob@example.org' }, new Date(at(24)));
    await annotations.add({ rowId: 'r0', rowHash: dataset.rowHash(0), target: { kind: 'output', model: 'm1' }, label: 'bad', reviewer: 'bob@example.org' }, new Date(at(25)));
    await annotations.adjudicate({ rowId: 'r0', rowHash: dataset.rowHash(0), target: { kind: 'output', model: 'm1' }, label: 'fine', reviewer: 'lead@example.org' }, new Date(at(26)));
    await annotations.correct({ rowId: 'r5', rowHash: dataset.rowHash(5), reference: 'because five, really', reason: 'typo', reviewer: 'ann@example.org' }, new Date(at(27)));
    // Two branches merged with merge=union: every annotation line twice.
    const annotationsFile = annotationsFileFor(data);
    await fsp.appendFile(annotationsFile, await fsp.readFile(annotationsFile));
    // r3 and r4 edited; r4 scored again (its old line is stale by hash), r3 not (its latest is stale: shown as stale).
    await fsp.writeFile(data, jsonl(rows(true)));
    dataset = await Dataset.open(data);
    await dataset.close();
    await (await ResultsStore.open(data)).append([ok(4, 'm1', 0.65, 30)]);
    return data;
  }

  it('every view reads the same numbers before and after; the JSON document counts lines and bytes before and after', async () => {
    const data = await messySidecars();
    const resultsFile = resultsFileFor(data);
    const annotationsFile = annotationsFileFor(data);
    const before = await views(data);
    const report = (before as { report: { models: { model: string; stale: number; failed: number }[] } }).report;
    assert.deepEqual(report.models.map((m) => [m.model, m.stale, m.failed]), [['m1', 1, 1], ['m2', 0, 0]], 'the sidecar holds a stale and a failed current result');
    assert.equal(await lines(resultsFile), 13);
    assert.equal(await lines(annotationsFile), 16);
    const resultBytes = (await fsp.stat(resultsFile)).size;
    const annotationBytes = (await fsp.stat(annotationsFile)).size;

    const out = await runCliCaptured(['compact', data, '--json']);
    assert.equal(out.code, 0, out.stderr);
    const doc = JSON.parse(out.stdout) as CompactDocument;
    assert.equal(doc.schema, 'pisar-review/compact@1');
    const [results, annotations, batches] = doc.sidecars;
    assert.deepEqual(
      { kind: results.kind, rewritten: results.rewritten, before: results.before, after: results.after, dropped: results.dropped },
      { kind: 'results', rewritten: true, before: { lines: 13, bytes: resultBytes }, after: { lines: 7, bytes: (await fsp.stat(resultsFile)).size }, dropped: { superseded: 6, staleByHash: 1, repeatedFailures: 3 } },
    );
    assert.deepEqual(
      { rewritten: annotations.rewritten, before: annotations.before, after: annotations.after, dropped: annotations.dropped },
      { rewritten: true, before: { lines: 16, bytes: annotationBytes }, after: { lines: 8, bytes: (await fsp.stat(annotationsFile)).size }, dropped: { duplicates: 8 } },
    );
    assert.equal(batches.exists, false);
    assert.deepEqual(doc.before, { lines: 29, bytes: resultBytes + annotationBytes });
    assert.equal(doc.after.lines, 15);
    assert.equal(await lines(resultsFile), 7, 'one line per (row, model)');

    assert.deepEqual(await views(data), before, 'report, inspect and the stores read the same after compact');

    // Compacting again finds nothing to drop and leaves the files alone.
    const hash = await sha256(resultsFile);
    const again = JSON.parse((await runCliCaptured(['compact', data, '--json'])).stdout) as CompactDocument;
    assert.deepEqual(again.sidecars.map((s) => s.rewritten), [false, false, false]);
    assert.equal(await sha256(resultsFile), hash);
  });

  it('--drop-history keeps only the events the standing labels are folded from; the labels, their authors and times read the same', async () => {
    const data = await messySidecars();
    const before = await views(data);
    const out = await runCliCaptured(['compact', data, '--drop-history', '--json']);
    assert.equal(out.code, 0, out.stderr);
    const doc = JSON.parse(out.stdout) as CompactDocument;
    const annotations = doc.sidecars.find((s) => s.kind === 'annotations')!;
    // 16 lines: 8 doubled; of the 8 events, the removed label's set and remove go (the edited label keeps its first and last set).
    assert.deepEqual(annotations.dropped, { duplicates: 8, history: 2 });
    assert.equal(await lines(annotationsFileFor(data)), 6);
    assert.deepEqual(await views(data), before);
  });

  it('compacts one sidecar when given its name, keeps an unreadable line as it was, and refuses no file', async () => {
    const data = await messySidecars();
    const resultsFile = resultsFileFor(data);
    await fsp.appendFile(resultsFile, 'this line is not JSON\n');
    const annotationsHash = await sha256(annotationsFileFor(data));
    const out = await runCliCaptured(['compact', resultsFile, '--json']);
    assert.equal(out.code, 0, out.stderr);
    const doc = JSON.parse(out.stdout) as CompactDocument;
    assert.deepEqual(doc.sidecars.map((s) => s.kind), ['results']);
    assert.equal(doc.sidecars[0].unreadableKept, 1);
    assert.match(await fsp.readFile(resultsFile, 'utf8'), /\nthis line is not JSON\n$/);
    assert.equal(await sha256(annotationsFileFor(data)), annotationsHash, 'the annotations sidecar was not touched');
    const human = await runCliCaptured(['compact', data]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /data\.pisar-results\.jsonl: nothing to drop \(8 lines\)/);
  });

  it('holds the run lock: while a run holds it, compact waits, and past --lock-timeout changes nothing and says why', async () => {
    const data = await messySidecars();
    const resultsFile = resultsFileFor(data);
    const hash = await sha256(resultsFile);
    const lock = await RunLock.acquire(resultsFile);
    try {
      const out = await runCliCaptured(['compact', data, '--lock-timeout', '0.3']);
      assert.equal(out.code, 2);
      assert.match(out.stderr, /still holds .*\.lock.*no sidecar was changed/);
      assert.equal(await sha256(resultsFile), hash);
    } finally {
      await lock.release();
    }
    assert.equal((await runCliCaptured(['compact', data])).code, 0);
    assert.notEqual(await sha256(resultsFile), hash);
  });

  it('score, judge and compact refuse a --lock-timeout that is not seconds >= 0 before they open anything', async () => {
    const data = await messySidecars();
    const resultsFile = resultsFileFor(data);
    const hash = await sha256(resultsFile);
    for (const command of ['score', 'judge', 'compact']) {
      for (const value of ['soon', '-1', ' ']) {
        const out = await runCliCaptured([command, data, `--lock-timeout=${value}`]);
        assert.equal(out.code, 2, `${command} --lock-timeout "${value}": ${out.stderr}`);
        assert.match(out.stderr, new RegExp(`--lock-timeout: expected seconds \\(a number >= 0\\), got "${value}"`), command);
        assert.match(out.stderr, new RegExp(`pisar-review ${command} `), `${command} prints its usage`);
      }
    }
    assert.equal(await sha256(resultsFile), hash, 'no sidecar was touched');
  });

  it('a SIGKILL while the new copy is written leaves the old sidecar whole and readable; the next compact removes the leftover and finishes', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    const n = 8_000;
    await fsp.writeFile(data, jsonl(Array.from({ length: n }, (_, i) => ({ id: `r${i}`, input: `question ${i}`, rationale: `because ${i}` }))));
    const dataset = await Dataset.open(data);
    await dataset.close();
    const results = await ResultsStore.open(data);
    const record = (i: number, round: number): StoredResult => ({ rowId: `r${i}`, rowHash: dataset.rowHash(i), model: 'm1', source: 'called', output: `an answer of some length for row ${i}, round ${round} `.repeat(3), score: round === 0 ? 0.5 : 0.6, scorer: 'e', at: new Date(0).toISOString() });
    for (const round of [0, 1]) await results.append(Array.from({ length: n }, (_, i) => record(i, round)));
    const resultsFile = resultsFileFor(data);
    const hash = await sha256(resultsFile);
    const before = await views(data);

    const child = spawn(process.execPath, [CLI, 'compact', data], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PISAR_REVIEW_TEST_COMPACT_PAUSE_BYTES: String(1 << 20) } });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      // The positive signal: the child says it has written part of the new copy (and waits there).
      while (!/paused after writing \d+ bytes/.test(err)) {
        if (child.exitCode !== null) assert.fail(`compact finished before it could be killed: ${err}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(await exited, 'SIGKILL');
    const leftover = /of (.+)\n/.exec(err)![1];

    assert.equal(await sha256(resultsFile), hash, 'the old sidecar is byte for byte as it was');
    assert.deepEqual(await views(data), before, 'and every view reads it as before');
    assert.ok((await fsp.stat(leftover)).size >= 1 << 20, 'the new copy was partly written beside it');

    const out = await runCliCaptured(['compact', data, '--json']);
    assert.equal(out.code, 0, out.stderr);
    const doc = JSON.parse(out.stdout) as CompactDocument;
    assert.deepEqual(doc.leftoversRemoved, [leftover]);
    await assert.rejects(fsp.stat(leftover), { code: 'ENOENT' });
    assert.equal(doc.sidecars[0].after.lines, n);
    assert.deepEqual(await views(data), before);
  });
});
