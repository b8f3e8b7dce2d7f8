import {
  AnswerCache,
  ForwardCache,
  Forwarder,
  Rcode,
  Type,
  cacheTtl,
  encodeQuery,
  encodeResponse,
  filterUpstreams,
  parseQuery,
  parseResolvConf,
  parseUpstream,
  type Exchanger,
  type ResourceRecord,
  type Upstream,
} from '../src/index.js';
import { decode, rig } from './fixtures.js';

function upstreamAnswer(query: Buffer, opts: { rcode?: number; answer?: ResourceRecord[]; authority?: ResourceRecord[] }): Buffer {
  const q = parseQuery(query);
  return encodeResponse(
    { id: q.id, queryFlags: q.flags, rcode: opts.rcode ?? 0, aa: false, ra: true, questionBytes: q.questionBytes, answer: opts.answer, authority: opts.authority },
    4096,
  );
}

const soa = (ttl: number, minimum: number): ResourceRecord => ({
  name: 'org',
  ttl,
  data: { type: Type.SOA, mname: 'a.org', rname: 'h.org', serial: 1, refresh: 1, retry: 1, expire: 1, minimum },
});

/** An exchanger scripted per upstream: a function of the query, or 'timeout'. */
class FakeExchanger implements Exchanger {
  calls: { upstream: Upstream; tcp: boolean }[] = [];
  constructor(private readonly script: (u: Upstream, q: Buffer) => Buffer | 'timeout') {}
  async exchange(upstream: Upstream, query: Buffer, opts: { tcp: boolean; timeoutMs: number }): Promise<Buffer> {
    this.calls.push({ upstream, tcp: opts.tcp });
    await Promise.resolve();
    const r = this.script(upstream, query);
    if (r === 'timeout') throw new Error(`no answer from ${upstream.host} within ${opts.timeoutMs} ms`);
    return r;
  }
  close(): void {}
}

const A = (name: string, address: string, ttl: number): ResourceRecord => ({ name, ttl, data: { type: Type.A, address } });

