/**
 * Leader election over a coordination.k8s.io/v1 Lease (client-go's
 * tools/leaderelection with the `leases` lock), for components that run
 * several copies of which one acts: the scheduler and the controller-manager.
 *
 * The rules are client-go's, so a pilot component and a reader of upstream
 * agree on what a Lease means:
 * - a Lease held by someone else is taken only after it went unchanged for
 *   its `leaseDurationSeconds`, measured on *our* clock from when we first saw
 *   that version (never from the holder's renewTime: clocks differ);
 * - an empty holder (a released Lease) can be taken at once;
 * - every write is guarded by the Lease's resourceVersion, so two candidates
 *   can never both win one round;
 * - the leader renews every retry period; if it cannot renew within the renew
 *   deadline it stops leading (its work is aborted) before the Lease can
 *   expire for the others (leaseDuration > renewDeadline);
 * - a graceful stop releases the Lease (empty holder, duration 1 s) so a
 *   standby takes over within a retry period.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { createLogger, sleep, type Logger } from '@pilot/common';
import type { ApiClient } from './client.js';
import { isAlreadyExists, isConflict, isNotFound } from './errors.js';
import { formatMicroTime, type Lease, type LeaseSpec } from './types.js';

export interface LeaderCallbacks {
  /** Runs the leader's work; must return soon after `signal` aborts. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once leadership ended (lost, or released on stop). */
  onStoppedLeading?(): void;
  /** Called when the observed holder changes (including to ourselves). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionConfig {
  client: Pick<ApiClient, 'get' | 'create' | 'update'>;
  /** The Lease: e.g. kube-system/kube-scheduler. */
  namespace: string;
  name: string;
  /** Unique per process: `hostname_<uuid>` (see defaultIdentity). */
  identity: string;
  /** Upstream defaults: 15 s, 10 s, 2 s. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Release the Lease when the signal aborts (default true). */
  releaseOnCancel?: boolean;
  callbacks: LeaderCallbacks;
  logger?: Logger;
  now?: () => number;
}

/** client-go's JitterFactor: retries wait retryPeriod·[1, 2.2). */
const JITTER = 1.2;

export const LEADER_ELECTION_DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

/** Holder identity as kube-scheduler and kube-controller-manager make it. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

/** client-go's validation: leaseDuration > renewDeadline > JitterFactor·retryPeriod. */
export function validateLeaderElection(leaseMs: number, renewMs: number, retryMs: number): string | undefined {
  if (!(retryMs > 0)) return `retry period must be positive (got ${retryMs} ms)`;
  if (!(leaseMs > renewMs)) return `lease duration (${leaseMs} ms) must be greater than the renew deadline (${renewMs} ms)`;
  if (!(renewMs > JITTER * retryMs)) return `renew deadline (${renewMs} ms) must be greater than ${JITTER} × the retry period (${retryMs} ms)`;
  return undefined;
}

/** What we last saw of the Lease, and when (on our clock). */
export interface Observation {
  spec: LeaseSpec;
  /** JSON of the spec, to notice any change. */
  raw: string;
  at: number;
}

export type ElectionStep =
  | { kind: 'create'; spec: LeaseSpec }
  | { kind: 'update'; spec: LeaseSpec }
  | { kind: 'wait'; holder: string };

/**
 * The pure core of one try (client-go's tryAcquireOrRenew): given the stored
 * Lease spec (undefined: none) and what we observed before, what to write.
 */
