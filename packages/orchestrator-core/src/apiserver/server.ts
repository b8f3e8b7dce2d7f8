import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { defaultObject, fieldErrorMessage, resolveOpenApiV3, validateObject, validateStatusUpdate, type KubeObject, type ResourceInfo } from '@pilot/api';
import { createLogger, FatalError, retry, type Logger } from '@pilot/common';
import type { ApiserverConfig } from './flags.js';
import { EtcdStorage } from './storage/etcd.js';
import { WatchCaches } from './storage/watch-cache.js';
import { startCompaction } from './storage/compaction.js';
import { GenericRegistry } from './registry/generic-registry.js';
import { resourceTable } from './registry/table.js';
import { IpAllocator, PortAllocator } from './allocator.js';
import { ApiMetrics } from './metrics.js';
import { isLongRunning, nonResourceLabels, requestKind, resourceLabels, type RequestLabels } from './request-labels.js';
import { authenticate, loadTokenFile, TokenFileError, type UserInfo } from './auth.js';
import { discoveryDocument } from './discovery.js';
import { parseRequestTarget, parseResourcePath, type ResourcePath } from './http/request.js';
import { handleResource, handleUpgrade, sendJson, verbOf } from './http/handlers.js';
import { loadKubeletTransport, writeUpgradeError } from './http/kubelet-proxy.js';
import { internalError, pathNotFound, StatusError, unauthorized, type FieldProblem } from './status.js';
import { bootstrap } from './bootstrap.js';
import { admissionChain, type AdmissionPlugin } from './admission/admission.js';
import { nodeRestriction } from './admission/node-restriction.js';
import { rbacEscalation } from './admission/rbac-escalation.js';
import { pathAttributes, resourceAttributes, type Attributes, type Authorizer } from './authorization/attributes.js';
import { authorizeOrThrow, buildAuthorizer, registryNodePods } from './authorization/authorizer.js';
import { PolicyCache } from './authorization/policy-cache.js';
import { RbacAuthorizer } from './authorization/rbac.js';
import { ANONYMOUS_USER, INSECURE_USER, runAsUser } from './authorization/request-user.js';
import { impersonatedUser } from './authorization/impersonation.js';
import { answerReview } from './authorization/reviews.js';
import { alwaysAllow } from './authorization/union.js';

/**
 * `pilot apiserver`: the Kubernetes REST API over etcd. One request handler
 * behind two listeners: plain HTTP on loopback (trusted, as in the seed) and
 * TLS with bearer tokens on the bind address. This file only wires the
 * layers: http/ (verbs) → registry/ (resources, subresources) → storage/.
 */

