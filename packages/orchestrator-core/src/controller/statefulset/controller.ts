/**
 * The StatefulSet controller (pkg/controller/statefulset's
 * StatefulSetController + defaultStatefulSetControl): pods with stable names
 * `<set>-<ordinal>`, created, replaced and removed in ordinal order.
 * Handlers only enqueue StatefulSet keys (a pod's owner, an orphan's
 * matching sets, a revision's owner). `syncStatefulSet(key)` reads the set
 * and its pods from the informer caches, finds or writes the update
 * ControllerRevision (getStatefulSetRevisions) and reads the current one
 * from status.currentRevision, claims the pods, lets the pure planner
 * (stateful-set-plan.ts) decide, performs its creates, deletes and identity
 * patches in order, prunes old revisions and writes the status through
 * /status when it changed. Volume claims are not made: pilot has no volumes.
 */
import { hostname } from 'node:os';
import {
  controllerRefOf,
  isAlreadyExists,
  isNotFound,
  keyOf,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
  runWorkers,
  WorkQueue,
  type ApiClient,
  type EventRecorder,
  type Informer,
  type OwnerReference,
  type Pod,
  type ControllerRevision,
  type StatefulSet,
  type StatefulSetStatus,
} from '@pilot/api';
import type { Logger } from '@pilot/common';
import { claimPods } from '../claim.js';
import { resolveControllerRef, selectingOwners } from '../controller-ref.js';
import type { Controller, ControllerFactory } from '../controller.js';
import {
  chooseRevision,
  controllerRevisionName,
  DEFAULT_REVISION_HISTORY_LIMIT,
  hashControllerRevision,
  newControllerRevision,
  revisionsToPrune,
  revisionTemplate,
  templatePatch,
} from '../history/history.js';
import { RealPodControl, type PodControl } from '../pod-control.js';
import { controllerRef, slowStartBatches } from '../replication/replica-plan.js';
import { completeRollingUpdate, isMonotonic, planStatefulSet, podRevision, statefulSetStatusEqual, type StatefulSetAction } from './stateful-set-plan.js';

const STS_TYPE = { apiVersion: 'apps/v1', kind: 'StatefulSet' } as const;
/** upstream's --concurrent-statefulset-syncs default. */
const STS_WORKERS = 5;

