import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ApiError, type ApiClient, type ConfigMap, type KubeObject, type Namespace, type Pod, type ReplicationController, type ServiceAccount } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster, spawnComponent, startControlPlane, withLogsOnFailure, type ControlPlane, type Daemon } from '@pilot/netns';
import { Kubectl, tableRows } from '../kubectl/helpers.js';

/**
 * Object lifecycle for real: etcd, `pilot apiserver` (TLS) and one
 * `pilot controller-manager` running the serviceaccount, namespace,
 * garbagecollector and replicationcontroller controllers, in the master
 * namespace, driven by the real kubectl and a plain client. No scheduler or
 * kubelet runs: pods stay unscheduled, so their deletion is immediate.
 */

let c: Cluster | undefined;
let cp: ControlPlane;
let api: ApiClient;
let k: Kubectl;
let cm: Daemon;
const NS = 'life';

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

async function serviceAccount(ns: string, name: string): Promise<ServiceAccount | undefined> {
  return api.get<ServiceAccount>('serviceaccounts', name, { namespace: ns }).catch(() => undefined);
}

async function gone(resource: string, name: string, namespace?: string): Promise<boolean> {
  try {
    await api.get(resource, name, namespace ? { namespace } : {});
    return false;
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return true;
    throw err;
  }
}

const podsOf = async (ns: string, app: string): Promise<Pod[]> => (await api.list<Pod>('pods', { namespace: ns, labelSelector: `app=${app}` })).items;

function rcYaml(name: string, replicas: number): string {
  return `apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: ${name}\nspec:\n  replicas: ${replicas}\n  selector:\n    app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n`;
}

/** Creates an RC with kubectl and waits for the replication controller's pods, owned by it. */
async function rcWithPods(name: string, replicas: number): Promise<{ rc: ReplicationController; pods: Pod[] }> {
  const file = `${c!.stateDir}/kubectl/${name}.yaml`;
  writeFileSync(file, rcYaml(name, replicas));
  await k.ok(['create', '-f', file]);
  const rc = await api.get<ReplicationController>('replicationcontrollers', name, { namespace: NS });
  const pods = await waitFor(async () => {
    const list = await podsOf(NS, name);
    return list.length === replicas ? list : undefined;
  }, { timeoutMs: 30_000, intervalMs: 200, what: `${replicas} pods of rc ${name}` });
  for (const p of pods) expect(p.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'ReplicationController', name, uid: rc.metadata.uid, controller: true, blockOwnerDeletion: true })]);
  return { rc, pods };
}

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c);
  api = cp.client;
  k = Kubectl.forRun(c, cp, NS);
  cm = await spawnComponent(c, cp, 'controller-manager', [
    '--leader-elect=false',
    '--controllers', 'serviceaccount,namespace,garbagecollector,replicationcontroller',
  ]);
  await k.ok(['create', 'namespace', NS]);
});

afterAll(async () => {
  await cm?.stop();
  await c?.teardown();
});

describe('serviceaccount controller', () => {
  t('every namespace gets a default ServiceAccount, the system ones too, and a deleted one comes back', async () => {
    for (const ns of [NS, 'default', 'kube-system', 'kube-public', 'kube-node-lease'])
      await waitFor(() => serviceAccount(ns, 'default'), { timeoutMs: 30_000, intervalMs: 200, what: `ServiceAccount ${ns}/default` });
    expect(tableRows(await k.ok(['get', 'sa']))).toEqual([['NAME', 'SECRETS', 'AGE'], ['default', '0', expect.any(String)]]);
    const first = (await serviceAccount(NS, 'default'))!;
    expect(await k.ok(['delete', 'sa', 'default'])).toBe('serviceaccount "default" deleted\n');
    const again = await waitFor(async () => {
      const sa = await serviceAccount(NS, 'default');
      return sa && sa.metadata.uid !== first.metadata.uid ? sa : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: `ServiceAccount ${NS}/default to be created again` });
    expect(again.metadata.name).toBe('default');
    expect(cm.log()).toContain('created service account');
  });
});

