import { labelSelectorFromObject, type ClusterRole, type ClusterRoleBinding, type PolicyRule, type Subject } from '@pilot/api';

/**
 * The default roles and bindings every cluster starts with
 * (plugin/pkg/auth/authorizer/rbac/bootstrappolicy, v1.32), for the
 * components pilot runs: cluster-admin for system:masters; the user-facing
 * admin / edit / view, built by aggregation from the
 * system:aggregate-to-* roles; discovery and self-review for every
 * authenticated user; and one role per component identity. The apiserver
 * reconciles them at start (bootstrap.ts).
 *
 * pilot's controller-manager runs every controller under its own identity
 * (upstream's --use-service-account-credentials=false), so
 * system:kube-controller-manager holds the union of what those controllers
 * need, as the per-controller roles grant it upstream.
 */

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const RW = [...READ, ...WRITE];

const rule = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
  ...(resourceNames ? { resourceNames } : {}),
});
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

const AUTOUPDATE = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };
const BOOTSTRAPPING = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const AGGREGATE = (to: 'admin' | 'edit' | 'view') => `rbac.authorization.k8s.io/aggregate-to-${to}`;

function clusterRole(name: string, rules: PolicyRule[], extra: { labels?: Record<string, string>; aggregateFrom?: string } = {}): ClusterRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { ...BOOTSTRAPPING, ...(extra.labels ?? {}) }, annotations: { ...AUTOUPDATE } },
    rules,
    ...(extra.aggregateFrom ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [extra.aggregateFrom]: 'true' } }] } } : {}),
  };
}

export const user = (name: string): Subject => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name });
export const group = (name: string): Subject => ({ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name });
const serviceAccount = (namespace: string, name: string): Subject => ({ kind: 'ServiceAccount', name, namespace });

function clusterRoleBinding(name: string, role: string, subjects: Subject[]): ClusterRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...BOOTSTRAPPING }, annotations: { ...AUTOUPDATE } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects,
  };
}

