import type { EventRecorder, Pod } from '@pilot/api';
import { sleep, type Logger } from '@pilot/common';
import { isStaticPod } from './config/file.js';
import type { PodSource, PodUpdate } from './config/source.js';
import { formatPod } from './container.js';
import type { RuntimeManager } from './kuberuntime/manager.js';
import type { Pleg, PodLifecycleEvent } from './pleg.js';
import type { ProbeManager } from './prober/manager.js';
import { generateAPIPodStatus, type StartFailure } from './pod-status.js';
import { PodWorkers, type PodSyncer, type SyncPodOutcome, type UpdateType } from './pod-workers.js';
import type { ContainerRuntime } from './runtime/runtime.js';
import type { StatusManager } from './status-manager.js';

/**
 * The kubelet's core (pkg/kubelet/kubelet.go): the syncLoop and the three
 * syncs the pod workers run.
 *
 *   syncLoop    one iteration per event, in arrival order:
 *                 config   ADD / UPDATE / REMOVE from the apiserver and the
 *                          static pod files                                → pod workers
 *                 pleg     a container started or died                      → sync that pod
 *                 sync     every second: pods whose requeue time came       → sync them
 *                 cleanup  every 2 s: pods that left the API, containers of
 *                          pods nobody knows (a kubelet restart)           → terminate, remove
 *   SyncPod             runtime state → API status (status manager), then the
 *                       runtime manager's actions (sandbox, pulls, starts, back-off)
 *   SyncTerminatingPod  stop the containers within the grace period
 *   SyncTerminatedPod   final status; the API object is deleted if it was being deleted
 *
 * A restarted kubelet finds its running containers by their labels: the
 * first SyncPod of each pod plans nothing for them, so they keep running.
 */

export interface KubeletOptions {
  nodeName: string;
  hostIp(): string;
  runtime: ContainerRuntime;
  runtimeManager: RuntimeManager;
  statusManager: StatusManager;
  /** Every pod source merged: the apiserver's pods and the static pods (config/source.ts). */
  source: PodSource;
  pleg: Pleg;
  /** Liveness, readiness and startup probes (none: every running container is ready). */
  prober?: ProbeManager;
  recorder: EventRecorder;
  log: Logger;
  resyncIntervalMs: number;
  backOffPeriodMs: number;
  housekeepingIntervalMs?: number;
}

type LoopEvent = { kind: 'config'; update: PodUpdate } | { kind: 'pleg'; event: PodLifecycleEvent } | { kind: 'probe'; uid: string } | { kind: 'sync' } | { kind: 'housekeeping' };

/** An unbounded FIFO with one async reader (the syncLoop's select). */
class LoopChannel {
  private readonly items: LoopEvent[] = [];
  private waiter: (() => void) | undefined;

  push(e: LoopEvent): void {
    this.items.push(e);
    this.waiter?.();
    this.waiter = undefined;
  }

  /** Wakes the reader (it then sees the aborted signal). */
  wake(): void {
    this.waiter?.();
    this.waiter = undefined;
  }

  async next(signal: AbortSignal): Promise<LoopEvent | undefined> {
    while (!this.items.length) {
      if (signal.aborted) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    return this.items.shift();
  }
}

export class Kubelet implements PodSyncer {
  readonly podWorkers: PodWorkers;
  private readonly channel = new LoopChannel();
  /** When each pod is due for its next sync (the kubelet's work queue). */
  private readonly due = new Map<string, number>();
  /** Why the last start of each container failed, by pod uid (reasonCache). */
  private readonly reasons = new Map<string, Map<string, StartFailure>>();

  constructor(private readonly o: KubeletOptions) {
    this.podWorkers = new PodWorkers({
      syncer: this,
      queue: { enqueue: (uid, ms) => this.due.set(uid, Math.min(this.due.get(uid) ?? Infinity, Date.now() + ms)) },
      log: o.log,
      resyncIntervalMs: o.resyncIntervalMs,
      backOffPeriodMs: o.backOffPeriodMs,
    });
  }

  /** The source's and the PLEG's callbacks. */
  onPodUpdate = (update: PodUpdate): void => this.channel.push({ kind: 'config', update });
  onPlegEvent = (event: PodLifecycleEvent): void => this.channel.push({ kind: 'pleg', event });
  /** A probe result changed (readiness → status; liveness failure → restart). */
  onProbeResult = (uid: string): void => this.channel.push({ kind: 'probe', uid });

