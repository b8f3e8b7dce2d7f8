import type { KubeObject, ListWatchClient, WatchEvent } from '@pilot/api';
import { createLogger, waitFor } from '@pilot/common';
import { Answerer, ApiSource, Rcode, Type, ZoneIndex } from '../src/index.js';

/** A list/watch client over in-memory collections; events are pushed by the test. */
class FakeClient {
  private readonly items = new Map<string, KubeObject[]>();
  private readonly waiters = new Map<string, ((ev: WatchEvent<KubeObject>) => void)[]>();
  private readonly queues = new Map<string, WatchEvent<KubeObject>[]>();
  private rv = 1;

  seed(resource: string, objs: KubeObject[]): void {
    this.items.set(resource, objs.map((o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: String(this.rv++) } })));
  }

  push(resource: string, ev: WatchEvent<KubeObject>): void {
    ev.object.metadata.resourceVersion = String(this.rv++);
    const w = this.waiters.get(resource)?.shift();
    if (w) w(ev);
    else this.queues.set(resource, [...(this.queues.get(resource) ?? []), ev]);
  }

  readonly client = {
    list: async (resource: string) => ({ metadata: { resourceVersion: String(this.rv) }, items: this.items.get(resource) ?? [] }),
    watch: (resource: string, opts: { signal?: AbortSignal }) => this.watch(resource, opts.signal),
  } as unknown as ListWatchClient;

  private async *watch(resource: string, signal?: AbortSignal): AsyncGenerator<WatchEvent<KubeObject>> {
    while (!signal?.aborted) {
      const queued = this.queues.get(resource)?.shift();
      if (queued) {
        yield queued;
        continue;
      }
      const ev = await new Promise<WatchEvent<KubeObject> | undefined>((resolve) => {
        this.waiters.set(resource, [...(this.waiters.get(resource) ?? []), resolve]);
        signal?.addEventListener('abort', () => resolve(undefined), { once: true });
      });
      if (!ev) return;
      yield ev;
    }
  }
}

const svc = (name: string, spec: object): KubeObject => ({ kind: 'Service', metadata: { name, namespace: 'default' }, spec });

describe('the API record source', () => {
  it('fills the index from informers, marks it synced, follows adds and deletes, skips bad objects', async () => {
    const fake = new FakeClient();
    fake.seed('namespaces', [{ kind: 'Namespace', metadata: { name: 'default' } }]);
    fake.seed('services', [svc('frontend', { clusterIP: '10.0.0.50' }), { kind: 'Service', metadata: { namespace: 'default' } } as KubeObject]);
    fake.seed('endpoints', []);
    const index = new ZoneIndex();
    const answerer = new Answerer(index, { zone: 'cluster.local', ttl: 5, pods: 'insecure' });
    const ask = (name: string) => {
      const r = answerer.answer({ labels: name.split('.'), name, type: Type.A, class: 1 });
      return r.kind === 'response' ? r : undefined;
    };
    expect(ask('frontend.default.svc.cluster.local')?.rcode).toBe(Rcode.SERVFAIL);

    const abort = new AbortController();
    const running = new ApiSource(fake.client, createLogger('test', { level: 'silent' })).run(index, abort.signal);
    await waitFor(() => index.synced, { timeoutMs: 5_000, what: 'synced' });
    expect(ask('frontend.default.svc.cluster.local')?.answer).toEqual([expect.objectContaining({ data: { type: Type.A, address: '10.0.0.50' } })]);

    fake.push('services', { type: 'ADDED', object: svc('db', { clusterIP: 'None' }) });
    fake.push('endpoints', {
      type: 'ADDED',
      object: { kind: 'Endpoints', metadata: { name: 'db', namespace: 'default' }, subsets: [{ addresses: [{ ip: '10.1.1.5', hostname: 'db-0' }] }] },
    });
    await waitFor(() => ask('db-0.db.default.svc.cluster.local')?.rcode === Rcode.NOERROR, { timeoutMs: 5_000, what: 'db-0' });
    fake.push('services', { type: 'DELETED', object: svc('frontend', { clusterIP: '10.0.0.50' }) });
    await waitFor(() => ask('frontend.default.svc.cluster.local')?.rcode === Rcode.NXDOMAIN, { timeoutMs: 5_000, what: 'frontend gone' });

    abort.abort();
    await running;
  });
});
