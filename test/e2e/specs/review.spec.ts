import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { report } from '../harness/cli';
import { sampleRows } from '../harness/sample';
import { Session } from '../harness/session';

/** The reviewer's day on a scored file: re-score one edited row, annotate, reload, hostile text. */
describe('Reviewing a scored file', function () {
  let session: Session;
  let dataset: string;

  before(async function () {
    session = await Session.start({ name: 'review', server: { latencyMs: 20 } });
    dataset = path.join(session.workspace, 'pisar-sample.jsonl');
    await session.workbench.openFile('pisar-sample.jsonl');
    await session.workbench.runCommand('PiSAR Review: Score File');
    await session.page.locator('.statusbar-item', { hasText: 'PiSAR mean' }).waitFor({ timeout: 120_000 });
  });

  after(async function () {
    await session?.close();
  });

  it('scores one row through its CodeLens after its reference is edited, calling the models for that row only', async function () {
    const { workbench, server } = session;
    const rows = sampleRows();
    const target = rows.find((r) => r.id === 'pisar-0004')!;
    const line = report(dataset).rows.find((r) => r.id === 'pisar-0004')!.line;

    // A new reference, and a changed input so the models must be asked again (answers are cached by request).
    const edited = {
      ...target,
      input: `${String(target.input)} The user had asked for a direct flight.`,
      rationale: 'The first two results have a stopover; the third is the cheapest direct flight, which is what the user asked for.',
    };
    await workbench.editor.replaceLine(line, JSON.stringify(edited));
    // The edit makes the stored scores stale: the line says so before anything is called.
    await waitForLine(session, line, (d) => d.before.includes('stale'));
    const before = server!.requests.length;

    await workbench.editor.clickCodeLens(line, 'Score row');
    const shown = await waitForLine(session, line, (d) => d.before !== '' && !d.before.includes('stale'));
    await session.screenshot('codelens-row-scored');

    const calls = server!.requests.slice(before);
    const otherRows = calls.filter((c) => c.prompt !== edited.input);
    assert.deepEqual(otherRows.map((c) => c.prompt.slice(0, 40)), [], 'no other row was sent to a model');
    assert.deepEqual(calls.map((c) => c.model).sort(), ['ft-qwen3-vl-8b', 'gpt-4o'], 'one call per configured model, for the edited row');
    assert.match(shown.before, /ft-qwen \d\.\d\d/);
    assert.match(shown.before, /gpt \d\.\d\d/);
  });

  it('keeps a score and an annotation across a window reload', async function () {
    const { workbench } = session;
    const line = report(dataset).rows.find((r) => r.id === 'pisar-0012')!.line;
    await workbench.editor.clickCodeLens(line, 'Annotate…');
    await workbench.pickItem('Reference rationale');
    await workbench.pickItem(/^wrong$/);
    await workbench.typeIntoInputBox('names a shortcut the input does not support');
    const annotated = await waitForLine(session, line, (d) => d.after.includes('reference: wrong'));
    assert.match(annotated.before, /ft-qwen \d\.\d\d/);

    await workbench.reload();
    await workbench.editor.waitVisible();
    const restored = await waitForLine(session, line, (d) => d.after !== '' && d.before !== '', 60_000);
    await session.screenshot('annotation-after-reload');
    assert.equal(restored.before, annotated.before, 'the scores are the same after the reload');
    assert.match(restored.after, /reference: wrong/);
  });

  it('shows a row holding HTML and script as text in the hover and the panel, and runs none of it', async function () {
    const { workbench, page } = session;
    const row = sampleRows().find((r) => r.id === 'pisar-0008')!;
    assert.match(String(row.input), /<img src=x onerror=alert\(1\)>/);
    const line = report(dataset).rows.find((r) => r.id === 'pisar-0008')!.line;

    const hover = await workbench.editor.hoverLine(line);
    const hoverText = await hover.innerText();
    await session.screenshot('xss-hover');
    assert.ok(hoverText.includes("<script>alert('x')</script>"), 'the reference\'s <script> shows as text in the hover');
    assert.equal(await hover.locator('script, img[src="x"]').count(), 0);
    await page.keyboard.press('Escape');

    const panel = workbench.panel;
    await panel.open();
    const frame = await panel.frame();
    await panel.maximize();
    // The cursor is on the row's line (the hover put it there): the panel selects that row.
    const drawn = frame.locator('[data-testid="row"][data-row-id="pisar-0008"]');
    await drawn.waitFor({ timeout: 15_000 });
    const input = (await drawn.locator('[data-testid="cell-input"]').textContent()) ?? '';
    assert.ok(input.includes('<img src=x onerror=alert(1)>'), `the input shows the markup as text: ${input}`);
    await drawn.click();
    await page.keyboard.press('Enter');
    const detail = frame.locator('[data-testid="detail"]');
    await detail.waitFor({ timeout: 10_000 });
    const detailText = await detail.innerText();
    await session.screenshot('xss-panel');
    assert.ok(detailText.includes("<script>alert('x')</script>"), 'the detail shows the reference\'s <script> as text');
    assert.equal(await frame.locator('img[src="x"]').count(), 0, 'no <img> was created from the row');
    const scriptsFromRow = await frame.locator('script').evaluateAll((scripts) => scripts.filter((s) => (s.textContent ?? '').includes('alert')).length);
    assert.equal(scriptsFromRow, 0, 'no <script> was created from the row');
    assert.deepEqual(session.dialogs, [], 'nothing ran');
  });
});

async function waitForLine(session: Session, line: number, ready: (d: Awaited<ReturnType<Session['workbench']['editor']['visibleDecorations']>>[number]) => boolean, timeoutMs = 30_000) {
  const editor = session.workbench.editor;
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = (await editor.decorationsOf([line])).get(line)!;
    if (ready(last)) return last;
    await session.page.waitForTimeout(300);
  }
  throw new Error(`line ${line} never got as expected; last seen: ${JSON.stringify(last)}`);
}
