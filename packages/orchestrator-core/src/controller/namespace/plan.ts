import type { KubeObject, Namespace, NamespaceCondition } from '@pilot/api';

/**
 * What the namespace controller does with one namespace (pure; upstream's
 * pkg/controller/namespace/deletion): a namespace that is being deleted and
 * still carries the `kubernetes` finalizer has its content deleted; once
 * nothing is left the finalizer is removed through `namespaces/finalize`, and
 * the apiserver removes the namespace. While content remains, the
 * namespace's conditions say what, as upstream's do.
 */

/** The finalizer token of the namespace controller (spec.finalizers). */
export const NAMESPACE_FINALIZER = 'kubernetes';

/** Objects of one resource still in the namespace. */
export interface Remaining {
  resource: string;
  items: readonly KubeObject[];
}

export type NamespacePlan =
  | { action: 'none' }
  /** Delete every object in it (again), then look at what is left. */
  | { action: 'deleteContent' };

export function planNamespace(ns: Namespace | undefined): NamespacePlan {
  if (!ns || !ns.metadata.deletionTimestamp) return { action: 'none' };
  if (!(ns.spec?.finalizers ?? []).includes(NAMESPACE_FINALIZER)) return { action: 'none' };
  return { action: 'deleteContent' };
}

/** spec.finalizers once the controller is done (what `finalize` is sent). */
export function finalizersAfter(ns: Namespace): string[] {
  return (ns.spec?.finalizers ?? []).filter((f) => f !== NAMESPACE_FINALIZER);
}

export type ContentState = { done: true } | { done: false; retryAfterMs: number; conditions: NamespaceCondition[] };

/**
 * After a round of deletes: done when nothing is left; otherwise wait for
 * what is terminating (the longest grace period left, at least a second)
 * and report upstream's NamespaceContentRemaining / NamespaceFinalizersRemaining.
 */
export function contentState(remaining: readonly Remaining[], now: Date): ContentState {
  const left = remaining.filter((r) => r.items.length > 0);
  if (left.length === 0) return { done: true };
  let waitMs = 1000;
  const finalizers = new Map<string, number>();
  for (const r of left) {
    for (const o of r.items) {
      for (const f of o.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
      const until = o.metadata.deletionTimestamp ? Date.parse(o.metadata.deletionTimestamp) - now.getTime() : NaN;
      if (Number.isFinite(until) && until > waitMs) waitMs = Math.min(until, 60_000);
    }
  }
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const conditions: NamespaceCondition[] = [
    {
      type: 'NamespaceContentRemaining',
      status: 'True',
      reason: 'SomeResourcesRemain',
      message: `Some resources are remaining: ${left
        .map((r) => `${r.resource} has ${r.items.length} resource instances`)
        .sort()
        .join(', ')}`,
      lastTransitionTime: at,
    },
  ];
  if (finalizers.size)
    conditions.push({
      type: 'NamespaceFinalizersRemaining',
      status: 'True',
      reason: 'SomeFinalizersRemain',
      message: `Some content in the namespace has finalizers remaining: ${[...finalizers]
        .map(([f, n]) => `${f} in ${n} resource instances`)
        .sort()
        .join(', ')}`,
      lastTransitionTime: at,
    });
  return { done: false, retryAfterMs: waitMs, conditions };
}
