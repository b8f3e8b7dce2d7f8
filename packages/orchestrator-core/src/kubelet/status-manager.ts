import { isNotFound, type ApiClient, type Pod, type PodStatus } from '@pilot/api';
import { sleep, type Logger } from '@pilot/common';
import { podStatusEqual } from './pod-status.js';

/**
 * The kubelet's status manager (pkg/kubelet/status): the one writer of
 * `pods/<name>/status`. Pod workers hand it the status they computed;
 * it writes only what differs from what the API holds (so a restarted
 * kubelet adopting running pods writes nothing), one write at a time per
 * pod with the newest status, and retries failed writes every
 * `syncPeriodMs` (10 s upstream). Once a pod being deleted has no running
 * containers, it deletes the API object with grace 0 (canBeDeleted).
 *
 * A static pod's status goes to its mirror pod (`apiPod` gives that one);
 * while it has none — no apiserver yet, or the mirror was just deleted —
 * the status waits, and `resend` writes it once a new mirror exists.
 */

export type StatusClient = Pick<ApiClient, 'patchStatus' | 'delete'>;

export interface StatusManagerOptions {
  client: StatusClient;
  log: Logger;
  /** The pod as the API last showed it (the kubelet's informer); for a static pod, its mirror pod. */
  apiPod(uid: string): Pod | undefined;
  /** Whether the uid is a static pod's (no API object of its own). */
  isStatic?(uid: string): boolean;
  syncPeriodMs?: number;
}

interface Entry {
  pod: Pod;
  status: PodStatus;
  /** The status last written successfully. */
  written?: PodStatus;
  writing: boolean;
  dirty: boolean;
  /** Delete the API object once written (terminated while being deleted). */
  deleteWhenDone: boolean;
  deleted: boolean;
}

export class StatusManager {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly o: StatusManagerOptions) {}

  /** The newest status computed for the pod (what /pods and the next sync see). */
  getPodStatus(uid: string): PodStatus | undefined {
    return this.entries.get(uid)?.status;
  }

  /** The status computed last, else the API's (a static pod's: its mirror pod's). */
  lastKnownStatus(uid: string): PodStatus | undefined {
    return this.entries.get(uid)?.status ?? this.o.apiPod(uid)?.status;
  }

  setPodStatus(pod: Pod, status: PodStatus): void {
    const uid = pod.metadata.uid!;
    let e = this.entries.get(uid);
    if (!e) {
      e = { pod, status, writing: false, dirty: false, deleteWhenDone: false, deleted: false };
      this.entries.set(uid, e);
    }
    e.pod = pod;
    e.status = status;
    const current = e.written ?? this.o.apiPod(uid)?.status ?? pod.status;
    if (podStatusEqual(current, status) && !e.deleteWhenDone) return;
    e.dirty = true;
    this.kick(uid, e);
  }

  /** The pod is terminated and was being deleted: delete the API object (grace 0) after the final status. */
  terminated(pod: Pod): void {
    const e = this.entries.get(pod.metadata.uid!);
    if (!e || !pod.metadata.deletionTimestamp) return;
    e.deleteWhenDone = true;
    e.dirty = true;
    this.kick(pod.metadata.uid!, e);
  }

  /** A static pod got a new mirror pod: write its status there, whatever was written before. */
  resend(uid: string): void {
    const e = this.entries.get(uid);
    if (!e) return;
    delete e.written;
    e.dirty = true;
    this.kick(uid, e);
  }

  /** The pod is gone from the API: forget it. */
  removePod(uid: string): void {
    this.entries.delete(uid);
  }

  private kick(uid: string, e: Entry): void {
    if (e.writing) return;
    e.writing = true;
    const p = this.flush(uid, e).finally(() => {
      e.writing = false;
      this.inflight.delete(p);
    });
    this.inflight.add(p);
  }

  private async flush(uid: string, e: Entry): Promise<void> {
    while (e.dirty && !e.deleted) {
      e.dirty = false;
      const status = e.status;
      const { name, namespace } = e.pod.metadata;
      const isStatic = this.o.isStatic?.(uid) ?? false;
      if (isStatic && !this.o.apiPod(uid)) {
        // No mirror pod to write to yet: resend() or the periodic retry writes it.
        e.dirty = true;
        return;
      }
      try {
        const current = e.written ?? this.o.apiPod(uid)?.status;
        if (!podStatusEqual(current, status)) {
          await this.o.client.patchStatus('pods', name!, { status: { ...status, reason: status.reason ?? null, message: status.message ?? null } }, 'merge', { namespace: namespace! });
          e.written = status;
          this.o.log.debug({ pod: `${namespace}/${name}`, phase: status.phase }, 'pod status written');
        }
        if (e.deleteWhenDone) {
          await this.o.client.delete('pods', name!, { namespace: namespace!, gracePeriodSeconds: 0, preconditions: { uid } });
          e.deleted = true;
          this.o.log.info({ pod: `${namespace}/${name}` }, 'pod deleted from the API after its containers stopped');
        }
      } catch (err) {
        if (isNotFound(err)) {
          // A static pod outlives its mirror pod (deleted through the API; the kubelet makes a new one).
          if (isStatic) {
            delete e.written;
            e.dirty = true;
          } else e.deleted = true;
          return;
        }
        this.o.log.info({ pod: `${namespace}/${name}`, err: (err as Error).message }, 'writing pod status failed; will retry');
        e.dirty = true;
        return;
      }
    }
  }

  /** Retries what failed, every syncPeriodMs, until the signal aborts (syncBatch). */
  async run(signal: AbortSignal): Promise<void> {
    const period = this.o.syncPeriodMs ?? 10_000;
    while (!signal.aborted) {
      await sleep(period, signal).catch(() => undefined);
      for (const [uid, e] of this.entries) if (e.dirty) this.kick(uid, e);
    }
  }

  /** Resolves when no write is in flight. */
  async drain(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }
}
