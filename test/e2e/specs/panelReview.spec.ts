import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Frame } from 'playwright-core';
import { report, type ReportDocument } from '../harness/cli';
import { sampleRows } from '../harness/sample';
import { Session } from '../harness/session';
import { until } from '../harness/wait';

const THRESHOLD = 0.7;


/** The editor's cursor line as the workbench status bar shows it ("Ln 12, Col 1"), or undefined when not shown. */
async function statusBarLine(session: Session): Promise<number | undefined> {
  const item = (await session.workbench.statusBarTexts()).find((t) => /^Ln \d+, Col \d+/.test(t));
  return item === undefined ? undefined : Number(/^Ln (\d+)/.exec(item)![1]);
}

/** Line numbers the editor renders now (what is on screen). */
async function renderedEditorLines(session: Session): Promise<number[]> {
  return session.workbench.editor.root.locator('.margin-view-overlays .line-numbers').evaluateAll((els) => els.map((e) => Number(e.textContent?.trim())).filter((n) => n > 0));
}

/** Total rows in the panel's current view, as its row counter says. */
async function viewTotal(frame: Frame): Promise<number> {
  return Number(await frame.locator('[data-testid="row-count"]').getAttribute('data-total'));
}

/** Chooses an entry of the panel's "Show rows" filter through its drop-down, as a person does. */
async function chooseBelowFilter(frame: Frame, label: string): Promise<void> {
  const select = frame.locator('[data-testid="filter-below"]');
  await select.click();
  await select.locator('li[role="option"]', { hasText: label }).first().click();
}

/** Ids of the loaded rows wholly inside the panel's viewport, top to bottom. */
async function fullyVisibleIds(frame: Frame): Promise<string[]> {
  return frame.locator('[data-testid="rows-viewport"]').evaluate((viewport) => {
    const box = viewport.getBoundingClientRect();
    return [...viewport.querySelectorAll<HTMLElement>('[data-testid="row"][data-row-id]:not([hidden])')]
      .filter((r) => r.getBoundingClientRect().top >= box.top - 1 && r.getBoundingClientRect().bottom <= box.bottom + 1)
      .sort((a, b) => Number(a.dataset.position) - Number(b.dataset.position))
      .map((r) => r.dataset.rowId ?? '');
  });
}

