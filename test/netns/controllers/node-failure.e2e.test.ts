import type { ApiClient, Endpoints, Event, Node, Pod, ReplicationController, Taint } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster, spawnComponent, startControlPlane, withLogsOnFailure, type ControlPlane } from '@pilot/netns';
import { FakeKubelets } from './kubelets.js';

/**
 * A host dies under an RC behind a Service, the whole way through: etcd,
 * `pilot apiserver` (TLS) with the default unreachable toleration shortened
 * to 5 s, `pilot scheduler`, and `pilot controller-manager` running the
 * replication, endpoints, node lifecycle and taint eviction controllers with
 * a 1 s monitor period and a 5 s grace period. The test is the kubelets of
 * three nodes (kubelets.ts with Leases): it renews their Leases and reports
 * their pods Running and Ready. Then one kubelet goes silent.
 */

let c: Cluster | undefined;
let cp: ControlPlane;
let api: ApiClient;
let kubelets: FakeKubelets;
const NS = 'failure';
const NODES = ['n1', 'n2', 'n3'];
const TOLERATION_SECONDS = 5;
const UNREACHABLE = ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule'];

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

const livePods = async (): Promise<Pod[]> => (await api.list<Pod>('pods', { namespace: NS, labelSelector: 'app=web' })).items.filter((p) => !p.metadata.deletionTimestamp);
const podReady = (p: Pod) => p.status?.conditions?.find((x) => x.type === 'Ready')?.status;
const taintsOf = async (name: string): Promise<string[]> => ((await api.get<Node>('nodes', name)).spec?.taints ?? []).map((x: Taint) => `${x.key}:${x.effect}`).sort();
const ips = (list: { ip: string }[] | undefined) => (list ?? []).map((a) => a.ip).sort();
const readyIps = (ep: Endpoints) => ips(ep.subsets?.flatMap((s) => s.addresses ?? []));
const notReadyIps = (ep: Endpoints) => ips(ep.subsets?.flatMap((s) => s.notReadyAddresses ?? []));
const endpoints = () => api.get<Endpoints>('endpoints', 'web', { namespace: NS });

function perNode(pods: Pod[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pods) out[p.spec!.nodeName!] = (out[p.spec!.nodeName!] ?? 0) + 1;
  return out;
}

/** Exactly `n` live pods of the RC, bound (to a node `where` accepts), Running with an IP and Ready, and Endpoints listing exactly their IPs as ready. */
async function waitForServing(n: number, what: string, where: (node: string) => boolean = () => true): Promise<Pod[]> {
  return waitFor(
    async () => {
      const pods = await livePods();
      if (pods.length !== n || !pods.every((p) => p.spec?.nodeName && where(p.spec.nodeName) && p.status?.podIP && podReady(p) === 'True')) return undefined;
      const ep = await endpoints();
      return readyIps(ep).join() === ips(pods.map((p) => ({ ip: p.status!.podIP! }))).join() ? pods : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200, what },
  );
}

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c, { flags: ['--default-unreachable-toleration-seconds', String(TOLERATION_SECONDS)] });
  api = cp.client;
  await api.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  kubelets = new FakeKubelets(api, NS, NODES, { leases: true });
  await kubelets.start();
  await spawnComponent(c, cp, 'scheduler', ['--leader-elect', 'false']);
  const cm = await spawnComponent(c, cp, 'controller-manager', [
    '--controllers', 'replicationcontroller,endpoint,nodelifecycle,taint-eviction-controller',
    '--leader-elect', 'false',
    '--node-monitor-period', '1s', '--node-monitor-grace-period', '5s', '--node-startup-grace-period', '5s',
  ]);
  await cm.waitForLog(/running controllers/, 30_000);
});

afterAll(async () => {
  await kubelets?.close();
  await c?.teardown();
});

