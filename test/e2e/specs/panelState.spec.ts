import * as assert from 'node:assert/strict';
import type { Frame } from 'playwright-core';
import { Session } from '../harness/session';
import { until } from '../harness/wait';

/**
 * Panel state belongs to one file (issue 19.10): a row open in the detail pane, the search text and the
 * filters of file A never show while the panel shows file B (where that line is another row); back on A,
 * A's own search is restored. Real VS Code, two datasets.
 */
const rowsOf = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ id: i === 0 && prefix === 'a' ? 'xss' : `${prefix}${i}`, input: `Question ${prefix}${i}?`, rationale: `Reason ${prefix}${i}.` })).join('\n') + '\n';

async function viewTotal(frame: Frame): Promise<number> {
  return Number(await frame.locator('[data-testid="row-count"]').getAttribute('data-total'));
}

describe('Panel state belongs to one file', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({ name: 'panel-state', server: false, sample: false, files: { 'a.jsonl': rowsOf('a', 12), 'b.jsonl': rowsOf('b', 23) } });
  });

  after(async function () {
    await session?.close();
  });

  it('drops the detail of a row of file A and A\'s search when the panel shows file B, and restores A\'s search on return', async function () {
    const { workbench, page } = session;
    await workbench.openFile('a.jsonl');
    const panel = workbench.panel;
    await panel.open();
    const frame = await panel.frame();
    const name = frame.locator('[data-testid="dataset-name"]');
    await until(session, 'the panel on a.jsonl', () => name.textContent(), (t) => t === 'a.jsonl');
    await until(session, 'the 12 rows of a.jsonl', () => viewTotal(frame), (n) => n === 12);

    // File A: search "xss", open that row's detail.
    const search = frame.locator('[data-testid="filter-text"]');
    await search.click();
    await page.keyboard.type('xss');
    await until(session, 'the search on a.jsonl', () => viewTotal(frame), (n) => n === 1);
    const row = frame.locator('[data-testid="row"][data-row-id="xss"]');
    await row.locator('[data-testid="cell-input"]').click();
    await page.keyboard.press('Enter');
    const detail = frame.locator('[data-testid="detail"]');
    await detail.waitFor({ state: 'visible', timeout: 15_000 });
    assert.match(await frame.locator('#detail-title').innerText(), /^Row xss · line 1 of a\.jsonl$/, 'a row view names its file');
    await session.screenshot('file-a-detail');

    // File B becomes the panel's file.
    await workbench.openFile('b.jsonl');
    await until(session, 'the panel on b.jsonl', () => name.textContent(), (t) => t === 'b.jsonl');
    await until(session, 'every row of b.jsonl (A\'s search does not follow)', () => viewTotal(frame), (n) => n === 23);
    await session.screenshot('file-b');
    assert.equal(await detail.isVisible(), false, 'no detail of a.jsonl\'s row while b.jsonl is shown');
    assert.equal(await search.evaluate((e) => (e as HTMLInputElement).value), '', 'the search box is empty on b.jsonl');
    assert.match(await frame.locator('[data-testid="row-count"]').innerText(), /23/);

    // Back on A: its own search is back.
    await workbench.openFile('a.jsonl');
    await until(session, 'the panel on a.jsonl again', () => name.textContent(), (t) => t === 'a.jsonl');
    await until(session, 'a.jsonl\'s search restored', () => viewTotal(frame), (n) => n === 1);
    assert.equal(await search.evaluate((e) => (e as HTMLInputElement).value), 'xss');
  });
});
