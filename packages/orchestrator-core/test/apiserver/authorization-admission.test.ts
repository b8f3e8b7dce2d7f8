import { defaultObject, resourceByName, type AccessReview, type KubeObject } from '@pilot/api';
import { Cidr, createLogger } from '@pilot/common';
import { admissionChain, type AdmissionPlugin } from '../../src/apiserver/admission/admission.js';
import { nodeRestriction } from '../../src/apiserver/admission/node-restriction.js';
import { rbacEscalation } from '../../src/apiserver/admission/rbac-escalation.js';
import { IpAllocator, PortAllocator } from '../../src/apiserver/allocator.js';
import type { UserInfo } from '../../src/apiserver/auth.js';
import type { Authorizer } from '../../src/apiserver/authorization/attributes.js';
import { buildAuthorizer, registryNodePods } from '../../src/apiserver/authorization/authorizer.js';
import { PolicyCache } from '../../src/apiserver/authorization/policy-cache.js';
import { RbacAuthorizer } from '../../src/apiserver/authorization/rbac.js';
import { reconcileBootstrapPolicy } from '../../src/apiserver/authorization/reconcile.js';
import { runAsUser } from '../../src/apiserver/authorization/request-user.js';
import { answerReview } from '../../src/apiserver/authorization/reviews.js';
import { GenericRegistry } from '../../src/apiserver/registry/generic-registry.js';
import { resourceTable } from '../../src/apiserver/registry/table.js';
import { validate } from '../../src/apiserver/server.js';
import { failure } from './status-of.js';
import { MemoryStorage } from '../../src/apiserver/storage/memory.js';
import { WatchCaches } from '../../src/apiserver/storage/watch-cache.js';

/**
 * Authorization below the HTTP layer, over the generic registry and the
 * in-memory storage: the bootstrap policy reconciled, the policy cache
 * following writes, access reviews answered, NodeRestriction and RBAC's
 * escalation check refusing writes made for a user.
 */

const res = (name: string) => resourceByName(name)!;
const log = createLogger('authz-test', { level: 'silent' });
const u = (name: string, ...groups: string[]): UserInfo => ({ name, uid: '', groups: [...groups, 'system:authenticated'] });
const admin = u('admin', 'system:masters');
const h1 = u('system:node:h1', 'system:nodes');
const RBAC = 'rbac.authorization.k8s.io';

async function setup() {
  const storage = new MemoryStorage('/registry');
  const caches = new WatchCaches(storage, { log, capacity: 100 });
  let authorizer: Authorizer | undefined;
  let admission: AdmissionPlugin = () => undefined;
  const registry = new GenericRegistry({
    storage,
    caches,
    table: resourceTable({ reviews: answerReview(() => authorizer!) }),
    validate,
    defaults: (r, obj) => defaultObject(r.resource, obj),
    serviceIPs: new IpAllocator(Cidr.parse('10.0.0.0/29'), '/registry/ranges/serviceips/'),
    nodePorts: new PortAllocator({ min: 30000, max: 30003 }, '/registry/ranges/servicenodeports/'),
    log,
    admit: (a) => admission(a),
  });
  await reconcileBootstrapPolicy(registry, log);
  for (const name of ['dev', 'prod', 'kube-node-lease']) await registry.create(res('namespaces'), undefined, { metadata: { name } });
  const policy = new PolicyCache(registry, log);
  await policy.start();
  const rbac = new RbacAuthorizer(policy);
  authorizer = buildAuthorizer(['Node', 'RBAC'], { rbac, nodePods: registryNodePods(registry) });
  admission = admissionChain([nodeRestriction, rbacEscalation(() => authorizer!, rbac)]);
  return { registry, policy, authorizer, close: () => policy.close() };
}


