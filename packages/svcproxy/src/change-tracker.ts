import { keyOf } from '@pilot/api';
import type { Counter, Gauge, Histogram } from 'prom-client';
import {
  endpointsFromEndpoints,
  endpointsFromSlices,
  servicePortKey,
  servicePortsFromService,
  SERVICE_NAME_LABEL,
  TRIGGER_TIME_ANNOTATION,
  type EndpointInfo,
  type EndpointSliceLike,
  type EndpointsLike,
  type ProxyState,
  type ServiceLike,
  type ServicePortInfo,
  type Warn,
} from './model.js';

/**
 * The mode-neutral front end both proxiers embed (kube-proxy's
 * servicechangetracker + endpointschangetracker): Service, Endpoints and
 * EndpointSlice events in, the model out — service ports and their
 * endpoints by ServicePortName — plus the keys whose data really changed
 * since the last sync, so a resync of unchanged objects costs nothing.
 * The iptables proxier renders the dirty keys into a partial restore; the
 * userspace proxier hands the whole model to its listeners. Neither knows
 * about API objects.
 */

/** The change counters the tracker keeps (kube-proxy's names; see metrics.ts). */
export interface ChangeMetrics {
  serviceChanges: Counter;
  endpointChanges: Counter;
  lastQueuedTimestamp: Gauge;
  serviceChangesPending: Gauge;
  endpointChangesPending: Gauge;
  /** Trigger time → rules in place, per endpoints change (kube-proxy's network programming latency SLI). */
  networkProgrammingDuration: Histogram;
}

export interface ChangeTrackerOptions {
  /** This host's node name (marks local endpoints). */
  hostname?: string;
  /** What was skipped, naming the object and field. */
  warn?: Warn;
  metrics?: ChangeMetrics;
  /** Something changed: a sync should be scheduled. */
  onChange?: () => void;
  now?: () => number;
}

/** What each mode offers the daemon: the tracker to feed informer events to, and syncs. */
export interface ProxyProvider {
  readonly tracker: ChangeTracker;
  sync(): Promise<unknown>;
  readonly lastSuccess: number | undefined;
}

export class ChangeTracker {
  private readonly services = new Map<string, ServicePortInfo>();
  private readonly endpoints = new Map<string, EndpointInfo[]>();
  /** Object key (`ns/name` of a Service / Endpoints, or of the Service a slice belongs to) → the port keys it produced. */
  private readonly serviceKeys = new Map<string, string[]>();
  private readonly endpointKeys = new Map<string, string[]>();
  /** EndpointSlices per Service object key, by slice name: a service's endpoints are all its slices. */
  private readonly slices = new Map<string, Map<string, EndpointSliceLike>>();
  private dirty = new Set<string>();
  /** Objects changed since the last sync, for the *_changes_pending gauges. */
  private pendingServices = new Set<string>();
  private pendingEndpoints = new Set<string>();
  /** Trigger times (ms) of endpoints changes not yet synced, and of those the sync in progress carries. */
  private triggers: number[] = [];
  private inFlight: number[] = [];
  /** When a change last asked for a sync (ms). */
  lastQueued: number | undefined;
  private readonly warn: Warn;
  private readonly now: () => number;

  constructor(private readonly opts: ChangeTrackerOptions = {}) {
    this.warn = opts.warn ?? (() => undefined);
    this.now = opts.now ?? Date.now;
  }

  // ------------------------------------------------------------ events

  onService(svc: ServiceLike): void {
    this.setService(keyOf(svc), servicePortsFromService(svc, this.warn));
    this.pendingServices.add(keyOf(svc));
    this.changed(this.opts.metrics?.serviceChanges);
  }

  onServiceDelete(svc: ServiceLike): void {
    this.setService(keyOf(svc), []);
    this.pendingServices.add(keyOf(svc));
    this.changed(this.opts.metrics?.serviceChanges);
  }

  onEndpoints(ep: EndpointsLike): void {
    if (this.setEndpoints(keyOf(ep), endpointsFromEndpoints(ep, this.opts.hostname, this.warn))) this.trigger(ep.metadata);
    this.pendingEndpoints.add(keyOf(ep));
    this.changed(this.opts.metrics?.endpointChanges);
  }

  onEndpointsDelete(ep: EndpointsLike): void {
    this.setEndpoints(keyOf(ep), new Map());
    this.pendingEndpoints.add(keyOf(ep));
    this.changed(this.opts.metrics?.endpointChanges);
  }

  /** A slice added or updated; merged with the other slices of its service (`kubernetes.io/service-name`). */
  onEndpointSlice(slice: EndpointSliceLike): void {
    this.updateSlice(slice, false);
  }

  onEndpointSliceDelete(slice: EndpointSliceLike): void {
    this.updateSlice(slice, true);
  }

