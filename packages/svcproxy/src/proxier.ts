import type { Logger } from '@pilot/common';
import { ChangeTracker, type ProxyProvider } from './change-tracker.js';
import type { IptablesApplier } from './iptables/apply.js';
import { staleConntrack, type Conntrack } from './iptables/conntrack.js';
import { renderPartial } from './iptables/partial.js';
import { buildServiceRules, type NodeConfig, type ServiceRules } from './iptables/rules.js';
import type { ProxierMetrics } from './metrics.js';
import { desiredHealthChecks, type ServiceHealth } from './service-health.js';

export interface ProxierOptions {
  applier: IptablesApplier;
  conntrack: Conntrack;
  node: NodeConfig;
  /** This host's node name (marks local endpoints). */
  hostname?: string;
  log: Logger;
  metrics?: ProxierMetrics;
  /** A full sync at least this often even when canaries are intact (default 1 h, as kube-proxy's runner). */
  fullResyncMs?: number;
  /** Serves the health-check node ports (LoadBalancer + externalTrafficPolicy Local); updated after every sync. */
  healthChecks?: { update(desired: ReadonlyMap<number, ServiceHealth>): Promise<void> };
  /** Called when something changed and a sync should be scheduled. */
  onChange?: () => void;
  now?: () => number;
}

export interface SyncResult {
  kind: 'full' | 'partial' | 'noop';
  changed: number;
  conntrackDeleted: number;
}

/**
 * The iptables proxier: its change tracker keeps the model up to date from
 * Service/Endpoints/EndpointSlice events; on sync it brings the kernel to
 * the desired rules — a partial restore of what changed when the kernel is
 * as we left it, a full (chunked) sync at start, after a flush (missing
 * canary), after a failed restore and periodically.
 */
export class IptablesProxier implements ProxyProvider {
  readonly tracker: ChangeTracker;
  /** Rules as last written to the kernel, per service-port key. */
  private applied = new Map<string, ServiceRules>();
  private needFull = true;
  private lastFull = -Infinity;
  lastSuccess: number | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: ProxierOptions) {
    this.now = opts.now ?? Date.now;
    this.tracker = new ChangeTracker({ hostname: opts.hostname, warn: this.warn, metrics: opts.metrics, onChange: opts.onChange, now: this.now });
  }

  private warn = (message: string) => this.opts.log.warn(message);

  /** Forces the next sync to be a full one. */
  forceFullSync(): void {
    this.needFull = true;
  }

  /** Number of programmed service ports and endpoints. */
  get programmed(): { services: number; endpoints: number } {
    let endpoints = 0;
    for (const r of this.applied.values()) endpoints += r.endpoints.length;
    return { services: this.applied.size, endpoints };
  }

  async sync(): Promise<SyncResult> {
    const { applier, log, metrics, node } = this.opts;
    const started = this.now();
    const dirty = this.tracker.takeDirty();
    const next = new Map(this.applied);
    for (const key of dirty) {
      const svc = this.tracker.service(key);
      if (svc) next.set(key, buildServiceRules(svc, this.tracker.endpointsOf(key), node));
      else next.delete(key);
    }
    let kind: SyncResult['kind'];
    try {
      const kernel = await applier.inspect();
      const periodic = started - this.lastFull >= (this.opts.fullResyncMs ?? 3_600_000);
      if (!kernel.canaries && !this.needFull) log.warn('canary rule missing: tables were flushed; full sync');
      let full = this.needFull || periodic || !kernel.canaries;
      kind = 'noop';
      if (!full) {
        const text = renderPartial(this.applied, next, dirty, kernel.jumps);
        if (text) {
          try {
            await applier.restore(text);
            kind = 'partial';
          } catch (err) {
            metrics?.partialRestoreFailures.inc();
            metrics?.restoreFailures.inc();
            log.error({ err: describe(err) }, 'partial restore failed; falling back to a full sync');
            full = true;
          }
        }
      }
      if (full) {
        const stats = await applier.fullSync(sortedValues(next), node, kernel.jumps);
        kind = 'full';
        this.lastFull = started;
        log.info({ services: next.size, restores: stats.restores, staleChains: stats.staleChains }, 'full sync done');
      }
    } catch (err) {
      metrics?.restoreFailures.inc();
      this.tracker.markDirty(dirty);
      this.needFull = true;
      log.error({ err: describe(err) }, 'sync failed; the next sync will be a full one');
      throw err;
    }
    const prev = this.applied;
    this.applied = next;
    this.needFull = false;
    const conntrackDeleted = await this.opts.conntrack.clear(staleConntrack(prev, next, dirty));
    await this.opts.healthChecks?.update(desiredHealthChecks(next.values(), this.warn));
    const end = this.now();
    this.lastSuccess = end;
    this.tracker.synced();
    const seconds = (end - started) / 1000;
    if (metrics) {
      metrics.syncDuration.observe(seconds);
      if (kind === 'full') metrics.fullSyncDuration.observe(seconds);
      if (kind === 'partial') metrics.partialSyncDuration.observe(seconds);
      metrics.lastSyncTimestamp.set(end / 1000);
      metrics.syncs.inc({ kind });
      const p = this.programmed;
      metrics.programmedServices.set(p.services);
      metrics.programmedEndpoints.set(p.endpoints);
    }
    if (kind !== 'noop') log.debug({ kind, changed: dirty.size, ms: end - started, conntrackDeleted }, 'synced');
    return { kind, changed: dirty.size, conntrackDeleted };
  }
}

function sortedValues(m: ReadonlyMap<string, ServiceRules>): ServiceRules[] {
  return [...m.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function describe(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const e = err as Error & { lineNo?: number; lineText?: string };
    return { message: e.message, line: e.lineNo, lineText: e.lineText };
  }
  return { message: String(err) };
}
