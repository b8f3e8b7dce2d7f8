import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Writable, type Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { badRequest, internalError, notFound, statusFor, unauthorized, type Pod, type Status } from '@pilot/api';
import { createRegistry, startHealthServer, type HealthStatus, type Logger } from '@pilot/common';
import type { Registry } from 'prom-client';
import type { ContainerLookup } from './container-lookup.js';
import type { ContainerRuntime } from './runtime/runtime.js';
import type { KubeletServerConfig } from './server-flags.js';
import { execCommand, parseContainerLogsQuery, routeKubeletRequest, runCommand, type KubeletRoute } from './server-routes.js';
import { parseRemoteCommandOptions, serveRemoteCommand, StreamSetupError } from './streaming/remotecommand.js';
import { StreamingUpgrader, UpgradeRefused, writeUpgradeRefusal } from './streaming/upgrade.js';

/**
 * The kubelet's HTTPS API (pkg/kubelet/server), on `--port` (10250):
 *
 *   GET      /containerLogs/{ns}/{pod}/{container}     follow, tailLines, previous, timestamps, sinceSeconds|sinceTime, limitBytes
 *   GET|POST /exec/{ns}/{pod}[/{uid}]/{container}      command=…&stdin&stdout&stderr&tty, upgraded to WebSocket or SPDY/3.1
 *   GET|POST /attach/{ns}/{pod}[/{uid}]/{container}    the same, to the container's main process
 *   GET|POST /portForward/{ns}/{pod}[/{uid}]           SPDY/3.1, plain or tunnelled in WebSocket
 *   POST     /run/{ns}/{pod}[/{uid}]/{container}       cmd=…; the command's output
 *   GET      /pods                                      the pods this kubelet runs (PodList)
 *   GET      /healthz
 *
 * Closed by default: TLS only, and every request must present a client
 * certificate signed by `--client-ca-file` (only the apiserver holds one);
 * anything else is 401 before routing. There is no read-only port. A plain
 * /healthz (and /metrics) listens separately on 127.0.0.1:10248.
 *
 * Pods come from the kubelet core (`HostInterface`), containers are run
 * through the ContainerRuntime.
 */

/** What the kubelet core gives the server. */
export interface HostInterface extends ContainerLookup {
  /** The pods this kubelet runs, with their status (GET /pods; and which pods exist). */
  getPods(): Pod[];
}

/** The runtime verbs the server uses. */
export type StreamingRuntime = Pick<ContainerRuntime, 'exec' | 'attach' | 'portForward' | 'logs' | 'execSync'>;

export interface KubeletServerDeps {
  host: HostInterface;
  runtime: StreamingRuntime;
  log: Logger;
  /** The kubelet's metrics registry, served on the healthz port. */
  registry?: Registry;
  /** The kubelet's health (default: healthy while serving). */
  healthz?: () => HealthStatus;
}

export interface KubeletServer {
  /** The HTTPS port (the one bound when --port was 0 is not possible: 0 means off). */
  readonly port: number;
  readonly healthzPort: number;
  close(): Promise<void>;
}

/** Why a request was refused, as a Status. */
class RequestError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
}

const fail = (status: Status): never => {
  throw new RequestError(status);
};

/** The identity of a TLS client, or why it has none (pure over what the socket reports). */
export function clientIdentity(socket: Pick<TLSSocket, 'authorized' | 'authorizationError' | 'getPeerCertificate'>): { user: string } | { refused: string } {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return { refused: 'no client certificate' };
  if (!socket.authorized) return { refused: `client certificate not accepted: ${String(socket.authorizationError)}` };
  const cn = cert.subject?.CN;
  return { user: Array.isArray(cn) ? cn.join(',') : (cn ?? '') };
}

