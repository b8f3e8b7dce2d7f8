/**
 * The deployment controller (pkg/controller/deployment): rolls each
 * Deployment's pods from one ReplicaSet to the next.
 *
 * Handlers only enqueue Deployment keys (an RS or pod event enqueues its
 * owning Deployment). `syncDeployment(key)` reads the Deployment and its RSs
 * from the informer caches, claims the RSs (adopting matching orphans,
 * releasing ones that stopped matching), then, as upstream:
 *
 *   deleting            → status only
 *   paused / scaling    → sync: proportional scale, cleanup, status
 *   Recreate            → rolloutRecreate: old RSs to 0, wait for their pods, new RS to replicas
 *   RollingUpdate       → rolloutRolling: reconcileNewReplicaSet (surge) else reconcileOldReplicaSets (unavailable),
 *                         cleanupDeployment once complete
 *   every path          → syncRolloutStatus: counts, Available and Progressing, and a re-check at the progress deadline
 *
 * Every decision is deployment-plan.ts's (pure); this file reads and writes.
 * RS writes carry the cached resourceVersion, so a stale cache ends in a
 * conflict and a retry, never a wrong size.
 */
import { hostname } from 'node:os';
import {
  controllerRefOf,
  DEPLOYMENT_REVISION_ANNOTATION,
  isAlreadyExists,
  isNotFound,
  keyOf,
  labelSelectorFromObject,
  LabelSelector,
  MutationCache,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
  runWorkers,
  typeMetaFor,
  WorkQueue,
  type ApiClient,
  type Deployment,
  type EventRecorder,
  type Informer,
  type OwnerReference,
  type Pod,
  type ReplicaSet,
} from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Controller, ControllerFactory } from '../controller.js';
import { adoptPatch, claimDecision, releasePatch } from '../controller-ref.js';
import { CONTROLLER_UID_INDEX } from '../replicaset/controller.js';
import { controllerRef } from '../replication/replica-plan.js';
import {
  calculateStatus,
  cleanupVictims,
  equalIgnoreHash,
  findNewReplicaSet,
  findOldReplicaSets,
  getCondition,
  isActive,
  isScalingEvent,
  maxRevision,
  maxSurge,
  newCondition,
  newReplicaSetFor,
  newRSNewReplicas,
  PROGRESSING,
  progressCheckDelay,
  proportionalScale,
  reconcileNewReplicaSet,
  reconcileOldReplicaSets,
  REASON,
  replicasAnnotationsNeedUpdate,
  rolloutConditions,
  scalePatch,
  setCondition,
  setNewReplicaSetAnnotations,
  specReplicas,
  statusEqual,
  deploymentComplete,
  hasProgressDeadline,
  type ScaleActions,
} from './deployment-plan.js';

const DEPLOYMENT_TYPE = typeMetaFor('deployments');
const RS_TYPE = typeMetaFor('replicasets');

