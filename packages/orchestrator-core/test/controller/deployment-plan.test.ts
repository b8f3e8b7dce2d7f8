import { applyJsonPatch, POD_TEMPLATE_HASH_LABEL, type Deployment, type ReplicaSet } from '@pilot/api';
import {
  calculateStatus,
  cleanupVictims,
  equalIgnoreHash,
  findNewReplicaSet,
  maxSurge,
  maxUnavailable,
  newReplicaSetFor,
  podTemplateHash,
  progressCheckDelay,
  proportionalScale,
  reconcileNewReplicaSet,
  reconcileOldReplicaSets,
  resolveFenceposts,
  rolloutConditions,
  safeEncodeString,
  scalePatch,
  setNewReplicaSetAnnotations,
} from '../../src/controller/deployment/deployment-plan.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const template = (image: string) => ({ metadata: { labels: { app: 'web' } as Record<string, string> }, spec: { containers: [{ name: 'c', image }] } });

function dep(over: Partial<NonNullable<Deployment['spec']>> = {}, status: Deployment['status'] = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: 2 },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: template('b'),
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      ...over,
    },
    status,
  };
}

/** An RS of `spec` replicas, `available` of them available, created `age` seconds before NOW. */
function rs(name: string, spec: number, available: number, opts: { image?: string; age?: number; revision?: number; annotations?: Record<string, string> } = {}): ReplicaSet {
  const t = template(opts.image ?? 'a');
  t.metadata.labels = { ...t.metadata.labels, [POD_TEMPLATE_HASH_LABEL]: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      generation: 1,
      creationTimestamp: new Date(NOW - (opts.age ?? 100) * 1000).toISOString(),
      annotations: { ...(opts.revision !== undefined ? { 'deployment.kubernetes.io/revision': String(opts.revision) } : {}), ...(opts.annotations ?? {}) },
    },
    spec: { replicas: spec, selector: { matchLabels: { app: 'web', [POD_TEMPLATE_HASH_LABEL]: name } }, template: t },
    status: { replicas: spec, readyReplicas: available, availableReplicas: available, observedGeneration: 1 },
  };
}

describe('ResolveFenceposts (surge rounds up, unavailable down, both 0 → unavailable 1)', () => {
  it.each([
    ['25%', '25%', 3, 1, 0],
    ['25%', '25%', 10, 3, 2],
    ['25%', '25%', 1, 1, 0],
    [0, 0, 5, 0, 1],
    ['0%', '0%', 5, 0, 1],
    [2, '50%', 5, 2, 2],
    ['100%', 0, 4, 4, 0],
  ])('maxSurge %p maxUnavailable %p of %d → surge %d, unavailable %d', (s, u, n, surge, unavailable) => {
    expect(resolveFenceposts(s, u, n)).toEqual({ surge, unavailable });
  });

  it('Recreate has neither; unavailable never exceeds replicas', () => {
    expect([maxSurge(dep({ strategy: { type: 'Recreate' } })), maxUnavailable(dep({ strategy: { type: 'Recreate' } }))]).toEqual([0, 0]);
    expect(maxUnavailable(dep({ replicas: 2, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 5 } } }))).toBe(2);
  });
});

describe('pod-template-hash', () => {
  it('is the safe alphabet over the decimal fnv32a, stable for equal templates whatever their key order', () => {
    const h = podTemplateHash(template('a'));
    expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(podTemplateHash({ spec: { containers: [{ image: 'a', name: 'c' }] }, metadata: { labels: { app: 'web' } } })).toBe(h);
    expect(podTemplateHash(template('b'))).not.toBe(h);
    // kubectl rollout undo sends the template's creationTimestamp: null, Go's zero value: the same template.
    expect(podTemplateHash({ ...template('a'), metadata: { labels: { app: 'web' }, creationTimestamp: null as unknown as string } })).toBe(h);
    expect(podTemplateHash(template('a'), 1)).not.toBe(h);
    expect(safeEncodeString('0123456789')).toBe('456789bcdf');
  });

  it('the new RS is <name>-<hash> with the label on its selector and template', () => {
    const d = dep();
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true, blockOwnerDeletion: true };
    const r = newReplicaSetFor(d, ref);
    const h = podTemplateHash(d.spec!.template);
    expect(r.metadata.name).toBe(`web-${h}`);
    expect(r.spec!.selector!.matchLabels).toEqual({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: h });
    expect(r.spec!.template!.metadata!.labels).toEqual({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: h });
    expect(d.spec!.template!.metadata!.labels).toEqual({ app: 'web' });
    expect(equalIgnoreHash(r.spec!.template, d.spec!.template)).toBe(true);
    expect(findNewReplicaSet(d, [rs('old', 3, 3), r])).toBe(r);
  });
});

