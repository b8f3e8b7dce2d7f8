/**
 * bench/controllers: how fast `pilot controller-manager` acts, each figure
 * beside its anchor measured in the same run.
 *
 *  1. Pod creation rate of one ReplicationController scaled 0 → 1,000 (goal
 *     ≥ 200 pods/s; a stock kube-controller-manager at its default client
 *     rate, 20 QPS, makes ≈ 20 pods/s). Measured from the PUT of /scale to
 *     the 1,000th pod seen on a watch; the pods stay unscheduled (no nodes,
 *     no scheduler), so only the controller and the apiserver work. Anchor:
 *     the apiserver's own rate for the same pod creates (same template,
 *     generateName, ownerReference) from a plain client with
 *     ANCHOR_CONCURRENCY in flight and one pod watch open (the controller's
 *     informer has one), in the same run.
 *  2. Replacement latency: a pod of an RC of 10 deleted → its replacement
 *     seen on a watch (p50, p99). Anchor: one plain-client pod create seen
 *     on the same watch (a create's own round trip through the watch).
 *  3. Pod Ready → Endpoints updated (p50, p99; goal p99 ≤ 1 s): a pod's
 *     status PUT with Ready=True → the Service's Endpoints list its IP, seen
 *     on an Endpoints watch. Anchor: a plain-client Endpoints write seen on
 *     the same watch.
 *
 *  4. Rollout of a ROLLOUT_REPLICAS Deployment (default 100, 25 %/25 %):
 *     from the `set image` patch to the status kubectl rollout status calls
 *     `successfully rolled out` (every replica updated and available, the
 *     generation observed); the bench posts each new pod Ready at once and
 *     finishes each deleted pod at once (grace 0), as a kubelet would.
 *     Anchor: the same number of pod creates and deletes (the rollout makes
 *     ROLLOUT_REPLICAS of each) from a plain client, ANCHOR_CONCURRENCY in
 *     flight, until a pod watch has seen them all, in the same run (goal ≤ 2×).
 *     The end is seen on a Deployment watch, as kubectl rollout status sees it.
 *
 *  5. Leader failover with the default 15 s / 10 s / 2 s: kill -9 of the
 *     leading controller-manager → the standby holds the Lease, and → the pod
 *     of an RC created at the kill exists. Anchor: upstream's expected
 *     ≈ 17 s (lease duration + retry jitter).
 *
 * Run: node_modules/.bin/tsx bench/controllers/main.ts   (root; builds its own netns cluster with etcd)
 * Env: BENCH_REPLICAS (default 1000), BENCH_RUNS (default 3, the median printed),
 *      BENCH_SAMPLES (default 50, for the latencies), BENCH_FAILOVER_RUNS (default 3),
 *      BENCH_ROLLOUT_REPLICAS (default 100), BENCH_ROLLOUT_RUNS (default 7, the median printed),
 *      BENCH_ROLLOUT_WARMUP (default 2: rollouts and anchors run first and not counted), BENCH_CASES (default rate,latency,rollout,failover),
 *      BENCH_TRACE=1 (the rollout's timeline of ReplicaSet, Deployment and pod events on stderr, then
 *      the CPU the apiserver, etcd and the controller-manager used and the apiserver's requests by verb,
 *      resource and code during the rollout, and the CPU during the anchor),
 *      BENCH_PROFILE_DIR (the apiserver and controller-manager write --cpu-prof profiles there).
 *
 * Beside the rate it prints the controller-manager's CPU time per pod (from
 * /proc, list and sync included): what the machine's load cannot inflate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ApiClient, isNotFound, type Deployment, type Endpoints, type Lease, type Pod, type ReplicationController, type Service } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster, freeLocalPort, PILOT_BIN as PILOT } from '@pilot/netns';
import { fmt, median, quantile, recordRow, table } from '../lib/report.js';
import { pool } from '../lib/pool.js';
import { cpuMs } from '../lib/procfs.js';
import { startApiserver, stopChild } from '../lib/process.js';

const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 50);
const FAILOVER_RUNS = Number(process.env.BENCH_FAILOVER_RUNS ?? 3);
const ROLLOUT_REPLICAS = Number(process.env.BENCH_ROLLOUT_REPLICAS ?? 100);
// One rollout's ratio moves between 1.7x and 2.8x from run to run on a quiet machine: a median of 3 does not settle.
const ROLLOUT_RUNS = Number(process.env.BENCH_ROLLOUT_RUNS ?? 7);
const ROLLOUT_WARMUP = Number(process.env.BENCH_ROLLOUT_WARMUP ?? 2);
const CASES = new Set((process.env.BENCH_CASES ?? 'rate,latency,rollout,failover').split(','));
const ANCHOR_CONCURRENCY = 128;
const GOAL_PODS_PER_SEC = 200;
const STOCK_PODS_PER_SEC = 20;

const template = { metadata: { labels: { app: 'bench' } }, spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10' }] } };

function rc(name: string, ns: string, replicas: number): ReplicationController {
  return { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name, namespace: ns }, spec: { replicas, selector: { app: 'bench' }, template } };
}

interface Ctx {
  c: Cluster;
  client: ApiClient;
  server: string;
  /** The processes whose CPU time BENCH_TRACE reports, by name. */
  pids: Map<string, number>;
}

