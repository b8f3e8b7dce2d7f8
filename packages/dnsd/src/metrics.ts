import { buildInfo } from '@pilot/common';
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import type { QueryOutcome } from './handler.js';
import { rcodeName, typeName } from './wire.js';

/**
 * dnsd's Prometheus metrics: queries by type/rcode/transport, latency,
 * cache hits and misses, upstream failures and index size — and the same
 * counts under CoreDNS's names and labels, so the CoreDNS mixin's alerts and
 * Grafana's CoreDNS dashboards work unchanged.
 *
 * A query costs one map lookup and a few additions, whichever series are
 * exported: it lands in one cell per (type, rcode, transport, family, path)
 * holding plain numbers — a count and a latency histogram over the union of
 * dnsd's and CoreDNS's bucket bounds. Every series, dnsd_* and coredns_*,
 * is computed from those cells when /metrics is scraped, so exporting
 * CoreDNS's names adds nothing per query (bench/dnsd measures it). prom-client
 * is kept off the query path: it hashes the label object on every
 * inc/observe, which under load cost more than answering from the cache.
 *
 * CoreDNS's series are those of CoreDNS 1.11 (plugin/metrics/vars,
 * plugin/cache, plugin/pkg/proxy), labels included; the forward plugin's
 * coredns_forward_* series, which 1.11 replaced by coredns_proxy_*, are
 * exported too, because the CoreDNS mixin's forward alerts and most
 * dashboards still read them.
 */

/** Where dnsd's metrics go, and whether CoreDNS's names are exported beside dnsd's. */
export interface MetricsOptions {
  /** CoreDNS's server label: the server block's address (`dns://:53`). */
  server: string;
  /** Export the coredns_* series (default true). */
  coredns?: boolean;
}

/** CoreDNS's plugin that wrote the response, by dnsd's answer path. */
const PLUGIN: Record<QueryOutcome['path'], string> = { cache: 'cache', zone: 'kubernetes', 'forward-cache': 'cache', forward: 'forward', refused: '', error: '' };
const PATHS = Object.keys(PLUGIN) as QueryOutcome['path'][];
const PATH_INDEX = new Map(PATHS.map((p, i) => [p, i]));

/** dnsd_request_duration_seconds' bounds. */
const DNSD_BOUNDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 2.5];
/** CoreDNS's plugin.TimeBuckets: exponential from 0.25 ms, doubling, 16 buckets (to 8.192 s). */
export const COREDNS_BOUNDS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);
/** Every bound of both, so each exported histogram is an exact sum of cell buckets. */
const CELL_BOUNDS = [...new Set([...DNSD_BOUNDS, ...COREDNS_BOUNDS])].sort((a, b) => a - b);

/** Query types CoreDNS's metrics name (plugin/metrics/vars/monitor.go); any other is `other`. */
const COREDNS_TYPES = new Map<number, string>([
  [1, 'A'], [2, 'NS'], [5, 'CNAME'], [6, 'SOA'], [12, 'PTR'], [15, 'MX'], [16, 'TXT'], [28, 'AAAA'], [33, 'SRV'],
  [43, 'DS'], [46, 'RRSIG'], [47, 'NSEC'], [48, 'DNSKEY'], [50, 'NSEC3'], [65, 'HTTPS'], [251, 'IXFR'], [252, 'AXFR'], [255, 'ANY'],
]);

/** One kind of query, counted since start. */
interface QueryCell {
  type: string;
  corednsType: string;
  rcode: string;
  rcodeValue: number;
  transport: string;
  family: string;
  path: QueryOutcome['path'];
  plugin: string;
  n: number;
  /** Per-bucket (not cumulative) counts over CELL_BOUNDS; the last slot is +Inf. */
  buckets: number[];
  sum: number;
}

/** One upstream and rcode (undefined: no answer), counted since start. */
interface ForwardCell {
  to: string;
  rcode: string | undefined;
  n: number;
  /** Per-bucket counts over COREDNS_BOUNDS; the last slot is +Inf. */
  buckets: number[];
  sum: number;
}

/** A sample as prom-client's registry prints it. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * A series whose samples are computed when scraped. It speaks prom-client's
 * metric interface (get, reset), so a Registry prints it beside its own.
 */