export interface ApiServer {
  /** http://127.0.0.1:<port>, when the insecure port is on. */
  insecureUrl?: string;
  /** https://<bind>:<port>, when secure serving is on. */
  secureUrl?: string;
  registry: GenericRegistry;
  metrics: ApiMetrics;
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  signal?: AbortSignal;
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK (default 60 s, kube-apiserver's; tests shorten it). */
  watchBookmarkIntervalMs?: number;
}

export function validate(r: ResourceInfo, obj: KubeObject, old?: KubeObject, status = false): FieldProblem[] {
  return (status && old ? validateStatusUpdate(r.resource, obj, old) : validateObject(r.resource, obj, old)).map((e) => ({ type: e.type, field: e.field, message: fieldErrorMessage(e) }));
}

export async function startApiserver(cfg: ApiserverConfig, opts: StartOptions = {}): Promise<ApiServer> {
  const log = opts.log ?? createLogger('apiserver');
  const metrics = new ApiMetrics();
  const abort = new AbortController();
  opts.signal?.addEventListener('abort', () => abort.abort(), { once: true });

  let tokens: Map<string, UserInfo> | undefined;
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (cfg.securePort) {
    try {
      tokens = loadTokenFile(cfg.tokenAuthFile!);
      tls = { cert: readFileSync(cfg.tlsCertFile!), key: readFileSync(cfg.tlsPrivateKeyFile!) };
    } catch (err) {
      throw new FatalError(err instanceof TokenFileError ? err.message : `cannot read TLS files: ${(err as Error).message}`);
    }
  }

  const storage = new EtcdStorage({
    servers: cfg.etcdServers,
    tls: cfg.etcdTls,
    prefix: cfg.etcdPrefix,
    observe: (op, s) => metrics.etcdLatency.observe({ operation: op }, s),
    onWatches: (d) => metrics.etcdWatches.inc(d),
  });
  const caches = new WatchCaches(storage, { log, capacity: cfg.watchCacheSize });
  const kubelets = loadKubeletTransport(cfg);
  // Both need the registry they are part of: set once it serves (below).
  let authorizer: Authorizer = alwaysAllow;
  let admission: AdmissionPlugin = () => undefined;
  const registry = new GenericRegistry({
    storage,
    caches,
    table: resourceTable({
      pods: { defaultNotReadyTolerationSeconds: cfg.defaultNotReadyTolerationSeconds, defaultUnreachableTolerationSeconds: cfg.defaultUnreachableTolerationSeconds },
      reviews: answerReview(() => authorizer),
    }),
    admit: (a) => admission(a),
    validate,
    defaults: (r, obj) => defaultObject(r.resource, obj),
    serviceIPs: new IpAllocator(cfg.serviceClusterIPRange, `${cfg.etcdPrefix}/ranges/serviceips/`),
    nodePorts: new PortAllocator(cfg.serviceNodePortRange, `${cfg.etcdPrefix}/ranges/servicenodeports/`),
    log,
    // Events expire (--event-ttl): every write of one carries a reused etcd lease.
    ttlMs: (r) => (r.resource === 'events' && cfg.eventTtlMs > 0 ? cfg.eventTtlMs : undefined),
  });

  await retry(() => bootstrap(registry, cfg, log), {
    signal: abort.signal,
    maxMs: 3_000,
    onError: (err, attempt) => log.warn({ err: String(err), attempt, etcd: cfg.etcdServers }, 'bootstrap failed (is etcd up?); retrying'),
  });
  startCompaction(storage, cfg.etcdCompactionIntervalMs, abort.signal, log);

  // RBAC's objects in memory before the first request is authorized.
  const policy = new PolicyCache(registry, log);
  await policy.start();
  const rbac = new RbacAuthorizer(policy);
  authorizer = buildAuthorizer(cfg.authorizationModes, { rbac, nodePods: registryNodePods(registry) });
  admission = admissionChain([nodeRestriction, rbacEscalation(() => authorizer, rbac)]);
  /** The secure port asks the authorizer; the loopback port is trusted (as in the seed). */
  const authorize = (secure: boolean, a: Attributes) => (secure ? authorizeOrThrow(authorizer, a) : undefined);

  let etcdOk = true;
  const checkEtcd = async () => {
    try {
      await Promise.race([storage.revision(), new Promise((_, rej) => setTimeout(() => rej(new Error('etcd timeout')), 2_000).unref())]);
      etcdOk = true;
    } catch {
      etcdOk = false;
    }
    return etcdOk;
  };

  const serverAddress = cfg.securePort ? `${cfg.advertiseAddress ?? cfg.bindAddress}:${cfg.securePort}` : `${cfg.insecureBindAddress}:${cfg.insecurePort}`;

  const handle = async (req: IncomingMessage, res: ServerResponse, secure: boolean) => {
    const start = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    let labels: RequestLabels | undefined;
    let inflightKind: 'readOnly' | 'mutating' | undefined;
    let code = 200;
    try {
      // Never normalised: a dot-segment must not reach the parent (parseRequestTarget).
      const target = parseRequestTarget(req.url ?? '/');
      const path = target.path;
      if (!isLongRunning(method, target.query)) {
        inflightKind = requestKind(method);
        metrics.inflight.inc({ request_kind: inflightKind });
      }
      const publicPath = path === '/healthz' || path === '/livez' || path === '/readyz' || path === '/version';
      // Health and version are public: without a token, the request is system:anonymous (system:public-info-viewer lets it read them).
      const authenticated = secure ? (authenticate(req, tokens!) ?? (publicPath ? ANONYMOUS_USER : undefined)) : INSECURE_USER;
      if (!authenticated) throw unauthorized();
      const user = req.headers['impersonate-user'] !== undefined ? await impersonatedUser(authenticated, req.headers, authorizer) : authenticated;
      if (path === '/healthz' || path === '/livez' || path === '/readyz') {
        const ok = path === '/livez' ? true : await checkEtcd();
        code = ok ? 200 : 500;
        res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(ok ? 'ok' : '[-]etcd failed: reason withheld\nhealthz check failed');
        return;
      }
      if (path === '/metrics') {
        await authorize(secure, pathAttributes(user, req.method ?? 'GET', path));
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
        return;
      }
      if (path === '/openapi/v3' || path.startsWith('/openapi/v3/')) {
        // kubectl create/apply/replace validate against OpenAPI v3 and skip client-side checks when it is served.
        await authorize(secure, pathAttributes(user, req.method ?? 'GET', path));
        const doc = req.method === 'GET' ? resolveOpenApiV3(path, target.query.get('hash')) : undefined;
        if (!doc) throw pathNotFound(path);
        res.setHeader('etag', doc.etag);
        res.setHeader('cache-control', doc.immutable ? 'public, immutable' : 'no-cache, private');
        sendJson(res, 200, doc.body);
        return;
      }
      const p = parseResourcePath(target.rawPath);
      if (!p) {
        await authorize(secure, pathAttributes(user, req.method ?? 'GET', path));
        const doc = req.method === 'GET' ? discoveryDocument(path, serverAddress) : undefined;
        if (doc === undefined) throw pathNotFound(path);
        sendJson(res, 200, doc);
        return;
      }
      const contentType = req.headers['content-type'];
      labels = resourceLabels(verbOf(method, p, target.query), method, p, target.query, contentType);
      await authorize(secure, requestResourceAttributes(user, method, p, target.query));
      const verb = await runAsUser(user, () => handleResource(req, res, p, target.query, {
        registry,
        log,
        kubelets,
        onWatchers: (d) => {
          metrics.watchers.inc({ resource: p.resource.resource }, d);
          metrics.longrunning.inc(labels!, d);
        },
        ...(opts.watchBookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: opts.watchBookmarkIntervalMs } : {}),
      }));
      // A subresource's verb is known only once it is resolved (connect).
      if (verb === 'connect') labels = resourceLabels(verb, method, p, target.query, contentType);
      code = res.statusCode;
    } catch (err) {
      const se = err instanceof StatusError ? err : internalError(err instanceof Error ? err.message : String(err));
      if (!(err instanceof StatusError)) log.error({ err: err instanceof Error ? err.stack : String(err), method: req.method, path: req.url }, 'request failed');
      code = se.code;
      if (!res.headersSent) {
        if (code === 413) res.setHeader('connection', 'close');
        sendJson(res, code, se.toStatus());
      } else res.end();
      // Drain what the client is still sending (a refused large body) so it can read the reply.
      req.resume();
    } finally {
      if (inflightKind) metrics.inflight.dec({ request_kind: inflightKind });
      const length = res.getHeader('content-length');
      metrics.observeRequest(labels ?? nonResourceLabels(method), code, Number(process.hrtime.bigint() - start) / 1e9, length === undefined ? undefined : Number(length));
    }
  };

