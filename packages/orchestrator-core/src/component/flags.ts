import { boolFlag, durationFlag, FlagError, ipv4Flag, isLoopback, portFlag, type Command, type FlagWarn } from '@pilot/common';
import { validateLeaderElection } from '@pilot/api';

/**
 * The flags every leader-elected control-plane component shares (upstream's
 * component-base options): how it reaches the apiserver, its leader Lease, and
 * its plain-HTTP /healthz and /metrics port. Each component's flags.ts adds
 * its own around these and spreads the resolved parts into its config.
 */

export interface ClientConfig {
  master?: string;
  kubeconfig?: string;
}

export interface LeaderElectionConfig {
  leaderElect: boolean;
  leaderElectLeaseDurationMs: number;
  leaderElectRenewDeadlineMs: number;
  leaderElectRetryPeriodMs: number;
  leaderElectResourceNamespace: string;
  leaderElectResourceName: string;
}

export interface HealthzConfig {
  healthzBindAddress: string;
  /** 0 disables the health/metrics server. */
  healthzPort: number;
}

export interface ComponentRawFlags {
  master?: string;
  kubeconfig?: string;
  leaderElect?: string | boolean;
  leaderElectLeaseDuration?: string;
  leaderElectRenewDeadline?: string;
  leaderElectRetryPeriod?: string;
  leaderElectResourceNamespace?: string;
  leaderElectResourceName?: string;
  healthzBindAddress?: string;
  healthzPort?: string;
}

export function addClientFlags(cmd: Command): Command {
  return cmd
    .option('--master <url>', 'apiserver URL (overrides the kubeconfig server)')
    .option('--kubeconfig <path>', 'kubeconfig with the apiserver address, token and CA');
}

/** `leaderElectHelp` says what runs only while leading; `leaseName` is the default Lease in kube-system. */
export function addLeaderElectionFlags(cmd: Command, leaderElectHelp: string, leaseName: string): Command {
  return cmd
    .option('--leader-elect [bool]', `${leaderElectHelp} (true|false)`, 'true')
    .option('--leader-elect-lease-duration <duration>', 'how long a Lease not renewed blocks the standbys', '15s')
    .option('--leader-elect-renew-deadline <duration>', 'how long the leader retries renewing before it gives up (and exits)', '10s')
    .option('--leader-elect-retry-period <duration>', 'how often candidates try to acquire and the leader renews', '2s')
    .option('--leader-elect-resource-namespace <ns>', 'namespace of the leader Lease', 'kube-system')
    .option('--leader-elect-resource-name <name>', 'name of the leader Lease', leaseName);
}

export function addHealthzFlags(cmd: Command, defaultPort: string): Command {
  return cmd
    .option('--healthz-bind-address <ip>', '/healthz and /metrics address (plain HTTP: keep it on loopback)', '127.0.0.1')
    .option('--healthz-port <port>', '/healthz and /metrics port (0: off)', defaultPort);
}

export function resolveClient(f: ComponentRawFlags): ClientConfig {
  return { ...(f.master ? { master: f.master } : {}), ...(f.kubeconfig ? { kubeconfig: f.kubeconfig } : {}) };
}

const HOUR = 3_600_000;

export function resolveLeaderElection(f: ComponentRawFlags, leaseName: string, warn: FlagWarn): LeaderElectionConfig {
  const lease = durationFlag('leader-elect-lease-duration', f.leaderElectLeaseDuration ?? '15s', 1000, HOUR, { warn });
  const renew = durationFlag('leader-elect-renew-deadline', f.leaderElectRenewDeadline ?? '10s', 1, HOUR, { warn });
  const retry = durationFlag('leader-elect-retry-period', f.leaderElectRetryPeriod ?? '2s', 1, HOUR, { warn });
  const leaderElect = boolFlag('leader-elect', f.leaderElect, true);
  const bad = validateLeaderElection(lease, renew, retry);
  if (leaderElect && bad) throw new FlagError('leader-elect-lease-duration', bad);
  return {
    leaderElect,
    leaderElectLeaseDurationMs: lease,
    leaderElectRenewDeadlineMs: renew,
    leaderElectRetryPeriodMs: retry,
    leaderElectResourceNamespace: f.leaderElectResourceNamespace ?? 'kube-system',
    leaderElectResourceName: f.leaderElectResourceName ?? leaseName,
  };
}

export function resolveHealthz(f: ComponentRawFlags, defaultPort: string): HealthzConfig {
  const healthzPort = portFlag('healthz-port', f.healthzPort ?? defaultPort);
  const healthzBindAddress = ipv4Flag('healthz-bind-address', f.healthzBindAddress ?? '127.0.0.1');
  // No TLS and no authentication on this port: nothing beyond loopback.
  if (!isLoopback(healthzBindAddress)) throw new FlagError('healthz-bind-address', `${healthzBindAddress} is not a loopback address; /healthz and /metrics are plain HTTP without authentication`);
  return { healthzBindAddress, healthzPort };
}
