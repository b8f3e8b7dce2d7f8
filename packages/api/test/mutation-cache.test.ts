import { MutationCache } from '../src/mutation-cache.js';
import type { KubeObject } from '../src/types.js';

const obj = (rv: string, uid = 'u1', note = ''): KubeObject => ({ metadata: { name: 'web', namespace: 'ns', uid, resourceVersion: rv, ...(note ? { annotations: { note } } : {}) } });

describe('MutationCache (client-go NewIntegerResourceVersionMutationCache)', () => {
  it('reads the informer copy through the newer remembered write, until the informer catches up', () => {
    const m = new MutationCache<KubeObject>();
    m.mutated('ns/web', obj('12', 'u1', 'written'));
    // The informer still has revision 10: the write stands in for it.
    expect(m.newest('ns/web', obj('10'))?.metadata.annotations?.note).toBe('written');
    // The informer caught up (or went past): its copy wins and the entry goes.
    expect(m.newest('ns/web', obj('12', 'u1', 'informer'))?.metadata.annotations?.note).toBe('informer');
    expect(m.size).toBe(0);
    expect(m.newest('ns/web', obj('10'))?.metadata.resourceVersion).toBe('10');
  });

  it('keeps the newest of several writes, and never revives an object the informer no longer has', () => {
    const m = new MutationCache<KubeObject>();
    m.mutated('ns/web', obj('15'));
    m.mutated('ns/web', obj('13'));
    expect(m.newest('ns/web', obj('10'))?.metadata.resourceVersion).toBe('15');
    expect(m.newest('ns/web', undefined)).toBeUndefined();
    expect(m.size).toBe(0);
  });

  it('ignores a write to an earlier object of the same name (another uid) and an expired one', () => {
    let now = 0;
    const m = new MutationCache<KubeObject>({ ttlMs: 1000, now: () => now });
    m.mutated('ns/web', obj('20', 'old-uid'));
    expect(m.newest('ns/web', obj('10', 'new-uid'))?.metadata.uid).toBe('new-uid');
    m.mutated('ns/web', obj('30'));
    now = 1001;
    expect(m.newest('ns/web', obj('10'))?.metadata.resourceVersion).toBe('10');
  });
});