describe('secrets of kubectl create secret tls', () => {
  t('a kubernetes.io/tls Secret from a generated key pair: TYPE and DATA in get, sizes and never the key in describe', async () => {
    const dir = `${c!.stateDir}/tls`;
    mkdirSync(dir, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${dir}/tls.key`, '-out', `${dir}/tls.crt`, '-subj', '/CN=web.life', '-days', '1'], { stdio: 'ignore' });
    expect(await k.ok(['create', 'secret', 'tls', 'web-tls', `--cert=${dir}/tls.crt`, `--key=${dir}/tls.key`])).toBe('secret/web-tls created\n');
    expect(tableRows(await k.ok(['get', 'secret', 'web-tls']))).toEqual([['NAME', 'TYPE', 'DATA', 'AGE'], ['web-tls', 'kubernetes.io/tls', '2', expect.any(String)]]);
    const described = await k.ok(['describe', 'secret', 'web-tls']);
    const key = readFileSync(`${dir}/tls.key`, 'utf8');
    expect(described).toMatch(new RegExp(`^tls\\.key:\\s+${Buffer.byteLength(key)} bytes$`, 'm'));
    expect(described).not.toContain('PRIVATE KEY');
    const stored = await api.get<KubeObject & { data: Record<string, string> }>('secrets', 'web-tls', { namespace: NS });
    expect(Buffer.from(stored.data['tls.key']!, 'base64').toString()).toBe(key);
    // The type needs both keys: without tls.key it is refused, naming the key.
    const bad = await k.fails(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: half\ntype: kubernetes.io/tls\ndata:\n  tls.crt: ""\n' });
    expect(bad).toContain('The Secret "half" is invalid: data[tls.key]: Required value');
  });
});

describe('namespace controller', () => {
  t('kubectl delete namespace: Terminating, new content refused, everything in it deleted, a finalizer holds it, then it is gone', async () => {
    const ns = 'doomed';
    const n = ['-n', ns];
    await k.ok(['create', 'namespace', ns]);
    await k.ok([...n, 'create', 'configmap', 'cfg', '--from-literal=a=b']);
    await k.ok([...n, 'create', 'secret', 'generic', 's', '--from-literal=p=x']);
    await k.ok([...n, 'create', 'service', 'clusterip', 'web', '--tcp=80:8080']);
    await k.ok([...n, 'run', 'solo', '--image=busybox']);
    await api.create<ConfigMap>('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: ns, finalizers: ['example.com/hold'] } });
    await waitFor(() => serviceAccount(ns, 'default'), { timeoutMs: 30_000, intervalMs: 200, what: `ServiceAccount ${ns}/default` });

    expect(await k.ok(['delete', 'namespace', ns, '--wait=false'])).toBe(`namespace "${ns}" deleted\n`);
    expect(await k.ok(['get', 'namespace', ns, '-o', 'jsonpath={.status.phase}'])).toBe('Terminating');
    expect(await k.fails([...n, 'create', 'configmap', 'late', '--from-literal=a=b'])).toContain(
      `configmaps "late" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
    );
    // Everything goes but the object its finalizer holds; the namespace says so.
    const held = await waitFor(async () => {
      const o = await api.get<Namespace>('namespaces', ns);
      return o.status?.conditions?.find((x) => x.type === 'NamespaceFinalizersRemaining') ? o : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: `namespace ${ns} to report the finalizer that holds it` });
    expect(held.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'NamespaceContentRemaining', status: 'True', message: 'Some resources are remaining: configmaps has 1 resource instances' }),
        expect.objectContaining({ type: 'NamespaceFinalizersRemaining', status: 'True', message: 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances' }),
      ]),
    );
    for (const [resource, name] of [['pods', 'solo'], ['services', 'web'], ['secrets', 's'], ['serviceaccounts', 'default']] as const) expect(await gone(resource, name, ns)).toBe(true);
    expect((await api.get<ConfigMap>('configmaps', 'held', { namespace: ns })).metadata.deletionTimestamp).toEqual(expect.any(String));
    await api.patch('configmaps', 'held', [{ op: 'remove', path: '/metadata/finalizers' }], 'json', { namespace: ns });
    await waitFor(() => gone('namespaces', ns), { timeoutMs: 30_000, intervalMs: 200, what: `namespace ${ns} to be gone` });
    const left = await c!.etcd!.etcdctl(['get', '--prefix', '/registry/', '--keys-only']);
    expect(left.stdout).not.toContain(`/${ns}/`);
    // A namespace of the same name starts empty, and gets its default ServiceAccount again.
    await k.ok(['create', 'namespace', ns]);
    await waitFor(() => serviceAccount(ns, 'default'), { timeoutMs: 30_000, intervalMs: 200, what: `ServiceAccount ${ns}/default again` });
    expect(tableRows(await k.ok([...n, 'get', 'cm,secret,svc,pods']))).toEqual([]);
    expect(await k.ok(['delete', 'namespace', ns])).toBe(`namespace "${ns}" deleted\n`);
    expect(await gone('namespaces', ns)).toBe(true);
  });
});

