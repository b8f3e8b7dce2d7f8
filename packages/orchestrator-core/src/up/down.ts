import { existsSync, rmSync } from 'node:fs';
import type { CommandIO, Logger } from '@pilot/common';
import { killCgroupProcs, removeCgroups } from './cgroups.js';
import { componentPlan, type ClusterConfig } from './components.js';
import { restoreHost, type HostPicture } from './host.js';
import { stopAll, stopRecorded, SUPERVISOR, waitShimsGone } from './lifecycle.js';
import { unmountUnder } from './mounts.js';
import { readJson, runningPid, stateLayout } from './state.js';

/**
 * `pilot down`: the supervisor first (so nothing restarts; it stops the rest
 * itself), then whatever is still recorded (a supervisor that was killed
 * stopped nothing), each by its PID file and nothing else; every container
 * process left in the cluster's cgroup; then the host goes back to its
 * picture from before the first `up` (rules, links, routes, sysctls), the
 * mounts under the state dir are undone and the runtime files removed.
 * Data (etcd, certificates, images, logs) stays for the next `up` unless
 * --purge, which removes the state dir.
 */

const SUPERVISOR_STOP_MS = 120_000;

export async function runDown(stateDir: string, purge: boolean, io: CommandIO, log: Logger): Promise<number> {
  const l = stateLayout(stateDir);
  const say = (line: string) => io.out(` ✓ ${line}\n`);
  const c = readJson<ClusterConfig>(l.config);
  if (!c) {
    if (purge && existsSync(l.root)) {
      unmountUnder(l.root);
      rmSync(l.root, { recursive: true, force: true });
      say(`removed ${l.root}`);
    } else {
      io.out(`nothing to stop: no cluster in ${stateDir}\n`);
    }
    return 0;
  }
  const sup = runningPid(l, SUPERVISOR);
  if (sup) {
    // The supervisor stops the components in order on SIGTERM; give it the time that takes.
    await stopRecorded(l, SUPERVISOR, SUPERVISOR_STOP_MS);
    say(`supervisor (pid ${sup.pid}) stopped the cluster`);
  } else {
    await stopRecorded(l, SUPERVISOR, 0);
  }
  const stopped = await stopAll(l, componentPlan(c, l), log);
  if (stopped.length) say(`stopped ${stopped.join(', ')}`);
  // Containers whose dockerd could not remove them (it was killed) die with their cgroup; their shims then exit.
  const left = killCgroupProcs({ name: c.cgroupParent });
  if (left.length) log.warn({ pids: left, cgroup: c.cgroupParent }, 'processes left in the cgroup');
  const shims = await waitShimsGone(l);
  if (shims.length) log.warn({ pids: shims }, `processes naming ${l.docker.execRoot} are still running`);
  const cgroups = removeCgroups({ name: c.cgroupParent });
  if (cgroups.length) log.warn({ cgroups }, 'could not remove cgroups');
  const before = readJson<HostPicture>(l.hostBefore);
  if (before) {
    const r = await restoreHost(before, c.clusterCidr);
    say(`host restored: ${r.rules} iptables rule lines, links [${r.links.join(' ')}], routes [${r.routes.join('; ')}], sysctls ${JSON.stringify(r.sysctls)}`);
  }
  const busy = unmountUnder(l.root);
  if (busy.length) log.warn({ mounts: busy }, 'could not unmount');
  for (const p of [l.run, l.docker.execRoot, l.docker.socket, l.hostBefore, l.registryConfig]) rmSync(p, { recursive: true, force: true });
  if (purge) {
    rmSync(l.root, { recursive: true, force: true });
    say(`removed ${l.root}`);
  } else {
    say(`data kept in ${l.root} (pilot up starts it again; pilot down --purge removes it)`);
  }
  return 0;
}
