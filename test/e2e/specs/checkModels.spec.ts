import * as assert from 'node:assert/strict';
import { Session } from '../harness/session';

describe('PiSAR Review: Check Models', function () {
  let session: Session;

  before(async function () {
    // The server serves one of the two configured models: the other must fail the check with its fix.
    session = await Session.start({ name: 'check-models', server: { models: ['ft-qwen3-vl-8b'] }, models: [{ name: 'ft-qwen', model: 'ft-qwen3-vl-8b' }, { name: 'gpt', model: 'gpt-4o' }] });
  });

  after(async function () {
    await session?.close();
  });

  it('sends one request per model and names the one that failed, with the fix', async function () {
    const { workbench, page } = session;
    await workbench.openFile('pisar-sample.jsonl');
    await workbench.runCommand('PiSAR Review: Check Models');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'failed the check' });
    await toast.waitFor({ timeout: 60_000 });
    const message = (await workbench.notifications()).find((m) => /failed the check/.test(m)) ?? '';
    await session.screenshot('check-models');
    assert.match(message, /1 of 2 model\(s\) failed the check/);
    assert.match(message, /"gpt": HTTP 404: The model `gpt-4o` does not exist/);
    assert.match(message, /Fix: .*check "model" \("gpt-4o"\)/i);
    const chats = session.server!.requests.filter((r) => r.prompt === 'Reply with the single word: OK');
    assert.deepEqual(chats.map((r) => r.model).sort(), ['ft-qwen3-vl-8b', 'gpt-4o'], 'one short request per model');
  });
});
