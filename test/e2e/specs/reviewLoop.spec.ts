import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame } from 'playwright-core';
import { report, type ReportCell } from '../harness/cli';
import { Session } from '../harness/session';
import { until } from '../harness/wait';

const ROWS = [
  { id: 'r1', input: 'Why did the user cancel the plan?', reference: 'The price went up last month.' },
  { id: 'r2', input: 'Why was the refund late?', reference: 'The bank was slow.' },
  { id: 'r3', input: 'Why did onboarding fail?', reference: 'The steps were unclear.' },
];
const FILE = 'loop.jsonl';

function score(cell: ReportCell | undefined): number | undefined {
  return cell?.status === 'scored' ? cell.score : undefined;
}

async function testText(frame: Frame, testid: string): Promise<string> {
  return ((await frame.locator(`[data-testid="${testid}"]`).first().textContent()) ?? '').trim();
}

async function labelsOf(frame: Frame, rowId: string): Promise<string> {
  const row = frame.locator(`[data-testid="row"][data-row-id="${rowId}"]`);
  if ((await row.count()) === 0) return '<no row>';
  return ((await row.locator('.labels, [data-count]').last().textContent()) ?? '').trim();
}

/**
 * The review loop in the real VS Code: a corrected reference re-scores its row only, with no model
 * call; two reviewers label blind, the disagreement filter finds the row and an adjudication settles
 * it; an export whose selection holds a hold-out row is refused and writes nothing.
 */