  private updateSlice(slice: EndpointSliceLike, deleted: boolean): void {
    const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!service) {
      this.warn(`endpointslice ${keyOf(slice)}: no ${SERVICE_NAME_LABEL} label; ignored`);
      return;
    }
    const svcKey = keyOf({ metadata: { namespace: slice.metadata.namespace, name: service } });
    let m = this.slices.get(svcKey);
    if (!m) this.slices.set(svcKey, (m = new Map()));
    if (deleted) m.delete(slice.metadata.name ?? '');
    else m.set(slice.metadata.name ?? '', slice);
    if (m.size === 0) this.slices.delete(svcKey);
    if (this.setEndpoints(svcKey, endpointsFromSlices([...m.values()], this.opts.hostname, this.warn)) && !deleted) this.trigger(slice.metadata);
    this.pendingEndpoints.add(svcKey);
    this.changed(this.opts.metrics?.endpointChanges);
  }

  private changed(counter: Counter | undefined): void {
    this.lastQueued = this.now();
    counter?.inc();
    const m = this.opts.metrics;
    m?.lastQueuedTimestamp.set(this.lastQueued / 1000);
    m?.serviceChangesPending.set(this.pendingServices.size);
    m?.endpointChangesPending.set(this.pendingEndpoints.size);
    this.opts.onChange?.();
  }

  /** Remembers a changed object's trigger time (RFC 3339, as the endpoints controller writes it); none or unreadable: nothing to measure. */
  private trigger(meta: EndpointsLike['metadata']): void {
    const at = Date.parse(meta.annotations?.[TRIGGER_TIME_ANNOTATION] ?? '');
    if (Number.isFinite(at)) this.triggers.push(at);
  }

  /**
   * The sync that took the last dirty keys succeeded: each endpoints change
   * it carried is observed as trigger time → now (kube-proxy observes after
   * its restore, the same point).
   */
  synced(): void {
    const h = this.opts.metrics?.networkProgrammingDuration;
    if (h) {
      const now = this.now();
      for (const t of this.inFlight) h.observe(Math.max(0, now - t) / 1000);
    }
    this.inFlight = [];
  }

  // ------------------------------------------------------------- model

  /** Replaces every port of the Service `objectKey` (an empty list deletes it). */
  setService(objectKey: string, ports: readonly ServicePortInfo[]): void {
    this.replace(this.services, this.serviceKeys, objectKey, new Map(ports.map((p) => [servicePortKey(p), p])));
  }

  /** Replaces the endpoints of `objectKey`, per port key (an empty map deletes them); true when any port's endpoints changed. */
  setEndpoints(objectKey: string, byPort: ReadonlyMap<string, EndpointInfo[]>): boolean {
    return this.replace(this.endpoints, this.endpointKeys, objectKey, byPort);
  }

  /** What one object contributes to `store`, replaced; a port key is dirty only when its data differs. True when one did. */
  private replace<V>(store: Map<string, V>, byObject: Map<string, string[]>, objectKey: string, next: ReadonlyMap<string, V>): boolean {
    let changed = false;
    for (const k of byObject.get(objectKey) ?? []) if (!next.has(k)) {
      store.delete(k);
      this.dirty.add(k);
      changed = true;
    }
    for (const [k, v] of next) {
      const prev = store.get(k);
      if (prev === undefined || JSON.stringify(prev) !== JSON.stringify(v)) {
        this.dirty.add(k);
        changed = true;
      }
      store.set(k, v);
    }
    if (next.size) byObject.set(objectKey, [...next.keys()]);
    else byObject.delete(objectKey);
    return changed;
  }

  /** Keys changed since the last call; the tracker starts a new interval (the changes' trigger times go with this sync). */
  takeDirty(): Set<string> {
    const d = this.dirty;
    this.dirty = new Set();
    this.inFlight.push(...this.triggers);
    this.triggers = [];
    this.pendingServices.clear();
    this.pendingEndpoints.clear();
    this.opts.metrics?.serviceChangesPending.set(0);
    this.opts.metrics?.endpointChangesPending.set(0);
    return d;
  }

  /** Marks keys dirty again (a sync that failed must retry them, and measure its changes when one succeeds). */
  markDirty(keys: Iterable<string>): void {
    for (const k of keys) this.dirty.add(k);
    this.triggers.unshift(...this.inFlight);
    this.inFlight = [];
  }

  get pending(): number {
    return this.dirty.size;
  }

  service(key: string): ServicePortInfo | undefined {
    return this.services.get(key);
  }

  endpointsOf(key: string): EndpointInfo[] {
    return this.endpoints.get(key) ?? [];
  }

  servicePortKeys(): IterableIterator<string> {
    return this.services.keys();
  }

  /** The whole current model: every service port with its endpoints. */
  state(): ProxyState {
    const state: ProxyState = { services: new Map(), endpoints: new Map() };
    for (const [key, svc] of this.services) {
      state.services.set(key, svc);
      state.endpoints.set(key, this.endpointsOf(key));
    }
    return state;
  }
}
