import { Counter, Gauge, type Registry } from 'prom-client';

/** overlayd's Prometheus metrics, registered on the daemon's registry. */
export class Metrics {
  readonly leasesKnown: Gauge;
  readonly routesProgrammed: Gauge;
  readonly reconcileRepairs: Counter;
  readonly eventRepairs: Counter;
  readonly etcdErrors: Counter;
  readonly leaseRenewals: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.leasesKnown = new Gauge({ name: 'overlayd_leases_known', help: 'Subnet leases seen in etcd, this host included', registers });
    this.routesProgrammed = new Gauge({ name: 'overlayd_routes_programmed', help: 'Routes carrying overlayd\'s protocol in the kernel after the last reconcile', registers });
    this.reconcileRepairs = new Counter({
      name: 'overlayd_reconcile_repairs_total',
      help: 'Kernel entries, device addresses, devices and iptables chains a reconcile had to put back or remove without a lease event asking for it (changed by hand, left over, or missed), found by the periodic check or after a netlink event',
      registers,
    });
    this.eventRepairs = new Counter({
      name: 'overlayd_event_repairs_total',
      help: 'The part of overlayd_reconcile_repairs_total repaired right after a netlink event (entry, device or link state changed behind overlayd\'s back) instead of at the periodic check',
      registers,
    });
    this.etcdErrors = new Counter({ name: 'overlayd_etcd_errors_total', help: 'Failed etcd requests and broken watches', registers });
    this.leaseRenewals = new Counter({ name: 'overlayd_lease_renewals_total', help: 'Successful renewals of this host\'s lease', registers });
  }
}
