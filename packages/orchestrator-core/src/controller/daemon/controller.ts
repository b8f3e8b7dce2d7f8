/**
 * The DaemonSet controller (pkg/controller/daemon's DaemonSetsController):
 * one pod per eligible node. Handlers only enqueue DaemonSet keys (a pod's
 * owner; every DaemonSet when a node comes, goes or changes labels, taints
 * or schedulability) and count observed creates and deletes against the
 * expectations. `syncDaemonSet(key)` reads the DaemonSet, the nodes and its
 * pods from the informer caches, finds or writes its current
 * ControllerRevision (constructHistory; the revision's hash is the pods'
 * `controller-revision-hash`), claims its pods, lets the pure planner
 * (daemon-plan.ts) decide, creates pods (each with a node affinity for its
 * node: the scheduler binds it) and deletes pods, prunes old revisions and
 * writes the status through /status when it changed.
 */
import { hostname } from 'node:os';
import {
  controllerRefOf,
  isAlreadyExists,
  isNamespaceTerminating,
  isNotFound,
  keyOf,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
  runWorkers,
  WorkQueue,
  type ApiClient,
  type EventRecorder,
  type Informer,
  type Node,
  type OwnerReference,
  type Pod,
  CONTROLLER_REVISION_HASH_LABEL,
  type ControllerRevision,
  type DaemonSet,
  type DaemonSetStatus,
} from '@pilot/api';
import type { Logger } from '@pilot/common';
import { claimPods } from '../claim.js';
import { resolveControllerRef, selectingOwners } from '../controller-ref.js';
import type { Controller, ControllerFactory } from '../controller.js';
import { Expectations } from '../expectations.js';
import { chooseRevision, computeHash, DEFAULT_REVISION_HISTORY_LIMIT, newControllerRevision, revisionsToPrune } from '../history/history.js';
import { RealPodControl, type PodControl } from '../pod-control.js';
import { controllerRef, slowStartBatches } from '../replication/replica-plan.js';
import { calculateDaemonStatus, daemonPodTemplate, daemonStatusEqual, planDaemonSet, templateForNode } from './daemon-plan.js';

const DS_TYPE = { apiVersion: 'apps/v1', kind: 'DaemonSet' } as const;
/** upstream's --concurrent-daemonset-syncs default. */
const DS_WORKERS = 2;
/** upstream's BurstReplicas for daemon pods. */
const BURST_REPLICAS = 250;

export interface DaemonSetsControllerDeps {
  daemonSets: Informer<DaemonSet>;
  pods: Informer<Pod>;
  nodes: Informer<Node>;
  revisions: Informer<ControllerRevision>;
  client: Pick<ApiClient, 'get' | 'create' | 'update' | 'patch' | 'delete' | 'updateStatus'>;
  podControl: PodControl;
  recorder: Pick<EventRecorder, 'event'>;
  workers: number;
  log: Logger;
  now: () => number;
}

export class DaemonSetsController implements Controller {
  readonly name = 'daemonset';
  readonly queue = new WorkQueue<string>({ name: 'daemonset' });
  readonly expectations: Expectations;
  private readonly d: DaemonSetsControllerDeps;

