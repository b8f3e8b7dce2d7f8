/**
 * bench/scheduler: how fast `pilot scheduler` places pods, each figure beside
 * its anchor measured in the same run.
 *
 *  1. Scheduling throughput of pre-created pods on fake nodes (Node objects
 *     only, as scheduler_perf's SchedulingBasic): 1,000 pods on 100 nodes
 *     (goal ≥ 400 pods/s) and 10,000 pods on 5,000 nodes (goal ≥ 680 pods/s).
 *     Measured from the first bind seen on a watch to the last (startup —
 *     list, sync — shown apart). Anchor: the apiserver's own rate for the same
 *     pods/binding writes from a plain client (256 in flight, the scheduler's
 *     bound), on the same nodes, in the same run: half of them with no
 *     watcher, half with one pod watch open (every scheduler has one).
 *  2. Leader failover with the default 15 s / 10 s / 2 s: kill -9 of the
 *     leader → the standby holds the Lease, and → a pod created at the kill
 *     is bound. Upstream's expected ≈ 17 s (lease duration + retry jitter).
 *
 * Run: node_modules/.bin/tsx bench/scheduler/main.ts   (root; builds its own netns cluster with etcd)
 * Env: BENCH_CASES (default "100x1000x3,5000x10000x1": nodes x pods x runs, the median printed),
 *      BENCH_FAILOVER_RUNS (default 3).
 *
 * Beside the rates it prints the scheduler process's CPU time per pod (from
 * /proc, list and sync included): what the machine's load cannot inflate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ApiClient, type Lease, type Node, type Pod } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster, freeLocalPort, PILOT_BIN as PILOT } from '@pilot/netns';
import { fmt, median, recordRow, table } from '../lib/report.js';
import { pool } from '../lib/pool.js';
import { cpuMs } from '../lib/procfs.js';
import { startApiserver, stopChild } from '../lib/process.js';

const FAILOVER_RUNS = Number(process.env.BENCH_FAILOVER_RUNS ?? 3);
/** nodes x pods x runs */
const CASES = (process.env.BENCH_CASES ?? '100x1000x3,5000x10000x1').split(',').map((s) => s.split('x').map(Number) as [number, number, number]);
const GOALS: Record<string, number> = { '100x1000': 400, '5000x10000': 680 };
const BIND_CONCURRENCY = 256;
const CREATE_CONCURRENCY = 64;

/** scheduler_perf's node-default: 4 cpu, 32Gi, 110 pods. */
const fakeNode = (name: string): Node => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name } },
  status: {
    capacity: { cpu: '4', memory: '32Gi', pods: '110' },
    allocatable: { cpu: '4', memory: '32Gi', pods: '110' },
    conditions: [{ type: 'Ready', status: 'True' }],
  },
});

/** scheduler_perf's pod-default: one container requesting 100m / 500Mi. */
const pendingPod = (name: string, ns: string, schedulerName = 'default-scheduler'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns },
  spec: { schedulerName, containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '500Mi' } } }] },
});

interface Ctx {
  c: Cluster;
  etcd: string;
  client: ApiClient;
  server: string;
  children: ChildProcess[];
}

function startScheduler(ctx: Ctx, extra: string[]): ChildProcess {
  const child = spawn(process.execPath, [PILOT, 'scheduler', '--master', ctx.server, '--healthz-port', '0', ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PILOT_LOG_LEVEL: 'info' },
  });
  if (child.pid) ctx.c.rememberPid(child.pid);
  child.stdout!.resume();
  ctx.children.push(child);
  return child;
}

/** Deletes every node and the namespace's pods, so cases start from nothing. */
async function reset(ctx: Ctx, ns: string): Promise<void> {
  const nodes = await ctx.client.listAll<Node>('nodes');
  await pool(nodes.items.length, CREATE_CONCURRENCY, async (i) => {
    await ctx.client.delete('nodes', nodes.items[i]!.metadata.name!);
  });
  const pods = await ctx.client.listAll<Pod>('pods', { namespace: ns });
  await pool(pods.items.length, CREATE_CONCURRENCY, async (i) => {
    await ctx.client.delete('pods', pods.items[i]!.metadata.name!, { namespace: ns, gracePeriodSeconds: 0 });
  });
}

interface Throughput {
  podsPerSec: number;
  startupMs: number;
  anchorPerSec: number;
  anchorWatchedPerSec: number;
  cpuMsPerPod: number;
}

