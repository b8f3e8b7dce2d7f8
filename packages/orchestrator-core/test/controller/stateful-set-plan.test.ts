import type { OwnerReference, Pod, PodTemplateSpec } from '@pilot/api';
import type { StatefulSet } from '@pilot/api';
import { completeRollingUpdate, identityPatch, newStatefulSetPod, parentAndOrdinal, planStatefulSet, statefulSetStatusEqual, type StatefulSetAction } from '../../src/controller/statefulset/stateful-set-plan.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const REF: OwnerReference = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u1', controller: true, blockOwnerDeletion: true };
const tpl = (image: string): PodTemplateSpec => ({ metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image }] } });
const CUR = { name: 'web-aaa', template: tpl('a') };
const UPD = { name: 'web-bbb', template: tpl('b') };

function set(spec: Partial<NonNullable<StatefulSet['spec']>> = {}, status?: StatefulSet['status']): StatefulSet {
  return { metadata: { name: 'web', namespace: 'ns', uid: 'u1', generation: 3 }, spec: { replicas: 3, serviceName: 'nginx', selector: { matchLabels: { app: 'nginx' } }, template: tpl('b'), ...spec }, ...(status ? { status } : {}) };
}

/** Pod `web-<ord>` of `rev`, Running and Ready unless told otherwise. */
function pod(ord: number, o: { rev?: string; ready?: boolean; phase?: string; deleting?: boolean; readyAgoS?: number } = {}): Pod {
  const p = newStatefulSetPod(set(), tpl('x'), ord, o.rev ?? UPD.name, REF);
  p.status = { phase: o.phase ?? 'Running', conditions: o.ready === false ? [{ type: 'Ready', status: 'False' }] : [{ type: 'Ready', status: 'True', lastTransitionTime: iso(NOW - (o.readyAgoS ?? 60) * 1000) }] };
  if (o.deleting) p.metadata.deletionTimestamp = iso(NOW);
  return p;
}

const plan = (s: StatefulSet, pods: Pod[], cur = UPD) => planStatefulSet({ set: s, pods, currentRevision: cur, updateRevision: UPD, ownerRef: REF, nowMs: NOW });
const summary = (actions: StatefulSetAction[]) => actions.map((a) => `${a.kind} ${a.pod.metadata.name}${a.kind === 'delete' ? ` (${a.why})` : ''}`);

describe('stateful set pods', () => {
  it('are named <set>-<ordinal> with the pod-name, pod-index and revision labels, hostname and subdomain', () => {
    const p = newStatefulSetPod(set(), tpl('a'), 2, 'web-aaa', REF);
    expect(p.metadata).toMatchObject({
      name: 'web-2',
      namespace: 'ns',
      labels: { app: 'nginx', 'statefulset.kubernetes.io/pod-name': 'web-2', 'apps.kubernetes.io/pod-index': '2', 'controller-revision-hash': 'web-aaa' },
      ownerReferences: [REF],
    });
    expect(p.metadata.generateName).toBeUndefined();
    expect(p.spec).toMatchObject({ hostname: 'web-2', subdomain: 'nginx', containers: [{ image: 'a' }] });
    expect(parentAndOrdinal(p)).toEqual(['web', 2]);
    expect(parentAndOrdinal({ metadata: { name: 'web-x' } })).toEqual(['', -1]);
    expect(parentAndOrdinal({ metadata: { name: 'my-web-10' } })).toEqual(['my-web', 10]);
  });

  it('get their identity labels back when someone removed them', () => {
    const p = pod(1);
    delete p.metadata.labels!['apps.kubernetes.io/pod-index'];
    expect(identityPatch(p)).toEqual({ metadata: { labels: { 'apps.kubernetes.io/pod-index': '1' } } });
    expect(identityPatch(pod(1))).toBeUndefined();
  });
});

