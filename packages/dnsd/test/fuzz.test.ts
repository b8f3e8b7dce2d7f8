import { ForwardCache, Forwarder, Type, encodeQuery, walkResponse, type Exchanger } from '../src/index.js';
import { decode, rig } from './fixtures.js';

/** xorshift32: a seeded generator, so a failure is reproducible from its seed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const SEEDS = ['frontend.default.svc.cluster.local', '_pg._tcp.db.default.svc.cluster.local', 'db.default.svc.cluster.local', 'example.org', '50.0.0.10.in-addr.arpa', 'cluster.local'];
const TYPES = [Type.A, Type.AAAA, Type.SRV, Type.PTR, Type.TXT, Type.ANY, Type.SOA, Type.NS, Type.AXFR];

describe('fuzzing the parse → answer path', () => {
  it('survives 100k random and mutated packets and still answers', async () => {
    const rnd = prng(0xd15ea5e);
    // An upstream that answers garbage half the time: the forward path sees it too.
    const exchanger: Exchanger = {
      async exchange(_u, q) {
        const b = Buffer.from(q);
        b[2] = (b[2]! | 0x80) & 0xff;
        if (rnd() < 0.5) for (let i = 0; i < 3; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        return b;
      },
      close() {},
    };
    const forwarder = new Forwarder({ upstreams: [{ host: '192.0.2.1', port: 53 }], exchanger, cache: new ForwardCache(1000) });
    const r = rig({ forwarder });
    let answered = 0;
    let dropped = 0;
    const pending: Promise<unknown>[] = [];
    const check = (packet: Buffer, res: Buffer | undefined, transport: 'udp' | 'tcp') => {
      if (!res) {
        dropped++;
        return;
      }
      answered++;
      if (res.length < 12) throw new Error(`short response to ${packet.toString('hex')}`);
      if (transport === 'udp' && res.length > 4096) throw new Error(`oversized UDP response to ${packet.toString('hex')}`);
    };
    for (let i = 0; i < 100_000; i++) {
      let packet: Buffer;
      const mode = rnd();
      if (mode < 0.3) {
        packet = Buffer.alloc(Math.floor(rnd() * 80));
        for (let j = 0; j < packet.length; j++) packet[j] = Math.floor(rnd() * 256);
      } else {
        const name = SEEDS[Math.floor(rnd() * SEEDS.length)]!;
        const type = TYPES[Math.floor(rnd() * TYPES.length)]!;
        const edns = rnd() < 0.5 ? { udpSize: Math.floor(rnd() * 70000) & 0xffff, version: rnd() < 0.9 ? 0 : 1, dnssecOk: rnd() < 0.5 } : undefined;
        packet = encodeQuery(Math.floor(rnd() * 65536), name, type, { edns });
        const flips = 1 + Math.floor(rnd() * 4);
        for (let j = 0; j < flips; j++) {
          const op = rnd();
          const at = Math.floor(rnd() * packet.length);
          if (op < 0.6) packet[at] = Math.floor(rnd() * 256);
          else if (op < 0.8) packet = packet.subarray(0, at);
          else packet = Buffer.concat([packet, Buffer.from([Math.floor(rnd() * 256), Math.floor(rnd() * 256)])]);
        }
        // Keep most of them queries, so they get past the first check.
        if (packet.length > 2 && rnd() < 0.8) packet[2] = packet[2]! & 0x7f;
      }
      const transport = rnd() < 0.8 ? 'udp' : 'tcp';
      const remote = rnd() < 0.5 ? '127.0.0.1' : '192.0.2.44';
      const res = r.handler.handle(packet, { transport, remote });
      if (res instanceof Promise) pending.push(res.then((b) => check(packet, b, transport)));
      else check(packet, res, transport);
      if (pending.length > 1000) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    expect(answered + dropped).toBe(100_000);
    expect(answered).toBeGreaterThan(50_000);
    expect(r.errors).toEqual([]);
    // Still answers correctly afterwards.
    const d = r.ask('frontend.default.svc.cluster.local', Type.A);
    expect(d.answers).toEqual([expect.objectContaining({ address: '10.0.0.50' })]);
  }, 60_000);

  it('the response walker rejects (not crashes on) 20k mutated responses', () => {
    const rnd = prng(42);
    const r = rig();
    const good = r.raw('_pg._tcp.db.default.svc.cluster.local', Type.SRV, { tcp: true });
    const cache = new ForwardCache(100);
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(good.subarray(0, Math.floor(rnd() * good.length) + 1));
      for (let j = 0; j < 3; j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        walkResponse(b);
      } catch (err) {
        expect(err).toBeInstanceOf(RangeError);
      }
      cache.set(`k${i % 50}`, b);
    }
  });
});