/** CPU ms of each of ctx.pids so far. */
const cpuNow = (ctx: Ctx) => new Map([...ctx.pids].map(([name, pid]) => [name, cpuMs(pid)]));
/** The CPU each of ctx.pids used since `since`, as "name N ms". */
const cpuSince = (ctx: Ctx, since: Map<string, number>) => [...cpuNow(ctx)].map(([name, ms]) => `${name} ${ms - (since.get(name) ?? 0)} ms`).join(', ');

/** BENCH_PROFILE_DIR: the apiserver and the controller-manager write V8 CPU profiles there when they exit. */
const PROFILE_ARGS = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];

function startControllerManager(ctx: Ctx, extra: string[] = ['--leader-elect=false']): ChildProcess {
  const child = spawn(process.execPath, [...PROFILE_ARGS, PILOT, 'controller-manager', '--master', ctx.server, '--healthz-port', '0', ...extra], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PILOT_LOG_LEVEL: 'warn' },
  });
  if (child.pid) ctx.c.rememberPid(child.pid);
  return child;
}

/** Counts ADDED pods in a namespace from now on; `at(n)` is when the n-th arrived (performance.now()). */
async function podAdds(ctx: Ctx, ns: string) {
  const rv = (await ctx.client.list<Pod>('pods', { namespace: ns, limit: 1 })).metadata.resourceVersion;
  const ac = new AbortController();
  const times: number[] = [];
  const names: string[] = [];
  const done = (async () => {
    for await (const ev of ctx.client.watch<Pod>('pods', { namespace: ns, resourceVersion: rv, signal: ac.signal })) {
      if (ev.type !== 'ADDED') continue;
      times.push(performance.now());
      names.push(ev.object.metadata.name!);
    }
  })();
  return {
    times,
    names,
    count: () => times.length,
    close: async () => {
      ac.abort();
      await done;
    },
  };
}

interface Rate {
  podsPerSec: number;
  anchorPerSec: number;
  cpuMsPerPod: number;
}

async function creationRate(ctx: Ctx, cm: ChildProcess, run: number): Promise<Rate> {
  const ns = `rate-${run}`;
  await ctx.client.create('namespaces', { metadata: { name: ns } });
  const created = await ctx.client.create<ReplicationController>('replicationcontrollers', rc('web', ns, 0));
  await waitFor(async () => ((await ctx.client.get<ReplicationController>('replicationcontrollers', 'web', { namespace: ns })).status?.observedGeneration ?? 0) >= 1 || undefined, {
    timeoutMs: 30_000,
    what: 'the controller to observe the RC',
  });
  const adds = await podAdds(ctx, ns);
  const cpu0 = cpuMs(cm.pid!);
  const t0 = performance.now();
  await ctx.client.updateScale('replicationcontrollers', 'web', REPLICAS, { namespace: ns });
  await waitFor(() => adds.count() >= REPLICAS || undefined, { timeoutMs: 600_000, intervalMs: 20, what: `${REPLICAS} pods created` });
  const podsPerSec = REPLICAS / ((adds.times[REPLICAS - 1]! - t0) / 1000);
  const cpuMsPerPod = (cpuMs(cm.pid!) - cpu0) / REPLICAS;
  await adds.close();

  // Anchor: the same creates from a plain client, with a pod watch open.
  const anchorNs = `${ns}-anchor`;
  await ctx.client.create('namespaces', { metadata: { name: anchorNs } });
  const anchorAdds = await podAdds(ctx, anchorNs);
  const ref = { apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: created.metadata.uid!, controller: true, blockOwnerDeletion: true };
  const a0 = performance.now();
  await pool(REPLICAS, ANCHOR_CONCURRENCY, async () => {
    await ctx.client.create<Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', namespace: anchorNs, labels: { app: 'anchor' }, ownerReferences: [ref] }, spec: template.spec }, { namespace: anchorNs });
  });
  await waitFor(() => anchorAdds.count() >= REPLICAS || undefined, { timeoutMs: 120_000, intervalMs: 20, what: 'the anchor watch to see every create' });
  const anchorPerSec = REPLICAS / ((anchorAdds.times[REPLICAS - 1]! - a0) / 1000);
  await anchorAdds.close();
  await deleteNamespace(ctx, anchorNs);
  await deleteNamespace(ctx, ns);
  return { podsPerSec, anchorPerSec, cpuMsPerPod };
}

