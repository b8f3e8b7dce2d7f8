import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Per-service metrics of the userspace proxy. Active connections and bytes
 * are read from the live sockets when Prometheus scrapes (no per-chunk
 * bookkeeping on the data path); failures are counted as they happen.
 */

export interface ServiceTraffic {
  service: string;
  protocol: 'TCP' | 'UDP';
  /** Open TCP connections, or live UDP sessions. */
  active: number;
  /** Bytes from clients towards backends. */
  bytesIn: number;
  /** Bytes from backends back to clients. */
  bytesOut: number;
}

export interface UserspaceMetrics {
  connectFailures: Counter<'service'>;
  refused: Counter<'service' | 'reason'>;
}

export function createUserspaceMetrics(registry: Registry, traffic: () => Iterable<ServiceTraffic>): UserspaceMetrics {
  new Gauge({
    name: 'svcproxy_userspace_active_connections',
    help: 'Open proxied TCP connections / live UDP sessions per service port',
    labelNames: ['service', 'protocol'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of traffic()) this.set({ service: t.service, protocol: t.protocol }, t.active);
    },
  });
  new Counter({
    name: 'svcproxy_userspace_bytes_total',
    help: 'Bytes proxied per service port; direction "in" is client to backend',
    labelNames: ['service', 'protocol', 'direction'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of traffic()) {
        this.inc({ service: t.service, protocol: t.protocol, direction: 'in' }, t.bytesIn);
        this.inc({ service: t.service, protocol: t.protocol, direction: 'out' }, t.bytesOut);
      }
    },
  });
  return {
    connectFailures: new Counter({
      name: 'svcproxy_userspace_connect_failures_total',
      help: 'Failed connects to a backend endpoint (each attempt) per service port',
      labelNames: ['service'] as const,
      registers: [registry],
    }),
    refused: new Counter({
      name: 'svcproxy_userspace_refused_total',
      help: 'Client connections / datagrams the proxy could not serve, by reason (no-endpoints, all-failed, fd-limit, per-source-limit)',
      labelNames: ['service', 'reason'] as const,
      registers: [registry],
    }),
  };
}
