import { FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN_DEPENDENTS, type KubeObject, type OwnerReference } from '@pilot/api';

/**
 * The garbage collector's decisions (kube-controller-manager's
 * pkg/controller/garbagecollector: attemptToDeleteItem, classifyReferences,
 * processDeletingDependentsItem, orphanDependents), pure over what the
 * caches say about an object, its owners and its dependents. The controller
 * performs the actions in order and re-plans on the next change.
 */

const ORPHAN_FINALIZER = FINALIZER_ORPHAN_DEPENDENTS;
const FOREGROUND_FINALIZER = FINALIZER_DELETE_DEPENDENTS;

export type Propagation = 'Background' | 'Foreground' | 'Orphan';

/** What is known about one owner an object names. */
export type OwnerView =
  /** Confirmed gone (or a different object of that name now: another uid). */
  | { state: 'absent' }
  /** Present; its metadata says whether it is being deleted and how. */
  | { state: 'present'; obj: KubeObject }
  /** A kind the collector cannot look up: never treated as gone. */
  | { state: 'unknown' };

export interface ClassifiedOwners {
  /** Owners that exist and are not waiting for their dependents: the object stays. */
  solid: OwnerReference[];
  /** Owners that are gone. */
  dangling: OwnerReference[];
  /** Owners in foreground deletion (deletionTimestamp + foregroundDeletion): they wait for this object to go. */
  waitingForDependentsDeletion: OwnerReference[];
}

/** An object the collector acts on: enough to address and guard a write. */
export interface Target {
  kind: string;
  apiVersion: string;
  namespace?: string;
  name: string;
  uid: string;
}

export type GcAction =
  /** DELETE with a uid precondition (the object must still be the one planned for). */
  | { type: 'delete'; target: Target; propagationPolicy: Propagation }
  /** Remove the ownerReferences with these uids from the target. */
  | { type: 'removeOwnerReferences'; target: Target; uids: string[] }
  /** Set blockOwnerDeletion to false on the target's ownerReferences with these uids (a cycle would hold its owners forever). */
  | { type: 'unblockOwnerReferences'; target: Target; uids: string[] }
  /** Remove one finalizer from the target (the apiserver then finishes its deletion). */
  | { type: 'removeFinalizer'; target: Target; finalizer: string }
  /** Look at this dependent again (attemptToDelete): its owner started waiting for it. */
  | { type: 'attemptToDelete'; target: Target };

export function targetOf(obj: KubeObject): Target {
  return {
    kind: obj.kind ?? '',
    apiVersion: obj.apiVersion ?? '',
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata.name ?? '',
    uid: obj.metadata.uid ?? '',
  };
}

export const hasFinalizer = (obj: KubeObject, f: string): boolean => obj.metadata.finalizers?.includes(f) ?? false;
export const isBeingDeleted = (obj: KubeObject): boolean => obj.metadata.deletionTimestamp !== undefined && obj.metadata.deletionTimestamp !== null;
/** In foreground deletion: deleted, waiting for its blocking dependents. */
export const isDeletingDependents = (obj: KubeObject): boolean => isBeingDeleted(obj) && hasFinalizer(obj, FOREGROUND_FINALIZER);
/** Deleted with Orphan: its dependents lose their reference to it first. */
export const isOrphaning = (obj: KubeObject): boolean => isBeingDeleted(obj) && hasFinalizer(obj, ORPHAN_FINALIZER);

/** Sorts an object's owners by what they mean for it (upstream's classifyReferences). */
export function classifyOwners(refs: readonly OwnerReference[], view: (ref: OwnerReference) => OwnerView): ClassifiedOwners {
  const out: ClassifiedOwners = { solid: [], dangling: [], waitingForDependentsDeletion: [] };
  for (const ref of refs) {
    const v = view(ref);
    if (v.state === 'absent') out.dangling.push(ref);
    else if (v.state === 'present' && isDeletingDependents(v.obj)) out.waitingForDependentsDeletion.push(ref);
    else out.solid.push(ref);
  }
  return out;
}

/**
 * attemptToDeleteItem for one object with owners: kept while one owner is
 * solid (references to gone or waiting owners are removed), otherwise
 * deleted — in Foreground when a waiting owner needs its own dependents
 * gone first, else with the propagation its finalizers already ask for
 * (Orphan, Foreground) or Background. `dependents` are the objects that name
 * it as an owner.
 *
 * Deleted in Foreground while one of its own dependents is in foreground
 * deletion too, it might be in an ownership cycle (a waits for b, which waits
 * for a): as upstream, its blocking references are made non-blocking first,
 * so its owners never wait on it forever. (Upstream's check, with its false
 * positives: such an owner then goes without waiting for this object.)
 */