interface Latencies {
  ms: number[];
  anchorMs: number[];
}

async function replacement(ctx: Ctx): Promise<Latencies> {
  const ns = 'replace';
  await ctx.client.create('namespaces', { metadata: { name: ns } });
  const adds = await podAdds(ctx, ns);
  await ctx.client.create('replicationcontrollers', rc('web', ns, 10));
  await waitFor(() => adds.count() >= 10 || undefined, { timeoutMs: 60_000, what: '10 pods' });
  const ms: number[] = [];
  const anchorMs: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const pods = (await ctx.client.list<Pod>('pods', { namespace: ns, labelSelector: 'app=bench' })).items;
    const before = adds.count();
    const t = performance.now();
    await ctx.client.delete('pods', pods[0]!.metadata.name!, { namespace: ns, gracePeriodSeconds: 0 });
    await waitFor(() => adds.count() > before || undefined, { timeoutMs: 30_000, intervalMs: 2, what: 'a replacement' });
    ms.push(adds.times[before]! - t);
    // Anchor: one plain create through the same watch (a label the RC does not select).
    const b2 = adds.count();
    const t2 = performance.now();
    await ctx.client.create<Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'anchor-', namespace: ns, labels: { app: 'anchor' } }, spec: template.spec }, { namespace: ns });
    await waitFor(() => adds.count() > b2 || undefined, { timeoutMs: 30_000, intervalMs: 2, what: 'the anchor create' });
    anchorMs.push(adds.times[b2]! - t2);
  }
  await adds.close();
  await deleteNamespace(ctx, ns);
  return { ms, anchorMs };
}

async function readyToEndpoints(ctx: Ctx): Promise<Latencies> {
  const ns = 'ready';
  await ctx.client.create('namespaces', { metadata: { name: ns } });
  const svc: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { selector: { app: 'ep' }, ports: [{ port: 80, targetPort: 8080 }] } };
  await ctx.client.create('services', svc);
  const rv = (await ctx.client.list<Endpoints>('endpoints', { namespace: ns, limit: 1 })).metadata.resourceVersion;
  const ac = new AbortController();
  let latest: Endpoints | undefined;
  let seq = 0;
  const watching = (async () => {
    for await (const ev of ctx.client.watch<Endpoints>('endpoints', { namespace: ns, resourceVersion: rv, signal: ac.signal })) {
      if (ev.object.metadata.name === 'web') {
        latest = ev.object;
        seq++;
      } else if (ev.object.metadata.name === 'anchor') seq++;
    }
  })();
  const readyIps = () => new Set((latest?.subsets ?? []).flatMap((s) => s.addresses ?? []).map((a) => a.ip));
  const ms: number[] = [];
  const anchorMs: number[] = [];
  const anchor: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'anchor', namespace: ns }, subsets: [] };
  let anchorObj = await ctx.client.create<Endpoints>('endpoints', anchor);
  for (let i = 0; i < SAMPLES; i++) {
    const ip = `10.1.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    const pod = await ctx.client.create<Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${i}`, namespace: ns, labels: { app: 'ep' } }, spec: { ...template.spec, nodeName: 'nowhere' } });
    const stamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const running = await ctx.client.updateStatus<Pod>('pods', { ...pod, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: stamp() }] } });
    await waitFor(() => (latest?.subsets ?? []).some((s) => s.notReadyAddresses?.some((a) => a.ip === ip)) || undefined, { timeoutMs: 30_000, intervalMs: 2, what: `${ip} not ready` });
    const t = performance.now();
    await ctx.client.updateStatus<Pod>('pods', { ...running, status: { ...running.status, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: stamp() }] } });
    await waitFor(() => readyIps().has(ip) || undefined, { timeoutMs: 30_000, intervalMs: 1, what: `${ip} ready in the Endpoints` });
    ms.push(performance.now() - t);
    const s0 = seq;
    const t2 = performance.now();
    anchorObj = await ctx.client.update<Endpoints>('endpoints', { ...anchorObj, subsets: [{ addresses: [{ ip }], ports: [{ port: 80 }] }] });
    await waitFor(() => seq > s0 || undefined, { timeoutMs: 30_000, intervalMs: 1, what: 'the anchor Endpoints write' });
    anchorMs.push(performance.now() - t2);
  }
  ac.abort();
  await watching;
  await deleteNamespace(ctx, ns);
  return { ms, anchorMs };
}