describe('forwarding', () => {
  const ups = [{ host: '192.0.2.1', port: 53 }, { host: '192.0.2.2', port: 53 }];

  async function ask(f: Forwarder, name: string, id = 1, transport: 'udp' | 'tcp' = 'udp') {
    const raw = encodeQuery(id, name, Type.A);
    const q = parseQuery(raw);
    return f.forward(q, raw, transport, AnswerCache.key(transport, q.questionBytes, q.edns));
  }

  it('answers from an upstream with the client ID, then from the cache with aged TTLs', async () => {
    let now = 1_000_000;
    const ex = new FakeExchanger((_u, q) => upstreamAnswer(q, { answer: [A('example.org', '192.0.2.80', 60)] }));
    const f = new Forwarder({ upstreams: ups, exchanger: ex, cache: new ForwardCache(100, () => now) });
    const first = await ask(f, 'example.org', 11);
    expect(first.source).toBe('upstream');
    expect(decode(first.response)).toMatchObject({ id: 11, rcode: 0, answers: [{ address: '192.0.2.80', ttl: 60 }] });
    now += 20_500;
    const second = await ask(f, 'example.org', 12);
    expect(second.source).toBe('cache');
    expect(decode(second.response)).toMatchObject({ id: 12, answers: [{ address: '192.0.2.80', ttl: 40 }] });
    expect(ex.calls).toHaveLength(1);
    now += 40_000;
    expect((await ask(f, 'example.org', 13)).source).toBe('upstream');
  });

  it('rotates several upstream A records on each forward-cache hit (loadbalance), TTLs aged in every record', async () => {
    let now = 1_000_000;
    const ips = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
    const ex = new FakeExchanger((_u, q) => upstreamAnswer(q, { answer: ips.map((ip, i) => A('example.org', ip, 60 + i)) }));
    const f = new Forwarder({ upstreams: ups, exchanger: ex, cache: new ForwardCache(100, () => now, true) });
    const answers = async () => decode((await ask(f, 'example.org')).response).answers.map((a) => [a.address, a.ttl]);
    expect(await answers()).toEqual([['192.0.2.1', 60], ['192.0.2.2', 61], ['192.0.2.3', 62]]);
    now += 10_000;
    expect(await answers()).toEqual([['192.0.2.2', 51], ['192.0.2.3', 52], ['192.0.2.1', 50]]);
    expect(await answers()).toEqual([['192.0.2.3', 52], ['192.0.2.1', 50], ['192.0.2.2', 51]]);
    expect(ex.calls).toHaveLength(1);
    // Without rotation the cached order is the upstream's.
    const fixed = new Forwarder({ upstreams: ups, exchanger: ex, cache: new ForwardCache(100, () => now) });
    await ask(fixed, 'example.org');
    expect(decode((await ask(fixed, 'example.org')).response).answers.map((a) => a.address)).toEqual(ips);
  });

  it('caches NXDOMAIN for min(SOA TTL, SOA minimum)', () => {
    const q = encodeQuery(1, 'nope.org', Type.A);
    expect(cacheTtl(upstreamAnswer(q, { rcode: Rcode.NXDOMAIN, authority: [soa(900, 30)] }))).toBe(30);
    expect(cacheTtl(upstreamAnswer(q, { rcode: Rcode.NXDOMAIN, authority: [soa(10, 300)] }))).toBe(10);
    expect(cacheTtl(upstreamAnswer(q, { rcode: Rcode.NXDOMAIN }))).toBe(0);
    expect(cacheTtl(upstreamAnswer(q, { rcode: Rcode.SERVFAIL }))).toBe(0);
    expect(cacheTtl(upstreamAnswer(q, { answer: [A('nope.org', '1.2.3.4', 0)] }))).toBe(0);
  });

  it('tries the next upstream when one times out or answers SERVFAIL', async () => {
    const ex = new FakeExchanger((u, q) => (u.host === '192.0.2.1' ? 'timeout' : upstreamAnswer(q, { answer: [A('example.org', '192.0.2.9', 30)] })));
    const f = new Forwarder({ upstreams: ups, exchanger: ex });
    const r1 = await ask(f, 'example.org');
    expect(decode(r1.response).answers).toEqual([expect.objectContaining({ address: '192.0.2.9' })]);
    const ex2 = new FakeExchanger((u, q) => upstreamAnswer(q, u.host === '192.0.2.1' ? { rcode: Rcode.SERVFAIL } : { answer: [A('a.org', '192.0.2.10', 30)] }));
    const f2 = new Forwarder({ upstreams: ups, exchanger: ex2 });
    expect(decode((await ask(f2, 'a.org')).response).rcode).toBe(0);
  });

  it('SERVFAIL when no upstream answers, never silence', async () => {
    const failures: string[] = [];
    const f = new Forwarder({ upstreams: ups, exchanger: new FakeExchanger(() => 'timeout'), onUpstreamFailure: (u) => failures.push(u.host) });
    const r = await ask(f, 'example.org', 99);
    expect(r.source).toBe('servfail');
    expect(decode(r.response)).toMatchObject({ id: 99, rcode: Rcode.SERVFAIL, questions: [{ name: 'example.org' }] });
    expect(failures.sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    const none = new Forwarder({ upstreams: [], exchanger: new FakeExchanger(() => 'timeout') });
    expect(decode((await ask(none, 'example.org')).response).rcode).toBe(Rcode.SERVFAIL);
  });

  it('coalesces identical questions in flight into one upstream exchange', async () => {
    const ex = new FakeExchanger((_u, q) => upstreamAnswer(q, { answer: [A('example.org', '192.0.2.80', 0)] }));
    const f = new Forwarder({ upstreams: ups, exchanger: ex });
    const rs = await Promise.all([ask(f, 'example.org', 1), ask(f, 'example.org', 2), ask(f, 'example.org', 3)]);
    expect(ex.calls).toHaveLength(1);
    expect(rs.map((r) => decode(r.response).id)).toEqual([1, 2, 3]);
  });

  it('uses TCP upstream for TCP clients', async () => {
    const ex = new FakeExchanger((_u, q) => upstreamAnswer(q, {}));
    const f = new Forwarder({ upstreams: ups, exchanger: ex });
    await ask(f, 'example.org', 1, 'tcp');
    expect(ex.calls[0]!.tcp).toBe(true);
  });

  it('the handler forwards only for allowed sources, cluster names never', async () => {
    const ex = new FakeExchanger((_u, q) => upstreamAnswer(q, { answer: [A('example.org', '192.0.2.80', 30)] }));
    const f = new Forwarder({ upstreams: ups, exchanger: ex });
    const r = rig({ forwarder: f, acl: ['10.1.0.0/16'] });
    const q = encodeQuery(3, 'example.org', Type.A);
    const res = await r.handler.handle(q, { transport: 'udp', remote: '10.1.7.7' });
    expect(decode(res!)).toMatchObject({ id: 3, rcode: 0, answers: [{ address: '192.0.2.80' }] });
    expect(decode(r.raw('example.org', Type.A, { remote: '192.0.2.50' })).rcode).toBe(Rcode.REFUSED);
    expect(r.ask('frontend.default.svc.cluster.local', Type.A, { remote: '192.0.2.50' }).rcode).toBe(0);
    expect(ex.calls).toHaveLength(1);
  });
});

describe('ExternalName targets outside the zone', () => {
  it('are chased through the forwarder for clients allowed to recurse, CNAME first', async () => {
    const ex = new FakeExchanger((_u, q) =>
      upstreamAnswer(q, { answer: [{ name: 'example.com', ttl: 300, data: { type: Type.CNAME, target: 'edge.example.net' } }, A('edge.example.net', '192.0.2.99', 60)] }),
    );
    const r = rig({ forwarder: new Forwarder({ upstreams: [{ host: '192.0.2.1', port: 53 }], exchanger: ex }), acl: ['127.0.0.0/8'] });
    const q = encodeQuery(8, 'ext.default.svc.cluster.local', Type.A);
    const d = decode((await r.handler.handle(q, { transport: 'udp', remote: '127.0.0.1' }))!);
    expect(d).toMatchObject({ id: 8, rcode: 0, aa: true });
    expect(d.answers.map((a) => `${a.name} ${a.type} ${a.domain ?? a.address}`)).toEqual([
      'ext.default.svc.cluster.local 5 example.com',
      'example.com 5 edge.example.net',
      'edge.example.net 1 192.0.2.99',
    ]);
    // A client that may not recurse gets the CNAME alone (and the cache does not mix the two).
    const other = r.ask('ext.default.svc.cluster.local', Type.A, { remote: '192.0.2.50' });
    expect(other.answers.map((a) => a.type)).toEqual([Type.CNAME]);
    const again = decode((await r.handler.handle(q, { transport: 'udp', remote: '127.0.0.1' }))!);
    expect(again.answers).toHaveLength(3);
  });

  it('an NXDOMAIN target makes the whole answer NXDOMAIN (RFC 6604), CNAME kept', async () => {
    const ex = new FakeExchanger((_u, q) => upstreamAnswer(q, { rcode: Rcode.NXDOMAIN, authority: [soa(60, 60)] }));
    const r = rig({ forwarder: new Forwarder({ upstreams: [{ host: '192.0.2.1', port: 53 }], exchanger: ex }), acl: ['127.0.0.0/8'] });
    const q = encodeQuery(8, 'ext.default.svc.cluster.local', Type.A);
    const d = decode((await r.handler.handle(q, { transport: 'udp', remote: '127.0.0.1' }))!);
    expect(d.rcode).toBe(Rcode.NXDOMAIN);
    expect(d.answers.map((a) => a.type)).toEqual([Type.CNAME]);
  });
});

describe('upstream configuration', () => {
  it('parses resolv.conf nameservers and upstream flags', () => {
    expect(parseResolvConf('search x\nnameserver 192.0.2.53\n# c\nnameserver fe80::1%eth0\nnameserver bogus\n')).toEqual([
      { host: '192.0.2.53', port: 53 },
      { host: 'fe80::1', port: 53 },
    ]);
    expect(parseUpstream('192.0.2.1:5353')).toEqual({ host: '192.0.2.1', port: 5353 });
    expect(parseUpstream('[::1]:54')).toEqual({ host: '::1', port: 54 });
    expect(parseUpstream('::1')).toEqual({ host: '::1', port: 53 });
    expect(() => parseUpstream('dns.example')).toThrow(/not an IP/);
    expect(() => parseUpstream('1.2.3.4:99999')).toThrow(/bad port/);
  });

  it('never forwards to itself, the cluster IP or the service network', () => {
    const { kept, dropped } = filterUpstreams(
      [
        { host: '10.0.0.10', port: 53 },
        { host: '10.0.0.99', port: 53 },
        { host: '192.0.2.5', port: 53 },
        { host: '127.0.0.1', port: 53 },
        { host: '127.0.0.1', port: 5300 },
        { host: '192.0.2.9', port: 53 },
      ],
      { ownAddresses: ['127.0.0.1', '192.0.2.5', '0.0.0.0'], ownPort: 53, clusterIp: '10.0.0.10', serviceCidr: '10.0.0.0/24' },
    );
    expect(kept).toEqual([{ host: '127.0.0.1', port: 5300 }, { host: '192.0.2.9', port: 53 }]);
    expect(dropped.map((d) => d.why)).toEqual(['is the cluster DNS IP', 'is in the service network 10.0.0.0/24', 'is dnsd itself', 'is dnsd itself']);
  });
});
