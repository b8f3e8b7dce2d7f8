import { ApiError, type Endpoints, type EndpointSlice, type KubeObject, type Pod, type ReplicationController, type Service } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster, withLogsOnFailure } from '@pilot/netns';
import { pod, raw, startInProcess, type InProcess } from './helpers.js';

/**
 * The apiserver's CRUD semantics over a real etcd, through the shared
 * @pilot/api client (and raw HTTP where the status code is the point).
 */

let c: Cluster | undefined;
let api: InProcess;
const J = { 'content-type': 'application/json' };

async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  api = await startInProcess(c, { serviceClusterIpRange: '10.0.0.0/24' });
});

afterAll(async () => {
  api?.client.close();
  await api?.server.close();
  await c?.teardown();
});

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

describe('apiserver CRUD over etcd', () => {
  t('bootstraps the system namespaces and default/kubernetes at the first service IP', async () => {
    const names = (await api.client.list('namespaces')).items.map((n) => n.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-node-lease']));
    const svc = await api.client.get<Service>('services', 'kubernetes', { namespace: 'default' });
    expect(svc.spec?.clusterIP).toBe('10.0.0.1');
    expect(svc.spec?.ports?.[0]).toMatchObject({ name: 'https', port: 443 });
    // Only loopback is served here: no endpoints are published.
    expect((await failure(api.client.get('endpoints', 'kubernetes', { namespace: 'default' }))).code).toBe(404);
  });

  t('stores objects under /registry/<resource>/<ns>/<name> with resourceVersion = mod_revision', async () => {
    const created = await api.client.create('pods', pod('keyed'), { namespace: 'default' });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(created.metadata.generation).toBe(1);
    const r = await c!.etcd!.etcdctl(['get', '/registry/pods/default/keyed', '-w', 'json']);
    const kv = JSON.parse(r.stdout).kvs[0];
    expect(String(kv.mod_revision)).toBe(created.metadata.resourceVersion);
    const stored = JSON.parse(Buffer.from(kv.value, 'base64').toString());
    expect(stored.metadata.name).toBe('keyed');
    expect(stored.metadata.resourceVersion).toBeUndefined();
    const ns = await c!.etcd!.etcdctl(['get', '/registry/namespaces/kube-system', '--print-value-only']);
    expect(JSON.parse(ns.stdout).metadata.name).toBe('kube-system');
  });

  t('creates, reads, updates, lists and deletes every served type', async () => {
    const ns = 'crud';
    await api.client.create('namespaces', { metadata: { name: ns } });
    const objects: [string, KubeObject][] = [
      ['pods', pod('p')],
      ['services', { metadata: { name: 's' }, spec: { ports: [{ port: 80 }], selector: { app: 'x' } } }],
      ['endpoints', { metadata: { name: 's' }, subsets: [{ addresses: [{ ip: '10.1.0.5' }], ports: [{ port: 80 }] }] }],
      ['replicationcontrollers', { metadata: { name: 'rc' }, spec: { replicas: 1, selector: { app: 'x' }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } } }],
      ['events', { metadata: { name: 'e' }, involvedObject: { kind: 'Pod', namespace: ns, name: 'p' }, reason: 'Test', message: 'hello' }],
      ['leases', { metadata: { name: 'l' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 40 } }],
      ['endpointslices', { metadata: { name: 'manual' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.9'] }] } as KubeObject],
      ['configmaps', { metadata: { name: 'cm' }, data: { a: 'b' } } as KubeObject],
      ['secrets', { metadata: { name: 'sec' }, stringData: { p: 'hunter2' } } as KubeObject],
      ['serviceaccounts', { metadata: { name: 'sa' } }],
      ['nodes', { metadata: { name: 'crud-node' } }],
    ];
    for (const [resource, obj] of objects) {
      const opts = resource === 'nodes' ? {} : { namespace: ns };
      const created = await api.client.create(resource, obj, opts);
      expect(created.metadata.name).toBe(obj.metadata.name);
      const got = await api.client.get(resource, obj.metadata.name!, opts);
      expect(got.metadata.uid).toBe(created.metadata.uid);
      const labelled = await api.client.update(resource, { ...got, metadata: { ...got.metadata, labels: { touched: 'yes' } } }, opts);
      expect(Number(labelled.metadata.resourceVersion)).toBeGreaterThan(Number(got.metadata.resourceVersion));
      const listed = await api.client.list(resource, { ...opts, labelSelector: 'touched=yes' });
      expect(listed.items.map((i) => i.metadata.name)).toContain(obj.metadata.name);
      expect(Number(listed.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(labelled.metadata.resourceVersion));
      // Background, as kubectl sends it (a v1 RC deleted without a policy would wait, orphaning, for the collector).
      await api.client.delete(resource, obj.metadata.name!, { ...opts, gracePeriodSeconds: 0, propagationPolicy: 'Background' });
      expect((await failure(api.client.get(resource, obj.metadata.name!, opts))).code).toBe(404);
    }
  });

  t('two updates from one resourceVersion: exactly one wins, the other is 409 Conflict', async () => {
    const p = await api.client.create<Pod>('pods', pod('race'), { namespace: 'default' });
    const attempt = (v: string) => api.client.update('pods', { ...p, metadata: { ...p.metadata, labels: { v } } }, { namespace: 'default' });
    const results = await Promise.allSettled([attempt('a'), attempt('b'), attempt('c')]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(2);
    for (const l of lost) expect(l.reason).toMatchObject({ code: 409, reason: 'Conflict' });
    const final = await api.client.get('pods', 'race', { namespace: 'default' });
    expect(final.metadata.labels?.v).toBe((won[0] as PromiseFulfilledResult<KubeObject>).value.metadata.labels?.v);
  });

  t('answers every failure with a Status: 409 AlreadyExists, 422 with causes, 400, 404, 405, 413, 415', async () => {
    await api.client.create('pods', pod('dup'), { namespace: 'default' });
    const dup = await failure(api.client.create('pods', pod('dup'), { namespace: 'default' }));
    expect(dup).toMatchObject({ code: 409, reason: 'AlreadyExists' });

    const bad = await raw(api.url, 'POST', '/api/v1/namespaces/default/pods', JSON.stringify({ metadata: { name: 'Bad_Name' }, spec: { containers: [] } }), J);
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422, details: { kind: 'Pod', name: 'Bad_Name' } });
    const fields = bad.body.details.causes.map((x: { field: string }) => x.field);
    expect(fields).toEqual(expect.arrayContaining(['metadata.name', 'spec.containers']));

    const malformed = await raw(api.url, 'POST', '/api/v1/namespaces/default/pods', '{"metadata":', J);
    expect(malformed).toMatchObject({ status: 400, body: { reason: 'BadRequest' } });
    const badYaml = await raw(api.url, 'POST', '/api/v1/namespaces/default/pods', 'metadata: [unclosed', { 'content-type': 'application/yaml' });
    expect(badYaml).toMatchObject({ status: 400, body: { reason: 'BadRequest' } });
    const yaml = await raw(api.url, 'POST', '/api/v1/namespaces/default/pods', 'metadata:\n  name: from-yaml\nspec:\n  containers:\n  - name: c\n    image: busybox\n', { 'content-type': 'application/yaml' });
    expect(yaml).toMatchObject({ status: 201, body: { metadata: { name: 'from-yaml' } } });

    expect(await raw(api.url, 'GET', '/api/v1/namespaces/default/pods/nope')).toMatchObject({ status: 404, body: { reason: 'NotFound', message: 'pods "nope" not found' } });
    expect(await raw(api.url, 'GET', '/api/v1/widgets')).toMatchObject({ status: 404, body: { kind: 'Status' } });
    expect(await raw(api.url, 'PUT', '/api/v1/namespaces/default/pods', '{}', J)).toMatchObject({ status: 405, body: { reason: 'MethodNotAllowed' } });
    expect(await raw(api.url, 'DELETE', '/api/v1/namespaces/default/pods/dup/status')).toMatchObject({ status: 405, body: { reason: 'MethodNotAllowed' } });
    expect(await raw(api.url, 'POST', '/api/v1/namespaces/default/pods', '{}', { 'content-type': 'text/plain' })).toMatchObject({ status: 415, body: { reason: 'UnsupportedMediaType' } });

    const huge = JSON.stringify({ ...pod('huge'), metadata: { name: 'huge', annotations: { blob: 'x'.repeat(1_600_000) } } });
    expect(await raw(api.url, 'POST', '/api/v1/namespaces/default/pods', huge, J)).toMatchObject({ status: 413, body: { reason: 'RequestEntityTooLarge', code: 413 } });
    expect((await failure(api.client.get('pods', 'huge', { namespace: 'default' }))).code).toBe(404);
    // The same without Content-Length (chunked): still a 413 Status, not a reset.
    const chunked = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (let i = 0; i < 20; i++) ctrl.enqueue(new Uint8Array(100_000).fill(32));
        ctrl.close();
      },
    });
    const res = await fetch(`${api.url}/api/v1/namespaces/default/pods`, { method: 'POST', body: chunked, headers: J, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'RequestEntityTooLarge' });

    expect((await failure(api.client.create('pods', pod('orphan'), { namespace: 'no-such-ns' }))).code).toBe(404);
    // The server is still fine after all of that.
    expect((await api.client.get('pods', 'dup', { namespace: 'default' })).metadata.name).toBe('dup');
  });

  t('generateName picks a fresh name', async () => {
    const a = await api.client.create<Pod>('pods', { ...pod(''), metadata: { generateName: 'gen-' } }, { namespace: 'default' });
    const b = await api.client.create<Pod>('pods', { ...pod(''), metadata: { generateName: 'gen-' } }, { namespace: 'default' });
    expect(a.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(b.metadata.name).not.toBe(a.metadata.name);
  });

  t('filters lists with label and field selectors, rejects unknown field labels, pages with limit/continue', async () => {
    await api.client.create('namespaces', { metadata: { name: 'sel' } });
    for (let i = 0; i < 7; i++) await api.client.create('pods', pod(`s${i}`, { tier: i % 2 ? 'fe' : 'be', idx: String(i) }), { namespace: 'sel' });
    const names = async (q: Record<string, string>) => (await api.client.list('pods', { namespace: 'sel', ...q })).items.map((p) => p.metadata.name).sort();
    expect(await names({ labelSelector: 'tier=fe' })).toEqual(['s1', 's3', 's5']);
    expect(await names({ labelSelector: 'tier!=fe,idx notin (0,2)' })).toEqual(['s4', 's6']);
    expect(await names({ labelSelector: 'idx in (1,2),tier' })).toEqual(['s1', 's2']);
    expect(await names({ fieldSelector: 'metadata.name=s3' })).toEqual(['s3']);
    expect(await names({ fieldSelector: 'status.phase=Pending,metadata.name!=s0', labelSelector: 'tier=be' })).toEqual(['s2', 's4', 's6']);
    const unknown = await raw(api.url, 'GET', '/api/v1/namespaces/sel/pods?fieldSelector=spec.nope%3D1');
    expect(unknown).toMatchObject({ status: 400, body: { reason: 'BadRequest' } });
    expect(unknown.body.message).toContain('spec.nope');

    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await api.client.list('pods', { namespace: 'sel', limit: 3, ...(cont ? { continue: cont } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((p) => p.metadata.name!));
      cont = page.metadata.continue;
      pages++;
    } while (cont);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6']);
  });

  t('keeps status and spec apart and bumps generation on spec changes only', async () => {
    const rc = await api.client.create<ReplicationController>(
      'replicationcontrollers',
      { metadata: { name: 'gen' }, spec: { replicas: 1, selector: { app: 'g' }, template: { metadata: { labels: { app: 'g' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } }, status: { replicas: 9 } },
      { namespace: 'default' },
    );
    expect(rc.status?.replicas).toBe(0);
    const s = await api.client.updateStatus<ReplicationController>('replicationcontrollers', { ...rc, spec: { ...rc.spec, replicas: 5 }, status: { replicas: 1, readyReplicas: 1 } }, { namespace: 'default' });
    expect(s.status).toMatchObject({ replicas: 1, readyReplicas: 1 });
    expect(s.spec?.replicas).toBe(1);
    expect(s.metadata.generation).toBe(1);
    const labelled = await api.client.update<ReplicationController>('replicationcontrollers', { ...s, metadata: { ...s.metadata, labels: { a: 'b' } }, status: { replicas: 42 } }, { namespace: 'default' });
    expect(labelled.metadata.generation).toBe(1);
    expect(labelled.status?.replicas).toBe(1);
    const scaled = await api.client.update<ReplicationController>('replicationcontrollers', { ...labelled, spec: { ...labelled.spec, replicas: 3 } }, { namespace: 'default' });
    expect(scaled.metadata.generation).toBe(2);
    const patched = await api.client.patch<ReplicationController>('replicationcontrollers', 'gen', { spec: { replicas: 4 } }, 'merge', { namespace: 'default' });
    expect(patched.metadata.generation).toBe(3);
    expect(patched.spec?.replicas).toBe(4);
  });

  t('status subresources: the kubelet patches pods/status and nodes/status (strategic merge); main writes never touch status', async () => {
    await api.client.create('pods', pod('st'), { namespace: 'default' });
    const running = await api.client.patchStatus<Pod>(
      'pods',
      'st',
      { spec: { nodeName: 'sneaky' }, status: { phase: 'Running', podIP: '10.1.0.7', conditions: [{ type: 'Ready', status: 'True' }] } },
      'strategic',
      { namespace: 'default' },
    );
    expect(running.status).toMatchObject({ phase: 'Running', podIP: '10.1.0.7' });
    expect(running.spec?.nodeName).toBeUndefined();
    const more = await api.client.patchStatus<Pod>('pods', 'st', { status: { conditions: [{ type: 'ContainersReady', status: 'True' }] } }, 'strategic', { namespace: 'default' });
    expect(more.status?.conditions?.map((c) => c.type).sort()).toEqual(['ContainersReady', 'Ready']);
    const ignored = await api.client.patch<Pod>('pods', 'st', { status: { phase: 'Failed' } }, 'merge', { namespace: 'default' });
    expect(ignored.status?.phase).toBe('Running');
    expect((await api.client.list('pods', { namespace: 'default', fieldSelector: 'status.phase=Running' })).items.map((p) => p.metadata.name)).toEqual(['st']);

    await api.client.create('nodes', { metadata: { name: 'status-node' } });
    const node = await api.client.patchStatus('nodes', 'status-node', { status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '172.30.0.11' }] } }, 'strategic');
    expect(node.status).toMatchObject({ conditions: [{ type: 'Ready', status: 'True' }] });
  });

  t('deletecollection removes what the selector matches and nothing else', async () => {
    await api.client.create('namespaces', { metadata: { name: 'dc' } });
    for (const [n, app] of [['d1', 'x'], ['d2', 'x'], ['d3', 'y']] as const) await api.client.create('pods', pod(n, { app }), { namespace: 'dc' });
    const r = await raw(api.url, 'DELETE', '/api/v1/namespaces/dc/pods?labelSelector=app%3Dx');
    expect(r.status).toBe(200);
    expect(r.body.items.map((p: Pod) => p.metadata.name).sort()).toEqual(['d1', 'd2']);
    expect((await api.client.list('pods', { namespace: 'dc' })).items.map((p) => p.metadata.name)).toEqual(['d3']);
  });

  t('a deleted namespace is Terminating and refuses new content (403) until its content is gone and finalize empties spec.finalizers; system namespaces cannot be deleted', async () => {
    await api.client.create('namespaces', { metadata: { name: 'gone' } });
    await api.client.create('pods', pod('gp'), { namespace: 'gone' });
    const s = await api.client.create<Service>('services', { metadata: { name: 'gs' }, spec: { ports: [{ port: 80 }] } }, { namespace: 'gone' });
    const marked = (await api.client.delete('namespaces', 'gone')) as KubeObject;
    expect(marked).toMatchObject({ metadata: { deletionTimestamp: expect.any(String) }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Terminating' } });
    const refused = await failure(api.client.create('pods', pod('late'), { namespace: 'gone' }));
    expect(refused).toMatchObject({ code: 403, reason: 'Forbidden', message: 'pods "late" is forbidden: unable to create new content in namespace gone because it is being terminated' });
    // What the namespace controller does: delete the content, then finalize.
    for (const resource of ['pods', 'services', 'events']) expect((await raw(api.url, 'DELETE', `/api/v1/namespaces/gone/${resource}`, '{"propagationPolicy":"Background"}', J)).status).toBe(200);
    const fin = await raw(api.url, 'PUT', '/api/v1/namespaces/gone/finalize', JSON.stringify({ ...marked, spec: { finalizers: [] } }), J);
    expect(fin.status).toBe(200);
    expect((await failure(api.client.get('namespaces', 'gone'))).code).toBe(404);
    const left = await c!.etcd!.etcdctl(['get', '--prefix', '/registry/', '--keys-only']);
    expect(left.stdout).not.toMatch(/\/gone\//);
    expect(left.stdout).not.toContain(`/registry/ranges/serviceips/${s.spec!.clusterIP}\n`);
    const forbidden = await failure(api.client.delete('namespaces', 'kube-system'));
    expect(forbidden).toMatchObject({ code: 403, reason: 'Forbidden' });
  });

  t('DELETE sets the garbage collector finalizers by propagationPolicy: Background removes the RC, Orphan and Foreground keep it marked; a raw v1 RC delete orphans', async () => {
    const rcBody = (name: string): ReplicationController => ({
      metadata: { name },
      spec: { replicas: 1, selector: { app: name }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    for (const name of ['owner-bg', 'owner-orphan', 'owner-fg', 'owner-raw']) await api.client.create<ReplicationController>('replicationcontrollers', rcBody(name), { namespace: 'default' });
    await api.client.delete('replicationcontrollers', 'owner-bg', { namespace: 'default', propagationPolicy: 'Background' });
    expect((await failure(api.client.get('replicationcontrollers', 'owner-bg', { namespace: 'default' }))).code).toBe(404);
    const finalizersOf = async (name: string) => (await api.client.get('replicationcontrollers', name, { namespace: 'default' })).metadata;
    await api.client.delete('replicationcontrollers', 'owner-orphan', { namespace: 'default', propagationPolicy: 'Orphan' });
    expect(await finalizersOf('owner-orphan')).toMatchObject({ finalizers: ['orphan'], deletionTimestamp: expect.any(String) });
    await api.client.delete('replicationcontrollers', 'owner-fg', { namespace: 'default', propagationPolicy: 'Foreground' });
    expect((await finalizersOf('owner-fg')).finalizers).toEqual(['foregroundDeletion']);
    expect((await raw(api.url, 'DELETE', '/api/v1/namespaces/default/replicationcontrollers/owner-raw')).status).toBe(200);
    expect((await finalizersOf('owner-raw')).finalizers).toEqual(['orphan']);
    // Without a collector running, removing the finalizer is what lets each go.
    for (const name of ['owner-orphan', 'owner-fg', 'owner-raw']) {
      await api.client.patch('replicationcontrollers', name, [{ op: 'remove', path: '/metadata/finalizers' }], 'json', { namespace: 'default' });
      expect((await failure(api.client.get('replicationcontrollers', name, { namespace: 'default' }))).code).toBe(404);
    }
  });

  t('scale subresource: GET, PUT without Content-Type, merge PATCH', async () => {
    await api.client.create('replicationcontrollers', { metadata: { name: 'sc' }, spec: { replicas: 2, selector: { app: 'sc' }, template: { metadata: { labels: { app: 'sc' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } } }, { namespace: 'default' });
    const scale = await api.client.getScale('replicationcontrollers', 'sc', { namespace: 'default' });
    expect(scale).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 2 }, status: { replicas: 0, selector: 'app=sc' } });
    // A Buffer body makes fetch send no Content-Type at all, as kubectl scale's PUT does.
    const put = await raw(api.url, 'PUT', '/api/v1/namespaces/default/replicationcontrollers/sc/scale', Buffer.from(JSON.stringify({ ...scale, spec: { replicas: 5 } })));
    expect(put).toMatchObject({ status: 200, body: { kind: 'Scale', spec: { replicas: 5 } } });
    const stale = await raw(api.url, 'PUT', '/api/v1/namespaces/default/replicationcontrollers/sc/scale', Buffer.from(JSON.stringify({ ...scale, spec: { replicas: 6 } })));
    expect(stale.status).toBe(409);
    const patch = await raw(api.url, 'PATCH', '/api/v1/namespaces/default/replicationcontrollers/sc/scale', JSON.stringify({ spec: { replicas: 3 } }), { 'content-type': 'application/merge-patch+json' });
    expect(patch).toMatchObject({ status: 200, body: { spec: { replicas: 3 } } });
    expect((await api.client.get<ReplicationController>('replicationcontrollers', 'sc', { namespace: 'default' })).spec?.replicas).toBe(3);
  });

  t('binds a pod once: spec.nodeName + PodScheduled, then 409', async () => {
    await api.client.create('pods', pod('bindme'), { namespace: 'default' });
    await api.client.bind('default', 'bindme', 'node-a');
    const p = await api.client.get<Pod>('pods', 'bindme', { namespace: 'default' });
    expect(p.spec?.nodeName).toBe('node-a');
    expect(p.status?.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'PodScheduled', status: 'True' })]));
    const again = await failure(api.client.bind('default', 'bindme', 'node-b'));
    expect(again.code).toBe(409);
    expect(again.message).toContain('already assigned to node "node-a"');
    expect(await raw(api.url, 'GET', '/api/v1/namespaces/default/pods/bindme/log')).toMatchObject({ status: 503, body: { reason: 'ServiceUnavailable' } });
  });

  t('deletes pods gracefully on a Ready node, at once when unscheduled or the node is not Ready', async () => {
    const ready = { type: 'Ready', status: 'True' };
    await api.client.create('nodes', { metadata: { name: 'ready-node' }, status: { conditions: [ready] } });
    await api.client.create('nodes', { metadata: { name: 'dead-node' }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } });
    for (const [name, node] of [['g-ready', 'ready-node'], ['g-dead', 'dead-node'], ['g-none', undefined]] as const) {
      await api.client.create('pods', pod(name, {}, node ? { nodeName: node } : {}), { namespace: 'default' });
    }
    const marked = (await api.client.delete<Pod>('pods', 'g-ready', { namespace: 'default' })) as Pod;
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    expect(marked.metadata.deletionGracePeriodSeconds).toBe(30);
    expect((await api.client.get('pods', 'g-ready', { namespace: 'default' })).metadata.deletionTimestamp).toBeDefined();
    await api.client.delete('pods', 'g-dead', { namespace: 'default' });
    await api.client.delete('pods', 'g-none', { namespace: 'default' });
    expect((await failure(api.client.get('pods', 'g-dead', { namespace: 'default' }))).code).toBe(404);
    expect((await failure(api.client.get('pods', 'g-none', { namespace: 'default' }))).code).toBe(404);
    // The kubelet's final delete (grace 0) removes it.
    await api.client.delete('pods', 'g-ready', { namespace: 'default', gracePeriodSeconds: 0 });
    expect((await failure(api.client.get('pods', 'g-ready', { namespace: 'default' }))).code).toBe(404);
  });
});

describe('service allocation', () => {
  const svc = (name: string, spec: Service['spec'] = {}): Service => ({ metadata: { name }, spec: { ports: [{ port: 80 }], ...spec } });

  t('concurrent creates never share a ClusterIP; dynamic IPs avoid the low band; delete frees the IP', async () => {
    await api.client.create('namespaces', { metadata: { name: 'alloc' } });
    const created = await Promise.all(Array.from({ length: 40 }, (_, i) => api.client.create<Service>('services', svc(`c${i}`), { namespace: 'alloc' })));
    const ips = created.map((s) => s.spec!.clusterIP!);
    expect(new Set(ips).size).toBe(40);
    for (const ip of ips) {
      const last = Number(ip.split('.')[3]);
      expect(ip.startsWith('10.0.0.')).toBe(true);
      expect(last).toBeGreaterThanOrEqual(16);
      expect(last).toBeLessThanOrEqual(254);
    }
    const keys = await c!.etcd!.etcdctl(['get', '--prefix', '/registry/ranges/serviceips/', '--keys-only']);
    expect(keys.stdout).toContain(`/registry/ranges/serviceips/${ips[0]}`);
    await api.client.delete('services', 'c0', { namespace: 'alloc' });
    const after = await c!.etcd!.etcdctl(['get', '--prefix', '/registry/ranges/serviceips/', '--keys-only']);
    expect(after.stdout).not.toContain(`/registry/ranges/serviceips/${ips[0]}\n`);
    // The freed address can be requested again.
    const again = await api.client.create<Service>('services', svc('again', { clusterIP: ips[0]! }), { namespace: 'alloc' });
    expect(again.spec?.clusterIP).toBe(ips[0]);
  });

  t('a requested IP that is taken or outside the range is 422; headless and ExternalName get none', async () => {
    const taken = await failure(api.client.create('services', svc('taken', { clusterIP: '10.0.0.1' }), { namespace: 'default' }));
    expect(taken.code).toBe(422);
    expect(taken.status.details?.causes?.[0]?.field).toBe('spec.clusterIP');
    const outside = await failure(api.client.create('services', svc('outside', { clusterIP: '10.9.9.9' }), { namespace: 'default' }));
    expect(outside.code).toBe(422);
    const fixed = await api.client.create<Service>('services', svc('dns', { clusterIP: '10.0.0.10' }), { namespace: 'default' });
    expect(fixed.spec?.clusterIP).toBe('10.0.0.10');
    const headless = await api.client.create<Service>('services', svc('headless', { clusterIP: 'None' }), { namespace: 'default' });
    expect(headless.spec?.clusterIP).toBe('None');
    const ext = await api.client.create<Service>('services', { metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'example.com' } }, { namespace: 'default' });
    expect(ext.spec?.clusterIP).toBeUndefined();
    const changed = await failure(api.client.patch('services', 'dns', { spec: { clusterIP: '10.0.0.11' } }, 'merge', { namespace: 'default' }));
    expect(changed.code).toBe(422);
  });

  t('allocates NodePorts for NodePort and LoadBalancer services, keeps them on update, 422 when taken or out of range, frees on delete', async () => {
    const np = await api.client.create<Service>('services', svc('np', { type: 'NodePort', ports: [{ port: 80, name: 'http' }, { port: 443, name: 'https' }] }), { namespace: 'default' });
    const ports = np.spec!.ports!.map((p) => p.nodePort!);
    expect(new Set(ports).size).toBe(2);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(30000);
      expect(p).toBeLessThanOrEqual(32767);
    }
    const replaced = await api.client.update<Service>('services', { ...np, spec: { ...np.spec, ports: np.spec!.ports!.map(({ nodePort: _n, ...rest }) => rest) } }, { namespace: 'default' });
    expect(replaced.spec!.ports!.map((p) => p.nodePort)).toEqual(ports);
    const clash = await failure(api.client.create('services', svc('clash', { type: 'NodePort', ports: [{ port: 80, nodePort: ports[0]! }] }), { namespace: 'default' }));
    expect(clash.code).toBe(422);
    expect(clash.status.details?.causes?.[0]?.field).toBe('spec.ports[0].nodePort');
    const range = await failure(api.client.create('services', svc('range', { type: 'NodePort', ports: [{ port: 80, nodePort: 20000 }] }), { namespace: 'default' }));
    expect(range.code).toBe(422);
    const lb = await api.client.create<Service>('services', svc('lb', { type: 'LoadBalancer' }), { namespace: 'default' });
    expect(lb.spec!.ports![0]!.nodePort).toBeGreaterThanOrEqual(30000);
    const withIngress = await api.client.updateStatus<Service>('services', { ...lb, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } }, { namespace: 'default' });
    expect(withIngress.status?.loadBalancer?.ingress?.[0]?.ip).toBe('192.0.2.10');
    await api.client.delete('services', 'np', { namespace: 'default' });
    const reuse = await api.client.create<Service>('services', svc('reuse', { type: 'NodePort', ports: [{ port: 80, nodePort: ports[0]! }] }), { namespace: 'default' });
    expect(reuse.spec!.ports![0]!.nodePort).toBe(ports[0]);
  });

  t('mirrors every Endpoints write into an EndpointSlice in the same transaction', async () => {
    const ep: Endpoints = {
      metadata: { name: 'web' },
      subsets: [{ addresses: [{ ip: '10.1.1.2', nodeName: 'n1' }], notReadyAddresses: [{ ip: '10.1.1.3' }], ports: [{ name: 'http', port: 8080 }] }],
    };
    const created = await api.client.create<Endpoints>('endpoints', ep, { namespace: 'default' });
    const slices = await api.client.list<EndpointSlice>('endpointslices', { namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' });
    expect(slices.items).toHaveLength(1);
    const s = slices.items[0]!;
    expect(s.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(s.endpoints).toEqual([
      expect.objectContaining({ addresses: ['10.1.1.2'], nodeName: 'n1', conditions: expect.objectContaining({ ready: true }) }),
      expect.objectContaining({ addresses: ['10.1.1.3'], conditions: expect.objectContaining({ ready: false }) }),
    ]);
    await api.client.update('endpoints', { ...created, subsets: [{ addresses: [{ ip: '10.1.1.4' }], ports: [{ port: 9090 }] }] }, { namespace: 'default' });
    const updated = await api.client.get<EndpointSlice>('endpointslices', 'web', { namespace: 'default' });
    expect(updated.endpoints.map((e) => e.addresses[0])).toEqual(['10.1.1.4']);
    expect(updated.ports?.[0]?.port).toBe(9090);
    await api.client.delete('endpoints', 'web', { namespace: 'default' });
    expect((await failure(api.client.get('endpointslices', 'web', { namespace: 'default' }))).code).toBe(404);
  });
});

describe('compaction', () => {
  t('compacts etcd history every --etcd-compaction-interval, one interval behind', async () => {
    const compacting = await startInProcess(c!, { etcdPrefix: '/compaction-test', etcdCompactionInterval: '1s' });
    try {
      await compacting.client.create('namespaces', { metadata: { name: 'old-history' } });
      const rev = Number((await compacting.client.list('namespaces')).metadata.resourceVersion);
      await compacting.client.create('namespaces', { metadata: { name: 'newer' } });
      await waitFor(
        async () => {
          const r = await c!.etcd!.etcdctl(['get', '/compaction-test/namespaces/old-history', `--rev=${rev - 1}`]);
          return r.exitCode !== 0 && /compacted/.test(r.stderr);
        },
        { what: `etcd to be compacted past revision ${rev - 1}`, timeoutMs: 15_000, intervalMs: 250 },
      );
      // Current data is untouched.
      expect((await compacting.client.get('namespaces', 'old-history')).metadata.name).toBe('old-history');
    } finally {
      compacting.client.close();
      await compacting.server.close();
    }
  });
});

describe('discovery', () => {
  t('serves /version 1.32 and legacy discovery with verbs, kinds, namespaced and shortNames', async () => {
    expect((await raw(api.url, 'GET', '/version')).body).toMatchObject({ major: '1', minor: '32' });
    expect((await raw(api.url, 'GET', '/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const v1 = (await raw(api.url, 'GET', '/api/v1')).body;
    const pods = v1.resources.find((r: { name: string }) => r.name === 'pods');
    expect(pods).toMatchObject({ kind: 'Pod', namespaced: true, shortNames: ['po'] });
    expect(pods.verbs).toEqual(expect.arrayContaining(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']));
    expect(v1.resources.find((r: { name: string }) => r.name === 'nodes')).toMatchObject({ namespaced: false });
    const groups = (await raw(api.url, 'GET', '/apis')).body.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['discovery.k8s.io', 'coordination.k8s.io']));
    const slices = (await raw(api.url, 'GET', '/apis/discovery.k8s.io/v1')).body;
    expect(slices.resources.map((r: { name: string }) => r.name)).toContain('endpointslices');
    for (const p of ['/healthz', '/livez', '/readyz']) expect(await raw(api.url, 'GET', p)).toMatchObject({ status: 200, body: 'ok' });
    const metrics = (await raw(api.url, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/apiserver_request_total\{verb="POST",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",code="201"\} \d+/);
    expect(metrics).toMatch(/apiserver_current_inflight_requests\{request_kind="readOnly"\} \d+/);
    // `kubectl get pods` sends this LIST; its series rises by one per request.
    const podLists = async () => Number(((await raw(api.url, 'GET', '/metrics')).body as string).match(/apiserver_request_total\{verb="LIST",dry_run="",group="",version="v1",resource="pods",subresource="",scope="namespace",component="apiserver",code="200"\} (\d+)/)?.[1] ?? 0);
    const before = await podLists();
    expect((await raw(api.url, 'GET', '/api/v1/namespaces/default/pods?limit=500')).status).toBe(200);
    expect(await podLists()).toBeGreaterThan(before);
    expect(metrics).toContain('apiserver_request_duration_seconds_bucket{le="0.005",verb="POST",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver"}');
    expect(metrics).toContain('etcd_request_duration_seconds_bucket');
  });
});
