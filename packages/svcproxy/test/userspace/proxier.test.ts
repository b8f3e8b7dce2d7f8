import { createServer, connect, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Registry } from 'prom-client';
import { createLogger, waitFor } from '@pilot/common';
import { NoPortalRules, UserspaceProxier, type UserspaceProxierOptions } from '../../src/userspace/index.js';
import { captureLog } from './capture-log.js';
import type { EndpointInfo, ProxyState, ServicePortInfo } from '../../src/model.js';

// Loopback only: the proxier's data path with no iptables (clients dial the
// listener directly), so TCP/UDP behaviour is checked without root.

const log = createLogger('svcproxy-userspace-test', { level: 'silent' });

function svc(name: string, protocol: 'TCP' | 'UDP', extra: Partial<ServicePortInfo> = {}): ServicePortInfo {
  return { namespace: 'default', name, portName: '', protocol, clusterIP: '10.0.0.50', port: 80, externalIPs: [], loadBalancerIPs: [], sessionAffinity: 'None', stickySeconds: 10800, ...extra };
}

function state(entries: [ServicePortInfo, number[]][]): ProxyState {
  const s: ProxyState = { services: new Map(), endpoints: new Map() };
  for (const [sp, ports] of entries) {
    const key = `${sp.namespace}/${sp.name}`;
    s.services.set(key, sp);
    s.endpoints.set(key, ports.map((port): EndpointInfo => ({ ip: '127.0.0.1', port, ready: true })));
  }
  return s;
}

const servers: Server[] = [];
const udps: UdpSocket[] = [];
let proxier: UserspaceProxier | undefined;

async function listen(handler: (s: Socket) => void): Promise<number> {
  const srv = createServer({ allowHalfOpen: true }, handler);
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as { port: number }).port;
}

/** A server answering with its name, then echoing until the client half-closes, then sending "bye". */
function named(name: string): Promise<number> {
  return listen((s) => {
    s.write(`${name}\n`);
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end('bye'));
    s.on('error', () => undefined);
  });
}

function dial(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true, ...(localAddress ? { localAddress } : {}) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function collect(s: Socket): { text: () => string; ended: Promise<void>; closed: Promise<Error | undefined> } {
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => (buf += d));
  let err: Error | undefined;
  s.on('error', (e) => (err = e));
  return {
    text: () => buf,
    ended: new Promise((r) => s.once('end', () => r())),
    closed: new Promise((r) => s.once('close', () => r(err))),
  };
}

async function startProxier(st: ProxyState, registry = new Registry(), extra: Partial<UserspaceProxierOptions> = {}): Promise<UserspaceProxier> {
  proxier = new UserspaceProxier({ listenIP: '127.0.0.1', rules: new NoPortalRules(), registry, log, udpIdleTimeoutMs: 200, dialTimeoutsMs: [100, 200, 300], ...extra });
  await proxier.sync(st);
  return proxier;
}

afterEach(async () => {
  await proxier?.close();
  proxier = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  for (const u of udps.splice(0)) u.close();
});

