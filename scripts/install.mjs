#!/usr/bin/env node
// `make install` and `make dist`: lays the built project out as a tree that
// runs without the checkout (see the README's "Install on a host"):
//
//   <root><prefix>/bin/{pilot,overlayd,svcproxy,dnsd}      sh wrappers
//   <root><prefix>/lib/pilot/node_modules/@pilot/<pkg>/    package.json, bin/, dist/*.js
//   <root><prefix>/lib/pilot/node_modules/<dep>/           the runtime dependencies only
//   <root><prefix>/lib/pilot/node/bin/node                 --bundle-node (make dist) only
//   <root><prefix>/lib/pilot/libexec/overlayd-wait-ready   overlayd.service's readiness wait
//   <root><prefix>/lib/pilot/{MANIFEST,uninstall}          what was installed; removes it
//   <root><prefix>/share/doc/pilot/<pkg>/README.md
//   <root>/etc/systemd/system/{*.service,docker.service.d/overlayd.conf}
//   <root>/etc/default/<unit>                              examples, never overwritten
//   <root>/etc/sysctl.d/90-overlayd.conf
//
// The runtime dependencies are copied from this checkout's node_modules (what
// `npm ci` installed, resolved as Node resolves them from each workspace
// package), so an install needs no network. Only compiled JavaScript ships:
// no TypeScript sources, declarations, source maps or native build leftovers
// (those hold the checkout's path).
//
// Usage: install.mjs --root DIR --prefix /usr/local [--bundle-node] [--generic-dirs]
//   --bundle-node   copy this Node (process.execPath) into lib/pilot/node; the wrappers prefer it
//   --generic-dirs  (make dist) record in MANIFEST only pilot's own directories,
//                   not /usr/local/bin, /etc/default, ..., which the host already has
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const checkout = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const WORKSPACES = ['common', 'api', 'overlayd', 'svcproxy', 'dnsd', 'orchestrator-core'];
const WRAPPERS = [
  ['pilot', 'orchestrator-core/bin/pilot.js'],
  ['overlayd', 'overlayd/bin/overlayd.js'],
  ['svcproxy', 'svcproxy/bin/svcproxy.js'],
  ['dnsd', 'dnsd/bin/dnsd.js'],
];

class InstallError extends Error {}

function parseArgs(argv) {
  const o = { root: undefined, prefix: '/usr/local', bundleNode: false, genericDirs: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--root') o.root = argv[++i];
    else if (a === '--prefix') o.prefix = argv[++i];
    else if (a === '--bundle-node') o.bundleNode = true;
    else if (a === '--generic-dirs') o.genericDirs = true;
    else throw new InstallError(`${a}: unknown flag`);
  }
  if (o.root === undefined) throw new InstallError('--root is required (DESTDIR, or / for the running system)');
  if (!o.prefix.startsWith('/') || o.prefix.includes(' ')) throw new InstallError(`--prefix ${o.prefix}: must be an absolute path without spaces`);
  o.prefix = o.prefix.replace(/\/+$/, '') || '/';
  o.root = o.root === '' ? '/' : o.root;
  return o;
}

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

/** The package directory Node finds for `name` required from `fromDir` (checkout paths), or undefined. */
function resolvePackage(fromDir, name) {
  for (let d = fromDir; ; d = dirname(d)) {
    const c = join(d, 'node_modules', name);
    if (existsSync(join(c, 'package.json'))) return c;
    if (d === checkout || d === dirname(d)) return undefined;
  }
}

/** Where a checkout package directory goes, relative to lib/pilot. */
function destOf(src) {
  const rel = relative(checkout, src);
  const m = /^packages\/([^/]+)(\/.*)?$/.exec(rel);
  if (m) return `node_modules/@pilot/${m[1]}${m[2] ?? ''}`;
  if (!rel.startsWith('node_modules/')) throw new InstallError(`${src}: a dependency outside node_modules`);
  return rel;
}

