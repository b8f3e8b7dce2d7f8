import { Counter, Gauge, type Registry } from 'prom-client';

/** overlayd's Prometheus metrics, registered on the daemon's registry. */
export class Metrics {
  readonly leasesKnown: Gauge;
  readonly routesProgrammed: Gauge;
  readonly reconcileRepairs: Counter;
  readonly etcdErrors: Counter;
  readonly leaseRenewals: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.leasesKnown = new Gauge({ name: 'overlayd_leases_known', help: 'Subnet leases seen in etcd, this host included', registers });
    this.routesProgrammed = new Gauge({ name: 'overlayd_routes_programmed', help: 'Routes carrying overlayd\'s protocol in the kernel after the last reconcile', registers });
    this.reconcileRepairs = new Counter({
      name: 'overlayd_reconcile_repairs_total',
      help: 'Kernel entries a periodic reconcile had to add or remove (changed by hand, left over, or missed)',
      registers,
    });
    this.etcdErrors = new Counter({ name: 'overlayd_etcd_errors_total', help: 'Failed etcd requests and broken watches', registers });
    this.leaseRenewals = new Counter({ name: 'overlayd_lease_renewals_total', help: 'Successful renewals of this host\'s lease', registers });
  }
}
