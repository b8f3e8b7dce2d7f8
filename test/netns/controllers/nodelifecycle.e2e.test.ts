import type { ApiClient, Event, Lease, Node, NodeCondition, Pod, Taint, Toleration } from '@pilot/api';
import { formatMicroTime, formatTime, isNotFound } from '@pilot/api';
import { sleep, waitFor } from '@pilot/common';
import { Cluster, spawnComponent, startControlPlane, withLogsOnFailure, type ControlPlane, type Daemon } from '@pilot/netns';

/**
 * Node lifecycle for real: etcd, `pilot apiserver` (TLS) with the default
 * tolerations shortened to 4 s, and `pilot controller-manager
 * --controllers=nodelifecycle,taint-eviction-controller` with a 1 s monitor
 * period and a 4 s grace period, in the master namespace. The test acts as
 * three kubelets: it posts their Node objects, renews their Leases in
 * kube-node-lease every second, and posts their pods Running and Ready with
 * an IP. One kubelet goes silent, another reports NotReady.
 */

let c: Cluster | undefined;
let cp: ControlPlane;
let api: ApiClient;
let cm: Daemon;
const NS = 'lifecycle';
const TOLERATION_SECONDS = 4;
const NODES = ['n1', 'n2', 'n3'];
/** Nodes whose test-kubelet renews its Lease. */
const renewing = new Set(NODES);
let renewer: NodeJS.Timeout | undefined;

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

function ready(status: NodeCondition['status'], reason: string, message: string): NodeCondition {
  const now = formatTime();
  return { type: 'Ready', status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now };
}

/** The test is the kubelet: its node's status (Ready with a fresh heartbeat, or NotReady). */
async function postNodeStatus(name: string, isReady: boolean): Promise<void> {
  const n = await api.get<Node>('nodes', name);
  const cond = isReady ? ready('True', 'KubeletReady', 'kubelet is posting ready status') : ready('False', 'KubeletNotReady', 'container runtime is down');
  const others = (n.status?.conditions ?? []).filter((x) => x.type !== 'Ready').map((x) => ({ ...x, status: x.type === 'NetworkUnavailable' ? x.status : ('False' as const), lastHeartbeatTime: cond.lastHeartbeatTime }));
  await api.updateStatus('nodes', { ...n, status: { ...n.status, conditions: [cond, ...others] } });
}

async function registerNode(name: string): Promise<void> {
  const created = await api.create<Node>('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {} });
  const resources = { cpu: '2', memory: '4Gi', pods: '110' };
  const pressure = (type: string, reason: string): NodeCondition => ({ type, status: 'False', reason, lastHeartbeatTime: formatTime(), lastTransitionTime: formatTime() });
  await api.updateStatus('nodes', {
    ...created,
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [ready('True', 'KubeletReady', 'kubelet is posting ready status'), pressure('MemoryPressure', 'KubeletHasSufficientMemory'), pressure('DiskPressure', 'KubeletHasNoDiskPressure'), pressure('PIDPressure', 'KubeletHasSufficientPID')],
    },
  });
  await api.create<Lease>('leases', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: formatMicroTime() } });
}

async function renewLeases(): Promise<void> {
  await Promise.all(
    [...renewing].map(async (name) => {
      const l = await api.get<Lease>('leases', name, { namespace: 'kube-node-lease' });
      await api.update('leases', { ...l, spec: { ...l.spec, renewTime: formatMicroTime() } });
    }),
  ).catch(() => undefined); // a conflict or a slow answer: the next tick renews
}

/** A pod bound to `node`, posted Running and Ready with an IP by its "kubelet". */
async function runningPod(name: string, node: string, ip: string, tolerations?: Toleration[]): Promise<Pod> {
  await api.create<Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...(tolerations ? { tolerations } : {}) } });
  await api.bind(NS, name, node);
  const p = await api.get<Pod>('pods', name, { namespace: NS });
  const now = formatTime();
  const conditions = [...(p.status?.conditions ?? []), ...['Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True' as const, lastProbeTime: null, lastTransitionTime: now }))];
  return api.updateStatus<Pod>('pods', { ...p, status: { ...p.status, phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: '10.9.0.1', startTime: now, conditions } });
}

