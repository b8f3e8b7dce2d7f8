/**
 * The demo cluster's owner: a detached process (its own session, started by
 * demo/main.ts) that builds the cluster, runs the walkthrough and then keeps
 * the cluster up. It holds the run's harness slot lock for as long as it
 * lives, so `make test` and `make clean-netns` see a live run and leave it
 * alone. SIGTERM (from `make demo-down`), SIGINT or SIGHUP stop it: the
 * kubelets and the apiserver first, then every process it started (by PID),
 * the containers (by cgroup), the namespaces with their links, routes and
 * rules, the mounts and files — then it removes the state file and exits.
 *
 *   owner.ts              3 hosts, a 3-member etcd, the seed walkthrough (make demo)
 *   owner.ts --tiny       2 hosts, one busybox pod and the second story only (helloKube; the demo e2e)
 */
import type { Pod } from '@pilot/api';
import { run, waitFor } from '@pilot/common';
import { Cluster, startSeedCluster, type SeedCluster } from '@pilot/netns';
import { processRef } from '@pilot/orchestrator-core/up';
import { removeStateFiles, usage, writeState, type DemoState } from './state.js';
import { helloKube, show, walkthrough } from './walkthrough.js';

const tiny = process.argv.includes('--tiny');
// Two hosts even when tiny: the second story's answer must come from a pod on another host.
const hosts = tiny ? 2 : 3;

let cluster: Cluster | undefined;
let seed: SeedCluster | undefined;
let stopping: Promise<never> | undefined;

function stop(code: number): Promise<never> {
  stopping ??= (async () => {
    try {
      await seed?.stop();
      await cluster?.teardown();
      if (cluster) show('stopped', `removed every namespace, process, container, rule and file of ${cluster.prefix}`);
    } finally {
      removeStateFiles();
      // Before the cluster exists, the harness's exit handler removes what was started so far.
      process.exit(code);
    }
  })();
  return stopping;
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void stop(0));

function state(ready: boolean): DemoState {
  const c = cluster!;
  return {
    owner: processRef(process.pid)!,
    slot: c.slot,
    prefix: c.prefix,
    stateDir: c.stateDir,
    ...(seed ? { kubeconfig: seed.cp.kubeconfigFor(), apiserver: seed.cp.url } : {}),
    hosts: c.hosts.map((h, i) => ({ name: h.name, ns: h.ns, ip: h.ip, ...(seed ? { dockerEndpoint: seed.dockerds[i]!.endpoint } : {}) })),
    ready,
    startedAt: new Date().toISOString(),
  };
}

try {
  const t0 = Date.now();
  cluster = await Cluster.create({ hosts, etcd: true, etcdMembers: tiny ? 1 : 3, signals: 'caller' });
  if (stopping) await stopping;
  writeState(state(false));
  show('cluster', `run ${cluster.prefix}: underlay ${cluster.underlay.toString()}, master ${cluster.master.ip}, etcd ${cluster.etcd!.endpoint}${tiny ? '' : ' (3 members)'}\n` +
    cluster.hosts.map((h) => `  ${h.name} (${h.ns}) ${h.ip}`).join('\n') +
    `\nstarting: etcd config → apiserver, scheduler, controller-manager → overlayd → dockerd → svcproxy, kubelet (dnsd on ${cluster.hosts.at(-1)!.name})`);
  seed = await startSeedCluster(cluster);
  if (stopping) await stopping;
  writeState(state(false));
  show(`ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`, `kubectl --kubeconfig ${seed.cp.kubeconfigFor()} (apiserver ${seed.cp.url})`);
  if (tiny) {
    // One container, so stopping has a pod to remove as well.
    const kubeconfig = seed.cp.kubeconfigFor();
    await run(['kubectl', '--kubeconfig', kubeconfig, '--cache-dir', `${cluster.stateDir}/kube-cache`, 'run', 'idle', '--image=busybox', '--restart=Never', '--', 'sleep', '86400'], { timeoutMs: 60_000 });
    const client = seed.cp.client;
    await waitFor(async () => (await client.get<Pod>('pods', 'idle', { namespace: 'default' })).status?.phase === 'Running', {
      timeoutMs: 120_000, intervalMs: 500, what: 'the pod idle to run',
    });
    await helloKube(seed);
  } else {
    await walkthrough(seed);
  }
  const s = state(true);
  show('demo is up', usage(s));
  // The log first, then the state: whoever sees ready: true has the whole output to read.
  writeState(s);
  // Stay up until a signal; the harness's daemons keep the event loop busy, this keeps it alive without them.
  setInterval(() => undefined, 1 << 30);
} catch (err) {
  process.stdout.write(`\ndemo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await stop(1);
}