const aggregateToView: PolicyRule[] = [
  rule(READ, [''], ['pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'configmaps']),
  rule(READ, [''], ['limitranges', 'resourcequotas', 'bindings', 'events', 'pods/status', 'resourcequotas/status', 'namespaces/status', 'replicationcontrollers/status', 'pods/log']),
  rule(READ, [''], ['namespaces']),
  rule(READ, ['discovery.k8s.io'], ['endpointslices']),
  rule(READ, ['apps'], ['controllerrevisions', 'statefulsets', 'deployments', 'deployments/scale', 'replicasets', 'replicasets/scale', 'daemonsets', 'deployments/status', 'replicasets/status', 'statefulsets/status', 'statefulsets/scale', 'daemonsets/status']),
  rule(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
  rule(READ, ['batch'], ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
  rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
  rule(READ, ['networking.k8s.io'], ['networkpolicies', 'ingresses', 'ingresses/status']),
];

const aggregateToEdit: PolicyRule[] = [
  rule(['impersonate'], [''], ['serviceaccounts']),
  rule(WRITE, [''], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
  rule(['create'], [''], ['pods/eviction']),
  rule(WRITE, [''], ['replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/proxy', 'persistentvolumeclaims', 'configmaps', 'secrets', 'events']),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(WRITE, ['apps'], ['statefulsets', 'statefulsets/scale', 'daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback', 'replicasets', 'replicasets/scale']),
  rule(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
  rule(WRITE, ['batch'], ['jobs', 'cronjobs']),
  rule(WRITE, ['policy'], ['poddisruptionbudgets']),
  rule(WRITE, ['networking.k8s.io'], ['networkpolicies', 'ingresses']),
  rule(RW, ['coordination.k8s.io'], ['leases']),
  rule(READ, [''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy']),
];

const aggregateToAdmin: PolicyRule[] = [
  rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  rule(RW, ['rbac.authorization.k8s.io'], ['roles', 'rolebindings']),
];

const EVENTS = rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']);

/** The default ClusterRoles, before aggregation fills admin, edit and view. */
const ROLES: ClusterRole[] = [
  clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
  clusterRole('admin', [], { aggregateFrom: AGGREGATE('admin') }),
  clusterRole('edit', [], { aggregateFrom: AGGREGATE('edit'), labels: { [AGGREGATE('admin')]: 'true' } }),
  clusterRole('view', [], { aggregateFrom: AGGREGATE('view'), labels: { [AGGREGATE('edit')]: 'true' } }),
  clusterRole('system:aggregate-to-admin', aggregateToAdmin, { labels: { [AGGREGATE('admin')]: 'true' } }),
  clusterRole('system:aggregate-to-edit', aggregateToEdit, { labels: { [AGGREGATE('edit')]: 'true' } }),
  clusterRole('system:aggregate-to-view', aggregateToView, { labels: { [AGGREGATE('view')]: 'true' } }),
  clusterRole('system:discovery', [urls(['get'], ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'])]),
  clusterRole('system:public-info-viewer', [urls(['get'], ['/healthz', '/livez', '/readyz', '/version', '/version/'])]),
  clusterRole('system:basic-user', [
    rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
    rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
  ]),
  clusterRole('system:node', [
    rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
    rule(READ, [''], ['services']),
    rule(['create', 'get', 'list', 'watch', 'patch', 'update', 'delete'], [''], ['nodes']),
    rule(['patch', 'update'], [''], ['nodes/status']),
    EVENTS,
    rule(READ, [''], ['pods']),
    rule(['create', 'delete'], [''], ['pods']),
    rule(['update', 'patch'], [''], ['pods/status']),
    rule(['create'], [''], ['pods/eviction']),
    rule(['get'], [''], ['configmaps', 'secrets']),
    rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
  ]),
  clusterRole('system:kube-scheduler', [
    EVENTS,
    rule(['create'], ['coordination.k8s.io'], ['leases']),
    rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
    rule(['create'], [''], ['endpoints']),
    rule(['get', 'update'], [''], ['endpoints'], ['kube-scheduler']),
    rule(READ, [''], ['nodes']),
    rule(['delete', ...READ], [''], ['pods']),
    rule(['create'], [''], ['bindings', 'pods/binding']),
    rule(['patch', 'update'], [''], ['pods/status']),
    rule(READ, [''], ['replicationcontrollers', 'services']),
    rule(READ, ['apps', 'extensions'], ['replicasets']),
    rule(READ, ['apps'], ['statefulsets']),
    rule(READ, ['policy'], ['poddisruptionbudgets']),
    rule(READ, [''], ['persistentvolumeclaims', 'persistentvolumes']),
    rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    rule(READ, ['storage.k8s.io'], ['csinodes', 'csidrivers', 'csistoragecapacities', 'storageclasses']),
    rule(READ, [''], ['namespaces']),
  ]),
  clusterRole('system:kube-controller-manager', [
    EVENTS,
    rule(['create'], ['coordination.k8s.io'], ['leases']),
    rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-controller-manager']),
    rule(['create'], [''], ['secrets', 'serviceaccounts']),
    rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    // The informers of every controller, and what the garbage collector and the namespace controller delete.
    rule(['get', 'list', 'watch', 'delete', 'deletecollection', 'patch', 'update'], ['*'], ['*']),
    // The replication, endpoints, endpointslice, node-lifecycle and namespace controllers' writes.
    rule(['create'], ['', 'apps', 'batch', 'discovery.k8s.io', 'policy'], ['*']),
    rule(['update', 'patch'], ['*'], ['*/status', '*/finalize', '*/scale']),
    rule(['create'], [''], ['pods/eviction', 'pods/binding']),
  ]),
  clusterRole('system:node-proxier', [
    rule(['list', 'watch'], [''], ['services', 'endpoints']),
    rule(READ, [''], ['nodes']),
    EVENTS,
    rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
  ]),
  // pilot's dnsd reads what CoreDNS's role lets it read; with --register-service it also keeps
  // kube-system/kube-dns and one Lease per instance (whose names it picks, so leases are not named here).
  clusterRole('system:kube-dns', [
    rule(['list', 'watch'], [''], ['endpoints', 'services', 'pods', 'namespaces']),
    rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    rule(['get', 'update', 'patch'], [''], ['services', 'endpoints'], ['kube-dns']),
    rule(['create'], [''], ['services', 'endpoints']),
    rule(['get', 'list', 'create', 'update', 'delete'], ['coordination.k8s.io'], ['leases']),
    EVENTS,
  ]),
];

const BINDINGS: ClusterRoleBinding[] = [
  clusterRoleBinding('cluster-admin', 'cluster-admin', [group('system:masters')]),
  clusterRoleBinding('system:discovery', 'system:discovery', [group('system:authenticated')]),
  clusterRoleBinding('system:basic-user', 'system:basic-user', [group('system:authenticated')]),
  clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
  // Upstream keeps this binding without subjects: nodes are authorized by the Node authorizer.
  clusterRoleBinding('system:node', 'system:node', []),
  clusterRoleBinding('system:kube-scheduler', 'system:kube-scheduler', [user('system:kube-scheduler')]),
  clusterRoleBinding('system:kube-controller-manager', 'system:kube-controller-manager', [user('system:kube-controller-manager')]),
  clusterRoleBinding('system:node-proxier', 'system:node-proxier', [user('system:kube-proxy')]),
  clusterRoleBinding('system:kube-dns', 'system:kube-dns', [serviceAccount('kube-system', 'kube-dns')]),
];

/** Rules of the roles an aggregation rule selects (not the role itself), recursively; each rule once. */
export function aggregatedRules(role: ClusterRole, all: ReadonlyMap<string, ClusterRole>, seen: Set<string> = new Set([role.metadata.name ?? ''])): PolicyRule[] {
  // Validation refuses selectors that do not parse; one stored before that never matches.
  const selectors = (role.aggregationRule?.clusterRoleSelectors ?? []).flatMap((s) => {
    try {
      return [labelSelectorFromObject(s)];
    } catch {
      return [];
    }
  });
  if (selectors.length === 0) return [];
  const out: PolicyRule[] = [];
  const keys = new Set<string>();
  const push = (r: PolicyRule) => {
    const k = JSON.stringify(r);
    if (!keys.has(k)) {
      keys.add(k);
      out.push(r);
    }
  };
  for (const other of all.values()) {
    const name = other.metadata.name ?? '';
    if (seen.has(name) || !selectors.some((s) => s.matches(other.metadata.labels ?? {}))) continue;
    seen.add(name);
    for (const r of other.rules ?? []) push(r);
    for (const r of aggregatedRules(other, all, seen)) push(r);
  }
  return out;
}

/** The default ClusterRoles with admin, edit and view filled as the aggregation controller would. */
export function bootstrapClusterRoles(): ClusterRole[] {
  const byName = new Map(ROLES.map((r) => [r.metadata.name!, r]));
  return ROLES.map((r) => (r.aggregationRule ? { ...structuredClone(r), rules: aggregatedRules(r, byName) } : structuredClone(r)));
}

export function bootstrapClusterRoleBindings(): ClusterRoleBinding[] {
  return BINDINGS.map((b) => structuredClone(b));
}
