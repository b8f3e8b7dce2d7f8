import { formatRule, renderRestore } from '@pilot/common';
import { endpointKey, keyOf, type EndpointInfo, type ServicePortInfo } from './model.js';
import { CHAIN, type Args, type ServiceRules, type TableLines } from './iptables/rules.js';

/**
 * What changed since the last sync. Service and Endpoints events replace the
 * model entries of one object; a service-port key is marked dirty only when
 * its data really differs, so a resync of unchanged objects costs nothing.
 */
export class ChangeTracker {
  private readonly services = new Map<string, ServicePortInfo>();
  private readonly endpoints = new Map<string, EndpointInfo[]>();
  /** `ns/name` of a Service / Endpoints object → the port keys it produced. */
  private readonly serviceKeys = new Map<string, string[]>();
  private readonly endpointKeys = new Map<string, string[]>();
  private dirty = new Set<string>();

  /** Replaces every port of Service `ns/name` (an empty list deletes it). */
  setService(objectKey: string, ports: readonly ServicePortInfo[]): void {
    const old = this.serviceKeys.get(objectKey) ?? [];
    const next = new Map(ports.map((p) => [keyOf(p), p]));
    for (const k of old) if (!next.has(k)) {
      this.services.delete(k);
      this.dirty.add(k);
    }
    for (const [k, p] of next) {
      const prev = this.services.get(k);
      if (!prev || JSON.stringify(prev) !== JSON.stringify(p)) this.dirty.add(k);
      this.services.set(k, p);
    }
    if (next.size) this.serviceKeys.set(objectKey, [...next.keys()]);
    else this.serviceKeys.delete(objectKey);
  }

  /** Replaces the endpoints of Endpoints `ns/name`, per port key (an empty map deletes them). */
  setEndpoints(objectKey: string, byPort: ReadonlyMap<string, EndpointInfo[]>): void {
    const old = this.endpointKeys.get(objectKey) ?? [];
    for (const k of old) if (!byPort.has(k)) {
      this.endpoints.delete(k);
      this.dirty.add(k);
    }
    for (const [k, eps] of byPort) {
      const prev = this.endpoints.get(k);
      if (!prev || JSON.stringify(prev) !== JSON.stringify(eps)) this.dirty.add(k);
      this.endpoints.set(k, eps);
    }
    if (byPort.size) this.endpointKeys.set(objectKey, [...byPort.keys()]);
    else this.endpointKeys.delete(objectKey);
  }

  /** Keys changed since the last call; the tracker starts a new interval. */
  takeDirty(): Set<string> {
    const d = this.dirty;
    this.dirty = new Set();
    return d;
  }

