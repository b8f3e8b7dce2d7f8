import type { Pod, ReplicationController } from '@pilot/api';
import {
  BURST_REPLICAS,
  calculateStatus,
  compareForDeletion,
  controllerRef,
  planReplicas,
  podFromTemplate,
  podsToDelete,
  slowStartBatches,
  statusEqual,
} from '../../src/controller/replication/replica-plan.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

interface P {
  node?: string;
  phase?: string;
  ready?: boolean;
  readySince?: number;
  created?: number;
  restarts?: number;
  cost?: string;
  uid?: string;
  labels?: Record<string, string>;
}

function pod(name: string, o: P = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: o.uid ?? `uid-${name}`,
      creationTimestamp: ago(o.created ?? 100),
      labels: o.labels ?? { app: 'web' },
      ...(o.cost !== undefined ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': o.cost } } : {}),
    },
    spec: { containers: [{ name: 'c' }], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: ago(o.readySince ?? 50) }],
      containerStatuses: [{ name: 'c', ready: o.ready !== false, restartCount: o.restarts ?? 0, image: 'x', imageID: '' }],
    },
  };
}

const names = (ps: Pod[]) => ps.map((p) => p.metadata.name);

describe('planReplicas (manageReplicas)', () => {
  it.each([
    ['too few: creates the difference, the first batch as large as the pods there', 5, 2, { action: 'create', count: 3, firstBatch: 2 }],
    ['none there: the first batch is 1', 3, 0, { action: 'create', count: 3, firstBatch: 1 }],
    ['many there: the first batch is the whole difference', 30, 25, { action: 'create', count: 5, firstBatch: 5 }],
    ['exactly enough: nothing', 3, 3, { action: 'none' }],
    ['zero wanted, zero there: nothing', 0, 0, { action: 'none' }],
    [`more than ${BURST_REPLICAS} missing: at most ${BURST_REPLICAS} per sync`, 1000, 0, { action: 'create', count: BURST_REPLICAS, firstBatch: 1 }],
  ])('%s', (_what, replicas, have, want) => {
    const pods = Array.from({ length: have }, (_, i) => pod(`p${i}`, { node: 'n1' }));
    expect(planReplicas({ replicas, pods, nowMs: NOW })).toEqual(want);
  });

  it('an owner whose creates fail starts its slow start from 1 again', () => {
    const pods = Array.from({ length: 25 }, (_, i) => pod(`p${i}`, { node: 'n1' }));
    expect(planReplicas({ replicas: 100, pods, nowMs: NOW, failing: true })).toEqual({ action: 'create', count: 75, firstBatch: 1 });
    expect(planReplicas({ replicas: 100, pods, nowMs: NOW })).toEqual({ action: 'create', count: 75, firstBatch: 25 });
  });

  it('too many: deletes the surplus, at most burst', () => {
    const pods = Array.from({ length: 10 }, (_, i) => pod(`p${i}`, { node: 'n1' }));
    const plan = planReplicas({ replicas: 2, pods, nowMs: NOW, burst: 5 });
    expect(plan.action).toBe('delete');
    expect(plan.action === 'delete' && plan.pods.length).toBe(5);
  });

  it('scaling to 0 deletes every pod', () => {
    const pods = [pod('a', { node: 'n1' }), pod('b')];
    const plan = planReplicas({ replicas: 0, pods, nowMs: NOW });
    expect(plan.action === 'delete' && names(plan.pods).sort()).toEqual(['a', 'b']);
  });
});

