import { Command, durationFlag, FlagError, floatFlag, intFlag, listFlag, type FlagWarn } from '@pilot/common';
import {
  addClientFlags,
  addHealthzFlags,
  addLeaderElectionFlags,
  resolveClient,
  resolveHealthz,
  resolveLeaderElection,
  type ClientConfig,
  type ComponentRawFlags,
  type HealthzConfig,
  type LeaderElectionConfig,
} from '../component/flags.js';

/** Everything `pilot controller-manager` is configured with, validated. */
export interface ControllerManagerConfig extends ClientConfig, LeaderElectionConfig, HealthzConfig {
  /** The --controllers list as given: names, `*` (every default-on one), `-name` (off). */
  controllers: string[];
  concurrentRcSyncs: number;
  concurrentReplicasetSyncs: number;
  concurrentDeploymentSyncs: number;
  concurrentEndpointSyncs: number;
  nodeMonitorPeriodMs: number;
  nodeMonitorGracePeriodMs: number;
  /** How long a node that never posted a Ready condition may take before it is Unknown. */
  nodeStartupGracePeriodMs: number;
  /** Nodes per second that get a NoExecute taint (evicting their pods) in a healthy zone. */
  nodeEvictionRate: number;
  /** The same in a partially disrupted zone of a cluster larger than largeClusterSizeThreshold. */
  secondaryNodeEvictionRate: number;
  largeClusterSizeThreshold: number;
  /** Share of not-Ready nodes (at least 3) from which a zone is partially disrupted. */
  unhealthyZoneThreshold: number;
}

export interface RawFlags extends ComponentRawFlags {
  controllers?: string;
  concurrentRcSyncs?: string;
  concurrentReplicasetSyncs?: string;
  concurrentDeploymentSyncs?: string;
  concurrentEndpointSyncs?: string;
  nodeMonitorPeriod?: string;
  nodeMonitorGracePeriod?: string;
  nodeStartupGracePeriod?: string;
  nodeEvictionRate?: string;
  secondaryNodeEvictionRate?: string;
  largeClusterSizeThreshold?: string;
  unhealthyZoneThreshold?: string;
}

/** kube-controller-manager's old insecure health/metrics port (its 10257 is HTTPS, which pilot does not serve). */
export const DEFAULT_HEALTHZ_PORT = '10252';
const LEASE_NAME = 'kube-controller-manager';

export function controllerManagerCommand(): Command {
  const cmd = new Command('pilot controller-manager').description('runs the control loops (kube-controller-manager): replication, endpoints, node lifecycle, ...; leader-elected');
  addClientFlags(cmd);
  addLeaderElectionFlags(cmd, 'run the controllers only while holding the leader Lease', LEASE_NAME)
    .option('--controllers <list>', "controllers to run, comma-separated: '*' every default-on one, 'foo' turns foo on, '-foo' off", '*')
    .option('--concurrent-rc-syncs <n>', 'replication controllers synced at once', '5')
    .option('--concurrent-replicaset-syncs <n>', 'replica sets synced at once', '5')
    .option('--concurrent-deployment-syncs <n>', 'deployments synced at once', '5')
    .option('--concurrent-endpoint-syncs <n>', 'services whose Endpoints are synced at once', '5')
    .option('--node-monitor-period <duration>', 'how often the node lifecycle controller checks node health', '5s')
    .option('--node-monitor-grace-period <duration>', 'how long a node may go without a Lease renewal or status before it is Unknown', '50s')
    .option('--node-startup-grace-period <duration>', 'how long a node that never posted a Ready condition may take before it is Unknown', '60s')
    .option('--node-eviction-rate <per-second>', 'nodes per second tainted NoExecute (their pods evicted) in a healthy zone', '0.1')
    .option('--secondary-node-eviction-rate <per-second>', 'the same in an unhealthy zone (0 in clusters up to --large-cluster-size-threshold nodes)', '0.01')
    .option('--large-cluster-size-threshold <n>', 'zones of more nodes than this keep evicting at the secondary rate when unhealthy', '50')
    .option('--unhealthy-zone-threshold <fraction>', 'share of not-Ready nodes (at least 3) from which a zone is unhealthy', '0.55');
  return addHealthzFlags(cmd, DEFAULT_HEALTHZ_PORT);
}

export function resolveConfig(f: RawFlags, warn: FlagWarn = () => undefined): ControllerManagerConfig {
  const hour = 3_600_000;
  const leaderElection = resolveLeaderElection(f, LEASE_NAME, warn);
  const controllers = listFlag(f.controllers ?? '*');
  if (controllers.length === 0) throw new FlagError('controllers', 'must name at least one controller or *');
  const monitor = durationFlag('node-monitor-period', f.nodeMonitorPeriod ?? '5s', 1, hour, { warn });
  const grace = durationFlag('node-monitor-grace-period', f.nodeMonitorGracePeriod ?? '50s', 1, hour, { warn });
  if (grace < monitor) throw new FlagError('node-monitor-grace-period', `${f.nodeMonitorGracePeriod} is shorter than --node-monitor-period ${f.nodeMonitorPeriod ?? '5s'}`);
  return {
    ...resolveClient(f),
    ...leaderElection,
    controllers,
    concurrentRcSyncs: intFlag('concurrent-rc-syncs', f.concurrentRcSyncs ?? '5', 1, 1000),
    concurrentReplicasetSyncs: intFlag('concurrent-replicaset-syncs', f.concurrentReplicasetSyncs ?? '5', 1, 1000),
    concurrentDeploymentSyncs: intFlag('concurrent-deployment-syncs', f.concurrentDeploymentSyncs ?? '5', 1, 1000),
    concurrentEndpointSyncs: intFlag('concurrent-endpoint-syncs', f.concurrentEndpointSyncs ?? '5', 1, 1000),
    nodeMonitorPeriodMs: monitor,
    nodeMonitorGracePeriodMs: grace,
    nodeStartupGracePeriodMs: durationFlag('node-startup-grace-period', f.nodeStartupGracePeriod ?? '60s', 1, hour, { warn }),
    nodeEvictionRate: floatFlag('node-eviction-rate', f.nodeEvictionRate ?? '0.1', 0, 1e6),
    secondaryNodeEvictionRate: floatFlag('secondary-node-eviction-rate', f.secondaryNodeEvictionRate ?? '0.01', 0, 1e6),
    largeClusterSizeThreshold: intFlag('large-cluster-size-threshold', f.largeClusterSizeThreshold ?? '50', 0, 1_000_000),
    unhealthyZoneThreshold: floatFlag('unhealthy-zone-threshold', f.unhealthyZoneThreshold ?? '0.55', 0, 1),
    ...resolveHealthz(f, DEFAULT_HEALTHZ_PORT),
  };
}
