/**
 * The one table of served resources. The apiserver's routes and discovery
 * documents, the client's URL paths and the kind ↔ resource mapping are all
 * derived from it, so adding a resource is adding a row.
 */

export type ApiGroup = '' | 'discovery.k8s.io' | 'coordination.k8s.io' | 'autoscaling' | 'rbac.authorization.k8s.io' | 'authorization.k8s.io' | 'apps' | 'batch' | 'policy';

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export interface ResourceInfo {
  group: ApiGroup;
  version: string;
  /** Plural, lower case: the path segment (`pods`). */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: Verb[];
  /** Subresource names served under `<resource>/<name>/<sub>`. */
  subresources: string[];
  categories?: string[];
}

const ALL_VERBS: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCES: readonly ResourceInfo[] = Object.freeze([
  {
    group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace',
    namespaced: false, shortNames: ['ns'], verbs: ALL_VERBS.filter((v) => v !== 'deletecollection'), subresources: ['status', 'finalize'],
  },
  {
    group: '', version: 'v1', resource: 'pods', singular: 'pod', kind: 'Pod',
    namespaced: true, shortNames: ['po'], verbs: ALL_VERBS, subresources: ['status', 'binding', 'eviction', 'log', 'exec', 'attach', 'portforward'], categories: ['all'],
  },
  {
    group: '', version: 'v1', resource: 'services', singular: 'service', kind: 'Service',
    namespaced: true, shortNames: ['svc'], verbs: ALL_VERBS, subresources: ['status'], categories: ['all'],
  },
  {
    group: '', version: 'v1', resource: 'endpoints', singular: 'endpoints', kind: 'Endpoints',
    namespaced: true, shortNames: ['ep'], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: '', version: 'v1', resource: 'replicationcontrollers', singular: 'replicationcontroller', kind: 'ReplicationController',
    namespaced: true, shortNames: ['rc'], verbs: ALL_VERBS, subresources: ['status', 'scale'], categories: ['all'],
  },
  {
    group: '', version: 'v1', resource: 'nodes', singular: 'node', kind: 'Node',
    namespaced: false, shortNames: ['no'], verbs: ALL_VERBS, subresources: ['status'],
  },
  {
    group: '', version: 'v1', resource: 'events', singular: 'event', kind: 'Event',
    namespaced: true, shortNames: ['ev'], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: '', version: 'v1', resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap',
    namespaced: true, shortNames: ['cm'], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: '', version: 'v1', resource: 'secrets', singular: 'secret', kind: 'Secret',
    namespaced: true, shortNames: [], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: '', version: 'v1', resource: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount',
    namespaced: true, shortNames: ['sa'], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice',
    namespaced: true, shortNames: [], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: 'coordination.k8s.io', version: 'v1', resource: 'leases', singular: 'lease', kind: 'Lease',
    namespaced: true, shortNames: [], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', singular: 'role', kind: 'Role',
    namespaced: true, shortNames: [], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', singular: 'rolebinding', kind: 'RoleBinding',
    namespaced: true, shortNames: [], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', singular: 'clusterrole', kind: 'ClusterRole',
    namespaced: false, shortNames: [], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', singular: 'clusterrolebinding', kind: 'ClusterRoleBinding',
    namespaced: false, shortNames: [], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: 'apps', version: 'v1', resource: 'deployments', singular: 'deployment', kind: 'Deployment',
    namespaced: true, shortNames: ['deploy'], verbs: ALL_VERBS, subresources: ['status', 'scale'], categories: ['all'],
  },
  {
    group: 'apps', version: 'v1', resource: 'replicasets', singular: 'replicaset', kind: 'ReplicaSet',
    namespaced: true, shortNames: ['rs'], verbs: ALL_VERBS, subresources: ['status', 'scale'], categories: ['all'],
  },
  {
    group: 'apps', version: 'v1', resource: 'daemonsets', singular: 'daemonset', kind: 'DaemonSet',
    namespaced: true, shortNames: ['ds'], verbs: ALL_VERBS, subresources: ['status'], categories: ['all'],
  },
  {
    group: 'apps', version: 'v1', resource: 'statefulsets', singular: 'statefulset', kind: 'StatefulSet',
    namespaced: true, shortNames: ['sts'], verbs: ALL_VERBS, subresources: ['status', 'scale'], categories: ['all'],
  },
  {
    group: 'apps', version: 'v1', resource: 'controllerrevisions', singular: 'controllerrevision', kind: 'ControllerRevision',
    namespaced: true, shortNames: [], verbs: ALL_VERBS, subresources: [],
  },
  {
    group: 'batch', version: 'v1', resource: 'jobs', singular: 'job', kind: 'Job',
    namespaced: true, shortNames: [], verbs: ALL_VERBS, subresources: ['status'], categories: ['all'],
  },
  {
    group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', singular: 'poddisruptionbudget', kind: 'PodDisruptionBudget',
    namespaced: true, shortNames: ['pdb'], verbs: ALL_VERBS, subresources: ['status'],
  },
  // Reviews are answered, never stored (the apiserver's authorizer decides them).
  {
    group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview', kind: 'SelfSubjectAccessReview',
    namespaced: false, shortNames: [], verbs: ['create'], subresources: [],
  },
  {
    group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews', singular: 'subjectaccessreview', kind: 'SubjectAccessReview',
    namespaced: false, shortNames: [], verbs: ['create'], subresources: [],
  },
  {
    group: 'authorization.k8s.io', version: 'v1', resource: 'localsubjectaccessreviews', singular: 'localsubjectaccessreview', kind: 'LocalSubjectAccessReview',
    namespaced: true, shortNames: [], verbs: ['create'], subresources: [],
  },
] satisfies ResourceInfo[]);

