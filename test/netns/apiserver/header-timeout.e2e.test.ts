import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { waitFor } from '@pilot/common';
import { Cluster, startControlPlane, withLogsOnFailure, type ControlPlane } from '@pilot/netns';
import { startInProcess, type InProcess } from './helpers.js';

/**
 * --request-header-timeout: a client cannot hold one of the apiserver's
 * sockets without sending a request — silent after accept, silent after the
 * TLS handshake, or dripping a request line — on either port.
 */

let c: Cluster | undefined;
let cp: ControlPlane | undefined;
let plain: InProcess | undefined;

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c, { flags: ['--request-header-timeout', '1s'] });
  plain = await startInProcess(c, { requestHeaderTimeout: '1s' });
});

afterAll(async () => {
  await plain?.close();
  await cp?.close();
  await c?.teardown();
});

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

/** Resolves once the server has closed `sock` (polled within a generous deadline; the flag says 1 s). */
async function closedByServer(sock: Socket, what: string): Promise<void> {
  let closed = false;
  sock.on('close', () => (closed = true));
  sock.on('error', () => undefined);
  try {
    await waitFor(async () => closed, { timeoutMs: 20_000, what });
  } finally {
    sock.destroy();
  }
}

const hostPort = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

t('a connection that never sends anything is closed, on the plain and the TLS port', async () => {
  const a = connectTcp(hostPort(plain!.url));
  await new Promise((r) => a.once('connect', r));
  await closedByServer(a, 'plain port closing a silent connection');

  const b = connectTcp(hostPort(cp!.url));
  await new Promise((r) => b.once('connect', r));
  await closedByServer(b, 'TLS port closing a connection that never starts its handshake');

  const d = connectTls({ ...hostPort(cp!.url), rejectUnauthorized: false });
  await new Promise((r) => d.once('secureConnect', r));
  await closedByServer(d, 'TLS port closing a connection silent after its handshake');
});

t('a request line dripped a byte at a time is cut off at the deadline, not served', async () => {
  const s = connectTcp(hostPort(plain!.url));
  await new Promise((r) => s.once('connect', r));
  const line = 'GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n';
  let i = 0;
  let reply = '';
  s.on('data', (d: Buffer) => (reply += d.toString()));
  const drip = setInterval(() => {
    if (i < line.length && !s.destroyed) s.write(line[i++]!);
  }, 200);
  try {
    await closedByServer(s, 'plain port closing a dripping client');
  } finally {
    clearInterval(drip);
  }
  expect(i).toBeLessThan(line.length);
  expect(reply).not.toMatch(/NamespaceList/);
});

t('an ordinary request on a kept-alive connection is still served', async () => {
  const r = await fetch(`${plain!.url}/api/v1/namespaces`);
  expect(r.status).toBe(200);
  expect(((await r.json()) as { kind: string }).kind).toBe('NamespaceList');
});
