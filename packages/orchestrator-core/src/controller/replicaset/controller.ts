/**
 * The ReplicaSet controller (pkg/controller/replicaset/replica_set.go):
 * keeps `spec.replicas` pods of each ReplicaSet, and, behind a type adapter,
 * of each ReplicationController (pkg/controller/replication is this loop
 * with the RC's kind and map selector, replication/controller.ts).
 *
 * Handlers only enqueue owner keys and count what the informer observed
 * against the expectations; `syncReplicaSet(key)` reads the owner and the
 * pods from the informer caches, claims the pods (adopting matching orphans,
 * releasing pods that stopped matching), and, once the expectations of its
 * last writes are met, lets the pure planner (replication/replica-plan.ts)
 * say how many pods to create (in slow-start batches) or which to delete;
 * then writes the status through /status when it changed.
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
  labelSelectorFromObject,
  typeMetaFor,
  WorkQueue,
  type ApiClient,
  type Informer,
  type OwnerReference,
  type Pod,
  type ReplicaSet,
  type ReplicationControllerStatus,
} from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Controller, ControllerFactory } from '../controller.js';
import { adoptPatch, claimDecision, releasePatch, resolveControllerRef } from '../controller-ref.js';
import { Expectations } from '../expectations.js';
import { RealPodControl, type PodControl } from '../pod-control.js';
import { calculateStatus, controllerRef, planReplicas, REPLICA_FAILURE, slowStartBatches, statusEqual, type ReplicaOwner } from '../replication/replica-plan.js';

/** Pods indexed by the UID of their controller (upstream's controllerUIDIndex). */
export const CONTROLLER_UID_INDEX = 'controllerUID';

/**
 * What differs between the kinds this loop keeps (the RC adapter of
 * pkg/controller/replication): the resource, its selector, the names it logs
 * and queues under.
 */
export interface ReplicaKind<T extends ReplicaOwner> {
  resource: 'replicasets' | 'replicationcontrollers';
  /** The controller's name (manager.ts) and its queue's. */
  name: string;
  queueName: string;
  /** The log field naming an owner (`rs`, `rc`). */
  logKey: string;
  /** The owner's selector; one that selects nothing when the owner has none. */
  selectorOf(owner: T): LabelSelector;
}

export interface ReplicaSetControllerDeps<T extends ReplicaOwner> {
  owners: Informer<T>;
  pods: Informer<Pod>;
  client: Pick<ApiClient, 'get' | 'updateStatus'>;
  podControl: PodControl;
  workers: number;
  log: Logger;
  now: () => number;
  burstReplicas?: number;
}

export class ReplicaSetController<T extends ReplicaOwner> implements Controller {
  readonly name: string;
  readonly queue: WorkQueue<string>;
  readonly expectations: Expectations;
  private readonly d: ReplicaSetControllerDeps<T>;
  private readonly kind: ReplicaKind<T>;
  private readonly type: { apiVersion: string; kind: string };

