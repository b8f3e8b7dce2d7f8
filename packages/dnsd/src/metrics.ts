import { buildInfo } from '@pilot/common';
import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';
import type { QueryOutcome } from './handler.js';
import { rcodeName, typeName } from './wire.js';

/**
 * dnsd's Prometheus metrics: queries by type/rcode/transport, latency,
 * cache hits and misses, upstream failures and index size.
 *
 * The per-query counters are plain numbers, handed to prom-client only when
 * /metrics is scraped (its `collect` hook, and a histogram of our own):
 * prom-client hashes the label object on every inc/observe, which under load
 * cost more than answering a query from the cache.
 *
 * The same counts are also exported under CoreDNS's names and labels
 * (`coredns_dns_requests_total`, `coredns_dns_responses_total`,
 * `coredns_dns_request_duration_seconds`, `coredns_cache_*`,
 * `coredns_forward_*`, `coredns_build_info`), so the CoreDNS mixin's alerts
 * and Grafana's CoreDNS dashboards work unchanged. They are filled from the
 * dnsd_* counters at scrape time (one flush feeds both), so a query costs
 * one more histogram observe, nothing else.
 */

/** CoreDNS's labels that dnsd has one value for: its server block (`dns://:53`), zone `.`, no view. */
export interface CorednsLabels {
  server: string;
}

/** CoreDNS's plugin that wrote the response, by dnsd's answer path. */
const PLUGIN: Record<QueryOutcome['path'], string> = { cache: 'cache', zone: 'kubernetes', 'forward-cache': 'cache', forward: 'forward', refused: '', error: '' };
const PATHS = Object.keys(PLUGIN) as QueryOutcome['path'][];
const PATH_INDEX = new Map(PATHS.map((p, i) => [p, i]));
export class DnsMetrics {
  private readonly queries: Counter<'type' | 'rcode' | 'transport'>;
  private readonly latency: LatencyHistogram;
  private readonly cacheEvents: Counter<'cache' | 'result'>;
  readonly upstreamFailures: Counter<'upstream'>;
  readonly indexObjects: Gauge<'kind'>;
  readonly tcpClosed: Counter<'reason'>;
  /** Queries counted since the last scrape, by a numeric type/rcode/transport key. */
  private readonly pendingQueries = new Map<number, { labels: { type: string; rcode: string; transport: string }; plugin: string; n: number }>();
  /** Cache events since the last scrape: answer hit, answer miss, forward hit, forward miss, and hits that were denials (NXDOMAIN). */
  private readonly pendingCache = [0, 0, 0, 0, 0];
  private readonly core: CorednsSeries;

