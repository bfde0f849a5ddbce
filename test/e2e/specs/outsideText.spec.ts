import * as assert from 'node:assert/strict';
import { Session } from '../harness/session';
import { until } from '../harness/wait';
import { RawServer } from '../../support/rawServer';

/**
 * Text from a folder never acts in the real VS Code (issue 18): a setting key shaped as a command link
 * is shown as text in the notification and clicking it runs nothing; a hover over a row whose output
 * holds a remote image, a link and a bare URL renders text only and loads nothing.
 */
const COMMAND_LINK = '[Fix the field mapping](command:workbench.action.terminal.new)';
const WORD_JOINER = /\u2060/g;

describe('Outside text never acts', function () {
  let session: Session;
  let pixel: RawServer;

  before(async function () {
    // Where a live image or link in a hover would reach: a real server on 127.0.0.1 counting requests.
    pixel = await RawServer.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/gif' });
      res.end(Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64'));
    });
    const output = `An answer. ![pixel](${pixel.origin}/pixel.gif) [docs](${pixel.origin}/link) <${pixel.origin}/autolink> ${pixel.origin}/bare <img src="${pixel.origin}/html.gif">`;
    session = await Session.start({
      name: 'outside-text',
      server: false,
      sample: false,
      files: {
        'hostile.jsonl': [
          JSON.stringify({ id: 'r1', input: 'Why did the robot stop?', rationale: 'A person stepped in front of it.', outputs: { m: output } }),
          JSON.stringify({ id: 'r2', input: 'Why did it wait?', rationale: 'The light was red.', outputs: { m: 'It waited for the light.' } }),
        ].join('\n') + '\n',
      },
      // Not a restricted setting: a cloned folder's .vscode/settings.json applies even in Restricted Mode.
      settings: { 'pisarReview.fieldMapping': { [COMMAND_LINK]: 'rationale' } },
    });
  });

  after(async function () {
    await session?.close();
    await pixel?.close();
  });

  it('a setting key shaped as a command link is shown as text in the notification, and clicking it runs nothing', async function () {
    const { workbench, page } = session;
    await workbench.openFile('hostile.jsonl');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'is not a role' });
    await toast.waitFor({ timeout: 30_000 });
    const message = toast.locator('.notification-list-item-message');
    await session.screenshot('command-link-as-text');
    assert.equal(await message.locator('a').count(), 0, 'the notification has no link');
    const text = (await message.innerText()).replace(WORD_JOINER, '');
    assert.ok(text.includes(`pisarReview.fieldMapping.${COMMAND_LINK}`), `the key is shown as it is: ${text}`);

    // Click where the link would be, then do something that visibly completes (the log opens): only then look for the terminal.
    await message.getByText('Fix the field mapping', { exact: false }).first().click();
    const output = page.locator('.part.panel .output-view, .part.panel [id="workbench.panel.output"]').first();
    await workbench.runCommand('PiSAR Review: Show Log');
    if (!(await output.waitFor({ state: 'visible', timeout: 15_000 }).then(() => true, () => false))) {
      // Once, on CI, the log did not show after the palette's row was clicked (the click on the toast before it may
      // hold the focus): any command that completes visibly will do as the signal, so it is run once more.
      await session.screenshot('show-log-not-shown');
      await workbench.runCommand('PiSAR Review: Show Log');
      await output.waitFor({ state: 'visible', timeout: 30_000 });
    }
    assert.equal(await page.locator('.part.panel .terminal-outer-container .xterm, .terminal-tabs-entry, .terminal-wrapper').count(), 0, 'no terminal was opened');
  });

  it('a hover over a row whose output holds a remote image, links and HTML shows them as text and loads nothing', async function () {
    const { workbench, page } = session;
    await workbench.clearNotifications();
    const hover = await workbench.editor.hoverLine(1);
    await until(session, 'the output in the hover', () => hover.innerText(), (t) => t.includes('An answer.'));
    await session.screenshot('hover-as-text');
    const seen = await hover.innerText();
    assert.ok(seen.includes(`![pixel](${pixel.origin}/pixel.gif)`), seen);
    assert.ok(seen.includes(`[docs](${pixel.origin}/link)`), seen);
    assert.ok(seen.includes(`<img src="${pixel.origin}/html.gif">`), seen);
    const live = await hover.evaluate((el) => ({
      images: [...el.querySelectorAll('img')].map((i) => i.getAttribute('src')),
      links: [...el.querySelectorAll('a')].map((a) => a.getAttribute('href') ?? a.getAttribute('data-href') ?? a.textContent),
    }));
    assert.deepEqual(live.images.filter((s) => s?.includes('127.0.0.1')), [], 'no remote image in the hover');
    assert.deepEqual(live.links.filter((h) => h?.includes('127.0.0.1')), [], 'no link in the hover');
    await page.keyboard.press('Escape');
    assert.deepEqual(pixel.requests.map((r) => r.url), [], 'nothing was fetched from the server');
  });
});
