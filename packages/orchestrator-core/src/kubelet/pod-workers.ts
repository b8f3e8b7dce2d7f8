import type { Pod } from '@pilot/api';
import type { Logger } from '@pilot/common';

/**
 * One serialized worker per pod UID (pkg/kubelet/pod_workers.go): every
 * change to a pod — from the API, from the PLEG, from the resync — becomes
 * an UpdatePod, and a pod's worker runs one sync at a time with the newest
 * update, so a slow image pull of one pod never delays another and two syncs
 * of one pod never race. Each pod moves one way through:
 *
 *   syncing      SyncPod until it is terminal (all containers done and none
 *                will restart) or its termination is requested (deletion,
 *                removal from the API, a kill);
 *   terminating  SyncTerminatingPod: stop the containers within the grace
 *                period (a later kill may shorten it, never lengthen it);
 *   terminated   SyncTerminatedPod once: final status, and the API object
 *                is deleted when it was being deleted (a pod that finished
 *                on its own and is deleted later — `kubectl run --rm` deletes
 *                right after the container exits — goes through it once more,
 *                so its API object does not wait forever with a
 *                deletionTimestamp; upstream's status manager does the same
 *                through canBeDeleted);
 *   finished     nothing runs; the worker is forgotten once the pod has left
 *                the desired set (SyncKnownPods) and its containers are removed.
 *
 * A failed sync is retried through the work queue after a back-off; a
 * successful one after the resync interval (or earlier when it asks).
 */

export type UpdateType = 'create' | 'update' | 'sync' | 'kill';

export interface UpdatePodOptions {
  type: UpdateType;
  pod: Pod;
  /** kill: the grace period to stop containers with (default: the pod's). */
  gracePeriodSeconds?: number;
}

export interface SyncPodOutcome {
  /** The pod has finished (Succeeded/Failed): it goes on to terminating. */
  terminal: boolean;
  /** Sync again after this long (a back-off ending); default: the resync interval. */
  requeueAfterMs?: number;
}

/** What the kubelet does for each state (kubelet.go SyncPod, SyncTerminatingPod, SyncTerminatedPod). */
export interface PodSyncer {
  syncPod(type: UpdateType, pod: Pod): Promise<SyncPodOutcome>;
  syncTerminatingPod(pod: Pod, gracePeriodSeconds: number | undefined): Promise<void>;
  syncTerminatedPod(pod: Pod): Promise<void>;
}

export interface WorkQueue {
  enqueue(uid: string, delayMs: number): void;
}

export type PodWorkerState = 'syncing' | 'terminating' | 'terminated' | 'finished';

interface PodSyncStatus {
  state: PodWorkerState;
  pod: Pod;
  pending: UpdatePodOptions | undefined;
  working: boolean;
  /** The grace period termination was requested with (the shortest asked for). */
  gracePeriodSeconds: number | undefined;
  /** The pod left the API / config (no more updates will come). */
  deleted: boolean;
  /** SyncTerminatedPod ran with the pod's deletionTimestamp set (its API object is being deleted). */
  terminatedDeleting: boolean;
  /** Resolves when the worker goes idle. */
  idle: Promise<void>;
}

export interface PodWorkersOptions {
  syncer: PodSyncer;
  queue: WorkQueue;
  log: Logger;
  /** Sync a healthy pod again after this long (upstream syncFrequency, 1 min). */
  resyncIntervalMs: number;
  /** Retry a failed sync after this long (upstream backOffPeriod, 10 s). */
  backOffPeriodMs: number;
}

