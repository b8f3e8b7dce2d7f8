import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createRegistry } from '@pilot/common';
import type { RequestLabels } from './request-labels.js';

const REQUEST_LABELS = ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component'] as const;
type RequestLabel = (typeof REQUEST_LABELS)[number];
const SIZE_LABELS = ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'component'] as const;

/** kube-apiserver's request latency buckets (k8s.io/apiserver/pkg/endpoints/metrics). */
export const REQUEST_DURATION_BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];
/** kube-apiserver's response size buckets: 1 kB × 10^0..7. */
export const RESPONSE_SIZE_BUCKETS = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/** The apiserver's Prometheus metrics (names and labels follow kube-apiserver's). */
export class ApiMetrics {
  readonly registry: Registry;
  readonly requests: Counter<RequestLabel | 'code'>;
  readonly latency: Histogram<RequestLabel>;
  readonly responseSizes: Histogram<(typeof SIZE_LABELS)[number]>;
  readonly inflight: Gauge<'request_kind'>;
  readonly longrunning: Gauge<RequestLabel>;
  readonly watchers: Gauge<'resource'>;
  readonly etcdLatency: Histogram<'operation'>;
  readonly etcdWatches: Gauge;

  constructor() {
    this.registry = createRegistry('apiserver');
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
      labelNames: [...REQUEST_LABELS, 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component (watches: their whole life).',
      labelNames: [...REQUEST_LABELS],
      buckets: REQUEST_DURATION_BUCKETS,
      registers,
    });
    this.responseSizes = new Histogram({
      name: 'apiserver_response_sizes',
      help: 'Response size distribution in bytes for each group, version, verb, resource, subresource, scope and component (GET and LIST).',
      labelNames: [...SIZE_LABELS],
      buckets: RESPONSE_SIZE_BUCKETS,
      registers,
    });
    this.inflight = new Gauge({
      name: 'apiserver_current_inflight_requests',
      help: 'Requests being served now, by kind (readOnly, mutating); long-running ones (watches) are not counted.',
      labelNames: ['request_kind'],
      registers,
    });
    for (const kind of ['readOnly', 'mutating']) this.inflight.set({ request_kind: kind }, 0);
    this.longrunning = new Gauge({ name: 'apiserver_longrunning_requests', help: 'Gauge of all active long-running apiserver requests (watches) by verb, group, version, resource, scope and component.', labelNames: [...REQUEST_LABELS], registers });
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

  /** One finished request: counted, timed (a watch when it ends, as upstream), and sized when a read told its length. */
  observeRequest(l: RequestLabels, code: number, seconds: number, contentLength: number | undefined): void {
    this.requests.labels(l.verb, l.dry_run, l.group, l.version, l.resource, l.subresource, l.scope, l.component, String(code)).inc();
    this.latency.observe(l, seconds);
    if (contentLength !== undefined && (l.verb === 'GET' || l.verb === 'LIST')) this.responseSizes.labels(l.verb, l.group, l.version, l.resource, l.subresource, l.scope, l.component).observe(contentLength);
  }
}
