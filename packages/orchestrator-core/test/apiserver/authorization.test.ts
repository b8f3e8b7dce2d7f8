import type { ClusterRole, ClusterRoleBinding, PolicyRule, Pod, Role, RoleBinding } from '@pilot/api';
import { pathAttributes, resourceAttributes, type Attributes } from '../../src/apiserver/authorization/attributes.js';
import { aggregatedRules, bootstrapClusterRoleBindings, bootstrapClusterRoles } from '../../src/apiserver/authorization/bootstrap-policy.js';
import { forbiddenError } from '../../src/apiserver/authorization/forbidden.js';
import { NodeAuthorizer, nodeIdentity, podReferences } from '../../src/apiserver/authorization/node.js';
import { RbacAuthorizer, type PolicySource } from '../../src/apiserver/authorization/rbac.js';
import { appliesTo, compactRule, ruleAllows, uncoveredRules } from '../../src/apiserver/authorization/rules.js';
import { parseAuthorizationModes, unionAuthorizer, alwaysDeny } from '../../src/apiserver/authorization/union.js';
import { buildAuthorizer } from '../../src/apiserver/authorization/authorizer.js';
import type { UserInfo } from '../../src/apiserver/auth.js';

/**
 * The authorizers' pure cores, table by table: rule matching, subjects,
 * the escalation check's coverage, the RBAC authorizer over plain lists,
 * the Node authorizer, the union of modes and the 403 wording.
 */

const u = (name: string, ...groups: string[]): UserInfo => ({ name, uid: '', groups: [...groups, 'system:authenticated'] });
const alice = u('alice');
const res = (verb: string, resource: string, o: { group?: string; namespace?: string; name?: string; subresource?: string; user?: UserInfo } = {}): Attributes =>
  resourceAttributes(o.user ?? alice, verb, { group: o.group ?? '', version: 'v1', resource }, o);

describe('RBAC rule matching', () => {
  const podsRead: PolicyRule = { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] };
  it.each<[string, PolicyRule, Attributes, boolean]>([
    ['a listed verb on a listed resource', podsRead, res('list', 'pods'), true],
    ['a verb not listed', podsRead, res('delete', 'pods'), false],
    ['another group', podsRead, res('list', 'pods', { group: 'apps' }), false],
    ['a subresource is not the resource', podsRead, res('get', 'pods', { subresource: 'log' }), false],
    ['resource/subresource', { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }, res('get', 'pods', { subresource: 'log' }), true],
    ['*/subresource', { verbs: ['get'], apiGroups: [''], resources: ['*/status'] }, res('get', 'nodes', { subresource: 'status' }), true],
    ['wildcards everywhere', { verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, res('escalate', 'roles', { group: 'rbac.authorization.k8s.io' }), true],
    ['a named object in resourceNames', { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['s1'] }, res('get', 'secrets', { name: 's1' }), true],
    ['another name', { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['s1'] }, res('get', 'secrets', { name: 's2' }), false],
    ['a list against resourceNames', { verbs: ['list'], apiGroups: [''], resources: ['secrets'], resourceNames: ['s1'] }, res('list', 'secrets'), false],
    ['a path', { verbs: ['get'], nonResourceURLs: ['/version'] }, pathAttributes(alice, 'GET', '/version'), true],
    ['a path prefix', { verbs: ['get'], nonResourceURLs: ['/apis/*'] }, pathAttributes(alice, 'GET', '/apis/apps/v1'), true],
    ['a resource rule never allows a path', podsRead, pathAttributes(alice, 'GET', '/api'), false],
  ])('%s', (_what, rule, a, want) => {
    expect(ruleAllows(a, rule)).toBe(want);
  });

  it.each([
    [{ kind: 'User', name: 'alice' }, '', true],
    [{ kind: 'User', name: 'bob' }, '', false],
    [{ kind: 'Group', name: 'system:authenticated' }, '', true],
    [{ kind: 'ServiceAccount', name: 'sa' }, 'ns', false],
  ])('subject %j in namespace "%s" applies to alice: %s', (s, ns, want) => {
    expect(appliesTo(alice, s, ns)).toBe(want);
  });

  it('matches a ServiceAccount by the binding namespace when the subject names none', () => {
    const sa = u('system:serviceaccount:ns:sa');
    expect(appliesTo(sa, { kind: 'ServiceAccount', name: 'sa' }, 'ns')).toBe(true);
    expect(appliesTo(sa, { kind: 'ServiceAccount', name: 'sa' }, 'other')).toBe(false);
    expect(appliesTo(sa, { kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }, 'other')).toBe(true);
  });

  it.each<[string, PolicyRule[], PolicyRule[], number]>([
    ['the same rule', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], 0],
    ['a wildcard owner', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], [{ verbs: ['get', 'delete'], apiGroups: ['apps'], resources: ['deployments'] }], 0],
    ['one verb more', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], [{ verbs: ['get', 'delete'], apiGroups: [''], resources: ['pods'] }], 1],
    ['a wildcard servant is not covered by a list', [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }], [{ verbs: ['*'], apiGroups: [''], resources: ['pods'] }], 1],
    ['names within the owner\'s names', [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a', 'b'] }], [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] }], 0],
    ['every name against some names', [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] }], [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }], 1],
    ['pods/* covers pods/log', [{ verbs: ['get'], apiGroups: [''], resources: ['pods/*'] }], [{ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }], 0],
    ['a path prefix covers a path', [{ verbs: ['get'], nonResourceURLs: ['/apis/*'] }], [{ verbs: ['get'], nonResourceURLs: ['/apis/apps'] }], 0],
  ])('coverage: %s', (_what, owner, servant, missing) => {
    expect(uncoveredRules(owner, servant)).toHaveLength(missing);
  });

  it('prints a missing rule as upstream compactString', () => {
    expect(compactRule({ verbs: ['get'], apiGroups: [''], resources: ['pods'] })).toBe('{APIGroups:[""], Resources:["pods"], Verbs:["get"]}');
    expect(compactRule({ verbs: ['get'], nonResourceURLs: ['/x'] })).toBe('{NonResourceURLs:["/x"], Verbs:["get"]}');
  });
});