interface Failover {
  leaseMs: number;
  podMs: number;
}

async function failover(ctx: Ctx, run: number): Promise<Failover> {
  const ns = `fo-${run}`;
  await ctx.client.create('namespaces', { metadata: { name: ns } });
  const lease = () => ctx.client.get<Lease>('leases', 'kube-controller-manager', { namespace: 'kube-system' }).catch(() => undefined);
  const before = (await lease())?.spec?.holderIdentity;
  // Default timings (15 s / 10 s / 2 s): nothing passed.
  const a = startControllerManager(ctx, []);
  await waitFor(async () => {
    const h = (await lease())?.spec?.holderIdentity;
    return h && h !== before ? h : undefined;
  }, { timeoutMs: 120_000, intervalMs: 200, what: 'the first controller-manager to lead' });
  const held = (await lease())!.spec!.holderIdentity!;
  const b = startControllerManager(ctx, []);
  // The leader acts (an RC gets its pod); the standby has had time to sync and campaign.
  await ctx.client.create('replicationcontrollers', rc('warm', ns, 1));
  await waitFor(async () => (await ctx.client.list<Pod>('pods', { namespace: ns })).items.length >= 1 || undefined, { timeoutMs: 30_000, what: 'the warm-up pod' });
  await new Promise((r) => setTimeout(r, 3000));

  const t0 = performance.now();
  await stopChild(a, 'SIGKILL');
  await ctx.client.create('replicationcontrollers', { ...rc('after-kill', ns, 1), spec: { ...rc('after-kill', ns, 1).spec, selector: { app: 'after' }, template: { ...template, metadata: { labels: { app: 'after' } } } } });
  let leaseMs = NaN;
  let podMs = NaN;
  await waitFor(async () => {
    if (Number.isNaN(leaseMs)) {
      const h = (await lease())?.spec?.holderIdentity;
      if (h && h !== held) leaseMs = performance.now() - t0;
    }
    if (Number.isNaN(podMs) && (await ctx.client.list<Pod>('pods', { namespace: ns, labelSelector: 'app=after' })).items.length) podMs = performance.now() - t0;
    return (!Number.isNaN(leaseMs) && !Number.isNaN(podMs)) || undefined;
  }, { timeoutMs: 120_000, intervalMs: 50, what: 'the standby to take over' });
  // A graceful stop releases the Lease, so the next run starts at once.
  await stopChild(b);
  await ctx.client.delete('namespaces', ns);
  return { leaseMs, podMs };
}

interface Rollout {
  ms: number;
  anchorMs: number;
}

/**
 * The kubelet's part for a rollout: every pod seen without Ready gets
 * Running + Ready, every pod marked for deletion is deleted with grace 0.
 */
