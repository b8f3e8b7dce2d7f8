import { Histogram, Registry } from 'prom-client';
import { COREDNS_BOUNDS, DnsMetrics } from '../src/metrics.js';
import { familyOf } from '../src/server.js';
import { RecursionAcl } from '../src/acl.js';
import type { QueryOutcome } from '../src/handler.js';

const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 2.5];

describe('metrics', () => {
  it('the latency histogram prints exactly as a prom-client Histogram fed the same values', async () => {
    const ours = new Registry();
    const m = new DnsMetrics(ours, { server: 'dns://:53', coredns: false });
    const ref = new Registry();
    const r = new Histogram({ name: 'dnsd_request_duration_seconds', help: 'Time from packet in to response out, by the path that answered', labelNames: ['path'], buckets: BUCKETS, registers: [ref] });
    const samples: [QueryOutcome['path'], number][] = [
      ['cache', 0.00004],
      ['cache', 0.00005],
      ['zone', 0.0003],
      ['cache', 0.7],
      ['forward', 3],
      ['zone', 2.5],
      ['zone', 0.002],
    ];
    for (const [path, v] of samples) {
      m.record({ type: 1, rcode: 0, transport: 'udp', path }, v);
      r.observe({ path }, v);
    }
    const section = (text: string) => text.split('\n\n').find((b) => b.includes('# TYPE dnsd_request_duration_seconds '))?.trimEnd();
    expect(section(await ours.metrics())).toBe(section(await ref.metrics()));
  });

  it('counts every query once across scrapes', async () => {
    const registry = new Registry();
    const m = new DnsMetrics(registry);
    const hit: QueryOutcome = { type: 1, rcode: 0, transport: 'udp', path: 'cache' };
    const nx: QueryOutcome = { type: 28, rcode: 3, transport: 'tcp', path: 'zone' };
    const fwd: QueryOutcome = { type: 1, rcode: 0, transport: 'udp', path: 'forward-cache' };
    const now = () => process.hrtime.bigint();
    for (let i = 0; i < 3; i++) m.observe(hit, now());
    m.observe(nx, now());
    let text = await registry.metrics();
    expect(text).toContain('dnsd_queries_total{type="A",rcode="NOERROR",transport="udp"} 3');
    expect(text).toContain('dnsd_queries_total{type="AAAA",rcode="NXDOMAIN",transport="tcp"} 1');
    expect(text).toContain('dnsd_cache_requests_total{cache="answer",result="hit"} 3');
    expect(text).toContain('dnsd_cache_requests_total{cache="answer",result="miss"} 1');
    expect(text).toContain('dnsd_request_duration_seconds_count{path="cache"} 3');
    m.observe(hit, now());
    m.observe(fwd, now());
    text = await registry.metrics();
    expect(text).toContain('dnsd_queries_total{type="A",rcode="NOERROR",transport="udp"} 5');
    expect(text).toContain('dnsd_queries_total{type="AAAA",rcode="NXDOMAIN",transport="tcp"} 1');
    expect(text).toContain('dnsd_cache_requests_total{cache="answer",result="hit"} 4');
    expect(text).toContain('dnsd_cache_requests_total{cache="forward",result="hit"} 1');
    expect(text).toContain('dnsd_request_duration_seconds_count{path="cache"} 4');
    expect(text).toContain('dnsd_request_duration_seconds_count{path="forward-cache"} 1');
  });
});

describe('recursion ACL decisions', () => {
  it('gives the same answer from its per-address memory as on first sight, past its bound', () => {
    const acl = new RecursionAcl(['10.1.0.0/16', '127.0.0.0/8']);
    const ask = () => [acl.allows('10.1.2.3'), acl.allows('10.2.0.1'), acl.allows('::ffff:127.0.0.1'), acl.allows('::1')];
    expect(ask()).toEqual([true, false, true, false]);
    expect(ask()).toEqual([true, false, true, false]);
    // More sources than it remembers: decisions stay right after the reset.
    for (let i = 0; i < 5000; i++) expect(acl.allows(`10.${i % 2 ? 1 : 3}.${(i >> 8) & 255}.${i & 255}`)).toBe(i % 2 === 1);
    expect(ask()).toEqual([true, false, true, false]);
  });
});

