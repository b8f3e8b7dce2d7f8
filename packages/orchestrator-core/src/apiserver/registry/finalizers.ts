import { FINALIZER_DELETE_DEPENDENTS as FOREGROUND_FINALIZER, FINALIZER_ORPHAN_DEPENDENTS as ORPHAN_FINALIZER, type DeleteOptions } from '@pilot/api';
import type { GarbageCollectionPolicy } from './strategy.js';

/**
 * The finalizers an object keeps when it is deleted with `opts`
 * (kube-apiserver's deletionFinalizersForGarbageCollection, from
 * shouldOrphanDependents / shouldDeleteDependents): an explicit
 * orphanDependents or propagationPolicy wins, then a collector finalizer the
 * object already has, then the resource's default policy. Other finalizers
 * stay as they are, in order; the collector's come last.
 */
export function deletionFinalizers(current: readonly string[], opts: DeleteOptions, policy: GarbageCollectionPolicy): string[] {
  if (policy === 'Unsupported') return [...current];
  const p = opts.propagationPolicy;
  const explicitOrphan = typeof opts.orphanDependents === 'boolean' ? opts.orphanDependents : undefined;
  let orphan: boolean;
  if (explicitOrphan !== undefined) orphan = explicitOrphan;
  else if (p === 'Orphan') orphan = true;
  else if (p === 'Background' || p === 'Foreground') orphan = false;
  else if (current.includes(ORPHAN_FINALIZER)) orphan = true;
  else if (current.includes(FOREGROUND_FINALIZER)) orphan = false;
  else orphan = policy === 'OrphanDependents';
  let foreground: boolean;
  if (explicitOrphan !== undefined) foreground = false;
  else if (p === 'Foreground') foreground = true;
  else if (p === 'Background' || p === 'Orphan') foreground = false;
  else foreground = !current.includes(ORPHAN_FINALIZER) && current.includes(FOREGROUND_FINALIZER);
  const out = current.filter((f) => f !== ORPHAN_FINALIZER && f !== FOREGROUND_FINALIZER);
  if (orphan) out.push(ORPHAN_FINALIZER);
  if (foreground) out.push(FOREGROUND_FINALIZER);
  return out;
}
