import { isNotFound, type ApiClient, type EndpointSlice, type Endpoints, type Event, type Lease, type Pod, type ReplicationController, type Service } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster, spawnComponent, startControlPlane, withLogsOnFailure, type ControlPlane, type Daemon } from '@pilot/netns';
import { Kubectl, tableRows } from '../kubectl/helpers.js';
import { FakeKubelets } from './kubelets.js';

/**
 * `pilot controller-manager` for real: etcd, `pilot apiserver` (TLS), one
 * `pilot scheduler` and two controller-managers with leader election in the
 * master namespace. The test acts as the kubelets of three Node objects
 * (kubelets.ts): bound pods become Running with an IP and Ready, deleted
 * ones are finished. Lease timers are shortened by flags (4s/3s/1s).
 */

let c: Cluster | undefined;
let cp: ControlPlane;
let api: ApiClient;
let k: Kubectl;
let kubelets: FakeKubelets;
const managers: Daemon[] = [];
const NS = 'ctl';
const NODES = ['n1', 'n2', 'n3'];

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

function rcSpec(name: string, replicas: number): ReplicationController {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { app: name },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'web', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
    },
  };
}

/** The pods of the RC that are not terminating. */
async function livePods(app: string): Promise<Pod[]> {
  return (await api.list<Pod>('pods', { namespace: NS, labelSelector: `app=${app}` })).items.filter((p) => !p.metadata.deletionTimestamp);
}

/** Waits until exactly `n` pods of the RC exist (terminating ones finished), each bound, Running and Ready. */
async function waitForPods(app: string, n: number, timeoutMs = 60_000): Promise<Pod[]> {
  return waitFor(
    async () => {
      const all = (await api.list<Pod>('pods', { namespace: NS, labelSelector: `app=${app}` })).items;
      const ok = all.filter((p) => !p.metadata.deletionTimestamp && p.spec?.nodeName && p.status?.phase === 'Running' && p.status.podIP);
      return all.length === n && ok.length === n ? ok : undefined;
    },
    { timeoutMs, intervalMs: 200, what: `${n} running pods of ${NS}/${app}` },
  );
}

async function waitForStatus(name: string, want: Partial<NonNullable<ReplicationController['status']>>): Promise<ReplicationController> {
  return waitFor(
    async () => {
      const rc = await api.get<ReplicationController>('replicationcontrollers', name, { namespace: NS });
      const s = rc.status ?? { replicas: 0 };
      const match = Object.entries(want).every(([key, v]) => (s as unknown as Record<string, unknown>)[key] === v || ((s as unknown as Record<string, unknown>)[key] === undefined && v === 0));
      return match && s.observedGeneration === rc.metadata.generation ? rc : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: `status ${JSON.stringify(want)} of rc ${NS}/${name}` },
  );
}

function perNode(pods: Pod[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pods) out[p.spec!.nodeName!] = (out[p.spec!.nodeName!] ?? 0) + 1;
  return out;
}

async function endpoints(name: string): Promise<Endpoints | undefined> {
  return api.get<Endpoints>('endpoints', name, { namespace: NS }).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
}

async function waitForEndpoints(name: string, ok: (ep: Endpoints) => boolean, what: string): Promise<Endpoints> {
  return waitFor(
    async () => {
      const ep = await endpoints(name);
      return ep && ok(ep) ? ep : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `endpoints ${NS}/${name}: ${what}` },
  );
}

const ips = (list: { ip: string }[] | undefined) => (list ?? []).map((a) => a.ip).sort();
const readyIps = (ep: Endpoints) => ips(ep.subsets?.flatMap((s) => s.addresses ?? []));
const notReadyIps = (ep: Endpoints) => ips(ep.subsets?.flatMap((s) => s.notReadyAddresses ?? []));

/** The identity the daemon's current run campaigns with (the log holds every run; each has a new one). */
function identityOf(d: Daemon): string | undefined {
  return [...d.log().matchAll(/"identity":"([^"]+)"/g)].at(-1)?.[1];
}

async function lease(): Promise<Lease> {
  return api.get<Lease>('leases', 'kube-controller-manager', { namespace: 'kube-system' });
}

