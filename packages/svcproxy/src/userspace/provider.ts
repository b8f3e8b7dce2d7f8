import type { Logger } from '@pilot/common';
import { ChangeTracker, type ProxyProvider } from '../change-tracker.js';
import type { ProxierMetrics } from '../metrics.js';
import type { UserspaceSyncResult, UserspaceProxier } from './proxier.js';

/**
 * The userspace mode's side of the daemon: the same change tracker as the
 * iptables proxier (so the informer wiring and the EndpointSlice handling
 * are the same); `sync()` hands the whole model to the proxier. A full
 * hand-over each time is cheap here — unchanged service ports keep their
 * listeners and the rule set is small.
 */
export interface UserspaceProviderOptions {
  proxier: UserspaceProxier;
  log: Logger;
  /** This host's node name (marks local endpoints). */
  hostname?: string;
  /** Called when something changed and a sync should be scheduled. */
  onChange?: () => void;
  /** The iptables mode's sync metrics, so both modes export the same names (every sync counts as kind "full"). */
  metrics?: ProxierMetrics;
  now?: () => number;
}

export class UserspaceProvider implements ProxyProvider {
  readonly tracker: ChangeTracker;
  lastSuccess: number | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: UserspaceProviderOptions) {
    this.now = opts.now ?? Date.now;
    this.tracker = new ChangeTracker({ hostname: opts.hostname, warn: (m) => opts.log.warn(m), metrics: opts.metrics, onChange: opts.onChange, now: this.now });
  }

  async sync(): Promise<UserspaceSyncResult> {
    const dirty = this.tracker.takeDirty();
    const started = this.now();
    const m = this.opts.metrics;
    try {
      const state = this.tracker.state();
      const r = await this.opts.proxier.sync(state);
      for (const s of r.skipped) this.opts.log.warn(s);
      this.lastSuccess = this.now();
      this.tracker.synced();
      if (m) {
        const seconds = (this.lastSuccess - started) / 1000;
        m.syncDuration.observe(seconds);
        m.fullSyncDuration.observe(seconds);
        m.lastSyncTimestamp.set(this.lastSuccess / 1000);
        m.syncs.inc({ kind: 'full' });
        m.programmedServices.set(r.services);
        let eps = 0;
        for (const list of state.endpoints.values()) eps += list.filter((e) => e.ready).length;
        m.programmedEndpoints.set(eps);
      }
      if (dirty.size) this.opts.log.info({ services: r.services, withEndpoints: r.withEndpoints, changed: dirty.size }, 'userspace sync done');
      return r;
    } catch (err) {
      m?.restoreFailures.inc();
      this.tracker.markDirty(dirty);
      this.opts.log.error({ err: (err as Error).message }, 'userspace sync failed');
      throw err;
    }
  }
}