/** A PolicySource over plain lists, aggregation resolved as the cache does. */
function source(o: { clusterRoles?: ClusterRole[]; roles?: Role[]; clusterRoleBindings?: ClusterRoleBinding[]; roleBindings?: RoleBinding[] }): PolicySource {
  const crs = new Map((o.clusterRoles ?? []).map((r) => [r.metadata.name!, r]));
  return {
    clusterRoleBindings: () => o.clusterRoleBindings ?? [],
    roleBindings: (ns) => (o.roleBindings ?? []).filter((b) => b.metadata.namespace === ns),
    clusterRoleRules: (name) => {
      const r = crs.get(name);
      return r ? [...(r.rules ?? []), ...aggregatedRules(r, crs)] : undefined;
    },
    role: (ns, name) => (o.roles ?? []).find((r) => r.metadata.namespace === ns && r.metadata.name === name),
  };
}

const rb = (ns: string, name: string, role: { kind: string; name: string }, subjects: RoleBinding['subjects']): RoleBinding => ({
  metadata: { name, namespace: ns },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...role },
  subjects,
});

describe('RbacAuthorizer', () => {
  const policy = source({
    clusterRoles: bootstrapClusterRoles(),
    clusterRoleBindings: bootstrapClusterRoleBindings(),
    roles: [{ metadata: { name: 'reader', namespace: 'dev' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'] }] }],
    roleBindings: [
      rb('dev', 'alice-view', { kind: 'ClusterRole', name: 'view' }, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }]),
      rb('dev', 'alice-reader', { kind: 'Role', name: 'reader' }, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }]),
      rb('dev', 'dangling', { kind: 'Role', name: 'gone' }, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }]),
    ],
  });
  const rbac = new RbacAuthorizer(policy);

  it.each<[string, Attributes, 'allow' | 'noOpinion']>([
    ['view lists pods in its namespace', res('list', 'pods', { namespace: 'dev' }), 'allow'],
    ['view does not reach another namespace', res('list', 'pods', { namespace: 'prod' }), 'noOpinion'],
    ['view does not list across namespaces', res('list', 'pods'), 'noOpinion'],
    ['view does not read secrets', res('get', 'secrets', { namespace: 'dev', name: 's' }), 'noOpinion'],
    ['view does not write', res('create', 'pods', { namespace: 'dev' }), 'noOpinion'],
    ['view reads deployments (aggregated)', res('get', 'deployments', { group: 'apps', namespace: 'dev', name: 'd' }), 'allow'],
    ['a namespaced Role', res('get', 'configmaps', { namespace: 'dev', name: 'c' }), 'allow'],
    ['discovery for every authenticated user', pathAttributes(alice, 'GET', '/apis/apps/v1'), 'allow'],
    ['self review for every authenticated user', res('create', 'selfsubjectaccessreviews', { group: 'authorization.k8s.io' }), 'allow'],
    ['the scheduler binds pods', res('create', 'pods', { subresource: 'binding', namespace: 'x', name: 'p', user: u('system:kube-scheduler') }), 'allow'],
    ['the scheduler renews only its own lease', res('update', 'leases', { group: 'coordination.k8s.io', namespace: 'kube-system', name: 'kube-controller-manager', user: u('system:kube-scheduler') }), 'noOpinion'],
  ])('%s', (_what, a, want) => {
    expect(rbac.authorize(a).decision).toBe(want);
  });

  it('names a binding to a missing role in the reason', () => {
    expect(rbac.authorize(res('delete', 'pods', { namespace: 'dev', name: 'p' })).reason).toBe('RBAC: role.rbac.authorization.k8s.io "gone" not found');
  });

  it('edit holds everything view does and admin everything edit does (aggregation)', () => {
    const rules = (n: string) => policy.clusterRoleRules(n)!;
    expect(uncoveredRules(rules('edit'), rules('view'))).toEqual([]);
    expect(uncoveredRules(rules('admin'), rules('edit'))).toEqual([]);
    expect(uncoveredRules(rules('edit'), [{ verbs: ['create'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'] }])).toHaveLength(1);
    expect(uncoveredRules(rules('view'), [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }])).toHaveLength(1);
  });

  it('system:masters is allowed everything before any mode is asked', async () => {
    const z = buildAuthorizer(['RBAC'], { rbac: new RbacAuthorizer(source({})), nodePods: { podsOnNode: async () => [] } });
    expect((await z.authorize(res('delete', 'namespaces', { name: 'x', user: u('admin', 'system:masters') }))).decision).toBe('allow');
    expect((await z.authorize(res('delete', 'namespaces', { name: 'x' }))).decision).toBe('noOpinion');
  });
});

describe('NodeAuthorizer', () => {
  const h1 = u('system:node:h1', 'system:nodes');
  const podOn = (node: string, spec: Record<string, unknown>): Pod => ({ metadata: { name: 'p', namespace: 'dev' }, spec: { nodeName: node, containers: [], ...spec } }) as unknown as Pod;
  const pods = [
    podOn('h1', { containers: [{ name: 'c', image: 'i', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } }] }] }),
    podOn('h1', { volumes: [{ name: 'v', configMap: { name: 'vol-cm' } }] }),
    podOn('h2', { volumes: [{ name: 'v', secret: { secretName: 'h2-secret' } }] }),
  ];
  const node = new NodeAuthorizer({ podsOnNode: async (n, ns) => pods.filter((p) => p.spec?.nodeName === n && p.metadata.namespace === ns) });

  it.each<[string, Attributes, 'allow' | 'noOpinion', string]>([
    ['a secret its pod uses', res('get', 'secrets', { namespace: 'dev', name: 'env-secret', user: h1 }), 'allow', ''],
    ['a configmap its pod mounts', res('get', 'configmaps', { namespace: 'dev', name: 'vol-cm', user: h1 }), 'allow', ''],
    ['a secret only another node\'s pod uses', res('get', 'secrets', { namespace: 'dev', name: 'h2-secret', user: h1 }), 'noOpinion', "no relationship found between node 'h1' and this object"],
    ['listing secrets', res('list', 'secrets', { namespace: 'dev', user: h1 }), 'noOpinion', 'No Object name found'],
    ['writing a secret', res('update', 'secrets', { namespace: 'dev', name: 'env-secret', user: h1 }), 'noOpinion', 'can only read resources of this type'],
    ['its own lease', res('update', 'leases', { group: 'coordination.k8s.io', namespace: 'kube-node-lease', name: 'h1', user: h1 }), 'allow', ''],
    ['another node\'s lease', res('update', 'leases', { group: 'coordination.k8s.io', namespace: 'kube-node-lease', name: 'h2', user: h1 }), 'noOpinion', 'can only access node lease with the same name as the requesting node'],
    ['pod status (NodeRestriction narrows it)', res('patch', 'pods', { subresource: 'status', namespace: 'dev', name: 'p', user: h1 }), 'allow', ''],
    ['deleting a namespace', res('delete', 'namespaces', { name: 'dev', user: h1 }), 'noOpinion', ''],
    ['a user who is not a node', res('get', 'secrets', { namespace: 'dev', name: 'env-secret' }), 'noOpinion', ''],
  ])('%s', async (_what, a, want, reason) => {
    const got = await node.authorize(a);
    expect(got.decision).toBe(want);
    expect(got.reason).toBe(reason);
  });

  it('knows a node by its user and group', () => {
    expect(nodeIdentity(h1)).toBe('h1');
    expect(nodeIdentity(u('system:node:h1'))).toBeUndefined();
    expect(nodeIdentity(u('bob', 'system:nodes'))).toBeUndefined();
  });

  it('finds the secrets and configmaps a pod references', () => {
    const refs = podReferences({
      metadata: { name: 'p' },
      spec: {
        imagePullSecrets: [{ name: 'pull' }],
        volumes: [{ name: 'a', projected: { sources: [{ secret: { name: 'proj' } }, { configMap: { name: 'projcm' } }] } }],
        containers: [{ name: 'c', image: 'i', envFrom: [{ secretRef: { name: 'from' } }, { configMapRef: { name: 'fromcm' } }] }],
      },
    } as unknown as Pod);
    expect([...refs.secrets].sort()).toEqual(['from', 'proj', 'pull']);
    expect([...refs.configMaps].sort()).toEqual(['fromcm', 'projcm']);
  });
});