describe('Review loop: correct, label blind, adjudicate, export', function () {
  let session: Session;
  let dataset: string;
  let settingsFile: string;
  let settings: Record<string, unknown>;

  const setSettings = (more: Record<string, unknown>) => {
    settings = { ...settings, ...more };
    fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  };

  before(async function () {
    session = await Session.start({
      name: 'review-loop',
      sample: false,
      files: { [FILE]: ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n', 'eval-ids.txt': 'r2\n' },
      models: [{ name: 'ft-qwen', model: 'ft-qwen3-vl-8b' }],
      server: { latencyMs: 5 },
    });
    dataset = path.join(session.workspace, FILE);
    settingsFile = path.join(session.workspace, '.vscode', 'settings.json');
    settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    await session.workbench.openNewWorkspaceFile(FILE);
    await session.workbench.runCommand('PiSAR Review: Score File');
    await session.page.locator('.notifications-toasts .notification-toast', { hasText: `scored ${FILE}` }).waitFor({ timeout: 150_000 });
  });

  after(async function () {
    await session?.close();
  });

  it('corrects a reference: only that row\'s scores change, with no model call', async function () {
    const { workbench } = session;
    const before = report(dataset);
    const calls = session.server!.stats.requests;
    assert.ok(calls >= 3, 'Score File called the model for each row');
    await workbench.editor.goToLine(2);
    await workbench.runCommand('PiSAR Review: Correct Reference at Cursor…');
    await workbench.pickItem('Type the corrected reference…');
    await workbench.waitQuickInput(/Corrected reference of r2/);
    await workbench.typeIntoInputBox('A bank holiday held the refund.');
    await workbench.waitQuickInput(/Why is the reference corrected/);
    await workbench.typeIntoInputBox('the gold named the wrong cause');
    await session.page.locator('.notifications-toasts .notification-toast', { hasText: 'corrected the reference of row r2' }).waitFor({ timeout: 60_000 });
    const after = report(dataset);
    const at = (doc: typeof before, id: string) => score(doc.rows.find((r) => r.id === id)?.results['ft-qwen']);
    assert.equal(at(after, 'r1'), at(before, 'r1'));
    assert.equal(at(after, 'r3'), at(before, 'r3'));
    assert.ok(at(before, 'r2') !== undefined && at(after, 'r2') !== undefined);
    assert.notEqual(at(after, 'r2'), at(before, 'r2'), 'r2 is scored against the corrected reference');
    assert.equal(session.server!.stats.requests, calls, 'no model call');
  });

  it('two reviewers label blind: the second sees none of the first\'s labels; the disagreement filter shows the row and an adjudication settles it', async function () {
    const { page, workbench } = session;
    setSettings({ 'pisarReview.reviewer': 'ana@example.org', 'pisarReview.review.blind': true });
    const frame = await workbench.panel.open();
    await until(session, 'ana reviewing blind', () => testText(frame, 'reviewer-name'), (t) => t === 'Reviewer: ana@example.org');
    const r1 = frame.locator('[data-testid="row"][data-row-id="r1"]');
    await r1.waitFor({ timeout: 15_000 });
    assert.equal(await workbench.panel.scoreHeaders().then((h) => h.length), 0, 'blind: no score column');
    await r1.click();
    await page.keyboard.press('1'); // wrong, on the reference
    await until(session, "ana's label", () => labelsOf(frame, 'r1'), (t) => t.includes('wrong'));

    setSettings({ 'pisarReview.reviewer': 'bo@example.org' });
    await until(session, 'bo reviewing', () => testText(frame, 'reviewer-name'), (t) => t === 'Reviewer: bo@example.org');
    await until(session, "ana's label gone from bo's view", () => labelsOf(frame, 'r1'), (t) => t === '');
    await session.screenshot('review-loop-blind');
    const panelText = await frame.locator('body').innerText();
    assert.ok(!panelText.includes('ana@example.org') && !/wrong/.test(await labelsOf(frame, 'r1')), 'nothing of ana\'s in the panel');
    assert.ok(!/\b0\.\d{2,3}\b/.test(panelText), `no score in the blind panel: ${panelText.slice(0, 400)}`);
    const hover = (await (await workbench.editor.hoverLine(1)).innerText()).replace(/\s+/g, ' ');
    assert.match(hover, /score hidden while labelling \(blind mode\)/);
    assert.ok(!hover.includes('ana@example.org') && !/✎ wrong/.test(hover), `the hover shows nothing of ana's: ${hover}`);
    await page.keyboard.press('Escape');
    // Annotate Row at Cursor… shows bo neither ana's label (as "marked") nor a score.
    await workbench.editor.goToLine(1);
    await workbench.runCommand('PiSAR Review: Annotate Row at Cursor…');
    await workbench.waitQuickInput(/Annotate row r1/);
    const items = (await page.locator('.quick-input-widget .monaco-list-row').allInnerTexts()).join(' | ').replace(/\s+/g, ' ');
    assert.match(items, /Reference rationale/);
    assert.match(items, /Output of ft-qwen/);
    assert.ok(!/marked|score \d/.test(items), `nothing of ana's and no score in the quick pick: ${items}`);
    await workbench.closeQuickInput();
    await r1.click();
    await page.keyboard.press('5'); // fine
    await until(session, "bo's label", () => labelsOf(frame, 'r1'), (t) => t.includes('fine'));

    // Blind mode off from the panel: both labels, the disagreement, the filter, the adjudication.
    await frame.locator('[data-testid="blind-toggle"]').click();
    await until(session, 'both labels', () => labelsOf(frame, 'r1'), (t) => t.includes('wrong') && t.includes('fine') && t.startsWith('≠'));
    await frame.locator('[data-testid="filter-disagree"]').click();
    await until(session, 'the disagreement filter', () => testText(frame, 'row-count'), (t) => t === '1 of 3 rows');
    assert.deepEqual((await workbench.panel.visibleRows()).map((r) => r.rowId), ['r1']);
    await r1.click();
    await page.keyboard.press('Enter');
    const settle = frame.locator('[data-testid="detail"] [data-testid="adjudicate"][data-label="wrong"]');
    await settle.waitFor({ timeout: 15_000 });
    await settle.click();
    await until(session, 'the row settled out of the filter', () => testText(frame, 'row-count'), (t) => t === '0 of 3 rows');
    const events = fs.readFileSync(path.join(session.workspace, 'loop.pisar-annotations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const adjudication = events.find((e) => e.op === 'adjudicate');
    assert.deepEqual(adjudication && [adjudication.rowId, adjudication.label, adjudication.reviewer], ['r1', 'wrong', 'bo@example.org']);
    assert.deepEqual(events.filter((e) => e.op === 'set').map((e) => `${e.reviewer}=${e.label}`).sort(), ['ana@example.org=wrong', 'bo@example.org=fine']);
    await frame.locator('[data-testid="filter-disagree"]').click();
    await until(session, 'every row again', () => testText(frame, 'row-count'), (t) => t === '3 rows');
  });

  it('refuses an export whose selection holds a hold-out row, listing it and writing nothing', async function () {
    const { page, workbench } = session;
    await workbench.editor.goToLine(1);
    await workbench.runCommand('PiSAR Review: Export Training Data…');
    await workbench.pickItem('openai-chat');
    await workbench.waitQuickInput(/which rows/);
    await page.keyboard.press('Enter'); // no filter: every row
    await workbench.waitQuickInput(/Hold-out/);
    await workbench.pickItem('Hold out the rows of eval-ids.txt');
    await workbench.waitQuickInput(/file to write/);
    await page.keyboard.press('Enter');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'export refused' });
    await toast.waitFor({ timeout: 60_000 });
    const message = (await toast.innerText()).replace(/\s+/g, ' ');
    assert.match(message, /nothing was written: 1 selected row\(s\) belong to the hold-out/);
    assert.match(message, /r2 \(line 2: /);
    assert.equal(fs.existsSync(path.join(session.workspace, 'loop.openai-chat.jsonl')), false);
    assert.equal(fs.existsSync(path.join(session.workspace, 'loop.openai-chat.manifest.json')), false);
  });
});
