import { Informer, type KubeObject, type ListWatchClient, type OwnerReference, type Pod, type PodTemplateSpec, type ReplicationController } from '@pilot/api';
import { createLogger } from '@pilot/common';
import { adoptPatch, claimDecision, releasePatch } from '../../src/controller/controller-ref.js';
import { Expectations } from '../../src/controller/expectations.js';
import type { PodControl } from '../../src/controller/pod-control.js';
import { ReplicationManager } from '../../src/controller/replication/controller.js';

describe('Expectations', () => {
  it('blocks a sync until every create and delete it expects was observed', () => {
    const e = new Expectations(() => 0);
    expect(e.satisfied('ns/rc')).toBe(true);
    e.expectCreations('ns/rc', 2);
    expect(e.satisfied('ns/rc')).toBe(false);
    e.creationObserved('ns/rc');
    expect(e.satisfied('ns/rc')).toBe(false);
    e.creationObserved('ns/rc');
    expect(e.satisfied('ns/rc')).toBe(true);
  });

  it('counts the deletion of each pod once, whether seen as deletionTimestamp or as the delete itself', () => {
    const e = new Expectations(() => 0);
    e.expectDeletions('ns/rc', ['ns/a', 'ns/b']);
    e.deletionObserved('ns/rc', 'ns/a');
    e.deletionObserved('ns/rc', 'ns/a');
    e.deletionObserved('ns/rc', 'ns/other');
    expect(e.pending('ns/rc')).toEqual({ add: 0, del: 1 });
    e.deletionObserved('ns/rc', 'ns/b');
    expect(e.satisfied('ns/rc')).toBe(true);
  });

  it('gives up waiting after the timeout (a lost event must not wedge the RC)', () => {
    let now = 0;
    const e = new Expectations(() => now, 5 * 60_000);
    e.expectCreations('ns/rc', 1);
    now = 5 * 60_000;
    expect(e.satisfied('ns/rc')).toBe(false);
    now += 1;
    expect(e.satisfied('ns/rc')).toBe(true);
  });
});