  /** Streams of connect subresources that need one (pods/exec): HTTP upgrades spliced to where the registry locates them; anything else is refused. */
  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean) => {
    const start = process.hrtime.bigint();
    let code = 101;
    let labels: RequestLabels | undefined;
    socket.on('error', () => socket.destroy());
    try {
      const authenticated = secure ? authenticate(req, tokens!) : INSECURE_USER;
      if (!authenticated) throw unauthorized();
      const user = req.headers['impersonate-user'] !== undefined ? await impersonatedUser(authenticated, req.headers, authorizer) : authenticated;
      const target = parseRequestTarget(req.url ?? '/');
      const p = parseResourcePath(target.rawPath);
      if (p?.subresource) labels = resourceLabels('connect', req.method ?? 'GET', p, target.query, undefined);
      await authorize(secure, p ? requestResourceAttributes(user, req.method ?? 'GET', p, target.query) : pathAttributes(user, req.method ?? 'GET', target.path));
      await handleUpgrade(req, socket, head, p, target.rawPath, target.query, { registry, log, kubelets });
    } catch (err) {
      const se = err instanceof StatusError ? err : internalError(err instanceof Error ? err.message : String(err));
      code = se.code;
      writeUpgradeError(socket, code, se.toStatus());
    } finally {
      metrics.observeRequest(labels ?? { ...nonResourceLabels(req.method ?? 'GET'), verb: 'CONNECT' }, code, Number(process.hrtime.bigint() - start) / 1e9, undefined);
    }
  };

  const servers: Server[] = [];
  const listen = (server: Server, portNum: number, host: string) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', (err) => reject(new FatalError(`cannot listen on ${host}:${portNum}: ${err.message}`)));
      server.listen(portNum, host, () => resolve((server.address() as AddressInfo).port));
    });

  const out: ApiServer = {
    registry,
    metrics,
    close: async () => {
      abort.abort();
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      policy.close();
      await caches.close();
      await storage.close();
    },
  };
  try {
    if (cfg.insecurePort) {
      const s = createHttpServer(serverTimeouts(cfg), (req, res) => void handle(req, res, false));
      s.on('upgrade', (req, socket, head) => void upgrade(req, socket, head, false));
      firstRequestDeadline(s, 'connection', cfg.requestHeaderTimeoutMs);
      servers.push(s);
      const port = await listen(s, cfg.insecurePort, cfg.insecureBindAddress);
      out.insecureUrl = `http://${cfg.insecureBindAddress}:${port}`;
      log.info({ url: out.insecureUrl }, 'serving insecurely on loopback');
    }
    if (cfg.securePort && tls) {
      const s = createHttpsServer({ cert: tls.cert, key: tls.key, handshakeTimeout: cfg.requestHeaderTimeoutMs, ...serverTimeouts(cfg) }, (req, res) => void handle(req, res, true));
      s.on('upgrade', (req, socket, head) => void upgrade(req, socket, head, true));
      firstRequestDeadline(s, 'secureConnection', cfg.requestHeaderTimeoutMs);
      servers.push(s);
      const port = await listen(s, cfg.securePort, cfg.bindAddress);
      out.secureUrl = `https://${cfg.bindAddress}:${port}`;
      log.info({ url: out.secureUrl, tokens: tokens?.size }, 'serving securely');
    }
  } catch (err) {
    await out.close();
    throw err;
  }
  return out;
}