export async function startKubeletServer(cfg: KubeletServerConfig, deps: KubeletServerDeps): Promise<KubeletServer> {
  const { host, runtime, log } = deps;
  const timeouts = { streamCreationTimeoutMs: cfg.streamCreationTimeoutMs, idleTimeoutMs: cfg.streamingConnectionIdleTimeoutMs };
  const upgrader = new StreamingUpgrader(timeouts, log);

  let https: HttpsServer | undefined;
  if (cfg.port !== 0) {
    const read = (flag: string, path: string) => {
      try {
        return readFileSync(path);
      } catch (err) {
        throw new Error(`--${flag} ${path}: ${(err as Error).message}`);
      }
    };
    https = createServer({
      cert: read('tls-cert-file', cfg.tlsCertFile),
      key: read('tls-private-key-file', cfg.tlsPrivateKeyFile),
      ca: read('client-ca-file', cfg.clientCaFile),
      // Ask for a certificate but decide ourselves, so that a client without
      // one gets a 401 it can read rather than a failed handshake.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
    https.on('request', (req: IncomingMessage, res: ServerResponse) => void onRequest(req, res));
    https.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void onUpgrade(req, socket, head));
    https.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake failed'));
    await listen(https, cfg.port, cfg.address);
    log.info({ address: cfg.address, port: cfg.port }, 'kubelet API serving (TLS, client certificates only)');
  }

  let healthz: HttpServer | undefined;
  if (cfg.healthzPort !== 0) {
    healthz = await startHealthServer({
      port: cfg.healthzPort,
      host: cfg.healthzBindAddress,
      registry: deps.registry ?? createRegistry('kubelet'),
      healthz: deps.healthz ?? (() => ({ ok: true })),
    });
  }

  // ------------------------------------------------------------ resolution

  const findPod = (ns: string, name: string, uid?: string): Pod => {
    const pod = host.getPods().find((p) => p.metadata.namespace === ns && p.metadata.name === name && (!uid || p.metadata.uid === uid));
    return pod ?? fail(notFound('pods', name));
  };

  const checkContainer = (pod: Pod, container: string) => {
    const spec = pod.spec;
    const names = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map((c) => c.name);
    if (!names.includes(container)) fail(notFound('containers', container));
  };

  const containerId = async (r: { namespace: string; pod: string; uid?: string; container: string }, previous = false): Promise<string> => {
    const pod = findPod(r.namespace, r.pod, r.uid);
    checkContainer(pod, r.container);
    const id = await host.containerId(r.namespace, r.pod, r.uid ?? pod.metadata.uid, r.container, previous);
    if (id) return id;
    if (previous) return fail(badRequest(`previous terminated container "${r.container}" in pod "${r.pod}" not found`));
    const waiting = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find((s) => s.name === r.container)?.state?.waiting;
    if (waiting) return fail(badRequest(`container "${r.container}" in pod "${r.pod}" is waiting to start: ${waiting.reason ?? 'ContainerCreating'}`));
    return fail(statusFor(404, 'NotFound', `container not found ("${r.container}")`));
  };

  // ------------------------------------------------------------ plain requests

  const sendStatus = (res: ServerResponse, status: Status) => {
    if (res.headersSent) return void res.end();
    res.writeHead(status.code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status));
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const who = clientIdentity(req.socket as TLSSocket);
    if ('refused' in who) {
      log.info({ path: url.pathname, why: who.refused }, 'kubelet API request refused');
      return sendStatus(res, unauthorized());
    }
    const routed = routeKubeletRequest(req.method ?? 'GET', url.pathname);
    try {
      if (!routed.ok) fail(statusFor(routed.code, routed.code === 404 ? 'NotFound' : 'MethodNotAllowed', routed.message));
      const route = (routed as { route: KubeletRoute }).route;
      switch (route.kind) {
        case 'healthz':
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
          return;
        case 'pods':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: host.getPods() }));
          return;
        case 'containerLogs':
          return await serveLogs(route, url.searchParams, res);
        case 'run':
          return await serveRun(route, url.searchParams, res);
        case 'exec':
        case 'attach':
        case 'portForward':
          return fail(badRequest('unable to upgrade: missing upgrade headers in request'));
      }
    } catch (err) {
      if (err instanceof RequestError) return sendStatus(res, err.status);
      log.error({ err, path: url.pathname }, 'kubelet API request failed');
      sendStatus(res, internalError((err as Error).message));
    }
  };

  const serveLogs = async (r: Extract<KubeletRoute, { kind: 'containerLogs' }>, q: URLSearchParams, res: ServerResponse) => {
    const opts = parseContainerLogsQuery(q);
    if (typeof opts === 'string') fail(badRequest(opts));
    const o = opts as Exclude<typeof opts, string>;
    const id = await containerId(r, o.previous);
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    let left = o.limitBytes ?? Infinity;
    const out = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (left <= 0 || res.destroyed) return cb();
        const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
        left -= part.length;
        const ok = res.write(part);
        if (left <= 0) abort.abort();
        if (ok) cb();
        else res.once('drain', () => cb());
      },
    });
    try {
      await runtime.logs(id, {
        follow: o.follow,
        timestamps: o.timestamps,
        ...(o.tailLines !== undefined ? { tailLines: o.tailLines } : {}),
        ...(o.sinceTime !== undefined ? { sinceTime: o.sinceTime } : {}),
        stdout: out,
        signal: abort.signal,
      });
    } catch (err) {
      if (!abort.signal.aborted) log.info({ container: id.slice(0, 12), err: (err as Error).message }, 'container logs ended with an error');
    }
    await new Promise<void>((resolve) => out.end(() => resolve()));
    res.end();
  };

  const serveRun = async (r: Extract<KubeletRoute, { kind: 'run' }>, q: URLSearchParams, res: ServerResponse) => {
    const cmd = runCommand(q);
    if (typeof cmd === 'string') fail(badRequest(cmd));
    const id = await containerId(r);
    const result = await runtime.execSync(id, cmd as string[], 60_000);
    const output = Buffer.concat([result.stdout, result.stderr]);
    if (result.exitCode !== 0) fail(internalError(`command '${(cmd as string[]).join(' ')}' exited with ${result.exitCode}: ${output.toString().trim()}`));
    res.writeHead(200, { 'content-type': 'text/plain' }).end(output);
  };

  // ------------------------------------------------------------ upgrades

  const upgraded = new Set<Duplex>();
  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const refuse = (status: Status) => writeUpgradeRefusal(socket, status.code, JSON.stringify(status), 'application/json');
    const who = clientIdentity(socket as TLSSocket);
    if ('refused' in who) {
      log.info({ path: url.pathname, why: who.refused }, 'kubelet API upgrade refused');
      return refuse(unauthorized());
    }
    try {
      const routed = routeKubeletRequest(req.method ?? 'GET', url.pathname);
      if (!routed.ok) return refuse(statusFor(routed.code, routed.code === 404 ? 'NotFound' : 'MethodNotAllowed', routed.message));
      const route = routed.route;
      if (route.kind === 'portForward') {
        const pod = findPod(route.namespace, route.pod, route.uid);
        const uid = route.uid ?? pod.metadata.uid ?? '';
        const sandbox = await host.podSandboxId(route.namespace, route.pod, uid || undefined);
        if (!sandbox) return refuse(statusFor(404, 'NotFound', `pod "${route.pod}" has no sandbox running`));
        await upgrader.portForward(req, socket, head, {
          pod: `${route.namespace}/${route.pod}`,
          uid,
          forward: (port, stream) => runtime.portForward(sandbox, port, stream),
        });
        log.debug({ pod: `${route.namespace}/${route.pod}`, user: who.user }, 'port-forward session open');
        return;
      }
      if (route.kind !== 'exec' && route.kind !== 'attach') return refuse(badRequest(`${url.pathname} cannot be upgraded`));
      const opts = parseRemoteCommandOptions(url.searchParams);
      if (typeof opts === 'string') return refuse(badRequest(opts));
      const cmd = route.kind === 'exec' ? execCommand(url.searchParams) : [];
      if (typeof cmd === 'string') return refuse(badRequest(cmd));
      const id = await containerId(route);
      const streams = await upgrader.remoteCommand(req, socket, head, opts);
      log.debug({ pod: `${route.namespace}/${route.pod}`, container: route.container, kind: route.kind, protocol: streams.protocol, user: who.user }, 'streaming session open');
      const outcome = await serveRemoteCommand(
        streams,
        (so) => (route.kind === 'exec' ? runtime.exec(id, cmd, so) : runtime.attach(id, so)),
        route.kind,
      );
      if (outcome instanceof Error) log.info({ pod: `${route.namespace}/${route.pod}`, container: route.container, err: outcome.message }, `${route.kind} failed`);
    } catch (err) {
      if (err instanceof UpgradeRefused) return;
      if (err instanceof RequestError) return refuse(err.status);
      if (err instanceof StreamSetupError) {
        // After the 101: nothing HTTP can be said any more.
        log.info({ path: url.pathname, err: err.message }, 'streaming session not set up');
        socket.destroy();
        return;
      }
      log.info({ path: url.pathname, err: (err as Error).message }, 'streaming session failed');
      refuse(internalError((err as Error).message));
    }
  };

  return {
    port: https ? (https.address() as AddressInfo).port : 0,
    healthzPort: healthz ? (healthz.address() as AddressInfo).port : 0,
    close: async () => {
      upgrader.close();
      for (const s of upgraded) s.destroy();
      for (const s of [https, healthz]) {
        if (!s) continue;
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}

function listen(server: HttpsServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
