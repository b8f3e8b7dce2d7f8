import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dockerdLayout, type DockerdLayout } from './dockerd.js';
import { processRef, stillRunning, type ProcessRef } from './process.js';

/**
 * Where `pilot up` keeps everything it writes, all under `--state-dir`:
 *
 *   config.json          the resolved configuration (status and down read it)
 *   host-before.json     what the host looked like before the first `up` (down restores it)
 *   admin.kubeconfig     kubectl's kubeconfig (system:masters), context `pilot`
 *   pki/                 CA, apiserver and kubelet certificates, token file, one kubeconfig per component
 *   etcd/  kubelet/  docker/{data,exec,daemon.json,docker.sock}   data
 *   registry.yml         the image registry's config (with --image-store)
 *   run/                 PID files (<component>.pid, supervisor.pid), subnet.env, docker options
 *   logs/                one log per component, kept across restarts
 *
 * A PID file holds the PID and its start time, so nothing ever signals a
 * process that merely reuses a recorded PID.
 */

export interface StateLayout {
  root: string;
  config: string;
  hostBefore: string;
  adminKubeconfig: string;
  pki: string;
  etcdData: string;
  kubeletRoot: string;
  docker: DockerdLayout;
  registryConfig: string;
  run: string;
  subnetEnv: string;
  dockerOpts: string;
  logs: string;
}

export function stateLayout(root: string): StateLayout {
  return {
    root,
    config: `${root}/config.json`,
    hostBefore: `${root}/host-before.json`,
    adminKubeconfig: `${root}/admin.kubeconfig`,
    pki: `${root}/pki`,
    etcdData: `${root}/etcd`,
    kubeletRoot: `${root}/kubelet`,
    docker: dockerdLayout(`${root}/docker`),
    registryConfig: `${root}/registry.yml`,
    run: `${root}/run`,
    subnetEnv: `${root}/run/subnet.env`,
    dockerOpts: `${root}/run/docker-opts.env`,
    logs: `${root}/logs`,
  };
}

export function logFile(l: StateLayout, name: string): string {
  return `${l.logs}/${name}.log`;
}

function pidFile(l: StateLayout, name: string): string {
  return `${l.run}/${name}.pid`;
}

export interface PidRecord extends ProcessRef {
  name: string;
}

/** Records a started process (its start time read now, while it surely runs). */
export function writePid(l: StateLayout, name: string, pid: number): void {
  const ref = processRef(pid);
  if (!ref) return; // exited at once; the supervisor sees that on its own
  mkdirSync(l.run, { recursive: true });
  writeFileSync(pidFile(l, name), JSON.stringify({ name, ...ref } satisfies PidRecord) + '\n');
}

export function readPid(l: StateLayout, name: string): PidRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(pidFile(l, name), 'utf8')) as PidRecord;
    return Number.isInteger(r.pid) && typeof r.start === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

export function removePid(l: StateLayout, name: string): void {
  rmSync(pidFile(l, name), { force: true });
}

/** The recorded process of `name` when it still runs. */
export function runningPid(l: StateLayout, name: string): PidRecord | undefined {
  const r = readPid(l, name);
  return r && stillRunning(r) ? r : undefined;
}

/** Every PID file's name (components and the supervisor). */
export function recordedNames(l: StateLayout): string[] {
  try {
    return readdirSync(l.run).filter((f) => f.endsWith('.pid')).map((f) => f.slice(0, -'.pid'.length));
  } catch {
    return [];
  }
}

export function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
}
