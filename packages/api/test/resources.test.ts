import {
  apiGroupListDocument,
  apiResourceList,
  apiVersionOf,
  lookupResource,
  RESOURCES,
  resourceByName,
  resourceForKind,
  resourcePath,
} from '../src/resources.js';
import { Indexer, keyOf, splitKey } from '../src/indexer.js';
import { alreadyExists, ApiError, conflict, expired, isGone, notFound, statusFor } from '../src/errors.js';
import { formatMicroTime, formatTime, type KubeObject } from '../src/types.js';

describe('resource table', () => {
  it('serves the issue\'s resources with their short names and groups', () => {
    expect(RESOURCES.map((r) => `${apiVersionOf(r)} ${r.resource}`)).toEqual([
      'v1 namespaces',
      'v1 pods',
      'v1 services',
      'v1 endpoints',
      'v1 replicationcontrollers',
      'v1 nodes',
      'v1 events',
      'v1 configmaps',
      'v1 secrets',
      'v1 serviceaccounts',
      'discovery.k8s.io/v1 endpointslices',
      'coordination.k8s.io/v1 leases',
      'rbac.authorization.k8s.io/v1 roles',
      'rbac.authorization.k8s.io/v1 rolebindings',
      'rbac.authorization.k8s.io/v1 clusterroles',
      'rbac.authorization.k8s.io/v1 clusterrolebindings',
      'apps/v1 deployments',
      'apps/v1 replicasets',
      'apps/v1 daemonsets',
      'apps/v1 statefulsets',
      'apps/v1 controllerrevisions',
      'batch/v1 jobs',
      'policy/v1 poddisruptionbudgets',
      'authorization.k8s.io/v1 selfsubjectaccessreviews',
      'authorization.k8s.io/v1 subjectaccessreviews',
      'authorization.k8s.io/v1 localsubjectaccessreviews',
    ]);
    expect(lookupResource('', 'v1', 'po')?.kind).toBe('Pod');
    expect(lookupResource('', 'v1', 'svc')?.resource).toBe('services');
    expect(lookupResource('', 'v1', 'cm')?.kind).toBe('ConfigMap');
    expect(lookupResource('', 'v1', 'sa')?.kind).toBe('ServiceAccount');
    expect(lookupResource('apps', 'v1', 'pods')).toBeUndefined();
    expect(resourceForKind('Lease')?.group).toBe('coordination.k8s.io');
    expect(resourceByName('rc')?.subresources).toEqual(['status', 'scale']);
    expect(resourceByName('pods')?.subresources).toEqual(['status', 'binding', 'eviction', 'log', 'exec', 'attach', 'portforward']);
    expect(lookupResource('policy', 'v1', 'pdb')?.kind).toBe('PodDisruptionBudget');
    expect(['deploy', 'rs', 'ds', 'sts'].map((s) => lookupResource('apps', 'v1', s)?.kind)).toEqual(['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet']);
    expect(resourceByName('deploy')?.subresources).toEqual(['status', 'scale']);
  });

  it('builds Kubernetes URL paths', () => {
    const pods = resourceByName('pods')!;
    expect(resourcePath(pods, { namespace: 'default', name: 'web-1', subresource: 'binding' })).toBe('/api/v1/namespaces/default/pods/web-1/binding');
    expect(resourcePath(pods)).toBe('/api/v1/pods');
    expect(resourcePath(resourceByName('nodes')!, { namespace: 'ignored', name: 'n1' })).toBe('/api/v1/nodes/n1');
    expect(resourcePath(resourceByName('leases')!, { namespace: 'kube-node-lease', name: 'n1' })).toBe(
      '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1',
    );
  });

  it('derives legacy discovery documents, with the Scale subresource in autoscaling/v1', () => {
    const core = apiResourceList('', 'v1');
    expect(core.groupVersion).toBe('v1');
    const names = core.resources.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['pods', 'pods/status', 'pods/binding', 'replicationcontrollers/scale', 'namespaces']));
    expect(names).not.toContain('leases');
    expect(core.resources.find((r) => r.name === 'replicationcontrollers/scale')).toMatchObject({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
    expect(core.resources.find((r) => r.name === 'pods')).toMatchObject({ shortNames: ['po'], namespaced: true, verbs: expect.arrayContaining(['watch']) });
    const groups = apiGroupListDocument().groups as { name: string }[];
    expect(groups.map((g) => g.name)).toEqual(['discovery.k8s.io', 'coordination.k8s.io', 'rbac.authorization.k8s.io', 'apps', 'batch', 'policy', 'authorization.k8s.io']);
    // kubectl drain finds the Eviction kind's group version here (CheckEvictionSupport).
    expect(core.resources.find((r) => r.name === 'pods/eviction')).toMatchObject({ group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
  });
});

describe('store', () => {
  it('keys namespaced objects as ns/name and cluster-scoped ones as name', () => {
    expect(keyOf({ metadata: { name: 'a', namespace: 'ns' } })).toBe('ns/a');
    expect(keyOf({ metadata: { name: 'n1' } })).toBe('n1');
    expect(splitKey('ns/a')).toEqual({ namespace: 'ns', name: 'a' });
    expect(splitKey('n1')).toEqual({ name: 'n1' });
  });

  it('keeps indexes in step with replacements and deletions', () => {
    const s = new Indexer<KubeObject>();
    s.addIndex('app', (o) => (o.metadata.labels?.app ? [o.metadata.labels.app] : []));
    s.set({ metadata: { name: 'a', namespace: 'd', labels: { app: 'web' } } });
    s.set({ metadata: { name: 'b', namespace: 'd', labels: { app: 'web' } } });
    s.set({ metadata: { name: 'a', namespace: 'd', labels: { app: 'db' } } });
    expect(s.byIndex('app', 'web').map((o) => o.metadata.name)).toEqual(['b']);
    expect(s.byIndex('app', 'db').map((o) => o.metadata.name)).toEqual(['a']);
    s.delete('d/b');
    expect(s.byIndex('app', 'web')).toEqual([]);
    expect(s.indexValues('app')).toEqual(['db']);
    expect(() => s.byIndex('nope', 'x')).toThrow(/no index named "nope"/);
  });
});

describe('errors and time formats', () => {
  it('builds Status objects in the shape kubectl prints', () => {
    expect(notFound('pods', 'nope')).toEqual({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "nope" not found', reason: 'NotFound', details: { name: 'nope', kind: 'pods' }, code: 404,
    });
    expect(alreadyExists('replicationcontrollers', 'rc1').message).toBe('replicationcontrollers "rc1" already exists');
    expect(conflict('pods', 'web-1').message).toBe(
      'Operation cannot be fulfilled on pods "web-1": the object has been modified; please apply your changes to the latest version and try again',
    );
    expect(expired()).toMatchObject({ code: 410, reason: 'Expired' });
    expect(isGone(new ApiError(expired()))).toBe(true);
    expect(new ApiError(statusFor(400, 'BadRequest', 'bad'))).toMatchObject({ code: 400, reason: 'BadRequest', message: 'bad' });
  });

  it('formats metav1.Time to seconds and MicroTime with exactly six fractional digits', () => {
    const d = new Date('2026-01-02T15:04:05.149Z');
    expect(formatTime(d)).toBe('2026-01-02T15:04:05Z');
    expect(formatMicroTime(d)).toBe('2026-01-02T15:04:05.149000Z');
  });
});