describe('slowStartBatches', () => {
  it.each([
    [0, []],
    [1, [1]],
    [3, [1, 2]],
    [7, [1, 2, 4]],
    [10, [1, 2, 4, 3]],
    [100, [1, 2, 4, 8, 16, 32, 37]],
    [500, [1, 2, 4, 8, 16, 32, 64, 128, 245]],
  ])('%d creates go out as %j', (n, want) => {
    expect(slowStartBatches(n)).toEqual(want);
    expect(slowStartBatches(n).reduce((a, b) => a + b, 0)).toBe(n);
  });

  it('carries on from the first batch it is given: 75 more after 25 go out as 25, 50', () => {
    expect(slowStartBatches(75, 25)).toEqual([25, 50]);
    expect(slowStartBatches(50, 50)).toEqual([50]);
  });

  it('counts 1+floor(log2(N)) batches, as upstream says', () => {
    for (const n of [1, 2, 5, 64, 100, 999]) expect(slowStartBatches(n)).toHaveLength(1 + Math.floor(Math.log2(n)));
  });
});

describe('scale-down order (ActivePodsWithRanks)', () => {
  // Each row: the pod deleted first, then the one kept, and why.
  it.each<[string, Pod, Pod]>([
    ['unassigned before assigned', pod('x'), pod('y', { node: 'n1' })],
    ['Pending before Unknown', pod('x', { node: 'n1', phase: 'Pending', ready: false }), pod('y', { node: 'n1', phase: 'Unknown', ready: false })],
    ['Unknown before Running', pod('x', { node: 'n1', phase: 'Unknown', ready: false }), pod('y', { node: 'n1', phase: 'Running', ready: false })],
    ['not ready before ready', pod('x', { node: 'n1', ready: false }), pod('y', { node: 'n1' })],
    ['lower pod-deletion-cost first', pod('x', { node: 'n1', cost: '-5' }), pod('y', { node: 'n1' })],
    ['an invalid deletion cost counts as 0', pod('x', { node: 'n1', cost: 'abc' }), pod('y', { node: 'n1', cost: '1' })],
    ['ready for less time first (log2 scale)', pod('x', { node: 'n1', readySince: 10 }), pod('y', { node: 'n1', readySince: 10_000 })],
    ['more restarts first', pod('x', { node: 'n1', restarts: 3 }), pod('y', { node: 'n1', restarts: 1 })],
    ['newer first', pod('x', { node: 'n1', created: 10 }), pod('y', { node: 'n1', created: 10_000 })],
  ])('%s', (_why, first, kept) => {
    expect(compareForDeletion(first, 1, kept, 1, NOW)).toBeLessThan(0);
    expect(compareForDeletion(kept, 1, first, 1, NOW)).toBeGreaterThan(0);
  });

  it('ages within one doubling are a tie broken by UID, not by which is newer', () => {
    // 1200 s and 1300 s ago: ⌊log2(age in ns)⌋ is 40 for both.
    const newer = pod('newer', { node: 'n1', created: 1200, uid: 'b' });
    const older = pod('older', { node: 'n1', created: 1300, uid: 'a' });
    expect(compareForDeletion(older, 1, newer, 1, NOW)).toBeLessThan(0);
  });

  it('the doubled-up node shrinks first (rank = related pods on the same node)', () => {
    const pods = [pod('a1', { node: 'a' }), pod('b1', { node: 'b' }), pod('b2', { node: 'b' }), pod('c1', { node: 'c' })];
    expect(names(podsToDelete(pods, pods, 1, NOW))).toEqual([expect.stringMatching(/^b/)]);
  });

  it('the rank only comes after readiness and deletion cost', () => {
    const pods = [pod('a1', { node: 'a', ready: false }), pod('b1', { node: 'b' }), pod('b2', { node: 'b' })];
    expect(names(podsToDelete(pods, pods, 1, NOW))).toEqual(['a1']);
  });

  it('scale 11 → 1: the unassigned and the not-ready pods go first, then the doubled-up nodes (ranked once per sync)', () => {
    const pods = [
      pod('pending', { phase: 'Pending', ready: false }),
      pod('n1-a', { node: 'n1' }),
      pod('n1-b', { node: 'n1' }),
      pod('n1-c', { node: 'n1' }),
      pod('n2-a', { node: 'n2' }),
      pod('n2-b', { node: 'n2' }),
      pod('n2-c', { node: 'n2', ready: false }),
      pod('n3-a', { node: 'n3' }),
      pod('n3-b', { node: 'n3' }),
      pod('n3-c', { node: 'n3' }),
      pod('n4-a', { node: 'n4' }),
    ];
    const gone = podsToDelete(pods, pods, 10, NOW);
    expect(names(gone).slice(0, 2)).toEqual(['pending', 'n2-c']);
    expect(pods.filter((p) => !gone.includes(p)).map((p) => p.metadata.name)).toEqual(['n4-a']);
  });

  it('deleting as many as there are returns them all, unsorted', () => {
    const pods = [pod('a', { node: 'n1' }), pod('b')];
    expect(names(podsToDelete(pods, pods, 5, NOW))).toEqual(['a', 'b']);
  });
});

