import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { sleep, type Logger } from '@pilot/common';
import Docker from 'dockerode';
import type { Component, Probe } from './components.js';
import { pingDocker } from './dockerd.js';
import { stillRunning } from './process.js';
import { readPid, recordedNames, removePid, type StateLayout } from './state.js';

/**
 * Probing and stopping the cluster's processes, shared by the supervisor
 * (its own stop), `pilot status` and `pilot down` (which also works when the
 * supervisor is gone: everything it needs is in the PID files).
 */

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

export async function probe(p: Probe, timeoutMs = 2_000): Promise<ProbeResult> {
  switch (p.kind) {
    case 'file':
      return existsSync(p.path) ? { ok: true, detail: p.path } : { ok: false, detail: `${p.path} not written yet` };
    case 'docker':
      return (await pingDocker(p.socket, timeoutMs)) ? { ok: true, detail: `unix://${p.socket}` } : { ok: false, detail: `no answer on unix://${p.socket}` };
    case 'http':
      try {
        const res = await fetch(p.url, { signal: AbortSignal.timeout(timeoutMs) });
        const body = await res.text();
        if (!res.ok) return { ok: false, detail: `${p.url}: ${res.status} ${body.trim().split('\n')[0] ?? ''}`.trim() };
        if (p.body !== undefined && !body.includes(p.body)) return { ok: false, detail: `${p.url}: ${body.trim().slice(0, 80)}` };
        return { ok: true, detail: p.url };
      } catch (err) {
        return { ok: false, detail: `${p.url}: ${(err as Error).message}` };
      }
  }
}

/** Every probe of a component; the first failure says why. */
export async function probeAll(c: Pick<Component, 'health'>): Promise<ProbeResult> {
  let last: ProbeResult = { ok: true, detail: '' };
  for (const p of c.health) {
    last = await probe(p);
    if (!last.ok) return last;
  }
  return last;
}

/** dockerd's own containerd is recorded under this name once dockerd is up: a SIGKILLed dockerd leaves it running. */
export const CONTAINERD = 'containerd';
export const SUPERVISOR = 'supervisor';

/** SIGTERM a recorded process, SIGKILL after `graceMs`; waits until it is gone. Never touches a PID whose start time differs. */
export async function stopRecorded(l: StateLayout, name: string, graceMs = 20_000): Promise<boolean> {
  const rec = readPid(l, name);
  if (!rec) return false;
  let signalled = false;
  if (stillRunning(rec)) {
    signalled = true;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(rec.pid, sig);
      } catch {
        /* gone meanwhile */
      }
    };
    signal('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (stillRunning(rec) && Date.now() < deadline) await sleep(100);
    if (stillRunning(rec)) signal('SIGKILL');
    while (stillRunning(rec)) await sleep(50);
  }
  removePid(l, name);
  return signalled;
}

/** Removes every container of the cluster's dockerd (its own data root: every container there is the cluster's). */
export async function removeContainers(socket: string, log?: Logger): Promise<number> {
  if (!(await pingDocker(socket))) return 0;
  const docker = new Docker({ socketPath: socket, timeout: 30_000 });
  const list = await docker.listContainers({ all: true });
  await Promise.all(
    list.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch((err: Error) => log?.warn({ container: c.Names?.[0], err: err.message }, 'could not remove container')),
    ),
  );
  return list.length;
}

/**
 * Stops the cluster in reverse start order, by PID file: the kubelet before
 * the containers are removed (so it starts none again), the containers
 * while their dockerd still runs, dockerd before its containerd. Anything
 * recorded but not in the plan (a component of an earlier configuration)
 * goes last. Returns the names of the processes it signalled.
 */
export async function stopAll(l: StateLayout, plan: readonly Component[], log?: Logger): Promise<string[]> {
  const stopped: string[] = [];
  const stop = async (name: string) => {
    if (await stopRecorded(l, name)) stopped.push(name);
  };
  for (const c of [...plan].reverse()) {
    if (c.name === 'dockerd') await removeContainers(l.docker.socket, log).catch((err: Error) => log?.warn({ err: err.message }, 'could not list containers'));
    await stop(c.name);
    if (c.name === 'dockerd') await stop(CONTAINERD);
  }
  for (const name of recordedNames(l)) if (name !== SUPERVISOR) await stop(name);
  return stopped;
}

/** PIDs whose command line names `path` (containerd's shims name the socket under dockerd's exec root). */
export function processesNaming(path: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').some((w) => w.startsWith(path))) out.push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/**
 * Waits (bounded) until no process names the exec root: a shim exits on its
 * own once its container is removed, a moment after `docker rm` returns.
 * Returns what is left; nothing is signalled, as it was never recorded.
 */
export async function waitShimsGone(l: StateLayout, timeoutMs = 15_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = processesNaming(l.docker.execRoot);
  while (left.length && Date.now() < deadline) {
    await sleep(100);
    left = processesNaming(l.docker.execRoot);
  }
  return left;
}
