import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** kube-proxy's metric names where one exists (subsystem `kubeproxy`), svcproxy_ for the rest. */
export interface ProxierMetrics {
  syncDuration: Histogram;
  fullSyncDuration: Histogram;
  partialSyncDuration: Histogram;
  lastSyncTimestamp: Gauge;
  lastQueuedTimestamp: Gauge;
  restoreFailures: Counter;
  partialRestoreFailures: Counter;
  serviceChanges: Counter;
  endpointChanges: Counter;
  serviceChangesPending: Gauge;
  endpointChangesPending: Gauge;
  networkProgrammingDuration: Histogram;
  programmedServices: Gauge;
  programmedEndpoints: Gauge;
  syncs: Counter<'kind'>;
}

const buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** kube-proxy's: 0.25 s steps to 0.5 s, 1 s steps to 59 s, 5 s steps to 115 s, 30 s steps to 300 s. */
const range = (start: number, step: number, n: number) => Array.from({ length: n }, (_, i) => start + i * step);
const NETWORK_PROGRAMMING_BUCKETS = [...range(0.25, 0.25, 2), ...range(1, 1, 59), ...range(60, 5, 12), ...range(120, 30, 7)].filter((b, i, a) => a.indexOf(b) === i).sort((a, b) => a - b);

export function createProxierMetrics(registry: Registry): ProxierMetrics {
  const registers = [registry];
  return {
    syncDuration: new Histogram({ name: 'kubeproxy_sync_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds', buckets, registers }),
    fullSyncDuration: new Histogram({ name: 'kubeproxy_sync_full_proxy_rules_duration_seconds', help: 'Full SyncProxyRules latency in seconds', buckets, registers }),
    partialSyncDuration: new Histogram({ name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds', help: 'Partial SyncProxyRules latency in seconds', buckets, registers }),
    lastSyncTimestamp: new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'The last time proxy rules were successfully synced', registers }),
    lastQueuedTimestamp: new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', help: 'The last time a sync of proxy rules was queued', registers }),
    restoreFailures: new Counter({ name: 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total', help: 'Cumulative proxy iptables restore failures', registers }),
    partialRestoreFailures: new Counter({ name: 'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total', help: 'Cumulative proxy iptables partial restore failures', registers }),
    serviceChanges: new Counter({ name: 'kubeproxy_sync_proxy_rules_service_changes_total', help: 'Cumulative proxy rules Service changes', registers }),
    endpointChanges: new Counter({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', help: 'Cumulative proxy rules Endpoint changes', registers }),
    serviceChangesPending: new Gauge({ name: 'kubeproxy_sync_proxy_rules_service_changes_pending', help: 'Pending proxy rules Service changes', registers }),
    endpointChangesPending: new Gauge({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending', help: 'Pending proxy rules Endpoint changes', registers }),
    networkProgrammingDuration: new Histogram({ name: 'kubeproxy_network_programming_duration_seconds', help: 'In Cluster Network Programming Latency in seconds', buckets: NETWORK_PROGRAMMING_BUCKETS, registers }),
    programmedServices: new Gauge({ name: 'svcproxy_programmed_service_ports', help: 'Service ports currently programmed (with or without endpoints)', registers }),
    programmedEndpoints: new Gauge({ name: 'svcproxy_programmed_endpoints', help: 'Endpoints currently programmed (KUBE-SEP chains)', registers }),
    syncs: new Counter({ name: 'svcproxy_syncs_total', help: 'Syncs by kind (full, partial, noop)', labelNames: ['kind'], registers }),
  };
}
