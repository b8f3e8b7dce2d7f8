import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Backoff, sleep, waitFor, type Logger } from '@pilot/common';
import { connectEtcd } from '../apiserver/storage/etcd.js';
import { componentPlan, etcdEndpoint, NETWORK_CONFIG_KEY, networkConfig, type ClusterConfig, type Component } from './components.js';
import { Daemon } from './daemon.js';
import { containerdPidOf, loadImageIfMissing } from './dockerd.js';
import { IMAGE_NAMES } from './image-set.js';
import { CONTAINERD, probeAll, stopAll, SUPERVISOR } from './lifecycle.js';
import { logFile, removePid, writePid, type StateLayout } from './state.js';

/**
 * The process that owns a `pilot up` cluster: starts each component once
 * the components it comes after are healthy (so independent ones start side
 * by side: the scheduler, the controller-manager, svcproxy and dnsd together
 * once the apiserver answers, overlayd beside the apiserver); then keeps them
 * running, restarting one that exits (backoff 1 s doubling to 30 s, reset
 * once it has run a minute). On SIGTERM (`pilot down`, a service manager) it
 * stops them all in reverse order and exits. Components share nothing with
 * it or each other but the API, etcd, and the files the plan names.
 */

const HEALTHY_WITHIN_MS = 120_000;
const STABLE_MS = 60_000;

export async function supervise(c: ClusterConfig, l: StateLayout, log: Logger, signal: AbortSignal): Promise<void> {
  writePid(l, SUPERVISOR, process.pid);
  const plan = componentPlan(c, l);
  const running = new Map<string, Daemon>();
  const watchers: Promise<void>[] = [];

  const start = (comp: Component): Daemon => {
    for (const f of comp.files) {
      mkdirSync(dirname(f.path), { recursive: true });
      writeFileSync(f.path, f.content);
    }
    const d = new Daemon({ name: comp.name, netns: undefined, argv: comp.argv(), logPath: logFile(l, comp.name) }, (pid) => writePid(l, comp.name, pid));
    running.set(comp.name, d);
    return d.start();
  };

  const afterReady = async (comp: Component): Promise<void> => {
    if (comp.afterReady === 'put-network-config') await putNetworkConfig(c, log);
    if (comp.afterReady === 'load-pause-image' && c.imageStore) await loadImageIfMissing(`unix://${l.docker.socket}`, IMAGE_NAMES.pause, `${c.imageStore}/pause.tar`);
    if (comp.name === 'dockerd') {
      const pid = containerdPidOf(l.docker);
      if (pid) writePid(l, CONTAINERD, pid);
    }
  };

  /** Starts a component until it is healthy (retrying with backoff while it exits or stays unhealthy), then watches it. */
  const bringUp = async (comp: Component): Promise<void> => {
    const backoff = new Backoff({ initialMs: 1_000, maxMs: 30_000 });
    while (!signal.aborted) {
      let d: Daemon;
      try {
        d = start(comp);
      } catch (err) {
        log.error({ name: comp.name, err: (err as Error).message }, 'cannot start');
        await sleep(backoff.next(), signal).catch(() => undefined);
        continue;
      }
      try {
        await waitFor(
          async () => {
            if (!d.running) throw new Error(`exited ${JSON.stringify(d.exit)}`);
            return (await probeAll(comp)).ok;
          },
          { timeoutMs: HEALTHY_WITHIN_MS, intervalMs: 200, what: `${comp.name} to be healthy`, signal },
        );
        await afterReady(comp);
        log.info({ name: comp.name, pid: d.pid }, 'healthy');
        watchers.push(watch(comp, d));
        return;
      } catch (err) {
        if (signal.aborted) return;
        log.error({ name: comp.name, err: (err as Error).message }, 'not healthy; restarting');
        await d.stop(10_000);
        await sleep(backoff.next(), signal).catch(() => undefined);
      }
    }
  };

  /** Restarts a component whenever it exits, until the supervisor stops. */
  const watch = async (comp: Component, first: Daemon): Promise<void> => {
    const backoff = new Backoff({ initialMs: 1_000, maxMs: 30_000, jitter: 0 });
    let d = first;
    let since = Date.now();
    for (;;) {
      const exit = await d.whenExited();
      if (signal.aborted) return;
      if (Date.now() - since > STABLE_MS) backoff.reset();
      const delay = backoff.next();
      log.warn({ name: comp.name, exit, restartInMs: delay }, 'exited; restarting');
      await sleep(delay, signal).catch(() => undefined);
      if (signal.aborted) return;
      try {
        d = start(comp);
        since = Date.now();
        // A restarted dockerd has a new containerd to record (and, after a purge of its data, no pause image).
        if (comp.name === 'dockerd') {
          void waitFor(async () => (await probeAll(comp)).ok, { timeoutMs: HEALTHY_WITHIN_MS, signal })
            .then(() => afterReady(comp))
            .catch((err: Error) => log.warn({ name: comp.name, err: err.message }, 'not healthy after a restart'));
        }
      } catch (err) {
        log.error({ name: comp.name, err: (err as Error).message }, 'cannot restart');
      }
    }
  };

  const healthy = new Map<string, Promise<void>>();
  for (const comp of plan) {
    const before = comp.after.map((name) => healthy.get(name) ?? Promise.resolve());
    healthy.set(comp.name, Promise.all(before).then(() => (signal.aborted ? undefined : bringUp(comp))));
  }
  await Promise.all(healthy.values());
  if (!signal.aborted) log.info({ components: plan.length }, 'cluster up');
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  log.info('stopping');
  const stopped = await stopAll(l, plan, log);
  await Promise.all(watchers);
  removePid(l, SUPERVISOR);
  log.info({ stopped }, 'stopped');
}

/** overlayd's network config, written once (a later `up` with another --cluster-cidr does not move leased subnets; it says so). */
async function putNetworkConfig(c: ClusterConfig, log: Logger): Promise<void> {
  const etcd = connectEtcd([etcdEndpoint(c)]);
  try {
    const want = networkConfig(c);
    const have = await etcd.get(NETWORK_CONFIG_KEY).string();
    if (have === null) await etcd.put(NETWORK_CONFIG_KEY).value(want);
    else if (have !== want) log.warn({ have, want }, `${NETWORK_CONFIG_KEY} differs from this configuration; keeping it (pilot down --purge starts afresh)`);
  } finally {
    etcd.close();
  }
}