export interface DeploymentControllerDeps {
  deployments: Informer<Deployment>;
  replicaSets: Informer<ReplicaSet>;
  pods: Informer<Pod>;
  client: Pick<ApiClient, 'get' | 'create' | 'update' | 'updateStatus' | 'patch' | 'delete'>;
  recorder: EventRecorder;
  workers: number;
  log: Logger;
  now: () => number;
}

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  readonly queue = new WorkQueue<string>({ name: 'deployment' });
  private readonly d: DeploymentControllerDeps;
  /**
   * The Deployments as this controller last wrote them: a rollout's syncs
   * follow each other closely (every ReplicaSet status change is one), and
   * a sync that starts from a copy older than its own last status write
   * would end in a 409 and a requeue.
   */
  private readonly written = new MutationCache<Deployment>();
  /** The ReplicaSets as this controller last scaled them, until the informer catches up: the next sync decides from them, not from the copy before. */
  private readonly scaled = new MutationCache<ReplicaSet>();

  constructor(deps: DeploymentControllerDeps) {
    this.d = deps;
    for (const inf of [deps.deployments, deps.replicaSets, deps.pods] as Informer<{ metadata: { namespace?: string } } & Pod>[])
      if (!inf.indexer.hasIndex(NAMESPACE_INDEX)) inf.indexer.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    if (!deps.pods.indexer.hasIndex(CONTROLLER_UID_INDEX))
      deps.pods.indexer.addIndex(CONTROLLER_UID_INDEX, (p) => {
        const ref = controllerRefOf(p);
        return ref ? [ref.uid] : [];
      });
    deps.deployments.addHandler({
      onAdd: (d) => this.queue.add(keyOf(d)),
      onUpdate: (_old, d) => this.queue.add(keyOf(d)),
      onDelete: (d) => this.queue.add(keyOf(d)),
    });
    deps.replicaSets.addHandler({
      onAdd: (rs) => this.enqueueOwnerOf(rs),
      onUpdate: (old, rs) => {
        if (old.metadata.resourceVersion === rs.metadata.resourceVersion) return;
        const oldRef = controllerRefOf(old);
        if (oldRef && oldRef.uid !== controllerRefOf(rs)?.uid) this.enqueueOwnerOf(old);
        this.enqueueOwnerOf(rs);
      },
      onDelete: (rs) => this.enqueueOwnerOf(rs),
    });
    // Recreate waits for the old pods to be gone.
    deps.pods.addHandler({ onDelete: (p) => this.podDeleted(p) });
  }

  async run(signal: AbortSignal): Promise<void> {
    await runWorkers(this.queue, this.d.workers, (key) => this.syncDeployment(key), {
      signal,
      onError: (key, err) => this.d.log.warn({ deployment: key, err: (err as Error).message }, 'sync failed; retrying'),
    });
  }

  // ---------------------------------------------------------------- handlers (enqueue only)

  private enqueueOwnerOf(rs: ReplicaSet): void {
    const ref = controllerRefOf(rs);
    if (ref) {
      const d = this.resolve(rs.metadata.namespace, ref);
      if (d) this.queue.add(keyOf(d));
      return;
    }
    // An orphan: every Deployment that would adopt it (getDeploymentsForReplicaSet).
    for (const d of this.d.deployments.indexer.byIndex(NAMESPACE_INDEX, rs.metadata.namespace ?? ''))
      if (selectorOf(d).matches(rs.metadata.labels)) this.queue.add(keyOf(d));
  }

  private podDeleted(pod: Pod): void {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== RS_TYPE.kind) return;
    const rs = this.d.replicaSets.indexer.getByName(pod.metadata.namespace, ref.name);
    const dref = rs && controllerRefOf(rs);
    const d = dref && this.resolve(rs.metadata.namespace, dref);
    if (d && d.spec?.strategy?.type === 'Recreate') this.queue.add(keyOf(d));
  }

  private resolve(namespace: string | undefined, ref: OwnerReference): Deployment | undefined {
    if (ref.kind !== DEPLOYMENT_TYPE.kind) return undefined;
    const d = this.d.deployments.indexer.getByName(namespace, ref.name);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  }

  // ---------------------------------------------------------------- sync

  async syncDeployment(key: string): Promise<void> {
    const cached = this.written.newest(key, this.d.deployments.indexer.get(key));
    if (!cached) return;
    const d: Deployment = { ...structuredClone(cached), ...DEPLOYMENT_TYPE };
    const sel = d.spec?.selector;
    if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) {
      this.d.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      return;
    }
    const rsList = await this.getReplicaSetsForDeployment(d);
    if (d.metadata.deletionTimestamp) return this.syncStatusOnly(d, rsList);

    await this.checkPausedConditions(d);
    if (d.spec?.paused) return this.sync(d, rsList);
    if (isScalingEvent(d, rsList)) return this.sync(d, rsList);
    if (d.spec?.strategy?.type === 'Recreate') return this.rolloutRecreate(d, rsList);
    return this.rolloutRolling(d, rsList);
  }

  /** getReplicaSetsForDeployment: the RSs this Deployment controls after adopting and releasing. */
  private async getReplicaSetsForDeployment(d: Deployment): Promise<ReplicaSet[]> {
    const selector = selectorOf(d);
    const ref = ownerRef(d);
    const out: ReplicaSet[] = [];
    let recheck: Promise<void> | undefined;
    for (const cached of this.d.replicaSets.indexer.byIndex(NAMESPACE_INDEX, d.metadata.namespace ?? '')) {
      const rs = this.scaled.newest(keyOf(cached), cached)!;
      const decision = claimDecision(d, rs, selector.matches(rs.metadata.labels));
      if (decision === 'own') out.push(rs);
      else if (decision === 'release') {
        await this.d.client.patch('replicasets', rs.metadata.name!, releasePatch(d.metadata.uid!, rs.metadata.uid), 'strategic', { namespace: rs.metadata.namespace! }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      } else if (decision === 'adopt') {
        recheck ??= this.recheck(d);
        await recheck;
        const adopted = await this.d.client.patch<ReplicaSet>('replicasets', rs.metadata.name!, adoptPatch(ref, rs.metadata.uid), 'strategic', { namespace: rs.metadata.namespace! });
        out.push(adopted);
      }
    }
    return out;
  }

  private async recheck(d: Deployment): Promise<void> {
    const fresh = await this.d.client.get<Deployment>('deployments', d.metadata.name!, { namespace: d.metadata.namespace! });
    if (fresh.metadata.uid !== d.metadata.uid) throw new Error(`original ${keyOf(d)} is gone: got uid ${fresh.metadata.uid}, wanted ${d.metadata.uid}`);
    if (fresh.metadata.deletionTimestamp) throw new Error(`${keyOf(d)} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
  }

  /** checkPausedConditions: Progressing Unknown DeploymentPaused / DeploymentResumed on a change of spec.paused. */
  private async checkPausedConditions(d: Deployment): Promise<void> {
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status, PROGRESSING);
    if (cond?.reason === REASON.TimedOut) return;
    const paused = Boolean(d.spec?.paused);
    let next: ReturnType<typeof newCondition> | undefined;
    if (paused && cond?.reason !== REASON.Paused) next = newCondition(PROGRESSING, 'Unknown', REASON.Paused, 'Deployment is paused', this.d.now());
    else if (!paused && cond?.reason === REASON.Paused) next = newCondition(PROGRESSING, 'Unknown', REASON.Resumed, 'Deployment is resumed', this.d.now());
    if (!next) return;
    const status = structuredClone(d.status ?? {});
    setCondition(status, next);
    d.status = status;
    await this.writeStatus(d, status);
  }

  /**
   * getAllReplicaSetsAndSyncRevision: the new RS (created when asked and
   * missing) and the old ones; the new RS's revision and the Deployment's.
   */
  private async getAllReplicaSetsAndSyncRevision(d: Deployment, rsList: ReplicaSet[], create: boolean): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
    const oldRSs = findOldReplicaSets(d, rsList);
    const newRS = await this.getNewReplicaSet(d, rsList, oldRSs, create);
    return { newRS, oldRSs };
  }

  private async getNewReplicaSet(d: Deployment, rsList: ReplicaSet[], oldRSs: ReplicaSet[], create: boolean): Promise<ReplicaSet | undefined> {
    const existing = findNewReplicaSet(d, rsList);
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing) {
      const rs = structuredClone(existing);
      const annotationsChanged = setNewReplicaSetAnnotations(d, rs, newRevision, true);
      const minReadyChanged = (rs.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      let current = existing;
      if (annotationsChanged || minReadyChanged) {
        rs.spec = { ...rs.spec, minReadySeconds: d.spec?.minReadySeconds ?? 0 };
        if (!rs.spec.minReadySeconds) delete rs.spec.minReadySeconds;
        current = await this.d.client.update<ReplicaSet>('replicasets', rs, { namespace: rs.metadata.namespace! });
      }
      await this.setDeploymentRevision(d, current.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION]);
      if (hasProgressDeadline(d) && !getCondition(d.status, PROGRESSING)) {
        const status = structuredClone(d.status ?? {});
        setCondition(status, newCondition(PROGRESSING, 'True', REASON.FoundNewReplicaSet, `Found new replica set "${current.metadata.name}"`, this.d.now()));
        d.status = status;
        await this.writeStatus(d, status);
      }
      return current;
    }
    if (!create) return undefined;

    const rs = newReplicaSetFor(d, ownerRef(d));
    rs.spec!.replicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
    setNewReplicaSetAnnotations(d, rs, newRevision, false);
    let created: ReplicaSet;
    let alreadyExisted = false;
    try {
      created = await this.d.client.create<ReplicaSet>('replicasets', rs, { namespace: rs.metadata.namespace! });
    } catch (err) {
      if (!isAlreadyExists(err)) {
        const status = structuredClone(d.status ?? {});
        setCondition(status, newCondition(PROGRESSING, 'False', REASON.FailedCreate, `Failed to create new replica set "${rs.metadata.name}": ${(err as Error).message}`, this.d.now()));
        d.status = status;
        await this.writeStatus(d, status).catch(() => undefined);
        this.d.recorder.event(d, 'Warning', REASON.FailedCreate, `Failed to create new replica set "${rs.metadata.name}": ${(err as Error).message}`);
        throw err;
      }
      // Ours with the same template: the cache had not seen it yet. Anything else is a hash collision.
      const found = await this.d.client.get<ReplicaSet>('replicasets', rs.metadata.name!, { namespace: rs.metadata.namespace! });
      if (controllerRefOf(found)?.uid === d.metadata.uid && equalIgnoreHash(found.spec?.template, d.spec?.template)) {
        created = found;
        alreadyExisted = true;
      } else {
        const status = structuredClone(d.status ?? {});
        status.collisionCount = (status.collisionCount ?? 0) + 1;
        await this.writeStatus(d, status);
        throw new Error(`found a hash collision for deployment ${keyOf(d)}: ${rs.metadata.name} exists with another template; collisionCount is now ${status.collisionCount}`);
      }
    }
    if (!alreadyExisted && specReplicas(created) > 0)
      this.d.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${specReplicas(created)}`);
    await this.setDeploymentRevision(d, String(newRevision));
    if (!alreadyExisted && hasProgressDeadline(d)) {
      const status = structuredClone(d.status ?? {});
      setCondition(status, newCondition(PROGRESSING, 'True', REASON.NewReplicaSet, `Created new replica set "${created.metadata.name}"`, this.d.now()));
      d.status = status;
      await this.writeStatus(d, status);
    }
    return created;
  }

  /** SetDeploymentRevision: the Deployment carries its new RS's revision (a metadata patch: generation does not move). */
  private async setDeploymentRevision(d: Deployment, revision: string | undefined): Promise<void> {
    if (revision === undefined || d.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION] === revision) return;
    const patched = await this.d.client.patch<Deployment>('deployments', d.metadata.name!, { metadata: { annotations: { [DEPLOYMENT_REVISION_ANNOTATION]: revision } } }, 'merge', {
      namespace: d.metadata.namespace!,
    });
    d.metadata = { ...d.metadata, annotations: patched.metadata.annotations ?? {}, resourceVersion: patched.metadata.resourceVersion! };
    this.written.mutated(keyOf(patched), patched);
  }

  // ---------------------------------------------------------------- strategies

  /** rolloutRolling: surge first, then shrink the old RSs; clean up once complete. */
  private async rolloutRolling(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, true);
    const allRSs = [...oldRSs, ...(newRS ? [newRS] : [])];
    if (newRS) {
      const next = reconcileNewReplicaSet(d, allRSs, newRS);
      if (next !== undefined) {
        const scaled = await this.scaleReplicaSet(newRS, next, d);
        return this.syncRolloutStatus(d, replace(allRSs, scaled), scaled);
      }
    }
    const downs = reconcileOldReplicaSets(d, allRSs, oldRSs.filter(isActive), newRS);
    if (downs.size > 0) {
      const after = await this.applyScales(d, allRSs, downs);
      return this.syncRolloutStatus(d, after, newRS);
    }
    const probe = calculateStatus(d, allRSs, newRS, this.d.now());
    if (deploymentComplete(d, probe)) await this.cleanupDeployment(d, oldRSs);
    return this.syncRolloutStatus(d, allRSs, newRS);
  }

  /** rolloutRecreate: every old RS to 0, then (once their pods are gone) the new RS to replicas. */
  private async rolloutRecreate(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    let { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    let allRSs = [...oldRSs, ...(newRS ? [newRS] : [])];
    const activeOld = oldRSs.filter(isActive);
    if (activeOld.length > 0) {
      const after = await this.applyScales(d, allRSs, new Map(activeOld.map((rs) => [rs.metadata.name!, 0])));
      return this.syncRolloutStatus(d, after, newRS);
    }
    if (this.oldPodsRunning(newRS, oldRSs)) return this.syncRolloutStatus(d, allRSs, newRS);
    if (!newRS) {
      ({ newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, true));
      allRSs = [...oldRSs, ...(newRS ? [newRS] : [])];
    }
    if (newRS && specReplicas(newRS) !== (d.spec?.replicas ?? 1)) {
      newRS = await this.scaleReplicaSet(newRS, d.spec?.replicas ?? 1, d);
      allRSs = replace(allRSs, newRS);
    }
    if (deploymentComplete(d, calculateStatus(d, allRSs, newRS, this.d.now()))) await this.cleanupDeployment(d, oldRSs);
    return this.syncRolloutStatus(d, allRSs, newRS);
  }

  /** oldPodsRunning: an old RS still counts pods, or one of its pods has not finished. */
  private oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): boolean {
    if (oldRSs.some((rs) => (rs.status?.replicas ?? 0) > 0)) return true;
    for (const rs of oldRSs) {
      if (rs.metadata.uid === newRS?.metadata.uid) continue;
      for (const p of this.d.pods.indexer.byIndex(CONTROLLER_UID_INDEX, rs.metadata.uid!)) if (p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded') return true;
    }
    return false;
  }

  /** sync: a paused Deployment or a scaling event — proportional scale, cleanup when paused, status. */
  private async sync(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    let allRSs = [...oldRSs, ...(newRS ? [newRS] : [])];
    const scales = proportionalScale(d, newRS, oldRSs);
    if (scales.size > 0) allRSs = await this.applyScales(d, allRSs, scales);
    else await this.refreshReplicaAnnotations(d, allRSs.filter(isActive));
    if (d.spec?.paused) await this.cleanupDeployment(d, oldRSs);
    const fresh = allRSs.find((rs) => rs.metadata.uid === newRS?.metadata.uid);
    return this.syncStatusOnly(d, allRSs, fresh);
  }

  /** The replica annotations follow the Deployment on every active RS, even without a resize. */
  private async refreshReplicaAnnotations(d: Deployment, active: ReplicaSet[]): Promise<void> {
    const replicas = d.spec?.replicas ?? 1;
    for (const rs of active) if (replicasAnnotationsNeedUpdate(rs, replicas, replicas + maxSurge(d))) await this.scaleReplicaSet(rs, specReplicas(rs), d);
  }

  /** cleanupDeployment: old RSs beyond revisionHistoryLimit are deleted. */
  private async cleanupDeployment(d: Deployment, oldRSs: ReplicaSet[]): Promise<void> {
    for (const rs of cleanupVictims(d, oldRSs)) {
      this.d.log.info({ deployment: keyOf(d), rs: rs.metadata.name }, 'deleting old replica set beyond revisionHistoryLimit');
      await this.d.client.delete('replicasets', rs.metadata.name!, { namespace: rs.metadata.namespace! }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
  }

  // ---------------------------------------------------------------- writes

  private async applyScales(d: Deployment, allRSs: ReplicaSet[], scales: ScaleActions): Promise<ReplicaSet[]> {
    let out = allRSs;
    for (const rs of allRSs) {
      const next = scales.get(rs.metadata.name!);
      if (next === undefined) continue;
      out = replace(out, await this.scaleReplicaSet(rs, next, d));
    }
    return out;
  }

  /** scaleReplicaSet: spec.replicas and the replica annotations in one update; the ScalingReplicaSet event on a resize. */
  private async scaleReplicaSet(rs: ReplicaSet, replicas: number, d: Deployment): Promise<ReplicaSet> {
    const desired = d.spec?.replicas ?? 1;
    const max = desired + maxSurge(d);
    const resize = specReplicas(rs) !== replicas;
    if (!resize && !replicasAnnotationsNeedUpdate(rs, desired, max)) return rs;
    const updated = await this.d.client.patch<ReplicaSet>('replicasets', rs.metadata.name!, scalePatch(rs, replicas, desired, max), 'json', { namespace: rs.metadata.namespace! });
    this.scaled.mutated(keyOf(updated), updated);
    if (resize) {
      const op = replicas > specReplicas(rs) ? 'up' : 'down';
      this.d.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${rs.metadata.name} from ${specReplicas(rs)} to ${replicas}`);
    }
    return updated;
  }

  /** syncRolloutStatus: counts and conditions; a re-check at the progress deadline. */
  private async syncRolloutStatus(d: Deployment, allRSs: ReplicaSet[], newRS: ReplicaSet | undefined): Promise<void> {
    const now = this.d.now();
    const status = calculateStatus(d, allRSs, newRS, now);
    rolloutConditions(d, status, newRS, now);
    const failure = allRSs.map((rs) => rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True')).find(Boolean);
    if (failure) setCondition(status, { ...failure, lastUpdateTime: failure.lastTransitionTime ?? '' });
    else if (status.conditions) status.conditions = status.conditions.filter((c) => c.type !== 'ReplicaFailure');
    if (statusEqual(d.status, status)) {
      const delay = progressCheckDelay(d, status, now);
      if (delay !== undefined) this.queue.addAfter(keyOf(d), delay);
      return;
    }
    await this.writeStatus(d, status);
  }

  /** syncDeploymentStatus: counts only (deleting, paused, scaling). */
  private async syncStatusOnly(d: Deployment, allRSs: ReplicaSet[], newRS?: ReplicaSet): Promise<void> {
    const fresh = newRS ?? findNewReplicaSet(d, allRSs);
    const status = calculateStatus(d, allRSs, fresh, this.d.now());
    if (!statusEqual(d.status, status)) await this.writeStatus(d, status);
  }

  private async writeStatus(d: Deployment, status: Deployment['status']): Promise<void> {
    const updated = await this.d.client.updateStatus<Deployment>('deployments', { ...d, status: status ?? {} }, { namespace: d.metadata.namespace! });
    d.metadata = { ...d.metadata, resourceVersion: updated.metadata.resourceVersion! };
    d.status = updated.status ?? {};
    this.written.mutated(keyOf(updated), updated);
  }
}

function selectorOf(d: Deployment): LabelSelector {
  try {
    return labelSelectorFromObject(d.spec?.selector);
  } catch {
    return LabelSelector.nothing();
  }
}

function ownerRef(d: Deployment): OwnerReference {
  return controllerRef({ apiVersion: DEPLOYMENT_TYPE.apiVersion, kind: DEPLOYMENT_TYPE.kind, name: d.metadata.name!, uid: d.metadata.uid! });
}

/** The list with `rs` in place of the object of the same uid. */
function replace(list: ReplicaSet[], rs: ReplicaSet): ReplicaSet[] {
  return list.map((x) => (x.metadata.uid === rs.metadata.uid ? rs : x));
}

export const deploymentControllerFactory: ControllerFactory = (ctx) =>
  new DeploymentController({
    deployments: ctx.informers.informer<Deployment>('deployments'),
    replicaSets: ctx.informers.informer<ReplicaSet>('replicasets'),
    pods: ctx.informers.informer<Pod>('pods'),
    client: ctx.client,
    recorder: ctx.events.newRecorder({ component: 'deployment-controller', host: hostname() }),
    workers: ctx.config.concurrentDeploymentSyncs,
    log: ctx.log,
    now: ctx.now,
  });
