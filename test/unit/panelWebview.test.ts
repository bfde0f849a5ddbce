import * as assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { WebviewToHost } from '../../src/shared/protocol';
import { PanelBrowser } from './panelBrowser';
import { knownRows, knownSource, ReviewFixture, rows } from './reviewFixture';

/**
 * The panel as a user meets it: the real bundle in Chromium under the panel's CSP, the real
 * host-side controller behind it. What is asserted is what is on the screen.
 */

async function rowIds(page: Page): Promise<string[]> {
  const rows = page.locator('[data-testid="row"][data-row-index]:visible');
  const ids: { top: number; id: string }[] = [];
  for (let i = 0; i < (await rows.count()); i++) {
    const row = rows.nth(i);
    ids.push({ top: Number(await row.getAttribute('data-position')), id: (await row.getAttribute('data-row-id')) ?? '' });
  }
  return ids.sort((a, b) => a.top - b.top).map((r) => r.id);
}

/** Asserts the rows on screen, waiting up to 10 s for them (pages arrive after the row count). */
async function expectRows(page: Page, expected: string[]): Promise<void> {
  let ids: string[] = [];
  for (const until = Date.now() + 10_000; Date.now() < until; await page.waitForTimeout(50)) {
    ids = await rowIds(page);
    if (JSON.stringify(ids) === JSON.stringify(expected)) break;
  }
  assert.deepEqual(ids, expected);
}

let markers = 0;

/**
 * A positive signal that the page has sent the host everything it had scheduled so far (a reveal
 * waits 80 ms in webview/main.ts): a marker it posts from a later, longer timer has reached the host,
 * and the host handles messages in the order they came.
 */
async function pageSent(page: Page, toHost: readonly WebviewToHost[]): Promise<void> {
  const rowId = `marker-${++markers}`;
  await page.evaluate((id) => {
    setTimeout(() => void (globalThis as unknown as { __toHost(m: unknown): Promise<void> }).__toHost({ type: 'row/select', rowId: id }), 200);
  }, rowId);
  await waitUntil(() => toHost.some((m) => m.type === 'row/select' && m.rowId === rowId));
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (const until = Date.now() + 10_000; !condition(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > until) throw new Error('timed out waiting for the page');
  }
}

/** Waits for the row count to read exactly `text` ("6 rows" does not match "1 of 6 rows"). */
async function waitForRowCount(page: Page, text: string): Promise<void> {
  const exactly = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  await page.locator('[data-testid="row-count"]', { hasText: exactly }).waitFor();
}

/** Chooses an entry of the "Show rows" filter through its drop-down, as a person does. */
async function chooseBelowFilter(page: Page, label: string): Promise<void> {
  const select = page.locator('[data-testid="filter-below"]');
  await select.click();
  await select.locator('li[role="option"]', { hasText: label }).first().click();
}