function postReadiness(ctx: Ctx, ns: string): { close(): Promise<void> } {
  const ac = new AbortController();
  const seen = new Set<string>();
  const act = async (p: Pod) => {
    const name = p.metadata.name!;
    if (p.metadata.deletionTimestamp) {
      await ctx.client.delete('pods', name, { namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
      return;
    }
    if (seen.has(name)) return;
    seen.add(name);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const status = { phase: 'Running', podIP: '10.1.0.2', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] };
    await ctx.client.patchStatus('pods', name, { status }, 'merge', { namespace: ns }).catch(() => seen.delete(name));
  };
  const done = (async () => {
    const rv = (await ctx.client.list<Pod>('pods', { namespace: ns, limit: 1 })).metadata.resourceVersion;
    for await (const ev of ctx.client.watch<Pod>('pods', { namespace: ns, resourceVersion: rv, signal: ac.signal })) if (ev.type !== 'DELETED') void act(ev.object);
  })().catch(() => undefined);
  return {
    close: async () => {
      ac.abort();
      await done;
    },
  };
}

/** The apiserver's apiserver_request_total by verb, resource, subresource and component (its /metrics on the insecure port). */
async function requestCounts(ctx: Ctx): Promise<Map<string, number>> {
  const text = await (await fetch(`${ctx.server}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/^apiserver_request_total\{([^}]*)\} (\S+)$/gm)) {
    const l = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const key = `${l.verb} ${l.resource}${l.subresource ? '/' + l.subresource : ''} ${l.component || '-'} ${l.code}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(m[2]));
  }
  return counts;
}

/** BENCH_TRACE: each ReplicaSet and Deployment write and pod event during the rollout, ms from the set image. */
async function traceRollout(ctx: Ctx, ns: string) {
  const ac = new AbortController();
  let t0 = 0;
  const lines: string[] = [];
  const at = () => fmt(performance.now() - t0, 1).padStart(7);
  const rv = (await ctx.client.list<Pod>('pods', { namespace: ns, limit: 1 })).metadata.resourceVersion;
  const watch = async <T extends { metadata: { name?: string } }>(resource: string, line: (type: string, o: T) => string | undefined) => {
    for await (const ev of ctx.client.watch<T>(resource, { namespace: ns, resourceVersion: rv, signal: ac.signal })) {
      const l = t0 ? line(ev.type, ev.object) : undefined;
      if (l) lines.push(`${at()} ${l}`);
    }
  };
  const rsLine = (type: string, rs: { metadata: { name?: string }; spec?: { replicas?: number }; status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number } }) =>
    `rs ${type} ${rs.metadata.name} spec=${rs.spec?.replicas} status=${rs.status?.replicas ?? 0}/${rs.status?.readyReplicas ?? 0}/${rs.status?.availableReplicas ?? 0}`;
  const dLine = (type: string, d: Deployment) => `deploy ${type} gen=${d.metadata.generation} obs=${d.status?.observedGeneration} upd=${d.status?.updatedReplicas} rep=${d.status?.replicas} avail=${d.status?.availableReplicas}`;
  const podLine = (type: string, p: Pod) => `pod ${type} ${p.metadata.name} ${p.metadata.deletionTimestamp ? 'deleting' : (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'ready' : 'new')}`;
  const done = Promise.all([watch('replicasets', rsLine), watch('deployments', dLine), watch('pods', podLine)]).catch(() => undefined);
  let before = new Map<string, number>();
  let cpu0 = new Map<string, number>();
  return {
    /** The request counts read before the clock starts, so the read is not timed. */
    count: async () => {
      before = await requestCounts(ctx);
      cpu0 = cpuNow(ctx);
    },
    start: (t: number) => void (t0 = t),
    close: async () => {
      const cpu = cpuSince(ctx, cpu0);
      const after = await requestCounts(ctx);
      ac.abort();
      await done;
      let total = 0;
      const counts = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1]);
      for (const [, v] of counts) total += v;
      process.stderr.write(lines.join('\n') + `\nCPU during the rollout: ${cpu}\nrequests during the rollout (${total}, the trace's own watches included):\n` + counts.map(([k, v]) => `  ${String(v).padStart(5)} ${k}`).join('\n') + '\n');
    },
  };
}

/**
 * A watch of `resource` in `ns` from now on; `done` resolves with the
 * performance.now() of the first event whose object satisfies `until`.
 * `ready` once the watch's start revision is read.
 */