function service(name: string, spec: Service['spec']): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS, labels: { svc: name } }, spec };
}

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c);
  api = cp.client;
  k = Kubectl.forRun(c, cp, NS);
  await api.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  kubelets = new FakeKubelets(api, NS, NODES);
  await kubelets.start();
  await spawnComponent(c, cp, 'scheduler', ['--leader-elect', 'false']);
  for (const name of ['cm-a', 'cm-b']) {
    managers.push(
      await spawnComponent(c, cp, 'controller-manager', [
        // The fake kubelets renew no Lease: node lifecycle (its own suite) would turn their nodes Unknown.
        '--controllers', 'replicationcontroller,endpoint',
        '--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s', '--leader-elect-retry-period', '1s',
      ], name),
    );
  }
  await waitFor(async () => (await lease().catch(() => undefined))?.spec?.holderIdentity || undefined, { timeoutMs: 30_000, what: 'a controller-manager to hold kube-system/kube-controller-manager' });
});

afterAll(async () => {
  await kubelets?.close();
  await c?.teardown();
});

describe('pilot controller-manager: replication', () => {
  t('an RC of 6 on 3 equal nodes: 6 pods it controls, spread 2/2/2, with status and SuccessfulCreate events', async () => {
    await api.create('replicationcontrollers', rcSpec('web', 6));
    const pods = await waitForPods('web', 6);
    expect(perNode(pods)).toEqual({ n1: 2, n2: 2, n3: 2 });
    const rc = await waitForStatus('web', { replicas: 6, fullyLabeledReplicas: 6, readyReplicas: 6, availableReplicas: 6 });
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
      expect(p.metadata.generateName).toBe('web-');
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: rc.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    const rows = tableRows(await k.ok(['get', 'rc', 'web']));
    expect(rows[1]!.slice(0, 4)).toEqual(['web', '6', '6', '6']);
    const created = await waitFor(async () => {
      const evs = (await api.list<Event>('events', { namespace: NS, fieldSelector: 'involvedObject.name=web,reason=SuccessfulCreate' })).items;
      return evs.length ? evs : undefined;
    }, { what: 'SuccessfulCreate events on rc web' });
    expect(created[0]).toEqual(expect.objectContaining({ type: 'Normal', source: expect.objectContaining({ component: 'replication-controller' }), message: expect.stringMatching(/^Created pod: web-[a-z0-9]{5}$/) }));
    const described = await k.ok(['describe', 'rc', 'web']);
    expect(described).toMatch(/^Replicas:\s+6 current \/ 6 desired$/m);
    expect(described).toMatch(/^Pods Status:\s+6 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m);
    expect(described).toMatch(/Normal\s+SuccessfulCreate\s+.*replication-controller\s+Created pod: web-[a-z0-9]{5}/);
  });

  t('kubectl scale rc to 10, then to 2: pods follow and status says so', async () => {
    await k.ok(['scale', 'rc', 'web', '--replicas=10']);
    expect(await waitForPods('web', 10)).toHaveLength(10);
    await waitForStatus('web', { replicas: 10, readyReplicas: 10 });
    await k.ok(['scale', 'rc', 'web', '--replicas=2']);
    expect(await waitForPods('web', 2)).toHaveLength(2);
    await waitForStatus('web', { replicas: 2, readyReplicas: 2, availableReplicas: 2 });
    const deleted = (await api.list<Event>('events', { namespace: NS, fieldSelector: 'involvedObject.name=web,reason=SuccessfulDelete' })).items;
    expect(deleted.reduce((n, e) => n + (e.count ?? 1), 0)).toBeGreaterThanOrEqual(1);
  });

  t('a deleted pod is replaced by a new one', async () => {
    const before = await waitForPods('web', 2);
    const victim = before[0]!.metadata.name!;
    await k.ok(['delete', 'pod', victim, '--wait=false']);
    const after = await waitFor(async () => {
      const now = await waitForPods('web', 2);
      return now.some((p) => p.metadata.name === victim) ? undefined : now;
    }, { timeoutMs: 30_000, what: `a replacement for ${victim}` });
    expect(after.map((p) => p.metadata.name)).toContain(before[1]!.metadata.name);
  });

  t('a matching orphan is adopted and a pod relabeled away is released', async () => {
    const [, relabel] = await waitForPods('web', 2);
    await api.patch('pods', relabel!.metadata.name!, { metadata: { labels: { app: 'web-released' } } }, 'merge', { namespace: NS });
    const released = await waitFor(async () => {
      const p = await api.get<Pod>('pods', relabel!.metadata.name!, { namespace: NS });
      return p.metadata.ownerReferences?.length ? undefined : p;
    }, { what: 'the relabeled pod to lose its controller reference' });
    expect(released.metadata.ownerReferences ?? []).toEqual([]);
    // Its place is taken by a new pod; putting the label back makes it a surplus orphan the RC adopts, then deletes one.
    await waitForPods('web', 2);
    await api.patch('pods', relabel!.metadata.name!, { metadata: { labels: { app: 'web' } } }, 'merge', { namespace: NS });
    const pods = await waitForPods('web', 2);
    for (const p of pods) expect(p.metadata.ownerReferences?.[0]?.name).toBe('web');
  });
});

