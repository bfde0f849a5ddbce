// Renders the panel in Chromium, outside VS Code, for screenshots and a smoke check of the bundle:
// the real webview bundle (dist/webview/main.js) under the panel's CSP, talking to the real host-side
// PanelController (compiled to out/) over an in-memory review API. Scores here are made up from a
// hash of the row, so the pictures show the panel, not model quality.
//
// Usage: npm run build && npx tsc -p tsconfig.test.json && node webview/preview/preview.mjs [outDir]
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'test-results'));
mkdirSync(outDir, { recursive: true });
const { PanelController } = require(path.join(root, 'out/src/host/panel/panelController.js'));
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

const THEMES = {
  light: {
    'foreground': '#3b3b3b', 'descriptionForeground': '#717171', 'editor-background': '#ffffff', 'panel-background': '#f8f8f8',
    'font-family': '-apple-system, "Segoe UI", "Ubuntu", "Droid Sans", sans-serif', 'font-size': '13px', 'font-weight': 'normal',
    'editor-font-family': '"Droid Sans Mono", monospace', 'editor-font-size': '13px', 'focusBorder': '#005fb8', 'widget-border': '#e5e5e5',
    'list-hoverBackground': '#f2f2f2', 'list-activeSelectionBackground': '#e8e8e8', 'list-activeSelectionForeground': '#000000',
    'list-inactiveSelectionBackground': '#e4e6f1', 'list-focusOutline': '#005fb8', 'button-background': '#005fb8', 'button-foreground': '#ffffff',
    'button-hoverBackground': '#0258a8', 'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b', 'button-border': '#0000001a',
    'settings-textInputBackground': '#ffffff', 'settings-textInputForeground': '#3b3b3b', 'settings-textInputBorder': '#cecece',
    'input-background': '#ffffff', 'input-foreground': '#3b3b3b', 'input-border': '#cecece', 'input-placeholderForeground': '#767676',
    'settings-dropdownBackground': '#ffffff', 'settings-dropdownForeground': '#3b3b3b', 'settings-dropdownBorder': '#cecece', 'settings-checkboxBackground': '#f8f8f8', 'settings-checkboxBorder': '#cecece',
    'checkbox-background': '#f8f8f8', 'checkbox-border': '#cecece', 'charts-blue': '#1a85ff', 'charts-red': '#e51400', 'errorForeground': '#f85149',
    'inputValidation-errorBackground': '#f2dede', 'inputValidation-errorBorder': '#be1100', 'progressBar-background': '#005fb8', 'textCodeBlock-background': '#f3f3f3',
    'editorLineNumber-foreground': '#6e7681', 'keybindingTable-headerBackground': '#f3f3f3', 'sideBar-background': '#f8f8f8', 'sideBarSectionHeader-background': '#f8f8f8', 'sideBarTitle-foreground': '#3b3b3b',
    'icon-foreground': '#3b3b3b', 'disabledForeground': '#61616180',
    'pisarReview-scorePassForeground': '#388A34', 'pisarReview-scoreFailForeground': '#C72E0F', 'pisarReview-scoreStaleForeground': '#767676',
    'pisarReview-scoreErrorForeground': '#8A6D00', 'pisarReview-annotationForeground': '#8B1C8B', 'pisarReview-suspectReferenceRuler': '#E51400',
  },
  dark: {
    'foreground': '#cccccc', 'descriptionForeground': '#9d9d9d', 'editor-background': '#1f1f1f', 'panel-background': '#181818',
    'font-family': '-apple-system, "Segoe UI", "Ubuntu", "Droid Sans", sans-serif', 'font-size': '13px', 'font-weight': 'normal',
    'editor-font-family': '"Droid Sans Mono", monospace', 'editor-font-size': '13px', 'focusBorder': '#0078d4', 'widget-border': '#313131',
    'list-hoverBackground': '#2a2d2e', 'list-activeSelectionBackground': '#04395e', 'list-activeSelectionForeground': '#ffffff',
    'list-inactiveSelectionBackground': '#37373d', 'list-focusOutline': '#0078d4', 'button-background': '#0078d4', 'button-foreground': '#ffffff',
    'button-hoverBackground': '#026ec1', 'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc', 'button-border': '#ffffff12',
    'settings-textInputBackground': '#313131', 'settings-textInputForeground': '#cccccc', 'settings-textInputBorder': '#3c3c3c',
    'input-background': '#313131', 'input-foreground': '#cccccc', 'input-border': '#3c3c3c', 'input-placeholderForeground': '#989898',
    'settings-dropdownBackground': '#313131', 'settings-dropdownForeground': '#cccccc', 'settings-dropdownBorder': '#3c3c3c', 'settings-checkboxBackground': '#313131', 'settings-checkboxBorder': '#3c3c3c',
    'checkbox-background': '#313131', 'checkbox-border': '#3c3c3c', 'charts-blue': '#3794ff', 'charts-red': '#f14c4c', 'errorForeground': '#f85149',
    'inputValidation-errorBackground': '#5a1d1d', 'inputValidation-errorBorder': '#be1100', 'progressBar-background': '#0078d4', 'textCodeBlock-background': '#2b2b2b',
    'editorLineNumber-foreground': '#6e7681', 'keybindingTable-headerBackground': '#252526', 'sideBar-background': '#181818', 'sideBarSectionHeader-background': '#181818', 'sideBarTitle-foreground': '#cccccc',
    'icon-foreground': '#cccccc', 'disabledForeground': '#cccccc80',
    'pisarReview-scorePassForeground': '#89D185', 'pisarReview-scoreFailForeground': '#F48771', 'pisarReview-scoreStaleForeground': '#8C8C8C',
    'pisarReview-scoreErrorForeground': '#CCA700', 'pisarReview-annotationForeground': '#C586C0', 'pisarReview-suspectReferenceRuler': '#FF5555',
  },
};

