/**
 * When a pod on a NoExecute-tainted node goes (upstream's taint eviction
 * controller, pkg/controller/tainteviction: processPodOnNode,
 * GetMatchingTolerations, getMinTolerationTime), pure.
 *
 * - no NoExecute taint on the node, or every one tolerated without
 *   tolerationSeconds: the pod stays (a pending eviction is cancelled);
 * - a NoExecute taint the pod does not tolerate: it is deleted now;
 * - every taint tolerated: it is deleted `min(tolerationSeconds)` after its
 *   eviction was first scheduled (0 or less: now), the first matching
 *   toleration of each taint counting, as upstream.
 */
import { toleratesTaint, type Taint, type Toleration } from '@pilot/api';

export type EvictionPlan = { kind: 'keep' } | { kind: 'now' } | { kind: 'at'; atMs: number };

/** The first toleration matching each taint, or undefined when some taint is not tolerated (GetMatchingTolerations). */
export function matchingTolerations(taints: readonly Taint[], tolerations: readonly Toleration[] | undefined): Toleration[] | undefined {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const t = (tolerations ?? []).find((x) => toleratesTaint(x, taint));
    if (!t) return undefined;
    used.push(t);
  }
  return used;
}

/** The shortest tolerationSeconds in ms; -1 when none is bounded (tolerated forever); 0 for a bound ≤ 0. */
export function minTolerationMs(used: readonly Toleration[]): number {
  if (used.length === 0) return 0;
  let min = Infinity;
  for (const t of used) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Infinity ? -1 : min * 1000;
}

/**
 * The plan for one pod: `taints` are its node's taints (only NoExecute ones
 * count), `startMs` when its eviction was first scheduled (now, the first
 * time the pod is seen on a tainted node).
 */
export function planPodEviction(tolerations: readonly Toleration[] | undefined, taints: readonly Taint[] | undefined, startMs: number): EvictionPlan {
  const noExecute = (taints ?? []).filter((t) => t.effect === 'NoExecute');
  if (noExecute.length === 0) return { kind: 'keep' };
  const used = matchingTolerations(noExecute, tolerations);
  if (!used) return { kind: 'now' };
  const ms = minTolerationMs(used);
  if (ms < 0) return { kind: 'keep' };
  if (ms === 0) return { kind: 'now' };
  return { kind: 'at', atMs: startMs + ms };
}