  /** Runs until the signal aborts. */
  async syncLoop(signal: AbortSignal): Promise<void> {
    const tick = async (kind: 'sync' | 'housekeeping', ms: number) => {
      while (!signal.aborted) {
        await sleep(ms, signal).catch(() => undefined);
        if (!signal.aborted) this.channel.push({ kind });
      }
    };
    signal.addEventListener('abort', () => this.channel.wake(), { once: true });
    const tickers = Promise.all([tick('sync', 1_000), tick('housekeeping', this.o.housekeepingIntervalMs ?? 2_000)]);
    for (;;) {
      const e = await this.channel.next(signal);
      if (!e) break;
      try {
        await this.syncLoopIteration(e);
      } catch (err) {
        this.o.log.error({ err: (err as Error).message, event: e.kind }, 'sync loop iteration failed');
      }
    }
    await tickers;
    await this.podWorkers.drain();
  }

  private async syncLoopIteration(e: LoopEvent): Promise<void> {
    switch (e.kind) {
      case 'config':
        return this.handleConfig(e.update);
      case 'pleg':
      case 'probe': {
        const pod = this.o.source.get(e.kind === 'pleg' ? e.event.id : e.uid);
        if (pod) this.dispatchWork(pod, 'sync');
        return;
      }
      case 'sync': {
        const now = Date.now();
        for (const [uid, at] of this.due) {
          if (at > now) continue;
          this.due.delete(uid);
          const pod = this.o.source.get(uid) ?? this.podWorkers.podOf(uid);
          if (pod) this.dispatchWork(pod, 'sync');
        }
        return;
      }
      case 'housekeeping':
        return this.handlePodCleanups();
    }
  }

