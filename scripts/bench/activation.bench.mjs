// Activation time in the real VS Code of the e2e suite (goal < 50 ms, issue 23.5): the e2e runner packages the
// .vsix, installs it into a fresh code-server profile and runs the Activation spec, which opens a dataset (the
// extension activates on it), reads the extension host's activation time from Developer: Show Running Extensions
// (code loading + the activate call) and the extension's own mark from its log ("Activated in N ms": the activate()
// body), and writes both to test-results/activation.json. This script prints them with the load average.
// Needs the e2e cache (Node 24 and code-server, installed by a first `bash test/e2e/run`); without it the bench
// says so and is skipped (exit 0). PISAR_E2E_CACHE names the cache (default .cache/e2e).
// Usage: node scripts/bench/activation.bench.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const GOAL_MS = 50;
const cache = process.env.PISAR_E2E_CACHE || join(root, '.cache', 'e2e');
const chromium = process.env.PISAR_E2E_CHROMIUM || '/usr/bin/chromium';
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const codeServer = join(cache, 'code-server');
const installed = existsSync(codeServer) && readdirSync(codeServer).some((name) => name.startsWith('.installed-'));
if (!installed || !existsSync(chromium)) {
  console.log(`activation: skipped (${!installed ? `no e2e cache at ${cache}: a first \`bash test/e2e/run\` installs Node 24 and code-server there, or set PISAR_E2E_CACHE` : `no Chromium at ${chromium}`})`);
  process.exit(0);
}

const report = join(root, 'test-results', 'activation.json');
rmSync(report, { force: true });
const loadBefore = load();
const run = spawnSync('bash', [join(root, 'test', 'e2e', 'run'), '--grep', '^Activation '], { cwd: root, env: { ...process.env, PISAR_E2E_CACHE: cache }, encoding: 'utf8', maxBuffer: 64 << 20 });
const loadAfter = load();
if (!existsSync(report)) {
  console.log(`${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`);
  console.log(`activation: the e2e run (exit ${run.status}) wrote no ${report}`);
  process.exit(1);
}
const { runningExtensionsActivationMs: hostMs, activateFunctionMs: bodyMs } = JSON.parse(readFileSync(report, 'utf8'));
console.log(`activation in code-server (real VS Code, extension host): ${hostMs} ms in Running Extensions (code loading + activate call; goal < ${GOAL_MS} ms: ${hostMs < GOAL_MS ? 'met' : 'not met'}), activate() body ${bodyMs} ms (the extension's own mark); load average before ${loadBefore}, after ${loadAfter}`);
mkdirSync(join(root, 'bench-results'), { recursive: true });
writeFileSync(join(root, 'bench-results', 'activation.json'), `${JSON.stringify({ runningExtensionsActivationMs: hostMs, activateFunctionMs: bodyMs, goalMs: GOAL_MS, loadBefore, loadAfter, specExit: run.status }, null, 2)}\n`);
if (run.status !== 0) console.log(`activation: note: the Activation spec itself exited ${run.status} (see test-results/ for its screenshots)`);
process.exitCode = 0; // a timing is reported, never a failure: the load of a shared machine moves it
