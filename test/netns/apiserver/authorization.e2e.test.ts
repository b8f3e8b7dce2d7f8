import { mkdirSync } from 'node:fs';
import { ApiClient, ApiError, type KubeObject, type Lease, type Node, type Pod, type Secret } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster, startControlPlane, withLogsOnFailure, type ControlPlane, type KubeconfigIdentity } from '@pilot/netns';
import { Kubectl } from '../kubectl/helpers.js';

/**
 * `pilot apiserver` with its default `--authorization-mode Node,RBAC`, driven
 * over TLS by the credentials the harness hands out: a node's kubelet
 * credential (system:node:<host>, the Node authorizer and NodeRestriction),
 * and users bound by RBAC, with the real kubectl (`get`, `auth can-i`,
 * `create rolebinding`, `apply -f`).
 */

const RBAC = 'rbac.authorization.k8s.io';
let c: Cluster | undefined;
let cp: ControlPlane | undefined;
let admin: ApiClient;
const clients: ApiClient[] = [];

beforeAll(async () => {
  c = await Cluster.create({ hosts: 2, etcd: true });
  cp = await startControlPlane(c, { users: [{ name: 'viewer' }, { name: 'editor' }, { name: 'nsadmin' }] });
  admin = cp.client;
  for (const name of ['authz-view', 'authz-other']) await admin.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
});

afterAll(async () => {
  for (const k of clients) k.close();
  await cp?.close();
  await c?.teardown();
});

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn), 120_000);

function clientAs(host: number | undefined, as: KubeconfigIdentity): ApiClient {
  const k = ApiClient.fromKubeconfig(cp!.kubeconfigFor(host === undefined ? undefined : c!.hosts[host], as), undefined, { userAgent: 'authz-e2e', timeoutMs: 10_000 });
  clients.push(k);
  return k;
}

function kubectlAs(user: string, namespace: string): Kubectl {
  const dir = `${c!.stateDir}/kubectl-${user}`;
  mkdirSync(dir, { recursive: true });
  return new Kubectl(c!.master, cp!.kubeconfigFor(undefined, { user }), `${dir}/cache`, namespace);
}

/** The 403 a call answers (fails the test when it succeeds or fails otherwise). */
async function forbidden(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError && err.code === 403) return err.message;
    throw err;
  }
  throw new Error('expected 403 Forbidden, the call succeeded');
}