function watchUntil<T extends { metadata: { name?: string } }>(ctx: Ctx, resource: string, ns: string, until: (o: T) => boolean): { ready: Promise<void>; done: Promise<number> } {
  let ready!: () => void;
  const started = new Promise<void>((r) => (ready = r));
  const done = (async () => {
    const ac = new AbortController();
    const rv = (await ctx.client.list<T>(resource, { namespace: ns, limit: 1 })).metadata.resourceVersion;
    ready();
    try {
      for await (const ev of ctx.client.watch<T>(resource, { namespace: ns, resourceVersion: rv, signal: ac.signal })) if (until(ev.object)) return performance.now();
      throw new Error(`the ${resource} watch in ${ns} ended early`);
    } finally {
      ac.abort();
    }
  })();
  return { ready: started, done };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** kubectl rollout status's `successfully rolled out`. */
const rolledOut = (d: Deployment, n: number, image: string): boolean =>
  d.spec?.template?.spec?.containers?.[0]?.image === image &&
  (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 1) &&
  d.status?.updatedReplicas === n && d.status?.replicas === n && d.status?.availableReplicas === n;

async function rollout(ctx: Ctx, run: number): Promise<Rollout> {
  const ns = `rollout-${run}`;
  const n = ROLLOUT_REPLICAS;
  await ctx.client.create('namespaces', { metadata: { name: ns } });
  const kubelet = postReadiness(ctx, ns);
  const get = () => ctx.client.get<Deployment>('deployments', 'web', { namespace: ns });
  const deployment: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: { replicas: n, selector: { matchLabels: { app: 'bench' } }, template: structuredClone(template) },
  };
  await ctx.client.create('deployments', deployment, { namespace: ns });
  const a = template.spec.containers[0]!.image;
  await waitFor(async () => rolledOut(await get(), n, a) || undefined, { timeoutMs: 300_000, intervalMs: 50, what: `the Deployment of ${n} to be available` });
  const b = 'registry.k8s.io/pause:3.9';
  const trace = process.env.BENCH_TRACE ? await traceRollout(ctx, ns) : undefined;
  // kubectl rollout status watches the Deployment; so does the bench (a poll would add its period and its GETs).
  const watched = watchUntil<Deployment>(ctx, 'deployments', ns, (d) => d.metadata.name === 'web' && rolledOut(d, n, b));
  await watched.ready;
  await trace?.count();
  const t0 = performance.now();
  trace?.start(t0);
  await ctx.client.patch('deployments', 'web', { spec: { template: { spec: { containers: [{ name: 'pause', image: b }] } } } }, 'strategic', { namespace: ns });
  const ms = (await withTimeout(watched.done, 600_000, `the Deployment of ${n} to roll out`)) - t0;
  await trace?.close();
  await kubelet.close();

  // Anchor: as many creates and deletes from a plain client, seen on a pod watch.
  const anchorNs = `${ns}-anchor`;
  await ctx.client.create('namespaces', { metadata: { name: anchorNs } });
  const rv = (await ctx.client.list<Pod>('pods', { namespace: anchorNs, limit: 1 })).metadata.resourceVersion;
  const ac = new AbortController();
  let adds = 0;
  let deletes = 0;
  const watching = (async () => {
    for await (const ev of ctx.client.watch<Pod>('pods', { namespace: anchorNs, resourceVersion: rv, signal: ac.signal })) {
      if (ev.type === 'ADDED') adds++;
      else if (ev.type === 'DELETED') deletes++;
    }
  })().catch(() => undefined);
  const anchorCpu = cpuNow(ctx);
  const a0 = performance.now();
  const names: string[] = [];
  await pool(n, ANCHOR_CONCURRENCY, async () => {
    const p = await ctx.client.create<Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', namespace: anchorNs, labels: { app: 'anchor' } }, spec: template.spec }, { namespace: anchorNs });
    names.push(p.metadata.name!);
  });
  let i = 0;
  await pool(n, ANCHOR_CONCURRENCY, async () => {
    await ctx.client.delete('pods', names[i++]!, { namespace: anchorNs, gracePeriodSeconds: 0 });
  });
  await waitFor(() => (adds >= n && deletes >= n) || undefined, { timeoutMs: 120_000, intervalMs: 20, what: 'the anchor watch to see every create and delete' });
  const anchorMs = performance.now() - a0;
  if (trace) process.stderr.write(`CPU during the anchor: ${cpuSince(ctx, anchorCpu)}\n`);
  ac.abort();
  await watching;
  await deleteNamespace(ctx, anchorNs);
  await deleteNamespace(ctx, ns);
  return { ms, anchorMs };
}