  constructor(kind: ReplicaKind<T>, deps: ReplicaSetControllerDeps<T>) {
    this.kind = kind;
    this.name = kind.name;
    this.queue = new WorkQueue<string>({ name: kind.queueName });
    this.type = typeMetaFor(kind.resource);
    this.d = deps;
    this.expectations = new Expectations(deps.now);
    const pods = deps.pods.indexer;
    if (!pods.hasIndex(NAMESPACE_INDEX)) pods.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    if (!pods.hasIndex(CONTROLLER_UID_INDEX)) pods.addIndex(CONTROLLER_UID_INDEX, (p) => {
      const ref = controllerRefOf(p);
      return ref ? [ref.uid] : [];
    });
    if (!deps.owners.indexer.hasIndex(NAMESPACE_INDEX)) deps.owners.indexer.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    deps.owners.addHandler({
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
    await runWorkers(this.queue, this.d.workers, (key) => this.syncReplicaSet(key), {
      signal,
      onError: (key, err) => this.d.log.warn({ [this.kind.logKey]: key, err: (err as Error).message }, 'sync failed; retrying'),
    });
  }

  // ---------------------------------------------------------------- handlers (enqueue only)

  private addPod(pod: Pod): void {
    if (pod.metadata.deletionTimestamp) return this.deletePod(pod);
    if (controllerRefOf(pod)) {
      const rc = this.owner(pod);
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
      const rc = this.owner(old);
      if (rc) this.queue.add(keyOf(rc));
    }
    if (curRef) {
      const rc = this.owner(cur);
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
    const rc = this.owner(pod);
    if (!rc) return;
    const key = keyOf(rc);
    this.expectations.deletionObserved(key, keyOf(pod));
    this.queue.add(key);
  }

  /** The owner the pod's controller reference names, if it is one of ours and still the same object. */
  private owner(pod: Pod): T | undefined {
    return resolveControllerRef(this.d.owners.indexer, this.type.kind, pod);
  }

  /** Owners whose selector matches an orphan (GetPodControllers). */
  private podControllers(pod: Pod): T[] {
    return this.d.owners.indexer.byIndex(NAMESPACE_INDEX, pod.metadata.namespace ?? '').filter((rc) => this.kind.selectorOf(rc).matches(pod.metadata.labels));
  }

  // ---------------------------------------------------------------- sync

  async syncReplicaSet(key: string): Promise<void> {
    const cached = this.d.owners.indexer.get(key);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const rc: T = { ...cached, ...this.type };
    const needsSync = this.expectations.satisfied(key);
    const selector = this.kind.selectorOf(rc);
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
  private async claimPods(rc: T, selector: LabelSelector, pods: readonly Pod[]): Promise<Pod[]> {
    const ref = this.ownerRef(rc);
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
          this.d.log.info({ [this.kind.logKey]: keyOf(rc), pod: pod.metadata.name }, 'adopted pod');
          claimed.push(pod);
        } catch (err) {
          if (!isNotFound(err)) errors.push(err as Error);
        }
      }
    }
    if (errors.length) throw new Error(`claiming pods of ${keyOf(rc)}: ${errors.map((e) => e.message).join('; ')}`);
    return claimed;
  }

  private async recheck(rc: T): Promise<void> {
    const fresh = await this.d.client.get<T>(this.kind.resource, rc.metadata.name!, { namespace: rc.metadata.namespace! });
    if (fresh.metadata.uid !== rc.metadata.uid) throw new Error(`original ${keyOf(rc)} is gone: got uid ${fresh.metadata.uid}, wanted ${rc.metadata.uid}`);
    if (fresh.metadata.deletionTimestamp) throw new Error(`${keyOf(rc)} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
  }

  /** manageReplicas: creates or deletes toward spec.replicas, recording what the informer must observe. */
  private async manageReplicas(key: string, pods: Pod[], rc: T): Promise<void> {
    const failing = rc.status?.conditions?.some((c) => c.type === REPLICA_FAILURE && c.status === 'True') ?? false;
    const plan = planReplicas({ replicas: rc.spec?.replicas ?? 1, pods, nowMs: this.d.now(), failing, ...(this.d.burstReplicas ? { burst: this.d.burstReplicas } : {}) });
    const ns = rc.metadata.namespace!;
    if (plan.action === 'create') {
      const template = rc.spec?.template;
      if (!template) throw new Error(`${key} has no pod template`);
      this.expectations.expectCreations(key, plan.count);
      const ref = this.ownerRef(rc);
      let succeeded = 0;
      let firstError: Error | undefined;
      for (const size of slowStartBatches(plan.count, plan.firstBatch)) {
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
        this.d.log.warn({ [this.kind.logKey]: key, created: succeeded, wanted: plan.count, err: firstError.message }, 'slow-start failure: skipping the remaining creates');
        throw firstError;
      }
      this.d.log.info({ [this.kind.logKey]: key, created: succeeded }, 'created pods');
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
      this.d.log.info({ [this.kind.logKey]: key, deleted: plan.pods.length }, 'deleted pods');
    }
  }

  /**
   * updateReplicaSetStatus: through /status, only on change. Upstream sends
   * the cached resourceVersion and, on a conflict, reads the owner again and
   * retries. But this controller alone writes the status, one sync of a key
   * at a time, from the pod cache; a conflict only says that the owner's
   * spec moved or that its own last write is not in the cache yet — and the
   * next sync sees either. So the write is unconditional (both kinds allow
   * it, AllowUnconditionalUpdate): in a rolling update a third of the status
   * writes used to be a 409, a GET and a retry on the rollout's critical path.
   * observedGeneration stays the generation this sync acted on.
   */
  private async updateStatus(rc: T, status: ReplicationControllerStatus): Promise<void> {
    if (statusEqual(rc.status, status)) return;
    const { resourceVersion: _rv, ...metadata } = rc.metadata;
    await this.d.client.updateStatus(this.kind.resource, { ...rc, metadata, status });
  }

  private ownerRef(owner: T): OwnerReference {
    return controllerRef({ apiVersion: this.type.apiVersion, kind: this.type.kind, name: owner.metadata.name!, uid: owner.metadata.uid! });
  }
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => a![k] === b?.[k]);
}

/** apps/v1 ReplicaSet: a LabelSelector (one that does not parse selects nothing). */
export const REPLICA_SET_KIND: ReplicaKind<ReplicaSet> = {
  resource: 'replicasets',
  name: 'replicaset',
  queueName: 'replicaset',
  logKey: 'rs',
  selectorOf(rs) {
    try {
      return labelSelectorFromObject(rs.spec?.selector);
    } catch {
      return LabelSelector.nothing();
    }
  },
};

export const replicaSetControllerFactory: ControllerFactory = (ctx) => {
  const recorder = ctx.events.newRecorder({ component: 'replicaset-controller', host: hostname() });
  return new ReplicaSetController(REPLICA_SET_KIND, {
    owners: ctx.informers.informer<ReplicaSet>('replicasets'),
    pods: ctx.informers.informer<Pod>('pods'),
    client: ctx.client,
    podControl: new RealPodControl(ctx.client, recorder),
    workers: ctx.config.concurrentReplicasetSyncs,
    log: ctx.log,
    now: ctx.now,
  });
};
