import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, waitFor } from '@pilot/common';
import { IMAGE_NAMES, isAlive, processStartTime, type ImageSet } from '@pilot/orchestrator-core/up';
import type { DaemonHost } from './daemon.js';
import { Dockerd } from './dockerd.js';
import { STATE_ROOT } from './paths.js';
import { Registry } from './registry.js';

/**
 * The images every test cluster runs, built on this machine from what Debian
 * installed (no image is downloaded):
 *
 * - `busybox`: Debian's busybox-static with its applets, by `docker import`;
 * - `registry.k8s.io/pause:3.10` (upstream's default name): Debian's static
 *   catatonit in pause mode (`catatonit -P`: reaps children, exits on SIGTERM);
 * - `guest/mynode`: the seed's Node.js Hello World on 8888, made of the host's
 *   `node` binary, the shared libraries `ldd` lists, busybox (the seed execs
 *   `sh` in it) and `images/mynode/server.js`.
 *
 * They are built once per set of inputs: the content hash of every input file
 * names a store under `<STATE_ROOT>/images/<hash>` holding a docker-registry
 * root (filled by `docker push` from a builder dockerd in the master
 * namespace) and the pause image as a `docker save` tarball. Every later
 * cluster, in this run or the next, serves that store read-only; a changed
 * input (a Debian update, a new node, an edited server.js) builds a new one.
 */

/** Bump when the recipe below changes in a way the inputs do not show. */
const RECIPE = 'images-v1';
const IMAGES_ROOT = `${STATE_ROOT}/images`;
const SERVER_JS = fileURLToPath(new URL('../images/mynode/server.js', import.meta.url));
const BUSYBOX = '/bin/busybox';
const CATATONIT = '/usr/bin/catatonit';

/** The node binary and the shared libraries the dynamic loader gives it, as `ldd` names them. */
async function nodeFiles(): Promise<string[]> {
  const node = realpathSync(process.execPath);
  const r = await run(['ldd', node]);
  const libs = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]!);
  }
  return [node, ...libs];
}

function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function inputHash(): Promise<{ hash: string; node: string[] }> {
  for (const f of [BUSYBOX, CATATONIT]) if (!existsSync(f)) throw new Error(`${f} is missing: run make setup (busybox-static, catatonit)`);
  const node = await nodeFiles();
  const h = createHash('sha256').update(RECIPE);
  for (const f of [BUSYBOX, CATATONIT, SERVER_JS, ...node]) h.update(`${f}\0${fileHash(f)}\0`);
  return { hash: h.digest('hex').slice(0, 20), node };
}

function storeOf(dir: string, hash: string): ImageSet {
  return { hash, dir, registryRoot: `${dir}/registry`, pauseTar: `${dir}/pause.tar` };
}

function ready(dir: string): boolean {
  return existsSync(`${dir}/ready`);
}

/**
 * The image store for the current inputs, built in `master` (a builder
 * dockerd and a writable registry on its loopback, both torn down with the
 * run) when no earlier run built it. Concurrent runs build it once: the
 * others wait for the builder's lock.
 */
export async function ensureImages(master: DaemonHost): Promise<ImageSet> {
  const { hash, node } = await inputHash();
  const dir = `${IMAGES_ROOT}/${hash}`;
  const store = storeOf(dir, hash);
  if (ready(dir)) return touch(store);
  mkdirSync(IMAGES_ROOT, { recursive: true });
  const lock = `${dir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (takeLock(lock)) {
      try {
        if (!ready(dir)) await build(master, store, node);
        prune(hash);
      } finally {
        rmSync(lock, { force: true });
      }
      return store;
    }
    // Another live run builds it: wait for its result (or for it to die).
    await waitFor(() => ready(dir) || !lockHeld(lock), { timeoutMs: 600_000, intervalMs: 500, what: `the image build of ${lock}` });
    if (ready(dir)) return touch(store);
  }
  throw new Error(`could not build the images: ${lock} stays held`);
}

function touch(store: ImageSet): ImageSet {
  // The mtime says when a store was last used; prune keeps recently used ones.
  const now = new Date();
  try {
    writeFileSync(`${store.dir}/last-used`, now.toISOString());
  } catch {
    /* read-only store is fine */
  }
  return store;
}

function lockHeld(lock: string): boolean {
  try {
    const { pid, start } = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number; start: string };
    return isAlive(pid) && processStartTime(pid) === start;
  } catch {
    return false;
  }
}

function takeLock(lock: string): boolean {
  const content = JSON.stringify({ pid: process.pid, start: processStartTime(process.pid) ?? '' });
  try {
    writeFileSync(lock, content, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (lockHeld(lock)) return false;
  // A dead builder's lock: replace it atomically, then check we won.
  const tmp = `${lock}.${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, lock);
  return readFileSync(lock, 'utf8') === content;
}

