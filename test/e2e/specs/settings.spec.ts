import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Session } from '../harness/session';
import { until } from '../harness/wait';

/** Settings the one settings parser refuses: told once, with the fix, and the default is what runs. */
describe('Settings that cannot be used', function () {
  let session: Session;
  let settingsFile: string;
  let settings: Record<string, unknown>;

  before(async function () {
    session = await Session.start({
      name: 'bad-settings',
      models: [{ name: 'ft-qwen', model: 'ft-qwen3-vl-8b' }],
      server: { latencyMs: 5 },
      settings: { 'pisarReview.threshold': 2, 'pisarReview.fieldMapping': { gold: 'rationale' } },
    });
    settingsFile = path.join(session.workspace, '.vscode', 'settings.json');
    settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
  });

  after(async function () {
    await session?.close();
  });

  it('are told once each with the fix and what is used instead, logged, and the default is in force', async function () {
    const { workbench, page } = session;
    await workbench.openFile('pisar-sample.jsonl');
    const told = page.locator('.notifications-toasts .notification-toast', { hasText: 'pisarReview.threshold: must be a number from -1 to 1' });
    await told.waitFor({ timeout: 30_000 });
    const text = (await told.innerText()).replace(/\s+/g, ' ');
    await session.screenshot('told');
    assert.match(text, /got 2\. Set it to the score an output must reach to pass, e\.g\. 0\.7\. In force until then: the default 0\.7\./);
    assert.match(text, /and 1 more: see the log/);
    assert.match(text, /Open Settings/);

    // VS Code writes the log file after the notification may show: wait for the file and the lines in it.
    const readLog = async (): Promise<string> => {
      const logFile = Session.filesUnder(path.join(session.userDataDir, 'logs')).find((f) => f.endsWith(`${path.sep}PiSAR Review.log`));
      return logFile === undefined ? '' : fs.readFileSync(logFile, 'utf8');
    };
    const log = await until(session, 'both problems in the extension\'s log', readLog, (t) => t.includes('fieldMapping.gold'));
    assert.match(log, /Setting not used: pisarReview\.threshold: must be a number from -1 to 1/);
    assert.match(log, /Setting not used: pisarReview\.fieldMapping\.gold: "gold" is not a role\. Roles are id, input, image, reference, outputs\./);

    // The default threshold runs, not the refused 2.
    await workbench.editor.goToLine(1);
    const hover = await workbench.editor.hoverLine(1);
    assert.match(await hover.innerText(), /threshold 0\.7\b/);
    await page.keyboard.press('Escape');

    // Another change re-reads the settings: what was told is not told again; a new problem is.
    await workbench.clearNotifications();
    const lenses = workbench.editor.root.locator('.codelens-decoration', { hasText: 'Score row' });
    await lenses.first().waitFor({ timeout: 30_000 });
    fs.writeFileSync(settingsFile, JSON.stringify({ ...settings, 'pisarReview.codeLens.enabled': false }, null, 2));
    await until(session, 'the settings to be read again (the lenses go)', () => lenses.count(), (n) => n === 0);
    fs.writeFileSync(settingsFile, JSON.stringify({ ...settings, 'pisarReview.embedding.dtype': 'q4' }, null, 2));
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'pisarReview.embedding.dtype: must be "fp32" or "q8"; got "q4"' }).waitFor({ timeout: 30_000 });
    const all = await workbench.allNotifications();
    assert.deepEqual(all.filter((n) => n.message.includes('pisarReview.')).map((n) => [n.severity, n.message.replace(/\s+/g, ' ')]), [
      ['warning', 'PiSAR Review: pisarReview.embedding.dtype: must be "fp32" or "q8"; got "q4". "fp32" is full precision; "q8" 8-bit weights (faster, scores differ by about 0.01). In force until then: "fp32".'],
    ], 'only the new problem is told');
  });

  it('a models list with a bad model says so where a model is needed, not "no models are configured"', async function () {
    const { workbench, page } = session;
    await workbench.clearNotifications();
    const models = settings['pisarReview.models'] as Record<string, unknown>[];
    fs.writeFileSync(settingsFile, JSON.stringify({ ...settings, 'pisarReview.models': [{ ...models[0], baseURL: models[0].baseUrl }] }, null, 2));
    const typo = 'pisarReview.models[0].baseURL: is not a known model setting. Did you mean "baseUrl"?';
    await page.locator('.notifications-toasts .notification-toast', { hasText: `${typo} In force until then: no model: none is called.` }).waitFor({ timeout: 30_000 });
    for (const command of ['PiSAR Review: Check Models', 'PiSAR Review: Score File']) {
      await workbench.clearNotifications();
      await workbench.openFile('pisar-sample.jsonl');
      await workbench.runCommand(command);
      const error = page.locator('.notifications-toasts .notification-toast', { hasText: `the models setting is invalid: ${typo}` });
      await error.waitFor({ timeout: 30_000 });
      assert.deepEqual((await workbench.notifications()).filter((n) => /No models are configured/.test(n)), [], command);
    }
    await session.screenshot('models-invalid');
    assert.equal(session.server!.stats.requests, 0, 'no model was called');
  });
});