/** Ids of the rows marked selected in the panel. */
async function selectedIds(frame: Frame): Promise<string[]> {
  return frame.locator('[data-testid="row"][aria-selected="true"]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.rowId ?? ''));
}

/** The panel and the editor side by side in the real workbench: listing, filtering, and following each other. */
describe('Reviewing rows in the panel', function () {
  let session: Session;
  let doc: ReportDocument;

  before(async function () {
    session = await Session.start({
      name: 'panel-review',
      // As in the scoring spec: "gpt" answers off-topic for every other row (below 0.7), "ft-qwen" restates the input.
      server: { latencyMs: 20, respond: (req) => (req.model === 'gpt-4o' && req.prompt.length % 2 === 0 ? 'banana' : `Rationale: ${req.prompt}`) },
    });
    await session.workbench.openFile('pisar-sample.jsonl');
    await session.workbench.runCommand('PiSAR Review: Score File');
    await session.page.locator('.statusbar-item', { hasText: 'PiSAR mean' }).waitFor({ timeout: 150_000 });
    doc = report(path.join(session.workspace, 'pisar-sample.jsonl'), THRESHOLD);
  });

  after(async function () {
    await session?.close();
  });

  it('lists every valid row of the sample, in file order, with its line', async function () {
    const fileIds = sampleRows().map((r) => String(r.id));
    assert.equal(doc.rows.length, fileIds.length, 'the CLI and the file agree on the valid rows');
    const panel = session.workbench.panel;
    const frame = await panel.open();
    await frame.locator('[data-testid="row"][data-row-id]').first().waitFor({ timeout: 30_000 });
    await until(session, 'the row counter to show every row', () => viewTotal(frame), (n) => n === fileIds.length);

    const rows = await panel.allRows();
    await session.screenshot('all-rows');
    assert.equal(rows.length, fileIds.length, 'the panel lists one row per valid row of the file');
    assert.deepEqual(rows.slice(0, 5).map((r) => r.rowId), fileIds.slice(0, 5), 'the first rows are the file\'s first rows');
    assert.deepEqual(rows.map((r) => r.rowId), doc.rows.map((r) => r.id), 'every row, in file order, under the ids the CLI reports');
    // A repeated id is told apart by its line (`pisar-0011#L35`); every other id is the file's own.
    rows.forEach((r, i) => assert.equal(r.rowId.replace(`#L${doc.rows[i].line}`, ''), fileIds[i], `row ${i + 1} is the file's row ${fileIds[i]}`));
    for (const row of doc.rows) assert.equal(rows.find((r) => r.rowId === row.id)?.line.trim(), String(row.line), `${row.id} shows its line`);
  });

  it('keeps exactly the rows below 0.7 for some model when "below threshold (any model)" is chosen', async function () {
    const expected = doc.rows.filter((r) => Object.values(r.results).some((c) => c.status === 'scored' && c.score < THRESHOLD)).map((r) => r.id);
    assert.ok(expected.length > 0 && expected.length < doc.rows.length, `some rows and not all are below ${THRESHOLD} (${expected.length})`);
    const panel = session.workbench.panel;
    const frame = await panel.frame();
    await chooseBelowFilter(frame, 'Below threshold (any model)');
    // Waits for the filter to apply, not for the expected count: a wrong count fails below, on what is shown.
    await until(session, 'the filtered view', () => viewTotal(frame), (n) => n < doc.rows.length);

    const rows = await panel.allRows();
    await session.screenshot('below-any');
    assert.equal(await viewTotal(frame), rows.length, 'the row counter counts the rows listed');
    assert.deepEqual(rows.map((r) => r.rowId).sort(), [...expected].sort(), 'the filter keeps exactly the rows stored below the threshold');
    assert.match(await frame.locator('[data-testid="row-count"]').innerText(), new RegExp(`^${expected.length} of ${doc.rows.length} rows`));
    assert.ok(rows.every((r) => r.below), 'every row left is marked below');
  });

  it('shows a row\'s line in the editor when the row is clicked', async function () {
    const { workbench } = session;
    const frame = await workbench.panel.frame();
    await chooseBelowFilter(frame, 'All rows');
    await until(session, 'the unfiltered view', () => viewTotal(frame), (n) => n === doc.rows.length);
    // Back from the maximised panel (allRows) so the editor is on screen beside it.
    if (!(await workbench.editor.root.isVisible())) await workbench.runCommand('View: Toggle Maximized Panel');
    await workbench.editor.root.waitFor({ state: 'visible', timeout: 15_000 });
    const start = doc.rows[1];
    await workbench.editor.goToLine(start.line);
    await until(session, `the cursor on line ${start.line}`, () => statusBarLine(session), (l) => l === start.line);
    // The panel follows the cursor to that row first: scroll it only after that, or the follow would scroll it back.
    await until(session, `${start.id} selected in the panel`, () => selectedIds(frame), (ids) => ids[0] === start.id);

    // A row at the end of the file, shown in the panel but off the editor's screen (the editor is at the top).
    const viewport = frame.locator('[data-testid="rows-viewport"]');
    await viewport.evaluate((v) => (v.scrollTop = v.scrollHeight));
    const lastId = doc.rows[doc.rows.length - 1].id;
    const shownIds = await until(session, 'the panel scrolled to its last row', () => fullyVisibleIds(frame), (ids) => ids.includes(lastId));
    const target = doc.rows.find((r) => r.id === shownIds[0])!;
    const renderedBefore = await renderedEditorLines(session);
    assert.ok(!renderedBefore.includes(target.line), `line ${target.line} (${target.id}) is off the editor's screen before the click`);

    await frame.locator(`[data-testid="row"][data-row-id="${target.id}"] [data-testid="cell-input"]`).click();
    const line = await until(session, `the cursor on line ${target.line}`, () => statusBarLine(session), (l) => l === target.line);
    const rendered = await renderedEditorLines(session);
    await session.screenshot('row-click-reveals-line');
    assert.equal(line, target.line, `the status bar shows Ln ${target.line} for ${target.id}`);
    assert.ok(rendered.includes(target.line), `the editor shows line ${target.line}`);
    assert.deepEqual(await selectedIds(frame), [target.id], 'the clicked row is the selected one');
  });

  it('selects the row under the editor cursor when the cursor moves to another row', async function () {
    const { workbench } = session;
    const frame = await workbench.panel.frame();
    const viewport = frame.locator('[data-testid="rows-viewport"]');
    await viewport.evaluate((v) => (v.scrollTop = 0));
    // A row in the middle of the file: neither selected nor in the panel's view, so the panel must find and scroll to it.
    const target = doc.rows[Math.floor(doc.rows.length / 2)];
    await until(session, 'the panel scrolled to its top', () => fullyVisibleIds(frame), (ids) => ids[0] === doc.rows[0].id);
    assert.ok(!(await fullyVisibleIds(frame)).includes(target.id), `${target.id} is out of the panel's view beforehand`);
    assert.notDeepEqual(await selectedIds(frame), [target.id], 'the target row is not selected beforehand');

    await workbench.editor.goToLine(target.line, 3);
    await until(session, `the cursor on line ${target.line}`, () => statusBarLine(session), (l) => l === target.line);
    const selected = await until(session, `${target.id} selected in the panel`, () => selectedIds(frame), (ids) => ids.length === 1 && ids[0] === target.id);
    const inView = (await fullyVisibleIds(frame)).includes(target.id);
    await session.screenshot('cursor-selects-row');
    assert.deepEqual(selected, [target.id], `moving the cursor to line ${target.line} selects ${target.id}`);
    assert.ok(inView, `${target.id} is scrolled into the panel's view`);
  });
});