export class ComputedMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly read: () => Sample[],
  ) {}

  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: string } {
    return { name: this.name, help: this.help, type: this.type, values: this.read(), aggregator: this.aggregator };
  }

  /** Computed from dnsd's own counters: nothing to reset. */
  reset(): void {}
}

/** Samples of one histogram per group of cells: `_bucket` at each of `bounds`, +Inf, `_sum`, `_count`. */
function histogramSamples<C>(
  name: string,
  groups: Iterable<{ labels: Record<string, string>; cells: C[] }>,
  bounds: readonly number[],
  cellBounds: readonly number[],
  of: (c: C) => { buckets: number[]; sum: number; n: number },
): Sample[] {
  // Which exported bucket each cell bucket falls in (every bound is a cell bound, so this is exact).
  const into = cellBounds.map((b) => bounds.findIndex((x) => x >= b));
  const out: Sample[] = [];
  for (const g of groups) {
    const per = new Array<number>(bounds.length).fill(0);
    let sum = 0;
    let count = 0;
    for (const c of g.cells) {
      const h = of(c);
      for (let i = 0; i < cellBounds.length; i++) if (h.buckets[i]! > 0 && into[i]! >= 0) per[into[i]!]! += h.buckets[i]!;
      sum += h.sum;
      count += h.n;
    }
    let acc = 0;
    for (let i = 0; i < bounds.length; i++) {
      acc += per[i]!;
      out.push({ labels: { le: bounds[i]!, ...g.labels }, value: acc, metricName: `${name}_bucket` });
    }
    out.push({ labels: { le: '+Inf', ...g.labels }, value: count, metricName: `${name}_bucket` });
    out.push({ labels: g.labels, value: sum, metricName: `${name}_sum` });
    out.push({ labels: g.labels, value: count, metricName: `${name}_count` });
  }
  return out;
}

/** Cells grouped by the labels `by` gives each. */
function groupBy<C>(cells: Iterable<C>, by: (c: C) => Record<string, string> | undefined): { labels: Record<string, string>; cells: C[] }[] {
  const groups = new Map<string, { labels: Record<string, string>; cells: C[] }>();
  for (const c of cells) {
    const labels = by(c);
    if (!labels) continue;
    const key = Object.values(labels).join('\0');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, cells: [] }));
    g.cells.push(c);
  }
  return [...groups.values()];
}

function counterSamples<C>(cells: Iterable<C>, by: (c: C) => Record<string, string> | undefined, n: (c: C) => number): Sample[] {
  return groupBy(cells, by).map((g) => ({ labels: g.labels, value: g.cells.reduce((s, c) => s + n(c), 0) }));
}

/** dnsd's answer cache and forward cache, by the path that answered. */
const CACHE_OF: Partial<Record<QueryOutcome['path'], { cache: string; result: 'hit' | 'miss' }>> = {
  cache: { cache: 'answer', result: 'hit' },
  zone: { cache: 'answer', result: 'miss' },
  'forward-cache': { cache: 'forward', result: 'hit' },
  forward: { cache: 'forward', result: 'miss' },
};

export class DnsMetrics {
  readonly upstreamFailures: Counter<'upstream'>;
  readonly indexObjects: Gauge<'kind'>;
  readonly tcpClosed: Counter<'reason'>;
  private readonly cells = new Map<number, QueryCell>();
  private readonly forwards = new Map<string, ForwardCell>();
  private entries: () => { success: number; denial: number } = () => ({ success: 0, denial: 0 });