describe('authorization modes and the 403', () => {
  it('parses --authorization-mode', () => {
    expect(parseAuthorizationModes('Node,RBAC')).toEqual(['Node', 'RBAC']);
    expect(() => parseAuthorizationModes('RBAC,Webhook')).toThrow('unknown mode "Webhook"');
    expect(() => parseAuthorizationModes('RBAC,RBAC')).toThrow('given twice');
  });

  it('a union stops at the first decision and gathers the reasons of those without one', async () => {
    const quiet = { authorize: () => ({ decision: 'noOpinion' as const, reason: 'r1' }) };
    expect(await unionAuthorizer([quiet, quiet]).authorize(res('get', 'pods'))).toEqual({ decision: 'noOpinion', reason: 'r1, r1' });
    expect((await unionAuthorizer([quiet, alwaysDeny]).authorize(res('get', 'pods'))).decision).toBe('deny');
  });

  it.each<[Attributes, string, string]>([
    [res('list', 'pods', { namespace: 'y', user: u('x') }), '', 'pods is forbidden: User "x" cannot list resource "pods" in API group "" in the namespace "y"'],
    [res('get', 'secrets', { namespace: 'y', name: 's', user: u('x') }), 'no relationship', 'secrets "s" is forbidden: User "x" cannot get resource "secrets" in API group "" in the namespace "y": no relationship'],
    [res('delete', 'namespaces', { name: 'n', user: u('x') }), '', 'namespaces "n" is forbidden: User "x" cannot delete resource "namespaces" in API group "" at the cluster scope'],
    [res('create', 'rolebindings', { group: 'rbac.authorization.k8s.io', namespace: 'y', user: u('x') }), '', 'rolebindings.rbac.authorization.k8s.io is forbidden: User "x" cannot create resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "y"'],
    [res('patch', 'pods', { subresource: 'status', namespace: 'y', name: 'p', user: u('x') }), '', 'pods "p" is forbidden: User "x" cannot patch resource "pods/status" in API group "" in the namespace "y"'],
    [pathAttributes(u('x'), 'GET', '/metrics'), '', 'forbidden: User "x" cannot get path "/metrics"'],
  ])('words the 403 as upstream: %#', (a, reason, message) => {
    const err = forbiddenError(a, reason);
    expect(err.code).toBe(403);
    expect(err.reason).toBe('Forbidden');
    expect(err.message).toBe(message);
  });
});
