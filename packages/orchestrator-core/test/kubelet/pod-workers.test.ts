import type { Pod } from '@pilot/api';
import { createLogger } from '@pilot/common';
import { PodWorkers, type PodSyncer, type SyncPodOutcome, type UpdateType } from '../../src/kubelet/pod-workers.js';

const log = createLogger('test', { level: 'silent' });
const pod = (uid: string, extra: Partial<Pod['metadata']> = {}): Pod => ({ metadata: { name: `p-${uid}`, namespace: 'ns', uid, ...extra }, spec: { containers: [{ name: 'c' }] } });

class FakeSyncer implements PodSyncer {
  calls: string[] = [];
  outcome: SyncPodOutcome = { terminal: false };
  fail = 0;
  gate: Promise<void> | undefined;
  async syncPod(type: UpdateType, p: Pod): Promise<SyncPodOutcome> {
    this.calls.push(`sync:${type}:${p.metadata.uid}`);
    if (this.gate) await this.gate;
    if (this.fail > 0) {
      this.fail--;
      throw new Error('docker down');
    }
    return this.outcome;
  }
  async syncTerminatingPod(p: Pod, grace: number | undefined): Promise<void> {
    this.calls.push(`terminating:${p.metadata.uid}:${grace}`);
  }
  async syncTerminatedPod(p: Pod): Promise<void> {
    this.calls.push(`terminated:${p.metadata.uid}`);
  }
}

function setup() {
  const syncer = new FakeSyncer();
  const queued: Array<[string, number]> = [];
  const w = new PodWorkers({ syncer, queue: { enqueue: (uid, ms) => queued.push([uid, ms]) }, log, resyncIntervalMs: 60_000, backOffPeriodMs: 10_000 });
  return { syncer, queued, w };
}

describe('pod workers', () => {
  it('syncs a new pod and requeues it after the resync interval (or sooner when the sync asks)', async () => {
    const { syncer, queued, w } = setup();
    w.updatePod({ type: 'create', pod: pod('a') });
    await w.drain();
    expect(syncer.calls).toEqual(['sync:create:a']);
    expect(queued).toEqual([['a', 60_000]]);
    syncer.outcome = { terminal: false, requeueAfterMs: 1_500 };
    w.updatePod({ type: 'sync', pod: pod('a') });
    await w.drain();
    expect(queued[1]).toEqual(['a', 1_500]);
    expect(w.stateOf('a')).toBe('syncing');
  });

  it('runs one sync at a time per pod and coalesces updates that arrive meanwhile into the newest', async () => {
    const { syncer, w } = setup();
    let open!: () => void;
    syncer.gate = new Promise((r) => (open = r));
    w.updatePod({ type: 'create', pod: pod('a') });
    w.updatePod({ type: 'update', pod: pod('a') });
    w.updatePod({ type: 'sync', pod: pod('a') });
    w.updatePod({ type: 'create', pod: pod('b') });
    expect(syncer.calls).toEqual(['sync:create:a', 'sync:create:b']);
    open();
    syncer.gate = undefined;
    await w.drain();
    expect(syncer.calls).toEqual(['sync:create:a', 'sync:create:b', 'sync:sync:a']);
  });

  it('retries a failed sync after the back-off period', async () => {
    const { syncer, queued, w } = setup();
    syncer.fail = 1;
    w.updatePod({ type: 'create', pod: pod('a') });
    await w.drain();
    expect(queued).toEqual([['a', 10_000]]);
  });

  it('terminates a pod being deleted with its grace period, then finishes it once; updates after that are ignored', async () => {
    const { syncer, w } = setup();
    w.updatePod({ type: 'create', pod: pod('a') });
    await w.drain();
    w.updatePod({ type: 'update', pod: pod('a', { deletionTimestamp: '2026-12-02T12:00:30Z', deletionGracePeriodSeconds: 30 }) });
    expect(w.isPodTerminationRequested('a')).toBe(true);
    await w.drain();
    expect(syncer.calls).toEqual(['sync:create:a', 'terminating:a:30', 'terminated:a']);
    expect(w.stateOf('a')).toBe('finished');
    expect(w.isPodTerminated('a')).toBe(true);
    w.updatePod({ type: 'update', pod: pod('a') });
    await w.drain();
    expect(syncer.calls.length).toBe(3);
  });

  it('a second kill may shorten the grace period, never lengthen it', async () => {
    const { syncer, w } = setup();
    let open!: () => void;
    syncer.gate = new Promise((r) => (open = r));
    w.updatePod({ type: 'create', pod: pod('a') });
    w.updatePod({ type: 'kill', pod: pod('a'), gracePeriodSeconds: 20 });
    w.updatePod({ type: 'kill', pod: pod('a'), gracePeriodSeconds: 5 });
    w.updatePod({ type: 'kill', pod: pod('a'), gracePeriodSeconds: 40 });
    open();
    syncer.gate = undefined;
    await w.drain();
    expect(syncer.calls).toEqual(['sync:create:a', 'terminating:a:5', 'terminated:a']);
  });

  it('a pod that finished on its own and is deleted afterwards (kubectl run --rm) goes through SyncTerminatedPod once more, then never again', async () => {
    const { syncer, w } = setup();
    syncer.outcome = { terminal: true };
    w.updatePod({ type: 'create', pod: pod('a') });
    await w.drain();
    expect(w.stateOf('a')).toBe('finished');
    const deleting = pod('a', { deletionTimestamp: '2026-12-02T12:00:30Z', deletionGracePeriodSeconds: 30 });
    w.updatePod({ type: 'update', pod: deleting });
    await w.drain();
    expect(syncer.calls).toEqual(['sync:create:a', 'terminating:a:undefined', 'terminated:a', 'terminated:a']);
    w.updatePod({ type: 'update', pod: deleting });
    w.updatePod({ type: 'kill', pod: deleting });
    await w.drain();
    expect(syncer.calls.length).toBe(4);
    expect(w.stateOf('a')).toBe('finished');
  });

  it('goes from a terminal SyncPod (Succeeded/Failed) to terminating and terminated by itself', async () => {
    const { syncer, w } = setup();
    syncer.outcome = { terminal: true };
    w.updatePod({ type: 'create', pod: pod('a') });
    await w.drain();
    expect(syncer.calls).toEqual(['sync:create:a', 'terminating:a:undefined', 'terminated:a']);
  });

  it('terminates pods that left the desired set and forgets them once finished', async () => {
    const { syncer, w } = setup();
    w.updatePod({ type: 'create', pod: pod('a') });
    w.updatePod({ type: 'create', pod: pod('b') });
    await w.drain();
    expect(w.syncKnownPods(new Set(['b']))).toEqual([]);
    await w.drain();
    expect(syncer.calls).toContain('terminated:a');
    expect(w.syncKnownPods(new Set(['b']))).toEqual(['a']);
    expect(w.knownUids()).toEqual(['b']);
  });
});
