import type { Pod, PodDisruptionBudget } from '@pilot/api';
import { budgetsFor, EVICTION_VIOLATES_BUDGET, planEviction, spendDisruption } from '../../src/apiserver/registry/eviction.js';

const NOW = new Date('2026-12-03T12:00:00Z');

function pod(extra: { phase?: string; ready?: boolean; deleting?: boolean } = {}): Pod {
  return {
    metadata: { name: 'web-1', namespace: 'ns', labels: { app: 'web' }, ...(extra.deleting ? { deletionTimestamp: '2026-12-03T12:00:00Z' } : {}) },
    status: { phase: extra.phase ?? 'Running', conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }] },
  };
}

function pdb(name: string, status: Partial<NonNullable<PodDisruptionBudget['status']>>, selector: PodDisruptionBudget['spec'] = { selector: { matchLabels: { app: 'web' } } }): PodDisruptionBudget {
  return {
    metadata: { name, namespace: 'ns', generation: 1, resourceVersion: '7' },
    spec: { minAvailable: 2, ...selector },
    status: { observedGeneration: 1, disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2, ...status },
  };
}

describe('pods/eviction', () => {
  it('deletes at once when no budget selects the pod; an empty selector selects nothing here', () => {
    expect(planEviction(pod(), [])).toEqual({ kind: 'delete' });
    expect(budgetsFor(pod(), [pdb('all', {}, { selector: {} })])).toEqual([]);
    expect(planEviction(pod(), [pdb('other', {}, { selector: { matchLabels: { app: 'db' } } })])).toEqual({ kind: 'delete' });
  });

  it('ignores budgets for pods that are not running or already going', () => {
    for (const p of [pod({ phase: 'Succeeded' }), pod({ phase: 'Pending' }), pod({ deleting: true })]) expect(planEviction(p, [pdb('b', {})])).toEqual({ kind: 'delete' });
  });

  it("answers upstream's 429 when the budget allows no disruption", () => {
    const plan = planEviction(pod(), [pdb('b', { disruptionsAllowed: 0, desiredHealthy: 2, currentHealthy: 2 })]);
    if (plan.kind !== 'refuse') throw new Error(`expected a refusal, got ${plan.kind}`);
    expect(plan.error.code).toBe(429);
    expect(plan.error.message).toBe(EVICTION_VIOLATES_BUDGET);
    expect(plan.error.details?.causes?.[0]).toMatchObject({ reason: 'DisruptionBudget', message: 'The disruption budget b needs 2 healthy pods and has 2 currently' });
  });

  it('refuses while the controller has not seen the latest budget', () => {
    const b = pdb('b', { disruptionsAllowed: 1, observedGeneration: 0 });
    const plan = planEviction(pod(), [b]);
    expect(plan.kind === 'refuse' && plan.error.details?.causes?.[0]?.message).toBe('The disruption budget b is still being processed by the server.');
  });

  it('refuses a pod with two budgets (500, as upstream)', () => {
    const plan = planEviction(pod(), [pdb('a', { disruptionsAllowed: 1 }), pdb('b', { disruptionsAllowed: 1 })]);
    expect(plan.kind === 'refuse' && plan.error.code).toBe(500);
  });

  it('evicts an unready pod without spending the budget while the budget holds', () => {
    expect(planEviction(pod({ ready: false }), [pdb('b', { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2 })])).toEqual({ kind: 'delete' });
  });

  it('spends one disruption and notes the pod', () => {
    const b = pdb('b', { disruptionsAllowed: 1, currentHealthy: 3 });
    const plan = planEviction(pod(), [b]);
    expect(plan.kind).toBe('spend');
    const after = spendDisruption(b, 'web-1', NOW);
    expect(after.status).toMatchObject({ disruptionsAllowed: 0, disruptedPods: { 'web-1': '2026-12-03T12:00:00Z' } });
    expect(after.status!.conditions).toEqual([expect.objectContaining({ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' })]);
    expect(b.status!.disruptionsAllowed).toBe(1);
  });
});
