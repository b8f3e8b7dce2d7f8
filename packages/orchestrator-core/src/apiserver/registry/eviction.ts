import {
  formatTime,
  isObject,
  isPodReady,
  labelSelectorFromObject,
  resourceByName,
  statusFor,
  type DeleteOptions,
  type Eviction,
  type Pod,
  type PodDisruptionBudget,
  type ResourceInfo,
} from '@pilot/api';
import { badRequest, forbidden, fromStatus, internalError, StatusError, successStatus } from '../status.js';
import type { StrategyContext } from './strategy.js';
import type { Subresource } from './subresources.js';

/**
 * pods/eviction (upstream pkg/registry/core/pod/storage/eviction.go): a
 * delete of the pod that honours the one PodDisruptionBudget selecting it.
 * The budget's disruptionsAllowed is spent (and the pod noted in
 * status.disruptedPods, so the controller does not count it healthy before
 * the delete shows) in a guarded write of the budget's status, then the pod
 * is deleted with the eviction's DeleteOptions. No budget left: 429 with
 * upstream's message; `kubectl drain` retries on it.
 */

/** Upstream's 429 message, word for word. */
export const EVICTION_VIOLATES_BUDGET = "Cannot evict pod as it would violate the pod's disruption budget.";
/** Upstream caps disruptedPods so a stuck controller cannot grow a budget without bound. */
export const MAX_DISRUPTED_PODS = 2000;
const CONFLICT_RETRIES = 5;

/** What an eviction does to a pod, given the budgets in its namespace (pure). */
export type EvictionPlan =
  | { kind: 'delete' }
  /** Spend one disruption of this budget, then delete. */
  | { kind: 'spend'; pdb: PodDisruptionBudget }
  | { kind: 'refuse'; error: StatusError };

/**
 * The budgets that select a pod (getPodDisruptionBudgets): a budget with no
 * or an empty selector selects nothing here.
 */
export function budgetsFor(pod: Pod, pdbs: readonly PodDisruptionBudget[]): PodDisruptionBudget[] {
  return pdbs.filter((pdb) => {
    const sel = pdb.spec?.selector;
    if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) return false;
    try {
      return labelSelectorFromObject(sel).matches(pod.metadata.labels ?? {});
    } catch {
      return false;
    }
  });
}

export function planEviction(pod: Pod, pdbs: readonly PodDisruptionBudget[]): EvictionPlan {
  // canIgnorePDB: a pod that is not running, or already going, disrupts nothing.
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || pod.metadata.deletionTimestamp) return { kind: 'delete' };
  const mine = budgetsFor(pod, pdbs);
  if (mine.length === 0) return { kind: 'delete' };
  if (mine.length > 1) return { kind: 'refuse', error: internalError('This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.') };
  const pdb = mine[0]!;
  const status = pdb.status ?? { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
  // An unready pod is not part of the healthy count: evicting it costs the budget nothing while the budget holds.
  if (!isPodReady(pod)) {
    const policy = pdb.spec?.unhealthyPodEvictionPolicy ?? 'IfHealthyBudget';
    if (policy === 'AlwaysAllow') return { kind: 'delete' };
    if (status.desiredHealthy > 0 && status.currentHealthy >= status.desiredHealthy) return { kind: 'delete' };
  }
  const name = pdb.metadata.name!;
  if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) return { kind: 'refuse', error: tooManyRequests(`The disruption budget ${name} is still being processed by the server.`) };
  if (status.disruptionsAllowed < 0) return { kind: 'refuse', error: forbidden('pdb disruptions allowed is negative') };
  if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS) return { kind: 'refuse', error: forbidden('DisruptedPods map too big - too many evictions not confirmed by PDB controller') };
  if (status.disruptionsAllowed === 0)
    return { kind: 'refuse', error: tooManyRequests(`The disruption budget ${name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`) };
  return { kind: 'spend', pdb };
}

/** The budget after one eviction of `podName` was admitted (pure). */
export function spendDisruption(pdb: PodDisruptionBudget, podName: string, now: Date): PodDisruptionBudget {
  const out = structuredClone(pdb);
  const status = (out.status ??= { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 });
  status.disruptionsAllowed -= 1;
  status.disruptedPods = { ...(status.disruptedPods ?? {}), [podName]: formatTime(now) };
  if (status.disruptionsAllowed === 0) {
    const conditions = (status.conditions ?? []).filter((c) => c.type !== 'DisruptionAllowed');
    conditions.push({ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '', lastTransitionTime: formatTime(now), observedGeneration: status.observedGeneration ?? 0 });
    status.conditions = conditions;
  }
  return out;
}

function tooManyRequests(cause: string): StatusError {
  return fromStatus(statusFor(429, 'TooManyRequests', EVICTION_VIOLATES_BUDGET, { causes: [{ type: 'DisruptionBudget', reason: 'DisruptionBudget', message: cause }], retryAfterSeconds: 0 }));
}

const pdbResource = (): ResourceInfo => resourceByName('poddisruptionbudgets')!;

async function budgetsIn(ctx: StrategyContext, namespace: string): Promise<PodDisruptionBudget[]> {
  return (await ctx.objects.list(pdbResource(), namespace)).items as PodDisruptionBudget[];
}

export const evictionSubresource: Subresource = {
  async create(call, body, ctx) {
    const checked = call.checkFields(body);
    if (!isObject(checked)) throw badRequest('the body must be an Eviction object');
    const eviction = checked as Eviction;
    if (eviction.metadata?.name && eviction.metadata.name !== call.name) throw badRequest('name in URL does not match name in Eviction object');
    const ns = call.namespace!;
    for (let attempt = 0; ; attempt++) {
      const pod = (await ctx.objects.get(call.resource, ns, call.name)) as Pod;
      const plan = planEviction(pod, await budgetsIn(ctx, ns));
      if (plan.kind === 'refuse') throw plan.error;
      if (plan.kind === 'spend') {
        const rv = Number(plan.pdb.metadata.resourceVersion);
        try {
          await ctx.objects.mutate(pdbResource(), ns, plan.pdb.metadata.name!, rv, () => spendDisruption(plan.pdb, pod.metadata.name!, new Date()), 'status');
        } catch (err) {
          // Another eviction spent the budget first: decide again on what it left.
          if (err instanceof StatusError && err.reason === 'Conflict' && attempt < CONFLICT_RETRIES) continue;
          throw err;
        }
      }
      // The pod decided on is the one deleted (a replacement with the same name is not).
      const opts: DeleteOptions = { ...(eviction.deleteOptions ?? {}) };
      opts.preconditions = { uid: pod.metadata.uid!, ...(opts.preconditions ?? {}) };
      await ctx.objects.delete(call.resource, ns, call.name, opts);
      return { code: 201, body: successStatus(undefined, 201) };
    }
  },
};
