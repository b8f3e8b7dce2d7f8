import type { ApiClient, Event, Lease, Node, Pod, Service, Taint, Toleration } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster, spawnComponent, startControlPlane, withLogsOnFailure, type ControlPlane, type Daemon } from '@pilot/netns';
import { Kubectl } from '../kubectl/helpers.js';

/**
 * `pilot scheduler` for real: etcd, `pilot apiserver` (TLS) and two
 * schedulers with leader election in the master namespace. The test acts as
 * the kubelets: it posts the Node objects (allocatable, Ready) and, where a
 * pod ends, its status. Timers are shortened by flags (4s/3s/1s leases).
 */

let c: Cluster | undefined;
let cp: ControlPlane;
let api: ApiClient;
let k: Kubectl;
const schedulers: Daemon[] = [];
const NS = 'sched';

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

function kubeletNode(name: string, opts: { cpu?: string; labels?: Record<string, string>; taints?: Taint[] } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...opts.labels } },
    spec: opts.taints ? { taints: opts.taints } : {},
    status: {
      capacity: { cpu: opts.cpu ?? '2', memory: '4Gi', pods: '110' },
      allocatable: { cpu: opts.cpu ?? '2', memory: '4Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
    },
  };
}

/** The test is the kubelet: the Node object, then its status (the status subresource holds allocatable). */
async function registerNode(n: Node): Promise<void> {
  const created = await api.create<Node>('nodes', n);
  await api.updateStatus('nodes', { ...created, status: n.status });
}

function podSpec(name: string, o: { cpu?: string; labels?: Record<string, string>; nodeSelector?: Record<string, string>; tolerations?: Toleration[] } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: o.labels ?? { app: name } },
    spec: {
      containers: [{ name: 'c', image: 'busybox', ...(o.cpu ? { resources: { requests: { cpu: o.cpu } } } : {}) }],
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
    },
  };
}

async function nodeOf(name: string, timeoutMs = 30_000): Promise<string> {
  return waitFor(async () => (await api.get<Pod>('pods', name, { namespace: NS })).spec?.nodeName || undefined, { timeoutMs, intervalMs: 100, what: `pod ${NS}/${name} to be bound` });
}

async function events(pod: string, reason: string): Promise<Event[]> {
  return (await api.list<Event>('events', { namespace: NS, fieldSelector: `involvedObject.name=${pod},reason=${reason}` })).items;
}

async function failedScheduling(pod: string, message: string): Promise<Event> {
  return waitFor(async () => (await events(pod, 'FailedScheduling')).find((e) => e.message === message), { timeoutMs: 30_000, intervalMs: 200, what: `FailedScheduling "${message}" for ${pod}` });
}

async function deletePods(names: string[]): Promise<void> {
  await Promise.all(names.map((n) => api.delete('pods', n, { namespace: NS, gracePeriodSeconds: 0 })));
}

/** The identity a scheduler process campaigns with, from its log. */
function identityOf(d: Daemon): string | undefined {
  return /"identity":"([^"]+)"/.exec(d.log())?.[1];
}

async function lease(): Promise<Lease> {
  return api.get<Lease>('leases', 'kube-scheduler', { namespace: 'kube-system' });
}

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c);
  api = cp.client;
  k = Kubectl.forRun(c, cp, NS);
  await api.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  for (const name of ['sched-a', 'sched-b']) {
    schedulers.push(
      await spawnComponent(c, cp, 'scheduler', ['--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s', '--leader-elect-retry-period', '1s'], name),
    );
  }
  for (const n of ['n1', 'n2', 'n3']) await registerNode(kubeletNode(n, n === 'n3' ? { labels: { disk: 'ssd' } } : {}));
  await waitFor(async () => (await lease().catch(() => undefined))?.spec?.holderIdentity || undefined, { timeoutMs: 30_000, what: 'a scheduler to hold kube-system/kube-scheduler' });
});

afterAll(async () => {
  await c?.teardown();
});