  /** Marks keys dirty again (a sync that failed must retry them). */
  markDirty(keys: Iterable<string>): void {
    for (const k of keys) this.dirty.add(k);
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

  serviceKeysAll(): IterableIterator<string> {
    return this.services.keys();
  }
}

function ruleSet(rules: readonly Args[]): Map<string, Args> {
  return new Map(rules.map((r) => [r.join('\u0000'), r]));
}

/** -D lines for rules that went away, then `add` lines for rules that are new. */
function diffRules(chain: string, before: readonly Args[], after: readonly Args[], add: (r: Args) => string, out: { del: string[]; add: string[] }): void {
  const b = ruleSet(before);
  const a = ruleSet(after);
  for (const [k, r] of b) if (!a.has(k)) out.del.push(formatRule('-D', chain, r));
  for (const [k, r] of a) if (!b.has(k)) out.add.push(add(r));
}

/**
 * A partial restore for the changed service ports only: their own chains
 * rewritten, their entries in the shared chains removed with -D and added with
 * -I at position 1 (so the nodeports jump stays last in KUBE-SERVICES) or -A
 * where order does not matter, and chains nobody uses any more flushed and
 * deleted — all in one atomic restore. Returns undefined when nothing differs.
 */
export function renderPartial(
  prev: ReadonlyMap<string, ServiceRules>,
  next: ReadonlyMap<string, ServiceRules>,
  keys: Iterable<string>,
  jumps: TableLines = { nat: [], filter: [] },
): string | undefined {
  const natChains: string[] = [];
  const natRules: string[] = [];
  const stale: string[] = [];
  const nat = { del: [] as string[], add: [] as string[] };
  const natNp = { del: [] as string[], add: [] as string[] };
  const filter = { del: [] as string[], add: [] as string[] };
  for (const key of keys) {
    const a = prev.get(key);
    const b = next.get(key);
    if (a && b && a.signature === b.signature) continue;
    diffRules(CHAIN.services, a?.natServices ?? [], b?.natServices ?? [], (r) => formatRule('-I', CHAIN.services, ['1', ...r]), nat);
    diffRules(CHAIN.nodePorts, a?.natNodePorts ?? [], b?.natNodePorts ?? [], (r) => formatRule('-A', CHAIN.nodePorts, r), natNp);
    diffRules(CHAIN.services, a?.filterServices ?? [], b?.filterServices ?? [], (r) => formatRule('-A', CHAIN.services, r), filter);
    diffRules(CHAIN.externalServices, a?.filterExternal ?? [], b?.filterExternal ?? [], (r) => formatRule('-A', CHAIN.externalServices, r), filter);
    diffRules(CHAIN.nodePorts, a?.filterNodePorts ?? [], b?.filterNodePorts ?? [], (r) => formatRule('-A', CHAIN.nodePorts, r), filter);
    diffRules(CHAIN.firewall, a?.filterFirewall ?? [], b?.filterFirewall ?? [], (r) => formatRule('-A', CHAIN.firewall, r), filter);
    const keep = new Set<string>();
    for (const c of b?.natChains ?? []) {
      keep.add(c.name);
      natChains.push(c.name);
      for (const r of c.rules) natRules.push(formatRule('-A', c.name, r));
    }
    for (const c of a?.natChains ?? []) if (!keep.has(c.name)) stale.push(c.name);
  }
  if (!natChains.length && !stale.length && !nat.del.length && !nat.add.length && !natNp.del.length && !natNp.add.length && !filter.del.length && !filter.add.length && !jumps.nat.length && !jumps.filter.length) {
    return undefined;
  }
  // Order inside the nat transaction: references to going-away chains are
  // removed (-D) before those chains are deleted (-X); new chains are filled
  // before KUBE-SERVICES jumps into them.
  return renderRestore([
    { name: 'filter', chains: [], lines: [...filter.del, ...filter.add, ...jumps.filter] },
    {
      name: 'nat',
      chains: [...natChains, ...stale].map((name) => ({ name })),
      lines: [...nat.del, ...natNp.del, ...natRules, ...nat.add, ...natNp.add, ...jumps.nat, ...stale.map((c) => `-X ${c}`)],
    },
  ]);
}

/** One `conntrack -D -p udp ...` filter. */
export interface ConntrackFilter {
  origDst?: string;
  dport?: number;
  dstNat?: string;
}

function udpEntryIPs(s: ServicePortInfo): string[] {
  return [s.clusterIP, ...s.externalIPs, ...s.loadBalancerIPs];
}

/**
 * Stale UDP conntrack entries after a change (never TCP: established TCP
 * flows keep their endpoint while it drains):
 * - an endpoint removed → entries to each service IP NATed to it, and to the
 *   NodePort NATed to it;
 * - a service port going from 0 to >0 endpoints → every entry to its IPs and
 *   NodePort (kube-proxy #48370: a client's cached flow otherwise blackholes);
 * - a service port deleted → every entry to its IPs.
 */
export function staleConntrack(prev: ReadonlyMap<string, ServiceRules>, next: ReadonlyMap<string, ServiceRules>, keys: Iterable<string>): ConntrackFilter[] {
  const out: ConntrackFilter[] = [];
  const seen = new Set<string>();
  const push = (f: ConntrackFilter) => {
    const k = JSON.stringify(f);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(f);
    }
  };
  for (const key of keys) {
    const a = prev.get(key);
    const b = next.get(key);
    const was = a && a.svc.protocol === 'UDP' ? a : undefined;
    const now = b && b.svc.protocol === 'UDP' ? b : undefined;
    if (!was && !now) continue;
    if (was && !now) {
      for (const ip of udpEntryIPs(was.svc)) push({ origDst: ip });
      continue;
    }
    const cur = now!;
    if ((!was || was.endpoints.length === 0) && cur.endpoints.length > 0) {
      for (const ip of udpEntryIPs(cur.svc)) push({ origDst: ip });
      if (cur.svc.nodePort !== undefined) push({ dport: cur.svc.nodePort });
      continue;
    }
    if (!was) continue;
    const still = new Set(cur.endpoints.map(endpointKey));
    for (const e of was.endpoints) {
      if (still.has(endpointKey(e))) continue;
      for (const ip of udpEntryIPs(was.svc)) push({ origDst: ip, dstNat: e.ip });
      if (was.svc.nodePort !== undefined) push({ dport: was.svc.nodePort, dstNat: e.ip });
    }
    // Service IPs that were dropped from the service (an external IP removed).
    const ips = new Set(udpEntryIPs(cur.svc));
    for (const ip of udpEntryIPs(was.svc)) if (!ips.has(ip)) push({ origDst: ip });
  }
  return out;
}
