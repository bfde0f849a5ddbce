import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extensionsDir } from '../harness/paths';
import { Session } from '../harness/session';

const KEY = `sk-scan-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
/** Rows whose calls fail at a server that quotes the request's Authorization header back. */
const FAILING_INPUT = /blind crest|speed test/;

/** Files under `dirs` whose bytes hold `secret` (as UTF-8 or UTF-16LE, the encodings stores use). */
function filesHolding(dirs: readonly string[], secret: string): string[] {
  const needles = [Buffer.from(secret, 'utf8'), Buffer.from(secret, 'utf16le')];
  return dirs.flatMap((d) => Session.filesUnder(d)).filter((f) => {
    const bytes = fs.readFileSync(f);
    return needles.some((n) => bytes.includes(n));
  });
}

/**
 * After a real run with a key set, including calls that failed at a server which echoes the key in its
 * errors: no file the extension or VS Code wrote for it holds the key (sidecars, logs, global and
 * workspace storage with webview state, an exported report).
 */
describe('Secrets scan after a scoring run', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({
      name: 'secretsScan',
      // Row failures (400) are stored; a refused model (403) is also logged and shown.
      server: { requireKey: KEY, latencyMs: 5, echoCredentials: true, faultFor: (req) => (req.model === 'gpt-denied' ? '403' : FAILING_INPUT.test(req.prompt) ? '400' : undefined) },
      models: [{ name: 'gpt', model: 'gpt-4o' }, { name: 'denied', model: 'gpt-denied' }],
    });
    await session.workbench.openFile('pisar-sample.jsonl');
  });

  after(async function () {
    await session?.close();
  });

  it('finds the key in no file after scoring, viewing the panel, logging and exporting a report', async function () {
    const { workbench, page, server, workspace, userDataDir } = session;
    for (const model of ['gpt', 'denied']) {
      await workbench.runCommand('PiSAR Review: Set API Key for a Model…');
      await workbench.pickItem(new RegExp(`^${model}$`));
      await workbench.waitQuickInput(`API key for ${model}`);
      await workbench.typeIntoInputBox(KEY);
      await page.locator('.notifications-toasts .notification-toast', { hasText: `API key for "${model}" stored` }).waitFor({ timeout: 15_000 });
    }

    await workbench.runCommand('PiSAR Review: Score File');
    await page.locator('.statusbar-item', { hasText: /PiSAR mean.*\bgpt \d\.\d\d/ }).waitFor({ timeout: 120_000 });
    assert.ok(server!.stats.authorizations.has(`Bearer ${KEY}`), 'the calls carried the key');
    assert.ok((server!.stats.faults['400'] ?? 0) >= 2, 'the server failed some rows, quoting the key');
    assert.ok((server!.stats.faults['403'] ?? 0) >= 1, 'the server refused a model, quoting the key');

    // The panel (webview state) with the failed row's detail open.
    await workbench.panel.open();
    const frame = await workbench.panel.frame();
    await frame.locator('[data-testid="row"]').first().waitFor({ timeout: 30_000 });

    // An exported report holds the failure messages too.
    await workbench.runCommand('PiSAR Review: Export Review Report (Summary and Rows in the Panel)…');
    await workbench.pickItem('JSONL');
    const save = page.locator('.quick-input-widget input.input');
    await save.waitFor({ state: 'visible', timeout: 15_000 });
    // The simple save dialog fills in the default path a moment after it opens.
    await page.waitForFunction(() => (document.querySelector('.quick-input-widget input.input') as HTMLInputElement | null)?.value.endsWith('pisar-sample.pisar-report.jsonl'), undefined, { timeout: 15_000 });
    await save.press('Enter');
    const exported = path.join(workspace, 'pisar-sample.pisar-report.jsonl');
    const deadline = Date.now() + 30_000;
    while (!fs.existsSync(exported) && Date.now() < deadline) await page.waitForTimeout(250);
    if (!fs.existsSync(exported)) await session.screenshot('export-missing');
    assert.ok(fs.existsSync(exported), 'the report was exported');

    // The log, flushed to its file on disk.
    await workbench.runCommand('PiSAR Review: Show Log');
    // The positive signal: the log file on disk holds the run's lines (then the scan below covers them).
    const logFiles = () => Session.filesUnder(path.join(session.root)).filter((f) => /PiSAR Review\.log$/.test(f));
    const logTextNow = () => logFiles().map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    const logDeadline = Date.now() + 30_000;
    while (!(/Scored .*pisar-sample\.jsonl/.test(logTextNow()) && /denied: HTTP 403/.test(logTextNow())) && Date.now() < logDeadline) await page.waitForTimeout(250);
    await session.screenshot('secrets-scan');
    const logs = logFiles();
    assert.ok(logs.length > 0, 'the extension\'s log file exists (so the scan covers it)');
    const logText = logTextNow();
    assert.match(logText, /Scored .*pisar-sample\.jsonl/, 'the log recorded the run');
    assert.match(logText, /denied: HTTP 403/, 'the log recorded the refused model and the server\'s words');

    // VS Code persists state (webview state, storage) when the window unloads: reload, and wait for the new
    // window to show the stored scores again (the positive signal that the old one was torn down) before the scan.
    await workbench.reload();
    await page.locator('.statusbar-item', { hasText: /PiSAR mean.*\bgpt \d\.\d\d/ }).waitFor({ timeout: 120_000 });
    const scanned = [userDataDir, workspace, path.join(session.root, 'home'), extensionsDir];
    const storage = Session.filesUnder(userDataDir).filter((f) => /globalStorage|workspaceStorage|logs/.test(f));
    assert.ok(storage.length > 0, 'the profile holds storage and log files to scan');
    assert.deepEqual(filesHolding(scanned, KEY), [], 'no file of the workspace, the profile (storage, logs) or the extension holds the key');
    // The failures were kept, with the server's quote masked: the scan above looked at real text.
    const sidecar = fs.readFileSync(path.join(workspace, 'pisar-sample.pisar-results.jsonl'), 'utf8');
    assert.match(sidecar, /Authorization: (Bearer )?\[redacted\]/, 'the failures are stored, the quote masked');
    assert.match(fs.readFileSync(exported, 'utf8'), /\[redacted\]/, 'the report carries the masked failures');
  });
});