describe('CoreDNS-named series', () => {
  /** Sum of a series' samples whose labels include `match`. */
  async function total(registry: Registry, name: string, match: Record<string, string> = {}): Promise<number> {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    if (!m) throw new Error(`${name} is not exported`);
    return (m.values as { labels: Record<string, string | number>; value: number; metricName?: string }[])
      .filter((v) => !v.metricName || v.metricName === name || v.metricName === `${name}_count`)
      .filter((v) => Object.entries(match).every(([k, want]) => String(v.labels[k]) === want))
      .reduce((n, v) => n + v.value, 0);
  }

  it('count what the dnsd_* series count, with CoreDNS’s labels, across scrapes', async () => {
    const registry = new Registry();
    const m = new DnsMetrics(registry, { server: 'dns://:53' });
    const now = () => process.hrtime.bigint();
    const outcomes: QueryOutcome[] = [
      { type: 1, rcode: 0, transport: 'udp', path: 'cache' },
      { type: 1, rcode: 0, transport: 'udp', path: 'zone' },
      { type: 28, rcode: 3, transport: 'tcp', path: 'cache' },
      { type: 1, rcode: 0, transport: 'udp', path: 'forward' },
      { type: 1, rcode: 5, transport: 'udp', path: 'refused' },
    ];
    for (let round = 0; round < 2; round++) {
      for (const o of outcomes) m.observe(o, now());
      await registry.metrics();
    }
    const text = await registry.metrics();
    expect(await total(registry, 'coredns_dns_requests_total')).toBe(await total(registry, 'dnsd_queries_total'));
    expect(text).toContain('coredns_dns_requests_total{server="dns://:53",zone=".",view="",proto="udp",family="1",type="A"} 8');
    expect(text).toContain('coredns_dns_requests_total{server="dns://:53",zone=".",view="",proto="tcp",family="1",type="AAAA"} 2');
    expect(text).toContain('coredns_dns_responses_total{server="dns://:53",zone=".",view="",rcode="NOERROR",plugin="kubernetes"} 2');
    expect(text).toContain('coredns_dns_responses_total{server="dns://:53",zone=".",view="",rcode="NOERROR",plugin="cache"} 2');
    expect(text).toContain('coredns_dns_responses_total{server="dns://:53",zone=".",view="",rcode="NXDOMAIN",plugin="cache"} 2');
    expect(text).toContain('coredns_dns_responses_total{server="dns://:53",zone=".",view="",rcode="NOERROR",plugin="forward"} 2');
    expect(text).toContain('coredns_dns_responses_total{server="dns://:53",zone=".",view="",rcode="REFUSED",plugin=""} 2');
    // CoreDNS 1.11's duration histogram is per server and zone (no type label), over its TimeBuckets.
    expect(await total(registry, 'coredns_dns_request_duration_seconds')).toBe(10);
    expect(text).toContain('coredns_dns_request_duration_seconds_count{server="dns://:53",zone=".",view=""} 10');
    expect(text.match(/^coredns_dns_request_duration_seconds_bucket\{le="([^"]+)"/gm)?.map((l) => l.slice(l.indexOf('"') + 1, -1))).toEqual([...COREDNS_BOUNDS.map(String), '+Inf']);
    expect(COREDNS_BOUNDS.map(String)).toEqual(['0.00025', '0.0005', '0.001', '0.002', '0.004', '0.008', '0.016', '0.032', '0.064', '0.128', '0.256', '0.512', '1.024', '2.048', '4.096', '8.192']);
    expect(text).toContain('coredns_cache_requests_total{server="dns://:53",zones=".",view=""} 8');
    // Cache: hits are the dnsd answer cache's hits, the NXDOMAIN ones as denials; misses are its misses.
    expect(text).toContain('coredns_cache_hits_total{server="dns://:53",type="success",zones=".",view=""} 2');
    expect(text).toContain('coredns_cache_hits_total{server="dns://:53",type="denial",zones=".",view=""} 2');
    expect(await total(registry, 'coredns_cache_hits_total')).toBe(await total(registry, 'dnsd_cache_requests_total', { result: 'hit' }));
    expect(await total(registry, 'coredns_cache_misses_total')).toBe(await total(registry, 'dnsd_cache_requests_total', { result: 'miss' }));
    expect(text).toMatch(/^coredns_build_info\{version="dnsd-[^"]+",revision="[^"]+",goversion="node-v\d+[^"]*"\} 1$/m);
  });

  it('report cache entries by kind and every upstream exchange by rcode', async () => {
    const registry = new Registry();
    const m = new DnsMetrics(registry);
    m.cacheEntries = () => ({ success: 7, denial: 2 });
    m.forwardExchange('10.0.0.53:53', 0, 0.002);
    m.forwardExchange('10.0.0.53:53', 2, 0.004);
    m.forwardExchange('10.0.0.53:53', undefined, 2);
    const text = await registry.metrics();
    expect(text).toContain('coredns_cache_entries{server="dns://:53",type="success",zones=".",view=""} 7');
    expect(text).toContain('coredns_cache_entries{server="dns://:53",type="denial",zones=".",view=""} 2');
    expect(text).toContain('coredns_forward_requests_total{to="10.0.0.53:53"} 3');
    expect(text).toContain('coredns_forward_responses_total{to="10.0.0.53:53",rcode="NOERROR"} 1');
    expect(text).toContain('coredns_forward_responses_total{to="10.0.0.53:53",rcode="SERVFAIL"} 1');
    expect(text).toContain('coredns_forward_request_duration_seconds_count{to="10.0.0.53:53",rcode="NOERROR"} 1');
    // CoreDNS 1.11's name for the same histogram.
    expect(text).toContain('coredns_proxy_request_duration_seconds_count{proxy_name="forward",to="10.0.0.53:53",rcode="NOERROR"} 1');
    expect(text).toContain('coredns_proxy_request_duration_seconds_bucket{le="0.004",proxy_name="forward",to="10.0.0.53:53",rcode="SERVFAIL"} 1');
    expect(text).toContain('coredns_proxy_request_duration_seconds_bucket{le="0.002",proxy_name="forward",to="10.0.0.53:53",rcode="SERVFAIL"} 0');
  });

  it('label query types as CoreDNS does (unmonitored ones are "other") and IPv6 clients as family 2', async () => {
    const registry = new Registry();
    const m = new DnsMetrics(registry);
    m.record({ type: 33, rcode: 0, transport: 'udp', family: 2, path: 'zone' }, 0.001);
    m.record({ type: 99, rcode: 0, transport: 'tcp', path: 'zone' }, 0.001);
    const text = await registry.metrics();
    expect(text).toContain('coredns_dns_requests_total{server="dns://:53",zone=".",view="",proto="udp",family="2",type="SRV"} 1');
    expect(text).toContain('coredns_dns_requests_total{server="dns://:53",zone=".",view="",proto="tcp",family="1",type="other"} 1');
    expect(text).toContain('dnsd_queries_total{type="TYPE99",rcode="NOERROR",transport="tcp"} 1');
    expect([familyOf('10.1.2.3'), familyOf('::ffff:10.1.2.3'), familyOf('fd00::1'), familyOf('::1')]).toEqual([1, 1, 2, 2]);
  });

  it('export no coredns_* series when told not to, and the same dnsd_* ones', async () => {
    const on = new Registry();
    const off = new Registry();
    const outcomes: QueryOutcome[] = [{ type: 1, rcode: 0, transport: 'udp', path: 'cache' }, { type: 28, rcode: 3, transport: 'tcp', path: 'zone' }];
    for (const [registry, coredns] of [[on, true], [off, false]] as const) {
      const m = new DnsMetrics(registry, { server: 'dns://:53', coredns });
      for (const o of outcomes) m.record(o, 0.0003);
      m.forwardExchange('10.0.0.53:53', 0, 0.002);
    }
    const names = async (r: Registry) => (await r.getMetricsAsJSON()).map((x) => x.name);
    expect((await names(off)).filter((n) => n.startsWith('coredns_'))).toEqual([]);
    expect((await names(on)).filter((n) => n.startsWith('coredns_')).sort()).toEqual([
      'coredns_build_info', 'coredns_cache_entries', 'coredns_cache_hits_total', 'coredns_cache_misses_total', 'coredns_cache_requests_total',
      'coredns_dns_request_duration_seconds', 'coredns_dns_requests_total', 'coredns_dns_responses_total',
      'coredns_forward_request_duration_seconds', 'coredns_forward_requests_total', 'coredns_forward_responses_total', 'coredns_proxy_request_duration_seconds',
    ]);
    const dnsd = async (r: Registry) => (await r.metrics()).split('\n').filter((l) => l.startsWith('dnsd_')).join('\n');
    expect(await dnsd(off)).toBe(await dnsd(on));
  });
});
