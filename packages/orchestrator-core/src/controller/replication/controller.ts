/**
 * The replication controller (pkg/controller/replication, which is
 * replica_set.go behind a type adapter): keeps `spec.replicas` pods of each
 * ReplicationController.
 *
 * Handlers only enqueue RC keys and count what the informer observed against
 * the expectations; `syncReplicationController(key)` reads the RC and the
 * pods from the informer caches, claims the pods (adopting matching orphans,
 * releasing pods that stopped matching), and, once the expectations of its
 * last writes are met, lets the pure planner (replica-plan.ts) say how many
 * pods to create (in slow-start batches) or which to delete; then writes the
 * status through /status when it changed.
 */
import { hostname } from 'node:os';
import {
  controllerRefOf,
  isNamespaceTerminating,
  isNotFound,
  isPodActive,
  isPodReady,
  keyOf,
  labelSelectorFromSet,
  LabelSelector,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
  runWorkers,
  typeMetaFor,
  WorkQueue,
  type ApiClient,
  type Informer,
  type OwnerReference,
  type Pod,
  type ReplicationController,
  type ReplicationControllerStatus,
} from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Controller, ControllerFactory } from '../controller.js';
import { adoptPatch, claimDecision, releasePatch } from '../controller-ref.js';
import { Expectations } from '../expectations.js';
import { RealPodControl, type PodControl } from '../pod-control.js';
import { calculateStatus, controllerRef, planReplicas, slowStartBatches, statusEqual } from './replica-plan.js';

/** Pods indexed by the UID of their controller (upstream's controllerUIDIndex). */
export const CONTROLLER_UID_INDEX = 'controllerUID';
const RC_TYPE = typeMetaFor('replicationcontrollers');
/** One re-read and retry of a conflicting status write (upstream's statusUpdateRetries). */
const STATUS_UPDATE_RETRIES = 1;

export interface ReplicationManagerDeps {
  rcs: Informer<ReplicationController>;
  pods: Informer<Pod>;
  client: Pick<ApiClient, 'get' | 'updateStatus'>;
  podControl: PodControl;
  workers: number;
  log: Logger;
  now: () => number;
  burstReplicas?: number;
}

export class ReplicationManager implements Controller {
  readonly name = 'replicationcontroller';
  readonly queue = new WorkQueue<string>({ name: 'replicationmanager' });
  readonly expectations: Expectations;
  private readonly d: ReplicationManagerDeps;

