// Renders the panel in Chromium, outside VS Code, for screenshots and a smoke check: the webview
// bundle under the panel's CSP, talking to the real host-side PanelController over an in-memory
// review API (test/unit/panelBrowser.ts, compiled to out/). Scores here are made up from a
// hash of the row, so the pictures show the panel, not model quality.
//
// Usage: npx tsc -p tsconfig.test.json && node webview/preview/preview.mjs [outDir]
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'test-results'));
mkdirSync(outDir, { recursive: true });
const { PanelBrowser } = require(path.join(root, 'out/test/unit/panelBrowser.js'));
const { MemoryReviewSource } = require(path.join(root, 'out/test/unit/panelFixture.js'));
const { Dataset } = require(path.join(root, 'out/src/core/dataset/dataset.js'));

const MODELS = ['ft-qwen3-vl-8b', 'gpt-4o', 'claude-sonnet'];
const PNG_1PX = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAEAAAAAwCAIAAAAuKetIAAAAVklEQVR4nO3PQQ0AIBDAMMC/5+MNIfRQBZu1s/0Z4F0NAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB8cwBlJQFx3xbOXwAAAABJRU5ErkJggg==';

function fakeScore(id, model) {
  const h = createHash('sha256').update(`${id}/${model}`).digest();
  const base = model === MODELS[0] ? 0.74 : model === MODELS[1] ? 0.6 : 0.63;
  return Math.max(0.05, Math.min(0.98, base + ((h[0] / 255) - 0.5) * 0.5));
}

async function sampleSource() {
  const dataset = await Dataset.open(path.join(root, 'samples/pisar-sample.jsonl'));
  const rows = [];
  for await (const row of dataset.rows()) {
    rows.push({ id: row.id, input: row.input, reference: row.reference, outputs: row.outputs, images: row.images.map((i) => ({ kind: i.kind, value: i.value })) });
  }
  rows.push({ id: 'xss-row', input: '<img src=x onerror=alert(1)><script>window.__xss=1</script>', reference: '<b onmouseover=alert(2)>bold?</b>' });
  const source = new MemoryReviewSource(path.join(root, 'samples/pisar-sample.jsonl'), rows, MODELS);
  rows.forEach((row, i) => {
    if (i % 7 === 5) return; // some rows not scored yet
    for (const model of MODELS) {
      if (i === 9 && model === 'gpt-4o') source.setScore(i, model, { error: '429 Too Many Requests after 2 retries' });
      else source.setScore(i, model, { score: fakeScore(row.id, model), output: row.outputs?.[model], latencyMs: 300 + (i * 37) % 900 });
    }
  });
  source.annotations.set(1, [{ id: 'a1', target: { kind: 'output', model: 'gpt-4o' }, label: 'hallucinated', note: 'invents farm vehicles', state: 'current', updatedAt: '' }]);
  source.annotations.set(4, [{ id: 'a2', target: { kind: 'reference' }, label: 'incomplete', state: 'current', updatedAt: '' }]);
  source.annotations.set(11, [{ id: 'a3', target: { kind: 'output', model: 'claude-sonnet' }, label: 'off-topic', state: 'changed', updatedAt: '' }]);
  const firstImage = rows.findIndex((r) => r.images?.length);
  if (firstImage >= 0) rows[firstImage].images = [{ kind: 'data', value: PNG_1PX }, ...rows[firstImage].images];
  return source;
}

function bigSource(n) {
  const rows = Array.from({ length: n }, (_, i) => ({ id: `row-${String(i).padStart(6, '0')}`, input: `Case ${i}: why did the agent act this way?`, reference: `Because of reason ${i % 97}.` }));
  const source = new MemoryReviewSource('/data/big.jsonl', rows, MODELS.slice(0, 2));
  for (let i = 0; i < n; i++) for (const model of MODELS.slice(0, 2)) source.setScore(i, model, fakeScore(rows[i].id, model));
  return source;
}

