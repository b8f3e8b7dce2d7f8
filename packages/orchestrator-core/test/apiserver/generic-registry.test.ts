import { jest } from '@jest/globals';
import { defaultObject, RESOURCES, resourceByName, type Event, type KubeObject, type Pod, type ReplicationController, type Service, type WatchEvent } from '@pilot/api';
import { Cidr, createLogger } from '@pilot/common';
import { IpAllocator, PortAllocator } from '../../src/apiserver/allocator.js';
import { GenericRegistry, selection } from '../../src/apiserver/registry/generic-registry.js';
import { RESOURCE_TABLE } from '../../src/apiserver/registry/table.js';
import type { SubresourceCall } from '../../src/apiserver/registry/subresources.js';
import { validate } from '../../src/apiserver/server.js';
import { StatusError } from '../../src/apiserver/status.js';
import { failure } from './status-of.js';
import { MemoryStorage } from '../../src/apiserver/storage/memory.js';
import { WatchCaches } from '../../src/apiserver/storage/watch-cache.js';

/**
 * The generic registry over the in-memory Storage (etcd's semantics without
 * etcd): every write path, graceful deletion, finalizers and propagation
 * policies, watches from a revision, 410 after compaction, namespace
 * termination, and the subresources of the table.
 */

const res = (name: string) => resourceByName(name)!;
const pods = res('pods');
const log = createLogger('registry-test', { level: 'silent' });

function setup(opts: { now?: () => number; cacheSize?: number } = {}) {
  const storage = new MemoryStorage('/registry', opts.now);
  const caches = new WatchCaches(storage, { log, capacity: opts.cacheSize ?? 100 });
  const registry = new GenericRegistry({
    storage,
    caches,
    table: RESOURCE_TABLE,
    validate,
    defaults: (r, obj) => defaultObject(r.resource, obj),
    serviceIPs: new IpAllocator(Cidr.parse('10.0.0.0/29'), '/registry/ranges/serviceips/'),
    nodePorts: new PortAllocator({ min: 30000, max: 30003 }, '/registry/ranges/servicenodeports/'),
    log,
    ttlMs: (r) => (r.resource === 'events' ? 60_000 : undefined),
  });
  return { storage, caches, registry };
}

async function withNamespace(name = 'ns') {
  const s = setup();
  await s.registry.create(res('namespaces'), undefined, { metadata: { name } });
  return s;
}

const pod = (name: string, extra: Partial<Pod> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...(extra.metadata ?? {}) },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...(extra.spec ?? {}) },
});


function call(resource: string, namespace: string | undefined, name: string, query = ''): SubresourceCall {
  return { resource: res(resource), namespace, name, query: new URLSearchParams(query), checkFields: (o) => o, checkPatched: (n) => n };
}

/** Collects what a watch delivers; `until` polls (bounded) for a condition. */
function collector() {
  const events: WatchEvent[] = [];
  const errors: StatusError[] = [];
  const sink = { onEvent: (e: WatchEvent) => void events.push(e), onProgress: () => undefined, onError: (e: StatusError) => void errors.push(e) };
  const until = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setImmediate(r));
    if (!cond()) throw new Error(`timed out waiting for ${what}: ${JSON.stringify({ events: events.map((e) => `${e.type} ${e.object.metadata.name}`), errors: errors.map((e) => e.message) })}`);
  };
  return { events, errors, sink, until };
}

