import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';

/** The layering of STYLE.md, as `npm run lint` enforces it (eslint.config.mjs). */

const repo = path.resolve(__dirname, '../../..');
const eslint = new ESLint({ cwd: repo });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repo, file) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint: what each layer may import', function () {
  this.timeout(60_000);

  it('src/core never imports vscode, src/host, src/cli or webview, and src/shared only as types', async () => {
    assert.match((await problems('src/core/x.ts', "import * as vscode from 'vscode';\nexport const a = vscode;\n")).join(), /src\/core is pure/);
    assert.match((await problems('src/core/review/x.ts', "import { ReviewService } from '../../host/review/reviewService';\nexport const a = ReviewService;\n")).join(), /src\/core is pure/);
    assert.match((await problems('src/core/x.ts', "import { main } from '../cli/main';\nexport const a = main;\n")).join(), /src\/core is pure/);
    assert.match((await problems('src/core/x.ts', "import { HostBridge } from '../../webview/hostBridge';\nexport const a = HostBridge;\n")).join(), /src\/core is pure/);
    assert.deepEqual(await problems('src/core/x.ts', "import type { RowView } from '../shared/protocol';\nimport { Dataset } from './dataset/datasetReader';\nexport type A = RowView;\nexport const d = Dataset;\n"), []);
  });

  it('webview imports only webview/ and type-only src/shared; src/cli never the VS Code layer', async () => {
    assert.match((await problems('webview/x.ts', "import { formatScore } from '../src/core/rules/rules';\nexport const a = formatScore;\n")).join(), /webview imports only webview/);
    assert.match((await problems('webview/x.ts', "import * as fs from 'node:fs';\nexport const a = fs;\n")).join(), /webview imports only webview/);
    assert.match((await problems('webview/x.ts', "import { DEFAULT_QUERY } from '../src/shared/protocol';\nexport const a = DEFAULT_QUERY;\n")).join(), /with `import type` only/);
    assert.deepEqual(await problems('webview/x.ts', "import type { RowView } from '../src/shared/protocol';\nimport { el } from './dom';\nexport type A = RowView;\nexport const b = el;\n"), []);
    assert.match((await problems('src/cli/x.ts', "import * as vscode from 'vscode';\nexport const a = vscode;\n")).join(), /src\/cli imports core only/);
    assert.match((await problems('src/cli/x.ts', "import { ReviewService } from '../host/review/reviewService';\nexport const a = ReviewService;\n")).join(), /src\/cli imports core only/);
  });
});

describe('lint: outside text reaches VS Code surfaces only through an escaping function', function () {
  this.timeout(60_000);
  const host = 'src/host/review/x.ts';
  const head = "import * as vscode from 'vscode';\nimport { uiText } from '../../core/security/escape';\ndeclare const name: string;\ndeclare const item: vscode.StatusBarItem;\ndeclare const md: vscode.MarkdownString;\n";

  it('refuses a notification, status bar text, quick pick, hover, diagnostic or progress title built from a template or concatenation', async () => {
    for (const code of [
      'void vscode.window.showWarningMessage(`Fix the field mapping: ${name}`);',
      "void vscode.window.showErrorMessage('Failed: ' + name);",
      'void vscode.window.showInformationMessage(name);',
      "void vscode.window.showWarningMessage('ok', { modal: true, detail: name });",
      'item.text = `$(pulse) ${name}`;',
      'item.tooltip = name;',
      'void vscode.window.showQuickPick([{ label: name }]);',
      "void vscode.window.showInputBox({ prompt: 'Key for ' + name });",
      'md.appendMarkdown(`**${name}**`);',
      'md.appendText(name);',
      'export const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 1), `bad ${name}`);',
      'void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Scoring ${name}` }, async () => undefined);',
    ]) {
      assert.match((await problems(host, head + code + '\n')).join(), /pisar\/outside-text-escaped/, code);
    }
  });

  it('accepts literals and escaped text', async () => {
    for (const code of [
      "void vscode.window.showWarningMessage('PiSAR Review: open a dataset first.');",
      'void vscode.window.showWarningMessage(uiText(`Fix the field mapping: ${name}`));',
      'item.text = uiText(name);',
      "item.text = name ? '$(pulse) PiSAR' : uiText(name);",
      'md.appendMarkdown(\'**Row**\');',
    ]) {
      assert.deepEqual((await problems(host, head + code + '\n')).filter((p) => p.startsWith('pisar/')), [], code);
    }
  });
});
