// Builds one platform-specific .vsix per target with `vsce package --target`, each from a staging copy
// that holds only the bundle, media and the runtime packages the bundle leaves external, with only that
// platform's onnxruntime-node binary. The real node_modules is never modified.
// Usage: node scripts/package.mjs [--target linux-x64,darwin-arm64,...] [--out vsix] [--skip-build]
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

// Every platform onnxruntime-node ships a binary for (it has no darwin-x64 build).
const ALL_TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];

// Packages the esbuild bundles leave external (scripts/build.mjs) and their run-time dependencies.
// onnxruntime-web is bundled inside transformers' own dist, and adm-zip/global-agent only serve
// onnxruntime-node's install script, so neither ships.
const RUNTIME_PACKAGES = ['@huggingface/transformers', '@huggingface/jinja', '@huggingface/tokenizers', 'onnxruntime-node', 'onnxruntime-common'];

// Files of each runtime package that the Node build needs; everything else (web bundles, sources,
// typings, other platforms' binaries) stays out.
const KEEP = {
  '@huggingface/transformers': (rel) => rel === 'package.json' || rel === 'LICENSE' || /^dist\/transformers\.node\.(cjs|mjs)$/.test(rel),
  'onnxruntime-node': (rel, target) => {
    if (rel === 'package.json' || rel === 'LICENSE' || /^dist\/[^/]+\.js$/.test(rel)) return true;
    const [platform, arch] = target.split('-');
    const prefix = `bin/napi-v6/${platform}/${arch}/`;
    if (!rel.startsWith(prefix)) return false;
    // The darwin binding loads @rpath/libonnxruntime.1.dylib; the versioned name is a byte-identical copy.
    return !/libonnxruntime\.\d+\.\d+\.\d+\.dylib$/.test(rel);
  },
};
const keepByDefault = (rel) => !/\.(d\.ts|map|md|ts)$/.test(rel) || rel === 'README.md';

function parseArgs(argv) {
  const args = { targets: ALL_TARGETS, out: path.join(root, 'vsix'), build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--target') args.targets = argv[++i].split(',').map((t) => t.trim()).filter(Boolean);
    else if (a === '--out') args.out = path.resolve(argv[++i]);
    else if (a === '--skip-build') args.build = false;
    else {
      console.error(`package.mjs: unknown argument ${a}. Usage: node scripts/package.mjs [--target ${ALL_TARGETS.join(',')}] [--out dir] [--skip-build]`);
      process.exit(2);
    }
  }
  for (const t of args.targets) {
    if (!ALL_TARGETS.includes(t)) {
      console.error(`package.mjs: no onnxruntime-node binary for target "${t}". Choose from ${ALL_TARGETS.join(', ')}.`);
      process.exit(2);
    }
  }
  return args;
}

function packageDir(name) {
  const dir = path.join(root, 'node_modules', name);
  if (!existsSync(path.join(dir, 'package.json'))) throw new Error(`${name} is not installed in node_modules: run \`ONNXRUNTIME_NODE_INSTALL=skip npm ci\` first.`);
  return dir;
}

function walk(dir, base = dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') walk(full, base, out);
    } else out.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return out;
}

function copyFiltered(from, to, keep) {
  for (const rel of walk(from)) {
    if (!keep(rel)) continue;
    mkdirSync(path.dirname(path.join(to, rel)), { recursive: true });
    cpSync(path.join(from, rel), path.join(to, rel));
  }
}