const podReady = (p: Pod | undefined) => p?.status?.conditions?.find((x) => x.type === 'Ready')?.status;
const getPod = (name: string) => api.get<Pod>('pods', name, { namespace: NS }).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
const nodeReady = async (name: string) => (await api.get<Node>('nodes', name)).status?.conditions?.find((x) => x.type === 'Ready');
const taintsOf = async (name: string): Promise<string[]> => ((await api.get<Node>('nodes', name)).spec?.taints ?? []).map((x: Taint) => `${x.key}:${x.effect}`).sort();

async function gone(name: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => ((await getPod(name)) === undefined) || undefined, { timeoutMs, intervalMs: 200, what: `pod ${NS}/${name} to be deleted` });
}

/** Checks (with expect) once a second for `ms`: a state that must hold, such as "not evicted". */
async function holdsFor(ms: number, check: () => Promise<void>): Promise<void> {
  const until = Date.now() + ms;
  do {
    await check();
    await sleep(1000);
  } while (Date.now() < until);
}

async function events(fieldSelector: string, namespace?: string): Promise<Event[]> {
  return (await api.list<Event>('events', { ...(namespace ? { namespace } : {}), fieldSelector })).items;
}

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c, { flags: ['--default-not-ready-toleration-seconds', String(TOLERATION_SECONDS), '--default-unreachable-toleration-seconds', String(TOLERATION_SECONDS)] });
  api = cp.client;
  await api.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  for (const n of NODES) await registerNode(n);
  renewer = setInterval(() => void renewLeases(), 1000);
  cm = await spawnComponent(c, cp, 'controller-manager', [
    '--controllers', 'nodelifecycle,taint-eviction-controller',
    '--leader-elect', 'false',
    '--node-monitor-period', '1s', '--node-monitor-grace-period', '4s', '--node-startup-grace-period', '4s',
    '--node-eviction-rate', '10',
  ]);
  await cm.waitForLog(/running controllers/, 30_000);
});

afterAll(async () => {
  if (renewer) clearInterval(renewer);
  await c?.teardown();
});

