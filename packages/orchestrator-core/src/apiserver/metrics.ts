import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createRegistry } from '@pilot/common';

/** The apiserver's Prometheus metrics (names follow kube-apiserver's). */
export class ApiMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'verb' | 'resource' | 'code'>;
  readonly latency: Histogram<'verb' | 'resource'>;
  readonly watchers: Gauge<'resource'>;
  readonly etcdLatency: Histogram<'operation'>;
  readonly etcdWatches: Gauge;

  constructor() {
    this.registry = createRegistry('apiserver');
    const registers = [this.registry];
    this.requests = new Counter({ name: 'apiserver_request_total', help: 'Requests by verb, resource and HTTP code', labelNames: ['verb', 'resource', 'code'], registers });
    this.latency = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Request latency (watches: until the stream opened)',
      labelNames: ['verb', 'resource'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.watchers = new Gauge({ name: 'apiserver_registered_watchers', help: 'Open HTTP watch streams', labelNames: ['resource'], registers });
    this.etcdLatency = new Histogram({
      name: 'etcd_request_duration_seconds',
      help: 'etcd request latency by operation',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.etcdWatches = new Gauge({ name: 'apiserver_etcd_watches', help: 'etcd watches the watch caches hold open', registers });
  }
}
