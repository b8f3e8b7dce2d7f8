import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { resourceByName, type Node, type Pod } from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Store } from './registry/store.js';
import { badRequest, serviceUnavailable, StatusError } from './status.js';

/**
 * pods/log and pods/exec: the apiserver does not run containers, it forwards
 * to the kubelet of the pod's node, as kube-apiserver does (LogLocation /
 * ExecLocation). The kubelet's address is the Node's InternalIP and
 * `status.daemonEndpoints.kubeletEndpoint.Port`. With no such address (pod
 * not scheduled, node unknown, no kubelet registered) the answer is a clear
 * 503, never a hang.
 *
 * exec is an HTTP upgrade (websocket `v5.channel.k8s.io` from kubectl 1.32,
 * SPDY from older clients): once the kubelet location is known the request is
 * replayed to the kubelet on a raw TCP connection and the two sockets are
 * spliced, so the protocol negotiation and framing stay end to end between
 * kubectl and the kubelet.
 *
 * The kubelet is spoken to over plain HTTP (the pilot kubelet's read port);
 * TLS to the kubelet is not implemented yet.
 */

export interface KubeletLocation {
  host: string;
  port: number;
  /** Path + query on the kubelet, e.g. /containerLogs/default/web/c?follow=true */
  path: string;
}

/** Query parameters of pods/log passed on to the kubelet's /containerLogs. */
const LOG_PARAMS = ['follow', 'previous', 'timestamps', 'sinceSeconds', 'sinceTime', 'tailLines', 'limitBytes'];
/** Query parameters of pods/exec passed on to the kubelet's /exec (command repeats). */
const EXEC_PARAMS = ['command', 'stdin', 'stdout', 'stderr', 'tty'];

/** Which container a request means: the named one, or the pod's only one (pure). */
export function containerFor(pod: Pod, requested: string | null): string {
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
  const podName = pod.metadata.name!;
  if (requested) {
    if (!names.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${podName}`);
    return requested;
  }
  const main = (pod.spec?.containers ?? []).map((c) => c.name);
  if (main.length === 1) return main[0]!;
  throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${main.join(' ')}]`);
}

/** The kubelet endpoint of a node, or a one-line reason why there is none (pure). */
export function kubeletEndpoint(node: Node): { host: string; port: number } | string {
  const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!ip) return `node "${node.metadata.name}" has no InternalIP address`;
  if (!port) return `node "${node.metadata.name}" has no kubelet endpoint (status.daemonEndpoints.kubeletEndpoint.Port)`;
  return { host: ip, port };
}

/** The kubelet path for a pods/log or pods/exec request (pure). */
export function kubeletPath(sub: 'log' | 'exec', ns: string, pod: string, container: string, q: URLSearchParams): string {
  const keep = sub === 'log' ? LOG_PARAMS : EXEC_PARAMS;
  const out = new URLSearchParams();
  for (const [k, v] of q) if (keep.includes(k)) out.append(k, v);
  const base = sub === 'log' ? 'containerLogs' : 'exec';
  const qs = out.toString();
  return `/${base}/${encodeURIComponent(ns)}/${encodeURIComponent(pod)}/${encodeURIComponent(container)}${qs ? `?${qs}` : ''}`;
}

export class KubeletProxy {
  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Where the kubelet serves `sub` for this pod; a StatusError (404, 400, 503) otherwise. */
  async locate(sub: 'log' | 'exec', ns: string, podName: string, q: URLSearchParams): Promise<KubeletLocation> {
    const pod = (await this.store.get(resourceByName('pods')!, ns, podName)) as Pod;
    const container = containerFor(pod, q.get('container'));
    const nodeName = pod.spec?.nodeName;
    const what = sub === 'log' ? 'logs' : 'exec';
    if (!nodeName) throw serviceUnavailable(`${what} for pod "${podName}" are not available: the pod is not scheduled to a node yet, so no kubelet serves it`);
    let node: Node;
    try {
      node = (await this.store.get(resourceByName('nodes')!, undefined, nodeName)) as Node;
    } catch (err) {
      if (err instanceof StatusError && err.code === 404) throw serviceUnavailable(`${what} for pod "${podName}" are not available: its node "${nodeName}" is not registered, so no kubelet serves it`);
      throw err;
    }
    const ep = kubeletEndpoint(node);
    if (typeof ep === 'string') throw serviceUnavailable(`${what} for pod "${podName}" are not available: ${ep}`);
    return { ...ep, path: kubeletPath(sub, ns, podName, container, q) };
  }

