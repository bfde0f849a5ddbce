// Bundles the extension host, the CLI, the scoring worker and the panel app with esbuild.
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

// Native and heavy runtime modules stay outside the bundle and ship in node_modules.
const nodeExternal = ['vscode', 'onnxruntime-node', 'sharp', '@huggingface/transformers'];

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  define: { PISAR_VERSION: JSON.stringify(version) },
};

const builds = [
  // Activation loads this small entry alone: it registers ids and forwards each to dist/review.js.
  { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternal },
  // The review features, loaded at their first use (src/host/lazyReview.ts): a dataset open, a command, the panel.
  { ...common, entryPoints: ['src/host/reviewFeatures.ts'], outfile: 'dist/review.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternal },
  // Loaded at the first score (src/host/loadEngine.ts), so activation parses none of openai or the scorer.
  { ...common, entryPoints: ['src/host/engine.ts'], outfile: 'dist/engine.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternal },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternal },
];
if (existsSync('src/core/scoring/worker.ts')) {
  builds.push({ ...common, entryPoints: ['src/core/scoring/worker.ts'], outfile: 'dist/scoring-worker.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternal });
}
// The contradiction check's NLI model runs in a worker thread of its own (src/core/scoring/nli.ts).
builds.push({ ...common, entryPoints: ['src/core/scoring/nliWorker.ts'], outfile: 'dist/nli-worker.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternal });
// Dataset.open indexes a large file in parts, one a worker thread (src/core/dataset/parallelIndex.ts).
builds.push({ ...common, entryPoints: ['src/core/dataset/indexWorker.ts'], outfile: 'dist/dataset-worker.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternal });
// A large results sidecar has its MACs checked on a worker thread while it is parsed (src/core/store/macCheck.ts).
builds.push({ ...common, entryPoints: ['src/core/store/macWorker.ts'], outfile: 'dist/mac-worker.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternal });
if (existsSync('webview/main.ts')) {
  builds.push({ ...common, entryPoints: ['webview/main.ts'], outfile: 'dist/webview/main.js', platform: 'browser', format: 'esm', target: 'es2022' });
}

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('watching…');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