describe('node lifecycle (nodelifecycle + taint-eviction-controller)', () => {
  t('new pods carry the apiserver default tolerations (DefaultTolerationSeconds, shortened by flag)', async () => {
    const p = await runningPod('probe', 'n3', '10.1.3.9');
    expect(p.spec?.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: TOLERATION_SECONDS },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: TOLERATION_SECONDS },
    ]);
    await api.delete('pods', 'probe', { namespace: NS, gracePeriodSeconds: 0 });
  });

  t('healthy nodes renewing their Leases stay Ready and untainted well past the grace period', async () => {
    // Four grace periods of Lease renewals alone (no status posts): nothing turns Unknown.
    await holdsFor(4 * 4_000, async () => {
      for (const n of NODES) {
        expect((await nodeReady(n))?.status).toBe('True');
        expect(await taintsOf(n)).toEqual([]);
      }
    });
  });

  t('a node whose Lease stops: Unknown after the grace period, unreachable taints, its pods not Ready at once and deleted after their toleration; a pod tolerating it forever stays', async () => {
    await runningPod('web-1a', 'n1', '10.1.1.2');
    await runningPod('web-1b', 'n1', '10.1.1.3');
    await runningPod('forever-1', 'n1', '10.1.1.4', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }]);
    await runningPod('web-2a', 'n2', '10.1.2.2');
    renewing.delete('n1');

    const unknown = await waitFor(async () => {
      const r = await nodeReady('n1');
      return r?.status === 'Unknown' ? r : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: 'n1 to turn Unknown' });
    expect(unknown).toMatchObject({ reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    const n1 = await api.get<Node>('nodes', 'n1');
    for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) expect(n1.status?.conditions?.find((x) => x.type === type)).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown' });

    await waitFor(async () => (await taintsOf('n1')).join() === 'node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule' || undefined, {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'n1 to be tainted unreachable NoExecute + NoSchedule',
    });
    // The pods are marked not Ready (the endpoints controller drops them); the one tolerating forever too.
    const marked = await waitFor(async () => {
      const all = await Promise.all(['web-1a', 'web-1b', 'forever-1'].map(getPod));
      return all.every((p) => p === undefined || podReady(p) === 'False') ? all : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100, what: "n1's pods to be marked not Ready" });
    expect(podReady(marked[2])).toBe('False');

    await gone('web-1a');
    await gone('web-1b');
    expect(await getPod('forever-1')).toBeDefined();
    // Pods on healthy nodes are left alone.
    expect(podReady(await getPod('web-2a'))).toBe('True');

    const nodeEvents = await events('involvedObject.kind=Node,involvedObject.name=n1,reason=NodeNotReady');
    expect(nodeEvents).toEqual([expect.objectContaining({ type: 'Normal', message: 'Node n1 status is now: NodeNotReady', source: expect.objectContaining({ component: 'node-controller' }) })]);
    const eviction = await waitFor(async () => (await events('involvedObject.name=web-1a,reason=TaintManagerEviction', NS))[0], { what: 'the TaintManagerEviction event of web-1a' });
    expect(eviction).toMatchObject({ type: 'Normal', message: `Marking for deletion Pod ${NS}/web-1a`, source: expect.objectContaining({ component: 'taint-eviction-controller' }) });
    const notReady = await waitFor(async () => (await events('involvedObject.name=forever-1,reason=NodeNotReady', NS))[0], { what: 'the NodeNotReady event of forever-1' });
    expect(notReady).toMatchObject({ type: 'Warning', message: 'Node is not ready' });
  });

  t('the kubelet comes back (Lease renewed, Ready posted): the taints go, and a pod bound there later is not evicted', async () => {
    renewing.add('n1');
    await postNodeStatus('n1', true);
    await waitFor(async () => ((await taintsOf('n1')).length === 0) || undefined, { timeoutMs: 15_000, intervalMs: 200, what: "n1's taints to be removed" });
    expect((await nodeReady('n1'))?.status).toBe('True');
    await runningPod('web-1c', 'n1', '10.1.1.5');
    // Longer than a grace period plus the toleration: the node stays healthy and its new pod Ready.
    await holdsFor(4_000 + TOLERATION_SECONDS * 1000, async () => {
      expect(await taintsOf('n1')).toEqual([]);
      expect(podReady(await getPod('web-1c'))).toBe('True');
      expect(await getPod('forever-1')).toBeDefined();
    });
  });

  t('a kubelet reporting NotReady: the not-ready taints, its pods not Ready and evicted after their toleration; Ready again removes the taints', async () => {
    await runningPod('web-3a', 'n3', '10.1.3.2');
    await postNodeStatus('n3', false);
    await waitFor(async () => (await taintsOf('n3')).join() === 'node.kubernetes.io/not-ready:NoExecute,node.kubernetes.io/not-ready:NoSchedule' || undefined, {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'n3 to be tainted not-ready NoExecute + NoSchedule',
    });
    await waitFor(async () => {
      const p = await getPod('web-3a');
      return p === undefined || podReady(p) === 'False' || undefined;
    }, { timeoutMs: 15_000, intervalMs: 100, what: 'web-3a to be marked not Ready' });
    await gone('web-3a');
    await postNodeStatus('n3', true);
    await waitFor(async () => ((await taintsOf('n3')).length === 0) || undefined, { timeoutMs: 15_000, intervalMs: 200, what: "n3's taints to be removed" });
  });
});