describe('OrderedReady', () => {
  it('creates web-0 first, then each next ordinal only once every lower one is Running and Ready', () => {
    expect(summary(plan(set(), []).actions)).toEqual(['create web-0']);
    expect(summary(plan(set(), [pod(0, { phase: 'Pending', ready: false })]).actions)).toEqual([]);
    expect(summary(plan(set(), [pod(0, { ready: false })]).actions)).toEqual([]);
    expect(summary(plan(set(), [pod(0)]).actions)).toEqual(['create web-1']);
    expect(summary(plan(set(), [pod(0), pod(1)]).actions)).toEqual(['create web-2']);
    expect(summary(plan(set(), [pod(0), pod(1), pod(2)]).actions)).toEqual([]);
  });

  it('waits for minReadySeconds and asks to be synced again when they pass', () => {
    const p = plan(set({ minReadySeconds: 10 }), [pod(0, { readyAgoS: 4 })]);
    expect(p.actions).toEqual([]);
    expect(p.requeueAfterMs).toBeGreaterThan(5000);
    expect(p.requeueAfterMs).toBeLessThanOrEqual(6001);
    expect(summary(plan(set({ minReadySeconds: 10 }), [pod(0, { readyAgoS: 11 })]).actions)).toEqual(['create web-1']);
  });

  it('replaces a failed pod: deletes it, creates it again once gone', () => {
    expect(summary(plan(set(), [pod(0), pod(1, { phase: 'Failed', ready: false }), pod(2)]).actions)).toEqual(['delete web-1 (failed)']);
    expect(summary(plan(set(), [pod(0), pod(1, { phase: 'Failed', ready: false, deleting: true }), pod(2)]).actions)).toEqual([]);
  });

  it('scales down from the highest ordinal, one at a time, each after the previous is gone', () => {
    const s = set({ replicas: 1 });
    expect(summary(plan(s, [pod(0), pod(1), pod(2)]).actions)).toEqual(['delete web-2 (scale-down)']);
    expect(summary(plan(s, [pod(0), pod(1), pod(2, { deleting: true })]).actions)).toEqual([]);
    expect(summary(plan(s, [pod(0), pod(1)]).actions)).toEqual(['delete web-1 (scale-down)']);
    expect(summary(plan(s, [pod(0)]).actions)).toEqual([]);
  });

  it('does not scale down while a lower pod is unhealthy, unless the condemned pod is the first unhealthy one', () => {
    expect(summary(plan(set({ replicas: 1 }), [pod(0, { ready: false }), pod(1), pod(2)]).actions)).toEqual([]);
    expect(summary(plan(set({ replicas: 1 }), [pod(0), pod(1), pod(2, { ready: false })]).actions)).toEqual(['delete web-2 (scale-down)']);
  });

  it('ignores pods that are not its ordinals', () => {
    const stranger: Pod = { metadata: { name: 'other-0', labels: { app: 'nginx' } }, status: { phase: 'Running' } };
    expect(summary(plan(set({ replicas: 1 }), [pod(0), stranger]).actions)).toEqual([]);
  });
});

describe('Parallel', () => {
  it('creates every missing pod at once and deletes every condemned one at once', () => {
    expect(summary(plan(set({ podManagementPolicy: 'Parallel' }), []).actions)).toEqual(['create web-0', 'create web-1', 'create web-2']);
    expect(summary(plan(set({ podManagementPolicy: 'Parallel', replicas: 1 }), [pod(0, { ready: false }), pod(1, { ready: false }), pod(2)]).actions)).toEqual(['delete web-2 (scale-down)', 'delete web-1 (scale-down)']);
  });
});

describe('RollingUpdate', () => {
  const old = (ord: number, o: Parameters<typeof pod>[1] = {}) => pod(ord, { ...o, rev: CUR.name });

  it('deletes the highest-ordinal pod of the old revision first, and waits for it to come back Ready', () => {
    expect(summary(plan(set(), [old(0), old(1), old(2)], CUR).actions)).toEqual(['delete web-2 (update)']);
    // Recreated from the update revision (processReplica), then the next lower one.
    const recreate = plan(set(), [old(0), old(1)], CUR);
    expect(summary(recreate.actions)).toEqual(['create web-2']);
    const created = recreate.actions[0]!.pod;
    expect(created.metadata.labels?.['controller-revision-hash']).toBe(UPD.name);
    expect(created.spec?.containers[0]?.image).toBe('b');
    expect(summary(plan(set(), [old(0), old(1), pod(2, { ready: false })], CUR).actions)).toEqual([]);
    expect(summary(plan(set(), [old(0), old(1), pod(2)], CUR).actions)).toEqual(['delete web-1 (update)']);
  });

  it('leaves ordinals below the partition on the current revision, even when recreated', () => {
    const s = set({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    expect(summary(plan(s, [old(0), old(1), pod(2)], CUR).actions)).toEqual([]);
    const p = plan(s, [old(0), pod(2)], CUR);
    expect(summary(p.actions)).toEqual(['create web-1']);
    expect(p.actions[0]!.pod.metadata.labels?.['controller-revision-hash']).toBe(CUR.name);
    expect(p.actions[0]!.pod.spec?.containers[0]?.image).toBe('a');
  });

  it('does nothing with OnDelete', () => {
    expect(plan(set({ updateStrategy: { type: 'OnDelete' } }), [old(0), old(1), old(2)], CUR).actions).toEqual([]);
  });
});

describe('stateful set status', () => {
  it('counts replicas, ready, current and updated pods, and completes the rollout once all are updated and ready', () => {
    const s = set();
    const mid = plan(s, [pod(0, { rev: CUR.name }), pod(1), pod(2, { ready: false })], CUR).status;
    expect(mid).toMatchObject({ replicas: 3, readyReplicas: 2, currentReplicas: 1, updatedReplicas: 2, currentRevision: CUR.name, updateRevision: UPD.name, observedGeneration: 3 });
    expect(completeRollingUpdate(s, mid)).toBe(mid);
    const done = plan(s, [pod(0), pod(1), pod(2)], CUR).status;
    expect(completeRollingUpdate(s, done)).toMatchObject({ currentRevision: UPD.name, currentReplicas: 3, updatedReplicas: 3 });
  });

  it('counts a pod it creates in this sync', () => {
    expect(plan(set(), [pod(0)]).status).toMatchObject({ replicas: 2, readyReplicas: 1, updatedReplicas: 2, currentReplicas: 2 });
  });

  it('compares statuses by value', () => {
    const st = plan(set(), [pod(0)]).status;
    expect(statefulSetStatusEqual({ ...st }, st)).toBe(true);
    expect(statefulSetStatusEqual({ ...st, readyReplicas: 0 }, st)).toBe(false);
    expect(statefulSetStatusEqual(undefined, st)).toBe(false);
  });
});
