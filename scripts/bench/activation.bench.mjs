// Activation time in the real VS Code of the e2e suite (goal < 50 ms, issue 23.5), this checkout beside a
// baseline build, side by side in one run. Each round runs the e2e `Activation` spec (test/e2e/specs) once on each
// .vsix (the order alternating), in a fresh code-server profile: it opens a dataset (the extension activates on it),
// reads the extension host's activation time from Developer: Show Running Extensions (code loading + the
// activate call: what VS Code reports), the extension's own marks from its log ("Activated in N ms": the
// activate() body; "the review features loaded ... in N ms": dist/review.js at its first use, after activation),
// and writes them to test-results/activation.json, with the activation event and the extensions VS Code started
// activating in the same batch (its figure for each extension of a batch includes the code loading of those
// before it: built-ins first). This script prints each round, the medians, the goal and the
// ratios, with the load average.
// The baseline is the last commit whose dist/extension.js carried the whole extension (before the review
// features moved to dist/review.js), built from `git archive` of that commit with this checkout's node_modules.
// Needs the e2e cache (Node 24 and code-server, installed by a first `bash test/e2e/run`); without it the bench
// says so and is skipped (exit 0). PISAR_E2E_CACHE names the cache (default .cache/e2e).
// Usage: node scripts/bench/activation.bench.mjs [--rounds 3] [--baseline <commit>] [--no-baseline]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const GOAL_MS = 50;
/** The single-bundle activation: main just before the split (src/host/lazyReview.ts). */
const DEFAULT_BASELINE = '000c209';
const cache = process.env.PISAR_E2E_CACHE || join(root, '.cache', 'e2e');
const chromium = process.env.PISAR_E2E_CHROMIUM || '/usr/bin/chromium';
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const rounds = Number(option('--rounds', process.env.PISAR_BENCH_ACTIVATION_ROUNDS ?? '3'));
const baselineRev = argv.includes('--no-baseline') ? null : option('--baseline', DEFAULT_BASELINE);

