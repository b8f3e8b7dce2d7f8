import { createLogger, waitFor } from '@pilot/common';
import { ApiClient } from '../src/client.js';
import { Informer } from '../src/informer.js';
import { InformerFactory } from '../src/informer-factory.js';
import type { KubeObject, Pod } from '../src/types.js';
import { FakeApiServer } from './support/fake-apiserver.js';

const silent = createLogger('test', { level: 'silent' });

function pod(name: string, labels: Record<string, string> = {}, node = ''): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'busybox' }], nodeName: node } };
}

type Seen = { kind: 'add' | 'update' | 'delete'; key: string; rv?: string };

function recorder(inf: Informer<Pod>): Seen[] {
  const seen: Seen[] = [];
  const key = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
  inf.addHandler({
    onAdd: (o) => void seen.push({ kind: 'add', key: key(o), rv: o.metadata.resourceVersion }),
    onUpdate: (_old, o) => void seen.push({ kind: 'update', key: key(o), rv: o.metadata.resourceVersion }),
    onDelete: (o) => void seen.push({ kind: 'delete', key: key(o) }),
  });
  return seen;
}

function storeMatchesServer(inf: Informer<Pod>, server: FakeApiServer): boolean {
  const want = server.items('pods').map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
  const got = inf.indexer.list().map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
  return JSON.stringify(want) === JSON.stringify(got);
}

