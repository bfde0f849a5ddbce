// Runs every scripts/bench/*.bench.mjs in turn, after compiling the core (out/) and bundling (dist/).
// Each bench prints its own table of ratios and writes bench-results/<name>.json.
// Usage: npm run bench [-- <name-filter>]
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goalLines } from './goals.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const filter = process.argv[2];

execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.test.json'], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });

const started = Date.now();
const benches = readdirSync(here).filter((name) => name.endsWith('.bench.mjs') && (!filter || name.includes(filter))).sort();
let failed = 0;
for (const bench of benches) {
  console.log(`\n=== ${bench} ===`);
  const result = spawnSync(process.execPath, ['--expose-gc', join(here, bench)], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    failed += 1;
    console.log(`${bench} exited with ${result.status}`);
  }
}
console.log('\n=== issue 23: goals, measured side by side in this run ===');
for (const line of goalLines(root, started)) console.log(line);
console.log(`  load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
process.exitCode = failed > 0 ? 1 : 0;
