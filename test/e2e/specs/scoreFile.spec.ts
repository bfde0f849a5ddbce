import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { report, type ReportCell, type ReportDocument } from '../harness/cli';
import { darkDefault, isShortNameOf } from '../harness/sample';
import { Session } from '../harness/session';

const THRESHOLD = 0.7;

/** Checks one model's inline text (`gpt 0.64`, `gpt 0.695`, `gpt failed`, `gpt n/a`) against its stored cell. */
function checkCell(where: string, model: string, shown: string | undefined, cell: ReportCell): void {
  if (cell.status === 'missing' || cell.status === 'stale') return;
  assert.ok(shown !== undefined, `${where}: ${model} is shown`);
  if (cell.status === 'failed') return assert.equal(shown, 'failed', `${where}: ${model} failed`);
  if (cell.status !== 'scored') return assert.equal(shown, 'n/a', `${where}: ${model} has no score`);
  // Shown rounded (more digits near the threshold, so a score just below never reads as the threshold).
  assert.match(shown, /^\d\.\d{2,3}$/, `${where}: ${model} shows a score`);
  assert.ok(Math.abs(Number(shown) - cell.score) <= 0.005, `${where}: ${model} shows ${shown}, stored ${cell.score}`);
}

/**
 * `ft-qwen 0.81 · claud…nnet 0.46` -> { ft-qwen: '0.81', claude-sonnet: '0.46' }: long names are shown
 * shortened in the middle, and read back as the model (of `models`) they shorten.
 */
function parseInline(text: string, models: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(' · ')) {
    const at = part.lastIndexOf(' ');
    if (at <= 0) continue;
    const shown = part.slice(0, at);
    const matches = models.filter((m) => isShortNameOf(shown, m));
    out.set(matches.length === 1 ? matches[0] : shown, part.slice(at + 1));
  }
  return out;
}

