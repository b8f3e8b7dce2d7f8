import { Command, durationFlag, FlagError, type FlagWarn } from '@pilot/common';
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

/** Everything `pilot scheduler` is configured with, validated. */
export interface SchedulerConfig extends ClientConfig, LeaderElectionConfig, HealthzConfig {
  schedulerName: string;
  podInitialBackoffMs: number;
  podMaxBackoffMs: number;
}

export interface RawFlags extends ComponentRawFlags {
  schedulerName?: string;
  podInitialBackoff?: string;
  podMaxBackoff?: string;
}

/** The health/metrics port (kube-scheduler's old insecure port; its 10259 is HTTPS, which pilot does not serve). */
export const DEFAULT_HEALTHZ_PORT = '10251';
const LEASE_NAME = 'kube-scheduler';

export function schedulerCommand(): Command {
  const cmd = new Command('pilot scheduler').description('assigns pending pods to nodes (kube-scheduler: filter, score, bind through pods/binding)');
  addClientFlags(cmd);
  addLeaderElectionFlags(cmd, 'run only while holding the leader Lease', LEASE_NAME)
    .option('--scheduler-name <name>', 'schedule only pods whose spec.schedulerName is this', 'default-scheduler')
    .option('--pod-initial-backoff <duration>', 'back-off of a pod after its first failed attempt (doubles per attempt)', '1s')
    .option('--pod-max-backoff <duration>', 'longest back-off of a pod', '10s');
  return addHealthzFlags(cmd, DEFAULT_HEALTHZ_PORT);
}

export function resolveConfig(f: RawFlags, warn: FlagWarn = () => undefined): SchedulerConfig {
  const hour = 3_600_000;
  const leaderElection = resolveLeaderElection(f, LEASE_NAME, warn);
  const initial = durationFlag('pod-initial-backoff', f.podInitialBackoff ?? '1s', 1, hour, { warn });
  const max = durationFlag('pod-max-backoff', f.podMaxBackoff ?? '10s', 1, hour, { warn });
  if (max < initial) throw new FlagError('pod-max-backoff', `${f.podMaxBackoff} is shorter than --pod-initial-backoff ${f.podInitialBackoff ?? '1s'}`);
  const schedulerName = f.schedulerName ?? 'default-scheduler';
  if (!schedulerName) throw new FlagError('scheduler-name', 'must not be empty');
  return {
    ...resolveClient(f),
    ...leaderElection,
    schedulerName,
    podInitialBackoffMs: initial,
    podMaxBackoffMs: max,
    ...resolveHealthz(f, DEFAULT_HEALTHZ_PORT),
  };
}