  /** pods/log: streams the kubelet's answer (follow keeps it open until either side closes). */
  async serveLog(req: IncomingMessage, res: ServerResponse, ns: string, podName: string, q: URLSearchParams): Promise<void> {
    const loc = await this.locate('log', ns, podName, q);
    await new Promise<void>((resolve, reject) => {
      const up = httpRequest({ host: loc.host, port: loc.port, path: loc.path, method: 'GET', timeout: 10_000 }, (kres) => {
        up.setTimeout(0); // a followed log may be quiet for a long time
        res.writeHead(kres.statusCode ?? 502, { 'content-type': kres.headers['content-type'] ?? 'text/plain', 'cache-control': 'no-cache' });
        res.flushHeaders();
        kres.on('data', (chunk: Buffer) => res.write(chunk));
        kres.on('end', () => {
          res.end();
          resolve();
        });
        kres.on('error', () => {
          res.end();
          resolve();
        });
      });
      // The client went away (kubectl logs -f interrupted): stop reading from the kubelet.
      res.on('close', () => {
        up.destroy();
        resolve();
      });
      up.on('timeout', () => up.destroy(new Error('timed out')));
      up.on('error', (err) => {
        if (res.headersSent) {
          res.end();
          return resolve();
        }
        reject(serviceUnavailable(`logs for pod "${podName}" are not available: the kubelet at ${loc.host}:${loc.port} cannot be reached: ${err.message}`));
      });
      up.end();
    });
  }

  /**
   * pods/exec upgrade: replays the request line and headers to the kubelet
   * (without the caller's credentials) and splices the sockets. Errors before
   * the splice are written as an HTTP reply with a Status body.
   */
  async proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ns: string, podName: string, q: URLSearchParams): Promise<void> {
    const loc = await this.locate('exec', ns, podName, q);
    const upstream: Socket = netConnect({ host: loc.host, port: loc.port });
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => reject(serviceUnavailable(`exec for pod "${podName}" is not available: the kubelet at ${loc.host}:${loc.port} cannot be reached: ${err.message}`));
      upstream.once('error', fail);
      upstream.setTimeout(10_000, () => upstream.destroy(new Error('connect timed out')));
      upstream.once('connect', () => {
        upstream.off('error', fail);
        upstream.setTimeout(0);
        resolve();
      });
    });
    const lines = [`${req.method ?? 'GET'} ${loc.path} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      const lower = name.toLowerCase();
      if (lower === 'authorization' || lower === 'host') continue;
      lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
    }
    lines.push(`Host: ${loc.host}:${loc.port}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) upstream.write(head);
    const close = () => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on('error', close);
    socket.on('error', close);
    upstream.on('close', () => socket.end());
    socket.on('close', () => upstream.destroy());
    upstream.pipe(socket);
    socket.pipe(upstream);
    this.log.debug({ pod: `${ns}/${podName}`, kubelet: `${loc.host}:${loc.port}` }, 'exec stream spliced to the kubelet');
  }
}

/** An HTTP error reply on a socket that was handed over for an upgrade. */
export function writeUpgradeError(socket: Duplex, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  const reason = code === 503 ? 'Service Unavailable' : code === 404 ? 'Not Found' : code === 400 ? 'Bad Request' : code === 401 ? 'Unauthorized' : 'Error';
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}