const owner = (o: { deleting?: boolean } = {}): KubeObject => ({ metadata: { name: 'web', namespace: 'ns', uid: 'rc-1', ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) } });
const ref = (uid: string): OwnerReference => ({ apiVersion: 'v1', kind: 'ReplicationController', name: 'x', uid, controller: true, blockOwnerDeletion: true });
const obj = (o: { ref?: OwnerReference; ns?: string; deleting?: boolean } = {}): KubeObject => ({
  metadata: { name: 'p', namespace: o.ns ?? 'ns', uid: 'p-1', ...(o.ref ? { ownerReferences: [o.ref] } : {}), ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
});

describe('claimDecision (ClaimObject)', () => {
  it.each<[string, KubeObject, KubeObject, boolean, string]>([
    ['ours and matching: own', owner(), obj({ ref: ref('rc-1') }), true, 'own'],
    ['ours, no longer matching: release', owner(), obj({ ref: ref('rc-1') }), false, 'release'],
    ['ours, not matching, owner being deleted: leave it', owner({ deleting: true }), obj({ ref: ref('rc-1') }), false, 'ignore'],
    ["someone else's: never touched", owner(), obj({ ref: ref('other') }), true, 'ignore'],
    ['matching orphan: adopt', owner(), obj(), true, 'adopt'],
    ['orphan not matching: ignore', owner(), obj(), false, 'ignore'],
    ['orphan being deleted: ignore', owner(), obj({ deleting: true }), true, 'ignore'],
    ['orphan while the owner is being deleted: ignore', owner({ deleting: true }), obj(), true, 'ignore'],
    ['orphan in another namespace: ignore', owner(), obj({ ns: 'other' }), true, 'ignore'],
  ])('%s', (_what, o, p, matches, want) => {
    expect(claimDecision(o, p, matches)).toBe(want);
  });

  it('adopts and releases with strategic merge patches keyed by uid', () => {
    expect(adoptPatch(ref('rc-1'), 'p-1')).toEqual({ metadata: { ownerReferences: [ref('rc-1')], uid: 'p-1' } });
    expect(releasePatch('rc-1', 'p-1')).toEqual({ metadata: { ownerReferences: [{ $patch: 'delete', uid: 'rc-1' }], uid: 'p-1' } });
  });
});

/** A pod control that records what it was asked; creates fail once `failAfter` succeeded. */
class FakePodControl implements PodControl {
  created: Pod[] = [];
  deleted: string[] = [];
  patched: { name: string; patch: unknown }[] = [];
  attempts = 0;
  constructor(private failAfter = Infinity) {}
  async createPod(namespace: string, template: PodTemplateSpec, o: KubeObject, r: OwnerReference): Promise<Pod> {
    this.attempts++;
    if (this.created.length >= this.failAfter) throw new Error('pods "web-" is forbidden: exceeded quota');
    const p: Pod = { metadata: { name: `${o.metadata.name}-${this.created.length}`, namespace, labels: template.metadata?.labels ?? {}, ownerReferences: [r] }, spec: template.spec! };
    this.created.push(p);
    return p;
  }
  async deletePod(_ns: string, name: string): Promise<void> {
    this.deleted.push(name);
  }
  async patchPod(_ns: string, name: string, patch: unknown): Promise<void> {
    this.patched.push({ name, patch });
  }
}

const noClient: ListWatchClient = {
  list: async () => ({ metadata: {}, items: [] }),
  // eslint-disable-next-line require-yield
  watch: async function* () {
    return;
  },
} as unknown as ListWatchClient;

function setup(replicas: number, pods: Pod[] = [], failAfter?: number, status: ReplicationController['status'] = { replicas: 0 }) {
  const rcs = new Informer<ReplicationController>(noClient, 'replicationcontrollers');
  const podInf = new Informer<Pod>(noClient, 'pods');
  const rc: ReplicationController = {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'web', namespace: 'ns', uid: 'rc-1', generation: 1, resourceVersion: '5' },
    spec: { replicas, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c' }] } } },
    status,
  };
  rcs.indexer.set(rc);
  for (const p of pods) podInf.indexer.set(p);
  const control = new FakePodControl(failAfter);
  const statuses: unknown[] = [];
  const client = {
    get: async () => rc,
    updateStatus: async (_r: string, o: KubeObject) => {
      statuses.push((o as ReplicationController).status);
      return o;
    },
  };
  const m = new ReplicationManager({ rcs, pods: podInf, client: client as never, podControl: control, workers: 1, log: createLogger('test', { level: 'silent' }), now: () => 0 });
  return { m, control, statuses, podInf };
}

const mine = (name: string, o: { labels?: Record<string, string>; orphan?: boolean } = {}): Pod => ({
  metadata: { name, namespace: 'ns', uid: `u-${name}`, labels: o.labels ?? { app: 'web' }, ...(o.orphan ? {} : { ownerReferences: [ref('rc-1')] }) },
  spec: { containers: [{ name: 'c' }], nodeName: 'n1' },
  status: { phase: 'Running' },
});

describe('ReplicationManager.syncReplicationController', () => {
  it('creates the missing pods in slow-start batches and, with a stale cache, never creates them twice', async () => {
    const { m, control } = setup(7);
    await m.syncReplicationController('ns/web');
    expect(control.created).toHaveLength(7);
    // The informer has seen none of them yet: the second sync must not create again.
    await m.syncReplicationController('ns/web');
    expect(control.created).toHaveLength(7);
    expect(m.expectations.pending('ns/web')).toEqual({ add: 7, del: 0 });
  });

  it('stops after the first failing batch and lowers the expectations by what was skipped', async () => {
    const { m, control, statuses } = setup(10, [], 3);
    await expect(m.syncReplicationController('ns/web')).rejects.toThrow('exceeded quota');
    // Batches 1 and 2 succeed (3 pods); batch 3 (4 pods) fails; the last batch (3) is never tried.
    expect(control.created).toHaveLength(3);
    expect(m.expectations.pending('ns/web')).toEqual({ add: 3, del: 0 });
    expect(statuses.at(-1)).toEqual(expect.objectContaining({ conditions: [expect.objectContaining({ type: 'ReplicaFailure', reason: 'FailedCreate' })] }));
  });

  it('carries the slow start on from the pods it already has, and starts from 1 again while its creates fail', async () => {
    const four = ['a', 'b', 'c', 'd'].map((n) => mine(n));
    // Four pods prove the template: the first batch is 4 (all fail here), not 1.
    const grown = setup(10, four, 0);
    await expect(grown.m.syncReplicationController('ns/web')).rejects.toThrow('exceeded quota');
    expect(grown.control.attempts).toBe(4);
    const failure = { type: 'ReplicaFailure', status: 'True' as const, reason: 'FailedCreate', message: 'exceeded quota' };
    const failing = setup(10, four, 0, { replicas: 4, conditions: [failure] });
    await expect(failing.m.syncReplicationController('ns/web')).rejects.toThrow('exceeded quota');
    expect(failing.control.attempts).toBe(1);
  });

  it('adopts a matching orphan, releases a pod whose labels stopped matching, and counts only what it controls', async () => {
    const { m, control, statuses } = setup(2, [mine('a'), mine('orphan', { orphan: true }), mine('relabeled', { labels: { app: 'other' } })]);
    await m.syncReplicationController('ns/web');
    expect(control.patched).toEqual([
      { name: 'orphan', patch: adoptPatch(expect.objectContaining({ uid: 'rc-1', controller: true }) as never, 'u-orphan') },
      { name: 'relabeled', patch: releasePatch('rc-1', 'u-relabeled') },
    ]);
    expect(control.created).toHaveLength(0);
    expect(statuses.at(-1)).toEqual({ replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 0, availableReplicas: 0, observedGeneration: 1 });
  });

  it('deletes the surplus, ignoring terminating pods, and waits for the deletions to be observed', async () => {
    const terminating = { ...mine('t'), metadata: { ...mine('t').metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    const { m, control } = setup(1, [mine('a'), mine('b'), mine('c'), terminating]);
    await m.syncReplicationController('ns/web');
    expect(control.deleted).toHaveLength(2);
    expect(control.deleted).not.toContain('t');
    await m.syncReplicationController('ns/web');
    expect(control.deleted).toHaveLength(2);
  });
});