describe('rolling update (reconcileNewReplicaSet, reconcileOldReplicaSets)', () => {
  it('3 replicas, 25%/25%: the new RS surges by one while the old keeps 3', () => {
    const d = dep();
    const old = rs('old', 3, 3, { age: 200 });
    const fresh = rs('new', 0, 0, { image: 'b', age: 1 });
    expect(reconcileNewReplicaSet(d, [old, fresh], fresh)).toBe(1);
    // Nothing of the old may go before the new pod is available: 3 must stay available.
    expect(reconcileOldReplicaSets(d, [old, rs('new', 1, 0, { image: 'b' })], [old], rs('new', 1, 0, { image: 'b' })).size).toBe(0);
  });

  it('once the new pod is available one old pod goes, then the new RS grows again', () => {
    const d = dep();
    const old = rs('old', 3, 3, { age: 200 });
    const fresh = rs('new', 1, 1, { image: 'b', age: 1 });
    expect(reconcileNewReplicaSet(d, [old, fresh], fresh)).toBeUndefined();
    expect([...reconcileOldReplicaSets(d, [old, fresh], [old], fresh)]).toEqual([['old', 2]]);
    const shrunk = rs('old', 2, 2, { age: 200 });
    expect(reconcileNewReplicaSet(d, [shrunk, fresh], fresh)).toBe(2);
  });

  it('unhealthy old replicas go first, oldest RS first', () => {
    const d = dep({ replicas: 4, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } });
    const oldest = rs('oldest', 2, 1, { age: 300 });
    const older = rs('older', 2, 2, { age: 200 });
    const fresh = rs('new', 0, 0, { image: 'b', age: 1 });
    // maxScaledDown = 4 − 3 − 0 = 1: the unavailable replica of the oldest RS.
    expect([...reconcileOldReplicaSets(d, [oldest, older, fresh], [oldest, older], fresh)]).toEqual([['oldest', 1]]);
  });
});

describe('proportional scaling mid-rollout (sync.go scale)', () => {
  it('a scale from 10 to 20 during a rollout spreads 10 + surge over both RSs by size', () => {
    // Rolled to 13 (10 + surge 3) as 8 old + 5 new; now replicas 20 (surge 5): 25 allowed, 12 to add.
    const ann = { 'deployment.kubernetes.io/max-replicas': '13', 'deployment.kubernetes.io/desired-replicas': '10' };
    const d = dep({ replicas: 20, template: template('b') }, { replicas: 13 });
    const old = rs('old', 8, 8, { age: 200, annotations: ann });
    const fresh = rs('new', 5, 0, { image: 'b', age: 1, annotations: ann });
    const out = proportionalScale(d, fresh, [old]);
    expect(out.get('old')! + out.get('new')!).toBe(25);
    expect(out.get('old')).toBe(15);
    expect(out.get('new')).toBe(10);
  });

  it('one active RS takes the new count alone', () => {
    const d = dep({ replicas: 5 });
    expect([...proportionalScale(d, rs('new', 3, 3, { image: 'b' }), [rs('old', 0, 0)])]).toEqual([['new', 5]]);
  });
});