export function electionStep(
  current: LeaseSpec | undefined,
  observed: Observation | undefined,
  now: number,
  identity: string,
  leaseDurationSeconds: number,
): { step: ElectionStep; observed: Observation | undefined } {
  const stamp = formatMicroTime(new Date(now));
  if (!current) {
    const spec: LeaseSpec = { holderIdentity: identity, leaseDurationSeconds, acquireTime: stamp, renewTime: stamp, leaseTransitions: 0 };
    return { step: { kind: 'create', spec }, observed };
  }
  const raw = JSON.stringify(current);
  const seen = observed && observed.raw === raw ? observed : { spec: current, raw, at: now };
  const holder = current.holderIdentity ?? '';
  const duration = (current.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
  if (holder !== '' && holder !== identity && seen.at + duration > now) return { step: { kind: 'wait', holder }, observed: seen };
  const mine = holder === identity;
  const spec: LeaseSpec = {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: mine && current.acquireTime ? current.acquireTime : stamp,
    renewTime: stamp,
    leaseTransitions: (current.leaseTransitions ?? 0) + (mine ? 0 : 1),
  };
  return { step: { kind: 'update', spec }, observed: seen };
}

export class LeaderElector {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private observed: Observation | undefined;
  /** The Lease as last read or written, for the guarded write. */
  private lease: Lease | undefined;
  private reportedLeader = '';
  private leading = false;

  constructor(private readonly cfg: LeaderElectionConfig) {
    this.leaseMs = cfg.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs;
    this.renewMs = cfg.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs;
    this.retryMs = cfg.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs;
    const bad = validateLeaderElection(this.leaseMs, this.renewMs, this.retryMs);
    if (bad) throw new Error(`leader election ${cfg.namespace}/${cfg.name}: ${bad}`);
    if (!cfg.identity) throw new Error(`leader election ${cfg.namespace}/${cfg.name}: identity must not be empty`);
    this.log = (cfg.logger ?? createLogger('leader-election')).child({ lease: `${cfg.namespace}/${cfg.name}`, identity: cfg.identity });
    this.now = cfg.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until leading, leads until the Lease is lost or the signal
   * aborts. Resolves 'lost' (the caller should exit, as upstream components
   * do) or 'stopped' (the signal aborted; the Lease was released if asked).
   */
  async run(signal: AbortSignal): Promise<'lost' | 'stopped'> {
    this.log.info(`attempting to acquire leader lease ${this.cfg.namespace}/${this.cfg.name}...`);
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(signal)) break;
      await this.pause(this.retryMs * (1 + Math.random() * JITTER), signal);
    }
    if (signal.aborted) return 'stopped';
    this.log.info(`successfully acquired lease ${this.cfg.namespace}/${this.cfg.name}`);
    this.leading = true;
    const work = new AbortController();
    const onStop = () => work.abort(signal.reason);
    signal.addEventListener('abort', onStop, { once: true });
    const running = Promise.resolve()
      .then(() => this.cfg.callbacks.onStartedLeading(work.signal))
      .catch((err) => this.log.error({ err: (err as Error).message }, 'leader work failed'));
    let outcome: 'lost' | 'stopped' = 'stopped';
    try {
      outcome = await this.renewLoop(signal);
    } finally {
      signal.removeEventListener('abort', onStop);
      work.abort(new Error('leadership ended'));
      await running;
      this.leading = false;
      if (outcome === 'lost') this.log.error(`leaderelection lost: could not renew lease ${this.cfg.namespace}/${this.cfg.name} within ${this.renewMs} ms`);
      else if (this.cfg.releaseOnCancel ?? true) await this.release();
      this.cfg.callbacks.onStoppedLeading?.();
    }
    return outcome;
  }

  /** Renews every retry period; 'lost' once a renew has not succeeded within the renew deadline. */
  private async renewLoop(signal: AbortSignal): Promise<'lost' | 'stopped'> {
    while (!signal.aborted) {
      await this.pause(this.retryMs, signal);
      if (signal.aborted) break;
      const deadline = this.now() + this.renewMs;
      let renewed = false;
      while (!signal.aborted && this.now() < deadline) {
        // One renew may not outlive the deadline (a hung request would keep us "leading").
        renewed = await this.tryAcquireOrRenew(signal, deadline - this.now());
        if (renewed) break;
        await this.pause(Math.min(this.retryMs, Math.max(0, deadline - this.now())), signal);
      }
      if (signal.aborted) break;
      if (!renewed) return 'lost';
    }
    return 'stopped';
  }

  private async tryAcquireOrRenew(signal: AbortSignal, timeoutMs = this.renewMs): Promise<boolean> {
    const { client, namespace, name, identity } = this.cfg;
    const req = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, timeoutMs))]);
    try {
      let current: Lease | undefined;
      try {
        current = await client.get<Lease>('leases', name, { namespace, signal: req });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      const { step, observed } = electionStep(current?.spec, this.observed, this.now(), identity, Math.ceil(this.leaseMs / 1000));
      this.observed = observed;
      if (step.kind === 'wait') {
        this.report(step.holder);
        return false;
      }
      const body: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: current ? { ...current.metadata } : { name, namespace },
        spec: step.spec,
      };
      const written =
        step.kind === 'create' ? await client.create<Lease>('leases', body, { namespace, signal: req }) : await client.update<Lease>('leases', body, { namespace, signal: req });
      this.lease = written;
      const spec = written.spec ?? step.spec;
      this.observed = { spec, raw: JSON.stringify(spec), at: this.now() };
      this.report(identity);
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      // Another candidate wrote first: not an error, just not us this round.
      if (!isConflict(err) && !isAlreadyExists(err)) this.log.warn({ err: (err as Error).message }, 'error retrieving or updating the leader lease');
      return false;
    }
  }

  /** Gives the Lease up: empty holder, 1 s duration, transitions kept (client-go's release). */
  private async release(): Promise<void> {
    const lease = this.lease;
    if (!lease || lease.spec?.holderIdentity !== this.cfg.identity) return;
    const stamp = formatMicroTime(new Date(this.now()));
    const body: Lease = {
      ...lease,
      spec: { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: stamp, renewTime: stamp, leaseTransitions: lease.spec?.leaseTransitions ?? 0 },
    };
    try {
      await this.cfg.client.update<Lease>('leases', body, { namespace: this.cfg.namespace, signal: AbortSignal.timeout(this.renewMs) });
      this.log.info(`released lease ${this.cfg.namespace}/${this.cfg.name}`);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'failed to release the leader lease; the others take over when it expires');
    }
  }

  private report(holder: string): void {
    if (holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    if (holder !== this.cfg.identity) this.log.info({ leader: holder }, 'new leader elected');
    this.cfg.callbacks.onNewLeader?.(holder);
  }

  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    await sleep(ms, signal).catch(() => undefined);
  }
}
