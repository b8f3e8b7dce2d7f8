import ipaddr from 'ipaddr.js';
import type { EndpointAddressRecord, EndpointSetRecord, EndpointsRecord, ServiceRecord } from './records.js';

/** A PTR target: the service (or endpoint) name an IP belongs to, relative to the zone. */
export interface ReverseEntry {
  /** e.g. "frontend.default.svc" or "web-0.nginx.default.svc" (zone appended by the answerer). */
  relName: string;
}

export type IndexListener = () => void;

/**
 * The records dnsd answers from: slim services, endpoints and namespaces,
 * plus a reverse (IP → names) map rebuilt lazily. Every change bumps
 * `version` (the answer cache's invalidation signal) and the SOA `serial`
 * (Unix time of the last change, as CoreDNS does).
 */
/** Index key of a service's records: lowercase `namespace/name`, as DNS names compare (not @pilot/api's keyOf of an object). */
const recordKey = (namespace: string, name: string) => `${namespace}/${name}`;

export class ZoneIndex {
  private readonly services = new Map<string, ServiceRecord>();
  /** "ns/svc" → source ("endpoints" | "slice/<name>") → record. */
  private readonly endpoints = new Map<string, Map<string, EndpointsRecord>>();
  private readonly namespaces = new Set<string>();
  private readonly nsServiceCount = new Map<string, number>();
  private reverseMap: Map<string, ReverseEntry[]> | undefined;
  private readonly listeners = new Set<IndexListener>();
  private syncedFlag = false;
  version = 0;
  serial: number;

  constructor(private readonly now: () => number = Date.now) {
    this.serial = Math.floor(this.now() / 1000);
  }

  get synced(): boolean {
    return this.syncedFlag;
  }

  /** The source has delivered its initial state; negatives are authoritative from now on. */
  markSynced(): void {
    if (this.syncedFlag) return;
    this.syncedFlag = true;
    this.changed();
  }

  onChange(fn: IndexListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    this.version++;
    this.serial = Math.max(this.serial, Math.floor(this.now() / 1000));
    this.reverseMap = undefined;
    for (const fn of this.listeners) fn();
  }

  upsertService(s: ServiceRecord): void {
    this.putService(s);
    this.changed();
  }

  private putService(s: ServiceRecord): void {
    const key = recordKey(s.namespace, s.name);
    if (!this.services.has(key)) this.nsServiceCount.set(s.namespace, (this.nsServiceCount.get(s.namespace) ?? 0) + 1);
    this.services.set(key, s);
  }

  deleteService(namespace: string, name: string): void {
    const key = recordKey(namespace.toLowerCase(), name.toLowerCase());
    const s = this.services.get(key);
    if (!s) return;
    this.services.delete(key);
    const n = (this.nsServiceCount.get(s.namespace) ?? 1) - 1;
    if (n <= 0) this.nsServiceCount.delete(s.namespace);
    else this.nsServiceCount.set(s.namespace, n);
    this.changed();
  }

  upsertEndpoints(e: EndpointsRecord): void {
    this.putEndpoints(e);
    this.changed();
  }

  private putEndpoints(e: EndpointsRecord): void {
    const key = recordKey(e.namespace, e.service);
    let bySource = this.endpoints.get(key);
    if (!bySource) this.endpoints.set(key, (bySource = new Map()));
    bySource.set(e.source, e);
  }

  deleteEndpoints(namespace: string, service: string, source: string): void {
    const key = recordKey(namespace.toLowerCase(), service.toLowerCase());
    const bySource = this.endpoints.get(key);
    if (!bySource?.delete(source)) return;
    if (bySource.size === 0) this.endpoints.delete(key);
    this.changed();
  }

  upsertNamespace(name: string): void {
    const n = name.toLowerCase();
    if (this.namespaces.has(n)) return;
    this.namespaces.add(n);
    this.changed();
  }

  deleteNamespace(name: string): void {
    if (this.namespaces.delete(name.toLowerCase())) this.changed();
  }

  /** Replaces everything at once (a relist or a static file reload): one change. */
  replaceAll(state: { services: ServiceRecord[]; endpoints: EndpointsRecord[]; namespaces: string[] }): void {
    this.services.clear();
    this.endpoints.clear();
    this.namespaces.clear();
    this.nsServiceCount.clear();
    for (const s of state.services) this.putService(s);
    for (const e of state.endpoints) this.putEndpoints(e);
    for (const n of state.namespaces) this.namespaces.add(n.toLowerCase());
    this.changed();
  }

  service(namespace: string, name: string): ServiceRecord | undefined {
    return this.services.get(recordKey(namespace, name));
  }

  /**
   * A namespace exists when the source reported it, or — for sources that do
   * not watch namespaces — when a service lives in it.
   */
  hasNamespace(namespace: string): boolean {
    return this.namespaces.has(namespace) || this.nsServiceCount.has(namespace);
  }

  /**
   * The endpoint sets of a service. EndpointSlices win over the Endpoints
   * object when both exist, so an address is never counted twice.
   */
  endpointSets(namespace: string, service: string): EndpointSetRecord[] {
    const bySource = this.endpoints.get(recordKey(namespace, service));
    if (!bySource) return [];
    const slices = [...bySource.values()].filter((e) => e.source !== 'endpoints');
    const chosen = slices.length > 0 ? slices : [...bySource.values()];
    return chosen.flatMap((e) => e.sets);
  }

  /** Addresses DNS publishes for a service: ready ones, or all with publishNotReadyAddresses. */
  publishedAddresses(svc: ServiceRecord): { address: EndpointAddressRecord; set: EndpointSetRecord }[] {
    const out: { address: EndpointAddressRecord; set: EndpointSetRecord }[] = [];
    for (const set of this.endpointSets(svc.namespace, svc.name)) {
      for (const address of set.addresses) if (address.ready || svc.publishNotReady) out.push({ address, set });
    }
    return out;
  }

  /** PTR targets of an IP: cluster IPs first, then endpoint IPs of headless services. */
  reverse(ip: string): ReverseEntry[] {
    if (!this.reverseMap) this.reverseMap = this.buildReverse();
    return this.reverseMap.get(ip) ?? [];
  }

  private buildReverse(): Map<string, ReverseEntry[]> {
    const m = new Map<string, ReverseEntry[]>();
    const add = (ip: string, relName: string) => {
      const key = canonicalIp(ip);
      const list = m.get(key) ?? [];
      if (!list.some((e) => e.relName === relName)) list.push({ relName });
      m.set(key, list);
    };
    for (const s of this.services.values()) for (const ip of s.clusterIPs) add(ip, `${s.name}.${s.namespace}.svc`);
    for (const s of this.services.values()) {
      if (!s.headless) continue;
      for (const { address } of this.publishedAddresses(s)) add(address.ip, `${address.hostname}.${s.name}.${s.namespace}.svc`);
    }
    return m;
  }

  counts(): { services: number; endpoints: number; namespaces: number } {
    let endpoints = 0;
    for (const bySource of this.endpoints.values()) endpoints += bySource.size;
    return { services: this.services.size, endpoints, namespaces: this.namespaces.size };
  }
}

/**
 * One spelling per address so reverse lookups match however the API wrote
 * it (`fd00::1`, `fd00:0::01`, `::ffff:10.1.2.3` with an embedded IPv4).
 * Not an IPv6 address: returned as given.
 */
export function canonicalIp(ip: string): string {
  if (!ip.includes(':') || !ipaddr.IPv6.isValid(ip)) return ip;
  return ipaddr.IPv6.parse(ip).toNormalizedString();
}