describe('Informer against a fake API server', () => {
  let server: FakeApiServer;
  let client: ApiClient;
  let ac: AbortController;
  let running: Promise<void> | undefined;

  beforeEach(async () => {
    server = await FakeApiServer.start();
    client = new ApiClient({ server: server.url });
    ac = new AbortController();
    running = undefined;
  });

  afterEach(async () => {
    ac.abort();
    await running;
    client.close();
    await server.stop();
  });

  it('lists, syncs, then delivers watch events in order and keeps the store equal to the server', async () => {
    server.put('pods', pod('a'));
    server.put('pods', pod('b'));
    const inf = new Informer<Pod>(client, 'pods', { logger: silent });
    const seen = recorder(inf);
    running = inf.start(ac.signal);
    await inf.waitForSync(ac.signal);
    expect(inf.hasSynced()).toBe(true);
    expect(seen.map((s) => `${s.kind} ${s.key}`).sort()).toEqual(['add default/a', 'add default/b']);

    // The watch starts from the list's resourceVersion.
    await waitFor(() => server.watcherCount() === 1, { timeoutMs: 5000, what: 'watch to open' });
    const watchReq = server.requests.find((r) => r.query.get('watch') === '1')!;
    expect(watchReq.query.get('resourceVersion')).toBe('102');

    server.put('pods', pod('c'));
    server.put('pods', pod('a', { v: '2' }));
    server.remove('pods', 'default/b');
    await waitFor(() => seen.length === 5, { timeoutMs: 5000, what: 'three watch events' });
    expect(seen.slice(2).map((s) => `${s.kind} ${s.key}`)).toEqual(['add default/c', 'update default/a', 'delete default/b']);
    expect(inf.indexer.get('default/a')?.metadata.labels).toEqual({ v: '2' });
    expect(inf.indexer.get('default/b')).toBeUndefined();
    expect(storeMatchesServer(inf, server)).toBe(true);
    expect(inf.lastResourceVersion).toBe(server.resourceVersion);
  });

  it('reconnects after the server closes the watch, from the last seen resourceVersion, losing nothing', async () => {
    server.put('pods', pod('a'));
    const inf = new Informer<Pod>(client, 'pods', { logger: silent, backoff: { initialMs: 10, maxMs: 50 } });
    const seen = recorder(inf);
    running = inf.start(ac.signal);
    await inf.waitForSync(ac.signal);
    await waitFor(() => server.watcherCount() === 1, { timeoutMs: 5000, what: 'watch to open' });
    server.put('pods', pod('b'));
    await waitFor(() => seen.length === 2, { timeoutMs: 5000, what: 'event for b' });
    const rvAfterB = server.resourceVersion;

    // Close the stream, and change things while the informer is between watches.
    server.holdEvents = true;
    server.closeWatches();
    server.put('pods', pod('c'));
    server.remove('pods', 'default/a');
    server.release();

    await waitFor(() => seen.length === 4, { timeoutMs: 5000, what: 'events after reconnect' });
    expect(seen.slice(2).map((s) => `${s.kind} ${s.key}`)).toEqual(['add default/c', 'delete default/a']);
    const watches = server.requests.filter((r) => r.query.get('watch') === '1');
    expect(watches.length).toBeGreaterThanOrEqual(2);
    expect(watches[1]!.query.get('resourceVersion')).toBe(rvAfterB);
    // Only one list: a closed watch does not need a relist.
    expect(server.requests.filter((r) => r.method === 'GET' && !r.query.get('watch')).length).toBe(1);
    expect(storeMatchesServer(inf, server)).toBe(true);
  });

  it('relists on a 410 ERROR event and emits exactly the differences', async () => {
    server.put('pods', pod('keep'));
    server.put('pods', pod('change'));
    server.put('pods', pod('gone'));
    const inf = new Informer<Pod>(client, 'pods', { logger: silent, backoff: { initialMs: 10, maxMs: 50 } });
    const seen = recorder(inf);
    running = inf.start(ac.signal);
    await inf.waitForSync(ac.signal);
    await waitFor(() => server.watcherCount() === 1, { timeoutMs: 5000, what: 'watch to open' });
    expect(seen).toHaveLength(3);

    // Changes the informer never sees as events, then compaction: its resourceVersion is too old.
    server.holdEvents = true;
    server.put('pods', pod('change', { v: '2' }));
    server.remove('pods', 'default/gone');
    server.put('pods', pod('new'));
    server.compact();
    server.closeWatches();
    server.release();

    await waitFor(() => seen.length === 6, { timeoutMs: 5000, what: 'relist differences' });
    expect(seen.slice(3).map((s) => `${s.kind} ${s.key}`).sort()).toEqual(['add default/new', 'delete default/gone', 'update default/change']);
    expect(storeMatchesServer(inf, server)).toBe(true);
    const lists = server.requests.filter((r) => r.method === 'GET' && !r.query.get('watch'));
    expect(lists.length).toBe(2);
    // After the relist it watches from the new list's resourceVersion.
    await waitFor(() => server.watcherCount() === 1, { timeoutMs: 5000, what: 'watch after relist' });
    const lastWatch = server.requests.filter((r) => r.query.get('watch') === '1').at(-1)!;
    expect(lastWatch.query.get('resourceVersion')).toBe(server.resourceVersion);
    server.put('pods', pod('after'));
    await waitFor(() => seen.length === 7, { timeoutMs: 5000, what: 'event after relist' });
    expect(seen[6]).toMatchObject({ kind: 'add', key: 'default/after' });
  });

  it('keeps going when the server is down for a while, then converges', async () => {
    server.put('pods', pod('a'));
    const inf = new Informer<Pod>(client, 'pods', { logger: silent, backoff: { initialMs: 10, maxMs: 50 } });
    recorder(inf);
    server.override = { match: /pods/, status: 503, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'ServiceUnavailable', code: 503 } };
    running = inf.start(ac.signal);
    await waitFor(() => server.requests.length >= 3, { timeoutMs: 5000, what: 'retries' });
    expect(inf.hasSynced()).toBe(false);
    server.override = undefined;
    await inf.waitForSync(ac.signal);
    expect(storeMatchesServer(inf, server)).toBe(true);
  });

  it('passes namespace and selectors to list and watch', async () => {
    const inf = new Informer<Pod>(client, 'pods', {
      logger: silent,
      namespace: 'kube-system',
      labelSelector: 'app=dns',
      fieldSelector: 'spec.nodeName=n1',
    });
    running = inf.start(ac.signal);
    await inf.waitForSync(ac.signal);
    await waitFor(() => server.watcherCount() === 1, { timeoutMs: 5000, what: 'watch to open' });
    for (const r of server.requests) {
      expect(r.path).toBe('/api/v1/namespaces/kube-system/pods');
      expect(r.query.get('labelSelector')).toBe('app=dns');
      expect(r.query.get('fieldSelector')).toBe('spec.nodeName=n1');
    }
  });

  it('maintains indexes, survives a throwing handler and replays the cache to late handlers', async () => {
    server.put('pods', pod('a', {}, 'n1'));
    server.put('pods', pod('b', {}, 'n2'));
    const inf = new Informer<Pod>(client, 'pods', { logger: silent });
    inf.indexer.addIndex('node', (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    inf.addHandler({
      onAdd: () => {
        throw new Error('boom');
      },
    });
    running = inf.start(ac.signal);
    await inf.waitForSync(ac.signal);
    expect(inf.indexer.byIndex('node', 'n1').map((p) => p.metadata.name)).toEqual(['a']);

    const late = recorder(inf);
    await waitFor(() => late.length === 2, { timeoutMs: 5000, what: 'replay to late handler' });
    await waitFor(() => server.watcherCount() === 1, { timeoutMs: 5000, what: 'watch to open' });
    server.put('pods', pod('a', {}, 'n2'));
    server.put('pods', pod('c', {}, 'n1'));
    await waitFor(() => late.length === 4, { timeoutMs: 5000, what: 'events after the throwing handler' });
    expect(inf.indexer.byIndex('node', 'n2').map((p) => p.metadata.name).sort()).toEqual(['a', 'b']);
    expect(inf.indexer.byIndex('node', 'n1').map((p) => p.metadata.name)).toEqual(['c']);
  });

  it('re-delivers every cached object as onUpdate(obj, obj) on resync', async () => {
    server.put('pods', pod('a'));
    server.put('pods', pod('b'));
    const inf = new Informer<Pod>(client, 'pods', { logger: silent, resyncMs: 50 });
    const resynced = new Set<string>();
    inf.addHandler({ onUpdate: (old, obj) => void (old === obj && resynced.add(obj.metadata.name!)) });
    running = inf.start(ac.signal);
    await waitFor(() => resynced.size === 2, { timeoutMs: 5000, what: 'resync of both pods' });
    expect([...resynced].sort()).toEqual(['a', 'b']);
  });

  it('start() resolves when aborted and waitForSync rejects on abort before sync', async () => {
    server.override = { match: /pods/, status: 500, body: {} };
    const inf = new Informer<Pod>(client, 'pods', { logger: silent, backoff: { initialMs: 10, maxMs: 20 } });
    running = inf.start(ac.signal);
    const waiting = inf.waitForSync(ac.signal);
    ac.abort();
    await expect(waiting).rejects.toThrow();
    await expect(running).resolves.toBeUndefined();
  });

  it('InformerFactory shares one informer (one list, one watch) per resource and filter', async () => {
    server.put('pods', pod('a'));
    const f = new InformerFactory(client, { logger: silent });
    const p1 = f.informer<Pod>('pods');
    const p2 = f.informer<Pod>('pods');
    const sys = f.informer<Pod>('pods', { namespace: 'kube-system' });
    expect(p1).toBe(p2);
    expect(sys).not.toBe(p1);
    f.start(ac.signal);
    running = f.stopped();
    await f.waitForSync(ac.signal);
    // Created after start: starts at once.
    const nodes = f.informer('nodes');
    await nodes.waitForSync(ac.signal);
    await waitFor(() => server.watcherCount() === 3, { timeoutMs: 5000, what: 'three watches' });
    expect(p1.indexer.keys()).toEqual(['default/a']);
    expect(sys.indexer.keys()).toEqual([]);
    const lists = server.requests.filter((r) => !r.query.get('watch')).map((r) => r.path).sort();
    expect(lists).toEqual(['/api/v1/namespaces/kube-system/pods', '/api/v1/nodes', '/api/v1/pods']);
  });
});
