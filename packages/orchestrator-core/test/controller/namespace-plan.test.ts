import type { KubeObject, Namespace } from '@pilot/api';
import { contentState, finalizersAfter, planNamespace } from '../../src/controller/namespace/plan.js';

const NOW = new Date('2026-01-02T15:00:00Z');
const ns = (extra: Partial<Namespace['metadata']> = {}, finalizers = ['kubernetes']): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', ...extra }, spec: { finalizers } });
const obj = (name: string, meta: Partial<KubeObject['metadata']> = {}): KubeObject => ({ metadata: { name, namespace: 'x', ...meta } });

describe('namespace controller', () => {
  it('acts only on a namespace being deleted that still has the kubernetes finalizer', () => {
    expect(planNamespace(undefined)).toEqual({ action: 'none' });
    expect(planNamespace(ns())).toEqual({ action: 'none' });
    expect(planNamespace(ns({ deletionTimestamp: '2026-01-02T14:59:00Z' }, []))).toEqual({ action: 'none' });
    expect(planNamespace(ns({ deletionTimestamp: '2026-01-02T14:59:00Z' }))).toEqual({ action: 'deleteContent' });
  });

  it('finalize removes only its own finalizer', () => {
    expect(finalizersAfter(ns({}, ['example.com/other', 'kubernetes']))).toEqual(['example.com/other']);
  });

  it('done when nothing is left; otherwise waits for the terminating objects and says what remains, as upstream', () => {
    expect(contentState([{ resource: 'pods', items: [] }], NOW)).toEqual({ done: true });
    const s = contentState(
      [
        { resource: 'pods', items: [obj('a', { deletionTimestamp: '2026-01-02T15:00:20Z' }), obj('b', { finalizers: ['example.com/hold'] })] },
        { resource: 'configmaps', items: [obj('c', { finalizers: ['example.com/hold'] })] },
        { resource: 'secrets', items: [] },
      ],
      NOW,
    );
    expect(s).toEqual({
      done: false,
      retryAfterMs: 20_000,
      conditions: [
        {
          type: 'NamespaceContentRemaining',
          status: 'True',
          reason: 'SomeResourcesRemain',
          message: 'Some resources are remaining: configmaps has 1 resource instances, pods has 2 resource instances',
          lastTransitionTime: '2026-01-02T15:00:00Z',
        },
        {
          type: 'NamespaceFinalizersRemaining',
          status: 'True',
          reason: 'SomeFinalizersRemain',
          message: 'Some content in the namespace has finalizers remaining: example.com/hold in 2 resource instances',
          lastTransitionTime: '2026-01-02T15:00:00Z',
        },
      ],
    });
    expect(contentState([{ resource: 'pods', items: [obj('a')] }], NOW)).toMatchObject({ done: false, retryAfterMs: 1000 });
  });
});