  constructor(registry: Registry, opts: MetricsOptions = { server: 'dns://:53' }) {
    const cells = () => this.cells.values();
    const add = (m: ComputedMetric) => registry.registerMetric(m as unknown as Metric);
    add(new ComputedMetric('dnsd_queries_total', 'Queries answered, by question type, response code and transport', 'counter', () =>
      counterSamples(cells(), (c) => ({ type: c.type, rcode: c.rcode, transport: c.transport }), (c) => c.n)));
    add(new ComputedMetric('dnsd_request_duration_seconds', 'Time from packet in to response out, by the path that answered', 'histogram', () =>
      histogramSamples('dnsd_request_duration_seconds', groupBy(cells(), (c) => ({ path: c.path })), DNSD_BOUNDS, CELL_BOUNDS, (c) => c)));
    add(new ComputedMetric('dnsd_cache_requests_total', 'Cache lookups, by cache (answer = cluster zone wire cache, forward = upstream answers) and result', 'counter', () =>
      counterSamples(cells(), (c) => CACHE_OF[c.path], (c) => c.n)));
    this.upstreamFailures = new Counter({ name: 'dnsd_upstream_failures_total', help: 'Upstream exchanges that timed out, failed or answered SERVFAIL/REFUSED', labelNames: ['upstream'], registers: [registry] });
    this.tcpClosed = new Counter({
      name: 'dnsd_tcp_closed_total',
      help: 'TCP connections dnsd closed itself, by reason (read-timeout: a message not whole in time; idle-timeout; evicted-idle, evicted-slow: made room at the connection cap)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.indexObjects = new Gauge({ name: 'dnsd_index_objects', help: 'Objects in the record index, by kind', labelNames: ['kind'], registers: [registry] });
    if (opts.coredns !== false) this.registerCoredns(registry, opts.server);
  }

  /** One answered (or refused) query, timed from `startedAt` (process.hrtime.bigint()). */
  observe(o: QueryOutcome, startedAt: bigint): void {
    this.record(o, Number(process.hrtime.bigint() - startedAt) / 1e9);
  }

  /** One query that took `seconds`: a lookup and a few additions, nothing else. */
  record(o: QueryOutcome, seconds: number): void {
    const family = o.family ?? 1;
    // type < 2^16, rcode < 2^12, 2 transports, 2 families, 6 paths: the key stays an exact small integer.
    const key = ((((o.type * 4096 + o.rcode) * 2 + (o.transport === 'tcp' ? 1 : 0)) * 2 + family - 1) * 8) + PATH_INDEX.get(o.path)!;
    let cell = this.cells.get(key);
    if (!cell) {
      cell = {
        type: typeName(o.type),
        corednsType: COREDNS_TYPES.get(o.type) ?? 'other',
        rcode: rcodeName(o.rcode),
        rcodeValue: o.rcode,
        transport: o.transport,
        family: String(family),
        path: o.path,
        plugin: PLUGIN[o.path],
        n: 0,
        buckets: new Array<number>(CELL_BOUNDS.length + 1).fill(0),
        sum: 0,
      };
      this.cells.set(key, cell);
    }
    let i = 0;
    while (i < CELL_BOUNDS.length && seconds > CELL_BOUNDS[i]!) i++;
    cell.buckets[i]!++;
    cell.sum += seconds;
    cell.n++;
  }

  /** Where coredns_cache_entries reads the caches' sizes from (set once the caches exist). */
  set cacheEntries(f: () => { success: number; denial: number }) {
    this.entries = f;
  }

  /** One upstream exchange: its rcode (undefined: no answer) and duration. */
  forwardExchange(to: string, rcode: number | undefined, seconds: number): void {
    const key = `${to}|${rcode ?? ''}`;
    let cell = this.forwards.get(key);
    if (!cell) this.forwards.set(key, (cell = { to, rcode: rcode === undefined ? undefined : rcodeName(rcode), n: 0, buckets: new Array<number>(COREDNS_BOUNDS.length + 1).fill(0), sum: 0 }));
    let i = 0;
    while (i < COREDNS_BOUNDS.length && seconds > COREDNS_BOUNDS[i]!) i++;
    cell.buckets[i]!++;
    cell.sum += seconds;
    cell.n++;
  }

  setIndexSize(c: { services: number; endpoints: number; namespaces: number }): void {
    this.indexObjects.labels('services').set(c.services);
    this.indexObjects.labels('endpoints').set(c.endpoints);
    this.indexObjects.labels('namespaces').set(c.namespaces);
  }

  /**
   * CoreDNS 1.11's series for a `.:53 { kubernetes … forward … cache … }`
   * server block: zone `.`, no view; the cache plugin's hits are dnsd's
   * answer- and forward-cache hits (NXDOMAIN ones as denials), its misses the
   * answers built from the index or fetched upstream.
   */
  private registerCoredns(registry: Registry, server: string): void {
    const cells = () => this.cells.values();
    const forwards = () => [...this.forwards.values()];
    const answered = () => forwards().filter((f) => f.rcode !== undefined);
    const at = { server, zone: '.', view: '' };
    const cacheAt = { server, zones: '.', view: '' };
    const add = (m: ComputedMetric) => registry.registerMetric(m as unknown as Metric);
    add(new ComputedMetric('coredns_dns_requests_total', 'Counter of DNS requests made per zone, protocol and family.', 'counter', () =>
      counterSamples(cells(), (c) => ({ ...at, proto: c.transport, family: c.family, type: c.corednsType }), (c) => c.n)));
    add(new ComputedMetric('coredns_dns_responses_total', 'Counter of response status codes.', 'counter', () =>
      counterSamples(cells(), (c) => ({ ...at, rcode: c.rcode, plugin: c.plugin }), (c) => c.n)));
    add(new ComputedMetric('coredns_dns_request_duration_seconds', 'Histogram of the time (in seconds) each request took per zone.', 'histogram', () =>
      this.cells.size === 0 ? [] : histogramSamples('coredns_dns_request_duration_seconds', [{ labels: at, cells: [...cells()] }], COREDNS_BOUNDS, CELL_BOUNDS, (c) => c)));
    const hit = (c: QueryCell) => c.path === 'cache' || c.path === 'forward-cache';
    const miss = (c: QueryCell) => c.path === 'zone' || c.path === 'forward';
    add(new ComputedMetric('coredns_cache_requests_total', 'The count of cache requests.', 'counter', () =>
      counterSamples(cells(), (c) => (hit(c) || miss(c) ? cacheAt : undefined), (c) => c.n)));
    add(new ComputedMetric('coredns_cache_hits_total', 'The count of cache hits.', 'counter', () =>
      counterSamples(cells(), (c) => (hit(c) ? { server, type: c.rcodeValue === 3 ? 'denial' : 'success', zones: '.', view: '' } : undefined), (c) => c.n)));
    add(new ComputedMetric('coredns_cache_misses_total', 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', 'counter', () =>
      counterSamples(cells(), (c) => (miss(c) ? cacheAt : undefined), (c) => c.n)));
    add(new ComputedMetric('coredns_cache_entries', 'The number of elements in the cache.', 'gauge', () => {
      const e = this.entries();
      return [
        { labels: { server, type: 'success', zones: '.', view: '' }, value: e.success },
        { labels: { server, type: 'denial', zones: '.', view: '' }, value: e.denial },
      ];
    }));
    add(new ComputedMetric('coredns_proxy_request_duration_seconds', 'Histogram of the time each request took.', 'histogram', () =>
      histogramSamples('coredns_proxy_request_duration_seconds', groupBy(answered(), (f) => ({ proxy_name: 'forward', to: f.to, rcode: f.rcode! })), COREDNS_BOUNDS, COREDNS_BOUNDS, (f) => f)));
    // The forward plugin's series before 1.11 (still what the CoreDNS mixin's forward alerts read).
    add(new ComputedMetric('coredns_forward_requests_total', 'Counter of requests made per upstream.', 'counter', () =>
      counterSamples(forwards(), (f) => ({ to: f.to }), (f) => f.n)));
    add(new ComputedMetric('coredns_forward_responses_total', 'Counter of responses received per upstream.', 'counter', () =>
      counterSamples(answered(), (f) => ({ to: f.to, rcode: f.rcode! }), (f) => f.n)));
    add(new ComputedMetric('coredns_forward_request_duration_seconds', 'Histogram of the time each request took.', 'histogram', () =>
      histogramSamples('coredns_forward_request_duration_seconds', groupBy(answered(), (f) => ({ to: f.to, rcode: f.rcode! })), COREDNS_BOUNDS, COREDNS_BOUNDS, (f) => f)));
    const info = buildInfo();
    add(new ComputedMetric('coredns_build_info', 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.', 'gauge', () => [
      { labels: { version: `dnsd-${info.version}`, revision: info.gitCommit, goversion: `node-${process.version}` }, value: 1 },
    ]));
  }
}
