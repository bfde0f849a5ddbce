import * as assert from 'node:assert/strict';
import { Session } from '../harness/session';

const FILE = 'plain.jsonl';

/**
 * Issue 21.5: with no model configured, Score File and Score Row used to say "every row already has a current
 * score" (or nothing). They say that no model is configured and offer to add one.
 */
describe('No model configured', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({
      name: 'no-model',
      sample: false,
      server: false,
      files: { [FILE]: [{ id: 'a', input: 'Why stop?', reference: 'The light was red.' }, { id: 'b', input: 'Why wait?', reference: 'The door was shut.' }].map((r) => JSON.stringify(r)).join('\n') + '\n' },
    });
    await session.workbench.openNewWorkspaceFile(FILE);
  });

  after(async function () {
    await session?.close();
  });

  it('Score File says no model is configured and offers Add a Model, which opens the models setting', async function () {
    const { page, workbench } = session;
    await workbench.runCommand('PiSAR Review: Score File');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'no model is configured' });
    await toast.waitFor({ timeout: 60_000 });
    const text = (await toast.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /no precomputed outputs to score/);
    assert.ok(!/already has a current score/.test(text), text);
    await toast.getByRole('button', { name: 'Add a Model' }).click();
    // The settings editor opens on the models setting.
    await page.locator('.settings-editor').first().waitFor({ timeout: 30_000 });
    await page.locator('.settings-editor .setting-item-label', { hasText: /Models/ }).first().waitFor({ timeout: 30_000 });
  });
});
