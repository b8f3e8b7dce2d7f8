import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, ClientError } from '../src/client.js';
import { ApiError, isAlreadyExists, isConflict, isGone, isNotFound } from '../src/errors.js';
import { renderKubeconfig } from '../src/kubeconfig.js';
import { parseLabelSelector } from '../src/selectors.js';
import type { Pod, WatchEvent } from '../src/types.js';
import { FakeApiServer } from './support/fake-apiserver.js';

const pod = (name: string, ns = 'default'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
});

describe('ApiClient over HTTP', () => {
  let server: FakeApiServer;
  let client: ApiClient;
  beforeEach(async () => {
    server = await FakeApiServer.start();
    client = new ApiClient({ server: server.url, userAgent: 'test-agent' });
  });
  afterEach(async () => {
    client.close();
    await server.stop();
  });

  it('creates, gets, lists, updates, patches and deletes with Kubernetes paths', async () => {
    const created = await client.create('pods', pod('a'));
    expect(created.metadata.resourceVersion).toBeDefined();
    expect((await client.get<Pod>('pods', 'a', { namespace: 'default' })).metadata.name).toBe('a');
    const list = await client.list('pods', { namespace: 'default', labelSelector: parseLabelSelector('app in (web)'), limit: 10 });
    expect(list.items.map((p) => p.metadata.name)).toEqual(['a']);
    const updated = await client.update('pods', { ...created, metadata: { ...created.metadata, labels: { v: '1' } } });
    expect(updated.metadata.labels).toEqual({ v: '1' });
    await client.patch('pods', 'a', { metadata: { labels: { v: '2' } } }, 'merge', { namespace: 'default' });
    await client.patch('pods', 'a', [{ op: 'add', path: '/x', value: 1 }], 'json', { namespace: 'default' });
    const del = await client.delete('pods', 'a', { namespace: 'default', gracePeriodSeconds: 0 });
    expect(del).toMatchObject({ kind: 'Status', status: 'Success' });

    const reqs = server.requests.map((r) => `${r.method} ${r.path}`);
    expect(reqs).toEqual([
      'POST /api/v1/namespaces/default/pods',
      'GET /api/v1/namespaces/default/pods/a',
      'GET /api/v1/namespaces/default/pods',
      'PUT /api/v1/namespaces/default/pods/a',
      'PATCH /api/v1/namespaces/default/pods/a',
      'PATCH /api/v1/namespaces/default/pods/a',
      'DELETE /api/v1/namespaces/default/pods/a',
    ]);
    expect(server.requests[2]!.query.get('labelSelector')).toBe('app in (web)');
    expect(server.requests[2]!.query.get('limit')).toBe('10');
    expect(server.requests[4]!.headers['content-type']).toBe('application/merge-patch+json');
    expect(server.requests[5]!.headers['content-type']).toBe('application/json-patch+json');
    expect(JSON.parse(server.requests[6]!.body)).toMatchObject({ kind: 'DeleteOptions', gracePeriodSeconds: 0 });
    expect(server.requests[0]!.headers['user-agent']).toBe('test-agent');
  });

  it('builds group paths, cluster-scoped paths and subresource paths from the resource table', async () => {
    server.put('replicationcontrollers', { metadata: { name: 'rc', namespace: 'ns1' }, spec: { replicas: 3 } });
    await client.list('endpointslices', { namespace: 'ns1' });
    await client.list('leases');
    await client.list('nodes');
    await client.bind('ns1', 'p1', 'node-a');
    expect((await client.getScale('replicationcontrollers', 'rc', { namespace: 'ns1' })).spec?.replicas).toBe(3);
    await client.updateScale('replicationcontrollers', 'rc', 5, { namespace: 'ns1' }).catch(() => undefined);
    await client.updateStatus('pods', pod('p1', 'ns1')).catch(() => undefined);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /apis/discovery.k8s.io/v1/namespaces/ns1/endpointslices',
      'GET /apis/coordination.k8s.io/v1/leases',
      'GET /api/v1/nodes',
      'POST /api/v1/namespaces/ns1/pods/p1/binding',
      'GET /api/v1/namespaces/ns1/replicationcontrollers/rc/scale',
      'PUT /api/v1/namespaces/ns1/replicationcontrollers/rc/scale',
      'PUT /api/v1/namespaces/ns1/pods/p1/status',
    ]);
    expect(JSON.parse(server.requests[3]!.body)).toMatchObject({ kind: 'Binding', metadata: { name: 'p1' }, target: { kind: 'Node', name: 'node-a' } });
    expect(JSON.parse(server.requests[5]!.body)).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 5 } });
  });

  it('turns Status answers into ApiError with code and reason', async () => {
    const nf = await client.get('pods', 'nope', { namespace: 'default' }).catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(ApiError);
    expect(isNotFound(nf)).toBe(true);
    expect((nf as ApiError).message).toBe('pods "nope" not found');
    await client.create('pods', pod('a'));
    const dup = await client.create('pods', pod('a')).catch((e: unknown) => e);
    expect(isAlreadyExists(dup)).toBe(true);
    expect(isConflict(dup)).toBe(false);
    const stale = await client.update('pods', { ...pod('a'), metadata: { ...pod('a').metadata, resourceVersion: '1' } }).catch((e: unknown) => e);
    expect(isConflict(stale)).toBe(true);
    server.override = { match: /pods/, status: 502, body: 'bad gateway' };
    const raw = (await client.list('pods').catch((e: unknown) => e)) as ApiError;
    expect(raw.code).toBe(502);
    expect(raw.message).toMatch(/GET \/api\/v1\/pods: 502/);
  });

  it('uses the context namespace for single objects but lists all namespaces without one', async () => {
    const ctx = new ApiClient({ server: server.url, namespace: 'team-a' });
    await ctx.create('pods', { ...pod('x'), metadata: { name: 'x' } });
    await ctx.get('pods', 'x');
    await ctx.list('pods');
    await ctx.list('pods', { namespace: 'team-b' });
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/v1/namespaces/team-a/pods',
      'GET /api/v1/namespaces/team-a/pods/x',
      'GET /api/v1/pods',
      'GET /api/v1/namespaces/team-b/pods',
    ]);
    ctx.close();
  });

  it('refuses calls that cannot be addressed, with one-line errors', async () => {
    expect(() => client.get('pods', 'a')).toThrow(/pods "a": a namespace is required/);
    expect(() => client.get('widgets', 'a')).toThrow(/unknown resource "widgets"/);
    expect(() => new ApiClient({ server: 'ftp://x' })).toThrow(/must start with http/);
    const down = new ApiClient({ server: 'http://127.0.0.1:1' });
    await expect(down.list('pods')).rejects.toThrow(ClientError);
    await expect(down.list('pods')).rejects.toThrow(/GET \/api\/v1\/pods to http:\/\/127.0.0.1:1: connect ECONNREFUSED/);
    down.close();
  });

  it('watches: events in order, then ends when the server closes the stream', async () => {
    server.put('pods', pod('a'));
    const rv = server.resourceVersion;
    const ac = new AbortController();
    const got: WatchEvent[] = [];
    const done = (async () => {
      for await (const ev of client.watch('pods', { resourceVersion: rv, allowWatchBookmarks: true, signal: ac.signal })) got.push(ev);
    })();
    const { waitFor } = await import('@pilot/common');
    await waitFor(() => server.watcherCount() === 1, { timeoutMs: 5000, what: 'watch' });
    server.put('pods', pod('b'));
    server.remove('pods', 'default/a');
    await waitFor(() => got.length === 2, { timeoutMs: 5000, what: 'events' });
    server.closeWatches();
    await done;
    expect(got.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED b', 'DELETED a']);
    const req = server.requests.at(-1)!;
    expect(req.query.get('watch')).toBe('1');
    expect(req.query.get('resourceVersion')).toBe(rv);
    expect(req.query.get('allowWatchBookmarks')).toBe('true');
  });

  it('watch: an ERROR event with 410 throws ApiError 410; abort ends the iterator quietly', async () => {
    server.put('pods', pod('a'));
    server.put('pods', pod('b'));
    server.compact();
    const stale = (async () => {
      for await (const _ev of client.watch('pods', { resourceVersion: '100' })) void _ev;
    })();
    await expect(stale).rejects.toMatchObject({ code: 410, reason: 'Expired' });
    await stale.catch((e: unknown) => expect(isGone(e)).toBe(true));

    const ac = new AbortController();
    const { waitFor } = await import('@pilot/common');
    const open = (async () => {
      let n = 0;
      for await (const _ev of client.watch('pods', { resourceVersion: server.resourceVersion, signal: ac.signal })) n++;
      return n;
    })();
    await waitFor(() => server.watcherCount() === 1, { timeoutMs: 5000, what: 'watch' });
    ac.abort();
    await expect(open).resolves.toBe(0);
  });
});

