#!/usr/bin/env node
// Fails when the TypeScript import graph under a folder (default src/) holds a cycle: between files,
// or between the floors of the engine (the folders of src/core: http, rules, dataset, store, ...).
// Every import counts, `import type` and late `await import()` included: a cycle of types is still a
// floor that leans on the one above it. Usage: node scripts/import-cycles.mjs [dir] [--json]
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

/** Relative module specifiers of one file: static imports, re-exports and `import()` calls. */
function specifiersOf(file) {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      found.push(node.arguments[0].text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push(node.moduleReference.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.filter((s) => s.startsWith('.'));
}

function resolve(from, specifier) {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

function filesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Each file's imports (files under `dir`). */
function importGraph(dir) {
  const files = filesUnder(dir).sort();
  return new Map(files.map((f) => [f, [...new Set(specifiersOf(f).map((s) => resolve(f, s)).filter(Boolean))].sort()]));
}

/** The graph with each file replaced by its folder just below `floorsDir` (files elsewhere dropped); no self edges. */
function floorGraph(fileEdges, floorsDir) {
  const floorOf = (f) => {
    const rel = path.relative(floorsDir, f).split(path.sep);
    return rel.length > 1 && rel[0] !== '..' ? path.join(floorsDir, rel[0]) : undefined;
  };
  const edges = new Map();
  for (const [f, targets] of fileEdges) {
    const from = floorOf(f);
    if (!from) continue;
    const set = edges.get(from) ?? new Set();
    for (const t of targets) {
      const to = floorOf(t);
      if (to && to !== from) set.add(to);
    }
    edges.set(from, set);
  }
  return new Map([...edges].map(([k, v]) => [k, [...v].sort()]));
}

/**
 * The cycles under `dir`, each as the files (or floors) on it, relative to `dir`: between files, and
 * between the folders just below `dir`/`floors` (default core) when that folder exists.
 */
export function importCycles(dir, floors = 'core') {
  const files = importGraph(dir);
  const floorsDir = path.join(dir, floors);
  const folderCycles = fs.existsSync(floorsDir) ? stronglyConnected(floorGraph(files, floorsDir), dir).map((c) => c.map((f) => `${f}/`)) : [];
  return [...stronglyConnected(files, dir), ...folderCycles];
}

/** Tarjan's strongly connected components; a component of two or more nodes, or a node importing itself, is a cycle. */
function stronglyConnected(edges, dir) {
  let next = 0;
  const index = new Map(), low = new Map(), stack = [], onStack = new Set(), cycles = [];
  const connect = (v) => {
    index.set(v, next); low.set(v, next); next++; stack.push(v); onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) { connect(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do { w = stack.pop(); onStack.delete(w); component.push(w); } while (w !== v);
      if (component.length > 1 || (edges.get(v) ?? []).includes(v)) cycles.push(component.map((f) => path.relative(dir, f)).sort());
    }
  };
  for (const f of edges.keys()) if (!index.has(f)) connect(f);
  return cycles;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('import-cycles.mjs')) {
  const args = process.argv.slice(2);
  const dir = path.resolve(args.find((a) => !a.startsWith('--')) ?? 'src');
  const cycles = importCycles(dir);
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify(cycles)}\n`);
  else for (const cycle of cycles) process.stderr.write(`${dir}: import cycle among ${cycle.length} ${cycle[0].endsWith('/') ? 'folders' : 'files'}: ${cycle.join(', ')}. Move what they share into a lower module that imports none of them.\n`);
  process.exitCode = cycles.length ? 1 : 0;
}
