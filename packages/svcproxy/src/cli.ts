import { Command, parseCommandLine, stopSignal, type CommandIO } from '@pilot/common';
import { Svcproxy } from './daemon.js';
import { DEFAULTS, parseOptions, type RawFlags } from './flags.js';

/**
 * The svcproxy command line, shared by the `svcproxy` bin and `pilot svcproxy`:
 * flags → running daemon until SIGTERM/SIGINT (or one cleanup with
 * `--cleanup`). Returns the exit code; bad flags throw a one-line FatalError.
 */
export async function runSvcproxy(argv: readonly string[], io?: CommandIO): Promise<number> {
  const program = new Command('svcproxy')
    .description('Per-host service proxy: programs Services and Endpoints as kube-proxy-layout iptables NAT rules, or proxies them round-robin in userspace')
    .option('--master <url>', 'API server URL (overrides the kubeconfig\'s server); default http://127.0.0.1:8080')
    .option('--kubeconfig <path>', 'kubeconfig with the API server, token and CA')
    .option('--proxy-mode <mode>', 'iptables (kernel NAT rules) or userspace (round-robin proxy in this process)', DEFAULTS.proxyMode)
    .option('--bind-address <ip>', 'userspace mode: concrete local address the listeners bind to; default: the default route\'s source')
    .option('--udp-timeout <duration>', 'userspace mode: idle timeout of a UDP client session', DEFAULTS.udpTimeout)
    .option('--max-connections-per-source <n>', 'userspace mode: TCP connections one client address may hold at once, across all services (0: no cap)', DEFAULTS.maxConnectionsPerSource)
    .option('--cluster-cidr <cidr>', 'pod network; service traffic from outside it is masqueraded')
    .option('--hostname-override <name>', 'this node\'s name (marks local endpoints); default: hostname')
    // No commander defaults here: parseOptions applies them, and tells a given --sync-period from kube-proxy's --iptables-sync-period.
    .option('--min-sync-period <duration>', `minimum time between two syncs (changes in between coalesce) (default: "${DEFAULTS.minSyncPeriod}")`)
    .option('--sync-period <duration>', `maximum time between two syncs (canaries and jump positions are re-checked each) (default: "${DEFAULTS.syncPeriod}")`)
    .option('--nodeport-addresses <cidrs>', 'comma-separated CIDRs whose local addresses serve NodePorts; default all but loopback')
    .option('--masquerade-all', 'SNAT all service traffic', false)
    .option('--cleanup', 'remove every rule svcproxy wrote and exit', false)
    .option('--iptables-min-sync-period <duration>', 'kube-proxy\'s name of --min-sync-period')
    .option('--iptables-sync-period <duration>', 'kube-proxy\'s name of --sync-period')
    .option('--healthz-bind-address <ip[:port]>', 'address (and port, as kube-proxy writes it) for /healthz, /readyz and /metrics', DEFAULTS.healthzBindAddress)
    .option('--healthz-port <port>', `port for /healthz and /metrics (0 disables) (default: "${DEFAULTS.healthzPort}")`)
    .option('--metrics-bind-address <ip:port>', 'kube-proxy\'s metrics server: /metrics, /healthz, /proxyMode (port 0 disables)', DEFAULTS.metricsBindAddress)
    .option('--restore-chunk <n>', 'services per iptables-restore during a full sync', DEFAULTS.restoreChunk);
  const opts = parseCommandLine(program, argv, (warn) => parseOptions(program.opts<RawFlags>(), warn), io);
  if (!opts) return 0;
  const daemon = new Svcproxy(opts);
  if (opts.cleanup) {
    await daemon.cleanup();
    return 0;
  }
  await daemon.run(stopSignal());
  return 0;
}
