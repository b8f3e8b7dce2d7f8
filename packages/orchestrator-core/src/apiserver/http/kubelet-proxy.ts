import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Logger } from '@pilot/common';
import type { ConnectTarget } from '../registry/subresources.js';
import { serviceUnavailable } from '../status.js';

/**
 * Connect subresources (pods/log, pods/exec, ...): the apiserver does not run
 * containers, it forwards to the place the registry located (the kubelet of
 * the pod's node, registry/kubelet-location.ts), as kube-apiserver's
 * upgrade-aware proxy does. A plain request's answer is streamed back (a
 * followed log until either side closes); an upgrade (websocket
 * `v5.channel.k8s.io` from kubectl 1.32, SPDY from older clients) is replayed
 * to the target on a raw TCP connection and the two sockets are spliced, so
 * the protocol negotiation and framing stay end to end.
 *
 * The kubelet is spoken to only over TLS, as kube-apiserver does: the
 * apiserver shows its kubelet client certificate (--kubelet-client-certificate,
 * --kubelet-client-key), the one credential a kubelet accepts, and verifies
 * the kubelet's serving certificate against --kubelet-certificate-authority
 * (its SAN must name the node's address).
 */

/** How the apiserver reaches kubelets: its client credential and the CA it trusts for them. */
export interface KubeletTransport {
  cert?: Buffer;
  key?: Buffer;
  /** Undefined: the system's CAs. */
  ca?: Buffer;
}

/** Reads the --kubelet-* files once at start. */
export function loadKubeletTransport(files: { kubeletClientCertificate?: string; kubeletClientKey?: string; kubeletCertificateAuthority?: string }): KubeletTransport {
  const read = (flag: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`--${flag} ${path}: ${(err as Error).message}`);
    }
  };
  const t: KubeletTransport = {};
  const cert = read('kubelet-client-certificate', files.kubeletClientCertificate);
  const key = read('kubelet-client-key', files.kubeletClientKey);
  const ca = read('kubelet-certificate-authority', files.kubeletCertificateAuthority);
  if (cert) t.cert = cert;
  if (key) t.key = key;
  if (ca) t.ca = ca;
  return t;
}

function tlsOptions(target: ConnectTarget, t: KubeletTransport) {
  return {
    host: target.host,
    port: target.port,
    ...(t.cert ? { cert: t.cert } : {}),
    ...(t.key ? { key: t.key } : {}),
    ...(t.ca ? { ca: t.ca } : {}),
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2' as const,
  };
}

/** Streams the target's answer to a plain GET. */
export function streamFrom(res: ServerResponse, target: ConnectTarget, transport: KubeletTransport): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const up = httpsRequest({ ...tlsOptions(target, transport), path: target.path, method: 'GET', timeout: 10_000, agent: false }, (kres) => {
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
    // The client went away (kubectl logs -f interrupted): stop reading from the target.
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
      reject(serviceUnavailable(`${target.unreachable}: ${err.message}`));
    });
    up.end();
  });
}

/**
 * An upgrade: replays the request line and headers to the target (without
 * the caller's credentials) and splices the sockets. Errors before the splice
 * are thrown as StatusErrors for the caller to write (writeUpgradeError).
 */
export async function spliceUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: ConnectTarget, transport: KubeletTransport, log: Logger): Promise<void> {
  const upstream: TLSSocket = tlsConnect(tlsOptions(target, transport));
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => reject(serviceUnavailable(`${target.unreachable}: ${err.message}`));
    upstream.once('error', fail);
    upstream.setTimeout(10_000, () => upstream.destroy(new Error('connect timed out')));
    upstream.once('secureConnect', () => {
      upstream.off('error', fail);
      upstream.setTimeout(0);
      resolve();
    });
  });
  const lines = [`${req.method ?? 'GET'} ${target.path} HTTP/1.1`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (lower === 'authorization' || lower === 'host') continue;
    lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
  }
  lines.push(`Host: ${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`);
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
  log.debug({ path: req.url, target: `${target.host}:${target.port}` }, 'upgrade spliced to its target');
}

/** An HTTP error reply on a socket that was handed over for an upgrade. */
export function writeUpgradeError(socket: Duplex, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  const reason = code === 503 ? 'Service Unavailable' : code === 404 ? 'Not Found' : code === 400 ? 'Bad Request' : code === 401 ? 'Unauthorized' : 'Error';
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}
