import { Command, durationFlag, FlagError, intFlag, ipv4Flag, isLoopback, portFlag, type FlagWarn } from '@pilot/common';
import { validateLeaderElection } from '@pilot/api';

/** Everything `pilot controller-manager` is configured with, validated. */
export interface ControllerManagerConfig {
  master?: string;
  kubeconfig?: string;
  leaderElect: boolean;
  leaderElectLeaseDurationMs: number;
  leaderElectRenewDeadlineMs: number;
  leaderElectRetryPeriodMs: number;
  leaderElectResourceNamespace: string;
  leaderElectResourceName: string;
  /** The --controllers list as given: names, `*` (every default-on one), `-name` (off). */
  controllers: string[];
  concurrentRcSyncs: number;
  concurrentEndpointSyncs: number;
  nodeMonitorPeriodMs: number;
  nodeMonitorGracePeriodMs: number;
  healthzBindAddress: string;
  /** 0 disables the health/metrics server. */
  healthzPort: number;
}

export interface RawFlags {
  master?: string;
  kubeconfig?: string;
  leaderElect?: string | boolean;
  leaderElectLeaseDuration?: string;
  leaderElectRenewDeadline?: string;
  leaderElectRetryPeriod?: string;
  leaderElectResourceNamespace?: string;
  leaderElectResourceName?: string;
  controllers?: string;
  concurrentRcSyncs?: string;
  concurrentEndpointSyncs?: string;
  nodeMonitorPeriod?: string;
  nodeMonitorGracePeriod?: string;
  healthzBindAddress?: string;
  healthzPort?: string;
}

/** kube-controller-manager's old insecure health/metrics port (its 10257 is HTTPS, which pilot does not serve). */
export const DEFAULT_HEALTHZ_PORT = '10252';

export function controllerManagerCommand(): Command {
  return new Command('pilot controller-manager')
    .description('runs the control loops (kube-controller-manager): replication, endpoints, node lifecycle, ...; leader-elected')
    .option('--master <url>', 'apiserver URL (overrides the kubeconfig server)')
    .option('--kubeconfig <path>', 'kubeconfig with the apiserver address, token and CA')
    .option('--leader-elect [bool]', 'run the controllers only while holding the leader Lease (true|false)', 'true')
    .option('--leader-elect-lease-duration <duration>', 'how long a Lease not renewed blocks the standbys', '15s')
    .option('--leader-elect-renew-deadline <duration>', 'how long the leader retries renewing before it gives up (and exits)', '10s')
    .option('--leader-elect-retry-period <duration>', 'how often candidates try to acquire and the leader renews', '2s')
    .option('--leader-elect-resource-namespace <ns>', 'namespace of the leader Lease', 'kube-system')
    .option('--leader-elect-resource-name <name>', 'name of the leader Lease', 'kube-controller-manager')
    .option('--controllers <list>', "controllers to run, comma-separated: '*' every default-on one, 'foo' turns foo on, '-foo' off", '*')
    .option('--concurrent-rc-syncs <n>', 'replication controllers synced at once', '5')
    .option('--concurrent-endpoint-syncs <n>', 'services whose Endpoints are synced at once', '5')
    .option('--node-monitor-period <duration>', 'how often the node lifecycle controller checks node health', '5s')
    .option('--node-monitor-grace-period <duration>', 'how long a node may go without a Lease renewal or status before it is Unknown', '50s')
    .option('--healthz-bind-address <ip>', '/healthz and /metrics address (plain HTTP: keep it on loopback)', '127.0.0.1')
    .option('--healthz-port <port>', '/healthz and /metrics port (0: off)', DEFAULT_HEALTHZ_PORT);
}

function boolFlag(flag: string, v: string | boolean | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new FlagError(flag, `"${v}" is not true or false`);
}

export function resolveConfig(f: RawFlags, warn: FlagWarn = () => undefined): ControllerManagerConfig {
  const hour = 3_600_000;
  const lease = durationFlag('leader-elect-lease-duration', f.leaderElectLeaseDuration ?? '15s', 1000, hour, { warn });
  const renew = durationFlag('leader-elect-renew-deadline', f.leaderElectRenewDeadline ?? '10s', 1, hour, { warn });
  const retry = durationFlag('leader-elect-retry-period', f.leaderElectRetryPeriod ?? '2s', 1, hour, { warn });
  const leaderElect = boolFlag('leader-elect', f.leaderElect, true);
  const bad = validateLeaderElection(lease, renew, retry);
  if (leaderElect && bad) throw new FlagError('leader-elect-lease-duration', bad);
  const controllers = (f.controllers ?? '*').split(',').map((s) => s.trim()).filter(Boolean);
  if (controllers.length === 0) throw new FlagError('controllers', 'must name at least one controller or *');
  const monitor = durationFlag('node-monitor-period', f.nodeMonitorPeriod ?? '5s', 1, hour, { warn });
  const grace = durationFlag('node-monitor-grace-period', f.nodeMonitorGracePeriod ?? '50s', 1, hour, { warn });
  if (grace < monitor) throw new FlagError('node-monitor-grace-period', `${f.nodeMonitorGracePeriod} is shorter than --node-monitor-period ${f.nodeMonitorPeriod ?? '5s'}`);
  const healthzPort = portFlag('healthz-port', f.healthzPort ?? DEFAULT_HEALTHZ_PORT);
  const healthzBindAddress = ipv4Flag('healthz-bind-address', f.healthzBindAddress ?? '127.0.0.1');
  if (!isLoopback(healthzBindAddress)) throw new FlagError('healthz-bind-address', `${healthzBindAddress} is not a loopback address; /healthz and /metrics are plain HTTP without authentication`);
  return {
    ...(f.master ? { master: f.master } : {}),
    ...(f.kubeconfig ? { kubeconfig: f.kubeconfig } : {}),
    leaderElect,
    leaderElectLeaseDurationMs: lease,
    leaderElectRenewDeadlineMs: renew,
    leaderElectRetryPeriodMs: retry,
    leaderElectResourceNamespace: f.leaderElectResourceNamespace ?? 'kube-system',
    leaderElectResourceName: f.leaderElectResourceName ?? 'kube-controller-manager',
    controllers,
    concurrentRcSyncs: intFlag('concurrent-rc-syncs', f.concurrentRcSyncs ?? '5', 1, 1000),
    concurrentEndpointSyncs: intFlag('concurrent-endpoint-syncs', f.concurrentEndpointSyncs ?? '5', 1, 1000),
    nodeMonitorPeriodMs: monitor,
    nodeMonitorGracePeriodMs: grace,
    healthzBindAddress,
    healthzPort,
  };
}
