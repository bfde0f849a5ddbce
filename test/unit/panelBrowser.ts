import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PanelController } from '../../src/host/panel/panelController';
import { PANEL_STYLES, panelPage } from '../../src/host/panel/panelPage';
import type { HostToWebview, WebviewToHost } from '../../src/shared/protocol';
import type { ReviewFixture } from './reviewFixture';

/**
 * Runs the panel's webview bundle in Chromium under the same CSP as in VS Code, wired to the real
 * host-side PanelController over an in-memory review API. Theme variables are a small light/dark
 * set, enough for the panel to look like it does in the workbench.
 */

const repo = path.resolve(__dirname, '../../..');

export const THEMES: Record<'light' | 'dark', Record<string, string>> = {
  light: {
    'foreground': '#3b3b3b', 'descriptionForeground': '#717171', 'editor-background': '#ffffff', 'panel-background': '#f8f8f8',
    'font-family': '-apple-system, "Segoe UI", "Ubuntu", "Droid Sans", sans-serif', 'font-size': '13px', 'font-weight': 'normal',
    'editor-font-family': '"Droid Sans Mono", monospace', 'editor-font-size': '13px', 'focusBorder': '#005fb8', 'widget-border': '#e5e5e5',
    'list-hoverBackground': '#f2f2f2', 'list-activeSelectionBackground': '#e8e8e8', 'list-activeSelectionForeground': '#000000',
    'list-inactiveSelectionBackground': '#e4e6f1', 'list-focusOutline': '#005fb8', 'button-background': '#005fb8', 'button-foreground': '#ffffff',
    'button-hoverBackground': '#0258a8', 'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b', 'button-border': '#0000001a',
    'settings-textInputBackground': '#ffffff', 'settings-textInputForeground': '#3b3b3b', 'settings-textInputBorder': '#cecece',
    'input-background': '#ffffff', 'input-foreground': '#3b3b3b', 'input-border': '#cecece', 'input-placeholderForeground': '#767676',
    'settings-dropdownBackground': '#ffffff', 'settings-dropdownForeground': '#3b3b3b', 'settings-dropdownBorder': '#cecece', 'settings-dropdownListBorder': '#cecece',
    'settings-checkboxBackground': '#f8f8f8', 'settings-checkboxBorder': '#cecece', 'checkbox-background': '#f8f8f8', 'checkbox-border': '#cecece',
    'charts-blue': '#1a85ff', 'charts-red': '#e51400', 'errorForeground': '#f85149',
    'inputValidation-errorBackground': '#f2dede', 'inputValidation-errorBorder': '#be1100', 'progressBar-background': '#005fb8', 'textCodeBlock-background': '#f3f3f3',
    'editorLineNumber-foreground': '#6e7681', 'keybindingTable-headerBackground': '#f3f3f3', 'sideBar-background': '#f8f8f8',
    'sideBarSectionHeader-background': '#f8f8f8', 'sideBarTitle-foreground': '#3b3b3b', 'icon-foreground': '#3b3b3b', 'disabledForeground': '#61616180',
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
    'settings-dropdownBackground': '#313131', 'settings-dropdownForeground': '#cccccc', 'settings-dropdownBorder': '#3c3c3c', 'settings-dropdownListBorder': '#454545',
    'settings-checkboxBackground': '#313131', 'settings-checkboxBorder': '#3c3c3c', 'checkbox-background': '#313131', 'checkbox-border': '#3c3c3c',
    'charts-blue': '#3794ff', 'charts-red': '#f14c4c', 'errorForeground': '#f85149',
    'inputValidation-errorBackground': '#5a1d1d', 'inputValidation-errorBorder': '#be1100', 'progressBar-background': '#0078d4', 'textCodeBlock-background': '#2b2b2b',
    'editorLineNumber-foreground': '#6e7681', 'keybindingTable-headerBackground': '#252526', 'sideBar-background': '#181818',
    'sideBarSectionHeader-background': '#181818', 'sideBarTitle-foreground': '#cccccc', 'icon-foreground': '#cccccc', 'disabledForeground': '#cccccc80',
    'pisarReview-scorePassForeground': '#89D185', 'pisarReview-scoreFailForeground': '#F48771', 'pisarReview-scoreStaleForeground': '#8C8C8C',
    'pisarReview-scoreErrorForeground': '#CCA700', 'pisarReview-annotationForeground': '#C586C0', 'pisarReview-suspectReferenceRuler': '#FF5555',
  },
};

function themeCss(theme: 'light' | 'dark'): string {
  const vars = Object.entries(THEMES[theme]).map(([k, v]) => `  --vscode-${k}: ${v};`).join('\n');
  return `html {\n${vars}\n}\nbody { background: var(--vscode-panel-background); }\n`;
}