describe('garbage collector', () => {
  t('kubectl delete rc (Background): the RC goes at once, its pods after it', async () => {
    const { pods } = await rcWithPods('bg', 2);
    expect(await k.ok(['delete', 'rc', 'bg'])).toBe('replicationcontroller "bg" deleted\n');
    await waitFor(async () => (await podsOf(NS, 'bg')).length === 0, { timeoutMs: 30_000, intervalMs: 200, what: 'the pods of rc bg to be collected' });
    for (const p of pods) expect(await gone('pods', p.metadata.name!, NS)).toBe(true);
  });

  t('kubectl delete rc --cascade=orphan: the pods stay, without their ownerReference', async () => {
    const { pods } = await rcWithPods('orph', 2);
    expect(await k.ok(['delete', 'rc', 'orph', '--cascade=orphan'])).toBe('replicationcontroller "orph" deleted\n');
    // kubectl waited for the RC to be gone, which it is only after the collector released its pods.
    expect(await gone('replicationcontrollers', 'orph', NS)).toBe(true);
    const left = await podsOf(NS, 'orph');
    expect(left.map((p) => p.metadata.uid).sort()).toEqual(pods.map((p) => p.metadata.uid).sort());
    for (const p of left) expect(p.metadata.ownerReferences ?? []).toEqual([]);
    await k.ok(['delete', 'pods', '-l', 'app=orph']);
  });

  t('kubectl delete rc --cascade=foreground: the pods go first, the RC (held by foregroundDeletion) last', async () => {
    await rcWithPods('fg', 2);
    const out = await k.run(['delete', 'rc', 'fg', '--cascade=foreground', '--wait=false']);
    expect(out.exitCode).toBe(0);
    // Either still held, waiting for its pods, or already done.
    const rc = await api.get<ReplicationController>('replicationcontrollers', 'fg', { namespace: NS }).catch(() => undefined);
    if (rc) expect(rc.metadata).toMatchObject({ deletionTimestamp: expect.any(String), finalizers: ['foregroundDeletion'] });
    await waitFor(() => gone('replicationcontrollers', 'fg', NS), { timeoutMs: 30_000, intervalMs: 200, what: 'rc fg to be deleted after its pods' });
    expect(await podsOf(NS, 'fg')).toEqual([]);
  });

  t('objects made by hand: one whose only owner is gone is collected; one with a live owner keeps it and loses the dangling reference', async () => {
    const owner = await api.create<ConfigMap>('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner', namespace: NS } });
    const ref = (name: string, uid: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', name, uid });
    const mk = (name: string, refs: ReturnType<typeof ref>[]): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, ownerReferences: refs } });
    await api.create('configmaps', mk('orphaned', [ref('nobody', 'no-such-uid')]));
    await api.create('configmaps', mk('shared', [ref('owner', owner.metadata.uid!), ref('nobody', 'no-such-uid')]));
    await api.create('configmaps', mk('kept', [ref('owner', owner.metadata.uid!)]));
    await waitFor(() => gone('configmaps', 'orphaned', NS), { timeoutMs: 30_000, intervalMs: 200, what: 'configmap orphaned to be collected' });
    await waitFor(async () => ((await api.get<ConfigMap>('configmaps', 'shared', { namespace: NS })).metadata.ownerReferences?.length === 1 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the dangling reference of configmap shared to be removed',
    });
    expect((await api.get<ConfigMap>('configmaps', 'shared', { namespace: NS })).metadata.ownerReferences).toEqual([expect.objectContaining({ uid: owner.metadata.uid })]);
    // The owner goes (Background): both dependents follow.
    await k.ok(['delete', 'configmap', 'owner']);
    for (const name of ['shared', 'kept']) await waitFor(() => gone('configmaps', name, NS), { timeoutMs: 30_000, intervalMs: 200, what: `configmap ${name} to be collected` });
  });

  t('an ownership cycle (a owns b, b owns a, both blocking) never holds a foreground deletion: one deleted, then both at once', async () => {
    /** Two ConfigMaps that own each other with blockOwnerDeletion. */
    async function cycle(a: string, b: string): Promise<void> {
      const ownerRef = (o: ConfigMap) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata.name!, uid: o.metadata.uid!, blockOwnerDeletion: true });
      const first = await api.create<ConfigMap>('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: a, namespace: NS } });
      const second = await api.create<ConfigMap>('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: b, namespace: NS, ownerReferences: [ownerRef(first)] } });
      await api.patch('configmaps', a, { metadata: { ownerReferences: [ownerRef(second)] } }, 'merge', { namespace: NS });
    }
    await cycle('cyc-a', 'cyc-b');
    expect((await k.run(['delete', 'configmap', 'cyc-a', '--cascade=foreground', '--wait=false'])).exitCode).toBe(0);
    for (const name of ['cyc-a', 'cyc-b']) await waitFor(() => gone('configmaps', name, NS), { timeoutMs: 30_000, intervalMs: 200, what: `configmap ${name} to be deleted` });

    // Both ends in foreground deletion, each waiting for the other (upstream's collector stays stuck here).
    await cycle('cyc-c', 'cyc-d');
    expect((await k.run(['delete', 'configmap', 'cyc-c', 'cyc-d', '--cascade=foreground', '--wait=false'])).exitCode).toBe(0);
    for (const name of ['cyc-c', 'cyc-d']) await waitFor(() => gone('configmaps', name, NS), { timeoutMs: 30_000, intervalMs: 200, what: `configmap ${name} to be deleted` });
    expect(cm.log()).toMatch(/owner references made non-blocking/);
  });
});