/** The authorizer's view of a resource request: its verb (list/watch/get by the query, as the HTTP layer serves it) and target. */
function requestResourceAttributes(user: UserInfo, method: string, p: ResourcePath, q: URLSearchParams): Attributes {
  return resourceAttributes(user, verbOf(method, p, q), p.resource, {
    namespace: p.resource.namespaced ? p.namespace : undefined,
    name: p.name,
    subresource: p.subresource,
    fieldSelector: q.get('fieldSelector'),
  });
}

/**
 * Node checks header deadlines every connectionsCheckingInterval (30 s by
 * default), so a slow client would get up to twice the timeout: check often
 * enough that the deadline holds within a second. The timer runs from the
 * connection's accept for its first request, so a socket that never sends
 * anything is closed too. requestTimeout (the whole request body) stays
 * Node's; watches are long responses, not long requests.
 */
function serverTimeouts(cfg: ApiserverConfig): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number; keepAliveTimeout: number } {
  const headersTimeout = cfg.requestHeaderTimeoutMs;
  return { headersTimeout, requestTimeout: Math.max(300_000, headersTimeout), connectionsCheckingInterval: Math.min(1_000, headersTimeout), keepAliveTimeout: IDLE_TIMEOUT_MS };
}

/**
 * How long an idle kept-alive connection stays open: kube-apiserver's
 * IdleTimeout (90 s, "matches http.DefaultTransport keep-alive timeout").
 * Node's default, 5 s, closes a client's idle pool between two bursts, and a
 * request sent on a socket just as the server closes it fails with ECONNRESET.
 */
const IDLE_TIMEOUT_MS = 90_000;

/**
 * Node's headersTimeout only starts with a request's first byte: a socket
 * that connects (or finishes its TLS handshake) and then says nothing would be
 * held until the keep-alive or TCP timeouts. Give the first request a deadline
 * from the accept (TLS: from the handshake, which handshakeTimeout bounds).
 */
function firstRequestDeadline(s: Server, acceptEvent: 'connection' | 'secureConnection', ms: number): void {
  const timers = new WeakMap<object, NodeJS.Timeout>();
  s.on(acceptEvent, (sock: Duplex & { destroy(): void }) => {
    const t = setTimeout(() => sock.destroy(), ms);
    t.unref();
    timers.set(sock, t);
    sock.once('close', () => clearTimeout(t));
  });
  const started = (req: IncomingMessage) => {
    const t = timers.get(req.socket);
    if (t) clearTimeout(t);
  };
  s.on('request', started);
  s.on('upgrade', started);
}