export function planDependent(obj: KubeObject, view: (ref: OwnerReference) => OwnerView, dependents: readonly KubeObject[]): GcAction[] {
  const refs = obj.metadata.ownerReferences ?? [];
  if (refs.length === 0) return [];
  // Already going, and not waiting for dependents of its own: its deletion is under way.
  if (isBeingDeleted(obj) && !isDeletingDependents(obj)) return [];
  const owners = classifyOwners(refs, view);
  const target = targetOf(obj);
  if (owners.solid.length > 0) {
    const uids = [...owners.dangling, ...owners.waitingForDependentsDeletion].map((r) => r.uid);
    return uids.length ? [{ type: 'removeOwnerReferences', target, uids }] : [];
  }
  if (isBeingDeleted(obj)) return [];
  if (owners.waitingForDependentsDeletion.length > 0 && dependents.length > 0) {
    const actions: GcAction[] = [];
    const unblock = dependents.some(isDeletingDependents) ? blockingRefUids(obj) : [];
    if (unblock.length > 0) actions.push({ type: 'unblockOwnerReferences', target, uids: unblock });
    actions.push({ type: 'delete', target, propagationPolicy: 'Foreground' });
    return actions;
  }
  const propagationPolicy: Propagation = hasFinalizer(obj, ORPHAN_FINALIZER) ? 'Orphan' : hasFinalizer(obj, FOREGROUND_FINALIZER) ? 'Foreground' : 'Background';
  return [{ type: 'delete', target, propagationPolicy }];
}

/** The uids of the owner references that hold their owner's foreground deletion. */
export function blockingRefUids(obj: KubeObject): string[] {
  return (obj.metadata.ownerReferences ?? []).filter((r) => r.blockOwnerDeletion === true).map((r) => r.uid);
}

/**
 * Whether `start`, in foreground deletion, waits on itself: following its
 * blocking dependents that are in foreground deletion too (each waits for
 * its own) leads back to it. `blockingDependents` gives the objects whose
 * reference to an object has blockOwnerDeletion.
 */
export function waitsOnItself(start: KubeObject, blockingDependents: (owner: KubeObject) => readonly KubeObject[]): boolean {
  const startUid = start.metadata.uid;
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length > 0) {
    for (const d of blockingDependents(stack.pop()!)) {
      if (!isDeletingDependents(d)) continue;
      const uid = d.metadata.uid ?? '';
      if (uid === startUid) return true;
      if (seen.has(uid)) continue;
      seen.add(uid);
      stack.push(d);
    }
  }
  return false;
}

/** The reference of `dependent` to `owner`, if it has one. */
export function refTo(dependent: KubeObject, ownerUid: string): OwnerReference | undefined {
  return dependent.metadata.ownerReferences?.find((r) => r.uid === ownerUid);
}

/**
 * An owner that is being deleted and holds a collector finalizer:
 * - `orphan`: every dependent loses its reference to the owner, then the
 *   finalizer goes (upstream's orphanDependents + removeFinalizer);
 * - `foregroundDeletion`: every dependent not yet going is looked at again
 *   (it has no solid owner left, so it is deleted); the finalizer goes once
 *   no dependent with `blockOwnerDeletion: true` remains
 *   (processDeletingDependentsItem). A dependent in foreground deletion
 *   itself is not looked at: it waits for its own dependents, and looking at
 *   it would only bring this owner back.
 *   When every blocking dependent is in foreground deletion and the owner is
 *   one of a cycle of such waits (`inCycle`, see waitsOnItself), nothing
 *   would ever finish: the owner's own blocking references are made
 *   non-blocking, so the cycle's other members stop waiting for it. Upstream
 *   leaves such a cycle (both ends deleted in Foreground) stuck forever.
 * Anything else: nothing.
 */
export function planOwner(owner: KubeObject, dependents: readonly KubeObject[], inCycle: () => boolean = () => false): GcAction[] {
  if (!isBeingDeleted(owner)) return [];
  const uid = owner.metadata.uid ?? '';
  const mine = dependents.filter((d) => refTo(d, uid));
  const target = targetOf(owner);
  if (hasFinalizer(owner, ORPHAN_FINALIZER)) {
    return [...mine.map((d): GcAction => ({ type: 'removeOwnerReferences', target: targetOf(d), uids: [uid] })), { type: 'removeFinalizer', target, finalizer: ORPHAN_FINALIZER }];
  }
  if (hasFinalizer(owner, FOREGROUND_FINALIZER)) {
    const blocking = mine.filter((d) => refTo(d, uid)?.blockOwnerDeletion === true);
    if (blocking.length === 0) return [{ type: 'removeFinalizer', target, finalizer: FOREGROUND_FINALIZER }];
    const actions = mine.filter((d) => !isBeingDeleted(d)).map((d): GcAction => ({ type: 'attemptToDelete', target: targetOf(d) }));
    const unblock = blockingRefUids(owner);
    if (unblock.length > 0 && blocking.every(isDeletingDependents) && inCycle()) actions.push({ type: 'unblockOwnerReferences', target, uids: unblock });
    return actions;
  }
  return [];
}