// Stands in for VS Code's acquireVsCodeApi: messages go to the host binding, state to sessionStorage
// (so a reload restores it, as VS Code does for a webview's state).
const FAKE_VSCODE = `(() => {
  let state = JSON.parse(sessionStorage.getItem('panel-state') || 'null');
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__toHost(m),
    getState: () => state,
    setState: (s) => { state = s; sessionStorage.setItem('panel-state', JSON.stringify(s)); },
  });
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
})();`;

export function chromiumPath(): string {
  const found = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
  if (!found) throw new Error('No Chromium found at /usr/bin/chromium: install it (apt-get install -y chromium), as .ci/run does.');
  return found;
}

export interface PanelPage {
  readonly page: Page;
  readonly controller: PanelController;
  /** Every message the page sent to the host, and every one the host sent back. */
  readonly toHost: WebviewToHost[];
  readonly toPage: HostToWebview[];
  readonly errors: string[];
  /** Milliseconds from navigation to the first loaded row on screen. */
  readonly firstRowsMs: number;
}

/** Serves the panel's page as the host builds it (panelPage; bundle built from webview/main.ts now, media/*.css) and drives pages of it. */
export class PanelBrowser {
  private browser: Browser | undefined;
  private server: Server | undefined;
  private bundle = '';
  private base = '';

  async start(): Promise<void> {
    const out = await esbuild.build({
      entryPoints: [path.join(repo, 'webview/main.ts')],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      outdir: os.tmpdir(),
      logLevel: 'silent',
    });
    this.bundle = out.outputFiles[0].text;
    const styles = new Map(PANEL_STYLES.map((name) => [`/media/${name}`, readFileSync(path.join(repo, 'media', name), 'utf8')]));
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const send = (type: string, body: string) => {
        res.writeHead(200, { 'content-type': type });
        res.end(body);
      };
      if (url.pathname === '/') {
        const theme = url.searchParams.get('theme') === 'dark' ? 'dark' : 'light';
        const nonce = randomBytes(16).toString('base64');
        const origin = `http://${req.headers.host}`;
        // The page the host builds (src/host/panel/panelPage.ts), this server standing in for webview.cspSource;
        // plus what VS Code's webview host adds around it: the theme's variables, the body's theme class, acquireVsCodeApi.
        const page = panelPage({ cspSource: origin, nonce, script: '/dist/webview/main.js', styles: PANEL_STYLES.map((name) => `/media/${name}`) })
          .replace('<title>', `<link rel="stylesheet" href="/theme-${theme}.css"><script nonce="${nonce}" src="/fake-vscode.js"></script>\n<title>`)
          .replace('<body>', `<body class="vscode-${theme}">`);
        send('text/html', page);
      } else if (url.pathname === '/theme-light.css' || url.pathname === '/theme-dark.css') send('text/css', themeCss(url.pathname.includes('dark') ? 'dark' : 'light'));
      else if (url.pathname === '/fake-vscode.js') send('text/javascript', FAKE_VSCODE);
      else if (styles.has(url.pathname)) send('text/css', styles.get(url.pathname)!);
      else if (url.pathname === '/dist/webview/main.js') send('text/javascript', this.bundle);
      else {
        res.writeHead(url.pathname === '/favicon.ico' ? 204 : 404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
  }

  async open(source: ReviewFixture, options: { theme?: 'light' | 'dark'; width?: number; height?: number; waitForRows?: boolean } = {}): Promise<PanelPage> {
    if (!this.browser) throw new Error('PanelBrowser.start() first');
    const page = await this.browser.newPage({ viewport: { width: options.width ?? 1280, height: options.height ?? 760 } });
    const controller = new PanelController(source, { changeDelayMs: 10 });
    const toHost: WebviewToHost[] = [];
    const toPage: HostToWebview[] = [];
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.exposeBinding('__toHost', (_source, message: WebviewToHost) => {
      toHost.push(message);
      return controller.handle(message);
    });
    controller.attach((message) => {
      toPage.push(message);
      void page.evaluate((m) => (globalThis as unknown as { postMessage(m: unknown, o: string): void }).postMessage(m, '*'), message).catch(() => undefined);
    });
    source.onDidChangeRows = (indexes) => controller.rowsChanged(indexes);
    await controller.datasetChanged();
    const started = Date.now();
    await page.goto(`${this.base}/?theme=${options.theme ?? 'light'}`);
    if (options.waitForRows !== false) await page.waitForSelector('[data-testid="row"][data-row-index]');
    return { page, controller, toHost, toPage, errors, firstRowsMs: Date.now() - started };
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