describe('a node whose Lease stops being renewed', () => {
  t('turns Unknown after the grace period, its pods leave Endpoints at once and are recreated on the other nodes after their toleration', async () => {
    await api.create<ReplicationController>('replicationcontrollers', {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'web', namespace: NS },
      spec: { replicas: 6, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox', ports: [{ containerPort: 8080 }] }] } } },
    });
    await api.create('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } });
    const before = await waitForServing(6, 'rc web: 6 pods Ready in Endpoints');
    expect(perNode(before)).toEqual({ n1: 2, n2: 2, n3: 2 });
    const onN1 = before.filter((p) => p.spec!.nodeName === 'n1');
    const n1Ips = onN1.map((p) => p.status!.podIP!).sort();
    // The apiserver's DefaultTolerationSeconds gave every pod the shortened toleration.
    expect(onN1[0]!.spec?.tolerations).toContainEqual({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: TOLERATION_SECONDS });

    kubelets.silence('n1');

    const unknown = await waitFor(async () => {
      const r = (await api.get<Node>('nodes', 'n1')).status?.conditions?.find((x) => x.type === 'Ready');
      return r?.status === 'Unknown' ? r : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: 'n1 Ready=Unknown' });
    expect(unknown).toMatchObject({ reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    await waitFor(async () => (await taintsOf('n1')).join() === UNREACHABLE.join() || undefined, { timeoutMs: 15_000, intervalMs: 200, what: `n1 tainted ${UNREACHABLE.join(' + ')}` });

    // At once (well before the toleration runs out): n1's pods are not Ready and are listed only as not ready.
    const dropped = await waitFor(async () => {
      const ep = await endpoints();
      return notReadyIps(ep).join() === n1Ips.join() ? ep : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100, what: `n1's pods ${n1Ips} in notReadyAddresses` });
    expect(readyIps(dropped)).toEqual(ips(before.filter((p) => p.spec!.nodeName !== 'n1').map((p) => ({ ip: p.status!.podIP! }))));
    for (const p of onN1) {
      const now = await api.get<Pod>('pods', p.metadata.name!, { namespace: NS });
      expect(podReady(now)).toBe('False');
    }

    // After the toleration: evicted, and the RC's replacements run on the surviving nodes.
    const after = await waitForServing(6, 'rc web: 6 pods Ready in Endpoints again, none on n1', (node) => node !== 'n1');
    expect(perNode(after)).toEqual({ n2: 3, n3: 3 });
    const names = new Set(after.map((p) => p.metadata.name));
    for (const p of onN1) expect(names.has(p.metadata.name)).toBe(false);
    const ep = await endpoints();
    expect(notReadyIps(ep)).toEqual([]);
    expect(ep.subsets?.flatMap((s) => s.addresses ?? []).map((a) => a.nodeName).sort()).toEqual(['n2', 'n2', 'n2', 'n3', 'n3', 'n3']);

    // The Events that tell the story (what kubectl describe shows): the node, the evictions, the replacements.
    const evs = async (fieldSelector: string, namespace?: string) => (await api.list<Event>('events', { ...(namespace ? { namespace } : {}), fieldSelector })).items;
    expect(await evs('involvedObject.kind=Node,involvedObject.name=n1,reason=NodeNotReady')).toEqual([expect.objectContaining({ message: 'Node n1 status is now: NodeNotReady' })]);
    for (const p of onN1) {
      const evicted = await waitFor(async () => (await evs(`involvedObject.name=${p.metadata.name},reason=TaintManagerEviction`, NS))[0], { what: `the TaintManagerEviction event of ${p.metadata.name}` });
      expect(evicted.message).toBe(`Marking for deletion Pod ${NS}/${p.metadata.name}`);
    }
    // Six pods at first, one for each evicted pod: events are written after the creates, so wait for them.
    const count = async () => (await evs('involvedObject.name=web,reason=SuccessfulCreate', NS)).reduce((n, e) => n + (e.count ?? 1), 0);
    await waitFor(async () => (await count()) >= 8 || undefined, { what: 'SuccessfulCreate events for the 6 pods and the 2 replacements' });
    expect(await count()).toBe(8);
  });
});
