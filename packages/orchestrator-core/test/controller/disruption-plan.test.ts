import type { Pod, PodDisruptionBudget } from '@pilot/api';
import { computeStatus, DISRUPTED_POD_TIMEOUT_MS, expectedPods, pdbStatusEqual, scaledValue } from '../../src/controller/disruption/disruption-plan.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function pdb(spec: PodDisruptionBudget['spec'], disruptedPods?: Record<string, string>): PodDisruptionBudget {
  return {
    metadata: { name: 'b', namespace: 'ns', generation: 2 },
    spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
    status: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, ...(disruptedPods ? { disruptedPods } : {}) },
  };
}

function pod(name: string, ready: boolean, deleting = false): Pod {
  return {
    metadata: { name, labels: { app: 'web' }, ...(deleting ? { deletionTimestamp: iso(NOW) } : {}) },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

describe('disruption budget arithmetic', () => {
  it('rounds percentages up', () => {
    expect(scaledValue('50%', 3)).toBe(2);
    expect(scaledValue('34%', 3)).toBe(2);
    expect(scaledValue(2, 10)).toBe(2);
    expect(() => scaledValue('x', 3)).toThrow(/invalid value/);
  });

  it('an integer minAvailable expects the selected pods; maxUnavailable the controllers scale', () => {
    const three = [pod('a', true), pod('b', true), pod('c', true)];
    expect(expectedPods(pdb({ minAvailable: 2 }), three, undefined)).toEqual({ expected: 3, desiredHealthy: 2 });
    expect(expectedPods(pdb({ maxUnavailable: 1 }), three, 4)).toEqual({ expected: 4, desiredHealthy: 3 });
    expect(expectedPods(pdb({ minAvailable: '50%' }), three, 4)).toEqual({ expected: 4, desiredHealthy: 2 });
    expect(expectedPods(pdb({ maxUnavailable: '25%' }), three, 4)).toEqual({ expected: 4, desiredHealthy: 3 });
  });

  it('allows currentHealthy minus desiredHealthy disruptions, counting only ready pods not being deleted', () => {
    const pods = [pod('a', true), pod('b', true), pod('c', true), pod('d', false), pod('e', true, true)];
    const { status } = computeStatus(pdb({ minAvailable: 2 }), pods, undefined, NOW);
    expect(status).toMatchObject({ currentHealthy: 3, desiredHealthy: 2, expectedPods: 5, disruptionsAllowed: 1, observedGeneration: 2 });
    expect(status.conditions).toEqual([expect.objectContaining({ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' })]);
  });

  it('never allows a negative number, and says InsufficientPods', () => {
    const { status } = computeStatus(pdb({ minAvailable: 3 }), [pod('a', true), pod('b', false)], undefined, NOW);
    expect(status.disruptionsAllowed).toBe(0);
    expect(status.conditions![0]).toMatchObject({ status: 'False', reason: 'InsufficientPods' });
  });

  it('does not count a just-evicted pod as healthy until its delete shows or the entry expires', () => {
    const pods = [pod('a', true), pod('b', true), pod('c', true)];
    const fresh = computeStatus(pdb({ minAvailable: 2 }, { a: iso(NOW - 10_000) }), pods, undefined, NOW);
    expect(fresh.status).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 0, disruptedPods: { a: iso(NOW - 10_000) } });
    expect(fresh.recheckAfterMs).toBe(DISRUPTED_POD_TIMEOUT_MS - 10_000);
    const expired = computeStatus(pdb({ minAvailable: 2 }, { a: iso(NOW - DISRUPTED_POD_TIMEOUT_MS - 1000) }), pods, undefined, NOW);
    expect(expired.status).toMatchObject({ currentHealthy: 3, disruptionsAllowed: 1 });
    expect(expired.status.disruptedPods).toBeUndefined();
    const gone = computeStatus(pdb({ minAvailable: 2 }, { z: iso(NOW) }), pods, undefined, NOW);
    expect(gone.status.disruptedPods).toBeUndefined();
  });

  it('allows nothing when no pods are expected', () => {
    expect(computeStatus(pdb({ maxUnavailable: 1 }), [], 0, NOW).status.disruptionsAllowed).toBe(0);
  });

  it('compares statuses regardless of key order', () => {
    const { status } = computeStatus(pdb({ minAvailable: 1 }), [pod('a', true)], undefined, NOW);
    const { expectedPods: e, ...rest } = status;
    const reordered = JSON.parse(JSON.stringify({ expectedPods: e, ...rest }));
    expect(pdbStatusEqual(reordered, status)).toBe(true);
    expect(pdbStatusEqual({ ...status, currentHealthy: 0 }, status)).toBe(false);
  });
});