/** Every runtime package: the workspace packages and the closure of their dependencies. */
function runtimePackages() {
  const seen = new Map(); // src dir -> { dest, workspace }
  const queue = WORKSPACES.map((w) => join(checkout, 'packages', w));
  for (const w of queue) seen.set(w, { dest: destOf(w), workspace: true });
  while (queue.length > 0) {
    const dir = queue.shift();
    const pkg = readJson(join(dir, 'package.json'));
    const wanted = [
      ...Object.keys(pkg.dependencies ?? {}).map((n) => [n, true]),
      ...Object.keys(pkg.optionalDependencies ?? {}).map((n) => [n, false]),
      ...Object.keys(pkg.peerDependencies ?? {}).map((n) => [n, !(pkg.peerDependenciesMeta?.[n]?.optional ?? false)]),
    ];
    for (const [name, required] of wanted) {
      let found = resolvePackage(dir, name);
      if (found === undefined) {
        if (required && !Object.keys(pkg.peerDependencies ?? {}).includes(name)) throw new InstallError(`${pkg.name} needs ${name}, which is not in node_modules: run make setup (npm ci) first`);
        continue;
      }
      if (found.includes(`node_modules${sep}@pilot${sep}`)) found = realpathSync(found);
      if (seen.has(found)) continue;
      seen.set(found, { dest: destOf(found), workspace: false });
      queue.push(found);
    }
  }
  return seen;
}

/** Files of a workspace package that run: package.json, its `files` minus declarations, maps and build state. */
function workspaceFiles(dir) {
  const pkg = readJson(join(dir, 'package.json'));
  const out = ['package.json'];
  for (const entry of pkg.files ?? []) {
    const p = join(dir, entry);
    if (!existsSync(p)) {
      if (entry === 'dist') throw new InstallError(`${relative(checkout, p)} is missing: run make build first`);
      continue;
    }
    for (const f of walk(p)) if (!/\.(d\.ts|d\.ts\.map|js\.map|tsbuildinfo)$/.test(f)) out.push(relative(dir, f));
  }
  return out;
}

/** Files of a dependency: everything but nested node_modules (packages of their own) and native build leftovers. */
function dependencyFiles(dir) {
  const out = [];
  for (const f of walk(dir, (d) => relative(dir, d) !== 'node_modules')) {
    const rel = relative(dir, f);
    // node-gyp's build/ (beside a binding.gyp) holds Makefiles and .d files naming the checkout; only the addons run.
    const gypBuild = /^((?:.*\/)?)build\/(.*)$/.exec(rel);
    if (gypBuild && existsSync(join(dir, gypBuild[1], 'binding.gyp')) && !/^Release\/[^/]+\.node$/.test(gypBuild[2])) continue;
    out.push(rel);
  }
  return out;
}

function* walk(p, descend = () => true) {
  const st = statSync(p);
  if (!st.isDirectory()) {
    yield p;
    return;
  }
  if (!descend(p)) return;
  for (const e of readdirSync(p).sort()) yield* walk(join(p, e), descend);
}

const sha256 = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');

class Installer {
  /** ownDirs: the directories that are pilot's alone; with genericDirs only those (and below) go into the manifest. */
  constructor(root, genericDirs, ownDirs) {
    this.root = root;
    this.genericDirs = genericDirs;
    this.ownDirs = ownDirs;
    this.files = []; // [kind, path(, sha256)], paths absolute on the target system
    this.dirs = [];
  }
  on(path) {
    return join(this.root, path);
  }
  /** mkdir -p, recording each directory it created (uninstall removes them when empty). */
  mkdir(path) {
    const missing = [];
    for (let d = path; d !== '/' && !existsSync(this.on(d)); d = dirname(d)) missing.unshift(d);
    mkdirSync(this.on(path), { recursive: true });
    for (const d of missing) if (!this.genericDirs || this.ownDirs.some((o) => d === o || d.startsWith(`${o}/`))) this.dirs.push(d);
  }
  write(path, content, mode = 0o644) {
    this.mkdir(dirname(path));
    writeFileSync(this.on(path), content, { mode });
    chmodSync(this.on(path), mode);
    this.files.push(['f', path]);
  }
  /** Copies the file's content (symlinks dereferenced: nothing installed links back into the checkout). */
  copy(src, path) {
    this.mkdir(dirname(path));
    copyFileSync(src, this.on(path));
    chmodSync(this.on(path), statSync(src).mode & 0o111 ? 0o755 : 0o644);
    this.files.push(['f', path]);
  }
  /** A configuration example: written only when absent, removed by uninstall only while unchanged. */
  conf(path, content) {
    if (existsSync(this.on(path))) {
      console.log(`install: kept ${path} (exists)`);
      return;
    }
    this.mkdir(dirname(path));
    writeFileSync(this.on(path), content, { mode: 0o644 });
    this.files.push(['c', path, sha256(this.on(path))]);
  }
}