describe('pilot scheduler', () => {
  t('spreads 6 pods of a Service over 3 equal nodes 2/2/2, with a Scheduled event from default-scheduler each', async () => {
    const svc: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } };
    await api.create('services', svc);
    const names = [...Array(6)].map((_, i) => `web-${i}`);
    for (const n of names) await api.create('pods', podSpec(n, { labels: { app: 'web' } }));
    const placed = await Promise.all(names.map((n) => nodeOf(n)));
    const per: Record<string, number> = {};
    for (const n of placed) per[n] = (per[n] ?? 0) + 1;
    expect(per).toEqual({ n1: 2, n2: 2, n3: 2 });
    const ev = await waitFor(async () => {
      const list = await events('web-0', 'Scheduled');
      return list.length ? list : undefined;
    }, { what: 'Scheduled event of web-0' });
    expect(ev).toEqual([expect.objectContaining({ type: 'Normal', message: `Successfully assigned ${NS}/web-0 to ${placed[0]}`, source: expect.objectContaining({ component: 'default-scheduler' }) })]);
    const p = await api.get<Pod>('pods', 'web-0', { namespace: NS });
    expect(p.status?.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'PodScheduled', status: 'True' })]));
    await deletePods(names);
  });

  t('honours a nodeSelector, keeps pods off a tainted node unless they tolerate it, and requeues when the taint goes', async () => {
    const ssd = await api.create('pods', podSpec('wants-ssd', { nodeSelector: { disk: 'ssd' } }));
    expect(await nodeOf(ssd.metadata.name!)).toBe('n3');
    const n2 = await api.get<Node>('nodes', 'n2');
    const taint: Taint = { key: 'dedicated', value: 'infra', effect: 'NoSchedule' };
    await api.update('nodes', { ...n2, spec: { ...n2.spec, taints: [taint] } });
    const plain = ['plain-0', 'plain-1', 'plain-2', 'plain-3'];
    for (const n of plain) await api.create('pods', podSpec(n));
    for (const n of plain) expect(await nodeOf(n)).not.toBe('n2');
    const tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }];
    await api.create('pods', podSpec('infra-ok', { nodeSelector: { 'kubernetes.io/hostname': 'n2' }, tolerations }));
    expect(await nodeOf('infra-ok')).toBe('n2');
    await api.create('pods', podSpec('infra-no', { nodeSelector: { 'kubernetes.io/hostname': 'n2' } }));
    await failedScheduling(
      'infra-no',
      "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    );
    // The taint goes (a node update the TaintToleration rejection waits for): the pod is retried at once, not after 5 minutes.
    const tainted = await api.get<Node>('nodes', 'n2');
    await api.update('nodes', { ...tainted, spec: { ...tainted.spec, taints: [] } });
    expect(await nodeOf('infra-no', 20_000)).toBe('n2');
    await deletePods(['wants-ssd', ...plain, 'infra-ok', 'infra-no']);
  });

  t('a pod bigger than every node stays Pending with upstream FailedScheduling and PodScheduled=False; a node added later takes it', async () => {
    await api.create('pods', podSpec('big', { cpu: '3' }));
    const msg = '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
    await failedScheduling('big', msg);
    const p = await waitFor(async () => {
      const got = await api.get<Pod>('pods', 'big', { namespace: NS });
      return got.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.reason === 'Unschedulable') ? got : undefined;
    }, { what: 'PodScheduled=False on big' });
    expect(p.spec?.nodeName).toBeUndefined();
    expect(p.status?.phase).toBe('Pending');
    expect(p.status?.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg })]));
    const described = await k.ok(['describe', 'pod', 'big']);
    expect(described).toMatch(/^Status:\s+Pending$/m);
    expect(described).toMatch(/^\s+PodScheduled\s+False\s*$/m);
    expect(described).toContain(`Warning  FailedScheduling`);
    expect(described).toMatch(new RegExp(`default-scheduler\\s+${msg.replace(/[.()]/g, '\\$&')}`));

    // A node that fits arrives: the NodeAdd event moves the pod out of unschedulablePods at once.
    await registerNode(kubeletNode('n4', { cpu: '4' }));
    expect(await nodeOf('big', 20_000)).toBe('n4');

    // n4 has 1 cpu left: a second big pod waits until the first one ends (the test, as n4's kubelet, reports it Succeeded).
    await api.create('pods', podSpec('big-2', { cpu: '3' }));
    await failedScheduling('big-2', '0/4 nodes are available: 4 Insufficient cpu. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod.');
    const running = await api.get<Pod>('pods', 'big', { namespace: NS });
    await api.updateStatus('pods', { ...running, status: { ...running.status, phase: 'Succeeded' } });
    expect(await nodeOf('big-2', 20_000)).toBe('n4');
    await deletePods(['big', 'big-2']);
  });

  t('kill -9 of the leading scheduler while 50 pods are created: the standby takes the Lease and every pod is bound exactly once', async () => {
    const before = await lease();
    const leader = schedulers.find((d) => identityOf(d) === before.spec?.holderIdentity);
    const standby = schedulers.find((d) => d !== leader);
    expect(leader).toBeDefined();
    expect(standby?.running).toBe(true);

    // Every nodeName each pod ever had, from a watch opened before the first create.
    const watchAbort = new AbortController();
    const assignments = new Map<string, string[]>();
    const list = await api.list<Pod>('pods', { namespace: NS });
    const watching = (async () => {
      for await (const ev of api.watch<Pod>('pods', { namespace: NS, resourceVersion: list.metadata?.resourceVersion, signal: watchAbort.signal })) {
        const name = ev.object.metadata.name!;
        const nodeName = ev.object.spec?.nodeName;
        if (!nodeName) continue;
        const seen = assignments.get(name) ?? [];
        if (seen[seen.length - 1] !== nodeName) seen.push(nodeName);
        assignments.set(name, seen);
      }
    })();

    const names = [...Array(50)].map((_, i) => `burst-${i}`);
    for (const [i, n] of names.entries()) {
      if (i === 15) await leader!.kill('SIGKILL');
      await api.create('pods', podSpec(n, { labels: { app: 'burst' } }));
    }
    await waitFor(async () => (await lease()).spec?.holderIdentity === identityOf(standby!) || undefined, { timeoutMs: 30_000, what: 'the standby to hold the Lease' });
    const after = await lease();
    expect(after.spec!.leaseTransitions!).toBeGreaterThan(before.spec!.leaseTransitions ?? 0);
    await Promise.all(names.map((n) => nodeOf(n, 60_000)));
    await waitFor(() => names.every((n) => assignments.has(n)) || undefined, { what: 'the watch to see every binding' });
    watchAbort.abort();
    await watching;

    for (const n of names) expect([n, assignments.get(n)!.length]).toEqual([n, 1]);
    // Two successful binds of one pod would show as two Scheduled events (or a count of 2).
    const scheduledPerPod = async () => {
      const scheduled = (await api.list<Event>('events', { namespace: NS, fieldSelector: 'reason=Scheduled' })).items.filter((e) => e.involvedObject.name?.startsWith('burst-'));
      const perPod = new Map<string, number>();
      for (const e of scheduled) perPod.set(e.involvedObject.name!, (perPod.get(e.involvedObject.name!) ?? 0) + (e.count ?? 1));
      return perPod;
    };
    // Pods created after the kill were bound by the standby only, and it announces
    // each bind (events are written after the bind returns, so poll for them).
    // Binds the old leader finished but had no time to announce may lack their event.
    const byStandby = names.slice(15);
    await waitFor(async () => {
      const perPod = await scheduledPerPod();
      return byStandby.every((n) => perPod.has(n)) || undefined;
    }, { timeoutMs: 30_000, what: "the standby's Scheduled event for every pod created after the kill" });
    const perPod = await scheduledPerPod();
    expect([...perPod.entries()].filter(([, v]) => v !== 1)).toEqual([]);
    const conflicts = (await api.list<Event>('events', { namespace: NS, fieldSelector: 'reason=FailedScheduling' })).items.filter((e) => e.message?.includes('already assigned'));
    process.stdout.write(`failover: ${conflicts.length} bind(s) refused by the apiserver as already assigned\n`);
  });
});