  constructor(deps: DaemonSetsControllerDeps) {
    this.d = deps;
    this.expectations = new Expectations(deps.now);
    for (const inf of [deps.pods, deps.daemonSets, deps.revisions] as Informer<{ metadata: object }>[]) {
      if (!inf.indexer.hasIndex(NAMESPACE_INDEX)) inf.indexer.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    }
    deps.daemonSets.addHandler({
      onAdd: (ds) => this.queue.add(keyOf(ds)),
      onUpdate: (_old, ds) => this.queue.add(keyOf(ds)),
      onDelete: (ds) => {
        this.expectations.delete(keyOf(ds));
        this.queue.add(keyOf(ds));
      },
    });
    deps.pods.addHandler({
      onAdd: (p) => {
        if (p.metadata.deletionTimestamp) return this.podGone(p);
        const ds = this.ownerOf(p);
        if (ds) {
          this.expectations.creationObserved(keyOf(ds));
          this.queue.add(keyOf(ds));
        } else if (!controllerRefOf(p)) for (const m of this.matching(p)) this.queue.add(keyOf(m));
      },
      onUpdate: (old, cur) => {
        if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
        if (cur.metadata.deletionTimestamp) return this.podGone(cur);
        const oldOwner = this.ownerOf(old);
        const owner = this.ownerOf(cur);
        if (oldOwner && oldOwner !== owner) this.queue.add(keyOf(oldOwner));
        if (owner) this.queue.add(keyOf(owner));
        else if (!controllerRefOf(cur)) for (const m of this.matching(cur)) this.queue.add(keyOf(m));
      },
      onDelete: (p) => this.podGone(p),
    });
    deps.nodes.addHandler({
      onAdd: () => this.enqueueAll(),
      onUpdate: (old, cur) => {
        if (nodeChangedForDaemons(old, cur)) this.enqueueAll();
      },
      onDelete: () => this.enqueueAll(),
    });
    deps.revisions.addHandler({
      onAdd: (r) => this.revisionChanged(r),
      onDelete: (r) => this.revisionChanged(r),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await runWorkers(this.queue, this.d.workers, (key) => this.syncDaemonSet(key), {
      signal,
      onError: (key, err) => this.d.log.warn({ daemonset: key, err: (err as Error).message }, 'sync failed; retrying'),
    });
  }

  // ---------------------------------------------------------------- handlers (enqueue only)

  private podGone(p: Pod): void {
    const ds = this.ownerOf(p);
    if (!ds) return;
    this.expectations.deletionObserved(keyOf(ds), keyOf(p));
    this.queue.add(keyOf(ds));
  }

  private revisionChanged(r: ControllerRevision): void {
    const ds = resolveControllerRef(this.d.daemonSets.indexer, DS_TYPE.kind, r);
    if (ds) this.queue.add(keyOf(ds));
  }

  private enqueueAll(): void {
    for (const ds of this.d.daemonSets.indexer.list()) this.queue.add(keyOf(ds));
  }

  private ownerOf(pod: Pod): DaemonSet | undefined {
    return resolveControllerRef(this.d.daemonSets.indexer, DS_TYPE.kind, pod);
  }

  private matching(pod: Pod): DaemonSet[] {
    return selectingOwners(this.d.daemonSets.indexer, pod);
  }

  // ---------------------------------------------------------------- sync

  async syncDaemonSet(key: string): Promise<void> {
    const cached = this.d.daemonSets.indexer.get(key);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const ds: DaemonSet = { ...cached, ...DS_TYPE };
    // Being deleted: the garbage collector takes its pods.
    if (ds.metadata.deletionTimestamp) return;
    const nodes = this.d.nodes.indexer.list();
    const { hash, revisions, current } = await this.constructHistory(ds);
    const ref = dsRef(ds);
    const pods = await claimPods({
      owner: ds,
      selector: ds.spec?.selector,
      candidates: this.d.pods.indexer.byIndex(NAMESPACE_INDEX, ds.metadata.namespace ?? ''),
      ref,
      podControl: this.d.podControl,
      recheck: async () => {
        const fresh = await this.d.client.get<DaemonSet>('daemonsets', ds.metadata.name!, { namespace: ds.metadata.namespace! }).catch(() => undefined);
        return fresh !== undefined && fresh.metadata.uid === ds.metadata.uid && !fresh.metadata.deletionTimestamp;
      },
    });
    const input = { ds, nodes, pods, hash, nowMs: this.d.now() };
    let manageError: Error | undefined;
    if (this.expectations.satisfied(key)) {
      const plan = planDaemonSet(input);
      manageError = await this.syncNodes(key, ds, ref, hash, plan.createOn, plan.deletePods, plan.orphaned, plan.failed).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      if (plan.reason === 'rollingUpdate') this.d.log.info({ daemonset: key, deleting: plan.deletePods.map((p) => p.metadata.name) }, 'rolling update: replacing old pods');
      await this.cleanupHistory(ds, pods, current, revisions);
    }
    await this.updateStatus(ds, calculateDaemonStatus(input));
    if (manageError) throw manageError;
  }

  /**
   * constructHistory: the revision holding the current template, created
   * (revision max+1, named `<ds>-<hash>`) when none does, renumbered when an
   * older one does (a rollback); duplicates of it are deleted.
   */
  private async constructHistory(ds: DaemonSet): Promise<{ hash: string; current: ControllerRevision; revisions: ControllerRevision[] }> {
    const revisions = this.d.revisions.indexer
      .byIndex(NAMESPACE_INDEX, ds.metadata.namespace ?? '')
      .filter((r) => controllerRefOf(r)?.uid === ds.metadata.uid);
    const choice = chooseRevision(revisions, ds.spec?.template);
    let current = choice.match;
    for (const dup of choice.duplicates) {
      await this.d.client.delete('controllerrevisions', dup.metadata.name!, { namespace: ds.metadata.namespace! }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
    if (current && current.revision < choice.revision) {
      current = await this.d.client.update<ControllerRevision>('controllerrevisions', { ...current, apiVersion: 'apps/v1', kind: 'ControllerRevision', revision: choice.revision }, { namespace: ds.metadata.namespace! });
    }
    if (!current) {
      const collisionCount = ds.status?.collisionCount;
      const hash = computeHash(ds.spec?.template, collisionCount);
      const rev = newControllerRevision(ds, dsRef(ds), ds.spec?.template, `${ds.metadata.name}-${hash}`, hash, choice.revision);
      try {
        current = await this.d.client.create<ControllerRevision>('controllerrevisions', rev, { namespace: ds.metadata.namespace! });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const existing = await this.d.client.get<ControllerRevision>('controllerrevisions', rev.metadata.name!, { namespace: ds.metadata.namespace! });
        if (controllerRefOf(existing)?.uid === ds.metadata.uid && chooseRevision([existing], ds.spec?.template).match) current = existing;
        else {
          // A hash collision with another template (or another owner's revision): try the next hash.
          await this.d.client.updateStatus('daemonsets', { ...ds, status: { ...emptyStatus(), ...ds.status, collisionCount: (collisionCount ?? 0) + 1 } });
          throw new Error(`controller revision ${rev.metadata.namespace}/${rev.metadata.name} exists with another template; collisionCount raised`, { cause: err });
        }
      }
    }
    const hash = current.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? current.metadata.name!.slice(ds.metadata.name!.length + 1);
    return { hash, current, revisions };
  }

  /** cleanupHistory: old revisions beyond revisionHistoryLimit that no pod runs. */
  private async cleanupHistory(ds: DaemonSet, pods: readonly Pod[], current: ControllerRevision, revisions: readonly ControllerRevision[]): Promise<void> {
    const liveHashes = new Set(pods.map((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]).filter((h): h is string => h !== undefined));
    const live = new Set([current.metadata.name!]);
    for (const r of revisions) if (liveHashes.has(r.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '')) live.add(r.metadata.name!);
    const limit = ds.spec?.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
    for (const r of revisionsToPrune(revisions.filter((r) => r.metadata.name !== current.metadata.name), live, limit)) {
      await this.d.client.delete('controllerrevisions', r.metadata.name!, { namespace: ds.metadata.namespace! }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
  }

  /** syncNodes: the creates (slow start, each its node's affinity) and deletes, each recorded as an expectation first. */
  private async syncNodes(key: string, ds: DaemonSet, ref: OwnerReference, hash: string, createOn: readonly string[], remove: readonly Pod[], orphaned: readonly Pod[], failed: readonly Pod[]): Promise<void> {
    const ns = ds.metadata.namespace!;
    const creates = createOn.slice(0, BURST_REPLICAS);
    const deletes = [...remove, ...orphaned].slice(0, BURST_REPLICAS);
    const force = new Set(orphaned);
    this.expectations.expect(key, creates.length, deletes.map((p) => keyOf(p)));
    this.d.log.debug({ daemonset: key, create: creates, delete: deletes.map((p) => p.metadata.name) }, 'syncing nodes');
    for (const p of failed) this.d.recorder.event(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${p.metadata.namespace}/${p.metadata.name} on node ${p.spec?.nodeName ?? ''}, will try to kill it`);
    let firstError: Error | undefined;
    if (creates.length) {
      const template = daemonPodTemplate(ds, hash);
      let next = 0;
      let done = 0;
      for (const size of slowStartBatches(creates.length)) {
        const batch = creates.slice(next, next + size);
        next += size;
        const results = await Promise.allSettled(batch.map((node) => this.d.podControl.createPod(ns, templateForNode(template, node), ds, ref)));
        for (const r of results) {
          if (r.status === 'fulfilled' || isNamespaceTerminating(r.reason)) done++;
          else firstError ??= r.reason as Error;
        }
        if (firstError) break;
      }
      for (let i = done; i < creates.length; i++) this.expectations.creationObserved(key);
    }
    if (deletes.length) {
      await Promise.all(
        deletes.map(async (p) => {
          try {
            if (force.has(p)) {
              // Bound to a node that is gone: no kubelet will finish it (upstream's pod GC deletes these at once).
              await this.d.client.delete('pods', p.metadata.name!, { namespace: ns, gracePeriodSeconds: 0 });
              this.d.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
            } else await this.d.podControl.deletePod(ns, p.metadata.name!, ds);
          } catch (err) {
            this.expectations.deletionObserved(key, keyOf(p));
            if (!isNotFound(err)) firstError ??= err as Error;
          }
        }),
      );
    }
    if (firstError) throw firstError;
  }

  private async updateStatus(ds: DaemonSet, status: DaemonSetStatus): Promise<void> {
    if (daemonStatusEqual(ds.status, status)) return;
    try {
      await this.d.client.updateStatus('daemonsets', { ...ds, status });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}

function emptyStatus(): DaemonSetStatus {
  return { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
}

/** What of a node can change where daemon pods belong: labels, taints, schedulability, readiness. */
function nodeChangedForDaemons(old: Node, cur: Node): boolean {
  return (
    JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(cur.metadata.labels ?? {}) ||
    JSON.stringify(old.spec?.taints ?? []) !== JSON.stringify(cur.spec?.taints ?? []) ||
    Boolean(old.spec?.unschedulable) !== Boolean(cur.spec?.unschedulable)
  );
}

function dsRef(ds: DaemonSet): OwnerReference {
  return controllerRef({ apiVersion: DS_TYPE.apiVersion, kind: DS_TYPE.kind, name: ds.metadata.name!, uid: ds.metadata.uid! });
}

export const daemonSetsControllerFactory: ControllerFactory = (ctx) => {
  const recorder = ctx.events.newRecorder({ component: 'daemonset-controller', host: hostname() });
  return new DaemonSetsController({
    daemonSets: ctx.informers.informer<DaemonSet>('daemonsets'),
    pods: ctx.informers.informer<Pod>('pods'),
    nodes: ctx.informers.informer<Node>('nodes'),
    revisions: ctx.informers.informer<ControllerRevision>('controllerrevisions'),
    client: ctx.client,
    podControl: new RealPodControl(ctx.client, recorder),
    recorder,
    workers: DS_WORKERS,
    log: ctx.log,
    now: ctx.now,
  });
};
