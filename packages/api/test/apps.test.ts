import type { Deployment, ReplicaSet, StatefulSet, DaemonSet } from '../src/apps-types.js';
import { applyStrategicMergePatch } from '../src/patch/index.js';
import { toTable } from '../src/table/index.js';
import { defaultObject, validateObject } from '../src/validation.js';

const NOW = new Date('2026-01-02T15:00:00Z');
const template = (image = 'registry.local/a:1') => ({
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image, ports: [{ containerPort: 80 }] }] },
});
const deployment = (over: Partial<Deployment['spec']> = {}): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', creationTimestamp: '2026-01-02T14:55:00Z' },
  spec: { selector: { matchLabels: { app: 'web' } }, template: template(), ...over },
});
const fields = (errs: { field: string; message: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);

describe('apps/v1 defaulting (SetDefaults_*)', () => {
  it('a Deployment gets one replica, RollingUpdate 25%/25%, 10 revisions and a 600 s progress deadline', () => {
    const d = defaultObject('deployments', deployment());
    expect(d.spec).toMatchObject({ replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } }, revisionHistoryLimit: 10, progressDeadlineSeconds: 600 });
    expect(d.spec!.template!.spec!.restartPolicy).toBe('Always');
  });

  it('a Recreate Deployment gets no rollingUpdate', () => {
    expect(defaultObject('deployments', deployment({ strategy: { type: 'Recreate' } })).spec!.strategy).toEqual({ type: 'Recreate' });
  });

  it('a DaemonSet rolls one pod at a time, a StatefulSet is OrderedReady from partition 0', () => {
    const ds = defaultObject('daemonsets', { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template() } } as DaemonSet);
    expect(ds.spec!.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    expect(ds.spec!.revisionHistoryLimit).toBe(10);
    const sts = defaultObject('statefulsets', { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template(), serviceName: 'nginx' } } as StatefulSet);
    expect(sts.spec).toMatchObject({ replicas: 1, podManagementPolicy: 'OrderedReady', updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }, revisionHistoryLimit: 10 });
  });
});

describe('apps/v1 validation', () => {
  it('accepts a defaulted Deployment', () => {
    expect(validateObject('deployments', defaultObject('deployments', deployment()))).toEqual([]);
  });

  it('refuses a selector change on update (field is immutable)', () => {
    const old = defaultObject('deployments', deployment());
    const next = defaultObject('deployments', deployment({ selector: { matchLabels: { app: 'other' } }, template: { ...template(), metadata: { labels: { app: 'other' } } } }));
    expect(fields(validateObject('deployments', next, old))).toContain('spec.selector: field is immutable');
    const rsOld = defaultObject('replicasets', { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template() } } as ReplicaSet);
    const rsNext = { ...rsOld, spec: { ...rsOld.spec, selector: { matchLabels: { app: 'web', x: 'y' } } } } as ReplicaSet;
    expect(fields(validateObject('replicasets', rsNext, rsOld))).toContain('spec.selector: field is immutable');
  });

  it('lets a template change (a rollout) through', () => {
    const old = defaultObject('deployments', deployment());
    expect(validateObject('deployments', defaultObject('deployments', deployment({ template: template('registry.local/b:1') })), old)).toEqual([]);
  });

  it('refuses an empty selector, a selector missing the template, maxSurge and maxUnavailable both 0', () => {
    expect(fields(validateObject('deployments', defaultObject('deployments', deployment({ selector: {} }))))).toContain('spec.selector: empty selector is invalid for deployment');
    expect(fields(validateObject('deployments', defaultObject('deployments', deployment({ selector: { matchLabels: { app: 'x' } } }))))).toContain(
      'spec.template.metadata.labels: `selector` does not match template `labels`',
    );
    const zero = defaultObject('deployments', deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } }));
    expect(fields(validateObject('deployments', zero))).toContain('spec.strategy.rollingUpdate.maxUnavailable: may not be 0 when `maxSurge` is 0');
    const deadline = defaultObject('deployments', deployment({ minReadySeconds: 10, progressDeadlineSeconds: 5 }));
    expect(fields(validateObject('deployments', deadline))).toContain('spec.progressDeadlineSeconds: must be greater than minReadySeconds');
  });

  it('forbids a StatefulSet update outside its mutable fields', () => {
    const old = defaultObject('statefulsets', { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template(), serviceName: 'nginx' } } as StatefulSet);
    expect(validateObject('statefulsets', { ...old, spec: { ...old.spec, replicas: 3 } }, old)).toEqual([]);
    expect(fields(validateObject('statefulsets', { ...old, spec: { ...old.spec, serviceName: 'other' } }, old))[0]).toMatch(/^spec: updates to statefulset spec for fields other than 'replicas'/);
  });
});

describe('apps/v1 Tables (printDeployment, printReplicaSet, printDaemonSet, printStatefulSet)', () => {
  const names = (t: { columnDefinitions: { name: string }[] | null }): string[] => (t.columnDefinitions ?? []).map((c) => c.name);

  it('deploy: NAME READY UP-TO-DATE AVAILABLE AGE, wide CONTAINERS IMAGES SELECTOR', () => {
    const d = { ...defaultObject('deployments', deployment({ replicas: 3 })), status: { readyReplicas: 2, updatedReplicas: 1, availableReplicas: 2 } };
    const t = toTable('deployments', [d], { now: NOW });
    expect(names(t)).toEqual(['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
    expect(t.rows[0]!.cells).toEqual(['web', '2/3', 1, 2, '5m', 'c', 'registry.local/a:1', 'app=web']);
    expect(names(toTable('deployments', [d], { now: NOW, wide: false }))).toEqual(['Name', 'Ready', 'Up-to-date', 'Available', 'Age']);
  });

  it('rs: DESIRED CURRENT READY; ds: DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR; sts: READY', () => {
    expect(names(toTable('replicasets', [], { wide: false }))).toEqual(['Name', 'Desired', 'Current', 'Ready', 'Age']);
    expect(names(toTable('daemonsets', [], { wide: false }))).toEqual(['Name', 'Desired', 'Current', 'Ready', 'Up-to-date', 'Available', 'Node Selector', 'Age']);
    expect(names(toTable('statefulsets', [], { wide: false }))).toEqual(['Name', 'Ready', 'Age']);
    const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'd', creationTimestamp: '2026-01-02T14:55:00Z' }, spec: { template: { spec: { containers: [], nodeSelector: { disk: 'ssd' } } } } } as unknown as DaemonSet;
    expect(toTable('daemonsets', [ds], { now: NOW, wide: false }).rows[0]!.cells).toEqual(['d', 0, 0, 0, 0, 0, 'disk=ssd', '5m']);
  });
});

describe('kubectl apply of a Deployment (strategic merge patch through the apps/v1 schema)', () => {
  it('merges the template containers by name: a changed image keeps the ports', () => {
    const cur = defaultObject('deployments', deployment());
    const next = applyStrategicMergePatch(cur, { spec: { template: { spec: { containers: [{ name: 'c', image: 'registry.local/b:1' }] } } } }, 'Deployment', 'apps/v1');
    expect(next.spec!.template!.spec!.containers).toMatchObject([{ name: 'c', image: 'registry.local/b:1', ports: [{ containerPort: 80 }] }]);
    expect(next.spec!.strategy).toEqual(cur.spec!.strategy);
  });
});
