import type { Logger } from '@pilot/common';
import { ChangeTracker } from '../changes.js';
import { endpointsFromEndpoints, servicePortsFromService, type EndpointsLike, type ProxyState, type ServiceLike } from '../model.js';
import type { ProxierMetrics } from '../metrics.js';
import type { UserspaceSyncResult, UserspaceProxier } from './proxier.js';

/**
 * The daemon-facing side of the userspace mode, with the same event
 * handlers as the iptables proxier (so the informer wiring is the same):
 * Service/Endpoints events update the shared model, `sync()` hands the
 * whole model to the proxier. A full hand-over each time is cheap here —
 * unchanged service ports keep their listeners and the rule set is small.
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

const objectKey = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name ?? ''}`;

export class UserspaceProvider {
  readonly tracker = new ChangeTracker();
  lastSuccess: number | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: UserspaceProviderOptions) {
    this.now = opts.now ?? Date.now;
  }

  private warn = (message: string) => this.opts.log.warn(message);

  private changed(kind: 'service' | 'endpoints'): void {
    const m = this.opts.metrics;
    if (m) {
      (kind === 'service' ? m.serviceChanges : m.endpointChanges).inc();
      m.lastQueuedTimestamp.set(this.now() / 1000);
    }
    this.opts.onChange?.();
  }

  onService(svc: ServiceLike): void {
    this.tracker.setService(objectKey(svc), servicePortsFromService(svc, this.warn));
    this.changed('service');
  }

  onServiceDelete(svc: ServiceLike): void {
    this.tracker.setService(objectKey(svc), []);
    this.changed('service');
  }

  onEndpoints(ep: EndpointsLike): void {
    this.tracker.setEndpoints(objectKey(ep), endpointsFromEndpoints(ep, this.opts.hostname, this.warn));
    this.changed('endpoints');
  }

  onEndpointsDelete(ep: EndpointsLike): void {
    this.tracker.setEndpoints(objectKey(ep), new Map());
    this.changed('endpoints');
  }

  /** The whole current model. */
  state(): ProxyState {
    const state: ProxyState = { services: new Map(), endpoints: new Map() };
    for (const key of this.tracker.serviceKeysAll()) {
      const svc = this.tracker.service(key);
      if (!svc) continue;
      state.services.set(key, svc);
      state.endpoints.set(key, this.tracker.endpointsOf(key));
    }
    return state;
  }

  async sync(): Promise<UserspaceSyncResult> {
    const dirty = this.tracker.takeDirty();
    const started = this.now();
    const m = this.opts.metrics;
    try {
      const state = this.state();
      const r = await this.opts.proxier.sync(state);
      for (const s of r.skipped) this.opts.log.warn(s);
      this.lastSuccess = this.now();
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
