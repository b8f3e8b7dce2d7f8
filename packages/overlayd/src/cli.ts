import { Command, goFlagArgv, parseCommandLine, stopSignal, type CommandIO } from '@pilot/common';
import { Overlayd } from './daemon.js';
import { DEFAULTS, parseOptions, type RawFlags } from './flags.js';

/**
 * The overlayd command line, shared by the `overlayd` bin and `pilot overlayd`:
 * flags → running daemon until SIGTERM/SIGINT. Returns the exit code; bad
 * flags throw a one-line FatalError.
 */
export async function runOverlayd(argv: readonly string[], io?: CommandIO): Promise<number> {
  const program = new Command('overlayd')
    .description('Leases a subnet per host from etcd and routes every pod subnet to every host (vxlan or host-gw); writes subnet.env for Docker')
    .option('--etcd-endpoints <urls>', 'comma-separated etcd client URLs', DEFAULTS.etcdEndpoints)
    .option('--etcd-prefix <prefix>', 'etcd prefix holding config and subnets/', DEFAULTS.etcdPrefix)
    .option('--etcd-cafile <path>', 'CA of etcd\'s serving certificate (PEM); with it the endpoints are https://')
    .option('--etcd-certfile <path>', 'client certificate shown to etcd (PEM), for etcd\'s --client-cert-auth')
    .option('--etcd-keyfile <path>', 'key of --etcd-certfile (PEM)')
    .option('--etcd-username <name>', 'etcd user (etcd\'s own authentication), with --etcd-password')
    .option('--etcd-password <password>', 'password of --etcd-username')
    .option('--iface <name|ip>', 'interface (or its address) for overlay traffic; default: the default route\'s')
    .option('--public-ip <ip>', 'address other hosts reach this one at; default: the interface\'s first address')
    .option('--node-name <name>', 'name recorded in the lease, for people (identity is the public IP)')
    .option('--subnet-file <path>', 'where to write FLANNEL_* variables', DEFAULTS.subnetFile)
    .option('--docker-opts-file <path>', 'where to write DOCKER_OPTS for dockerd ("" to skip)', DEFAULTS.dockerOptsFile)
    .option('--ip-masq', 'masquerade pod traffic leaving the network (Docker then runs with --ip-masq=false)', false)
    .option('--subnet-lease-ttl <duration>', 'TTL of the etcd lease the subnet key is bound to', DEFAULTS.subnetLeaseTtl)
    .option('--healthz-ip <ip>', 'address for /healthz, /readyz and /metrics', DEFAULTS.healthzIp)
    .option('--healthz-port <port>', 'port for /healthz, /readyz and /metrics (0 disables)', DEFAULTS.healthzPort)
    .option('--reconcile-interval <duration>', 'how often kernel and iptables state is checked against the leases', DEFAULTS.reconcileInterval);
  // flanneld's unit files spell flags Go's way (-etcd-endpoints=…, -ip-masq).
  const opts = parseCommandLine(program, goFlagArgv(program, argv), (warn) => parseOptions(program.opts<RawFlags>(), warn), io);
  if (!opts) return 0;
  await new Overlayd(opts).run(stopSignal());
  return 0;
}
