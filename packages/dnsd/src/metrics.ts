import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
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
 */
export class DnsMetrics {
  private readonly queries: Counter<'type' | 'rcode' | 'transport'>;
  private readonly latency: LatencyHistogram;
  private readonly cacheEvents: Counter<'cache' | 'result'>;
  readonly upstreamFailures: Counter<'upstream'>;
  readonly indexObjects: Gauge<'kind'>;
  readonly tcpClosed: Counter<'reason'>;
  /** Queries counted since the last scrape, by a numeric type/rcode/transport key. */
  private readonly pendingQueries = new Map<number, { labels: { type: string; rcode: string; transport: string }; n: number }>();
  /** Cache events since the last scrape: answer hit, answer miss, forward hit, forward miss. */
  private readonly pendingCache = [0, 0, 0, 0];

  constructor(registry: Registry) {
    this.queries = new Counter({
      name: 'dnsd_queries_total',
      help: 'Queries answered, by question type, response code and transport',
      labelNames: ['type', 'rcode', 'transport'],
      registers: [registry],
      collect: () => this.flushQueries(),
    });
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
    // type < 2^16, rcode < 2^12: the key stays an exact small integer.
    const key = (o.type * 4096 + o.rcode) * 2 + (o.transport === 'tcp' ? 1 : 0);
    let cell = this.pendingQueries.get(key);
    if (!cell) {
      cell = { labels: { type: typeName(o.type), rcode: rcodeName(o.rcode), transport: o.transport }, n: 0 };
      this.pendingQueries.set(key, cell);
    }
    cell.n++;
    this.latency.observe(o.path, Number(process.hrtime.bigint() - startedAt) / 1e9);
    const c = CACHE_EVENT[o.path];
    if (c !== undefined) this.pendingCache[c]!++;
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
      cell.n = 0;
    }
  }

  private flushCache(): void {
    for (let i = 0; i < CACHE_LABELS.length; i++) {
      const n = this.pendingCache[i]!;
      if (n === 0) continue;
      this.cacheEvents.inc(CACHE_LABELS[i]!, n);
      this.pendingCache[i] = 0;
    }
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
  labels: { path: string };
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
 * A histogram with one label, `path`, observed with an array index and an
 * add; it speaks prom-client's metric interface (get / getForPromString /
 * reset) and prints exactly as a prom-client Histogram with the same buckets.
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: number[],
  ) {}

  observe(path: string, seconds: number): void {
    let s = this.series.get(path);
    if (!s) {
      s = { labels: { path }, buckets: new Array<number>(this.upperBounds.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(path, s);
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
