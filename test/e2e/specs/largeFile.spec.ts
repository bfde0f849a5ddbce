import * as assert from 'node:assert/strict';
import { Session } from '../harness/session';

/** About 55 MB of valid rows: over VS Code's 50 MB limit, so extensions never get the document. */
function hugeDataset(): { text: string; rows: number } {
  const filler = 'The vehicle slowed because a pedestrian was crossing ahead and the light had turned amber. '.repeat(7);
  const lines: string[] = [];
  let bytes = 0;
  for (let i = 1; bytes < 55 * 1024 * 1024; i++) {
    const line = JSON.stringify({ id: `h-${String(i).padStart(6, '0')}`, input: `Case ${i}`, rationale: filler });
    lines.push(line);
    bytes += line.length + 1;
  }
  return { text: `${lines.join('\n')}\n`, rows: lines.length };
}

describe('A dataset over VS Code\'s 50 MB limit', function () {
  let session: Session;
  const huge = hugeDataset();

  before(async function () {
    session = await Session.start({ name: 'large-file', server: false, files: { 'huge.jsonl': huge.text } });
  });

  after(async function () {
    await session?.close();
  });

  it('says why inline scores are unavailable in the editor, and opens the file from disk in the panel', async function () {
    const { workbench, page } = session;
    // A file this large never reaches extensions, so it cannot activate one: PiSAR Review is active from an earlier dataset.
    await workbench.openFile('pisar-sample.jsonl');
    await page.locator('.statusbar-item', { hasText: 'PiSAR' }).first().waitFor({ timeout: 60_000 });
    // The editor may hold back a file this large behind its own prompt: only the tab is awaited.
    await workbench.openFile('huge.jsonl', { waitForEditor: false });
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: "over VS Code's 50 MB limit" });
    await toast.waitFor({ timeout: 60_000 });
    const message = (await workbench.notifications()).find((m) => /50 MB limit/.test(m)) ?? '';
    assert.match(message, /huge\.jsonl is \d+ MB/);
    assert.match(message, /inline scores, CodeLens and Problems are unavailable/);
    await session.screenshot('large-file-notice');
    await toast.locator('.monaco-button', { hasText: 'Open in PiSAR Panel' }).click();
    const frame = await workbench.panel.frame(60_000);
    await frame.locator('[data-testid="row"][data-row-id="h-000001"]').waitFor({ timeout: 60_000 });
    const count = await (await workbench.panel.testid('row-count')).innerText();
    assert.match(count.replace(/,/g, ''), new RegExp(String(huge.rows)), `the panel lists every row read from disk: ${count}`);
    await session.screenshot('large-file-panel');
  });

  it('opens it in the panel by command too, read from disk', async function () {
    const { workbench } = session;
    await workbench.runCommand('PiSAR Review: Open Dataset File in Panel (from Disk)…');
    const frame = await workbench.panel.frame(60_000);
    await frame.locator('[data-testid="row"][data-row-id="h-000001"]').waitFor({ timeout: 60_000 });
  });
});
