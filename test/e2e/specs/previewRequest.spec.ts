import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliJson } from '../harness/cli';
import { Session } from '../harness/session';

/** "Preview Request for Row": the request the row under the cursor would send, as the CLI's preview prints it; nothing is sent. */
describe('PiSAR Review: Preview Request for Row', function () {
  let session: Session;
  const rows = [
    { id: 'q-1', input: 'Why did the robot stop at the door?', rationale: 'A person stood in the doorway.' },
    { id: 'q-2', input: 'Why did the [driver](command:workbench.action.quit) slow down?', rationale: 'The road was icy.' },
  ];

  before(async function () {
    // "gpt" (gpt-4o) is answered by a dated snapshot, as a router would
    session = await Session.start({
      name: 'preview-request', sample: false, files: { 'rows.jsonl': `${rows.map((r) => JSON.stringify(r)).join('\n')}\n` },
      server: { answeredBy: (req) => (req.model === 'gpt-4o' ? 'gpt-4o-2024-08-06' : undefined) },
    });
  });

  after(async function () {
    await session?.close();
  });

  it('opens the request of the row under the cursor for the chosen model, read-only, equal to pisar-review preview --json', async function () {
    const { workbench, page, server } = session;
    await workbench.openFile('rows.jsonl');
    await workbench.editor.goToLine(2);
    await workbench.runCommand('PiSAR Review: Preview Request for Row');
    await workbench.waitQuickInput(/Preview the request of row q-2/);
    await workbench.pickItem(/^gpt$/);
    const tab = page.locator('.tabs-container .tab', { hasText: 'row q-2 to gpt.request.json' });
    await tab.waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => /"schema": "pisar-review\/preview@1"[\s\S]*\}\s*$/.test([...document.querySelectorAll('.editor-group-container.active .monaco-editor .view-lines > .view-line')].sort((a, b) => parseFloat((a as HTMLElement).style.top) - parseFloat((b as HTMLElement).style.top)).map((l) => (l.textContent ?? '').replace(/\u00a0/g, ' ')).join('\n')), undefined, { timeout: 30_000 });
    const shown = JSON.parse(await workbench.editor.visibleText()) as { row: { id: string }; model: { name: string }; request: { url: string; body: { model: string; messages: { role: string; content: unknown }[] } } };
    await session.screenshot('preview-request');

    const cli = cliPreview(session, 'q-2', 'gpt');
    assert.deepEqual(shown, cli, 'the editor shows what the CLI prints');
    assert.equal(shown.request.body.model, 'gpt-4o');
    assert.equal(shown.request.body.messages.at(-1)!.content, rows[1].input, 'the dataset text is in the request as it is');

    // read-only: typing into it changes nothing and VS Code says so
    await workbench.editor.root.click();
    await page.keyboard.type('x');
    await page.locator('.monaco-editor-overlaymessage', { hasText: /read-only/i }).waitFor({ timeout: 10_000 });
    assert.deepEqual(JSON.parse(await workbench.editor.visibleText()), cli);
    assert.equal(server!.requests.length, 0, 'nothing was sent to the model');
  });

  it("the panel's row detail shows each model's request (collapsed) and the model that answered where it is not the one asked", async function () {
    const { workbench } = session;
    await workbench.runCommand('View: Close All Editor Groups');
    await workbench.openFile('rows.jsonl');
    await workbench.runCommand('PiSAR Review: Score File');
    await session.page.locator('.statusbar-item', { hasText: 'PiSAR mean' }).waitFor({ timeout: 120_000 });
    const panel = workbench.panel;
    await panel.open();
    const frame = await panel.frame();
    const row = frame.locator('[data-testid="row"][data-row-id="q-1"]');
    await row.locator('[data-testid="cell-input"]').click();
    await session.page.keyboard.press('Enter');
    await frame.locator('[data-testid="detail"]').waitFor({ state: 'visible', timeout: 15_000 });
    const gptOutput = frame.locator('[data-testid="detail-outputs"] .output[data-model="gpt"]');
    assert.equal(await gptOutput.locator('[data-testid="detail-answered-by"]').innerText(), 'answered by gpt-4o-2024-08-06');
    assert.equal(await frame.locator('[data-testid="detail-outputs"] .output[data-model="ft-qwen"] [data-testid="detail-answered-by"]').count(), 0, 'a model that answered as itself names no other');

    const request = frame.locator('[data-testid="detail-request"][data-model="gpt"]');
    assert.equal(await request.evaluate((d) => (d as HTMLDetailsElement).open), false, 'collapsed until asked');
    await request.locator('summary').click();
    await request.locator('pre').waitFor({ state: 'visible' });
    await session.screenshot('panel-request');
    assert.deepEqual(JSON.parse(await request.locator('pre').innerText()), cliPreview(session, 'q-1', 'gpt'), 'the panel shows what the CLI prints');
  });
});

/** `pisar-review preview --json` of a row, with the workspace's models as the CLI's config. */
function cliPreview(session: Session, rowId: string, model: string): unknown {
  const config = path.join(session.root, 'cli-config.json');
  fs.writeFileSync(config, JSON.stringify({ models: (JSON.parse(fs.readFileSync(path.join(session.workspace, '.vscode', 'settings.json'), 'utf8')) as Record<string, unknown>)['pisarReview.models'] }));
  return cliJson<unknown>(['preview', path.join(session.workspace, 'rows.jsonl'), '--row', rowId, '--model', model, '--config', config, '--json']);
}