/** Kind served by a subresource when it is not the parent's kind. */
export const SUBRESOURCE_KINDS: Readonly<Record<string, { group: ApiGroup; version: string; kind: string; verbs: Verb[] }>> = {
  'namespaces/finalize': { group: '', version: 'v1', kind: 'Namespace', verbs: ['update'] },
  'pods/binding': { group: '', version: 'v1', kind: 'Binding', verbs: ['create'] },
  'pods/eviction': { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
  'pods/log': { group: '', version: 'v1', kind: 'Pod', verbs: ['get'] },
  'pods/exec': { group: '', version: 'v1', kind: 'PodExecOptions', verbs: ['create', 'get'] },
  'pods/attach': { group: '', version: 'v1', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
  'pods/portforward': { group: '', version: 'v1', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
  'replicationcontrollers/scale': { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
  'deployments/scale': { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
  'replicasets/scale': { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
  'statefulsets/scale': { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
};

/** Verbs of a subresource (status: get/patch/update unless listed above). */
export function subresourceVerbs(resource: string, sub: string): Verb[] {
  return SUBRESOURCE_KINDS[`${resource}/${sub}`]?.verbs ?? ['get', 'patch', 'update'];
}

/** Finds a resource by group, version and plural (or a short name / singular, as kubectl users type). */
export function lookupResource(group: string, version: string, plural: string): ResourceInfo | undefined {
  const p = plural.toLowerCase();
  return RESOURCES.find(
    (r) => r.group === group && r.version === version && (r.resource === p || r.singular === p || r.shortNames.includes(p)),
  );
}

/** Finds a resource by its plural name alone (all served plurals are unique across groups). */
export function resourceByName(name: string): ResourceInfo | undefined {
  const n = name.toLowerCase();
  return (
    RESOURCES.find((r) => r.resource === n) ??
    RESOURCES.find((r) => r.singular === n || r.shortNames.includes(n) || r.kind.toLowerCase() === n)
  );
}

/** Finds a resource by kind, e.g. `Pod`; optionally restricted to an apiVersion. */
export function resourceForKind(kind: string, apiVersion?: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.kind === kind && (apiVersion === undefined || apiVersionOf(r) === apiVersion));
}

/** `v1` for the core group, `<group>/<version>` otherwise. */
export function apiVersionOf(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** URL prefix of a group version: `/api/v1` or `/apis/<group>/<version>`. */
export function groupVersionPath(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
}

/**
 * URL path of a collection, object or subresource. `namespace` is ignored for
 * cluster-scoped resources and, when omitted for a namespaced one, gives the
 * all-namespaces collection.
 */
export function resourcePath(r: ResourceInfo, opts: { namespace?: string; name?: string; subresource?: string } = {}): string {
  let p = groupVersionPath(r);
  if (r.namespaced && opts.namespace) p += `/namespaces/${encodeURIComponent(opts.namespace)}`;
  p += `/${r.resource}`;
  if (opts.name !== undefined) p += `/${encodeURIComponent(opts.name)}`;
  if (opts.subresource !== undefined) {
    if (opts.name === undefined) throw new Error(`subresource ${r.resource}/${opts.subresource} needs an object name`);
    p += `/${opts.subresource}`;
  }
  return p;
}

/** Distinct group versions served, core first. */
export function groupVersions(): { group: ApiGroup; version: string }[] {
  const seen = new Map<string, { group: ApiGroup; version: string }>();
  for (const r of RESOURCES) seen.set(apiVersionOf(r), { group: r.group, version: r.version });
  return [...seen.values()];
}

/** Legacy discovery: `APIResourceList` for one group version (`/api/v1`, `/apis/<g>/<v>`). */
export function apiResourceList(group: string, version: string): {
  kind: 'APIResourceList';
  apiVersion: 'v1';
  groupVersion: string;
  resources: Record<string, unknown>[];
} {
  const resources: Record<string, unknown>[] = [];
  for (const r of RESOURCES) {
    if (r.group !== group || r.version !== version) continue;
    resources.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories ? { categories: r.categories } : {}),
    });
    for (const sub of r.subresources) {
      const special = SUBRESOURCE_KINDS[`${r.resource}/${sub}`];
      resources.push({
        name: `${r.resource}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(special && special.group !== group ? { group: special.group, version: special.version } : {}),
        kind: special?.kind ?? r.kind,
        verbs: subresourceVerbs(r.resource, sub),
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}

/** Legacy discovery: `/api` (core versions). */
export function apiVersionsDocument(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** Legacy discovery: `/apis` (named groups). */
export function apiGroupListDocument(): Record<string, unknown> {
  const groups = groupVersions()
    .filter((gv) => gv.group !== '')
    .map((gv) => {
      const v = { groupVersion: `${gv.group}/${gv.version}`, version: gv.version };
      return { name: gv.group, versions: [v], preferredVersion: v };
    });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}
