import { Histogram, Registry } from 'prom-client';
import { DnsMetrics, LatencyHistogram } from '../src/metrics.js';
import { RecursionAcl } from '../src/acl.js';
import type { QueryOutcome } from '../src/handler.js';

const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 2.5];

describe('metrics', () => {
  it('the latency histogram prints exactly as a prom-client Histogram fed the same values', async () => {
    const ours = new Registry();
    const h = new LatencyHistogram('lat_seconds', 'help text', BUCKETS);
    ours.registerMetric(h as never);
    const ref = new Registry();
    const r = new Histogram({ name: 'lat_seconds', help: 'help text', labelNames: ['path'], buckets: BUCKETS, registers: [ref] });
    const samples: [string, number][] = [
      ['cache', 0.00004],
      ['cache', 0.00005],
      ['zone', 0.0003],
      ['cache', 0.7],
      ['forward', 3],
      ['zone', 2.5],
    ];
    for (const [path, v] of samples) {
      h.observe(path, v);
      r.observe({ path }, v);
    }
    expect(await ours.metrics()).toBe(await ref.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await ref.getMetricsAsJSON());
    h.reset();
    r.reset();
    expect(await ours.metrics()).toBe(await ref.metrics());
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