async function throughput(ctx: Ctx, nodes: number, pods: number, run: number): Promise<Throughput> {
  const ns = `tp-${nodes}-${run}`;
  await ctx.client.create('namespaces', { metadata: { name: ns } });
  await pool(nodes, CREATE_CONCURRENCY, async (i) => {
    await ctx.client.create('nodes', fakeNode(`node-${i}`));
  });
  await pool(pods, CREATE_CONCURRENCY, async (i) => {
    await ctx.client.create('pods', pendingPod(`p-${i}`, ns), { namespace: ns });
  });

  // Binds as a watcher sees them: the first starts the clock, the last stops it.
  const list = await ctx.client.list<Pod>('pods', { namespace: ns, limit: 1 });
  const ac = new AbortController();
  let first = 0;
  let last = 0;
  let bound = 0;
  const watching = (async () => {
    for await (const ev of ctx.client.watch<Pod>('pods', { namespace: ns, resourceVersion: list.metadata.resourceVersion, signal: ac.signal })) {
      if (ev.type !== 'MODIFIED' || !ev.object.spec?.nodeName) continue;
      const now = performance.now();
      if (bound === 0) first = now;
      last = now;
      if (++bound >= pods) break;
    }
  })();
  const t0 = performance.now();
  const sched = startScheduler(ctx, ['--leader-elect=false']);
  await waitFor(() => bound >= pods || undefined, { timeoutMs: 1_800_000, intervalMs: 100, what: `${pods} pods bound` });
  const cpuMsPerPod = cpuMs(sched.pid!) / pods;
  ac.abort();
  await watching;
  await stopChild(sched);

  // Anchor: the same pods/binding writes from a plain client, to the same nodes, nobody scheduling:
  // half with no watcher, half with one pod watch open as the scheduler's informer has it.
  const anchorNs = `${ns}-anchor`;
  await ctx.client.create('namespaces', { metadata: { name: anchorNs } });
  await pool(pods, CREATE_CONCURRENCY, async (i) => {
    await ctx.client.create('pods', pendingPod(`p-${i}`, anchorNs, 'nobody'), { namespace: anchorNs });
  });
  const half = Math.floor(pods / 2);
  const bindRange = async (from: number, to: number): Promise<number> => {
    const t = performance.now();
    await pool(to - from, BIND_CONCURRENCY, async (i) => {
      await ctx.client.bind(anchorNs, `p-${from + i}`, `node-${(from + i) % nodes}`);
    });
    return (to - from) / ((performance.now() - t) / 1000);
  };
  const anchorPerSec = await bindRange(0, half);
  const wac = new AbortController();
  const rv = (await ctx.client.list<Pod>('pods', { namespace: anchorNs, limit: 1 })).metadata.resourceVersion;
  let seen = 0;
  const w = (async () => {
    for await (const _ of ctx.client.watch<Pod>('pods', { resourceVersion: rv, fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed', signal: wac.signal })) seen++;
  })();
  const anchorWatchedPerSec = await bindRange(half, pods);
  await waitFor(() => seen >= pods - half || undefined, { timeoutMs: 60_000, what: 'the anchor watch to see every bind' }).catch(() => undefined);
  wac.abort();
  await w;
  await ctx.client.delete('namespaces', anchorNs);
  await ctx.client.delete('namespaces', ns);
  await reset(ctx, ns);
  return { podsPerSec: (pods - 1) / ((last - first) / 1000), startupMs: first - t0, anchorPerSec, anchorWatchedPerSec, cpuMsPerPod };
}

interface Failover {
  leaseMs: number;
  boundMs: number;
}

async function failover(ctx: Ctx, run: number): Promise<Failover> {
  const ns = `fo-${run}`;
  await ctx.client.create('namespaces', { metadata: { name: ns } });
  for (let i = 0; i < 3; i++) await ctx.client.create('nodes', fakeNode(`fo-node-${i}`)).catch(() => undefined);
  const lease = () => ctx.client.get<Lease>('leases', 'kube-scheduler', { namespace: 'kube-system' }).catch(() => undefined);
  const before = (await lease())?.spec?.holderIdentity;
  // Default timings (15 s / 10 s / 2 s): nothing passed.
  const a = startScheduler(ctx, []);
  await waitFor(async () => {
    const h = (await lease())?.spec?.holderIdentity;
    return h && h !== before ? h : undefined;
  }, { timeoutMs: 120_000, intervalMs: 200, what: 'the first scheduler to lead' });
  const b = startScheduler(ctx, []);
  const held = (await lease())!.spec!.holderIdentity!;
  // The standby is ready once it campaigns (its informers have synced); a short settle.
  await new Promise((r) => setTimeout(r, 3000));
  await ctx.client.create('pods', pendingPod('warm', ns), { namespace: ns });
  await waitFor(async () => (await ctx.client.get<Pod>('pods', 'warm', { namespace: ns })).spec?.nodeName || undefined, { timeoutMs: 30_000, what: 'warm-up pod bound' });

  const t0 = performance.now();
  await stopChild(a, 'SIGKILL');
  await ctx.client.create('pods', pendingPod('after-kill', ns), { namespace: ns });
  let leaseMs = NaN;
  let boundMs = NaN;
  await waitFor(async () => {
    if (Number.isNaN(leaseMs)) {
      const h = (await lease())?.spec?.holderIdentity;
      if (h && h !== held) leaseMs = performance.now() - t0;
    }
    if (Number.isNaN(boundMs) && (await ctx.client.get<Pod>('pods', 'after-kill', { namespace: ns })).spec?.nodeName) boundMs = performance.now() - t0;
    return (!Number.isNaN(leaseMs) && !Number.isNaN(boundMs)) || undefined;
  }, { timeoutMs: 120_000, intervalMs: 50, what: 'the standby to take over' });
  // A graceful stop releases the Lease, so the next run starts at once.
  await stopChild(b);
  await ctx.client.delete('namespaces', ns);
  return { leaseMs, boundMs };
}

async function main(): Promise<void> {
  const c = await Cluster.create({ hosts: 0, etcd: true });
  const api = await startApiserver(c);
  const { server } = api;
  const ctx: Ctx = { c, etcd: c.etcd!.endpoint, client: api.client, server, children: [] };
  try {
    await api.ready();
    const rows: string[][] = [];
    for (const [nodes, pods, runs] of CASES) {
      const results: Throughput[] = [];
      for (let r = 0; r < runs; r++) {
        const res = await throughput(ctx, nodes, pods, r);
        process.stderr.write(
          `  ${pods} pods / ${nodes} nodes, run ${r + 1}: ${fmt(res.podsPerSec, 0)} pods/s (startup ${fmt(res.startupMs, 0)} ms), apiserver binds ${fmt(res.anchorPerSec, 0)}/s, with a pod watch ${fmt(res.anchorWatchedPerSec, 0)}/s, scheduler CPU ${fmt(res.cpuMsPerPod, 2)} ms/pod\n`,
        );
        results.push(res);
      }
      const sched = median(results.map((x) => x.podsPerSec));
      const anchor = median(results.map((x) => x.anchorPerSec));
      const watched = median(results.map((x) => x.anchorWatchedPerSec));
      const goal = GOALS[`${nodes}x${pods}`];
      recordRow({
        bench: 'scheduler', figure: `throughput, ${pods} pods on ${nodes} nodes`, unit: 'pods/s', value: sched, better: 'higher',
        anchor: `plain-client binds, ${BIND_CONCURRENCY} in flight, 1 pod watch`, anchorValue: watched, runs, ...(goal ? { goal: { on: 'value' as const, bound: goal } } : {}),
      });
      rows.push([
        `${pods} pods on ${nodes} nodes`,
        fmt(sched, 0),
        fmt(anchor, 0),
        `${fmt(sched / anchor, 2)}x`,
        fmt(watched, 0),
        `${fmt(sched / watched, 2)}x`,
        goal ? `${goal} (${sched >= goal ? 'met' : 'missed'})` : '-',
        fmt(median(results.map((x) => x.startupMs)), 0),
        fmt(median(results.map((x) => x.cpuMsPerPod)), 2),
        String(runs),
      ]);
    }
    table(`scheduling throughput, pods/s, median of the runs (anchor: plain-client pods/binding writes, ${BIND_CONCURRENCY} in flight)`, ['case', 'scheduler', 'apiserver binds', 'ratio', 'binds, 1 pod watch', 'ratio', 'goal', 'startup ms', 'sched CPU ms/pod', 'runs'], rows);

    const fo: Failover[] = [];
    for (let r = 0; r < FAILOVER_RUNS; r++) {
      const res = await failover(ctx, r);
      process.stderr.write(`  failover run ${r + 1}: lease ${fmt(res.leaseMs / 1000, 1)} s, first bind ${fmt(res.boundMs / 1000, 1)} s\n`);
      fo.push(res);
    }
    recordRow({
      bench: 'scheduler', figure: 'failover: pod created at the kill is bound', unit: 's', value: median(fo.map((x) => x.boundMs)) / 1000, better: 'lower',
      anchor: 'upstream kube-scheduler', published: { value: 17, source: 'lease 15 s + retry 2 s' }, runs: FAILOVER_RUNS,
    });
    table(`leader failover after kill -9, default 15s/10s/2s, median of ${FAILOVER_RUNS} run(s) (anchor: upstream ≈ 17 s)`, ['measure', 'pilot', 'upstream', 'ratio'], [
      ['standby holds the Lease, s', fmt(median(fo.map((x) => x.leaseMs)) / 1000, 1), '17', `${fmt(median(fo.map((x) => x.leaseMs)) / 1000 / 17, 2)}x`],
      ['pod created at the kill is bound, s', fmt(median(fo.map((x) => x.boundMs)) / 1000, 1), '17', `${fmt(median(fo.map((x) => x.boundMs)) / 1000 / 17, 2)}x`],
    ]);
  } finally {
    for (const ch of ctx.children) await stopChild(ch);
    ctx.client.close();
    api.child.kill('SIGTERM');
    await c.teardown();
  }
}

await main();