describe('pilot controller-manager: endpoints', () => {
  t('Endpoints list ready pods in addresses and not-ready ones in notReadyAddresses, the named targetPort resolved; the trigger time reaches the slice', async () => {
    await api.create('services', service('web-svc', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }));
    const pods = await waitForPods('web', 2);
    const podIps = pods.map((p) => p.status!.podIP!).sort();
    const ep = await waitForEndpoints('web-svc', (e) => readyIps(e).join() === podIps.join(), `ready ${podIps}`);
    expect(ep.subsets).toEqual([
      {
        addresses: pods
          .map((p) => ({ ip: p.status!.podIP!, nodeName: p.spec!.nodeName!, targetRef: expect.objectContaining({ kind: 'Pod', namespace: NS, name: p.metadata.name, uid: p.metadata.uid }) }))
          .sort((a, b) => (a.ip < b.ip ? -1 : 1)),
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
    expect(ep.metadata.labels).toEqual({ svc: 'web-svc' });
    expect(ep.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const slice = await api.get<EndpointSlice>('endpointslices', 'web-svc', { namespace: NS });
    expect(slice.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']).toBe(ep.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']);

    // The same pods behind a Service that publishes not-ready addresses.
    await api.create('services', service('web-all', { selector: { app: 'web' }, publishNotReadyAddresses: true, ports: [{ port: 80, targetPort: 8080 }] }));
    await waitForEndpoints('web-all', (e) => readyIps(e).join() === podIps.join(), 'both pods');

    // One pod's readiness fails: it moves to notReadyAddresses, but stays in addresses of web-all.
    const sick = pods[0]!;
    await kubelets.setReady(sick.metadata.name!, false);
    const moved = await waitForEndpoints('web-svc', (e) => notReadyIps(e).join() === sick.status!.podIP, `${sick.status!.podIP} not ready`);
    expect(readyIps(moved)).toEqual([pods[1]!.status!.podIP]);
    // The trigger time is the change that caused the write: the sick pod's Ready transition.
    const sickNow = await api.get<Pod>('pods', sick.metadata.name!, { namespace: NS });
    const transition = sickNow.status?.conditions?.find((x) => x.type === 'Ready')?.lastTransitionTime;
    expect(Date.parse(moved.metadata.annotations!['endpoints.kubernetes.io/last-change-trigger-time']!)).toBe(Date.parse(transition!));
    const all = await endpoints('web-all');
    expect(readyIps(all!)).toEqual(podIps);
    expect(notReadyIps(all!)).toEqual([]);
    const rc = await waitForStatus('web', { replicas: 2, readyReplicas: 1 });
    expect(rc.status?.availableReplicas).toBe(1);
    await kubelets.setReady(sick.metadata.name!, true);
    await waitForEndpoints('web-svc', (e) => readyIps(e).join() === podIps.join() && notReadyIps(e).length === 0, 'both ready again');

    // The Service goes: so do its Endpoints.
    await api.delete('services', 'web-all', { namespace: NS });
    await waitFor(async () => ((await endpoints('web-all')) ? undefined : true), { timeoutMs: 30_000, what: 'endpoints web-all to be deleted' });
  });

  t('a named targetPort per pod, pods without the port or an IP left out, terminating pods dropped, selectorless Services left alone', async () => {
    const manual: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'manual', namespace: NS }, subsets: [{ addresses: [{ ip: '192.0.2.50' }], ports: [{ port: 5432 }] }] };
    await api.create('services', service('manual', { ports: [{ port: 5432 }] }));
    const manualEp = await api.create<Endpoints>('endpoints', manual);

    await api.create('services', service('mixed', { selector: { role: 'mixed' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }));
    const bare = (name: string, port: { name: string; containerPort: number } | undefined, node: string, linger = false): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS, labels: { role: 'mixed', ...(linger ? { linger: '' } : {}) } },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox', ...(port ? { ports: [port] } : {}) }] },
    });
    await api.create('pods', bare('p9090', { name: 'http', containerPort: 9090 }, 'n1', true));
    await api.create('pods', bare('p9191', { name: 'http', containerPort: 9191 }, 'n2'));
    await api.create('pods', bare('noport', { name: 'metrics', containerPort: 9100 }, 'n3'));
    const ip = async (n: string) => waitFor(async () => (await api.get<Pod>('pods', n, { namespace: NS })).status?.podIP, { what: `pod ${n} to have an IP` });
    const [ip1, ip2] = [await ip('p9090'), await ip('p9191')];
    const ep = await waitForEndpoints('mixed', (e) => readyIps(e).length === 2, 'two pods');
    expect(ep.subsets?.map((s) => ({ ips: ips(s.addresses), ports: s.ports }))).toEqual(
      expect.arrayContaining([
        { ips: [ip1], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] },
        { ips: [ip2], ports: [{ name: 'http', port: 9191, protocol: 'TCP' }] },
      ]),
    );
    expect(ep.subsets).toHaveLength(2);

    // Graceful deletion marks p9090 terminating (its kubelet lingers): it leaves the Endpoints at once.
    await api.delete('pods', 'p9090', { namespace: NS });
    await waitForEndpoints('mixed', (e) => readyIps(e).join() === ip2 && notReadyIps(e).length === 0, 'the terminating pod dropped');
    expect((await api.get<Pod>('pods', 'p9090', { namespace: NS })).metadata.deletionTimestamp).toBeDefined();

    // A selectorless Service's Endpoints are the user's: untouched through all of this.
    const still = await endpoints('manual');
    expect(still?.metadata.resourceVersion).toBe(manualEp.metadata.resourceVersion);
    expect(still?.subsets).toEqual(manualEp.subsets);
    await api.delete('pods', 'p9090', { namespace: NS, gracePeriodSeconds: 0 });
    for (const n of ['p9191', 'noport']) await api.delete('pods', n, { namespace: NS, gracePeriodSeconds: 0 });
  });
});

