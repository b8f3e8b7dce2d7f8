import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `make install` as a user meets it: one install into a staged DESTDIR (the
 * build is already there: make test builds first, and install's
 * build-packages writes nothing when nothing changed), then every assertion
 * on that one tree — it runs from / after being moved elsewhere, nothing in it
 * names this checkout or links anywhere, systemd accepts its units, and
 * `make uninstall` leaves the directory empty. The Vagrantfile is validated
 * when vagrant is installed (make setup installs Debian's).
 */

const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const PREFIX = '/usr/local';
const BINS = ['pilot', 'overlayd', 'svcproxy', 'dnsd'];
const stamp = JSON.parse(readFileSync(join(root, 'packages/common/build-info.json'), 'utf8')) as { version: string; gitCommit: string };

function make(args: string[]): string {
  return execFileSync('make', ['-s', '--no-print-directory', ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 170_000 });
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function* walk(p: string): Generator<string> {
  for (const e of readdirSync(p)) {
    const q = join(p, e);
    const st = lstatSync(q);
    if (st.isDirectory()) yield* walk(q);
    else yield q;
  }
}

describe('make install DESTDIR=<tmp>', () => {
  let tmp: string;
  let dest: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'pilot-install-'));
    dest = join(tmp, 'root');
    make(['install', `DESTDIR=${dest}`, `PREFIX=${PREFIX}`]);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('runs pilot, overlayd, svcproxy and dnsd --version from /, moved away from where it was installed', () => {
    const moved = join(tmp, 'moved');
    renameSync(dest, moved);
    try {
      for (const b of BINS) {
        const r = spawnSync(join(moved, PREFIX, 'bin', b), ['--version'], { cwd: '/', encoding: 'utf8', env: { PATH: '/usr/bin:/bin', PILOT_LOG_LEVEL: 'silent' } });
        expect({ b, code: r.status, stderr: r.stderr }).toEqual({ b, code: 0, stderr: '' });
        expect(r.stdout).toMatch(new RegExp(`^${b} ${stamp.version} \\(git commit ${stamp.gitCommit}[,)]`));
      }
    } finally {
      renameSync(moved, dest);
    }
  });

  it('holds no symlink, no TypeScript source and no file naming the checkout', () => {
    const offenders: string[] = [];
    let files = 0;
    for (const f of walk(dest)) {
      files++;
      if (lstatSync(f).isSymbolicLink()) offenders.push(`${f}: a symlink`);
      else if (/\/node_modules\/@pilot\/[^/]+\/(?!.*node_modules\/).*\.ts$/.test(f)) offenders.push(`${f}: a source`);
      else if (readFileSync(f).includes(root)) offenders.push(`${f}: names ${root}`);
    }
    expect(offenders).toEqual([]);
    expect(files).toBeGreaterThan(100);
    expect(readdirSync(join(dest, PREFIX, 'lib/pilot/node_modules/@pilot')).sort()).toEqual(['api', 'common', 'dnsd', 'orchestrator-core', 'overlayd', 'svcproxy']);
    // Runtime dependencies only: the dev tools stay behind.
    for (const dev of ['typescript', 'jest', 'ts-jest', 'tsx', 'madge']) expect(existsSync(join(dest, PREFIX, 'lib/pilot/node_modules', dev))).toBe(false);
  });

  it('systemd-analyze --root verify accepts every installed unit and the docker drop-in', () => {
    // A root systemd can load units from: the host's own units (docker.service among them,
    // stubbed when docker.io is absent), the installed ones, and every command they name —
    // pilot's from the install, the system's as stubs.
    const v = join(tmp, 'verify');
    mkdirSync(join(v, 'lib/systemd'), { recursive: true });
    cpSync('/lib/systemd/system', join(v, 'lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    const docker = join(v, 'lib/systemd/system/docker.service');
    if (!existsSync(docker)) writeFileSync(docker, '[Unit]\nDescription=stub of Debian docker.io\n[Service]\nEnvironmentFile=-/etc/default/docker\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS\n');
    cpSync(join(dest, 'etc/systemd'), join(v, 'etc/systemd'), { recursive: true });
    const units = readdirSync(join(v, 'etc/systemd/system')).filter((f) => f.endsWith('.service'));
    expect(units.sort()).toEqual(['dnsd', 'overlayd', 'pilot-apiserver', 'pilot-controller-manager', 'pilot-kubelet', 'pilot-scheduler', 'svcproxy'].map((u) => `${u}.service`));
    const paths = [...units.map((u) => join(v, 'etc/systemd/system', u)), docker];
    for (const p of paths) {
      for (const [, cmd] of readFileSync(p, 'utf8').matchAll(/^Exec\w+=[-@:+!]*(\/\S+)/gm)) {
        const at = join(v, cmd!);
        if (existsSync(at)) continue;
        mkdirSync(dirname(at), { recursive: true });
        if (existsSync(join(dest, cmd!))) copyFileSync(join(dest, cmd!), at);
        else writeFileSync(at, '#!/bin/true\n');
        chmodSync(at, 0o755);
      }
    }
    // pilot's commands come from the install, not stubs.
    for (const b of ['/usr/local/bin/overlayd', '/usr/local/bin/pilot', '/usr/local/lib/pilot/libexec/overlayd-wait-ready']) expect(readFileSync(join(v, b))).toEqual(readFileSync(join(dest, b)));
    const r = spawnSync('systemd-analyze', [`--root=${v}`, 'verify', ...paths], { cwd: '/', encoding: 'utf8' });
    expect({ code: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 0, stderr: '', stdout: '' });
    // The drop-in is only the EnvironmentFile line: Debian's unit runs /usr/sbin/dockerd with $DOCKER_OPTS itself.
    const dropIn = readFileSync(join(dest, 'etc/systemd/system/docker.service.d/overlayd.conf'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(dropIn).toEqual(['[Service]', 'EnvironmentFile=/run/flannel/docker']);
  });

  it("overlayd.service waits for the files at the paths overlayd's own flags name", () => {
    const wait = join(dest, PREFIX, 'lib/pilot/libexec/overlayd-wait-ready');
    const dir = join(tmp, 'run');
    mkdirSync(dir);
    writeFileSync(join(dir, 'subnet.env'), 'FLANNEL_SUBNET=10.1.5.1/24\n');
    const run = (args: string[]) => spawnSync(wait, args, { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', OVERLAYD_WAIT_SECONDS: '1' } });
    // No DOCKER_OPTS file asked for: the subnet file alone is enough, in each spelling.
    for (const args of [[`--subnet-file=${dir}/subnet.env`, '--docker-opts-file='], ['--ip-masq', `-subnet-file=${dir}/subnet.env`, '-docker-opts-file', '']]) expect({ args, code: run(args).status }).toEqual({ args, code: 0 });
    // A DOCKER_OPTS file not written yet: a one-line failure naming both paths.
    const missing = run(['--subnet-file', `${dir}/subnet.env`, '--docker-opts-file', `${dir}/docker`]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`overlayd wrote no ${dir}/subnet.env and ${dir}/docker within 1s (see journalctl -u overlayd)\n`);
    writeFileSync(join(dir, 'docker'), 'DOCKER_OPTS=" --bip=10.1.5.1/24 --mtu=1450"\n');
    expect(run(['--subnet-file', `${dir}/subnet.env`, '--docker-opts-file', `${dir}/docker`]).status).toBe(0);
  });

  (has('vagrant') ? it : it.skip)('vagrant validate --ignore-provider accepts vagrant/Vagrantfile', () => {
    // Vagrant's state and the cluster secret the Vagrantfile makes go to the temp dir, not the checkout.
    const env = { ...process.env, VAGRANT_HOME: join(tmp, 'vagrant.d'), VAGRANT_DOTFILE_PATH: join(tmp, 'vagrant'), PILOT_VAGRANT_STATE: join(tmp, 'vagrant-state') };
    const r = spawnSync('vagrant', ['validate', '--ignore-provider'], { cwd: join(root, 'vagrant'), encoding: 'utf8', timeout: 120_000, env });
    expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain('Vagrantfile validated successfully.');
    expect(existsSync(join(tmp, 'vagrant-state/cluster-secret'))).toBe(true);
  });

  // Last: the other tests use the tree.
  it('make uninstall DESTDIR=<tmp> leaves nothing behind', () => {
    make(['uninstall', `DESTDIR=${dest}`, `PREFIX=${PREFIX}`]);
    expect(existsSync(dest) ? [...walk(dest)] : []).toEqual([]);
    expect(existsSync(dest) ? readdirSync(dest) : []).toEqual([]);
  });
});