const binding = (ns: string, name: string, role: string, user: string): KubeObject =>
  ({ apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', metadata: { name, namespace: ns }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role }, subjects: [{ kind: 'User', apiGroup: RBAC, name: user }] }) as unknown as KubeObject;

/** Until `kubectl auth can-i` answers `want` (bindings reach the authorizer through its watch). */
async function canI(k: Kubectl, args: string[], want: 'yes' | 'no'): Promise<void> {
  await waitFor(async () => (await k.run(['auth', 'can-i', ...args])).stdout.trim() === want, { timeoutMs: 20_000, intervalMs: 200, what: `kubectl auth can-i ${args.join(' ')} to answer ${want}` });
}

describe('authorization (Node,RBAC)', () => {
  t("a node's credential updates its own Node, Lease and pods' status; 403 for another node's, an unused Secret, deleting a namespace", async () => {
    const [h1, h2] = [c!.hosts[0]!.name, c!.hosts[1]!.name];
    const node = clientAs(0, 'kubelet');
    const ns = 'authz-view';
    await node.create<Node>('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: h1 } });
    await admin.create<Node>('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: h2 } });
    await node.patchStatus('nodes', h1, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] } });
    expect(await forbidden(node.patchStatus('nodes', h2, { status: { conditions: [{ type: 'Ready', status: 'False' }] } }))).toBe(
      `nodes "${h2}" is forbidden: node "${h1}" is not allowed to modify node "${h2}"`,
    );

    const lease = (name: string): Lease => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, leaseDurationSeconds: 40 } });
    const mine = await node.create<Lease>('leases', lease(h1), { namespace: 'kube-node-lease' });
    await node.update<Lease>('leases', { ...mine, spec: { ...mine.spec, leaseDurationSeconds: 41 } }, { namespace: 'kube-node-lease' });
    await admin.create<Lease>('leases', lease(h2), { namespace: 'kube-node-lease' });
    expect(await forbidden(node.get('leases', h2, { namespace: 'kube-node-lease' }))).toContain('can only access node lease with the same name as the requesting node');

    for (const name of ['used', 'unused']) await admin.create<Secret>('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: { k: 'v' } } as Secret, { namespace: ns });
    const podOn = (name: string, nodeName: string): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns },
      spec: { nodeName, containers: [{ name: 'c', image: 'busybox', env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'used', key: 'k' } } }] }] },
    });
    await admin.create('pods', podOn('on-h1', h1), { namespace: ns });
    await admin.create('pods', podOn('on-h2', h2), { namespace: ns });
    await node.patchStatus('pods', 'on-h1', { status: { phase: 'Running' } }, 'merge', { namespace: ns });
    expect(await forbidden(node.patchStatus('pods', 'on-h2', { status: { phase: 'Running' } }, 'merge', { namespace: ns }))).toBe(
      `pods "on-h2" is forbidden: node "${h1}" can only update pod status for pods with spec.nodeName set to itself`,
    );

    expect((await node.get<Secret>('secrets', 'used', { namespace: ns })).metadata.name).toBe('used');
    expect(await forbidden(node.get('secrets', 'unused', { namespace: ns }))).toBe(
      `secrets "unused" is forbidden: User "system:node:${h1}" cannot get resource "secrets" in API group "" in the namespace "${ns}": no relationship found between node '${h1}' and this object`,
    );
    expect(await forbidden(node.list('secrets', { namespace: ns }))).toContain(`User "system:node:${h1}" cannot list resource "secrets"`);
    expect(await forbidden(node.delete('namespaces', 'authz-other'))).toBe(
      `namespaces "authz-other" is forbidden: User "system:node:${h1}" cannot delete resource "namespaces" in API group "" at the cluster scope`,
    );
  });

  t('a user bound to view in one namespace lists pods there, and gets 403 elsewhere and for Secrets; kubectl auth can-i agrees', async () => {
    const k = kubectlAs('viewer', 'authz-view');
    await canI(k, ['list', 'pods'], 'no');
    await admin.create('rolebindings', binding('authz-view', 'viewer-view', 'view', 'viewer'), { namespace: 'authz-view' });
    await canI(k, ['list', 'pods'], 'yes');
    expect(await k.ok(['get', 'pods', '-o', 'name'])).toContain('pod/on-h1');
    expect(await k.fails(['get', 'pods', '-n', 'authz-other'])).toContain(
      'Error from server (Forbidden): pods is forbidden: User "viewer" cannot list resource "pods" in API group "" in the namespace "authz-other"',
    );
    expect(await k.fails(['get', 'secrets'])).toContain('secrets is forbidden: User "viewer" cannot list resource "secrets" in API group "" in the namespace "authz-view"');
    const other = await k.run(['auth', 'can-i', 'list', 'pods', '-n', 'authz-other']);
    expect([other.stdout.trim(), other.exitCode]).toEqual(['no', 1]);
    expect((await k.run(['auth', 'can-i', 'get', 'secrets'])).stdout.trim()).toBe('no');
    expect((await k.run(['auth', 'can-i', 'create', 'pods'])).stdout.trim()).toBe('no');
  });

  t('edit cannot create a RoleBinding to cluster-admin, and admin of a namespace cannot grant what it does not hold', async () => {
    await admin.create('rolebindings', binding('authz-view', 'editor-edit', 'edit', 'editor'), { namespace: 'authz-view' });
    await admin.create('rolebindings', binding('authz-view', 'nsadmin-admin', 'admin', 'nsadmin'), { namespace: 'authz-view' });
    const editor = kubectlAs('editor', 'authz-view');
    await canI(editor, ['create', 'pods'], 'yes');
    expect(await editor.fails(['create', 'rolebinding', 'mine', '--clusterrole=cluster-admin', '--user=editor'])).toContain(
      'rolebindings.rbac.authorization.k8s.io is forbidden: User "editor" cannot create resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "authz-view"',
    );
    const nsadmin = kubectlAs('nsadmin', 'authz-view');
    await canI(nsadmin, ['create', 'rolebindings'], 'yes');
    expect(await nsadmin.fails(['create', 'rolebinding', 'mine', '--clusterrole=cluster-admin', '--user=nsadmin'])).toContain(
      'rolebindings.rbac.authorization.k8s.io "mine" is forbidden: user "nsadmin" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held',
    );
    // What it holds, it may grant.
    expect(await nsadmin.ok(['create', 'rolebinding', 'viewers', '--clusterrole=view', '--user=someone'])).toContain('rolebinding.rbac.authorization.k8s.io/viewers created');
  });

  t('a manifest with a ServiceAccount, a Role and a RoleBinding applies with kubectl apply -f', async () => {
    const manifest = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: pod-reader
rules:
- apiGroups: [""]
  resources: ["pods", "pods/log"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: app-reads-pods
subjects:
- kind: ServiceAccount
  name: app
roleRef:
  kind: Role
  name: pod-reader
  apiGroup: rbac.authorization.k8s.io
`;
    const k = Kubectl.forRun(c!, cp!, 'authz-other');
    const out = await k.ok(['apply', '-f', '-'], { input: manifest });
    expect(out).toContain('serviceaccount/app created');
    expect(out).toContain('role.rbac.authorization.k8s.io/pod-reader created');
    expect(out).toContain('rolebinding.rbac.authorization.k8s.io/app-reads-pods created');
    expect(await k.ok(['apply', '-f', '-'], { input: manifest })).toContain('role.rbac.authorization.k8s.io/pod-reader unchanged');
    expect(await k.ok(['get', 'rolebinding', 'app-reads-pods'])).toMatch(/app-reads-pods\s+Role\/pod-reader/);
    // The service account now may read pods there (asked as the admin, with --as).
    await waitFor(async () => (await k.run(['auth', 'can-i', 'list', 'pods', '--as', 'system:serviceaccount:authz-other:app'])).stdout.trim() === 'yes', {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: 'the service account to be allowed to list pods',
    });
  });
});
