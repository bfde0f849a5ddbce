import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame } from 'playwright-core';
import { cliJson } from '../harness/cli';
import { cliEntry, repoRoot, tinyModel } from '../harness/paths';
import { Session } from '../harness/session';
import { until } from '../harness/wait';

/** The parts of `report --json`'s statistics the spec compares with the screen. */
interface Estimate {
  value: number;
  low: number;
  high: number;
}
interface StatisticsDoc {
  statistics: {
    models: { model: string; n: number; mean: Estimate | null; median: Estimate | null; shareAtLeast: (Estimate & { wilson: { low: number; high: number } }) | null }[];
    pairs: { list: { a: string; b: string; verdict: string }[] };
    calibration: { metrics: { metric: string; status: string; labelled: number; suggested: { threshold: number } | null }[] };
  };
  rows: { id: string; results: Record<string, { status: string; score?: number }> }[];
}

/** The statistics section's interval cells of one model, as data attributes (the exact numbers). */
async function shownIntervals(frame: Frame, model: string): Promise<Record<string, { value: string | null; low: string | null; high: string | null }>> {
  return frame.locator(`[data-testid="stats-intervals"] tr[data-model="${model}"] td[data-field]`).evaluateAll((cells) =>
    Object.fromEntries(cells.map((c) => [(c as HTMLElement).dataset.field!, { value: c.getAttribute('data-value'), low: c.getAttribute('data-low'), high: c.getAttribute('data-high') }])),
  );
}

/**
 * The statistics section in a real VS Code: the sample scored by the CLI (its precomputed outputs,
 * the project's tiny model), 24 outputs labelled by a reviewer; the panel must show the same
 * intervals, verdicts and calibration as `pisar-review report --json`, draw the calibration curve,
 * set the threshold to the suggestion, and sort rows closest to the threshold first.
 */