/** The bundles must only require Node built-ins, vscode, and packages that ship. */
function checkBundleRequires(distDir, shipped) {
  const allowed = new Set([...builtinModules, 'vscode', ...shipped]);
  const problems = [];
  for (const rel of walk(distDir).filter((f) => f.endsWith('.js') && !f.startsWith('webview/'))) {
    const text = readFileSync(path.join(distDir, rel), 'utf8');
    for (const m of text.matchAll(/\b(?:require|import)\(\s*["']([^"'.][^"']*)["']\s*\)/g)) {
      const spec = m[1].replace(/^node:/, '');
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (!allowed.has(name) && !allowed.has(spec)) problems.push(`dist/${rel} requires "${m[1]}", which the .vsix does not ship`);
    }
  }
  if (problems.length) throw new Error(`${problems.join('\n')}\nAdd it to RUNTIME_PACKAGES in scripts/package.mjs or bundle it (scripts/build.mjs).`);
}

function stage(target, stagingRoot) {
  const dir = path.join(stagingRoot, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const versions = Object.fromEntries(RUNTIME_PACKAGES.map((n) => [n, JSON.parse(readFileSync(path.join(packageDir(n), 'package.json'), 'utf8')).version]));
  // The staged manifest lists exactly what ships, so `npm list --production` (vsce) sees a closed set.
  manifest.dependencies = { ...versions, sharp: '0.0.0-pisar-stub' };
  delete manifest.devDependencies;
  delete manifest.scripts;
  delete manifest.bin;
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));

  for (const file of ['README.md', 'LICENSE', 'CHANGELOG.md', '.vscodeignore']) {
    if (existsSync(path.join(root, file))) cpSync(path.join(root, file), path.join(dir, file));
  }
  copyFiltered(path.join(root, 'dist'), path.join(dir, 'dist'), (rel) => !rel.endsWith('.map'));
  copyFiltered(path.join(root, 'media'), path.join(dir, 'media'), () => true);
  // The README links the guides in docs/: they ship beside it, so its relative links work in the installed extension.
  if (existsSync(path.join(root, 'docs'))) copyFiltered(path.join(root, 'docs'), path.join(dir, 'docs'), (rel) => rel.endsWith('.md'));
  if (existsSync(path.join(root, 'samples'))) {
    copyFiltered(path.join(root, 'samples'), path.join(dir, 'samples'), (rel) => rel === 'pisar-sample.jsonl' || rel === 'README.md' || rel.startsWith('images/'));
  }

  for (const name of RUNTIME_PACKAGES) {
    const keep = KEEP[name] ?? keepByDefault;
    const to = path.join(dir, 'node_modules', name);
    copyFiltered(packageDir(name), to, (rel) => keep(rel, target));
    // Declare only the dependencies that ship (see RUNTIME_PACKAGES).
    const pj = JSON.parse(readFileSync(path.join(to, 'package.json'), 'utf8'));
    if (pj.dependencies) {
      for (const dep of Object.keys(pj.dependencies)) if (!RUNTIME_PACKAGES.includes(dep) && dep !== 'sharp') delete pj.dependencies[dep];
      if (pj.dependencies.sharp) pj.dependencies.sharp = '0.0.0-pisar-stub';
    }
    delete pj.scripts;
    delete pj.devDependencies;
    writeFileSync(path.join(to, 'package.json'), JSON.stringify(pj, null, 2));
  }

  // transformers.js imports sharp at load time but only calls it to decode images for vision models;
  // scoring embeds text only, so a stub that fails loudly if ever called replaces ~18 MB of libvips
  // that exists here for linux-x64 alone.
  const sharpDir = path.join(dir, 'node_modules', 'sharp');
  mkdirSync(sharpDir, { recursive: true });
  writeFileSync(path.join(sharpDir, 'package.json'), JSON.stringify({ name: 'sharp', version: '0.0.0-pisar-stub', main: 'index.js', license: 'MIT' }, null, 2));
  writeFileSync(
    path.join(sharpDir, 'index.js'),
    "'use strict';\n// PiSAR Review embeds text only; image decoding (sharp) is not shipped.\nmodule.exports = function sharp() {\n  throw new Error('PiSAR Review does not ship image processing (sharp): local embedding models must be text-only.');\n};\n",
  );
  return dir;
}

function vsixEntries(file) {
  return execFileSync('unzip', ['-Z1', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n').filter(Boolean);
}

/** Fails the build when a .vsix holds anything that must not ship. */
function checkVsix(file, target) {
  const entries = vsixEntries(file).filter((e) => e.startsWith('extension/')).map((e) => e.slice('extension/'.length));
  const [platform, arch] = target.split('-');
  const bad = entries.filter(
    (e) =>
      /^(src|test|webview|scripts|out|\.cache)\//.test(e) ||
      /\.(ts|map)$/.test(e) && !e.endsWith('.d.ts') ||
      (e.includes('/bin/napi-v6/') && !e.includes(`/bin/napi-v6/${platform}/${arch}/`)) ||
      /^node_modules\/(typescript|mocha|esbuild|@vscode\/vsce|playwright-core|@types|onnxruntime-web|openai|@vscode-elements)\//.test(e),
  );
  if (bad.length) throw new Error(`${path.basename(file)} ships files it must not:\n  ${bad.slice(0, 20).join('\n  ')}`);
  for (const needed of ['dist/extension.js', 'dist/review.js', 'dist/engine.js', 'dist/dataset-worker.js', 'dist/mac-worker.js', 'package.json', `node_modules/onnxruntime-node/bin/napi-v6/${platform}/${arch}/onnxruntime_binding.node`, 'node_modules/@huggingface/transformers/dist/transformers.node.mjs']) {
    if (!entries.includes(needed)) throw new Error(`${path.basename(file)} is missing ${needed}`);
  }
  return entries.length;
}

const args = parseArgs(process.argv.slice(2));
if (args.build) execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--production'], { cwd: root, stdio: 'inherit' });
checkBundleRequires(path.join(root, 'dist'), [...RUNTIME_PACKAGES, 'sharp']);

const stagingRoot = path.join(root, '.cache', 'package');
const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
const { version, name } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
mkdirSync(args.out, { recursive: true });
const results = [];
for (const target of args.targets) {
  const dir = stage(target, stagingRoot);
  const file = path.join(args.out, `${name}-${target}-${version}.vsix`);
  // --no-rewrite-relative-links: README's links to docs/ stay relative (the package has no repository URL to prefix).
  const flags = ['package', '--target', target, '--out', file, '--allow-missing-repository', '--no-yarn', '--no-rewrite-relative-links'];
  if (!existsSync(path.join(dir, 'LICENSE'))) flags.push('--skip-license');
  execFileSync(process.execPath, [vsce, ...flags], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  const files = checkVsix(file, target);
  results.push({ target, file: path.relative(root, file), files, mb: statSync(file).size / 1e6 });
}
for (const r of results) console.log(`${r.target.padEnd(13)} ${r.mb.toFixed(1).padStart(6)} MB  ${String(r.files).padStart(4)} files  ${r.file}`);