describe('ApiClient over TLS with a bearer token', () => {
  let dir: string;
  let server: FakeApiServer;
  let ca: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'api-tls-'));
    // A self-signed server certificate for 127.0.0.1 serves as its own CA.
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=pilot-test',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    server = await FakeApiServer.start({ key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: ca }, 'tok-123');
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists with the CA and token from a kubeconfig', async () => {
    const kc = join(dir, 'kubeconfig');
    writeFileSync(kc, renderKubeconfig({ server: server.url, ca, token: 'tok-123' }));
    const client = ApiClient.fromKubeconfig(kc);
    try {
      expect((await client.list('pods')).items).toEqual([]);
      expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer tok-123');
    } finally {
      client.close();
    }
  });

  it('gets 401 without the token, and refuses a server it cannot verify', async () => {
    const noToken = new ApiClient({ server: server.url, ca });
    await expect(noToken.list('pods')).rejects.toMatchObject({ code: 401, reason: 'Unauthorized' });
    noToken.close();
    const noCa = new ApiClient({ server: server.url, token: 'tok-123' });
    await expect(noCa.list('pods')).rejects.toThrow(/self[- ]signed certificate/);
    noCa.close();
    const insecure = new ApiClient({ server: server.url, token: 'tok-123', insecureSkipTLSVerify: true });
    await expect(insecure.list('pods')).resolves.toMatchObject({ items: [] });
    insecure.close();
  });

  it('fromFlags: --master overrides the kubeconfig server, defaults to the local insecure port', () => {
    const kc = join(dir, 'kubeconfig2');
    writeFileSync(kc, renderKubeconfig({ server: 'https://10.0.0.1:6443', ca, token: 't' }));
    expect(ApiClient.fromFlags({ kubeconfig: kc, master: server.url }).server.origin).toBe(server.url);
    expect(ApiClient.fromFlags({ kubeconfig: kc }).server.origin).toBe('https://10.0.0.1:6443');
    expect(ApiClient.fromFlags({}).server.origin).toBe('http://127.0.0.1:8080');
    expect(() => ApiClient.fromFlags({ tokenFile: '/nonexistent/token' })).toThrow(/cannot read token file \/nonexistent\/token: ENOENT/);
  });
});

describe('ApiClient on a kept-alive socket the server closes', () => {
  it('sends an idempotent request once more on a fresh socket, never a POST', async () => {
    const { createServer } = await import('node:http');
    const served = new WeakMap<object, number>();
    let reset = false;
    const seen: string[] = [];
    const srv = createServer((req, res) => {
      const n = served.get(req.socket) ?? 0;
      served.set(req.socket, n + 1);
      seen.push(`${req.method} ${n === 0 ? 'fresh' : 'reused'}`);
      // What a server closing an idle connection looks like to a request already sent on it.
      if (reset && n > 0) return void req.socket.destroy();
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(pod('a')));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const client = new ApiClient({ server: `http://127.0.0.1:${port}` });
    try {
      await client.get('pods', 'a', { namespace: 'default' });
      reset = true;
      expect((await client.get<Pod>('pods', 'a', { namespace: 'default' })).metadata.name).toBe('a');
      expect(seen).toEqual(['GET fresh', 'GET reused', 'GET fresh']);
      seen.length = 0;
      await expect(client.create('pods', pod('b'))).rejects.toThrow(ClientError);
      expect(seen).toEqual(['POST reused']);
    } finally {
      client.close();
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});