async function main(): Promise<void> {
  const c = await Cluster.create({ hosts: 0, etcd: true });
  const api = await startApiserver(c, [], PROFILE_ARGS);
  const { server } = api;
  const ctx: Ctx = { c, client: api.client, server, pids: new Map() };
  if (api.child.pid) ctx.pids.set('apiserver', api.child.pid);
  if (c.etcd?.pid) ctx.pids.set('etcd', c.etcd.pid);
  let cm: ChildProcess | undefined;
  try {
    await api.ready();
    cm = startControllerManager(ctx);
    if (cm.pid) ctx.pids.set('controller-manager', cm.pid);
    const rates: Rate[] = [];
    for (let r = 0; CASES.has('rate') && r < RUNS; r++) {
      const res = await creationRate(ctx, cm, r);
      process.stderr.write(`  run ${r + 1}: RC 0 → ${REPLICAS}: ${fmt(res.podsPerSec, 0)} pods/s, apiserver creates ${fmt(res.anchorPerSec, 0)}/s, controller-manager CPU ${fmt(res.cpuMsPerPod, 2)} ms/pod\n`);
      rates.push(res);
    }
    const rate = median(rates.map((x) => x.podsPerSec));
    const anchor = median(rates.map((x) => x.anchorPerSec));
    if (CASES.has('rate')) {
      recordRow({
        bench: 'controllers', figure: `RC 0 → ${REPLICAS} pods`, unit: 'pods/s', value: rate, better: 'higher',
        anchor: `plain-client creates, ${ANCHOR_CONCURRENCY} in flight`, anchorValue: anchor, goal: { on: 'value', bound: GOAL_PODS_PER_SEC }, runs: RUNS,
      });
      table(`pod creation, one RC scaled 0 → ${REPLICAS}, pods/s, median of ${RUNS} run(s) (anchor: plain-client creates of the same pods, ${ANCHOR_CONCURRENCY} in flight, one pod watch open)`, ['measure', 'controller-manager', 'apiserver creates', 'ratio', 'goal', 'stock kcm', 'CPU ms/pod'], [
        [`RC 0 → ${REPLICAS}`, fmt(rate, 0), fmt(anchor, 0), `${fmt(rate / anchor, 2)}x`, `${GOAL_PODS_PER_SEC} (${rate >= GOAL_PODS_PER_SEC ? 'met' : 'missed'})`, `≈ ${STOCK_PODS_PER_SEC}`, fmt(median(rates.map((x) => x.cpuMsPerPod)), 2)],
      ]);
    }

    if (CASES.has('latency')) await latencies(ctx);

    if (CASES.has('rollout')) {
      // Both sides once first, not counted: a fresh process's first rollout is mostly the JIT's.
      for (let w = 0; w < ROLLOUT_WARMUP; w++) {
        const res = await rollout(ctx, ROLLOUT_RUNS + w);
        process.stderr.write(`  rollout warm-up ${w + 1} (not counted): ${fmt(res.ms, 0)} ms, plain-client creates+deletes ${fmt(res.anchorMs, 0)} ms\n`);
      }
      const ro: Rollout[] = [];
      for (let r = 0; r < ROLLOUT_RUNS; r++) {
        const res = await rollout(ctx, r);
        process.stderr.write(`  rollout run ${r + 1}: ${ROLLOUT_REPLICAS} replicas ${fmt(res.ms, 0)} ms, plain-client creates+deletes ${fmt(res.anchorMs, 0)} ms (${fmt(res.ms / res.anchorMs, 2)}x)\n`);
        ro.push(res);
      }
      const ms = median(ro.map((x) => x.ms));
      const anchorMs = median(ro.map((x) => x.anchorMs));
      const ratio = ms / anchorMs;
      recordRow({
        bench: 'controllers', figure: `rollout of ${ROLLOUT_REPLICAS} replicas`, unit: 's', value: ms / 1000, better: 'lower',
        anchor: `${ROLLOUT_REPLICAS} creates + deletes, plain client`, anchorValue: anchorMs / 1000, goal: { on: 'ratio', bound: 2 }, runs: ROLLOUT_RUNS, note: `after ${ROLLOUT_WARMUP} warm-up run(s) not counted`,
      });
      table(`rollout of a ${ROLLOUT_REPLICAS}-replica Deployment (25%/25%), set image → successfully rolled out, s, median of ${ROLLOUT_RUNS} run(s) (anchor: ${ROLLOUT_REPLICAS} pod creates + ${ROLLOUT_REPLICAS} deletes from a plain client, ${ANCHOR_CONCURRENCY} in flight)`, ['measure', 'controller-manager', 'plain client', 'ratio', 'goal'], [
        [`Deployment ${ROLLOUT_REPLICAS}: A → B`, fmt(ms / 1000, 2), fmt(anchorMs / 1000, 2), `${fmt(ratio, 2)}x`, `≤ 2x (${ratio <= 2 ? 'met' : 'missed'})`],
      ]);
    }

    // Failover needs the leader-elected pair alone: the bench's own manager runs without election.
    await stopChild(cm);
    if (CASES.has('failover')) await failovers(ctx);
  } finally {
    if (cm) await stopChild(cm);
    ctx.client.close();
    await stopChild(api.child);
    await c.teardown();
  }
}

