/**
 * The garbage collector (kube-controller-manager's pkg/controller/garbagecollector).
 *
 * The graph builder half: one shared informer per monitored resource (every
 * served resource but events, as upstream ignores them) feeds an owner graph
 * (owner uid → dependents) that handlers keep current and that only
 * enqueues object keys. The worker half: `syncItem(key)` reads the object,
 * resolves each of its owners (cache, then a live GET before anything is
 * called gone), asks the pure planner (plan.ts) and performs its actions:
 * - Background: an object whose owners are all gone is deleted;
 * - Foreground: an owner the apiserver marked with `foregroundDeletion` has
 *   its dependents deleted, and loses the finalizer (so the apiserver removes
 *   it) once no dependent with `blockOwnerDeletion` remains;
 * - Orphan: an owner marked with `orphan` has its reference removed from each
 *   dependent, then loses the finalizer;
 * - cycles (a owns b owns a, both blocking): the references of a member
 *   deleted in Foreground are made non-blocking, so no foreground deletion
 *   waits forever (plan.ts).
 * Writes are guarded: deletes by uid precondition, patches by JSON-patch
 * tests of the uid and of the list they rewrite, so a stale cache never
 * clobbers a newer object; a failed guard re-plans from the newer state.
 */
import {
  ApiError,
  isConflict,
  isInvalid,
  isNotFound,
  resourceForKind,
  RESOURCES,
  runWorkers,
  WorkQueue,
  type ApiClient,
  type Informer,
  type KubeObject,
  type OwnerReference,
  type ResourceInfo,
} from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Controller, ControllerFactory } from '../controller.js';
import { isBeingDeleted, planDependent, planOwner, refTo, waitsOnItself, type GcAction, type OwnerView, type Target } from './plan.js';

export const NAME = 'garbagecollector';
/** Upstream's --concurrent-gc-syncs default. */
const WORKERS = 20;
/** Resources the collector never watches (upstream's DefaultIgnoredResources). */
export const IGNORED_RESOURCES = new Set(['events']);
const ABSENT_CACHE_SIZE = 1000;

type ItemKey = string;
const itemKey = (resource: string, namespace: string | undefined, name: string): ItemKey => `${resource}|${namespace ?? ''}|${name}`;
function parseItemKey(k: ItemKey): { resource: string; namespace?: string; name: string } {
  const [resource, namespace, name] = k.split('|') as [string, string, string];
  return { resource, ...(namespace ? { namespace } : {}), name };
}

export interface GarbageCollectorDeps {
  client: Pick<ApiClient, 'get' | 'delete' | 'patch'>;
  informers: ReadonlyMap<string, Informer<KubeObject>>;
  log: Logger;
  workers?: number;
}

export class GarbageCollector implements Controller {
  readonly name = NAME;
  readonly queue = new WorkQueue<ItemKey>({ name: NAME });
  /** owner uid → keys of the objects that name it. */
  private readonly dependents = new Map<string, Set<ItemKey>>();
  /** uid → key of every monitored object (to find an owner by the uid a dependent names). */
  private readonly byUid = new Map<string, ItemKey>();
  /** Owners a live read found gone (upstream's absentOwnerCache), by uid. */
  private readonly absent = new Set<string>();