function themeCss(theme) {
  const vars = Object.entries(THEMES[theme]).map(([k, v]) => `  --vscode-${k}: ${v};`).join('\n');
  return `html {\n${vars}\n}\nbody { background: var(--vscode-panel-background); }\n`;
}

// The page the webview would get, served over HTTP so the panel's CSP applies exactly as written.
function startServer() {
  const fakeApi = `(() => {
    let state = JSON.parse(sessionStorage.getItem('panel-state') || 'null');
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => window.__toHost(m),
      getState: () => state,
      setState: (s) => { state = s; sessionStorage.setItem('panel-state', JSON.stringify(s)); },
    });
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
  })();`;
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const send = (type, body) => {
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    };
    if (url.pathname === '/') {
      const theme = url.searchParams.get('theme') === 'dark' ? 'dark' : 'light';
      const nonce = randomBytes(16).toString('base64');
      const origin = `http://${req.headers.host}`;
      const csp = `default-src 'none'; img-src ${origin} data:; style-src ${origin}; font-src ${origin}; script-src 'nonce-${nonce}'`;
      send('text/html', `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<link rel="stylesheet" href="/theme-${theme}.css"><link rel="stylesheet" href="/media/panel.css"><title>PiSAR Review</title></head>
<body class="vscode-${theme}"><div id="app" data-testid="panel"></div>
<script nonce="${nonce}" src="/fake-vscode.js"></script>
<script type="module" nonce="${nonce}" src="/dist/webview/main.js"></script></body></html>`);
    } else if (url.pathname.startsWith('/theme-')) send('text/css', themeCss(url.pathname.includes('dark') ? 'dark' : 'light'));
    else if (url.pathname === '/fake-vscode.js') send('text/javascript', fakeApi);
    else if (url.pathname === '/media/panel.css') send('text/css', readFileSync(path.join(root, 'media/panel.css')));
    else if (url.pathname === '/dist/webview/main.js') send('text/javascript', readFileSync(path.join(root, 'dist/webview/main.js')));
    else if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function openPanel(browser, base, theme, source, viewport = { width: 1280, height: 760 }) {
  const page = await browser.newPage({ viewport });
  const controller = new PanelController(source, { changeDelayMs: 20 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.exposeBinding('__toHost', (_src, message) => controller.handle(message));
  controller.attach((message) => void page.evaluate((m) => window.postMessage(m, '*'), message).catch(() => {}));
  await controller.datasetChanged();
  const started = Date.now();
  await page.goto(`${base}/?theme=${theme}`);
  await page.waitForSelector('[data-testid="row"][data-row-index]');
  return { page, controller, errors, firstRowsMs: Date.now() - started };
}

const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
const server = await startServer();
const base = `http://127.0.0.1:${server.address().port}`;
const report = {};
try {
  for (const theme of ['light', 'dark']) {
    const source = await sampleSource();
    const { page, errors } = await openPanel(browser, base, theme, source);
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

  // 100,000 rows: first rows on screen, row elements in the DOM, scrolling far.
  const big = bigSource(100_000);
  const { page, firstRowsMs, errors } = await openPanel(browser, base, 'dark', big);
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
  await browser.close();
  server.close();
}
console.log(JSON.stringify(report, null, 2));