describe('Statistics in the panel: intervals, calibration, review order', function () {
  let session: Session;
  let dataset: string;
  let doc: StatisticsDoc;

  before(async function () {
    session = await Session.start({ name: 'statistics', server: false });
    dataset = path.join(session.workspace, 'pisar-sample.jsonl');
    const cli = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [cliEntry, 'score', dataset, '--embedding-model', tinyModel, '--cache-dir', path.join(session.root, 'cli-cache')], { cwd: repoRoot }, (_err, _stdout, stderr) =>
        resolve({ code: child.exitCode ?? -1, stderr }),
      );
    });
    assert.ok(cli.code === 0 || cli.code === 3, `the CLI scored the sample's precomputed outputs (exit ${cli.code}): ${cli.stderr}`);
    // A reviewer's labels on 24 outputs, anchored to the rows by the hashes the CLI stored: the higher
    // half of each model's scores "fine", the lower half "hallucinated", two of each flipped.
    const stored = fs
      .readFileSync(path.join(session.workspace, 'pisar-sample.pisar-results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { rowId: string; rowHash: string; model: string; score?: number })
      .filter((r) => typeof r.score === 'number' && r.model !== 'claude-sonnet');
    const chosen = stored.sort((a, b) => a.score! - b.score!).filter((_, i, all) => i % Math.max(1, Math.floor(all.length / 24)) === 0).slice(0, 24);
    assert.equal(chosen.length, 24, 'the sample has enough scored outputs to label');
    const events = chosen.map((r, i) => ({
      v: 1, op: 'set', id: `label-${i}`, at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      rowId: r.rowId, rowHash: r.rowHash, target: 'output', model: r.model,
      label: (i < 12) !== (i === 5 || i === 18) ? 'hallucinated' : 'fine',
    }));
    fs.writeFileSync(path.join(session.workspace, 'pisar-sample.pisar-annotations.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    doc = cliJson<StatisticsDoc>(['report', dataset, '--json', '--rows']);
    await session.workbench.openFile('pisar-sample.jsonl');
  });

  after(async function () {
    await session?.close();
  });

  it('shows each model\'s 95% intervals and the paired verdicts exactly as report --json computes them', async function () {
    const frame = await session.workbench.panel.open();
    await session.workbench.panel.maximize();
    await frame.locator('[data-testid="stats-section"]').click({ position: { x: 40, y: 10 } });
    await frame.locator('[data-testid="stats-intervals"] tbody tr').first().waitFor({ timeout: 30_000 });
    for (const m of doc.statistics.models.filter((x) => x.n > 0)) {
      const shown = await shownIntervals(frame, m.model);
      assert.deepEqual(shown.mean, { value: String(m.mean!.value), low: String(m.mean!.low), high: String(m.mean!.high) }, `${m.model} mean and its interval`);
      assert.deepEqual(shown.median, { value: String(m.median!.value), low: String(m.median!.low), high: String(m.median!.high) }, `${m.model} median`);
      assert.deepEqual(shown.wilson, { value: null, low: String(m.shareAtLeast!.wilson.low), high: String(m.shareAtLeast!.wilson.high) }, `${m.model} Wilson interval`);
      const text = await frame.locator(`[data-testid="stats-intervals"] tr[data-model="${m.model}"] td[data-field="mean"]`).innerText();
      assert.equal(text, `${m.mean!.value.toFixed(3)} [${m.mean!.low.toFixed(3)}, ${m.mean!.high.toFixed(3)}]`, 'the interval is written out for a person');
    }
    const verdicts = await frame.locator('[data-testid="stats-pairs"] li').allInnerTexts();
    assert.deepEqual(verdicts, doc.statistics.pairs.list.map((p) => `${p.a} vs ${p.b}: ${p.verdict}`));
    await session.screenshot('intervals');
  });

  it('compares two models row by row in the panel as `compare <file> --models a,b` does', async function () {
    const frame = await session.workbench.panel.frame();
    const a = await frame.locator('[data-testid="compare-a"]').inputValue();
    const b = await frame.locator('[data-testid="compare-b"]').inputValue();
    assert.ok(a && b && a !== b, `two models are offered (${a}, ${b})`);
    await frame.locator('[data-testid="compare-run"]').click();
    const counts = frame.locator('[data-testid="compare-counts"]');
    await counts.waitFor({ timeout: 30_000 });
    const cli = cliJson<{ paired: number; improved: number; regressed: number; unchanged: number; verdict: string; rows: { id: string; difference: number; change: string }[] }>(['compare', dataset, '--models', `${a},${b}`, '--json']);
    const shown = await counts.evaluate((p) => ({ ...(p as HTMLElement).dataset }));
    assert.deepEqual(shown, { testid: 'compare-counts', paired: String(cli.paired), improved: String(cli.improved), regressed: String(cli.regressed), unchanged: String(cli.unchanged) });
    assert.ok((await counts.innerText()).includes(cli.verdict), 'the same verdict');
    const largest = cli.rows.filter((r) => r.change !== 'unchanged').sort((x, y) => Math.abs(y.difference) - Math.abs(x.difference)).slice(0, 3).map((r) => r.id);
    const rows = await frame.locator('[data-testid="compare-row"]').evaluateAll((els) => els.slice(0, 3).map((e) => (e as HTMLElement).dataset.id));
    assert.deepEqual(rows, largest, 'the largest changes first');
    await session.screenshot('compare');
  });

  it('draws the calibration curve, and "Use … as the threshold" sets the setting to the suggestion', async function () {
    const frame = await session.workbench.panel.frame();
    const cosine = doc.statistics.calibration.metrics.find((m) => m.metric === 'cosine')!;
    assert.equal(cosine.status, 'ready', 'the CLI finds 24 labels enough');
    assert.equal(cosine.labelled, 24);
    const block = frame.locator('[data-testid="calibration-cosine"]');
    assert.equal(await block.getAttribute('data-status'), 'ready');
    const series = await frame.locator('[data-testid="calibration-curve-cosine"] polyline').evaluateAll((lines) => lines.map((l) => l.getAttribute('data-series')));
    assert.deepEqual(series, ['precision', 'recall', 'f1'], 'precision, recall and F1 are drawn');
    assert.ok(await frame.locator('[data-testid="calibration-curve-cosine"] line.suggested').count(), 'the suggestion is marked on the curve');
    const button = frame.locator('[data-testid="use-threshold"]');
    const suggested = Math.round(cosine.suggested!.threshold * 1000) / 1000;
    assert.equal(await button.getAttribute('data-value'), String(suggested));
    await session.screenshot('calibration');
    await button.click();
    const settingsFile = path.join(session.workspace, '.vscode', 'settings.json');
    const setting = await until(session, 'the threshold setting to change', async () => (JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>)['pisarReview.threshold'], (v) => v !== undefined);
    assert.equal(setting, suggested);
    // The panel follows the new threshold: the summary's caption and the statistics are recomputed.
    await frame.locator('[data-testid="summary"] caption', { hasText: `threshold ${suggested}` }).waitFor({ timeout: 30_000 });
    await session.screenshot('threshold-set');
  });

  it('"Closest to the threshold" lists first the row whose score is nearest the threshold', async function () {
    const frame = await session.workbench.panel.frame();
    const threshold = Math.round(doc.statistics.calibration.metrics[0].suggested!.threshold * 1000) / 1000;
    const distance = (r: StatisticsDoc['rows'][number]) => Math.min(...Object.values(r.results).filter((c) => c.status === 'scored').map((c) => Math.abs(c.score! - threshold)));
    const expected = doc.rows.filter((r) => Number.isFinite(distance(r))).sort((a, b) => distance(a) - distance(b)).slice(0, 3).map((r) => r.id);
    await frame.locator('[data-testid="order-near-threshold"]').click();
    const shown = await until(
      session,
      'the rows in review order',
      async () => (await session.workbench.panel.visibleRows()).slice(0, 3).map((r) => r.rowId),
      (ids) => JSON.stringify(ids) === JSON.stringify(expected),
    );
    assert.deepEqual(shown, expected);
    await session.screenshot('review-order');
  });
});