const browser = new PanelBrowser();
await browser.start();
const report = {};
try {
  for (const theme of ['light', 'dark']) {
    const source = await sampleSource();
    const { page, errors } = await browser.open(source, { theme });
    await page.locator('[data-testid="rows"]').focus();
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    if (theme === 'dark') {
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="detail"]:not([hidden]) [data-testid="detail-outputs"]');
    }
    await page.waitForTimeout(200);
    const file = path.join(outDir, `panel-${theme}.png`);
    await page.screenshot({ path: file });
    report[`screenshot_${theme}`] = file;

    // The hostile row: its text is shown as characters, and nothing ran.
    await page.locator('[data-testid="filter-text"]').click();
    await page.keyboard.type('onerror');
    await page.waitForFunction(() => document.querySelector('[data-testid="row-count"]')?.textContent?.includes(' of '), undefined, { timeout: 5000 }).catch(async (e) => {
      console.error(await page.evaluate(() => [document.querySelector('[data-testid="row-count"]')?.textContent, document.querySelector('[data-testid="filter-text"]')?.value, document.activeElement?.outerHTML.slice(0, 200), document.querySelector('[data-testid="error"]')?.textContent]), errors);
      throw e;
    });
    const xssText = await page.locator('[data-testid="row"][data-row-id="xss-row"] [data-testid="cell-input"]').textContent();
    report[`xss_${theme}`] = { shown: xssText, ran: await page.evaluate(() => window.__xss === 1 || document.querySelectorAll('#app img[src="x"]').length > 0) };
    if (theme === 'light') {
      await page.locator('[data-testid="rows"]').focus();
      await page.locator('[data-testid="row"][data-row-id="xss-row"]').click();
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="detail"]:not([hidden])');
      const xssFile = path.join(outDir, 'panel-xss-detail-light.png');
      await page.screenshot({ path: xssFile });
      report.screenshot_xss = xssFile;
    }
    report[`errors_${theme}`] = errors;
    report[`csp_violations_${theme}`] = await page.evaluate(() => window.__violations);
    await page.close();
  }

  // A short bottom panel, as VS Code opens it: the rows must still be in sight.
  {
    const { page } = await browser.open(await sampleSource(), { theme: 'dark', height: 330 });
    const grid = await page.locator('[data-testid="rows-viewport"]').boundingBox();
    report.short_panel_rows_viewport_height = grid?.height;
    const shortFile = path.join(outDir, 'panel-short-dark.png');
    await page.screenshot({ path: shortFile });
    report.screenshot_short = shortFile;
    await page.close();
  }

  // 100,000 rows: first rows on screen, row elements in the DOM, scrolling far.
  const big = bigSource(100_000);
  const { page, firstRowsMs, errors } = await browser.open(big, { theme: 'dark' });
  report.big_first_rows_ms = firstRowsMs;
  report.big_row_elements = await page.locator('[data-testid="row"]').count();
  await page.locator('[data-testid="rows-viewport"]').evaluate((v) => (v.scrollTop = v.scrollHeight / 2));
  await page.waitForSelector('[data-testid="row"][data-row-index="50000"]', { timeout: 5000 });
  report.big_row_elements_after_scroll = await page.locator('[data-testid="row"]').count();
  const sortStarted = Date.now();
  await page.locator('[data-testid="sort-score:gpt-4o"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="sort-score:gpt-4o"]')?.textContent?.includes('▼'));
  await page.waitForSelector('[data-testid="row"][data-row-index]');
  report.big_sort_ms = Date.now() - sortStarted;
  const bigFile = path.join(outDir, 'panel-100k-dark.png');
  await page.screenshot({ path: bigFile });
  report.screenshot_100k = bigFile;
  report.errors_big = errors;
  await page.close();
} finally {
  await browser.stop();
}
console.log(JSON.stringify(report, null, 2));