const codeServer = join(cache, 'code-server');
const installed = existsSync(codeServer) && readdirSync(codeServer).some((name) => name.startsWith('.installed-'));
if (!installed || !existsSync(chromium)) {
  console.log(`activation: skipped (${!installed ? `no e2e cache at ${cache}: a first \`bash test/e2e/run\` installs Node 24 and code-server there, or set PISAR_E2E_CACHE` : `no Chromium at ${chromium}`})`);
  process.exit(0);
}

const work = join(root, '.cache', 'bench-activation');
mkdirSync(work, { recursive: true });
const vsixIn = (dir) => join(dir, readdirSync(dir).find((f) => f.endsWith('.vsix')));

/** Packages a checkout's linux-x64 .vsix into `out` (scripts/package.mjs builds the production bundles). */
function packageVsix(checkout, out) {
  rmSync(out, { recursive: true, force: true });
  execFileSync(process.execPath, [join(checkout, 'scripts', 'package.mjs'), '--target', 'linux-x64', '--out', out], { cwd: checkout, stdio: 'pipe', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  return vsixIn(out);
}

/** The baseline's .vsix, built once per commit from `git archive` with this checkout's node_modules. */
function baselineVsix(rev) {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${rev}^{commit}`], { cwd: root, encoding: 'utf8' }).trim();
  const out = join(work, `baseline-${commit.slice(0, 12)}`);
  if (existsSync(out) && readdirSync(out).some((f) => f.endsWith('.vsix'))) return { commit, vsix: vsixIn(out) };
  const src = join(work, 'baseline-src');
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  execFileSync('bash', ['-c', `git -C "${root}" archive "${commit}" | tar -x -C "${src}"`]);
  symlinkSync(join(root, 'node_modules'), join(src, 'node_modules'));
  try {
    return { commit, vsix: packageVsix(src, out) };
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

console.log(`activation: packaging this checkout${baselineRev ? ` and the baseline ${baselineRev}` : ''} (linux-x64 .vsix)…`);
const variants = [{ name: 'this build', vsix: packageVsix(root, join(work, 'current')) }];
if (baselineRev) {
  const { commit, vsix } = baselineVsix(baselineRev);
  variants.push({ name: `baseline ${commit.slice(0, 7)}`, vsix });
}

const report = join(root, 'test-results', 'activation.json');
const loadBefore = load();
const samples = new Map(variants.map((v) => [v.name, []]));
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 ? variants : [...variants].reverse();
  for (const variant of order) {
    rmSync(report, { force: true });
    const run = spawnSync('bash', [join(root, 'test', 'e2e', 'run'), '--grep', '^Activation '], { cwd: root, env: { ...process.env, PISAR_E2E_CACHE: cache, PISAR_E2E_VSIX: variant.vsix }, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (!existsSync(report)) {
      // One failed run (a workbench timeout under load) leaves a round out, not the bench.
      console.log(`${run.stdout.slice(-1500)}\n${run.stderr.slice(-1500)}`);
      console.log(`  round ${round}, ${variant.name}: the e2e run (exit ${run.status}) wrote no ${report}; left out`);
      continue;
    }
    const sample = { ...JSON.parse(readFileSync(report, 'utf8')), specExit: run.status, load: load() };
    samples.get(variant.name).push(sample);
    console.log(`  round ${round}, ${variant.name}: ${sample.runningExtensionsActivationMs} ms in Running Extensions, activate() body ${sample.activateFunctionMs} ms${sample.ownCodeLoadMs != null ? `, its code loaded in ${sample.ownCodeLoadMs} ms by VS Code's marks` : ''}${sample.reviewFeaturesLoadMs != null ? `, review features loaded after activation in ${sample.reviewFeaturesLoadMs} ms` : ''}; activated on '${sample.activationEvent}'${sample.activationStartedWith?.length ? ` in one batch after ${sample.activationStartedWith.join(', ')}` : ' alone'} (spec exit ${run.status}; load ${sample.load})`);
  }
}
const loadAfter = load();

const summary = (name) => {
  const s = samples.get(name) ?? [];
  return {
    runningExtensionsActivationMs: median(s.map((x) => x.runningExtensionsActivationMs)),
    activateFunctionMs: median(s.map((x) => x.activateFunctionMs)),
    ownCodeLoadMs: median(s.map((x) => x.ownCodeLoadMs)),
    reviewFeaturesLoadMs: median(s.map((x) => x.reviewFeaturesLoadMs)),
    runs: s,
  };
};
const after = summary(variants[0].name);
const before = baselineRev ? summary(variants[1].name) : null;
console.log(`activation in code-server (real VS Code, extension host), median of ${rounds} round(s):`);
console.log(`  this build: ${after.runningExtensionsActivationMs} ms in Running Extensions (code loading + activate call; goal < ${GOAL_MS} ms: ${after.runningExtensionsActivationMs < GOAL_MS ? 'met' : 'not met'}, ${(after.runningExtensionsActivationMs / GOAL_MS).toFixed(2)}x the goal), activate() body ${after.activateFunctionMs} ms, its own code loaded in ${after.ownCodeLoadMs} ms by VS Code's marks (willLoadExtensionCode to didLoadExtensionCode: Running Extensions' clock starts with every extension of the batch); the review features (dist/review.js) load at their first use, after activation: ${after.reviewFeaturesLoadMs} ms`);
if (before) console.log(`  ${variants[1].name}: ${before.runningExtensionsActivationMs} ms in Running Extensions, activate() body ${before.activateFunctionMs} ms; this build activates in ${(after.runningExtensionsActivationMs / before.runningExtensionsActivationMs).toFixed(3)}x its time`);
console.log(`  load average before ${loadBefore}, after ${loadAfter}`);
mkdirSync(join(root, 'bench-results'), { recursive: true });
writeFileSync(join(root, 'bench-results', 'activation.json'), `${JSON.stringify({
  runningExtensionsActivationMs: after.runningExtensionsActivationMs,
  activateFunctionMs: after.activateFunctionMs,
  ownCodeLoadMs: after.ownCodeLoadMs,
  reviewFeaturesLoadMs: after.reviewFeaturesLoadMs,
  goalMs: GOAL_MS,
  rounds,
  baseline: before ? { name: variants[1].name, runningExtensionsActivationMs: before.runningExtensionsActivationMs, activateFunctionMs: before.activateFunctionMs } : null,
  loadBefore,
  loadAfter,
  runs: Object.fromEntries(samples),
}, null, 2)}\n`);
process.exitCode = 0; // a timing is reported, never a failure: the load of a shared machine moves it
