import type { Server } from 'node:http';
import { LeaderElector, type ApiClient } from '@pilot/api';
import { startHealthServer, type Logger } from '@pilot/common';
import { Gauge, type Registry } from 'prom-client';
import type { HealthzConfig, LeaderElectionConfig } from './flags.js';

/**
 * How a leader-elected component runs (kube-scheduler's and
 * kube-controller-manager's shared shape): its informers sync first, so a
 * standby keeps a warm cache; then `lead` runs while this process holds the
 * Lease (always, without --leader-elect); /healthz says leading, standby or
 * not synced, and leader_election_master_status follows the Lease.
 */
export interface ElectedOptions {
  cfg: LeaderElectionConfig & HealthzConfig;
  client: ApiClient;
  identity: string;
  log: Logger;
  registry: Registry;
  /** Ends the run (a graceful stop releases the Lease). */
  signal: AbortSignal;
  /** Resolves once the component's informers have synced (or the signal aborted). */
  waitForSync(signal: AbortSignal): Promise<void>;
  /** Whether the informers have synced, for /healthz. */
  hasSynced(): boolean;
  /** The component's work while leading; returns when `signal` aborts. */
  lead(signal: AbortSignal): Promise<void>;
  onLeadershipLost?: () => void;
}

export interface Elected {
  /** 'stopped' on the signal, 'lost' when the Lease was lost. */
  readonly done: Promise<'stopped' | 'lost'>;
  isLeader(): boolean;
  readonly healthzPort: number | undefined;
  /** Closes the health server (after `done`). */
  closeHealth(): Promise<void>;
}

export async function runElected(o: ElectedOptions): Promise<Elected> {
  const { cfg, log } = o;
  const leaderGauge = new Gauge({ name: 'leader_election_master_status', help: '1 while this instance leads.', labelNames: ['name'], registers: [o.registry] });
  let elector: LeaderElector | undefined;
  const isLeader = () => (cfg.leaderElect ? (elector?.isLeader ?? false) : true);
  let health: Server | undefined;
  if (cfg.healthzPort > 0) {
    health = await startHealthServer({
      port: cfg.healthzPort,
      host: cfg.healthzBindAddress,
      registry: o.registry,
      healthz: () => (o.hasSynced() ? { ok: true, message: isLeader() ? 'leading' : 'standby' } : { ok: false, message: 'informers not synced yet' }),
    });
  }

  const lead = async (signal: AbortSignal) => {
    await o.waitForSync(signal).catch(() => undefined);
    if (signal.aborted) return;
    leaderGauge.set({ name: cfg.leaderElectResourceName }, 1);
    await o.lead(signal);
    leaderGauge.set({ name: cfg.leaderElectResourceName }, 0);
  };

  const done = (async (): Promise<'stopped' | 'lost'> => {
    await o.waitForSync(o.signal).catch(() => undefined);
    if (o.signal.aborted) return 'stopped';
    if (!cfg.leaderElect) {
      await lead(o.signal);
      return 'stopped';
    }
    elector = new LeaderElector({
      client: o.client,
      namespace: cfg.leaderElectResourceNamespace,
      name: cfg.leaderElectResourceName,
      identity: o.identity,
      leaseDurationMs: cfg.leaderElectLeaseDurationMs,
      renewDeadlineMs: cfg.leaderElectRenewDeadlineMs,
      retryPeriodMs: cfg.leaderElectRetryPeriodMs,
      logger: log,
      callbacks: { onStartedLeading: (signal) => lead(signal) },
    });
    const outcome = await elector.run(o.signal);
    if (outcome === 'lost') o.onLeadershipLost?.();
    return outcome;
  })();

  return {
    done,
    isLeader,
    get healthzPort() {
      const a = health?.address();
      return a && typeof a === 'object' ? a.port : undefined;
    },
    closeHealth: () => new Promise<void>((r) => (health ? health.close(() => r()) : r())),
  };
}