describe('UserspaceProxier on loopback', () => {
  it('spreads connections round-robin and passes a half-close both ways', async () => {
    const ports = await Promise.all(['a', 'b', 'c'].map(named));
    const p = await startProxier(state([[svc('web', 'TCP'), ports]]));
    const port = p.portOf('default/web');
    expect(port).toBeGreaterThan(0);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await dial(port);
      const c = collect(s);
      s.write('ping');
      await waitFor(() => c.text().includes('ping'), { timeoutMs: 5000, what: 'echo' });
      s.end(); // half-close: the server must still be able to answer
      await c.ended;
      expect(c.text()).toMatch(/^[abc]\nping(bye)$/);
      seen.push(c.text()[0]!);
    }
    expect(seen.slice(0, 3).sort()).toEqual(['a', 'b', 'c']);
    expect(seen.slice(3)).toEqual(seen.slice(0, 3));
  });

  it('turns a backend reset into a reset for the client', async () => {
    const port = await listen((s) => s.once('data', () => s.resetAndDestroy()));
    const p = await startProxier(state([[svc('rst', 'TCP'), [port]]]));
    const s = await dial(p.portOf('default/rst'));
    const c = collect(s);
    s.write('x');
    const err = await c.closed;
    expect((err as NodeJS.ErrnoException | undefined)?.code).toBe('ECONNRESET');
  });

  it('moves on to a live endpoint when one refuses, and counts the failure', async () => {
    const live = await named('live');
    const dead = await listen(() => undefined);
    await new Promise((r) => servers.pop()!.close(r)); // nothing listens on `dead` now
    const registry = new Registry();
    const p = await startProxier(state([[svc('fo', 'TCP'), [live, dead]]]), registry);
    for (let i = 0; i < 4; i++) {
      const s = await dial(p.portOf('default/fo'));
      const c = collect(s);
      await waitFor(() => c.text().includes('\n'), { timeoutMs: 5000, what: 'greeting' });
      expect(c.text()).toBe('live\n');
      s.destroy();
    }
    // Round-robin keeps the dead endpoint in the walk (nothing told it the
    // endpoint is gone), so it was tried first for at least one connection.
    const m = /svcproxy_userspace_connect_failures_total\{service="default\/fo"\} (\d+)/.exec(await registry.metrics());
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('caps the connections one source holds across services, and logs when the cap bites', async () => {
    const { log: capturing, lines } = captureLog();
    const registry = new Registry();
    const [a, b] = await Promise.all([named('a'), named('b')]);
    const p = await startProxier(state([[svc('one', 'TCP'), [a]], [svc('two', 'TCP'), [b]]]), registry, { maxConnectionsPerSource: 3, log: capturing });
    const held: Socket[] = [];
    try {
      // Three held connections from 127.0.0.1, spread over both services, each greeted.
      for (const key of ['default/one', 'default/two', 'default/one']) {
        const s = await dial(p.portOf(key));
        held.push(s);
        const c = collect(s);
        await waitFor(() => c.text().includes('\n'), { timeoutMs: 5000, what: `greeting through ${key}` });
      }
      // The fourth from the same address is reset before any byte of the backend.
      // (The reset can beat the client's own connect event, so no dial() here.)
      const over = connect({ host: '127.0.0.1', port: p.portOf('default/two') });
      const oc = collect(over);
      const err = await oc.closed;
      expect(oc.text()).toBe('');
      expect((err as NodeJS.ErrnoException | undefined)?.code).toBe('ECONNRESET');
      expect(await registry.metrics()).toMatch(/svcproxy_userspace_refused_total\{service="default\/two",reason="per-source-limit"\} 1/);
      expect(lines.map((l) => l.msg).join('\n')).toContain('client 127.0.0.1 refused: 127.0.0.1 already holds 3 connections');
      // Another source is not affected.
      const other = await dial(p.portOf('default/two'), '127.0.0.2');
      held.push(other);
      const otc = collect(other);
      await waitFor(() => otc.text() === 'b\n', { timeoutMs: 5000, what: 'greeting for 127.0.0.2' });
      // A closed connection gives its slot back.
      const first = held.shift()!;
      const gone = collect(first).closed;
      first.destroy();
      await gone;
      await waitFor(
        async () => {
          const s = connect({ host: '127.0.0.1', port: p.portOf('default/one') });
          const c = collect(s);
          const ok = await Promise.race([
            new Promise<boolean>((r) => s.once('data', () => r(true))),
            c.closed.then(() => false),
          ]);
          if (ok) held.push(s);
          else s.destroy();
          return ok;
        },
        { timeoutMs: 5000, what: 'a slot freed by the closed connection' },
      );
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('keeps serving other clients while a backend accepts and never reads', async () => {
    const stalled: Socket[] = [];
    const stall = await listen((s) => {
      s.pause();
      stalled.push(s);
    });
    const ok = await named('ok');
    const p = await startProxier(state([[svc('st', 'TCP'), [stall]], [svc('ok', 'TCP'), [ok]]]));
    const s1 = await dial(p.portOf('default/st'));
    s1.on('error', () => undefined);
    let s2: Socket | undefined;
    try {
      // Fill the stalled path well past every buffer: backpressure must hold it, not the event loop.
      // 64 MiB: the kernel's autotuned socket buffers on the three loopback hops
      // (tcp_wmem/tcp_rmem maxima of 4 + 6 MiB each way) can absorb 16 MiB or more.
      const chunk = Buffer.alloc(1 << 20);
      for (let i = 0; i < 64; i++) s1.write(chunk);
      s2 = await dial(p.portOf('default/ok'));
      const c2 = collect(s2);
      await waitFor(() => c2.text() === 'ok\n', { timeoutMs: 5000, what: 'the other service to answer' });
      // The proxy did not read everything into memory: the client still holds unsent data.
      expect(s1.writableLength).toBeGreaterThan(0);
    } finally {
      s2?.destroy();
      s1.destroy();
      for (const s of stalled) s.destroy();
    }
  });

  it('closes the listener of a removed service and lets open connections drain', async () => {
    const port = await named('d');
    const registry = new Registry();
    const p = await startProxier(state([[svc('dr', 'TCP'), [port]]]), registry);
    const lport = p.portOf('default/dr');
    const s = await dial(lport);
    const c = collect(s);
    await waitFor(() => c.text() === 'd\n', { timeoutMs: 5000, what: 'greeting' });
    await p.sync(state([]));
    await expect(dial(lport)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    s.write('still here');
    await waitFor(() => c.text() === 'd\nstill here', { timeoutMs: 5000, what: 'echo over the draining connection' });
    expect(await registry.metrics()).toMatch(/svcproxy_userspace_active_connections\{service="default\/dr",protocol="TCP"\} 1/);
    s.end();
    await c.closed;
  });

  it('proxies UDP per client and forgets idle sessions', async () => {
    const backend = createSocket('udp4');
    udps.push(backend);
    backend.on('message', (m, r) => backend.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
    await new Promise<void>((r) => backend.bind(0, '127.0.0.1', r));
    const registry = new Registry();
    const p = await startProxier(state([[svc('dns', 'UDP'), [backend.address().port]]]), registry);
    const client = createSocket('udp4');
    udps.push(client);
    const replies: string[] = [];
    client.on('message', (m, r) => replies.push(`${r.port}:${m.toString()}`));
    const lport = p.portOf('default/dns');
    client.send('q1', lport, '127.0.0.1');
    await waitFor(() => replies.length === 1, { timeoutMs: 5000, what: 'UDP reply' });
    expect(replies[0]).toBe(`${lport}:echo:q1`);
    expect(await registry.metrics()).toMatch(/svcproxy_userspace_active_connections\{service="default\/dns",protocol="UDP"\} 1/);
    await waitFor(async () => /svcproxy_userspace_active_connections\{service="default\/dns",protocol="UDP"\} 0/.test(await registry.metrics()), {
      timeoutMs: 5000,
      what: 'the idle session to expire',
    });
    client.send('q2', lport, '127.0.0.1');
    await waitFor(() => replies.length === 2, { timeoutMs: 5000, what: 'UDP reply after a new session' });
    expect(await registry.metrics()).toMatch(/svcproxy_userspace_bytes_total\{service="default\/dns",protocol="UDP",direction="out"\} 14/);
  });

  it('refuses to listen on 0.0.0.0', () => {
    expect(() => new UserspaceProxier({ listenIP: '0.0.0.0', rules: new NoPortalRules(), log })).toThrow(/concrete local IP/);
  });
});