describe('pilot controller-manager: leader election', () => {
  t('kill -9 of the leader during a scale 0 → 50: the standby takes the Lease and the RC ends with exactly 50 pods; restarting both creates none more', async () => {
    await k.ok(['scale', 'rc', 'web', '--replicas=0']);
    await waitForPods('web', 0);
    await waitForStatus('web', { replicas: 0 });
    const before = await lease();
    const leader = managers.find((d) => identityOf(d) === before.spec?.holderIdentity);
    const standby = managers.find((d) => d !== leader);
    expect(leader).toBeDefined();
    expect(standby?.running).toBe(true);

    // Every pod of the RC ever created from here on, from a watch opened before the scale.
    const abort = new AbortController();
    const created = new Set<string>();
    const list = await api.list<Pod>('pods', { namespace: NS });
    let killed: Promise<unknown> | undefined;
    let createdBeforeKill = 0;
    const watching = (async () => {
      for await (const ev of api.watch<Pod>('pods', { namespace: NS, resourceVersion: list.metadata?.resourceVersion, labelSelector: 'app=web', signal: abort.signal })) {
        if (ev.type !== 'ADDED') continue;
        created.add(ev.object.metadata.name!);
        if (!killed) {
          createdBeforeKill = created.size;
          killed = leader!.kill('SIGKILL');
        }
      }
    })();
    await k.ok(['scale', 'rc', 'web', '--replicas=50']);
    await waitFor(() => killed, { timeoutMs: 30_000, what: 'the first pod of the scale-up' });
    await killed;
    await waitFor(async () => (await lease()).spec?.holderIdentity === identityOf(standby!) || undefined, { timeoutMs: 30_000, what: 'the standby to hold the Lease' });
    expect((await lease()).spec!.leaseTransitions!).toBeGreaterThan(before.spec!.leaseTransitions ?? 0);
    await waitForPods('web', 50, 90_000);
    await waitForStatus('web', { replicas: 50, readyReplicas: 50 });
    expect(created.size).toBe(50);

    // Restarting both: the killed one comes back as the standby, the leader stops gracefully
    // (releasing the Lease) and starts again; the new leader syncs the RC with its own cache.
    leader!.start();
    await standby!.stop();
    await waitFor(async () => (await lease()).spec?.holderIdentity === identityOf(leader!) || undefined, { timeoutMs: 30_000, what: 'the restarted manager to hold the Lease' });
    standby!.start();
    await api.patch('replicationcontrollers', 'web', { spec: { minReadySeconds: 1 } }, 'merge', { namespace: NS });
    await waitForStatus('web', { replicas: 50 });
    abort.abort();
    await watching;
    process.stdout.write(`failover: the old leader's pods seen before the kill: ${createdBeforeKill}; created in all: ${created.size}\n`);
    expect(created.size).toBe(50);
    expect((await livePods('web')).length).toBe(50);
  });
});