/** Stores of other inputs not used for a day go (the newest build stays whatever its age). */
function prune(keep: string): void {
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const d of readdirSync(IMAGES_ROOT)) {
    const p = `${IMAGES_ROOT}/${d}`;
    if (d === keep || d.endsWith('.lock')) continue;
    let used = 0;
    try {
      used = statSync(existsSync(`${p}/last-used`) ? `${p}/last-used` : p).mtimeMs;
    } catch {
      continue;
    }
    const building = d.startsWith('.build-') && lockHeld(`${IMAGES_ROOT}/${d.split('-')[1]}.lock`);
    if (used < dayAgo && !building) rmSync(p, { recursive: true, force: true });
  }
}

/** A root filesystem with busybox and its applets (as symlinks), and the files every image needs. */
function busyboxRoot(root: string): void {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'tmp', 'var', 'proc', 'sys', 'dev']) mkdirSync(`${root}/${d}`, { recursive: true });
  chmodSync(`${root}/tmp`, 0o1777);
  copyFileSync(BUSYBOX, `${root}/bin/busybox`);
  chmodSync(`${root}/bin/busybox`, 0o755);
  writeFileSync(`${root}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(`${root}/etc/group`, 'root:x:0:\nnogroup:x:65534:\n');
}

async function linkApplets(root: string): Promise<void> {
  const r = await run([BUSYBOX, '--list-full']);
  for (const applet of r.stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const target = `${root}/${applet}`;
    if (existsSync(target) || applet === 'bin/busybox') continue;
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync('/bin/busybox', target);
  }
}

async function tarOf(root: string, out: string): Promise<string> {
  await run(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', out, '.']);
  return out;
}

const ENV_PATH = 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

async function build(master: DaemonHost, store: ImageSet, nodeFiles: readonly string[]): Promise<void> {
  const work = `${IMAGES_ROOT}/.build-${store.hash}-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(`${work}/registry`, { recursive: true });
  const t0 = Date.now();

  const busybox = `${work}/rootfs-busybox`;
  busyboxRoot(busybox);
  await linkApplets(busybox);

  const pause = `${work}/rootfs-pause`;
  mkdirSync(pause, { recursive: true });
  copyFileSync(CATATONIT, `${pause}/catatonit`);
  chmodSync(`${pause}/catatonit`, 0o755);

  const mynode = `${work}/rootfs-mynode`;
  busyboxRoot(mynode);
  await linkApplets(mynode);
  for (const f of nodeFiles) {
    // The node binary goes to /usr/bin/node; libraries to the path ldd named.
    const dest = f === nodeFiles[0] ? `${mynode}/usr/bin/node` : `${mynode}${f}`;
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(f, dest);
    chmodSync(dest, 0o755);
  }
  copyFileSync(SERVER_JS, `${mynode}/server.js`);

  const builder = new Dockerd(master, { extraArgs: ['--bridge=none', '--iptables=false', '--ip-masq=false'] });
  const registry = new Registry(master, storeOf(work, store.hash), { listenIp: '127.0.0.1', readOnly: false, name: 'registry-builder' });
  await builder.start();
  await registry.start();
  try {
    const push = async (rootfs: string, repo: string, changes: readonly string[]) => {
      const ref = `${registry.address}/${repo}`;
      await builder.dockerOk(['import', ...changes.flatMap((c) => ['--change', c]), await tarOf(rootfs, `${rootfs}.tar`), ref], { timeoutMs: 300_000 });
      await builder.dockerOk(['push', '-q', ref], { timeoutMs: 300_000 });
      return ref;
    };
    await push(busybox, 'library/busybox:latest', [ENV_PATH, 'CMD ["sh"]']);
    await push(mynode, 'guest/mynode:latest', [ENV_PATH, 'EXPOSE 8888', 'CMD ["node", "/server.js"]']);
    const pauseRef = await push(pause, 'pause:3.10', ['ENTRYPOINT ["/catatonit", "-P"]']);
    await builder.dockerOk(['tag', pauseRef, IMAGE_NAMES.pause]);
    await builder.dockerOk(['save', '-o', store.pauseTar.replace(store.dir, work), IMAGE_NAMES.pause]);
  } finally {
    await registry.stop();
    await builder.stop();
  }
  for (const d of ['rootfs-busybox', 'rootfs-pause', 'rootfs-mynode']) {
    rmSync(`${work}/${d}`, { recursive: true, force: true });
    rmSync(`${work}/${d}.tar`, { force: true });
  }
  writeFileSync(`${work}/ready`, `built in ${Date.now() - t0} ms\n`);
  rmSync(store.dir, { recursive: true, force: true });
  renameSync(work, store.dir);
}
