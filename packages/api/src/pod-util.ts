/**
 * Pod and owner predicates every consumer above the API reads the same way
 * (k8s.io/kubernetes pkg/api/v1/pod, controller_utils.go and apimachinery's
 * metav1.GetControllerOf): which pods are ready, available, terminal or
 * active, and which object controls an object.
 */
import type { KubeObject, OwnerReference, Pod, PodCondition } from './types.js';

/** The pod's Ready condition, if it has one. */
export function podReadyCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Ready=True (podutil.IsPodReady). */
export function isPodReady(pod: Pod): boolean {
  return podReadyCondition(pod)?.status === 'True';
}

/**
 * Ready for at least `minReadySeconds` at `nowMs` (podutil.IsPodAvailable);
 * with 0 every ready pod is available.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const c = podReadyCondition(pod);
  if (c?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return Number.isFinite(since) && since + minReadySeconds * 1000 < nowMs;
}

/** Succeeded or Failed: it will never run again (podutil.IsPodTerminal). */
export function isPodTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Neither terminal nor being deleted: what a replica count counts (controller.IsPodActive). */
export function isPodActive(pod: Pod): boolean {
  return !isPodTerminal(pod) && !pod.metadata.deletionTimestamp;
}

/** The ownerReference with controller=true, if any (metav1.GetControllerOf). */
export function controllerRefOf(obj: Pick<KubeObject, 'metadata'>): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}
