import { Command, durationFlag, FlagError, ipv4Flag, isLoopback, portFlag, type FlagWarn } from '@pilot/common';
import { validateLeaderElection } from '@pilot/api';

/** Everything `pilot scheduler` is configured with, validated. */
export interface SchedulerConfig {
  master?: string;
  kubeconfig?: string;
  leaderElect: boolean;
  leaderElectLeaseDurationMs: number;
  leaderElectRenewDeadlineMs: number;
  leaderElectRetryPeriodMs: number;
  leaderElectResourceNamespace: string;
  leaderElectResourceName: string;
  schedulerName: string;
  podInitialBackoffMs: number;
  podMaxBackoffMs: number;
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
  schedulerName?: string;
  podInitialBackoff?: string;
  podMaxBackoff?: string;
  healthzBindAddress?: string;
  healthzPort?: string;
}

/** The health/metrics port (kube-scheduler's old insecure port; its 10259 is HTTPS, which pilot does not serve). */
export const DEFAULT_HEALTHZ_PORT = '10251';

export function schedulerCommand(): Command {
  return new Command('pilot scheduler')
    .description('assigns pending pods to nodes (kube-scheduler: filter, score, bind through pods/binding)')
    .option('--master <url>', 'apiserver URL (overrides the kubeconfig server)')
    .option('--kubeconfig <path>', 'kubeconfig with the apiserver address, token and CA')
    .option('--leader-elect [bool]', 'run only while holding the leader Lease (true|false)', 'true')
    .option('--leader-elect-lease-duration <duration>', 'how long a Lease not renewed blocks the standbys', '15s')
    .option('--leader-elect-renew-deadline <duration>', 'how long the leader retries renewing before it gives up (and exits)', '10s')
    .option('--leader-elect-retry-period <duration>', 'how often candidates try to acquire and the leader renews', '2s')
    .option('--leader-elect-resource-namespace <ns>', 'namespace of the leader Lease', 'kube-system')
    .option('--leader-elect-resource-name <name>', 'name of the leader Lease', 'kube-scheduler')
    .option('--scheduler-name <name>', 'schedule only pods whose spec.schedulerName is this', 'default-scheduler')
    .option('--pod-initial-backoff <duration>', 'back-off of a pod after its first failed attempt (doubles per attempt)', '1s')
    .option('--pod-max-backoff <duration>', 'longest back-off of a pod', '10s')
    .option('--healthz-bind-address <ip>', '/healthz and /metrics address (plain HTTP: keep it on loopback)', '127.0.0.1')
    .option('--healthz-port <port>', '/healthz and /metrics port (0: off)', DEFAULT_HEALTHZ_PORT);
}

function boolFlag(flag: string, v: string | boolean | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new FlagError(flag, `"${v}" is not true or false`);
}

export function resolveConfig(f: RawFlags, warn: FlagWarn = () => undefined): SchedulerConfig {
  const hour = 3_600_000;
  const lease = durationFlag('leader-elect-lease-duration', f.leaderElectLeaseDuration ?? '15s', 1000, hour, { warn });
  const renew = durationFlag('leader-elect-renew-deadline', f.leaderElectRenewDeadline ?? '10s', 1, hour, { warn });
  const retry = durationFlag('leader-elect-retry-period', f.leaderElectRetryPeriod ?? '2s', 1, hour, { warn });
  const leaderElect = boolFlag('leader-elect', f.leaderElect, true);
  const bad = validateLeaderElection(lease, renew, retry);
  if (leaderElect && bad) throw new FlagError('leader-elect-lease-duration', bad);
  const initial = durationFlag('pod-initial-backoff', f.podInitialBackoff ?? '1s', 1, hour, { warn });
  const max = durationFlag('pod-max-backoff', f.podMaxBackoff ?? '10s', 1, hour, { warn });
  if (max < initial) throw new FlagError('pod-max-backoff', `${f.podMaxBackoff} is shorter than --pod-initial-backoff ${f.podInitialBackoff ?? '1s'}`);
  const schedulerName = f.schedulerName ?? 'default-scheduler';
  if (!schedulerName) throw new FlagError('scheduler-name', 'must not be empty');
  const healthzPort = portFlag('healthz-port', f.healthzPort ?? DEFAULT_HEALTHZ_PORT);
  const healthzBindAddress = ipv4Flag('healthz-bind-address', f.healthzBindAddress ?? '127.0.0.1');
  // No TLS and no authentication on this port: nothing beyond loopback.
  if (!isLoopback(healthzBindAddress)) throw new FlagError('healthz-bind-address', `${healthzBindAddress} is not a loopback address; /healthz and /metrics are plain HTTP without authentication`);
  return {
    ...(f.master ? { master: f.master } : {}),
    ...(f.kubeconfig ? { kubeconfig: f.kubeconfig } : {}),
    leaderElect,
    leaderElectLeaseDurationMs: lease,
    leaderElectRenewDeadlineMs: renew,
    leaderElectRetryPeriodMs: retry,
    leaderElectResourceNamespace: f.leaderElectResourceNamespace ?? 'kube-system',
    leaderElectResourceName: f.leaderElectResourceName ?? 'kube-scheduler',
    schedulerName,
    podInitialBackoffMs: initial,
    podMaxBackoffMs: max,
    healthzBindAddress,
    healthzPort,
  };
}