const rc = (o: { replicas?: number; minReady?: number; generation?: number; conditions?: ReplicationController['status'] } = {}): ReplicationController => ({
  apiVersion: 'v1',
  kind: 'ReplicationController',
  metadata: { name: 'web', namespace: 'default', uid: 'rc-uid', generation: o.generation ?? 3 },
  spec: {
    replicas: o.replicas ?? 3,
    ...(o.minReady ? { minReadySeconds: o.minReady } : {}),
    selector: { app: 'web' },
    template: { metadata: { labels: { app: 'web', tier: 'fe' }, annotations: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
  ...(o.conditions ? { status: o.conditions } : {}),
});

describe('calculateStatus', () => {
  it('counts replicas, fully labeled, ready and available (minReadySeconds) and observes the generation', () => {
    const pods = [
      pod('full-ready-old', { labels: { app: 'web', tier: 'fe' }, readySince: 100 }),
      pod('full-ready-new', { labels: { app: 'web', tier: 'fe' }, readySince: 5 }),
      pod('partial-notready', { ready: false }),
    ];
    expect(calculateStatus(rc({ minReady: 30 }), pods, undefined, NOW)).toEqual({
      replicas: 3,
      fullyLabeledReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 1,
      observedGeneration: 3,
    });
  });

  it('sets ReplicaFailure on a failed create and clears it on the next clean sync', () => {
    const failed = calculateStatus(rc({ replicas: 3 }), [pod('a')], new Error('pods "web-" is forbidden: exceeded quota'), NOW);
    expect(failed.conditions).toEqual([{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "web-" is forbidden: exceeded quota', lastTransitionTime: '2026-12-02T12:00:00Z' }]);
    const again = calculateStatus(rc({ replicas: 3, conditions: failed }), [pod('a')], new Error('still'), NOW);
    expect(again.conditions).toEqual(failed.conditions);
    const clean = calculateStatus(rc({ replicas: 3, conditions: failed }), [pod('a'), pod('b'), pod('c')], undefined, NOW);
    expect(clean.conditions).toBeUndefined();
  });

  it('statusEqual treats absent counts as 0 (the API omits zeros)', () => {
    expect(statusEqual({ replicas: 0 }, { replicas: 0, fullyLabeledReplicas: 0, readyReplicas: 0, availableReplicas: 0, observedGeneration: 0 })).toBe(true);
    expect(statusEqual({ replicas: 2, observedGeneration: 1 }, { replicas: 2, observedGeneration: 2 })).toBe(false);
  });
});

describe('podFromTemplate (GetPodFromTemplate)', () => {
  it('copies labels, annotations and spec, names it <rc>- and sets the controller reference', () => {
    const r = rc();
    const ref = controllerRef({ apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: 'rc-uid' });
    const p = podFromTemplate(r.spec!.template!, 'default', 'web', ref);
    expect(p).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: 'web-',
        namespace: 'default',
        labels: { app: 'web', tier: 'fe' },
        annotations: { a: 'b' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: 'rc-uid', controller: true, blockOwnerDeletion: true }],
      },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    p.spec!.containers[0]!.image = 'changed';
    expect(r.spec!.template!.spec!.containers[0]!.image).toBe('nginx');
  });
});
