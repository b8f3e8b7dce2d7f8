import { defaultObject, resourceByName, type Pod, type Toleration } from '@pilot/api';
import { Cidr, createLogger } from '@pilot/common';
import { IpAllocator, PortAllocator } from '../../src/apiserver/allocator.js';
import { resolveConfig } from '../../src/apiserver/flags.js';
import { GenericRegistry } from '../../src/apiserver/registry/generic-registry.js';
import { addDefaultTolerations, DEFAULT_POD_ADMISSION } from '../../src/apiserver/registry/pods.js';
import { resourceTable } from '../../src/apiserver/registry/table.js';
import { validate } from '../../src/apiserver/server.js';
import { MemoryStorage } from '../../src/apiserver/storage/memory.js';
import { WatchCaches } from '../../src/apiserver/storage/watch-cache.js';

/** The DefaultTolerationSeconds admission plugin, as kube-apiserver's: pods created get bounded not-ready/unreachable tolerations. */

const notReady = (s: number): Toleration => ({ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: s });
const unreachable = (s: number): Toleration => ({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: s });
const pod = (tolerations?: Toleration[]): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...(tolerations ? { tolerations } : {}) } });

describe('DefaultTolerationSeconds', () => {
  it.each<[string, Toleration[] | undefined, Toleration[]]>([
    ['a pod without tolerations gets both, 300 s', undefined, [notReady(300), unreachable(300)]],
    ["a pod's own tolerations stay first", [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }], [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }, notReady(300), unreachable(300)]],
    ['a pod tolerating unreachable (any time) gets only not-ready', [unreachable(5)], [unreachable(5), notReady(300)]],
    ['a toleration with an empty effect counts', [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }], [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }, unreachable(300)]],
    ['an empty key tolerates both (static pods: Exists:NoExecute)', [{ operator: 'Exists', effect: 'NoExecute' }], [{ operator: 'Exists', effect: 'NoExecute' }]],
    ['a NoSchedule toleration of the key does not count', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }], [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }, notReady(300), unreachable(300)]],
  ])('%s', (_name, given, want) => {
    const p = pod(given);
    addDefaultTolerations(p, DEFAULT_POD_ADMISSION);
    expect(p.spec?.tolerations).toEqual(want);
  });

  it('the apiserver flags set the seconds (upstream names, default 300); a negative value is refused', () => {
    expect(resolveConfig({})).toMatchObject({ defaultNotReadyTolerationSeconds: 300, defaultUnreachableTolerationSeconds: 300 });
    expect(resolveConfig({ defaultNotReadyTolerationSeconds: '3', defaultUnreachableTolerationSeconds: '4' })).toMatchObject({ defaultNotReadyTolerationSeconds: 3, defaultUnreachableTolerationSeconds: 4 });
    expect(() => resolveConfig({ defaultUnreachableTolerationSeconds: '-1' })).toThrow('--default-unreachable-toleration-seconds: "-1" is not an integer in 0..31536000');
  });

  it('applies on create through the registry, with the configured seconds, and never on update', async () => {
    const log = createLogger('admission-test', { level: 'silent' });
    const storage = new MemoryStorage('/registry');
    const registry = new GenericRegistry({
      storage,
      caches: new WatchCaches(storage, { log, capacity: 100 }),
      table: resourceTable({ pods: { defaultNotReadyTolerationSeconds: 3, defaultUnreachableTolerationSeconds: 4 } }),
      validate,
      defaults: (r, obj) => defaultObject(r.resource, obj),
      serviceIPs: new IpAllocator(Cidr.parse('10.0.0.0/29'), '/registry/ranges/serviceips/'),
      nodePorts: new PortAllocator({ min: 30000, max: 30003 }, '/registry/ranges/servicenodeports/'),
      log,
    });
    await registry.create(resourceByName('namespaces')!, undefined, { metadata: { name: 'ns' } });
    const created = (await registry.create(resourceByName('pods')!, 'ns', pod())) as Pod;
    expect(created.spec?.tolerations).toEqual([notReady(3), unreachable(4)]);
    const updated = (await registry.update(resourceByName('pods')!, 'ns', 'p', { ...created, spec: { ...created.spec!, tolerations: [] } })) as Pod;
    expect(updated.spec?.tolerations ?? []).toEqual([]);
  });

  it('adds nothing to tolerations that are not a list of objects (validation answers 422 for them)', () => {
    for (const bad of ['all', { key: 'a' }, [1, 2], [null]]) {
      const p = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }], tolerations: bad } } as unknown as Pod;
      expect(() => addDefaultTolerations(p, DEFAULT_POD_ADMISSION)).not.toThrow();
      expect((p.spec as unknown as { tolerations: unknown }).tolerations).toEqual(bad);
    }
  });
});
