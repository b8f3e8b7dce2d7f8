import type { Namespace } from '@pilot/api';
import { missingServiceAccounts, serviceAccountFor } from '../../src/controller/serviceaccount/plan.js';

const ns = (name: string, extra: Partial<Namespace> = {}): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' }, ...extra });

describe('serviceaccount controller: which accounts a namespace lacks', () => {
  it('an Active namespace without default gets it; one that has it gets nothing', () => {
    expect(missingServiceAccounts(ns('a'), () => false)).toEqual(['default']);
    expect(missingServiceAccounts(ns('a'), (n) => n === 'default')).toEqual([]);
    expect(missingServiceAccounts(ns('a'), (n) => n === 'x', ['default', 'x', 'y'])).toEqual(['default', 'y']);
  });

  it('nothing for a namespace that is gone, Terminating or being deleted', () => {
    expect(missingServiceAccounts(undefined, () => false)).toEqual([]);
    expect(missingServiceAccounts(ns('a', { status: { phase: 'Terminating' } }), () => false)).toEqual([]);
    expect(missingServiceAccounts(ns('a', { metadata: { name: 'a', deletionTimestamp: '2026-01-01T00:00:00Z' } }), () => false)).toEqual([]);
  });

  it('creates a bare ServiceAccount in the namespace', () => {
    expect(serviceAccountFor('a', 'default')).toEqual({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'a' } });
  });
});