describe('revisions and history', () => {
  it('an existing RS that becomes the new one again gets the next revision, the old one in revision-history', () => {
    const d = dep({}, {});
    d.metadata.annotations = { 'kubernetes.io/change-cause': 'kubectl set image', 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    const r = rs('back', 0, 0, { revision: 1 });
    expect(setNewReplicaSetAnnotations(d, r, 3, true)).toBe(true);
    expect(r.metadata.annotations).toMatchObject({ 'deployment.kubernetes.io/revision': '3', 'deployment.kubernetes.io/revision-history': '1', 'kubernetes.io/change-cause': 'kubectl set image' });
    expect(r.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBeUndefined();
    expect(setNewReplicaSetAnnotations(d, r, 3, true)).toBe(false);
  });

  it('cleanup deletes the lowest revisions beyond the limit, only empty settled ones', () => {
    const d = dep({ revisionHistoryLimit: 1 });
    const olds = [rs('r1', 0, 0, { revision: 1 }), rs('r2', 0, 0, { revision: 2 }), rs('r3', 1, 1, { revision: 3 }), rs('r4', 0, 0, { revision: 4 })];
    expect(cleanupVictims(d, olds).map((r) => r.metadata.name)).toEqual(['r1', 'r2']);
    expect(cleanupVictims(dep({ revisionHistoryLimit: 10 }), olds)).toEqual([]);
  });
});

describe('status and conditions (calculateStatus, syncRolloutStatus)', () => {
  it('counts over all RSs, updatedReplicas from the new one, Available by replicas − maxUnavailable', () => {
    const d = dep();
    const s = calculateStatus(d, [rs('old', 3, 3), rs('new', 1, 0, { image: 'b' })], rs('new', 1, 0, { image: 'b' }), NOW);
    expect(s).toMatchObject({ observedGeneration: 2, replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 1 });
    expect(s.conditions?.find((c) => c.type === 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' });
    const down = calculateStatus(d, [rs('new', 3, 2, { image: 'b' })], undefined, NOW);
    expect(down.conditions?.find((c) => c.type === 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
  });

  it('Progressing: ReplicaSetUpdated while progressing, NewReplicaSetAvailable when complete, ProgressDeadlineExceeded after the deadline', () => {
    const fresh = rs('web-h', 1, 0, { image: 'b' });
    const d = dep({}, { replicas: 3, updatedReplicas: 0, availableReplicas: 3 });
    const s = calculateStatus(d, [rs('old', 3, 3), fresh], fresh, NOW);
    rolloutConditions(d, s, fresh, NOW);
    expect(s.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'ReplicaSetUpdated', message: 'ReplicaSet "web-h" is progressing.' });
    expect(progressCheckDelay(d, s, NOW)).toBe(601_000);

    // No progress for longer than the deadline.
    const stuck = dep({ progressDeadlineSeconds: 5 }, s);
    const later = calculateStatus(stuck, [rs('old', 3, 3), fresh], fresh, NOW + 6000);
    rolloutConditions(stuck, later, fresh, NOW + 6000);
    expect(later.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-h" has timed out progressing.' });

    const done = rs('web-h', 3, 3, { image: 'b' });
    const fin = calculateStatus(d, [rs('old', 0, 0), done], done, NOW);
    rolloutConditions(d, fin, done, NOW);
    expect(fin.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable', message: 'ReplicaSet "web-h" has successfully progressed.' });
    expect(progressCheckDelay(d, fin, NOW)).toBeUndefined();
  });
});

describe('scalePatch (the RS scale write: a JSON patch that tests what the decision read)', () => {
  const read = () => {
    const r = rs('web-old', 4, 4, { annotations: { 'deployment.kubernetes.io/revision': '1' } });
    r.metadata.uid = 'rs-uid';
    return r;
  };

  it('scales and sets the replica annotations on the object it was decided from', () => {
    const out = applyJsonPatch(read(), scalePatch(read(), 3, 4, 5));
    expect(out.spec?.replicas).toBe(3);
    expect(out.metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '4', 'deployment.kubernetes.io/max-replicas': '5' });
  });

  it('still applies after a status write in between (upstream\'s resourceVersion would have been a 409)', () => {
    const stored = read();
    stored.metadata.resourceVersion = '99';
    stored.status = { replicas: 4, readyReplicas: 2, availableReplicas: 2 };
    expect(applyJsonPatch(stored, scalePatch(read(), 3, 4, 5)).spec?.replicas).toBe(3);
  });

  it('fails when the replica count moved since the read, or the name is another object now', () => {
    const scaled = read();
    scaled.spec!.replicas = 2;
    expect(() => applyJsonPatch(scaled, scalePatch(read(), 3, 4, 5))).toThrow(/\/spec\/replicas.*test failed/);
    const recreated = read();
    recreated.metadata.uid = 'another-uid';
    expect(() => applyJsonPatch(recreated, scalePatch(read(), 3, 4, 5))).toThrow(/\/metadata\/uid.*test failed/);
  });

  it('adds the annotations map when the RS has none', () => {
    const bare = read();
    delete bare.metadata.annotations;
    const out = applyJsonPatch(bare, scalePatch(bare, 0, 4, 5));
    expect(out.metadata.annotations).toEqual({ 'deployment.kubernetes.io/desired-replicas': '4', 'deployment.kubernetes.io/max-replicas': '5' });
    expect(out.spec?.replicas).toBe(0);
  });
});
