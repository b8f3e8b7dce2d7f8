/**
 * The disruption controller's arithmetic as pure functions
 * (pkg/controller/disruption/disruption.go): how many pods a
 * PodDisruptionBudget expects, how many must stay healthy, how many are
 * healthy now, and so how many may be disrupted. The eviction subresource
 * spends what this allows; the controller recomputes it from the pods.
 */
import { formatTime, isPodReady, type Pod, type PodDisruptionBudget, type PodDisruptionBudgetStatus } from '@pilot/api';

/** upstream's DeletionTimeout: an admitted eviction whose delete never showed stops counting after this. */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60_000;

/** A count or a percentage (`"50%"`) of `total`, rounded up as upstream's GetScaledValueFromIntOrPercent(…, true). */
export function scaledValue(v: number | string, total: number): number {
  if (typeof v === 'number') return v;
  const m = /^([0-9]+)%$/.exec(v);
  if (!m) throw new Error(`invalid value for IntOrString: invalid value "${v}"`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/**
 * expectedCount and desiredHealthy (getExpectedPodCount): an integer
 * minAvailable counts the selected pods; a percentage or maxUnavailable
 * counts what the pods' controllers want (`controllerScale`, undefined when
 * no controller answered).
 */
export function expectedPods(pdb: PodDisruptionBudget, pods: readonly Pod[], controllerScale: number | undefined): { expected: number; desiredHealthy: number } {
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable !== undefined) {
    const expected = controllerScale ?? pods.length;
    return { expected, desiredHealthy: Math.max(0, expected - scaledValue(spec.maxUnavailable, expected)) };
  }
  if (spec.minAvailable !== undefined) {
    if (typeof spec.minAvailable === 'number') return { expected: pods.length, desiredHealthy: spec.minAvailable };
    const expected = controllerScale ?? pods.length;
    return { expected, desiredHealthy: scaledValue(spec.minAvailable, expected) };
  }
  // Neither set: the API's default is minAvailable 1.
  return { expected: pods.length, desiredHealthy: 1 };
}

/**
 * The disruptedPods entries still in flight (buildDisruptedPodMap): a pod
 * gone or being deleted has finished its eviction; one older than the
 * timeout was never deleted. Also says when the oldest kept entry expires.
 */
export function liveDisruptedPods(pdb: PodDisruptionBudget, pods: readonly Pod[], nowMs: number): { kept: Record<string, string>; recheckAfterMs?: number } {
  const byName = new Map(pods.map((p) => [p.metadata.name!, p]));
  const kept: Record<string, string> = {};
  let recheck: number | undefined;
  for (const [name, at] of Object.entries(pdb.status?.disruptedPods ?? {})) {
    const pod = byName.get(name);
    if (!pod || pod.metadata.deletionTimestamp) continue;
    const expires = Date.parse(at) + DISRUPTED_POD_TIMEOUT_MS;
    if (Number.isNaN(expires) || expires <= nowMs) continue;
    kept[name] = at;
    recheck = Math.min(recheck ?? Infinity, expires - nowMs);
  }
  return recheck === undefined ? { kept } : { kept, recheckAfterMs: recheck };
}

/** Ready, not being deleted and not just evicted (countHealthyPods). */
export function countHealthy(pods: readonly Pod[], disrupted: Readonly<Record<string, string>>): number {
  return pods.filter((p) => !p.metadata.deletionTimestamp && !(p.metadata.name! in disrupted) && isPodReady(p)).length;
}

/** The budget's new status; `recheckAfterMs` when a disrupted pod's entry will expire. */
export function computeStatus(pdb: PodDisruptionBudget, pods: readonly Pod[], controllerScale: number | undefined, nowMs: number): { status: PodDisruptionBudgetStatus; recheckAfterMs?: number } {
  const { kept, recheckAfterMs } = liveDisruptedPods(pdb, pods, nowMs);
  const { expected, desiredHealthy } = expectedPods(pdb, pods, controllerScale);
  const currentHealthy = countHealthy(pods, kept);
  const disruptionsAllowed = expected <= 0 ? 0 : Math.max(0, currentHealthy - desiredHealthy);
  const allowed = disruptionsAllowed > 0;
  const prevCond = pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed');
  const status = allowed ? 'True' : 'False';
  const condition = {
    type: 'DisruptionAllowed',
    status,
    reason: allowed ? 'SufficientPods' : 'InsufficientPods',
    message: '',
    observedGeneration: pdb.metadata.generation ?? 0,
    lastTransitionTime: prevCond && prevCond.status === status && prevCond.lastTransitionTime ? prevCond.lastTransitionTime : formatTime(new Date(nowMs)),
  };
  const out: PodDisruptionBudgetStatus = {
    observedGeneration: pdb.metadata.generation ?? 0,
    disruptionsAllowed,
    currentHealthy,
    desiredHealthy,
    expectedPods: expected,
    conditions: [...(pdb.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionAllowed'), condition],
  };
  if (Object.keys(kept).length > 0) out.disruptedPods = kept;
  return recheckAfterMs === undefined ? { status: out } : { status: out, recheckAfterMs };
}

/** Whether a write would change anything (key order does not matter). */
export function pdbStatusEqual(a: PodDisruptionBudgetStatus | undefined, b: PodDisruptionBudgetStatus): boolean {
  if (!a) return false;
  const key = (s: PodDisruptionBudgetStatus) =>
    JSON.stringify([
      s.observedGeneration ?? 0,
      s.disruptionsAllowed,
      s.currentHealthy,
      s.desiredHealthy,
      s.expectedPods,
      Object.entries(s.disruptedPods ?? {}).sort(),
      (s.conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason ?? ''}/${c.observedGeneration ?? 0}`),
    ]);
  return key(a) === key(b);
}
