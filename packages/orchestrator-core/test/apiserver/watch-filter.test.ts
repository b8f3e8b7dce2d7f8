import type { KubeObject } from '@pilot/api';
import { filterEvent } from '../../src/apiserver/storage/watch-cache.js';
import type { StorageEvent } from '../../src/apiserver/storage/interface.js';

const obj = (labels: Record<string, string>): KubeObject => ({ metadata: { name: 'p', labels } });
const fe = (o: KubeObject) => o.metadata.labels?.tier === 'fe';

describe('filtered watch events', () => {
  it('turns start/stop matching into ADDED/DELETED and keeps MODIFIED for matching on both sides', () => {
    const ev = (type: StorageEvent['type'], now: KubeObject, prev?: KubeObject): StorageEvent => (prev ? { type, key: 'k', obj: now, prev, rv: 2 } : { type, key: 'k', obj: now, rv: 2 });
    expect(filterEvent(ev('MODIFIED', obj({ tier: 'fe' }), obj({ tier: 'be' })), fe)?.type).toBe('ADDED');
    expect(filterEvent(ev('MODIFIED', obj({ tier: 'be' }), obj({ tier: 'fe' })), fe)?.type).toBe('DELETED');
    expect(filterEvent(ev('MODIFIED', obj({ tier: 'fe', v: '2' }), obj({ tier: 'fe' })), fe)?.type).toBe('MODIFIED');
    expect(filterEvent(ev('MODIFIED', obj({ tier: 'be' }), obj({ tier: 'be' })), fe)).toBeUndefined();
    expect(filterEvent(ev('ADDED', obj({ tier: 'fe' })), fe)?.type).toBe('ADDED');
    expect(filterEvent(ev('ADDED', obj({})), fe)).toBeUndefined();
    expect(filterEvent(ev('DELETED', obj({ tier: 'fe' }), obj({ tier: 'fe' })), fe)?.type).toBe('DELETED');
    expect(filterEvent(ev('DELETED', obj({ tier: 'be' }), obj({ tier: 'be' })), fe)).toBeUndefined();
  });
});
