import { createHash } from 'node:crypto';
import { createServer, connect, Socket, type Server } from 'node:net';
import { createLogger, waitFor } from '@pilot/common';
import { NoPortalRules, UserspaceProxier } from '../../src/userspace/index.js';
import { Direction, ReadBufferPool, sharedReadBuffers, useReadBuffers } from '../../src/userspace/relay.js';
import { dialTcp, relay } from '../../src/userspace/tcp.js';
import type { ProxyState } from '../../src/model.js';

// The reusable-buffer data path: a buffer reused while a write still reads it
// would corrupt the stream, so these move pseudo-random bytes through the
// proxier with slow, pausing readers on the far side and compare digests.

const log = createLogger('svcproxy-relay-test', { level: 'silent' });
const servers: Server[] = [];
let proxier: UserspaceProxier | undefined;

afterEach(async () => {
  await proxier?.close();
  proxier = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Deterministic bytes that differ at every offset (a repeated pattern could hide a stale buffer). */
function payload(bytes: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil(bytes / 4) * 4);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  return out.subarray(0, bytes);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Reads everything, pausing for a few ms now and then so the proxy's writes back up. */
function slowDrain(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    s.on('data', (d: Buffer) => {
      parts.push(d);
      if (++n % 8 === 0) {
        s.pause();
        setTimeout(() => s.resume(), 3);
      }
    });
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

function writeAll(s: Socket, data: Buffer): void {
  let off = 0;
  const step = 100_000;
  const go = () => {
    while (off < data.length) {
      const chunk = data.subarray(off, off + step);
      off += chunk.length;
      if (!s.write(chunk)) return void s.once('drain', go);
    }
    s.end();
  };
  go();
}

async function proxyTo(handler: (s: Socket) => void): Promise<number> {
  const srv = createServer({ allowHalfOpen: true }, handler);
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const st: ProxyState = {
    services: new Map([['t/bulk', { namespace: 't', name: 'bulk', portName: '', protocol: 'TCP', clusterIP: '10.0.0.9', port: 80, externalIPs: [], loadBalancerIPs: [], sessionAffinity: 'None', stickySeconds: 10800 }]]),
    endpoints: new Map([['t/bulk', [{ ip: '127.0.0.1', port, ready: true }]]]),
  };
  // One patient connect: on a loaded machine the default 250 ms first attempt
  // can time out after the backend accepted, and the abandoned connection
  // would reset the backend's writes. Dialing is dial.test's subject, not this one's.
  proxier = new UserspaceProxier({ listenIP: '127.0.0.1', rules: new NoPortalRules(), log, dialTimeoutsMs: [30_000] });
  await proxier.sync(st);
  return proxier.portOf('t/bulk');
}

describe('relay with reusable read buffers', () => {
  it('moves bulk data intact both ways through slow readers, then gives its large buffers back', async () => {
    const up = payload(24 * 1024 * 1024, 7);
    const down = payload(24 * 1024 * 1024, 11);
    let received: Promise<Buffer> | undefined;
    const port = await proxyTo((s) => {
      received = slowDrain(s);
      writeAll(s, down); // the backend streams at the same time as it reads
    });
    const client = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const back = slowDrain(client);
    writeAll(client, up);
    const got = await back;
    await waitFor(() => received !== undefined, { timeoutMs: 5000, what: 'the backend to accept' });
    const sent = await received!;
    expect(sha(sent)).toBe(sha(up));
    expect(sha(got)).toBe(sha(down));
    client.destroy();
    await waitFor(() => sharedReadBuffers.lentCount === 0, { timeoutMs: 5000, what: 'large read buffers to return to the pool' });
    const t = proxier!.traffic()[0]!;
    expect(t.bytesIn).toBe(up.length);
    expect(t.bytesOut).toBe(down.length);
  }, 60_000);

  it('keeps many short exchanges intact (small shared buffer, copied before writing)', async () => {
    const port = await proxyTo((s) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
      s.on('error', () => undefined);
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        new Promise<boolean>((resolve, reject) => {
          const msg = payload(1000 + i * 997, i + 1);
          const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
          const parts: Buffer[] = [];
          s.on('data', (d: Buffer) => parts.push(d));
          s.once('connect', () => s.end(msg));
          s.once('end', () => resolve(Buffer.concat(parts).equals(msg)));
          s.once('error', reject);
        }),
      ),
    );
    expect(results.every(Boolean)).toBe(true);
  });
});

describe('useReadBuffers', () => {
  it('makes an accepted socket read into our buffer in place, and only once resumed', async () => {
    const seen: string[] = [];
    const buf = Buffer.alloc(64);
    let accepted: { s: Socket; inPlace: boolean; events: number } | undefined;
    const front = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (s) => {
      const a = { s, inPlace: useReadBuffers(s, { buffer: () => buf, callback: (n, b) => (seen.push(b.toString('utf8', 0, n)), true) }), events: 0 };
      s.on('data', () => a.events++); // Node's own reads would show up here
      accepted = a;
    });
    servers.push(front);
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const c = connect({ host: '127.0.0.1', port: (front.address() as { port: number }).port, allowHalfOpen: true });
    c.resume();
    // Once the client's bytes and FIN are written they sit in the kernel (loopback): still unread.
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => c.end('in place', resolve));
      c.once('error', reject);
    });
    await waitFor(() => accepted !== undefined, { timeoutMs: 5000, what: 'the front to accept' });
    expect(seen).toEqual([]);
    const ended = new Promise<void>((resolve) => accepted!.s.once('end', resolve));
    accepted!.s.resume();
    await ended;
    accepted!.s.destroy();
    c.destroy();
    expect(accepted!.inPlace).toBe(true);
    expect(accepted!.events).toBe(0);
    expect(seen.join('')).toBe('in place');
  });
});

