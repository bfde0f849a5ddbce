/** The panel's stylesheets, under media/ (the page links each). */
export const PANEL_STYLES = ['panel.css', 'stats.css'] as const;

export interface PanelPageParts {
  /** Where styles and images may come from (webview.cspSource). */
  readonly cspSource: string;
  /** A fresh nonce per render: the only script that runs is the one carrying it. */
  readonly nonce: string;
  /** The webview bundle's URL (dist/webview/main.js). */
  readonly script: string;
  /** The URL of each of PANEL_STYLES, in order. */
  readonly styles: readonly string[];
}

/**
 * The panel's HTML and its CSP. No vscode import: the Chromium panel tests (test/unit/panelBrowser.ts)
 * serve this same page, with their server standing in for webview.cspSource.
 */
export function panelPage({ cspSource, nonce, script, styles }: PanelPageParts): string {
  const csp = [
    "default-src 'none'",
    // Thumbnails arrive as data: URLs read and checked by the host; nothing loads from the network.
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${styles.map((href) => `<link rel="stylesheet" href="${href}">`).join('\n')}
<title>PiSAR Review</title>
</head>
<body>
<div id="app" data-testid="panel"></div>
<script type="module" nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