describe('generic registry on the in-memory storage', () => {
  it('creates with uid, creationTimestamp and resourceVersion = revision; a second create is 409 AlreadyExists', async () => {
    const { registry, storage } = await withNamespace();
    const created = await registry.create(pods, 'ns', pod('p'));
    expect(created.metadata).toMatchObject({ name: 'p', namespace: 'ns', generation: 1, resourceVersion: String(await storage.revision()) });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect((await registry.get(pods, 'ns', 'p')).metadata.uid).toBe(created.metadata.uid);
    const again = await failure(registry.create(pods, 'ns', pod('p')));
    expect(again).toMatchObject({ code: 409, reason: 'AlreadyExists', message: 'pods "p" already exists' });
    expect((await failure(registry.create(pods, 'nowhere', pod('q')))).message).toBe('namespaces "nowhere" not found');
  });

  it('updates with the current resourceVersion; a stale one is 409 Conflict and changes nothing', async () => {
    const { registry } = await withNamespace();
    const v1 = await registry.create(pods, 'ns', pod('p'));
    const v2 = await registry.update(pods, 'ns', 'p', { ...v1, metadata: { ...v1.metadata, labels: { a: '1' } } });
    expect(Number(v2.metadata.resourceVersion)).toBeGreaterThan(Number(v1.metadata.resourceVersion));
    const stale = await failure(registry.update(pods, 'ns', 'p', { ...v1, metadata: { ...v1.metadata, labels: { a: 'stale' } } }));
    expect(stale).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(stale.message).toContain('the object has been modified');
    expect((await registry.get(pods, 'ns', 'p')).metadata.labels).toEqual({ a: '1' });
    // No resourceVersion: an unconditional update.
    const { resourceVersion: _rv, ...meta } = v1.metadata;
    expect((await registry.update(pods, 'ns', 'p', { ...v1, metadata: { ...meta, labels: { a: '2' } } })).metadata.labels).toEqual({ a: '2' });
  });

  it('a write starts from the watch cache\'s copy instead of a storage read, and a copy that is behind changes nothing it should not', async () => {
    const { registry, storage, caches } = await withNamespace();
    const c = collector();
    await registry.subscribe(pods, 'ns', selection(pods), await storage.revision(), c.sink);
    const v1 = await registry.create(pods, 'ns', pod('p'));
    await c.until(() => c.events.length === 1, 'the create in the cache');
    const key = storage.keyFor('pods', 'ns', 'p');
    const reads = jest.spyOn(storage, 'get');
    const v2 = await registry.patch(pods, 'ns', 'p', { type: 'merge-patch', patch: { metadata: { labels: { a: '1' } } } });
    expect(reads.mock.calls.filter(([k]) => k === key)).toHaveLength(0);
    await c.until(() => c.events.length === 2, 'the patch in the cache');

    // From here on the cache answers with v1 although the store holds v2.
    const cache = caches.peek(storage.prefixFor('pods'))!;
    const stale = jest.spyOn(cache, 'current').mockImplementation((k) => (k === key ? { key, obj: structuredClone(v1), rv: Number(v1.metadata.resourceVersion) } : undefined));
    const v3 = await registry.patch(pods, 'ns', 'p', { type: 'merge-patch', patch: { metadata: { labels: { b: '2' } } } });
    expect(v3.metadata.labels).toEqual({ a: '1', b: '2' });
    // The caller's resourceVersion is the store's, newer than the cache's copy: no 409.
    const v4 = await registry.update(pods, 'ns', 'p', { ...v3, metadata: { ...v3.metadata, labels: { c: '3' } } });
    expect(v4.metadata.labels).toEqual({ c: '3' });
    // A version that really is stale still is.
    expect(await failure(registry.update(pods, 'ns', 'p', { ...v2, metadata: { ...v2.metadata, labels: { d: '4' } } }))).toMatchObject({ code: 409, reason: 'Conflict' });
    expect((await registry.get(pods, 'ns', 'p')).metadata.labels).toEqual({ c: '3' });
    // So does a delete's precondition.
    await registry.delete(pods, 'ns', 'p', { preconditions: { resourceVersion: v4.metadata.resourceVersion! }, gracePeriodSeconds: 0 });
    expect(await failure(registry.get(pods, 'ns', 'p'))).toMatchObject({ code: 404 });
    expect(stale).toHaveBeenCalled();
  });

  it('patches every way, keeping status out of the main resource and in the status subresource', async () => {
    const { registry } = await withNamespace();
    await registry.create(pods, 'ns', pod('p'));
    const merged = await registry.patch(pods, 'ns', 'p', { type: 'merge-patch', patch: { metadata: { labels: { x: 'y' } }, status: { phase: 'Running' } } });
    expect(merged.metadata.labels).toEqual({ x: 'y' });
    expect((merged as Pod).status?.phase).toBe('Pending');
    const status = RESOURCE_TABLE.pods!.subresources!.status!;
    const running = (await status.patch!(call('pods', 'ns', 'p'), { type: 'merge-patch', patch: { status: { phase: 'Running' }, metadata: { labels: { ignored: 'yes' } } } }, registry.ctx)) as Pod;
    expect(running.status?.phase).toBe('Running');
    expect(running.metadata.labels).toEqual({ x: 'y' });
    const jp = await registry.patch(pods, 'ns', 'p', { type: 'json-patch', patch: [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }] });
    expect(jp.metadata.annotations).toEqual({ a: 'b' });
  });

  it('deletes a pod on a Ready node gracefully (deletionTimestamp + grace), at once with grace 0', async () => {
    const { registry } = await withNamespace();
    await registry.create(res('nodes'), undefined, { metadata: { name: 'n1' } });
    await RESOURCE_TABLE.nodes!.subresources!.status!.update!(call('nodes', undefined, 'n1'), { metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } }, registry.ctx);
    await registry.create(pods, 'ns', pod('p', { spec: { containers: [{ name: 'c', image: 'busybox' }], nodeName: 'n1' } }));
    const marked = await registry.delete(pods, 'ns', 'p', {});
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    expect(marked.metadata.deletionGracePeriodSeconds).toBe(30);
    expect((await registry.get(pods, 'ns', 'p')).metadata.deletionTimestamp).toBe(marked.metadata.deletionTimestamp);
    await registry.delete(pods, 'ns', 'p', { gracePeriodSeconds: 0 });
    expect((await failure(registry.get(pods, 'ns', 'p'))).code).toBe(404);
    // An unscheduled pod goes at once; a precondition on a stale resourceVersion is 409.
    const q = await registry.create(pods, 'ns', pod('q'));
    expect((await failure(registry.delete(pods, 'ns', 'q', { preconditions: { resourceVersion: '1' } }))).code).toBe(409);
    expect((await registry.delete(pods, 'ns', 'q', { preconditions: { uid: q.metadata.uid! } })).metadata.deletionTimestamp).toBeUndefined();
  });

  it('watches from a revision: later changes only, from the cache and from storage when the cache no longer reaches back', async () => {
    const { registry, caches } = await withNamespace();
    const sel = selection(pods);
    const a = await registry.create(pods, 'ns', pod('a'));
    // Open the cache now, so later revisions are buffered.
    await caches.forPrefix('/registry/pods/');
    const b = await registry.create(pods, 'ns', pod('b'));
    await registry.patch(pods, 'ns', 'a', { type: 'merge-patch', patch: { metadata: { labels: { v: '2' } } } });
    await registry.delete(pods, 'ns', 'b', {});

    const fromCache = collector();
    const sub1 = await registry.subscribe(pods, 'ns', sel, Number(b.metadata.resourceVersion), fromCache.sink);
    await fromCache.until(() => fromCache.events.length === 2, 'the cached events');
    expect(fromCache.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['MODIFIED a', 'DELETED b']);
    expect(fromCache.events.every((e) => e.object.kind === 'Pod' && e.object.apiVersion === 'v1')).toBe(true);

    // From before the cache started: served by the storage's own history.
    const fromStorage = collector();
    const sub2 = await registry.subscribe(pods, 'ns', sel, Number(a.metadata.resourceVersion) - 1, fromStorage.sink);
    await fromStorage.until(() => fromStorage.events.length === 4, 'the stored events');
    expect(fromStorage.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a', 'ADDED b', 'MODIFIED a', 'DELETED b']);

    // Live events reach both; a label-filtered watch sees objects enter and leave.
    const labelled = collector();
    const sub3 = await registry.subscribe(pods, 'ns', selection(pods, 'tier=fe'), Number(await registry.list(pods, 'ns').then((l) => l.metadata.resourceVersion)), labelled.sink);
    await registry.patch(pods, 'ns', 'a', { type: 'merge-patch', patch: { metadata: { labels: { tier: 'fe' } } } });
    await registry.patch(pods, 'ns', 'a', { type: 'merge-patch', patch: { metadata: { labels: { tier: 'be' } } } });
    await labelled.until(() => labelled.events.length === 2, 'enter and leave');
    expect(labelled.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
    await fromCache.until(() => fromCache.events.length === 4, 'live events (cache)');
    await fromStorage.until(() => fromStorage.events.length === 6, 'live events (storage)');
    for (const s of [sub1, sub2, sub3]) s.cancel();
  });

  it('starts a watch without a resourceVersion with the current objects', async () => {
    const { registry } = await withNamespace();
    await registry.create(pods, 'ns', pod('a'));
    await registry.create(pods, 'ns', pod('b', { metadata: { name: 'b', labels: { tier: 'fe' } } }));
    const start = await registry.watchStart(pods, 'ns', selection(pods, 'tier=fe'), undefined);
    expect(start.initial.map((o) => o.metadata.name)).toEqual(['b']);
    expect(await failure(registry.watchStart(pods, 'ns', selection(pods), 'x'))).toMatchObject({ code: 400 });
  });

  it('answers 410 Expired for a watch or a continued list from a compacted revision', async () => {
    const { registry, storage } = await withNamespace();
    const first = await registry.create(pods, 'ns', pod('a'));
    for (let i = 0; i < 5; i++) await registry.create(pods, 'ns', pod(`p${i}`));
    const page = await registry.list(pods, 'ns', { limit: 2 });
    expect(page.metadata.continue).toBeDefined();
    await registry.create(pods, 'ns', pod('late'));
    await storage.compact(await storage.revision());
    const w = collector();
    await registry.subscribe(pods, 'ns', selection(pods), Number(first.metadata.resourceVersion) - 1, w.sink);
    await w.until(() => w.errors.length === 1, 'the 410');
    expect(w.errors[0]).toMatchObject({ code: 410, reason: 'Expired' });
    const cont = await failure(registry.list(pods, 'ns', { limit: 2, continue: page.metadata.continue! }));
    expect(cont).toMatchObject({ code: 410, reason: 'Expired' });
    expect(cont.message).toContain('The provided continue parameter is too old');
    // From the current revision the watch still works.
    const ok = collector();
    await registry.subscribe(pods, 'ns', selection(pods), await storage.revision(), ok.sink);
    await registry.create(pods, 'ns', pod('after'));
    await ok.until(() => ok.events.length === 1, 'an event after compaction');
  });

  it('propagationPolicy sets the collector finalizers: Orphan and Foreground keep the owner (deletionTimestamp), Background removes it; dependents stay for the collector', async () => {
    const { registry } = await withNamespace();
    const rcs = res('replicationcontrollers');
    const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    const mk = async (name: string) => (await registry.create(rcs, 'ns', { metadata: { name }, spec: { replicas: 1, selector: { app: 'x' }, template } })) as ReplicationController;
    for (const name of ['bg', 'orphan', 'fg', 'raw']) await mk(name);
    await registry.create(pods, 'ns', pod('dep', { metadata: { name: 'dep', ownerReferences: [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'bg', uid: 'x', controller: true }] } }));
    expect((await registry.delete(rcs, 'ns', 'bg', { propagationPolicy: 'Background' })).metadata.deletionTimestamp).toBeUndefined();
    expect(await failure(registry.get(rcs, 'ns', 'bg'))).toMatchObject({ code: 404 });
    expect((await registry.get(pods, 'ns', 'dep')).metadata.name).toBe('dep');
    const orphan = await registry.delete(rcs, 'ns', 'orphan', { propagationPolicy: 'Orphan' });
    expect(orphan.metadata).toMatchObject({ finalizers: ['orphan'], deletionTimestamp: expect.any(String), deletionGracePeriodSeconds: 0 });
    expect((await registry.get(rcs, 'ns', 'fg')).metadata.finalizers).toBeUndefined();
    expect((await registry.delete(rcs, 'ns', 'fg', { propagationPolicy: 'Foreground' })).metadata.finalizers).toEqual(['foregroundDeletion']);
    // A raw v1 RC delete without a policy orphans, as upstream; a second delete with a policy switches the finalizer.
    expect((await registry.delete(rcs, 'ns', 'raw', {})).metadata.finalizers).toEqual(['orphan']);
    expect((await registry.delete(rcs, 'ns', 'raw', { propagationPolicy: 'Foreground' })).metadata.finalizers).toEqual(['foregroundDeletion']);
    // A pod (default policy DeleteDependents) without a policy gets no finalizer.
    await registry.create(pods, 'ns', pod('plain'));
    await registry.delete(pods, 'ns', 'plain', {});
    expect(await failure(registry.get(pods, 'ns', 'plain'))).toMatchObject({ code: 404 });
    expect(await failure(registry.delete(rcs, 'ns', 'fg', { propagationPolicy: 'Sideways' }))).toMatchObject({ code: 422, reason: 'Invalid' });
  });

  it('an object with finalizers is only marked; no finalizer may be added then; the update that removes the last one removes it (with its extras)', async () => {
    const { registry, storage } = await withNamespace();
    const svcs = res('services');
    await registry.create(svcs, 'ns', { metadata: { name: 's', finalizers: ['example.com/hold'] }, spec: { ports: [{ port: 80 }] } });
    expect((await storage.list('/registry/ranges/serviceips/', { keysOnly: true })).items).toHaveLength(1);
    const marked = await registry.delete(svcs, 'ns', 's', {});
    expect(marked.metadata).toMatchObject({ deletionTimestamp: expect.any(String), finalizers: ['example.com/hold'] });
    // Deleting again changes nothing.
    expect((await registry.delete(svcs, 'ns', 's', {})).metadata.resourceVersion).toBe(marked.metadata.resourceVersion);
    const added = await failure(registry.patch(svcs, 'ns', 's', { type: 'merge-patch', patch: { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } } }));
    expect(added.message).toContain('no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/more"}');
    await registry.patch(svcs, 'ns', 's', { type: 'merge-patch', patch: { metadata: { labels: { still: 'here' } } } });
    expect((await registry.get(svcs, 'ns', 's')).metadata.labels).toEqual({ still: 'here' });
    await registry.patch(svcs, 'ns', 's', { type: 'json-patch', patch: [{ op: 'remove', path: '/metadata/finalizers' }] });
    expect(await failure(registry.get(svcs, 'ns', 's'))).toMatchObject({ code: 404 });
    expect((await storage.list('/registry/ranges/serviceips/', { keysOnly: true })).items).toEqual([]);
    const both = await failure(registry.create(pods, 'ns', pod('both', { metadata: { name: 'both', finalizers: ['orphan', 'foregroundDeletion'] } })));
    expect(both.message).toContain('finalizer orphan and foregroundDeletion cannot be both set');
  });

  it('a create checks its namespace inside its own transaction: no read while the namespace is unchanged, and any change of it is seen', async () => {
    const { registry, storage } = await withNamespace('ns');
    const nss = res('namespaces');
    const gets = jest.spyOn(storage, 'get');
    await registry.create(pods, 'ns', pod('a'));
    await registry.create(pods, 'ns', pod('b'));
    await registry.create(pods, 'ns', pod('c'));
    // One read to learn the namespace, then its revision rides in each create's compare.
    expect(gets.mock.calls.filter(([k]) => k === '/registry/namespaces/ns')).toHaveLength(1);
    // An update of the namespace fails the next compare once; the create still lands.
    await registry.patch(nss, undefined, 'ns', { type: 'merge-patch', patch: { metadata: { labels: { team: 'x' } } } });
    expect((await registry.create(pods, 'ns', pod('d'))).metadata.name).toBe('d');
    // Removed outright (no finalizers): 404, and the same name made again takes creates again.
    await registry.create(nss, undefined, { metadata: { name: 'brief' }, spec: { finalizers: [] } });
    await registry.create(pods, 'brief', pod('p'));
    await registry.delete(pods, 'brief', 'p', { gracePeriodSeconds: 0 });
    await registry.delete(nss, undefined, 'brief', {});
    expect(await failure(registry.create(pods, 'brief', pod('q')))).toMatchObject({ code: 404, message: 'namespaces "brief" not found' });
    await registry.create(nss, undefined, { metadata: { name: 'brief' }, spec: { finalizers: [] } });
    expect((await registry.create(pods, 'brief', pod('q'))).metadata.namespace).toBe('brief');
    gets.mockRestore();
  });

  it('a deleted namespace is Terminating until finalize empties spec.finalizers; nothing new is created in it (403 NamespaceTerminating); system namespaces are 403', async () => {
    const { registry } = await withNamespace('gone');
    const nss = res('namespaces');
    await registry.create(pods, 'gone', pod('p'));
    const marked = (await registry.delete(nss, undefined, 'gone', { propagationPolicy: 'Background' })) as KubeObject & { spec: { finalizers: string[] }; status: { phase: string } };
    expect(marked).toMatchObject({ metadata: { deletionTimestamp: expect.any(String) }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Terminating' } });
    // The content stays for the namespace controller.
    expect((await registry.list(pods, 'gone')).items.map((p) => p.metadata.name)).toEqual(['p']);
    const refused = await failure(registry.create(pods, 'gone', pod('late')));
    expect(refused).toMatchObject({ code: 403, reason: 'Forbidden', message: 'pods "late" is forbidden: unable to create new content in namespace gone because it is being terminated' });
    expect(refused.status.details?.causes).toEqual([expect.objectContaining({ reason: 'NamespaceTerminating', field: 'metadata.namespace' })]);
    // spec.finalizers change only through finalize.
    await registry.patch(nss, undefined, 'gone', { type: 'merge-patch', patch: { spec: { finalizers: [] } } });
    expect((await registry.get(nss, undefined, 'gone')).spec).toEqual({ finalizers: ['kubernetes'] });
    const finalize = RESOURCE_TABLE.namespaces!.subresources!.finalize!;
    await finalize.update!(call('namespaces', undefined, 'gone'), { metadata: { name: 'gone' }, spec: { finalizers: [] } }, registry.ctx);
    expect(await failure(registry.get(nss, undefined, 'gone'))).toMatchObject({ code: 404 });
    // A namespace without finalizers goes at once; system namespaces never.
    await registry.create(nss, undefined, { metadata: { name: 'bare' }, spec: { finalizers: [] } });
    await registry.delete(nss, undefined, 'bare', {});
    expect(await failure(registry.get(nss, undefined, 'bare'))).toMatchObject({ code: 404 });
    await registry.create(nss, undefined, { metadata: { name: 'default' } });
    expect(await failure(registry.delete(nss, undefined, 'default', {}))).toMatchObject({ code: 403, reason: 'Forbidden' });
  });

  it('binds a pod once (pods/binding), leaves the Scheduled event to the scheduler, and refuses a second binding with 409', async () => {
    const { registry } = await withNamespace();
    await registry.create(pods, 'ns', pod('p'));
    const binding = RESOURCE_TABLE.pods!.subresources!.binding!;
    const body = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { kind: 'Node', name: 'n1' } };
    expect(await binding.create!(call('pods', 'ns', 'p'), body, registry.ctx)).toMatchObject({ code: 201, body: { status: 'Success' } });
    const bound = (await registry.get(pods, 'ns', 'p')) as Pod;
    expect(bound.spec?.nodeName).toBe('n1');
    expect(bound.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
    const again = await failure(binding.create!(call('pods', 'ns', 'p'), { ...body, target: { kind: 'Node', name: 'n2' } }, registry.ctx));
    expect(again.code).toBe(409);
    expect(again.message).toContain('already assigned to node "n1"');
    const events = (await registry.list(res('events'), 'ns', { fieldSelector: 'involvedObject.name=p' })).items as Event[];
    expect(events.map((e) => e.reason)).toEqual([]);
  });

  it('scales an RC through replicationcontrollers/scale (GET, PUT with a stale version 409, PATCH)', async () => {
    const { registry } = await withNamespace();
    const rcs = res('replicationcontrollers');
    const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    await registry.create(rcs, 'ns', { metadata: { name: 'rc' }, spec: { replicas: 1, selector: { app: 'x' }, template } });
    const scale = RESOURCE_TABLE.replicationcontrollers!.subresources!.scale!;
    const s1 = await scale.get!(call('replicationcontrollers', 'ns', 'rc'), registry.ctx);
    expect(s1).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 1 }, status: { selector: 'app=x' } });
    const s2 = await scale.update!(call('replicationcontrollers', 'ns', 'rc'), { ...s1, spec: { replicas: 3 } }, registry.ctx);
    expect(s2).toMatchObject({ spec: { replicas: 3 } });
    expect((await failure(scale.update!(call('replicationcontrollers', 'ns', 'rc'), { ...s1, spec: { replicas: 4 } }, registry.ctx))).code).toBe(409);
    await scale.patch!(call('replicationcontrollers', 'ns', 'rc'), { type: 'merge-patch', patch: { spec: { replicas: 0 } } }, registry.ctx);
    expect(((await registry.get(rcs, 'ns', 'rc')) as ReplicationController).spec?.replicas).toBe(0);
    expect((await failure(scale.patch!(call('replicationcontrollers', 'ns', 'rc'), { type: 'merge-patch', patch: { spec: { replicas: -1 } } }, registry.ctx))).code).toBe(422);
  });

  it('allocates a ClusterIP in the Service transaction and tells the story in events; a full range is FailedToAllocate', async () => {
    const { registry } = await withNamespace();
    const services = res('services');
    // 10.0.0.0/29: six usable addresses.
    for (let i = 0; i < 6; i++) {
      const svc = (await registry.create(services, 'ns', { metadata: { name: `s${i}` }, spec: { ports: [{ port: 80 }] } })) as Service;
      expect(svc.spec?.clusterIP).toMatch(/^10\.0\.0\.[1-6]$/);
    }
    const full = await failure(registry.create(services, 'ns', { metadata: { name: 'full' }, spec: { ports: [{ port: 80 }] } }));
    expect(full.message).toContain('range 10.0.0.0/29 is full');
    const reasons = (await registry.list(res('events'), 'ns')).items.map((e) => `${(e as Event).reason} ${(e as Event).involvedObject.name}`).sort();
    expect(reasons).toContain('ClusterIPAllocated s0');
    expect(reasons).toContain('FailedToAllocate full');
    // The apiserver's own writes can be quiet.
    await registry.delete(services, 'ns', 's0', {});
    await registry.create(services, 'ns', { metadata: { name: 'quiet' }, spec: { ports: [{ port: 80 }] } }, { events: false });
    expect((await registry.list(res('events'), 'ns', { fieldSelector: 'involvedObject.name=quiet' })).items).toEqual([]);
  });

  it('lets objects with a TTL expire (events), watchers seeing DELETED', async () => {
    let now = 1_000_000;
    const { registry } = setup({ now: () => now });
    await registry.create(res('namespaces'), undefined, { metadata: { name: 'ns' } });
    const ev = await registry.create(res('events'), 'ns', { metadata: { name: 'e' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'ns' }, reason: 'R', message: 'm' } as KubeObject);
    const w = collector();
    await registry.subscribe(res('events'), 'ns', selection(res('events')), Number(ev.metadata.resourceVersion), w.sink);
    now += 59_000;
    expect((await registry.get(res('events'), 'ns', 'e')).metadata.name).toBe('e');
    now += 2_000;
    expect((await failure(registry.get(res('events'), 'ns', 'e'))).code).toBe(404);
    await w.until(() => w.events.length === 1, 'the expiry');
    expect(w.events[0]!.type).toBe('DELETED');
  });

  it('refuses names and namespaces that are not one path segment before making a key', async () => {
    const { registry } = await withNamespace();
    expect((await failure(registry.get(pods, 'ns', '..'))).message).toBe(`Name parameter invalid: "..": may not be '..'`);
    expect((await failure(registry.delete(pods, 'a/b', 'p', {}))).message).toBe(`Namespace parameter invalid: "a/b": may not contain '/'`);
  });
});

describe('the resource table', () => {
  it('serves exactly the subresources that discovery (@pilot/api RESOURCES) announces', () => {
    const announced = RESOURCES.flatMap((r) => r.subresources.map((s) => `${r.resource}/${s}`)).sort();
    const served = Object.entries(RESOURCE_TABLE)
      .flatMap(([r, reg]) => Object.keys(reg.subresources ?? {}).map((s) => `${r}/${s}`))
      .sort();
    expect(served).toEqual(announced);
  });

  it('connect subresources name how they are streamed', () => {
    expect(RESOURCE_TABLE.pods!.subresources!.log!.connect).toMatchObject({ methods: ['GET'], upgrade: false });
    expect(RESOURCE_TABLE.pods!.subresources!.exec!.connect).toMatchObject({ methods: ['GET', 'POST'], upgrade: true });
  });
});
