import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { QueryOutcome } from './handler.js';
import { rcodeName, typeName } from './wire.js';

/**
 * dnsd's Prometheus metrics: queries by type/rcode/transport, latency,
 * cache hits and misses, upstream failures and index size. Label children are
 * memoised so the per-query cost is a map lookup and an add.
 */
export class DnsMetrics {
  private readonly queries: Counter<'type' | 'rcode' | 'transport'>;
  private readonly latency: Histogram<'path'>;
  private readonly cacheEvents: Counter<'cache' | 'result'>;
  readonly upstreamFailures: Counter<'upstream'>;
  readonly indexObjects: Gauge<'kind'>;
  private readonly children = new Map<string, { inc: () => void }>();
  private readonly latencyChildren = new Map<string, { observe: (v: number) => void }>();

  constructor(registry: Registry) {
    this.queries = new Counter({ name: 'dnsd_queries_total', help: 'Queries answered, by question type, response code and transport', labelNames: ['type', 'rcode', 'transport'], registers: [registry] });
    this.latency = new Histogram({
      name: 'dnsd_request_duration_seconds',
      help: 'Time from packet in to response out, by the path that answered',
      labelNames: ['path'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 2.5],
      registers: [registry],
    });
    this.cacheEvents = new Counter({ name: 'dnsd_cache_requests_total', help: 'Cache lookups, by cache (answer = cluster zone wire cache, forward = upstream answers) and result', labelNames: ['cache', 'result'], registers: [registry] });
    this.upstreamFailures = new Counter({ name: 'dnsd_upstream_failures_total', help: 'Upstream exchanges that timed out, failed or answered SERVFAIL/REFUSED', labelNames: ['upstream'], registers: [registry] });
    this.indexObjects = new Gauge({ name: 'dnsd_index_objects', help: 'Objects in the record index, by kind', labelNames: ['kind'], registers: [registry] });
  }

  observe(o: QueryOutcome, startedAt: bigint): void {
    const key = `${o.type}|${o.rcode}|${o.transport}`;
    let child = this.children.get(key);
    if (!child) {
      child = this.queries.labels(typeName(o.type), rcodeName(o.rcode), o.transport);
      this.children.set(key, child);
    }
    child.inc();
    let lat = this.latencyChildren.get(o.path);
    if (!lat) {
      lat = this.latency.labels(o.path);
      this.latencyChildren.set(o.path, lat);
    }
    lat.observe(Number(process.hrtime.bigint() - startedAt) / 1e9);
    if (o.path === 'cache') this.cacheEvents.labels('answer', 'hit').inc();
    else if (o.path === 'zone') this.cacheEvents.labels('answer', 'miss').inc();
    else if (o.path === 'forward-cache') this.cacheEvents.labels('forward', 'hit').inc();
    else if (o.path === 'forward') this.cacheEvents.labels('forward', 'miss').inc();
  }

  setIndexSize(c: { services: number; endpoints: number; namespaces: number }): void {
    this.indexObjects.labels('services').set(c.services);
    this.indexObjects.labels('endpoints').set(c.endpoints);
    this.indexObjects.labels('namespaces').set(c.namespaces);
  }
}
