import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { registerBuildInfo, versionLine } from '../src/build-info.js';
import { createRegistry } from '../src/health.js';

const SCRIPT = fileURLToPath(new URL('../scripts/stamp-build-info.mjs', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8' }).trim();
const stamp = (script: string, out?: string) => execFileSync(process.execPath, out ? [script, out] : [script], { encoding: 'utf8' });
const readStamp = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;

describe('the build stamp', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pilot-stamp-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records the version and the commit and tree state of this checkout', () => {
    const out = join(dir, 'build-info.json');
    stamp(SCRIPT, out);
    const dirty = git(PACKAGE_DIR, 'status', '--porcelain', '--untracked-files=no') !== '';
    expect(readStamp(out)).toEqual({
      version: JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')).version,
      gitCommit: git(PACKAGE_DIR, 'rev-parse', 'HEAD'),
      gitTreeState: dirty ? 'dirty' : 'clean',
    });
  });

  /** A copy of the package's stamp script and package.json under `root`. */
  function packageCopy(root: string): string {
    mkdirSync(join(root, 'pkg', 'scripts'), { recursive: true });
    copyFileSync(SCRIPT, join(root, 'pkg', 'scripts', 'stamp-build-info.mjs'));
    writeFileSync(join(root, 'pkg', 'package.json'), JSON.stringify({ name: 'x', version: '9.8.7' }));
    return join(root, 'pkg');
  }

  it('says "unknown" outside a git checkout (a tree built from a tarball)', () => {
    const pkg = packageCopy(dir);
    stamp(join(pkg, 'scripts', 'stamp-build-info.mjs'));
    expect(readStamp(join(pkg, 'build-info.json'))).toEqual({ version: '9.8.7', gitCommit: 'unknown', gitTreeState: 'unknown' });
  });

  it("does not report the commit of another repository the package was unpacked into", () => {
    git(dir, 'init', '-q');
    writeFileSync(join(dir, 'README'), 'consumer\n');
    git(dir, 'add', 'README');
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'consumer');
    const pkg = packageCopy(join(dir, 'node_modules'));
    stamp(join(pkg, 'scripts', 'stamp-build-info.mjs'));
    expect(readStamp(join(pkg, 'build-info.json')).gitCommit).toBe('unknown');
  });
});

describe('build info', () => {
  const info = { version: '0.1.0', gitCommit: '6028f1e11b492433155de88f3ab7abb616ac6933', gitTreeState: 'clean' };

  it('is one --version line', () => {
    expect(versionLine('dnsd', info)).toBe(`dnsd 0.1.0 (git commit 6028f1e11b492433155de88f3ab7abb616ac6933, node ${process.version})`);
    expect(versionLine('dnsd', { ...info, gitTreeState: 'dirty' })).toContain('(git commit 6028f1e11b492433155de88f3ab7abb616ac6933, dirty tree,');
  });

  it('is a <component>_build_info gauge of 1 labelled with the build', async () => {
    const registry = new Registry();
    registerBuildInfo(registry, 'controller-manager', info);
    expect(await registry.metrics()).toContain(
      `controller_manager_build_info{version="0.1.0",git_commit="6028f1e11b492433155de88f3ab7abb616ac6933",git_tree_state="clean",node_version="${process.version}"} 1`,
    );
  });

  it("is in every daemon's registry, beside Node's process metrics", async () => {
    const text = await createRegistry('dnsd').metrics();
    expect(text).toMatch(/^dnsd_build_info\{version="[^"]+",git_commit="[^"]+",git_tree_state="[^"]+",node_version="v[\d.]+"\} 1$/m);
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});
