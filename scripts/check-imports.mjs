#!/usr/bin/env node
// Dependency hygiene, checked by `make test` (and `make check-imports`):
//  1. every workspace package is "private": true and its package.json
//     "dependencies" are exactly the packages its src/ imports (type-only and
//     lazy imports included); its tests import only what it or the root declares;
//  2. no import cycle among the non-test sources — packages/*/src, bench/,
//     demo/, test/netns/src — counting `import type` and `import()` edges,
//     read from the TypeScript files themselves (madge; the compiled
//     JavaScript has lost its type-only imports).
// Exits 1 with one line per problem. --root DIR checks another tree (tests).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import madge from 'madge';
import ts from 'typescript';

const args = process.argv.slice(2);
const root = args[0] === '--root' && args[1] ? args[1] : process.cwd();

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const exists = (path) => {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
};

/** Every .ts file under dir (no .d.ts, nothing under node_modules or dist). */
function tsFiles(dir) {
  if (!exists(dir)) return [];
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const BUILTIN = new Set(builtinModules);

/** The npm package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined for relative and built-in ones. */
function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return BUILTIN.has(name) ? undefined : name;
}

/** Packages a file imports: static, type-only, re-exports and import(). */
function importedPackages(file) {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => packageOf(f.fileName)).filter((p) => p !== undefined);
}

function union(files) {
  const out = new Map();
  for (const f of files) for (const p of importedPackages(f)) if (!out.has(p)) out.set(p, f);
  return out;
}

const problems = [];
const rootPkg = readJson(join(root, 'package.json'));
const rootDeclared = new Set([...Object.keys(rootPkg.dependencies ?? {}), ...Object.keys(rootPkg.devDependencies ?? {})]);
const workspaces = (rootPkg.workspaces ?? []).map((w) => ({ dir: join(root, w), pkg: readJson(join(root, w, 'package.json')) }));
const workspaceNames = new Set(workspaces.map((w) => w.pkg.name));

for (const { dir, pkg } of workspaces) {
  const where = relative(root, dir);
  if (pkg.private !== true) problems.push(`${where}/package.json: not "private": true (workspace packages are not published)`);
  const declared = new Set(Object.keys(pkg.dependencies ?? {}));
  const used = union(tsFiles(join(dir, 'src')));
  for (const [name, file] of used) if (!declared.has(name)) problems.push(`${where}/package.json: "${name}" is imported by ${relative(root, file)} but not in "dependencies"`);
  for (const name of declared) if (!used.has(name)) problems.push(`${where}/package.json: "${name}" is in "dependencies" but nothing in ${where}/src imports it`);
  const testFiles = tsFiles(dir).filter((f) => !f.startsWith(join(dir, 'src') + '/'));
  for (const [name, file] of union(testFiles)) {
    if (!declared.has(name) && !rootDeclared.has(name) && !workspaceNames.has(name)) problems.push(`${relative(root, file)}: imports "${name}", which neither ${where}/package.json nor the root package.json declares`);
  }
}
for (const dir of ['bench', 'demo']) {
  for (const [name, file] of union(tsFiles(join(root, dir)))) {
    if (!rootDeclared.has(name) && !workspaceNames.has(name)) problems.push(`${relative(root, file)}: imports "${name}", which the root package.json does not declare`);
  }
}

// Cycles among the non-test sources, one graph for all of them.
const sourceDirs = [
  ...workspaces.map((w) => join(w.dir, 'src')),
  join(root, 'bench'),
  join(root, 'demo'),
].filter(exists);
const testFile = (path) => /\.test\.ts$|\/test\//.test(path) && !path.includes('test/netns/src/');
const files = sourceDirs.flatMap(tsFiles).filter((f) => !testFile(relative(root, f)));
if (files.length > 0) {
  const graph = await madge(files, {
    baseDir: root,
    fileExtensions: ['ts'],
    tsConfig: exists(join(root, 'tsconfig.base.json')) ? join(root, 'tsconfig.base.json') : undefined,
    // Only our own files: a package seen through node_modules ends the walk there.
    excludeRegExp: [/node_modules/, /\/dist\//],
    detectiveOptions: { ts: { skipTypeImports: false, skipAsyncImports: false }, es6: { skipTypeImports: false } },
  });
  for (const cycle of graph.circular()) problems.push(`import cycle: ${[...cycle, cycle[0]].join(' -> ')}`);
}

for (const p of problems) console.error(`check-imports: ${p}`);
if (problems.length) process.exit(1);
console.log(`check-imports: ${workspaces.length} packages declare what they import; no import cycle among ${files.length} source files`);