async function latencies(ctx: Ctx): Promise<void> {
    const rep = await replacement(ctx);
    const rdy = await readyToEndpoints(ctx);
    const row = (name: string, l: Latencies, goal: string) => [
      name,
      fmt(quantile(l.ms, 0.5), 1),
      fmt(quantile(l.ms, 0.99), 1),
      fmt(quantile(l.anchorMs, 0.5), 1),
      fmt(quantile(l.anchorMs, 0.99), 1),
      `${fmt(quantile(l.ms, 0.99) / quantile(l.anchorMs, 0.99), 2)}x`,
      goal,
    ];
    recordRow({
      bench: 'controllers', figure: 'pod Ready → Endpoints, p99', unit: 'ms', value: quantile(rdy.ms, 0.99), better: 'lower',
      anchor: 'plain Endpoints write → watch, p99', anchorValue: quantile(rdy.anchorMs, 0.99), goal: { on: 'value', bound: 1000 }, runs: 1, note: `${SAMPLES} samples`,
    });
    table(`latencies, ms, ${SAMPLES} samples (anchor: one plain-client write of the same kind seen on the same watch)`, ['measure', 'p50', 'p99', 'anchor p50', 'anchor p99', 'p99 ratio', 'goal'], [
      row('pod deleted → replacement created', rep, '-'),
      row('pod Ready → Endpoints list it', rdy, `p99 ≤ 1000 (${quantile(rdy.ms, 0.99) <= 1000 ? 'met' : 'missed'})`),
    ]);
}

async function failovers(ctx: Ctx): Promise<void> {
    const fo: Failover[] = [];
    for (let r = 0; r < FAILOVER_RUNS; r++) {
      const res = await failover(ctx, r);
      process.stderr.write(`  failover run ${r + 1}: lease ${fmt(res.leaseMs / 1000, 1)} s, first pod ${fmt(res.podMs / 1000, 1)} s\n`);
      fo.push(res);
    }
    const leaseS = median(fo.map((x) => x.leaseMs)) / 1000;
    const podS = median(fo.map((x) => x.podMs)) / 1000;
    recordRow({
      bench: 'controllers', figure: 'failover: pod of an RC created at the kill', unit: 's', value: podS, better: 'lower',
      anchor: 'upstream kube-controller-manager', published: { value: 17, source: 'lease 15 s + retry 2 s' }, runs: FAILOVER_RUNS,
    });
    table(`leader failover after kill -9, default 15s/10s/2s, median of ${FAILOVER_RUNS} run(s) (anchor: upstream ≈ 17 s)`, ['measure', 'pilot', 'upstream', 'ratio'], [
      ['standby holds the Lease, s', fmt(leaseS, 1), '17', `${fmt(leaseS / 17, 2)}x`],
      ['pod of an RC created at the kill exists, s', fmt(podS, 1), '17', `${fmt(podS / 17, 2)}x`],
    ]);
}

await main();

/** Deletes a namespace and waits until the namespace controller has emptied and removed it, so the next case starts quiet. */
async function deleteNamespace(ctx: { client: ApiClient }, ns: string): Promise<void> {
  await ctx.client.delete('namespaces', ns);
  await waitFor(() => ctx.client.get('namespaces', ns).then(() => undefined, (err: unknown) => (isNotFound(err) ? true : Promise.reject(err))), {
    timeoutMs: 120_000,
    intervalMs: 200,
    what: `namespace ${ns} to be deleted`,
  });
}