function terminationRequested(o: UpdatePodOptions): boolean {
  return o.type === 'kill' || !!o.pod.metadata.deletionTimestamp;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

export class PodWorkers {
  private readonly pods = new Map<string, PodSyncStatus>();

  constructor(private readonly o: PodWorkersOptions) {}

  /** Hands the worker of the pod its newest update (starting the worker when idle). */
  updatePod(options: UpdatePodOptions): void {
    const uid = options.pod.metadata.uid!;
    let st = this.pods.get(uid);
    if (!st) {
      st = { state: 'syncing', pod: options.pod, pending: undefined, working: false, gracePeriodSeconds: undefined, deleted: false, terminatedDeleting: false, idle: Promise.resolve() };
      this.pods.set(uid, st);
    }
    st.pod = options.pod;
    if (terminationRequested(options)) {
      const requested = options.gracePeriodSeconds ?? options.pod.metadata.deletionGracePeriodSeconds ?? undefined;
      st.gracePeriodSeconds = minDefined(st.gracePeriodSeconds, requested);
      if (st.state === 'syncing') st.state = 'terminating';
    }
    if (st.state === 'finished') {
      if (!options.pod.metadata.deletionTimestamp || st.terminatedDeleting) return;
      st.state = 'terminated';
    }
    st.pending = options;
    if (!st.working) this.startWorker(uid, st);
  }

  /** The pod left the API: it is terminated (if it was not yet) and forgotten once finished. */
  markDeleted(pod: Pod): void {
    const st = this.pods.get(pod.metadata.uid!);
    if (st) st.deleted = true;
    this.updatePod({ type: 'kill', pod });
  }

  private startWorker(uid: string, st: PodSyncStatus): void {
    st.working = true;
    st.idle = this.work(uid, st).finally(() => {
      st.working = false;
    });
  }

  private async work(uid: string, st: PodSyncStatus): Promise<void> {
    while (st.pending) {
      const update = st.pending;
      st.pending = undefined;
      let requeueMs: number | undefined = this.o.resyncIntervalMs;
      try {
        switch (st.state) {
          case 'syncing': {
            const out = await this.o.syncer.syncPod(update.type, st.pod);
            if (out.terminal && st.state === 'syncing') {
              st.state = 'terminating';
              st.pending ??= { type: 'sync', pod: st.pod };
            }
            if (out.requeueAfterMs !== undefined) requeueMs = Math.min(requeueMs, out.requeueAfterMs);
            break;
          }
          case 'terminating':
            await this.o.syncer.syncTerminatingPod(st.pod, st.gracePeriodSeconds);
            st.state = 'terminated';
            st.pending ??= { type: 'sync', pod: st.pod };
            break;
          case 'terminated':
            if (st.pod.metadata.deletionTimestamp) st.terminatedDeleting = true;
            await this.o.syncer.syncTerminatedPod(st.pod);
            st.state = 'finished';
            requeueMs = undefined;
            break;
          case 'finished':
            requeueMs = undefined;
            break;
        }
      } catch (err) {
        this.o.log.info({ pod: `${st.pod.metadata.namespace}/${st.pod.metadata.name}`, uid, state: st.state, err: (err as Error).message }, 'pod sync failed; will retry');
        requeueMs = this.o.backOffPeriodMs;
      }
      if (requeueMs !== undefined && !st.pending) this.o.queue.enqueue(uid, requeueMs);
    }
  }

  stateOf(uid: string): PodWorkerState | undefined {
    return this.pods.get(uid)?.state;
  }

  /** Whether the kubelet is done with the pod's containers (terminated or finished, or never seen). */
  isPodTerminated(uid: string): boolean {
    const s = this.pods.get(uid)?.state;
    return s === undefined || s === 'terminated' || s === 'finished';
  }

  isPodTerminationRequested(uid: string): boolean {
    const s = this.pods.get(uid)?.state;
    return s !== undefined && s !== 'syncing';
  }

  /** The pod a worker knows for the uid (the newest update). */
  podOf(uid: string): Pod | undefined {
    return this.pods.get(uid)?.pod;
  }

  knownUids(): string[] {
    return [...this.pods.keys()];
  }

  /**
   * Housekeeping (SyncKnownPods): workers of pods outside `desired` are
   * terminated; finished ones are forgotten, and their uids returned so the
   * kubelet removes what is left of them in the runtime.
   */
  syncKnownPods(desired: ReadonlySet<string>): string[] {
    const forgotten: string[] = [];
    for (const [uid, st] of this.pods) {
      if (desired.has(uid)) continue;
      if (st.state === 'finished' && !st.working) {
        this.pods.delete(uid);
        forgotten.push(uid);
      } else if (st.state === 'syncing') {
        this.updatePod({ type: 'kill', pod: st.pod });
      }
    }
    return forgotten;
  }

  /** Resolves when every worker is idle (tests; the kubelet's stop). */
  async drain(): Promise<void> {
    for (;;) {
      const busy = [...this.pods.values()].filter((s) => s.working);
      if (!busy.length) return;
      await Promise.all(busy.map((s) => s.idle));
    }
  }
}