/** Polls (the cache follows writes through a watch) until `fn` holds. */
async function eventually(fn: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('condition not met in 5 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const binding = (ns: string, name: string, roleKind: string, role: string, user: string): KubeObject =>
  ({ metadata: { name, namespace: ns }, roleRef: { apiGroup: RBAC, kind: roleKind, name: role }, subjects: [{ kind: 'User', name: user }] }) as unknown as KubeObject;

describe('authorization over the registry', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(() => s.close());

  it('bootstraps the default roles once and keeps an operator\'s autoupdate=false role as it is', async () => {
    const view = (await s.registry.get(res('clusterroles'), undefined, 'view')) as KubeObject & { rules: unknown[] };
    expect(view.rules.length).toBeGreaterThan(0);
    await s.registry.mutate(res('clusterroles'), undefined, 'view', undefined, (o) => ({ ...o, metadata: { ...o.metadata, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'false' } }, rules: [] }) as KubeObject);
    await reconcileBootstrapPolicy(s.registry, log);
    expect(((await s.registry.get(res('clusterroles'), undefined, 'view')) as KubeObject & { rules: unknown[] }).rules).toEqual([]);
    const crb = (await s.registry.get(res('clusterrolebindings'), undefined, 'cluster-admin')) as KubeObject & { subjects: unknown[] };
    expect(crb.subjects).toEqual([{ kind: 'Group', apiGroup: RBAC, name: 'system:masters' }]);
  });

  it('answers a SelfSubjectAccessReview for the requesting user, following new bindings', async () => {
    const ask = (user: UserInfo, namespace: string) =>
      runAsUser(user, () =>
        s.registry.create(res('selfsubjectaccessreviews'), undefined, { spec: { resourceAttributes: { verb: 'list', resource: 'pods', namespace } } }),
      ) as Promise<AccessReview>;
    expect((await ask(u('bob'), 'dev')).status).toEqual({ allowed: false });
    await s.registry.create(res('rolebindings'), 'dev', binding('dev', 'bob-view', 'ClusterRole', 'view', 'bob'));
    await eventually(async () => (await ask(u('bob'), 'dev')).status?.allowed === true);
    expect((await ask(u('bob'), 'prod')).status?.allowed).toBe(false);
    // Nothing is stored.
    expect(await s.registry.list(res('rolebindings'), 'dev')).toMatchObject({ items: [{ metadata: { name: 'bob-view' } }] });
  });

  it('answers a SubjectAccessReview about another user and refuses one without a user', async () => {
    const review = (await s.registry.create(res('subjectaccessreviews'), undefined, {
      spec: { user: 'system:node:h1', groups: ['system:nodes'], resourceAttributes: { verb: 'delete', resource: 'namespaces', name: 'dev' } },
    })) as AccessReview;
    expect(review.status?.allowed).toBe(false);
    expect((await failure(s.registry.create(res('subjectaccessreviews'), undefined, { spec: { resourceAttributes: { verb: 'get' } } }))).code).toBe(422);
  });

  it('NodeRestriction: a node writes only its own Node, Lease and its pods', async () => {
    const asNode = <T>(fn: () => Promise<T>) => runAsUser(h1, fn);
    await asNode(() => s.registry.create(res('nodes'), undefined, { metadata: { name: 'h1' } }));
    await runAsUser(admin, () => s.registry.create(res('nodes'), undefined, { metadata: { name: 'h2' } }));
    const other = await failure(asNode(() => s.registry.patch(res('nodes'), undefined, 'h2', { type: 'merge-patch', patch: { metadata: { labels: { a: 'b' } } } })));
    expect(other.message).toBe('nodes "h2" is forbidden: node "h1" is not allowed to modify node "h2"');
    const lease = await failure(asNode(() => s.registry.create(res('leases'), 'kube-node-lease', { metadata: { name: 'h2' }, spec: {} })));
    expect(lease.message).toBe('leases.coordination.k8s.io "h2" is forbidden: can only access node lease with the same name as the requesting node');
    await asNode(() => s.registry.create(res('leases'), 'kube-node-lease', { metadata: { name: 'h1' }, spec: {} }));

    for (const [name, node] of [['mine', 'h1'], ['theirs', 'h2']]) await s.registry.create(res('pods'), 'dev', { metadata: { name }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] } });
    await asNode(() => s.registry.update(res('pods'), 'dev', 'mine', { metadata: { name: 'mine', namespace: 'dev' }, status: { phase: 'Running' } }, { kind: 'status' }));
    const status = await failure(asNode(() => s.registry.update(res('pods'), 'dev', 'theirs', { metadata: { name: 'theirs', namespace: 'dev' }, status: { phase: 'Running' } }, { kind: 'status' })));
    expect(status.message).toBe('pods "theirs" is forbidden: node "h1" can only update pod status for pods with spec.nodeName set to itself');
    const del = await failure(asNode(() => s.registry.delete(res('pods'), 'dev', 'theirs')));
    expect(del.message).toBe('pods "theirs" is forbidden: node "h1" can only delete pods with spec.nodeName set to itself');
    const create = await failure(asNode(() => s.registry.create(res('pods'), 'dev', { metadata: { name: 'x' }, spec: { nodeName: 'h1', containers: [{ name: 'c', image: 'busybox' }] } })));
    expect(create.message).toContain('node "h1" can only create mirror pods');
  });

  it('escalation: edit cannot bind cluster-admin, nor create a role with more than it holds', async () => {
    await s.registry.create(res('rolebindings'), 'dev', binding('dev', 'ed', 'ClusterRole', 'edit', 'ed'));
    await s.registry.create(res('rolebindings'), 'dev', binding('dev', 'ad', 'ClusterRole', 'admin', 'ad'));
    const ed = u('ed');
    await eventually(() => s.policy.clusterRoleBindings() !== undefined && [...s.policy.roleBindings('dev')].length === 2);
    const bind = await failure(runAsUser(ed, () => s.registry.create(res('rolebindings'), 'dev', binding('dev', 'x', 'ClusterRole', 'cluster-admin', 'ed'))));
    expect(bind.code).toBe(403);
    expect(bind.message).toMatch(/^rolebindings\.rbac\.authorization\.k8s\.io "x" is forbidden: user "ed" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\["\*"\], Resources:\["\*"\], Verbs:\["\*"\]\}/);
    // admin may bind view in its namespace (it holds everything view grants) but not in another one.
    const ad = u('ad');
    await runAsUser(ad, () => s.registry.create(res('rolebindings'), 'dev', binding('dev', 'v', 'ClusterRole', 'view', 'someone')));
    expect((await failure(runAsUser(ad, () => s.registry.create(res('rolebindings'), 'prod', binding('prod', 'v', 'ClusterRole', 'view', 'someone'))))).code).toBe(403);
    const role = { metadata: { name: 'r' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['nodes'] }] };
    const esc = await failure(runAsUser(ad, () => s.registry.create(res('roles'), 'dev', role)));
    expect(esc.message).toContain('{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}');
    await runAsUser(ad, () => s.registry.create(res('roles'), 'dev', { metadata: { name: 'ok' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] }));
  });

  it('validates roles and bindings as upstream', async () => {
    const bad = await failure(s.registry.create(res('roles'), 'dev', { metadata: { name: 'r' }, rules: [{ verbs: [], nonResourceURLs: ['/x'] }] }));
    expect(bad.message).toContain('rules[0].verbs: Required value');
    expect(bad.message).toContain('namespaced rules cannot apply to non-resource URLs');
    const ref = await failure(s.registry.create(res('clusterrolebindings'), undefined, { metadata: { name: 'b' }, roleRef: { apiGroup: RBAC, kind: 'Role', name: 'x' }, subjects: [] }));
    expect(ref.message).toContain('roleRef.kind: Unsupported value: "Role"');
    await s.registry.create(res('rolebindings'), 'dev', binding('dev', 'b', 'ClusterRole', 'view', 'bob'));
    const stored = (await s.registry.get(res('rolebindings'), 'dev', 'b')) as KubeObject & { subjects: { apiGroup: string }[] };
    expect(stored.subjects[0]!.apiGroup).toBe(RBAC);
    const change = await failure(s.registry.patch(res('rolebindings'), 'dev', 'b', { type: 'merge-patch', patch: { roleRef: { name: 'edit' } } }));
    expect(change.message).toContain('cannot change roleRef');
  });
});