  constructor(registry: Registry, coredns: CorednsLabels = { server: 'dns://:53' }) {
    this.queries = new Counter({
      name: 'dnsd_queries_total',
      help: 'Queries answered, by question type, response code and transport',
      labelNames: ['type', 'rcode', 'transport'],
      registers: [registry],
      collect: () => this.flushQueries(),
    });
    this.core = new CorednsSeries(registry, coredns, () => this.flushQueries(), () => this.flushCache());
    this.latency = new LatencyHistogram(
      'dnsd_request_duration_seconds',
      'Time from packet in to response out, by the path that answered',
      [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 2.5],
    );
    registry.registerMetric(this.latency as unknown as Metric);
    this.cacheEvents = new Counter({
      name: 'dnsd_cache_requests_total',
      help: 'Cache lookups, by cache (answer = cluster zone wire cache, forward = upstream answers) and result',
      labelNames: ['cache', 'result'],
      registers: [registry],
      collect: () => this.flushCache(),
    });
    this.upstreamFailures = new Counter({ name: 'dnsd_upstream_failures_total', help: 'Upstream exchanges that timed out, failed or answered SERVFAIL/REFUSED', labelNames: ['upstream'], registers: [registry] });
    this.tcpClosed = new Counter({
      name: 'dnsd_tcp_closed_total',
      help: 'TCP connections dnsd closed itself, by reason (read-timeout: a message not whole in time; idle-timeout; evicted-idle, evicted-slow: made room at the connection cap)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.indexObjects = new Gauge({ name: 'dnsd_index_objects', help: 'Objects in the record index, by kind', labelNames: ['kind'], registers: [registry] });
  }

  observe(o: QueryOutcome, startedAt: bigint): void {
    // type < 2^16, rcode < 2^12, 6 paths: the key stays an exact small integer.
    const key = ((o.type * 4096 + o.rcode) * 2 + (o.transport === 'tcp' ? 1 : 0)) * 8 + PATH_INDEX.get(o.path)!;
    let cell = this.pendingQueries.get(key);
    if (!cell) {
      cell = { labels: { type: typeName(o.type), rcode: rcodeName(o.rcode), transport: o.transport }, plugin: PLUGIN[o.path], n: 0 };
      this.pendingQueries.set(key, cell);
    }
    cell.n++;
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    this.latency.observe(o.path, seconds);
    this.core.latency.observe(cell.labels.type, seconds);
    const c = CACHE_EVENT[o.path];
    if (c !== undefined) {
      this.pendingCache[c]!++;
      if ((c === 0 || c === 2) && o.rcode === 3) this.pendingCache[4]!++;
    }
  }

  /** Where coredns_cache_entries reads the caches' sizes from (set once the caches exist). */
  set cacheEntries(f: () => { success: number; denial: number }) {
    this.core.cacheEntries = f;
  }

  /** One upstream exchange, for coredns_forward_*: its rcode (undefined: no answer) and duration. */
  forwardExchange(to: string, rcode: number | undefined, seconds: number): void {
    this.core.forward(to, rcode, seconds);
  }

  setIndexSize(c: { services: number; endpoints: number; namespaces: number }): void {
    this.indexObjects.labels('services').set(c.services);
    this.indexObjects.labels('endpoints').set(c.endpoints);
    this.indexObjects.labels('namespaces').set(c.namespaces);
  }

  private flushQueries(): void {
    for (const cell of this.pendingQueries.values()) {
      if (cell.n === 0) continue;
      this.queries.inc(cell.labels, cell.n);
      this.core.countQueries(cell.labels, cell.plugin, cell.n);
      cell.n = 0;
    }
  }

  private flushCache(): void {
    const [answerHit, answerMiss, forwardHit, forwardMiss, denials] = this.pendingCache as [number, number, number, number, number];
    this.core.countCache(answerHit + forwardHit, denials, answerMiss + forwardMiss);
    for (let i = 0; i < CACHE_LABELS.length; i++) {
      const n = this.pendingCache[i]!;
      if (n === 0) continue;
      this.cacheEvents.inc(CACHE_LABELS[i]!, n);
    }
    this.pendingCache.fill(0);
  }
}

/**
 * CoreDNS's series with CoreDNS's label sets (1.11: metrics, cache and
 * forward plugins), fed by DnsMetrics' flushes and the forwarder.
 */
class CorednsSeries {
  readonly latency: LatencyHistogram;
  cacheEntries: () => { success: number; denial: number } = () => ({ success: 0, denial: 0 });
  private readonly requests: Counter<'server' | 'zone' | 'view' | 'proto' | 'family' | 'type'>;
  private readonly responses: Counter<'server' | 'zone' | 'view' | 'rcode' | 'plugin'>;
  private readonly cacheHits: Counter<'server' | 'type' | 'zones' | 'view'>;
  private readonly cacheMisses: Counter<'server' | 'zones' | 'view'>;
  private readonly forwardRequests: Counter<'to'>;
  private readonly forwardResponses: Counter<'to' | 'rcode'>;
  private readonly forwardDuration: Histogram<'to' | 'rcode'>;

  constructor(
    registry: Registry,
    private readonly at: CorednsLabels,
    flushQueries: () => void,
    flushCache: () => void,
  ) {
    const registers = [registry];
    this.requests = new Counter({ name: 'coredns_dns_requests_total', help: 'Counter of DNS requests made per zone, protocol and family.', labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'], registers, collect: flushQueries });
    this.responses = new Counter({ name: 'coredns_dns_responses_total', help: 'Counter of response status codes.', labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'], registers, collect: flushQueries });
    // CoreDNS's plugin.TimeBuckets: exponential from 0.25 ms, doubling, 16 buckets.
    this.latency = new LatencyHistogram('coredns_dns_request_duration_seconds', 'Histogram of the time (in seconds) each request took.', Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i), 'type', { server: at.server, zone: '.', view: '' });
    registry.registerMetric(this.latency as unknown as Metric);
    this.cacheHits = new Counter({ name: 'coredns_cache_hits_total', help: 'The count of cache hits.', labelNames: ['server', 'type', 'zones', 'view'], registers, collect: flushCache });
    this.cacheMisses = new Counter({ name: 'coredns_cache_misses_total', help: 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', labelNames: ['server', 'zones', 'view'], registers, collect: flushCache });
    const entries: Gauge<'server' | 'type' | 'zones' | 'view'> = new Gauge({
      name: 'coredns_cache_entries',
      help: 'The number of elements in the cache.',
      labelNames: ['server', 'type', 'zones', 'view'],
      registers,
      collect: () => {
        const e = this.cacheEntries();
        entries.set({ server: at.server, type: 'success', zones: '.', view: '' }, e.success);
        entries.set({ server: at.server, type: 'denial', zones: '.', view: '' }, e.denial);
      },
    });
    this.forwardRequests = new Counter({ name: 'coredns_forward_requests_total', help: 'Counter of requests made per upstream.', labelNames: ['to'], registers });
    this.forwardResponses = new Counter({ name: 'coredns_forward_responses_total', help: 'Counter of responses received per upstream.', labelNames: ['to', 'rcode'], registers });
    this.forwardDuration = new Histogram({ name: 'coredns_forward_request_duration_seconds', help: 'Histogram of the time each request took.', labelNames: ['to', 'rcode'], buckets: Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i), registers });
    const info = buildInfo();
    new Gauge({ name: 'coredns_build_info', help: 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.', labelNames: ['version', 'revision', 'goversion'], registers })
      .labels(`dnsd-${info.version}`, info.gitCommit, `node-${process.version}`)
      .set(1);
  }

  countQueries(labels: { type: string; rcode: string; transport: string }, plugin: string, n: number): void {
    const { server } = this.at;
    this.requests.inc({ server, zone: '.', view: '', proto: labels.transport, family: '1', type: labels.type }, n);
    this.responses.inc({ server, zone: '.', view: '', rcode: labels.rcode, plugin }, n);
  }

  countCache(hits: number, denials: number, misses: number): void {
    const { server } = this.at;
    if (hits - denials > 0) this.cacheHits.inc({ server, type: 'success', zones: '.', view: '' }, hits - denials);
    if (denials > 0) this.cacheHits.inc({ server, type: 'denial', zones: '.', view: '' }, denials);
    if (misses > 0) this.cacheMisses.inc({ server, zones: '.', view: '' }, misses);
  }

  forward(to: string, rcode: number | undefined, seconds: number): void {
    this.forwardRequests.inc({ to });
    if (rcode === undefined) return;
    const name = rcodeName(rcode);
    this.forwardResponses.inc({ to, rcode: name });
    this.forwardDuration.observe({ to, rcode: name }, seconds);
  }
}

const CACHE_EVENT: Partial<Record<QueryOutcome['path'], number>> = { cache: 0, zone: 1, 'forward-cache': 2, forward: 3 };
const CACHE_LABELS = [
  { cache: 'answer', result: 'hit' },
  { cache: 'answer', result: 'miss' },
  { cache: 'forward', result: 'hit' },
  { cache: 'forward', result: 'miss' },
];

interface Series {
  labels: Record<string, string>;
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

interface Sample {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
  exemplar?: null;
}

/**
 * A histogram with one varying label (`path` unless told) and optional
 * constant ones, observed with an array index and an add; it speaks
 * prom-client's metric interface (get / getForPromString / reset) and prints
 * exactly as a prom-client Histogram with the same buckets.
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: number[],
    private readonly labelName = 'path',
    private readonly constLabels: Record<string, string> = {},
  ) {}

  observe(value: string, seconds: number): void {
    let s = this.series.get(value);
    if (!s) {
      s = { labels: { ...this.constLabels, [this.labelName]: value }, buckets: new Array<number>(this.upperBounds.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(value, s);
    }
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    s.buckets[i]!++;
    s.sum += seconds;
    s.count++;
  }

  getForPromString(): { name: string; help: string; type: string; values: Sample[]; aggregator: string } {
    const values: Sample[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        acc += s.buckets[i]!;
        values.push({ labels: { le: this.upperBounds[i]! }, sharedLabels: s.labels, value: acc, metricName: `${this.name}_bucket`, exemplar: null });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_bucket`, exemplar: null });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's get(): the shared labels merged into each sample's labels. */
  get(): { name: string; help: string; type: string; values: Omit<Sample, 'sharedLabels'>[]; aggregator: string } {
    const data = this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })),
    };
  }

  reset(): void {
    this.series.clear();
  }
}
