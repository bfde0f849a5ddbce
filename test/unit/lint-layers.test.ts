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