describe('Scoring the whole file', function () {
  let session: Session;
  let doc: ReportDocument;

  before(async function () {
    session = await Session.start({
      name: 'score-file',
      // "gpt" answers off-topic for every other row (its scores there fall below 0.7); "ft-qwen" restates the input.
      server: { latencyMs: 120, respond: (req) => (req.model === 'gpt-4o' && req.prompt.length % 2 === 0 ? 'banana' : `Rationale: ${req.prompt}`) },
    });
    await session.workbench.openFile('pisar-sample.jsonl');
    await session.workbench.runCommand('PiSAR Review: Score File');
  });

  after(async function () {
    await session?.close();
  });

  it('shows progress while it runs, then says it is done with its counts, and a mean per model in the status bar', async function () {
    const { page, workbench } = session;
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'scoring pisar-sample.jsonl' });
    await toast.waitFor({ state: 'visible', timeout: 15_000 });
    const progressItem = page.locator('.statusbar-item', { hasText: /PiSAR \d+ done · \d+ failed · \d+ left/ });
    await progressItem.waitFor({ state: 'visible', timeout: 15_000 });
    await session.screenshot('progress');
    await page.locator('.statusbar-item', { hasText: 'PiSAR mean' }).waitFor({ timeout: 120_000 });
    await toast.waitFor({ state: 'hidden', timeout: 15_000 });
    // Done, with its counts, which are the sidecar's: every result made, every answer scored, none failed.
    const done = page.locator('.notifications-toasts .notification-toast', { hasText: 'scored pisar-sample.jsonl' });
    await done.waitFor({ state: 'visible', timeout: 30_000 });
    const counts = /(\d+) of (\d+) results: (\d+) scored, (\d+) failed/.exec(await done.innerText());
    assert.ok(counts, `the done message gives counts: ${await done.innerText()}`);
    const stored = report(path.join(session.workspace, 'pisar-sample.jsonl'), THRESHOLD);
    const scoredCells = stored.rows.flatMap((r) => Object.values(r.results)).filter((c) => c.status === 'scored').length;
    assert.equal(counts[1], counts[2], 'every result was made');
    assert.equal(Number(counts[3]), scoredCells, 'as many scored as the sidecar holds');
    assert.equal(counts[4], '0');
    const bar = (await workbench.statusBarTexts()).find((t) => t.includes('PiSAR mean'));
    assert.match(bar ?? '', /ft-qwen \d\.\d\d/);
    assert.match(bar ?? '', /gpt \d\.\d\d/);
  });

  it('draws every row\'s scores inline, as stored in the sidecar, each in its own verdict\'s colour, and marks the rows below 0.7', async function () {
    doc = report(path.join(session.workspace, 'pisar-sample.jsonl'), THRESHOLD);
    assert.equal(doc.rows.length, 44);
    assert.ok(session.server!.stats.requests >= 2 * 44, 'both configured models were called for every row');

    const lines = await session.workbench.editor.decorationsOf(doc.rows.map((r) => r.line));
    const fail = darkDefault('pisarReview.scoreFailForeground');
    const pass = darkDefault('pisarReview.scorePassForeground');
    const below: number[] = [];
    let mixed = 0;
    for (const row of doc.rows) {
      const shown = lines.get(row.line)!;
      const inline = parseInline(shown.before, Object.keys(row.results));
      const stored = Object.entries(row.results).filter(([, c]) => c.status !== 'missing' && c.status !== 'stale');
      assert.deepEqual([...inline.keys()].sort(), stored.map(([m]) => m).sort(), `line ${row.line} (${row.id}) shows a score for each stored model`);
      for (const [model, cell] of stored) checkCell(`line ${row.line} (${row.id})`, model, inline.get(model), cell);
      const isBelow = Object.values(row.results).some((c) => c.status === 'scored' && c.score < THRESHOLD);
      if (isBelow) below.push(row.line);
      // Each model's score in its own colour: one failing model does not turn the passing one red.
      const colours = new Map(shown.segments.map((s) => [parseInline(s.text, Object.keys(row.results)).keys().next().value as string, s.color]));
      for (const [model, cell] of stored) {
        if (cell.status !== 'scored') continue;
        const want = cell.score < THRESHOLD ? fail : pass;
        assert.equal(colours.get(model), want, `line ${row.line} (${row.id}): ${model} ${cell.score} is in the ${cell.score < THRESHOLD ? 'below-threshold' : 'passing'} colour`);
      }
      const verdicts = stored.flatMap(([, c]) => (c.status === 'scored' ? [c.score < THRESHOLD] : []));
      if (new Set(verdicts).size === 2) mixed++;
      assert.equal(shown.gutterIcons.length > 0, isBelow, `line ${row.line} has ${isBelow ? 'a' : 'no'} gutter mark`);
    }
    assert.ok(below.length > 0 && below.length < doc.rows.length, `some rows and not all are below ${THRESHOLD} (${below.length})`);
    assert.ok(mixed > 0, 'some row has one model passing and one failing (so the colours are told apart)');
    await session.workbench.editor.goToLine(below[0]);
    await session.screenshot('inline-scores');
  });

  it('shows the same summary in the panel as the CLI\'s report, and highlights the same rows', async function () {
    const panel = session.workbench.panel;
    await panel.open();
    const frame = await panel.frame();
    await frame.locator('[data-testid="summary"] tbody tr').first().waitFor({ timeout: 15_000 });
    const shown = await panel.summary();
    await session.screenshot('panel-summary');
    const share = (v: number | null) => (v === null ? '–' : `${Math.round(v * 1000) / 10}%`);
    const num = (v: number | null) => (v === null ? '–' : v.toFixed(3));
    assert.deepEqual(
      shown.map((m) => ({ model: m.model, mean: m.mean, median: m.median, share: m.share, failures: m.failures, scored: m.scored.split(' / ')[0] })).sort((a, b) => a.model.localeCompare(b.model)),
      doc.models.map((m) => ({ model: m.model, mean: num(m.mean), median: num(m.median), share: share(m.shareAtOrAbove), failures: String(m.failed), scored: String(m.scored) })).sort((a, b) => a.model.localeCompare(b.model)),
    );

    const rows = await panel.allRows();
    assert.equal(rows.length, doc.rows.length, 'the panel lists every row');
    for (const row of doc.rows) {
      const drawn = rows.find((r) => r.rowId === row.id);
      assert.ok(drawn, `row ${row.id} is in the panel`);
      for (const [model, cell] of Object.entries(row.results)) {
        if (cell.status !== 'scored') continue;
        assert.equal(drawn.scores[model]?.below, cell.score < THRESHOLD, `${row.id} ${model} ${cell.score} is ${cell.score < THRESHOLD ? '' : 'not '}highlighted`);
        const value = Number((drawn.scores[model]?.text ?? '').replace(/[^\d.]/g, ''));
        assert.ok(Math.abs(value - cell.score) < 0.006, `${row.id} ${model}: panel shows ${drawn.scores[model]?.text}, stored ${cell.score}`);
      }
      const isBelow = Object.values(row.results).some((c) => c.status === 'scored' && c.score < THRESHOLD);
      assert.equal(drawn.below, isBelow, `row ${row.id} is ${isBelow ? '' : 'not '}marked below`);
    }
  });
});