describe('panel webview in Chromium', function () {
  this.timeout(60_000);
  const browser = new PanelBrowser();
  before(() => browser.start());
  after(() => browser.stop());

  it('lists the rows and highlights exactly the scores below the threshold, with a glyph and words', async () => {
    const { page, errors } = await browser.open(await knownSource());
    await expectRows(page, ['b-2', 'a-10', 'a-9', 'c', 'd', 'e']);
    const below = page.locator('[data-testid="score"][data-below="true"]');
    const found: string[] = [];
    for (let i = 0; i < (await below.count()); i++) {
      const cell = below.nth(i);
      const row = await cell.locator('xpath=..').getAttribute('data-row-id');
      found.push(`${row}/${await cell.getAttribute('data-model')}`);
      assert.equal(await cell.locator('.glyph').textContent(), '▼');
      assert.match((await cell.getAttribute('aria-label')) ?? '', /below the threshold 0.7/);
    }
    assert.deepEqual(found.sort(), ['a-10/ft', 'a-10/gpt', 'b-2/gpt', 'd/gpt']);
    assert.equal(await page.locator('[data-row-id="d"] [data-model="ft"]').getAttribute('data-failed'), 'true');
    assert.equal(await page.locator('[data-row-id="c"] [data-testid="labels"]').textContent(), '⚑ wrong (row changed)');
    assert.deepEqual(errors, []);
  });

  it('is the page the host builds: its CSP, and every stylesheet it links (stats.css too) loaded', async () => {
    const { page, errors } = await browser.open(await knownSource());
    const sheets = await page.evaluate<{ href: string; rules: number }[]>("[...document.styleSheets].map((sheet) => ({ href: sheet.href ?? '', rules: sheet.cssRules.length }))");
    for (const name of ['panel.css', 'stats.css']) {
      const sheet = sheets.find((s) => s.href.endsWith(`/media/${name}`));
      assert.ok(sheet && sheet.rules > 0, `media/${name} is linked and loaded: ${JSON.stringify(sheets)}`);
    }
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    assert.match(csp ?? '', /^default-src 'none'; img-src http:\/\/127\.0\.0\.1:\d+ data:; style-src http:\/\/127\.0\.0\.1:\d+; font-src http:\/\/127\.0\.0\.1:\d+; script-src 'nonce-[^']+'$/);
    assert.deepEqual(errors, []);
  });

  it('shows the summary per model and the gaps', async () => {
    const { page } = await browser.open(await knownSource());
    const ft = page.locator('[data-testid="summary"] tr[data-model="ft"]');
    assert.equal(await ft.locator('[data-field="scored"]').textContent(), '4 / 6');
    assert.equal(await ft.locator('[data-field="mean"]').textContent(), '0.745');
    assert.equal(await ft.locator('[data-field="median"]').textContent(), '0.760');
    assert.equal(await ft.locator('[data-field="failures"]').textContent(), '1');
    assert.equal(await page.locator('[data-testid="summary"] tr[data-model="gpt"] [data-field="share"]').textContent(), '25%');
    // Column minus row, the sign of the pairs (b - a): gpt's mean is 0.195 below ft's.
    assert.equal(await page.locator('[data-testid="gaps"] td[data-a="ft"][data-b="gpt"]').textContent(), '−0.195');
    assert.equal(await page.locator('[data-testid="gaps"] td[data-a="gpt"][data-b="ft"]').textContent(), '+0.195');
    assert.equal(await page.locator('[data-testid="histogram"][data-model="gpt"] rect.bar').count(), 10);
    assert.equal(await page.locator('[data-testid="progress"]').textContent(), 'Reviewed 1 / 6');
  });

  it('renders a hostile row as text, runs nothing and breaks no CSP rule', async () => {
    const source = await ReviewFixture.create([{ id: '<b>id</b>', input: '<img src=x onerror="window.__xss=1">', reference: '<script>window.__xss=2</script>' }], ['m']);
    await source.setScore(0, 'm', { score: 0.2, output: '<img src=y onerror="window.__xss=3">' });
    const { page, errors } = await browser.open(source);
    const row = page.locator('[data-testid="row"][data-row-index="0"]');
    assert.equal(await row.locator('[data-testid="cell-input"]').textContent(), '<img src=x onerror="window.__xss=1">');
    assert.equal(await row.locator('[data-testid="cell-id"]').textContent(), '<b>id</b>');
    await row.click();
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="detail"] .output pre').waitFor();
    assert.equal(await page.locator('[data-testid="detail"] .output pre').textContent(), '<img src=y onerror="window.__xss=3">');
    assert.equal(await page.locator('#app img').count(), 0);
    assert.equal(await page.evaluate('window.__xss'), undefined);
    assert.deepEqual(await page.evaluate('window.__violations'), []);
    assert.deepEqual(errors, []);
  });

  it('filters with the controls and sorts by a header click', async () => {
    const { page } = await browser.open(await knownSource());
    await page.locator('[data-testid="filter-suspect"]').click();
    await waitForRowCount(page, '1 of 6 rows');
    await expectRows(page, ['a-10']);
    await page.locator('[data-testid="filter-suspect"]').click();
    await waitForRowCount(page, '6 rows');

    await page.locator('[data-testid="filter-text"]').click();
    await page.keyboard.type('refund');
    await waitForRowCount(page, '1 of 6 rows');
    await expectRows(page, ['a-10']);
    await page.keyboard.press('Escape');
    await waitForRowCount(page, '6 rows');

    await chooseBelowFilter(page, 'Below threshold (any model)');
    await waitForRowCount(page, '3 of 6 rows');
    await expectRows(page, ['b-2', 'a-10', 'd']);

    await page.locator('[data-testid="sort-score:gpt"]').click();
    await page.locator('[data-testid="sort-score:gpt"]', { hasText: '▼' }).waitFor();
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document.querySelector('[data-testid="row"][data-position="0"]')?.getAttribute('data-row-id') === 'd');
    await expectRows(page, ['d', 'b-2', 'a-10']);
  });

  it('keeps the count and rows of the newest query when a view of an older query arrives late', async () => {
    const { page, toPage, controller } = await browser.open(await knownSource());
    await waitForRowCount(page, '6 rows');
    const stale = toPage.filter((m) => m.type === 'rows/didChange').pop();
    assert.ok(stale && stale.type === 'rows/didChange' && stale.total === 6);
    await chooseBelowFilter(page, 'Below threshold (any model)');
    await waitForRowCount(page, '3 of 6 rows');
    // The all-rows view again, as a host busy with an older query would send it after the newer one.
    await page.evaluate((m) => (globalThis as unknown as { postMessage(m: unknown, o: string): void }).postMessage(m, '*'), stale);
    // A positive signal first: a message posted after the stale one has been handled (the page takes them in order).
    controller.cursorChanged(4);
    await page.locator('[data-testid="row"][data-row-id="d"][aria-selected="true"]').waitFor();
    assert.equal(await page.locator('[data-testid="row-count"]').textContent(), '3 of 6 rows');
    await expectRows(page, ['b-2', 'a-10', 'd']);
  });

  it('moves with j/k, reveals the row in the editor, opens detail with Enter, labels with a number key', async () => {
    const source = await knownSource();
    const { page, toHost } = await browser.open(source);
    await page.locator('[data-testid="rows"]').focus();
    await page.keyboard.press('j'); // the first row
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    await page.locator('[data-testid="row"][data-row-id="a-10"][aria-selected="true"]').waitFor();
    await pageSent(page, toHost);
    assert.equal(source.calls.filter((c) => c.startsWith('reveal')).pop(), 'reveal 1');

    await page.keyboard.press('Enter');
    await page.locator('[data-testid="detail"][data-row-index="1"]').waitFor();
    assert.equal(await page.locator('[data-testid="detail-input"] pre').textContent(), 'Explain the refund');

    await page.keyboard.press('2');
    await page.locator('[data-testid="row"][data-row-id="a-10"] [data-testid="labels"]', { hasText: 'incomplete' }).waitFor();
    assert.ok(source.calls.includes('annotate 1 reference incomplete'));
    await page.locator('[data-testid="annotation"][data-label="incomplete"]').waitFor();
    assert.equal(await page.locator('[data-testid="progress"]').textContent(), 'Reviewed 2 / 6');

    await page.keyboard.press('n');
    await page.locator('[data-testid="note-input"]').waitFor();
    await page.keyboard.type('reference ignores the refund window');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="annotation"] .annotation-note', { hasText: 'refund window' }).waitFor();
    assert.ok(source.calls.includes('annotate 1 reference incomplete "reference ignores the refund window"'));

    await page.keyboard.press('Escape');
    await page.locator('[data-testid="detail"]').waitFor({ state: 'hidden' });
  });

  it('labels the selected row, not the one that moved into its place, after an edit above it', async () => {
    const source = await knownSource();
    const { page, controller } = await browser.open(source);
    await page.locator('[data-testid="row"][data-row-id="a-9"]').click();
    await page.locator('[data-testid="row"][data-row-id="a-9"][aria-selected="true"]').waitFor();
    // An edit in the editor inserts a row above: a-9 moves from index 2 to 3, a-10 moves into index 2.
    source.editRows([{ id: 'new', input: 'inserted above', reference: 'r' }, ...knownRows]);
    controller.rowsChanged();
    await waitForRowCount(page, '7 rows');
    await page.locator('[data-testid="row"][data-row-id="a-9"][data-row-index="3"][aria-selected="true"]').waitFor();
    await page.locator('[data-testid="rows"]').focus();
    await page.keyboard.press('2');
    await page.locator('[data-testid="row"][data-row-id="a-9"] [data-testid="labels"]', { hasText: 'incomplete' }).waitFor();
    assert.ok(source.calls.includes('annotate 3 reference incomplete'), source.calls.join('; '));
    const store = await source.review.annotationStore();
    assert.deepEqual(store.all().filter((a) => a.label === 'incomplete').map((a) => a.rowId), ['a-9']);
    assert.equal(await page.locator('[data-testid="row"][data-row-id="a-10"] [data-testid="labels"]').textContent(), '');
  });

  it('selects the row under the editor cursor without revealing it back', async () => {
    const source = await knownSource();
    const { page, controller, toHost } = await browser.open(source);
    controller.cursorChanged(4);
    await page.locator('[data-testid="row"][data-row-id="d"][aria-selected="true"]').waitFor();
    await pageSent(page, toHost);
    assert.deepEqual(source.calls, []);
  });

  it('scores the selected row and shows an action error from the host', async () => {
    const source = await knownSource();
    source.scoreRows = async (indexes) => {
      source.calls.push(`score ${indexes.join(',')}`);
      throw new Error('gpt: 401 Unauthorized. Set the key with "PiSAR Review: Set API Key".');
    };
    const { page } = await browser.open(source);
    await page.locator('[data-testid="row"][data-row-id="a-9"]').click();
    await page.keyboard.press('s');
    await page.locator('[data-testid="error"]', { hasText: '401 Unauthorized' }).waitFor();
    assert.ok(source.calls.includes('score 2'));
  });

  it('keeps its filters and selection across a reload of the view', async () => {
    const { page } = await browser.open(await knownSource());
    await page.locator('[data-testid="filter-annotated"]').click();
    await waitForRowCount(page, '1 of 6 rows');
    await page.reload();
    await waitForRowCount(page, '1 of 6 rows');
    assert.equal(await page.locator('[data-testid="filter-annotated"]').getAttribute('checked') !== null || (await page.locator('[data-testid="filter-annotated"]').evaluate((c) => (c as unknown as { checked: boolean }).checked)), true);
    await expectRows(page, ['c']);
  });

  it('at 100,000 rows: first rows at once, fewer than 300 row elements, pages of at most 500 rows', async () => {
    const source = await ReviewFixture.create(rows(100_000), ['ft', 'gpt']);
    await source.setScores(rows(100_000).flatMap((_, i) => [[i, 'ft', (i % 100) / 100] as const, [i, 'gpt', ((i * 7) % 100) / 100] as const]));
    const { page, toHost, toPage } = await browser.open(source, { height: 900 });
    assert.ok((await page.locator('[data-testid="row"]').count()) < 300);
    await page.locator('[data-testid="rows-viewport"]').evaluate((v) => {
      (v as unknown as { scrollTop: number; scrollHeight: number }).scrollTop = (v as unknown as { scrollHeight: number }).scrollHeight;
    });
    await page.locator('[data-testid="row"][data-row-index="99999"]').waitFor();
    assert.ok((await page.locator('[data-testid="row"]').count()) < 300);
    const pages = toHost.filter((m) => m.type === 'rows/page');
    assert.ok(pages.length >= 2 && pages.every((m) => m.type === 'rows/page' && m.params.count <= 500));
    const largest = Math.max(...toPage.map((m) => (m.type === 'response' && m.ok && m.result && typeof m.result === 'object' && 'rows' in m.result ? (m.result as { rows: unknown[] }).rows.length : 0)));
    assert.ok(largest <= 500, `a message carried ${largest} rows`);
  });

  it('keeps at least five rows in sight in a short bottom panel', async () => {
    const models = ['a', 'b', 'c', 'd', 'e'];
    const source = await ReviewFixture.create(rows(40), models);
    await source.setScores(rows(40).flatMap((_, i) => models.map((m) => [i, m, (i % 10) / 10] as const)));
    const { page } = await browser.open(source, { height: 330 });
    const box = await page.locator('[data-testid="rows-viewport"]').boundingBox();
    assert.ok(box && box.height >= 5 * 24, `the row list is ${box?.height}px tall`);
  });

  it('keeps the reviewer and blind mode in the head\'s first line at the workbench panel\'s width, a long name cut and whole in its tooltip, as text', async () => {
    const models = ['annotator-ft-qwen3-vl-8b', 'annotator-gpt-4o-2024-08-06', 'ft-qwen3-vl-8b', 'gpt-4o', 'claude-sonnet'];
    const source = await ReviewFixture.create(rows(44), models, { name: 'pisar-sample.jsonl' });
    // A long reviewer name (a noreply e-mail address) that also looks like markup.
    const reviewer = '<b>maintainers</b>@users.noreply.r-seed-d6bc5e77.example';
    source.reviewer = reviewer;
    await source.setScores(rows(44).flatMap((_, i) => models.map((m) => [i, m, (i % 10) / 10] as const)));
    // 1242 x 291 px: the default bottom panel of a 1600 x 1000 px window with the Explorer open (as measured in the e2e run).
    const { page } = await browser.open(source, { width: 1242, height: 291, theme: 'dark' });
    const name = page.locator('[data-testid="reviewer-name"]');
    await name.locator('[data-testid="reviewer-id"]', { hasText: 'maintainers' }).waitFor();
    const box = async (selector: string) => (await page.locator(selector).first().boundingBox())!;
    const title = await box('.toolbar .title');
    const group = await box('[data-testid="reviewer-group"]');
    const actions = await box('.toolbar .actions');
    assert.ok(group.y <= title.y + 1 && group.y + group.height >= title.y + title.height - 1, `the reviewer group (y ${group.y}) is on the title's line (y ${title.y})`);
    assert.ok(actions.y >= group.y + group.height - 1, 'the actions wrap below it, not the reviewer');
    const head = await box('[data-testid="toolbar"]');
    assert.ok(head.height <= 2 * actions.height + 8, `the head takes two lines at most (${head.height}px)`);
    assert.equal(await name.textContent(), `Reviewer: ${reviewer}`);
    assert.ok(((await name.getAttribute('title')) ?? '').includes(reviewer), 'the whole name is in the tooltip');
    const cut = await name.locator('[data-testid="reviewer-id"]').evaluate((e) => e.scrollWidth > e.clientWidth);
    assert.ok(cut, 'the long name is cut with an ellipsis');
    assert.equal(await page.locator('[data-testid="toolbar"] b').count(), 0, 'the name is text, never markup');
    // What the head leaves of the panel: five rows in sight (the e2e spec reviewerUx checks the same in VS Code).
    const inSight = await page.locator('[data-testid="rows-viewport"]').evaluate((viewport) => {
      const box = viewport.getBoundingClientRect();
      const rows = [...viewport.querySelectorAll('[data-testid="row"][data-row-id]:not([hidden])')].filter((r) => {
        const b = r.getBoundingClientRect();
        return b.top >= box.top - 1 && b.bottom <= Math.min(box.bottom, viewport.ownerDocument.documentElement.clientHeight) + 1;
      });
      return { rows: rows.length, top: box.top };
    });
    assert.ok(inSight.rows >= 5, `${inSight.rows} rows in sight below ${inSight.top}px`);
  });

  it('does not let a late echo of its own reveal pull the selection back', async () => {
    const source = await knownSource();
    const { page, controller, toHost } = await browser.open(source);
    await page.locator('[data-testid="rows"]').focus();
    await page.keyboard.press('j');
    // Presence, not absence: wait only for the reveal (the echo must come inside the webview's 1.5 s echo window).
    await waitUntil(() => source.calls.includes('reveal 0'));
    assert.equal(source.calls.pop(), 'reveal 0');
    await page.keyboard.press('j');
    controller.cursorChanged(0); // the editor answering the first reveal, after the second key
    await page.locator('[data-testid="row"][data-row-id="a-10"][aria-selected="true"]').waitFor();
    await pageSent(page, toHost);
    assert.equal(await page.locator('[data-testid="row"][aria-selected="true"]').getAttribute('data-row-id'), 'a-10');
    controller.cursorChanged(4); // the user moves the cursor in the editor
    await page.locator('[data-testid="row"][data-row-id="d"][aria-selected="true"]').waitFor();
  });

  it('shows an output without a score as n/a, not as a failure', async () => {
    const source = await ReviewFixture.create([{ id: 'no-ref', input: 'q' }], ['m', 'k']);
    await source.setScores([[0, 'm', { output: 'an answer', note: 'the row has no reference' }], [0, 'k', { error: 'HTTP 500' }]]);
    const { page } = await browser.open(source);
    const m = page.locator('[data-row-id="no-ref"] [data-model="m"]');
    assert.equal((await m.textContent())?.trim(), 'n/a');
    assert.equal(await m.getAttribute('data-failed'), null);
    assert.equal(await m.getAttribute('aria-label'), 'm: no score (the row has no reference)');
    const k = page.locator('[data-row-id="no-ref"] [data-model="k"]');
    assert.equal((await k.textContent())?.trim(), '⚠fail');
    assert.equal(await k.getAttribute('data-failed'), 'true');
  });

  it('follows a theme change: charts and highlights take the new theme colours', async () => {
    const { page } = await browser.open(await knownSource(), { theme: 'light' });
    const bar = page.locator('[data-testid="histogram"][data-model="gpt"] rect.bar.below').first();
    const cell = page.locator('[data-row-id="a-10"] [data-model="gpt"]');
    // This file compiles without the DOM library: reach getComputedStyle through globalThis.
    type Styles = { getComputedStyle(e: unknown): { fill: string; color: string } };
    const fill = () => bar.evaluate((e) => (globalThis as unknown as Styles).getComputedStyle(e).fill);
    const colour = () => cell.evaluate((e) => (globalThis as unknown as Styles).getComputedStyle(e).color);
    assert.equal(await fill(), 'rgb(199, 46, 15)'); // pisarReview.scoreFailForeground, light
    assert.equal(await colour(), 'rgb(199, 46, 15)');
    // What VS Code does on a theme switch: new variables on the root, a new class on the body.
    await page.evaluate(`
      document.querySelector('link[href="/theme-light.css"]').setAttribute('href', '/theme-dark.css');
      document.body.className = 'vscode-dark';
    `);
    // Polled from here: waitForFunction polls by eval inside the page, which the panel's CSP forbids.
    const deadline = Date.now() + 10_000;
    while ((await fill()) !== 'rgb(244, 135, 113)') {
      assert.ok(Date.now() < deadline, `the histogram's below-threshold bar kept its light colour (${await fill()})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await colour(), 'rgb(244, 135, 113)'); // the same colour id, dark
    assert.equal(await page.locator('[data-testid="histogram"]').count(), 2);
  });

  it('lays the columns out in one line when the dataset has no model yet', async () => {
    const { page } = await browser.open(await ReviewFixture.create(rows(3), []));
    const spread = async (selector: string, expected: number) => {
      const cells = page.locator(selector);
      assert.equal(await cells.count(), expected);
      const middles: number[] = [];
      for (let i = 0; i < expected; i++) {
        const box = (await cells.nth(i).boundingBox())!;
        middles.push(box.y + box.height / 2);
      }
      return Math.max(...middles) - Math.min(...middles);
    };
    assert.ok((await spread('.grid-header [role="columnheader"]', 5)) < 4, 'every header cell on one line');
    assert.ok((await spread('[data-testid="row"][data-row-index="0"] [role="gridcell"]', 5)) < 4, 'every cell of a row on one line');
  });

  it('shows the metrics ranked against the labels (the judge with AUC, kappa, intervals, method, cost per 1,000) and the judge\'s disagreements, its reason as text', async () => {
    // Four labelled outputs of m (bad: r1, r2) and a fifth the judge could not read. Judge: r0 good, r1 good, r2 bad, r3 good.
    const hostile = '[run](command:workbench.action.terminal.new) <img src=x onerror="window.__xss=4"> =HYPERLINK("http://evil.example","x") $(alert)';
    const source = await ReviewFixture.create(rows(5, (i) => ({ outputs: { m: `output ${i}` } })), ['judge'], { prices: { judge: { inputPerMillion: 1000, outputPerMillion: 2000 } } });
    const verdict = (v: 'good' | 'bad', reason: string) => ({ model: 'judge', modelId: 'judge-1', promptHash: '0123456789abcdef', verdict: v, reason, usage: { promptTokens: 100, completionTokens: 10 }, at: new Date().toISOString() });
    await source.setScores([
      [0, 'm', { score: 0.9, output: 'output 0', judge: verdict('good', 'Same reason.') }],
      [1, 'm', { score: 0.65, output: 'output 1', judge: verdict('good', hostile) }],
      [2, 'm', { score: 0.8, output: 'output 2', judge: verdict('bad', 'Misses the point.') }],
      [3, 'm', { score: 0.6, output: 'output 3', judge: verdict('good', 'Fine.') }],
      [4, 'm', { score: 0.7, output: 'output 4', judge: { model: 'judge', modelId: 'judge-1', promptHash: '0123456789abcdef', error: { kind: 'unparsable', message: 'no JSON object' }, at: new Date().toISOString() } }],
    ]);
    for (const [i, label] of [[0, 'fine'], [1, 'wrong'], [2, 'wrong'], [3, 'fine']] as const) await source.annotateRow(i, { kind: 'output', model: 'm' }, label);
    const { reviewStatistics } = await import('../../src/core/review/reviewStatistics');
    Object.assign(source, { statistics: () => reviewStatistics(source.review) });
    const expected = (await reviewStatistics(source.review)).ranking!;
    const { page, errors } = await browser.open(source);
    await page.locator('[data-testid="stats-section"]').click({ position: { x: 40, y: 10 } });
    const table = page.locator('[data-testid="stats-ranking"]');
    await table.locator('tbody tr[data-metric="judge"]').waitFor();

    // Every metric of the host's document, in its order (best first).
    const shown = table.locator('tbody tr');
    const order: (string | null)[] = [];
    for (let i = 0; i < (await shown.count()); i++) order.push(await shown.nth(i).getAttribute('data-metric'));
    assert.deepEqual(order, expected.metrics.map((m) => m.metric));
    const judge = table.locator('tbody tr[data-metric="judge"]');
    // By hand: bad r1 (5) ties both goods (0.5 each), bad r2 (1) beats both: AUC 3/4. Calls: r2 bad only; po 3/4, pe 1/4*1/2 + 3/4*1/2 = 1/2: kappa 1/2.
    assert.equal(await judge.locator('th').textContent(), 'LLM judge');
    assert.equal(await judge.locator('[data-field="auc"]').getAttribute('data-value'), '0.75');
    assert.equal(await judge.locator('[data-field="kappa"]').getAttribute('data-value'), '0.5');
    const auc = expected.metrics.find((m) => m.metric === 'judge')!.auc!;
    assert.equal(await judge.locator('[data-field="auc"]').textContent(), `0.750 [${auc.low.toFixed(3)}, ${auc.high.toFixed(3)}]`);
    assert.equal(await judge.locator('[data-field="threshold"]').textContent(), 'its verdict');
    // 100 input and 10 output tokens a verdict at 1,000 / 2,000 per million: 0.12 a verdict, 120 per 1,000.
    assert.equal(await judge.locator('[data-field="cost"]').textContent(), '120.00');
    assert.equal(await table.locator('tbody tr[data-metric="cosine"] [data-field="threshold"]').textContent(), '< 0.700');
    assert.equal(await table.locator('tbody tr[data-metric="cosine"] [data-field="cost"]').textContent(), '0.0000');
    assert.match((await table.locator('caption').textContent())!, /^Metrics against your labels, best first \(95% intervals: bootstrap, 1000 resamples\)/);
    assert.equal(await page.locator('[data-testid="stats-judge"]').textContent(), 'LLM judge judge: 4 verdicts, 1 failed, 0 made with another prompt or judge (not counted); 400 input and 40 output tokens.');

    // The one disagreement, r1 (judge good, labelled wrong), its reason exactly as the judge wrote it, as text.
    const rowsShown = page.locator('[data-testid="judge-disagreement"]');
    assert.equal(await rowsShown.count(), 1);
    assert.equal(await rowsShown.getAttribute('data-id'), 'r1');
    assert.equal(await rowsShown.locator('[data-field="label"]').textContent(), 'wrong (bad)');
    assert.equal(await rowsShown.locator('[data-field="verdict"]').textContent(), 'good');
    assert.equal(await rowsShown.locator('[data-field="reason"]').textContent(), hostile);
    assert.equal(await page.locator('[data-testid="stats"] a, [data-testid="stats"] img').count(), 0);
    // Its row id opens the row's detail, with the verdict there too.
    await rowsShown.locator('[data-testid="disagreement-open"]').click();
    const detailJudge = page.locator('[data-testid="detail"] [data-testid="detail-judge"]');
    await detailJudge.waitFor();
    assert.equal(await detailJudge.textContent(), `judge judge: good: ${hostile}`);
    assert.equal(await page.evaluate('window.__xss'), undefined);
    assert.deepEqual(await page.evaluate('window.__violations'), []);
    assert.deepEqual(errors, []);
  });
});
