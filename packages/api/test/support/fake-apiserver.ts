/**
 * A tiny in-process API server for unit tests: one collection per resource in
 * memory, a global resourceVersion counter, list + watch (newline-delimited
 * JSON) with an event history that can be compacted (→ 410 ERROR), and hooks
 * to close watches or hold events back. Just enough of the real semantics to
 * drive the client and the informer; not an apiserver.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KubeObject, WatchEvent } from '../../src/types.js';
import { keyOf } from '../../src/indexer.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Watcher {
  resource: string;
  res: http.ServerResponse;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: { resource: string; rv: number; ev: WatchEvent }[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 100;
  private compactedBelow = 0;
  /** While true, live events are recorded but not sent to open watches. */
  holdEvents = false;
  /** When set, answers this (status, body) to every request whose path matches. */
  override?: { match: RegExp; status: number; body: unknown };
  server!: http.Server | https.Server;
  url = '';

  static async start(tls?: { key: string; cert: string }, token?: string): Promise<FakeApiServer> {
    const f = new FakeApiServer();
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => f.handle(req, res, token);
    f.server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
    await new Promise<void>((resolve) => f.server.listen(0, '127.0.0.1', resolve));
    const port = (f.server.address() as AddressInfo).port;
    f.url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return f;
  }

  async stop(): Promise<void> {
    this.closeWatches();
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  watcherCount(): number {
    return this.watchers.size;
  }

  /** Items of a resource as the server holds them. */
  items(resource: string): KubeObject[] {
    return [...(this.objects.get(resource)?.values() ?? [])];
  }

  put(resource: string, obj: KubeObject): KubeObject {
    const coll = this.coll(resource);
    const key = keyOf(obj);
    const stored: KubeObject = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
    const type = coll.has(key) ? 'MODIFIED' : 'ADDED';
    coll.set(key, stored);
    this.emit(resource, { type, object: stored });
    return stored;
  }

  remove(resource: string, key: string): void {
    const coll = this.coll(resource);
    const old = coll.get(key);
    if (!old) return;
    coll.delete(key);
    const object = { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) } };
    this.emit(resource, { type: 'DELETED', object });
  }

  /** Forgets history up to now: a watch from an older resourceVersion gets 410. */
  compact(): void {
    this.compactedBelow = this.rv + 1;
    this.history.length = 0;
  }

  /** Ends every open watch stream cleanly (as a server timeout would). */
  closeWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Lets live events flow to open watches again (held ones stay in the history only). */
  release(): void {
    this.holdEvents = false;
  }

  private coll(resource: string): Map<string, KubeObject> {
    let c = this.objects.get(resource);
    if (!c) this.objects.set(resource, (c = new Map()));
    return c;
  }

  private emit(resource: string, ev: WatchEvent): void {
    this.history.push({ resource, rv: this.rv, ev });
    if (this.holdEvents) return;
    for (const w of this.watchers) if (w.resource === resource) w.res.write(`${JSON.stringify(ev)}\n`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, token?: string): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      this.requests.push(rec);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
        return json(401, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      }
      if (this.override && this.override.match.test(url.pathname)) return json(this.override.status, this.override.body);
      // /api/v1/[namespaces/<ns>/]<resource>[/<name>[/<sub>]] or /apis/<g>/<v>/...
      const parts = url.pathname.split('/').filter(Boolean);
      const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
      let ns: string | undefined;
      if (rest[0] === 'namespaces' && rest.length >= 3) {
        ns = rest[1];
        rest.splice(0, 2);
      }
      const [resource, name, sub] = rest as [string, string | undefined, string | undefined];
      const watch = url.searchParams.get('watch');
      if (req.method === 'GET' && name === undefined && (watch === '1' || watch === 'true')) return this.watch(resource, ns, url, res);
      if (req.method === 'GET' && name === undefined) {
        const items = this.items(resource).filter((o) => ns === undefined || o.metadata.namespace === ns);
        return json(200, { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items });
      }
      const key = ns ? `${ns}/${name}` : (name ?? '');
      if (req.method === 'GET') {
        const o = this.coll(resource).get(key);
        if (!o) return json(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', message: `${resource} "${name}" not found`, code: 404 });
        return json(200, sub === 'scale' ? { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: o.metadata, spec: { replicas: (o.spec as { replicas?: number })?.replicas ?? 0 } } : o);
      }
      if (req.method === 'POST' && sub === 'binding') {
        return json(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      }
      if (req.method === 'POST') {
        const obj = JSON.parse(rec.body) as KubeObject;
        obj.metadata.namespace ??= ns;
        if (this.coll(resource).has(keyOf(obj)))
          return json(409, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'AlreadyExists', message: `${resource} "${obj.metadata.name}" already exists`, code: 409 });
        return json(201, this.put(resource, obj));
      }
      if (req.method === 'PUT' || req.method === 'PATCH') {
        const existing = this.coll(resource).get(key);
        if (!existing) return json(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', message: 'not found', code: 404 });
        const body = JSON.parse(rec.body) as KubeObject;
        if (req.method === 'PUT' && body.metadata?.resourceVersion && body.metadata.resourceVersion !== existing.metadata.resourceVersion)
          return json(409, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Conflict', message: 'conflict', code: 409 });
        const merged = req.method === 'PUT' ? body : { ...existing, ...body, metadata: { ...existing.metadata, ...(body.metadata ?? {}) } };
        return json(200, this.put(resource, merged));
      }
      if (req.method === 'DELETE') {
        this.remove(resource, key);
        return json(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 });
      }
      json(405, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'MethodNotAllowed', code: 405 });
    });
  }

  private watch(resource: string, ns: string | undefined, url: URL, res: http.ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    const from = Number(url.searchParams.get('resourceVersion') || '0');
    if (from > 0 && from + 1 < this.compactedBelow) {
      const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'The resourceVersion for the provided watch is too old.', reason: 'Expired', code: 410 };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    if (from === 0) {
      for (const o of this.items(resource)) res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
    } else {
      for (const h of this.history) if (h.resource === resource && h.rv > from && !this.holdEvents) res.write(`${JSON.stringify(h.ev)}\n`);
    }
    void ns;
    const w: Watcher = { resource, res };
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }
}
