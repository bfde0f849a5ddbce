import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FakeOpenAIServer } from '../../support/openaiServer';
import { report } from '../harness/cli';
import { Session } from '../harness/session';

const KEY = `sk-origin-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;

/** Polls `ready` until it holds or `timeoutMs` passes. */
async function until(ready: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const carriesKey = (server: FakeOpenAIServer) => [...server.stats.authorizations].some((a) => a.includes(KEY));

/**
 * A key saved for one endpoint, then a workspace setting that moves the model to another origin (another
 * port on 127.0.0.1): the key goes there only after the user says so.
 */
describe('API key bound to its origin', function () {
  let session: Session;
  let other: FakeOpenAIServer;

  before(async function () {
    session = await Session.start({ name: 'keyOrigin', server: { latencyMs: 5 }, models: [{ name: 'gpt', model: 'gpt-4o' }] });
    other = await FakeOpenAIServer.start({ latencyMs: 5 });
    await session.workbench.openFile('pisar-sample.jsonl');
  });

  after(async function () {
    await session?.close();
    await other?.close();
  });

  it('sends the key to a moved baseUrl only after "Send for This Session"', async function () {
    const { workbench, page, server, workspace } = session;
    await workbench.runCommand('PiSAR Review: Set API Key for a Model…');
    await workbench.waitQuickInput('API key for gpt');
    await workbench.typeIntoInputBox(KEY);
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'API key for "gpt" stored' }).waitFor({ timeout: 15_000 });
    await workbench.clearNotifications();

    // The workspace moves the model to another origin: same host, another port.
    const settingsFile = path.join(workspace, '.vscode', 'settings.json');
    const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as { 'pisarReview.models': { baseUrl: string }[] };
    settings['pisarReview.models'][0].baseUrl = other.url;
    fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
    // The key prompt names the origin the extension now sees: wait until that is the new one.
    await until(async () => {
      await workbench.runCommand('PiSAR Review: Set API Key for a Model…');
      const prompt = page.locator('.quick-input-widget').filter({ hasText: 'API key for gpt' });
      await prompt.waitFor({ state: 'visible', timeout: 15_000 });
      const text = await prompt.innerText();
      await workbench.closeQuickInput();
      return text.includes(`127.0.0.1:${other.port}`);
    }, 'the workspace settings change to reach the extension', 60_000);

    const before = server!.stats.requests;
    const line = report(path.join(workspace, 'pisar-sample.jsonl')).rows.find((r) => r.id === 'pisar-0001')!.line;
    await workbench.editor.goToLine(line);
    await workbench.runCommand('PiSAR Review: Score Row at Cursor');
    const dialog = page.locator('.monaco-dialog-box', { hasText: 'was saved for' });
    // Whichever comes first: the question, or (the bug this guards against) the key at the new origin.
    await until(async () => carriesKey(other) || (await dialog.isVisible()), 'the origin prompt');
    assert.ok(!carriesKey(other), 'the key reached the new origin without the user being asked');
    const question = await dialog.innerText();
    await session.screenshot('origin-prompt');
    assert.ok(question.includes(`http://127.0.0.1:${server!.port}`), `the prompt names the bound origin: ${question}`);
    assert.ok(question.includes(`http://127.0.0.1:${other.port}`), `the prompt names the new origin: ${question}`);
    // While the question is open (the positive signal: it is on screen), nothing reached the new origin.
    assert.ok(await dialog.isVisible(), 'the question is still open');
    assert.equal(other.stats.requests, 0, 'the new origin got no request while the user was asked');
    assert.ok(!carriesKey(other), 'the new origin never saw the key before the answer');
    assert.equal(server!.stats.requests, before, 'the old origin is not called either: the model moved');

    await dialog.locator('.monaco-button', { hasText: 'Send for This Session' }).click();
    await until(() => carriesKey(other), 'the call with the key at the new origin');
    await session.screenshot('origin-sent');
    assert.ok(other.stats.authorizations.has(`Bearer ${KEY}`), 'after the answer, the key goes to the new origin');
  });
});
