import { ApiError, Informer, notFound, type Endpoints, type KubeObject, type ListWatchClient, type Pod, type Service } from '@pilot/api';
import { createLogger } from '@pilot/common';
import { EndpointsController } from '../../src/controller/endpoints/controller.js';

const noClient = {
  list: async () => ({ metadata: {}, items: [] }),
  watch: async function* () {
    return;
  },
} as unknown as ListWatchClient;

function setup(o: { services?: Service[]; pods?: Pod[]; endpoints?: Endpoints[] } = {}) {
  const services = new Informer<Service>(noClient, 'services');
  const pods = new Informer<Pod>(noClient, 'pods');
  const endpoints = new Informer<Endpoints>(noClient, 'endpoints');
  for (const s of o.services ?? []) services.indexer.set(s);
  for (const p of o.pods ?? []) pods.indexer.set(p);
  for (const e of o.endpoints ?? []) endpoints.indexer.set(e);
  const calls: [string, unknown][] = [];
  const client = {
    create: async (_r: string, obj: KubeObject) => {
      calls.push(['create', obj]);
      return obj;
    },
    update: async (_r: string, obj: KubeObject) => {
      calls.push(['update', obj]);
      return obj;
    },
    delete: async (_r: string, name: string) => {
      calls.push(['delete', name]);
      if (name === 'never-existed') throw new ApiError(notFound('endpoints', name));
      return { metadata: {} };
    },
  };
  const events: string[] = [];
  const ctl = new EndpointsController({
    services,
    pods,
    endpoints,
    client: client as never,
    recorder: { event: (_s, _t, reason) => events.push(reason), eventf: () => undefined },
    workers: 1,
    log: createLogger('test', { level: 'silent' }),
  });
  return { ctl, calls, events, endpoints };
}

const svc = (name: string, selector?: Record<string, string>): Service => ({
  metadata: { name, namespace: 'ns', creationTimestamp: '2026-12-02T11:00:00Z' },
  spec: { ...(selector ? { selector } : {}), ports: [{ port: 80, targetPort: 8080 }] },
});
const pod = (name: string, ip: string): Pod => ({
  metadata: { name, namespace: 'ns', uid: `u-${name}`, labels: { app: 'web' } },
  spec: { containers: [{ name: 'c' }], nodeName: 'n1' },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-12-02T12:00:00Z' }] },
});

describe('EndpointsController.syncService', () => {
  it('creates the Endpoints of a Service with a selector, then writes nothing while nothing changes', async () => {
    const { ctl, calls, endpoints } = setup({ services: [svc('web', { app: 'web' })], pods: [pod('a', '10.1.1.2')] });
    await ctl.syncService('ns/web');
    expect(calls.map((c) => c[0])).toEqual(['create']);
    const created = calls[0]![1] as Endpoints;
    expect(created.subsets).toEqual([{ addresses: [expect.objectContaining({ ip: '10.1.1.2' })], ports: [{ port: 8080, protocol: 'TCP' }] }]);
    endpoints.indexer.set({ ...created, metadata: { ...created.metadata, resourceVersion: '9' } });
    await ctl.syncService('ns/web');
    expect(calls).toHaveLength(1);
  });

  it('leaves the Endpoints of a selectorless Service alone', async () => {
    const manual: Endpoints = { metadata: { name: 'db', namespace: 'ns', resourceVersion: '3' }, subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 5432 }] }] };
    const { ctl, calls } = setup({ services: [svc('db')], endpoints: [manual] });
    await ctl.syncService('ns/db');
    expect(calls).toEqual([]);
  });

  it('deletes the Endpoints of a Service that is gone, and takes an already missing one in its stride', async () => {
    const { ctl, calls } = setup();
    await ctl.syncService('ns/gone');
    await ctl.syncService('ns/never-existed');
    expect(calls).toEqual([
      ['delete', 'gone'],
      ['delete', 'never-existed'],
    ]);
  });

  it('tells of a failed write in a FailedToUpdateEndpoint event and fails the sync (retried)', async () => {
    const { ctl, events } = setup({ services: [svc('web', { app: 'web' })], pods: [pod('a', '10.1.1.2')], endpoints: [{ metadata: { name: 'web', namespace: 'ns', resourceVersion: '1' }, subsets: [] }] });
    (ctl as unknown as { d: { client: { update: () => Promise<never> } } }).d.client.update = async () => {
      throw new Error('conflict');
    };
    await expect(ctl.syncService('ns/web')).rejects.toThrow('conflict');
    expect(events).toEqual(['FailedToUpdateEndpoint']);
  });
});