function install(o) {
  const lib = join(o.prefix, 'lib/pilot');
  const bin = join(o.prefix, 'bin');
  const inst = new Installer(o.root, o.genericDirs, [lib, join(o.prefix, 'share/doc/pilot'), '/etc/systemd/system/docker.service.d']);
  // A reinstall starts from its predecessor's manifest: remove what it put there first.
  if (existsSync(inst.on(join(lib, 'MANIFEST')))) throw new InstallError(`${join(lib, 'MANIFEST')} exists: make uninstall first (it removes exactly what the last install put there)`);
  inst.mkdir(lib);

  const packages = runtimePackages();
  for (const [src, { dest, workspace }] of packages) {
    for (const rel of workspace ? workspaceFiles(src) : dependencyFiles(src)) inst.copy(join(src, rel), join(lib, dest, rel));
  }
  if (o.bundleNode) inst.copy(process.execPath, join(lib, 'node/bin/node'));
  inst.copy(join(checkout, 'deploy/libexec/overlayd-wait-ready'), join(lib, 'libexec/overlayd-wait-ready'));
  for (const w of WORKSPACES) {
    const readme = join(checkout, 'packages', w, 'README.md');
    if (existsSync(readme)) inst.copy(readme, join(o.prefix, 'share/doc/pilot', w, 'README.md'));
  }
  inst.copy(join(checkout, 'README.md'), join(o.prefix, 'share/doc/pilot/README.md'));

  // Bundled Node first, then the Node make install checked, then PATH's.
  const machineNode = o.bundleNode ? '' : realpathSync(process.execPath);
  for (const [name, entry] of WRAPPERS) {
    inst.write(
      join(bin, name),
      `#!/bin/sh
# ${name}: installed by pilot's make install; runs ${lib}/node_modules/@pilot/${entry}
# with the Node under ${lib}/node (make dist's bundle) or, failing that, ${machineNode || 'node on PATH'}.
# Finds lib/pilot beside its own bin/ (symlinks resolved), so a staged DESTDIR tree runs too.
self=$(readlink -f "$0") || exit 1
lib=$(dirname "$(dirname "$self")")/lib/pilot
node=$lib/node/bin/node
[ -x "$node" ] || node=${machineNode}
[ -x "$node" ] || node=$(command -v node) || { echo "${name}: no Node.js found (neither $lib/node nor node on PATH); install Node 20 or newer" >&2; exit 1; }
exec "$node" "$lib/node_modules/@pilot/${entry}" "$@"
`,
      0o755,
    );
  }

  // Units: ExecStart names $PREFIX/bin; the readiness wait lives in lib/pilot.
  const units = join(checkout, 'deploy/systemd');
  const sub = (text) => text.replaceAll('/usr/local/bin/', `${bin}/`).replaceAll('/usr/local/lib/pilot/', `${lib}/`).replaceAll('file:///usr/share/doc/pilot/', `file://${o.prefix}/share/doc/pilot/`);
  for (const f of readdirSync(units).sort()) {
    if (f.endsWith('.service')) inst.write(join('/etc/systemd/system', f), sub(readFileSync(join(units, f), 'utf8')));
  }
  inst.write('/etc/systemd/system/docker.service.d/overlayd.conf', readFileSync(join(units, 'docker.service.d/overlayd.conf'), 'utf8'));
  inst.write('/etc/sysctl.d/90-overlayd.conf', readFileSync(join(checkout, 'deploy/sysctl.d/90-overlayd.conf'), 'utf8'));
  const defaults = join(checkout, 'deploy/default');
  for (const f of readdirSync(defaults).sort()) inst.conf(join('/etc/default', f), readFileSync(join(defaults, f), 'utf8'));

  // The manifest lists itself and uninstall last, so uninstall removes them last.
  inst.copy(join(checkout, 'deploy/libexec/uninstall'), join(lib, 'uninstall'));
  inst.files.push(['f', join(lib, 'MANIFEST')]);
  const lines = [
    '# pilot install manifest: what make install (or make dist) put on this system; read by ./uninstall',
    `# prefix ${o.prefix}`,
    ...inst.files.map(([k, p, h]) => (k === 'c' ? `c ${h} ${p}` : `f ${p}`)),
    ...inst.dirs.map((d) => `d ${d}`),
  ];
  writeFileSync(inst.on(join(lib, 'MANIFEST')), `${lines.join('\n')}\n`, { mode: 0o644 });
  console.log(`install: ${inst.files.length} files under ${o.root === '/' ? '' : o.root}${o.prefix} and /etc (${packages.size} packages${o.bundleNode ? `, Node ${process.version}` : ''})`);
}

try {
  install(parseArgs(process.argv.slice(2)));
} catch (err) {
  if (!(err instanceof InstallError)) throw err;
  console.error(`install: ${err.message}`);
  process.exit(1);
}