  private handleConfig(u: PodUpdate): void {
    switch (u.op) {
      case 'ADD':
        // HandlePodAdditions: oldest first.
        for (const pod of [...u.pods].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''))) this.dispatchWork(pod, 'create');
        return;
      case 'UPDATE':
        for (const pod of u.pods) this.dispatchWork(pod, 'update');
        return;
      case 'REMOVE':
        for (const pod of u.pods) this.podWorkers.markDeleted(pod);
        return;
    }
  }

  private dispatchWork(pod: Pod, type: UpdateType): void {
    this.podWorkers.updatePod({ type, pod });
  }

  /**
   * HandlePodCleanups: forgets finished workers of pods that left the API and
   * removes their containers; terminates containers of pods nobody knows
   * (deleted while the kubelet was down). Only after the source listed once,
   * so a restarting kubelet never kills a pod it has not heard of yet.
   */
  async handlePodCleanups(): Promise<void> {
    if (!this.o.source.hasSynced()) return;
    const desired = new Set(this.o.source.list().map((p) => p.metadata.uid!));
    for (const uid of this.podWorkers.syncKnownPods(desired)) {
      await this.o.runtimeManager.removePod(uid).catch((err: unknown) => this.o.log.warn({ uid, err: (err as Error).message }, 'removing the containers of a deleted pod failed'));
      this.o.statusManager.removePod(uid);
      this.reasons.delete(uid);
      this.due.delete(uid);
    }
    const known = new Set([...desired, ...this.podWorkers.knownUids()]);
    const sandboxes = await this.o.runtime.listPodSandbox().catch(() => []);
    for (const s of sandboxes) {
      const uid = s.metadata.uid;
      if (!uid || known.has(uid)) continue;
      known.add(uid);
      this.o.log.info({ pod: `${s.metadata.namespace}/${s.metadata.name}`, uid }, 'containers of a pod the API no longer has: stopping and removing them');
      const orphan: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { uid, name: s.metadata.name, namespace: s.metadata.namespace }, spec: { containers: [] } };
      this.podWorkers.markDeleted(orphan);
    }
  }

  // ------------------------------------------------------------ the syncs

  private reasonsOf(uid: string): Map<string, StartFailure> {
    let r = this.reasons.get(uid);
    if (!r) this.reasons.set(uid, (r = new Map()));
    return r;
  }

  private readinessOf(pod: Pod): ((name: string, id: string) => boolean | undefined) | undefined {
    const prober = this.o.prober;
    return prober ? (name, id) => prober.readiness(pod, name, id) : undefined;
  }

  /**
   * The pod as its next status is computed from: the newest API view, whose
   * status carries the start and transition times to keep. A static pod has
   * no API object: its last computed status, else its mirror pod's.
   */
  private currentOf(uid: string, pod: Pod): Pod {
    const current = this.o.source.get(uid) ?? pod;
    if (!isStaticPod(current)) return current;
    const status = this.o.statusManager.lastKnownStatus(uid);
    return status ? { ...current, status } : current;
  }

  private async updateStatus(pod: Pod, podIsTerminal: boolean): Promise<ReturnType<typeof generateAPIPodStatus>> {
    const uid = pod.metadata.uid!;
    const runtime = await this.o.runtimeManager.getPodStatus(uid, pod.metadata.name!, pod.metadata.namespace!);
    const current = this.currentOf(uid, pod);
    const status = generateAPIPodStatus({ pod: current, runtime, reasons: this.reasonsOf(uid), readiness: this.readinessOf(current), hostIp: this.o.hostIp(), now: new Date(), podIsTerminal });
    // Only pods a source still has get a status (an orphan's name may belong to a new pod by now).
    if (this.o.source.get(uid)) this.o.statusManager.setPodStatus(current, status);
    return status;
  }

  async syncPod(_type: UpdateType, pod: Pod): Promise<SyncPodOutcome> {
    const uid = pod.metadata.uid!;
    const runtime = await this.o.runtimeManager.getPodStatus(uid, pod.metadata.name!, pod.metadata.namespace!);
    const current = this.currentOf(uid, pod);
    this.o.prober?.addPod(current);
    const status = generateAPIPodStatus({ pod: current, runtime, reasons: this.reasonsOf(uid), readiness: this.readinessOf(current), hostIp: this.o.hostIp(), now: new Date() });
    this.o.statusManager.setPodStatus(current, status);
    if (status.phase === 'Succeeded' || status.phase === 'Failed') return { terminal: true };

    const prober = this.o.prober;
    const result = await this.o.runtimeManager.syncPod(current, runtime, prober ? (id) => prober.liveness(id) : undefined);
    const reasons = this.reasonsOf(uid);
    let reasonsChanged = false;
    for (const name of result.started) reasonsChanged = reasons.delete(name) || reasonsChanged;
    for (const [name, f] of result.failures) {
      const prev = reasons.get(name);
      if (prev?.reason !== f.reason || prev.message !== f.message) reasonsChanged = true;
      reasons.set(name, f);
    }
    if (result.changed || reasonsChanged) {
      const after = await this.updateStatus(current, false);
      if (after.phase === 'Succeeded' || after.phase === 'Failed') return { terminal: true };
    }
    if (result.started.length) this.o.log.info({ pod: formatPod(current), started: result.started }, 'containers started');
    return { terminal: false, ...(result.requeueAfterMs !== undefined ? { requeueAfterMs: result.requeueAfterMs } : {}) };
  }

  async syncTerminatingPod(pod: Pod, gracePeriodSeconds: number | undefined): Promise<void> {
    const uid = pod.metadata.uid!;
    const runtime = await this.o.runtimeManager.getPodStatus(uid, pod.metadata.name!, pod.metadata.namespace!);
    const grace = gracePeriodSeconds ?? (pod.metadata.deletionTimestamp ? pod.metadata.deletionGracePeriodSeconds : undefined);
    this.o.prober?.removePod(uid);
    this.o.log.info({ pod: formatPod(pod), gracePeriodSeconds: this.o.runtimeManager.gracePeriodOf(pod, grace) }, 'stopping the pod');
    await this.o.runtimeManager.killPod(pod, runtime, grace);
    await this.updateStatus(pod, true);
  }

  async syncTerminatedPod(pod: Pod): Promise<void> {
    await this.updateStatus(pod, true);
    const current = this.o.source.get(pod.metadata.uid!);
    if (current) this.o.statusManager.terminated(current);
  }

  /** The pods this kubelet runs with their newest status (the kubelet API's /pods). */
  getPods(): Pod[] {
    return this.o.source.list().map((p) => {
      const status = this.o.statusManager.getPodStatus(p.metadata.uid!);
      return status ? { ...p, status } : p;
    });
  }
}
