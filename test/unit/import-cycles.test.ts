import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** No import cycle in src/ (scripts/import-cycles.mjs, also run by `npm run lint`). */

const repo = path.resolve(__dirname, '../../..');
const script = path.join(repo, 'scripts/import-cycles.mjs');

function cyclesOf(dir: string): { status: number | null; cycles: string[][]; stderr: string } {
  const run = spawnSync(process.execPath, [script, dir, '--json'], { encoding: 'utf8' });
  return { status: run.status, cycles: JSON.parse(run.stdout) as string[][], stderr: run.stderr };
}

describe('import graph of src/', function () {
  this.timeout(60_000);

  it('holds no cycle between files or between the folders of src/core, type-only and late imports included', () => {
    const { status, cycles } = cyclesOf(path.join(repo, 'src'));
    assert.deepEqual(cycles, []);
    assert.equal(status, 0);
  });

  it('finds a cycle through a type-only import and one through a late import(), and names their files', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-cycles-'));
    try {
      await fsp.mkdir(path.join(dir, 'a'));
      await fsp.writeFile(path.join(dir, 'a/lane.ts'), "import type { Stats } from './run';\nexport const lane = (s: Stats) => s;\n");
      await fsp.writeFile(path.join(dir, 'a/run.ts'), "import { lane } from './lane';\nexport interface Stats { n: number }\nexport const run = lane;\n");
      await fsp.writeFile(path.join(dir, 'scorer.ts'), "export async function load() { return import('./embedder'); }\nexport type Dtype = 'q8';\n");
      await fsp.writeFile(path.join(dir, 'embedder.ts'), "import type { Dtype } from './scorer';\nexport const d: Dtype = 'q8';\n");
      await fsp.writeFile(path.join(dir, 'leaf.ts'), "import { run } from './a/run';\nexport const x = run;\n");
      const { status, cycles } = cyclesOf(dir);
      assert.equal(status, 1);
      assert.deepEqual(cycles.map((c) => c.join(' ')).sort(), ['a/lane.ts a/run.ts', 'embedder.ts scorer.ts']);
      // Without --json it tells a person which files and what to do.
      const text = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' }).stderr;
      assert.match(text, /import cycle among 2 files: a\/lane\.ts, a\/run\.ts\. Move what they share into a lower module/);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('finds two floors of the engine (folders of core/) that import each other through different files', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-floors-'));
    try {
      await fsp.mkdir(path.join(dir, 'core/review'), { recursive: true });
      await fsp.mkdir(path.join(dir, 'core/report'), { recursive: true });
      await fsp.mkdir(path.join(dir, 'core/rules'), { recursive: true });
      await fsp.writeFile(path.join(dir, 'core/rules/rules.ts'), 'export const threshold = 0.7;\n');
      await fsp.writeFile(path.join(dir, 'core/review/model.ts'), "import { summary } from '../report/summary';\nimport { threshold } from '../rules/rules';\nexport const model = summary + threshold;\n");
      await fsp.writeFile(path.join(dir, 'core/review/rules.ts'), 'export const suspect = 2;\n');
      await fsp.writeFile(path.join(dir, 'core/report/summary.ts'), 'export const summary = 1;\n');
      await fsp.writeFile(path.join(dir, 'core/report/stats.ts'), "import type { suspect } from '../review/rules';\nexport type S = typeof suspect;\n");
      const { status, cycles, stderr } = cyclesOf(dir);
      assert.equal(status, 1, stderr);
      assert.deepEqual(cycles, [['core/report/', 'core/review/']]);
      await fsp.rm(path.join(dir, 'core/report/stats.ts'));
      assert.deepEqual(cyclesOf(dir).cycles, []);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('is part of npm run lint', () => {
    const manifest = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(manifest.scripts.lint, /node scripts\/import-cycles\.mjs src/);
  });
});