describe('relay fallback', () => {
  it('pipes the client side when the accepted socket cannot read into our buffers, still both ways with half-close', async () => {
    const backendPort = await new Promise<number>((resolve) => {
      const srv = createServer({ allowHalfOpen: true }, (s) => {
        const parts: Buffer[] = [];
        s.on('data', (d: Buffer) => parts.push(d));
        s.on('end', () => s.end(Buffer.concat(parts).toString('utf8').toUpperCase()));
      });
      servers.push(srv);
      srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
    });
    // A socket without a kernel handle (here: never connected) cannot read into our buffers.
    expect(useReadBuffers(new Socket(), new Direction().onread)).toBe(false);
    // The fallback path itself: the client side piped, the backend through its Direction.
    const relayFront = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
      const toClient = new Direction();
      void dialTcp(`127.0.0.1:${backendPort}`, 1000, toClient.onread).then((backend) => relay(client, backend, undefined, toClient));
    });
    servers.push(relayFront);
    await new Promise<void>((r) => relayFront.listen(0, '127.0.0.1', r));
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: (relayFront.address() as { port: number }).port, allowHalfOpen: true });
      let got = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (got += d));
      s.once('connect', () => s.end('half-closed hello'));
      s.once('end', () => resolve(got));
      s.once('error', reject);
    });
    expect(reply).toBe('HALF-CLOSED HELLO');
  });
});

describe('ReadBufferPool', () => {
  it('lends large buffers only within its byte budget and reuses returned ones', () => {
    const pool = new ReadBufferPool(1024, 4096, 3 * 4096, 2);
    const a = pool.acquire();
    const b = pool.acquire();
    const c = pool.acquire();
    expect([a, b, c].every((x) => x?.length === 4096)).toBe(true);
    expect(pool.acquire()).toBeUndefined();
    pool.release(a!, true);
    expect(pool.lentCount).toBe(2);
    expect(pool.acquire()).toBe(a);
    pool.release(b!, false); // still read by a pending write: never handed out again
    expect(pool.acquire()).not.toBe(b);
  });
});