  constructor(deps: ReplicationManagerDeps) {
    this.d = deps;
    this.expectations = new Expectations(deps.now);
    const pods = deps.pods.indexer;
    if (!pods.hasIndex(NAMESPACE_INDEX)) pods.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    if (!pods.hasIndex(CONTROLLER_UID_INDEX)) pods.addIndex(CONTROLLER_UID_INDEX, (p) => {
      const ref = controllerRefOf(p);
      return ref ? [ref.uid] : [];
    });
    if (!deps.rcs.indexer.hasIndex(NAMESPACE_INDEX)) deps.rcs.indexer.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    deps.rcs.addHandler({
      onAdd: (rc) => this.queue.add(keyOf(rc)),
      onUpdate: (_old, rc) => this.queue.add(keyOf(rc)),
      onDelete: (rc) => {
        this.expectations.delete(keyOf(rc));
        this.queue.add(keyOf(rc));
      },
    });
    deps.pods.addHandler({
      onAdd: (p) => this.addPod(p),
      onUpdate: (old, cur) => this.updatePod(old, cur),
      onDelete: (p) => this.deletePod(p),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await runWorkers(this.queue, this.d.workers, (key) => this.syncReplicationController(key), {
      signal,
      onError: (key, err) => this.d.log.warn({ rc: key, err: (err as Error).message }, 'sync failed; retrying'),
    });
  }

  // ---------------------------------------------------------------- handlers (enqueue only)

  private addPod(pod: Pod): void {
    if (pod.metadata.deletionTimestamp) return this.deletePod(pod);
    const ref = controllerRefOf(pod);
    if (ref) {
      const rc = this.resolveControllerRef(pod.metadata.namespace, ref);
      if (!rc) return;
      const key = keyOf(rc);
      this.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    for (const rc of this.podControllers(pod)) this.queue.add(keyOf(rc));
  }

  private updatePod(old: Pod, cur: Pod): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const labelChanged = !sameLabels(old.metadata.labels, cur.metadata.labels);
    if (cur.metadata.deletionTimestamp) {
      this.deletePod(cur);
      if (labelChanged) this.deletePod(old);
      return;
    }
    const curRef = controllerRefOf(cur);
    const oldRef = controllerRefOf(old);
    const refChanged = JSON.stringify(curRef) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) {
      const rc = this.resolveControllerRef(old.metadata.namespace, oldRef);
      if (rc) this.queue.add(keyOf(rc));
    }
    if (curRef) {
      const rc = this.resolveControllerRef(cur.metadata.namespace, curRef);
      if (!rc) return;
      this.queue.add(keyOf(rc));
      // Becoming available takes minReadySeconds: look again then.
      const minReady = rc.spec?.minReadySeconds ?? 0;
      if (minReady > 0 && !isPodReady(old) && isPodReady(cur)) this.queue.addAfter(keyOf(rc), (minReady + 1) * 1000);
      return;
    }
    if (labelChanged || refChanged) for (const rc of this.podControllers(cur)) this.queue.add(keyOf(rc));
  }

  private deletePod(pod: Pod): void {
    const ref = controllerRefOf(pod);
    if (!ref) return;
    const rc = this.resolveControllerRef(pod.metadata.namespace, ref);
    if (!rc) return;
    const key = keyOf(rc);
    this.expectations.deletionObserved(key, keyOf(pod));
    this.queue.add(key);
  }

  /** The RC a controller reference names, if it is one and still the same object. */
  private resolveControllerRef(namespace: string | undefined, ref: OwnerReference): ReplicationController | undefined {
    if (ref.kind !== RC_TYPE.kind) return undefined;
    const rc = this.d.rcs.indexer.getByName(namespace, ref.name);
    return rc && rc.metadata.uid === ref.uid ? rc : undefined;
  }

  /** RCs whose selector matches an orphan (GetPodControllers). */
  private podControllers(pod: Pod): ReplicationController[] {
    return this.d.rcs.indexer.byIndex(NAMESPACE_INDEX, pod.metadata.namespace ?? '').filter((rc) => rcSelector(rc).matches(pod.metadata.labels));
  }

  // ---------------------------------------------------------------- sync

  async syncReplicationController(key: string): Promise<void> {
    const cached = this.d.rcs.indexer.get(key);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const rc: ReplicationController = { ...cached, ...RC_TYPE };
    const needsSync = this.expectations.satisfied(key);
    const selector = rcSelector(rc);
    const active = this.d.pods.indexer.byIndex(NAMESPACE_INDEX, rc.metadata.namespace ?? '').filter(isPodActive);
    const pods = await this.claimPods(rc, selector, active);

    let manageError: Error | undefined;
    if (needsSync && !rc.metadata.deletionTimestamp) manageError = await this.manageReplicas(key, pods, rc).then(() => undefined, (err: unknown) => err as Error);

    const status = calculateStatus(rc, pods, manageError, this.d.now());
    await this.updateStatus(rc, status);
    const minReady = rc.spec?.minReadySeconds ?? 0;
    if (!manageError && minReady > 0 && status.readyReplicas === (rc.spec?.replicas ?? 1) && status.availableReplicas !== status.readyReplicas)
      this.queue.addAfter(key, minReady * 1000);
    if (manageError) throw manageError;
  }

  /** ClaimPods: the active pods this RC controls after adopting and releasing. */
  private async claimPods(rc: ReplicationController, selector: LabelSelector, pods: readonly Pod[]): Promise<Pod[]> {
    const ref = rcRef(rc);
    const claimed: Pod[] = [];
    const errors: Error[] = [];
    let canAdopt: Promise<void> | undefined;
    for (const pod of pods) {
      const decision = claimDecision(rc, pod, selector.matches(pod.metadata.labels));
      if (decision === 'own') claimed.push(pod);
      else if (decision === 'release') {
        await this.d.podControl.patchPod(pod.metadata.namespace!, pod.metadata.name!, releasePatch(rc.metadata.uid!, pod.metadata.uid)).catch((err: unknown) => {
          if (!isNotFound(err)) errors.push(err as Error);
        });
      } else if (decision === 'adopt') {
        // One fresh read per sync proves the RC still exists as this object (RecheckDeletionTimestamp).
        canAdopt ??= this.recheck(rc);
        try {
          await canAdopt;
          await this.d.podControl.patchPod(pod.metadata.namespace!, pod.metadata.name!, adoptPatch(ref, pod.metadata.uid));
          this.d.log.info({ rc: keyOf(rc), pod: pod.metadata.name }, 'adopted pod');
          claimed.push(pod);
        } catch (err) {
          if (!isNotFound(err)) errors.push(err as Error);
        }
      }
    }
    if (errors.length) throw new Error(`claiming pods of ${keyOf(rc)}: ${errors.map((e) => e.message).join('; ')}`);
    return claimed;
  }

  private async recheck(rc: ReplicationController): Promise<void> {
    const fresh = await this.d.client.get<ReplicationController>('replicationcontrollers', rc.metadata.name!, { namespace: rc.metadata.namespace! });
    if (fresh.metadata.uid !== rc.metadata.uid) throw new Error(`original ${keyOf(rc)} is gone: got uid ${fresh.metadata.uid}, wanted ${rc.metadata.uid}`);
    if (fresh.metadata.deletionTimestamp) throw new Error(`${keyOf(rc)} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
  }

  /** manageReplicas: creates or deletes toward spec.replicas, recording what the informer must observe. */
  private async manageReplicas(key: string, pods: Pod[], rc: ReplicationController): Promise<void> {
    const plan = planReplicas({ replicas: rc.spec?.replicas ?? 1, pods, nowMs: this.d.now(), ...(this.d.burstReplicas ? { burst: this.d.burstReplicas } : {}) });
    const ns = rc.metadata.namespace!;
    if (plan.action === 'create') {
      const template = rc.spec?.template;
      if (!template) throw new Error(`${key} has no pod template`);
      this.expectations.expectCreations(key, plan.count);
      const ref = rcRef(rc);
      let succeeded = 0;
      let firstError: Error | undefined;
      for (const size of slowStartBatches(plan.count)) {
        const results = await Promise.allSettled(Array.from({ length: size }, () => this.d.podControl.createPod(ns, template, rc, ref)));
        for (const r of results) {
          if (r.status === 'fulfilled' || isNamespaceTerminating(r.reason)) succeeded++;
          else firstError ??= r.reason as Error;
        }
        if (firstError) break;
      }
      // Pods never created (failed, or skipped after a failure) will never be observed.
      for (let i = succeeded; i < plan.count; i++) this.expectations.creationObserved(key);
      if (firstError) {
        this.d.log.warn({ rc: key, created: succeeded, wanted: plan.count, err: firstError.message }, 'slow-start failure: skipping the remaining creates');
        throw firstError;
      }
      this.d.log.info({ rc: key, created: succeeded }, 'created pods');
    } else if (plan.action === 'delete') {
      this.expectations.expectDeletions(key, plan.pods.map((p) => keyOf(p)));
      const errors: Error[] = [];
      await Promise.all(
        plan.pods.map((p) =>
          this.d.podControl.deletePod(ns, p.metadata.name!, rc).catch((err: unknown) => {
            // The informer will not observe a delete that did not happen.
            this.expectations.deletionObserved(key, keyOf(p));
            if (!isNotFound(err)) errors.push(err as Error);
          }),
        ),
      );
      if (errors.length) throw errors[0]!;
      this.d.log.info({ rc: key, deleted: plan.pods.length }, 'deleted pods');
    }
  }

  /** updateReplicaSetStatus: through /status, only on change; one re-read on a conflict. */
  private async updateStatus(rc: ReplicationController, status: ReplicationControllerStatus): Promise<void> {
    if (statusEqual(rc.status, status)) return;
    let cur = rc;
    for (let i = 0; ; i++) {
      try {
        await this.d.client.updateStatus('replicationcontrollers', { ...cur, status });
        return;
      } catch (err) {
        if (isNotFound(err) || i >= STATUS_UPDATE_RETRIES) throw err;
        cur = await this.d.client.get<ReplicationController>('replicationcontrollers', rc.metadata.name!, { namespace: rc.metadata.namespace! });
        status = { ...status, observedGeneration: cur.metadata.generation ?? status.observedGeneration };
      }
    }
  }
}

/** The RC's selector; an RC without one selects its template's labels (the API's defaulting), none selects nothing. */
function rcSelector(rc: ReplicationController): LabelSelector {
  const sel = rc.spec?.selector && Object.keys(rc.spec.selector).length ? rc.spec.selector : rc.spec?.template?.metadata?.labels;
  if (!sel || Object.keys(sel).length === 0) return LabelSelector.nothing();
  return labelSelectorFromSet(sel);
}

function rcRef(rc: ReplicationController): OwnerReference {
  return controllerRef({ apiVersion: RC_TYPE.apiVersion, kind: RC_TYPE.kind, name: rc.metadata.name!, uid: rc.metadata.uid! });
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => a![k] === b?.[k]);
}

export const replicationControllerFactory: ControllerFactory = (ctx) => {
  const recorder = ctx.events.newRecorder({ component: 'replication-controller', host: hostname() });
  return new ReplicationManager({
    rcs: ctx.informers.informer<ReplicationController>('replicationcontrollers'),
    pods: ctx.informers.informer<Pod>('pods'),
    client: ctx.client,
    podControl: new RealPodControl(ctx.client, recorder),
    workers: ctx.config.concurrentRcSyncs,
    log: ctx.log,
    now: ctx.now,
  });
};