  constructor(private readonly d: GarbageCollectorDeps) {
    for (const [resource, inf] of d.informers) {
      inf.addHandler({
        onAdd: (o) => this.observe(resource, undefined, o),
        onUpdate: (old, o) => this.observe(resource, old, o),
        onDelete: (o) => this.forget(resource, o),
      });
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    const stop = () => this.queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await runWorkers(this.queue, this.d.workers ?? WORKERS, (k) => this.syncItem(k), {
        signal,
        onError: (k, err) => this.d.log.warn({ item: k, err: (err as Error).message }, 'garbage collection of an item failed; retrying'),
      });
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  // ---------------------------------------------------------------- graph builder (enqueue only)

  private observe(resource: string, old: KubeObject | undefined, obj: KubeObject): void {
    const key = itemKey(resource, obj.metadata.namespace, obj.metadata.name!);
    const uid = obj.metadata.uid ?? '';
    this.byUid.set(uid, key);
    const before = new Set((old?.metadata.ownerReferences ?? []).map((r) => r.uid));
    const now = new Set((obj.metadata.ownerReferences ?? []).map((r) => r.uid));
    for (const u of before) if (!now.has(u)) this.unlink(u, key);
    for (const u of now) {
      let set = this.dependents.get(u);
      if (!set) this.dependents.set(u, (set = new Set()));
      set.add(key);
    }
    const refsChanged = !old || before.size !== now.size || [...now].some((u) => !before.has(u));
    const deletionChanged = !old || isBeingDeleted(old) !== isBeingDeleted(obj) || (old.metadata.finalizers ?? []).join() !== (obj.metadata.finalizers ?? []).join();
    if ((now.size > 0 && refsChanged) || (isBeingDeleted(obj) && deletionChanged)) this.queue.add(key);
    // An owner waiting on its dependents looks again when one of them changes.
    if (old) this.enqueueDeletingOwners(obj);
  }

  private forget(resource: string, obj: KubeObject): void {
    const key = itemKey(resource, obj.metadata.namespace, obj.metadata.name!);
    const uid = obj.metadata.uid ?? '';
    if (this.byUid.get(uid) === key) this.byUid.delete(uid);
    for (const r of obj.metadata.ownerReferences ?? []) this.unlink(r.uid, key);
    // Its dependents may now have no owner left.
    for (const dep of this.dependents.get(uid) ?? []) this.queue.add(dep);
    this.enqueueDeletingOwners(obj);
  }

  private unlink(ownerUid: string, key: ItemKey): void {
    const set = this.dependents.get(ownerUid);
    if (!set) return;
    set.delete(key);
    if (set.size === 0) this.dependents.delete(ownerUid);
  }

  private enqueueDeletingOwners(obj: KubeObject): void {
    for (const r of obj.metadata.ownerReferences ?? []) {
      const k = this.byUid.get(r.uid);
      const owner = k ? this.cached(k) : undefined;
      if (k && owner && isBeingDeleted(owner)) this.queue.add(k);
    }
  }

  private cached(key: ItemKey): KubeObject | undefined {
    const { resource, namespace, name } = parseItemKey(key);
    return this.d.informers.get(resource)?.indexer.getByName(namespace, name);
  }

  // ---------------------------------------------------------------- worker

  async syncItem(key: ItemKey): Promise<void> {
    const obj = this.cached(key);
    if (!obj) return;
    const uid = obj.metadata.uid ?? '';
    const deps = [...(this.dependents.get(uid) ?? [])].map((k) => this.cached(k)).filter((o): o is KubeObject => o !== undefined);
    const views = new Map<string, OwnerView>();
    for (const ref of obj.metadata.ownerReferences ?? []) views.set(ref.uid, await this.ownerView(obj, ref));
    const actions: GcAction[] = [...planOwner(obj, deps, () => waitsOnItself(obj, (o) => this.blockingDependents(o))), ...planDependent(obj, (ref) => views.get(ref.uid) ?? { state: 'unknown' }, deps)];
    // In order, and no further than a write that did not happen (a delete must not follow a failed unblock).
    for (const a of actions) if (!(await this.perform(a))) return;
  }

  /** The cached objects whose reference to `owner` has blockOwnerDeletion. */
  private blockingDependents(owner: KubeObject): KubeObject[] {
    const uid = owner.metadata.uid ?? '';
    return [...(this.dependents.get(uid) ?? [])].map((k) => this.cached(k)).filter((o): o is KubeObject => o !== undefined && refTo(o, uid)?.blockOwnerDeletion === true);
  }

  /** What is known of one owner: the cache when it holds that uid, else a live read (never "gone" on the cache's word alone). */
  private async ownerView(dependent: KubeObject, ref: OwnerReference): Promise<OwnerView> {
    const r = resourceForKind(ref.kind, ref.apiVersion);
    if (!r || !this.d.informers.has(r.resource)) return { state: 'unknown' };
    const namespace = r.namespaced ? dependent.metadata.namespace : undefined;
    if (r.namespaced && !namespace) return { state: 'absent' }; // a cluster-scoped object cannot have a namespaced owner
    const inCache = this.d.informers.get(r.resource)!.indexer.getByName(namespace, ref.name);
    if (inCache?.metadata.uid === ref.uid) return { state: 'present', obj: inCache };
    if (this.absent.has(ref.uid)) return { state: 'absent' };
    try {
      const live = await this.d.client.get(r.resource, ref.name, namespace ? { namespace } : {});
      if (live.metadata.uid === ref.uid) return { state: 'present', obj: live };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.rememberAbsent(ref.uid);
    return { state: 'absent' };
  }

  private rememberAbsent(uid: string): void {
    if (this.absent.size >= ABSENT_CACHE_SIZE) this.absent.delete(this.absent.values().next().value!);
    this.absent.add(uid);
  }

  /** Performs one action; false when it did not happen because the object changed, so the rest of the plan waits for the re-plan. */
  private async perform(a: GcAction): Promise<boolean> {
    const r = resourceOf(a.target);
    if (a.type === 'attemptToDelete') {
      if (r) this.queue.add(itemKey(r.resource, a.target.namespace, a.target.name));
      return true;
    }
    if (!r) return false;
    const ns = a.target.namespace ? { namespace: a.target.namespace } : {};
    const what = `${r.resource} ${a.target.namespace ? `${a.target.namespace}/` : ''}${a.target.name}`;
    try {
      if (a.type === 'delete') {
        await this.d.client.delete(r.resource, a.target.name, { ...ns, propagationPolicy: a.propagationPolicy, preconditions: { uid: a.target.uid } });
        this.d.log.info({ object: what, propagationPolicy: a.propagationPolicy }, 'deleted object whose owners are gone');
        return true;
      }
      const cur = this.d.informers.get(r.resource)?.indexer.getByName(a.target.namespace, a.target.name);
      // Gone: nothing left to do to it. Another object of that name: the plan was for the old one.
      if (!cur) return true;
      if (cur.metadata.uid !== a.target.uid) return false;
      if (a.type === 'removeOwnerReferences' || a.type === 'unblockOwnerReferences') {
        const refs = cur.metadata.ownerReferences ?? [];
        const next =
          a.type === 'removeOwnerReferences'
            ? refs.filter((x) => !a.uids.includes(x.uid))
            : refs.map((x) => (a.uids.includes(x.uid) && x.blockOwnerDeletion === true ? { ...x, blockOwnerDeletion: false } : x));
        if (JSON.stringify(next) === JSON.stringify(refs)) return true;
        await this.d.client.patch(r.resource, a.target.name, guardedListPatch(a.target.uid, '/metadata/ownerReferences', refs, next), 'json', ns);
        if (a.type === 'removeOwnerReferences') this.d.log.info({ object: what, owners: a.uids }, 'removed owner references');
        else this.d.log.info({ object: what, owners: a.uids }, 'owner references made non-blocking: the object is in a cycle of foreground deletions');
      } else {
        const fins = cur.metadata.finalizers ?? [];
        if (!fins.includes(a.finalizer)) return true;
        await this.d.client.patch(r.resource, a.target.name, guardedListPatch(a.target.uid, '/metadata/finalizers', fins, fins.filter((f) => f !== a.finalizer)), 'json', ns);
        this.d.log.info({ object: what, finalizer: a.finalizer }, 'removed finalizer');
      }
      return true;
    } catch (err) {
      if (isNotFound(err)) return true;
      // A precondition or test that failed: the object changed; its change event re-plans it.
      if (isConflict(err) || isInvalid(err) || (err instanceof ApiError && err.code === 409)) {
        this.d.log.debug({ object: what, err: (err as Error).message }, 'object changed under the collector; re-planning');
        return false;
      }
      throw err;
    }
  }
}

function resourceOf(t: Target): ResourceInfo | undefined {
  return resourceForKind(t.kind, t.apiVersion);
}

/** A JSON patch that rewrites one list only if the object and the list are still what the plan saw. */
export function guardedListPatch(uid: string, path: string, current: readonly unknown[], next: readonly unknown[]): unknown[] {
  return [
    { op: 'test', path: '/metadata/uid', value: uid },
    { op: 'test', path, value: current },
    next.length ? { op: 'replace', path, value: next } : { op: 'remove', path },
  ];
}

export const garbageCollectorFactory: ControllerFactory = (ctx) => {
  const informers = new Map<string, Informer<KubeObject>>();
  for (const r of RESOURCES) if (!IGNORED_RESOURCES.has(r.resource) && r.verbs.includes('watch')) informers.set(r.resource, ctx.informers.informer(r.resource));
  return new GarbageCollector({ client: ctx.client, informers, log: ctx.log });
};