export interface StatefulSetControllerDeps {
  sets: Informer<StatefulSet>;
  pods: Informer<Pod>;
  revisions: Informer<ControllerRevision>;
  client: Pick<ApiClient, 'get' | 'create' | 'update' | 'patch' | 'delete' | 'updateStatus'>;
  podControl: Pick<PodControl, 'patchPod'>;
  recorder: Pick<EventRecorder, 'event'>;
  workers: number;
  log: Logger;
  now: () => number;
}

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  readonly queue = new WorkQueue<string>({ name: 'statefulset' });
  private readonly d: StatefulSetControllerDeps;

  constructor(deps: StatefulSetControllerDeps) {
    this.d = deps;
    for (const inf of [deps.pods, deps.sets, deps.revisions] as Informer<{ metadata: object }>[]) {
      if (!inf.indexer.hasIndex(NAMESPACE_INDEX)) inf.indexer.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    }
    deps.sets.addHandler({
      onAdd: (s) => this.queue.add(keyOf(s)),
      onUpdate: (_old, s) => this.queue.add(keyOf(s)),
      onDelete: (s) => this.queue.add(keyOf(s)),
    });
    deps.pods.addHandler({
      onAdd: (p) => this.podChanged(p),
      onUpdate: (old, cur) => {
        if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
        const before = this.ownerOf(old);
        if (before && before !== this.ownerOf(cur)) this.queue.add(keyOf(before));
        this.podChanged(cur);
      },
      onDelete: (p) => this.podChanged(p),
    });
    deps.revisions.addHandler({
      onAdd: (r) => this.revisionChanged(r),
      onDelete: (r) => this.revisionChanged(r),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await runWorkers(this.queue, this.d.workers, (key) => this.syncStatefulSet(key), {
      signal,
      onError: (key, err) => this.d.log.warn({ statefulset: key, err: (err as Error).message }, 'sync failed; retrying'),
    });
  }

  // ---------------------------------------------------------------- handlers (enqueue only)

  private podChanged(p: Pod): void {
    const owner = this.ownerOf(p);
    if (owner) this.queue.add(keyOf(owner));
    else if (!controllerRefOf(p) && !p.metadata.deletionTimestamp) for (const s of this.matching(p)) this.queue.add(keyOf(s));
  }

  private revisionChanged(r: ControllerRevision): void {
    const s = resolveControllerRef(this.d.sets.indexer, STS_TYPE.kind, r);
    if (s) this.queue.add(keyOf(s));
  }

  private ownerOf(pod: Pod): StatefulSet | undefined {
    return resolveControllerRef(this.d.sets.indexer, STS_TYPE.kind, pod);
  }

  private matching(pod: Pod): StatefulSet[] {
    return selectingOwners(this.d.sets.indexer, pod);
  }

  // ---------------------------------------------------------------- sync

  async syncStatefulSet(key: string): Promise<void> {
    const cached = this.d.sets.indexer.get(key);
    if (!cached) return;
    const set: StatefulSet = { ...cached, ...STS_TYPE };
    const ref = stsRef(set);
    const pods = await claimPods({
      owner: set,
      selector: set.spec?.selector,
      candidates: this.d.pods.indexer.byIndex(NAMESPACE_INDEX, set.metadata.namespace ?? ''),
      ref,
      podControl: this.d.podControl,
      recheck: async () => {
        const fresh = await this.d.client.get<StatefulSet>('statefulsets', set.metadata.name!, { namespace: set.metadata.namespace! }).catch(() => undefined);
        return fresh !== undefined && fresh.metadata.uid === set.metadata.uid && !fresh.metadata.deletionTimestamp;
      },
    });
    const { current, update, revisions } = await this.getRevisions(set);
    const plan = planStatefulSet({
      set,
      pods,
      currentRevision: { name: current.metadata.name!, template: revisionTemplate(current) },
      updateRevision: { name: update.metadata.name!, template: revisionTemplate(update) },
      ownerRef: ref,
      nowMs: this.d.now(),
    });
    let actionError: Error | undefined;
    try {
      await this.perform(set, plan.actions);
    } catch (err) {
      actionError = err as Error;
    }
    await this.updateStatus(set, completeRollingUpdate(set, plan.status));
    await this.truncateHistory(set, pods, current, update, revisions);
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs);
    if (actionError) throw actionError;
  }

  /**
   * getStatefulSetRevisions: the update revision is the one holding the
   * set's template (created as revision max+1, named `<set>-<hash of its
   * data>`, or renumbered when an older one holds it: a rollback); the
   * current one is status.currentRevision's, or the update revision for a new set.
   */
  private async getRevisions(set: StatefulSet): Promise<{ current: ControllerRevision; update: ControllerRevision; revisions: ControllerRevision[] }> {
    const ns = set.metadata.namespace!;
    const revisions = this.d.revisions.indexer.byIndex(NAMESPACE_INDEX, ns).filter((r) => controllerRefOf(r)?.uid === set.metadata.uid);
    const choice = chooseRevision(revisions, set.spec?.template);
    let update = choice.match;
    if (update && update.revision < choice.revision) {
      update = await this.d.client.update<ControllerRevision>('controllerrevisions', { ...update, apiVersion: 'apps/v1', kind: 'ControllerRevision', revision: choice.revision }, { namespace: ns });
    }
    if (!update) {
      const collisionCount = set.status?.collisionCount;
      const hash = hashControllerRevision(templatePatch(set.spec?.template), collisionCount);
      const rev = newControllerRevision(set, stsRef(set), set.spec?.template, controllerRevisionName(set.metadata.name!, hash), hash, choice.revision);
      try {
        update = await this.d.client.create<ControllerRevision>('controllerrevisions', rev, { namespace: ns });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const existing = await this.d.client.get<ControllerRevision>('controllerrevisions', rev.metadata.name!, { namespace: ns });
        if (controllerRefOf(existing)?.uid === set.metadata.uid && chooseRevision([existing], set.spec?.template).match) update = existing;
        else {
          await this.d.client.updateStatus('statefulsets', { ...set, status: { replicas: 0, ...set.status, collisionCount: (collisionCount ?? 0) + 1 } });
          throw new Error(`controller revision ${ns}/${rev.metadata.name} exists with another template; collisionCount raised`, { cause: err });
        }
      }
    }
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    return { current, update, revisions: revisions.some((r) => r.metadata.name === update!.metadata.name) ? revisions : [...revisions, update] };
  }

  /** The plan's actions: in order for OrderedReady (at most one create or delete), in slow-start batches for Parallel. */
  private async perform(set: StatefulSet, actions: readonly StatefulSetAction[]): Promise<void> {
    const run = (a: StatefulSetAction) => this.act(set, a);
    if (isMonotonic(set)) {
      for (const a of actions) await run(a);
      return;
    }
    let next = 0;
    for (const size of slowStartBatches(actions.length)) {
      const batch = actions.slice(next, next + size);
      next += size;
      const results = await Promise.allSettled(batch.map(run));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
  }

  /** One action, told in an Event as upstream's StatefulPodControl does ("create Pod web-0 in StatefulSet web successful"). */
  private async act(set: StatefulSet, a: StatefulSetAction): Promise<void> {
    const ns = set.metadata.namespace!;
    const name = a.pod.metadata.name!;
    const verb = a.kind === 'patch' ? 'update' : a.kind;
    const Verb = verb[0]!.toUpperCase() + verb.slice(1);
    try {
      if (a.kind === 'create') await this.d.client.create<Pod>('pods', a.pod, { namespace: ns });
      else if (a.kind === 'delete') await this.d.client.delete('pods', name, { namespace: ns });
      else await this.d.client.patch('pods', name, a.patch, 'merge', { namespace: ns });
    } catch (err) {
      if (a.kind === 'delete' && isNotFound(err)) return;
      // Our own create, not yet in the cache: the pod's event syncs the set again.
      if (a.kind === 'create' && isAlreadyExists(err)) return;
      this.d.recorder.event(set, 'Warning', `Failed${Verb}`, `${verb} Pod ${name} in StatefulSet ${set.metadata.name} failed error: ${(err as Error).message}`);
      throw err;
    }
    this.d.recorder.event(set, 'Normal', `Successful${Verb}`, `${verb} Pod ${name} in StatefulSet ${set.metadata.name} successful`);
    this.d.log.info({ statefulset: keyOf(set), pod: name, action: a.kind, ...(a.kind === 'delete' ? { why: a.why } : {}) }, `${verb} pod`);
  }

  /** truncateHistory: old revisions beyond revisionHistoryLimit that are neither current, update, nor any pod's. */
  private async truncateHistory(set: StatefulSet, pods: readonly Pod[], current: ControllerRevision, update: ControllerRevision, revisions: readonly ControllerRevision[]): Promise<void> {
    const live = new Set([current.metadata.name!, update.metadata.name!]);
    for (const p of pods) {
      const r = podRevision(p);
      if (r) live.add(r);
    }
    const limit = set.spec?.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
    for (const r of revisionsToPrune(revisions, live, limit)) {
      await this.d.client.delete('controllerrevisions', r.metadata.name!, { namespace: set.metadata.namespace! }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
  }

  private async updateStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    if (statefulSetStatusEqual(set.status, status)) return;
    try {
      await this.d.client.updateStatus('statefulsets', { ...set, status });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}

function stsRef(set: StatefulSet): OwnerReference {
  return controllerRef({ apiVersion: STS_TYPE.apiVersion, kind: STS_TYPE.kind, name: set.metadata.name!, uid: set.metadata.uid! });
}

export const statefulSetControllerFactory: ControllerFactory = (ctx) => {
  const recorder = ctx.events.newRecorder({ component: 'statefulset-controller', host: hostname() });
  return new StatefulSetController({
    sets: ctx.informers.informer<StatefulSet>('statefulsets'),
    pods: ctx.informers.informer<Pod>('pods'),
    revisions: ctx.informers.informer<ControllerRevision>('controllerrevisions'),
    client: ctx.client,
    podControl: new RealPodControl(ctx.client, recorder),
    recorder,
    workers: STS_WORKERS,
    log: ctx.log,
    now: ctx.now,
  });
};
