import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extensionsDir } from '../harness/paths';
import { Session } from '../harness/session';

const KEY = `sk-e2e-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;

/** Files under `dirs` whose bytes hold `secret` (as UTF-8 or UTF-16LE, the encodings stores use). */
function filesHolding(dirs: readonly string[], secret: string): string[] {
  const needles = [Buffer.from(secret, 'utf8'), Buffer.from(secret, 'utf16le')];
  return dirs.flatMap((d) => Session.filesUnder(d)).filter((f) => {
    const bytes = fs.readFileSync(f);
    return needles.some((n) => bytes.includes(n));
  });
}

describe('API keys', function () {
  let session: Session;

  before(async function () {
    // The endpoint wants a key; until one is set, every call gets 401.
    session = await Session.start({ name: 'keys', server: { requireKey: KEY, latencyMs: 20 }, models: [{ name: 'gpt', model: 'gpt-4o' }] });
    await session.workbench.openFile('pisar-sample.jsonl');
  });

  after(async function () {
    await session?.close();
  });

  it('reports a rejected key as one clear error naming the model, not one per row', async function () {
    const { workbench, page, server } = session;
    await workbench.runCommand('PiSAR Review: Score File');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'gpt' }).filter({ has: page.locator('.codicon-error') });
    await toast.first().waitFor({ timeout: 60_000 });
    await page.locator('.statusbar-item', { hasText: /PiSAR (mean|not scored)/ }).waitFor({ timeout: 60_000 });
    await session.screenshot('401-error');
    assert.ok((server!.stats.faults['401'] ?? 0) >= 1, 'the server refused the calls');

    const all = await workbench.allNotifications();
    const errors = all.filter((n) => n.severity === 'error');
    assert.equal(errors.length, 1, `one error, not a flood: ${JSON.stringify(all)}`);
    assert.match(errors[0].message, /\bgpt\b/, 'the error names the model');
    assert.match(errors[0].message, /401|key|unauthori[sz]ed/i, 'the error says the key was refused');
    assert.ok(all.length <= 2, `no flood of notifications: ${JSON.stringify(all)}`);
    await workbench.clearNotifications();
  });

  it('stores a key set through the command in SecretStorage only: calls carry it, no file holds it', async function () {
    const { workbench, page, server } = session;
    await workbench.runCommand('PiSAR Review: Set API Key for a Model…');
    await workbench.waitQuickInput('API key for gpt');
    await workbench.typeIntoInputBox(KEY);
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'API key for "gpt" stored' }).waitFor({ timeout: 15_000 });

    const before = server!.stats.succeeded;
    await workbench.runCommand('PiSAR Review: Score File');
    await page.locator('.statusbar-item', { hasText: /PiSAR mean.*\bgpt \d\.\d\d/ }).waitFor({ timeout: 120_000 });
    await session.screenshot('key-set-scored');
    assert.ok(server!.stats.succeeded > before, 'calls went through with the stored key');
    assert.ok(server!.stats.authorizations.has(`Bearer ${KEY}`));

    const holding = filesHolding([session.userDataDir, session.workspace, path.join(session.root, 'home'), extensionsDir], KEY);
    assert.deepEqual(holding, [], 'no file of the profile, the workspace or the extension holds the key');
  });
});
