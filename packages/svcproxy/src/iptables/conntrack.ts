import { run, type Logger, type Runner } from '@pilot/common';
import { endpointKey, type ServicePortInfo } from '../model.js';
import type { ServiceRules } from './rules.js';

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

/**
 * Deletes stale UDP conntrack entries with the `conntrack` tool. UDP has no
 * connection end, so a client that keeps its source port keeps hitting the
 * entry NATed to a gone endpoint (or to no endpoint at all) until it idles
 * out. TCP is never touched: established flows drain on their endpoint.
 */
export class Conntrack {
  constructor(
    private readonly runner: Runner = run,
    private readonly log?: Logger,
  ) {}

  /** Above this many filters, list once and run only the deletions that match. */
  static readonly LIST_FIRST_ABOVE = 16;

  static argv(f: ConntrackFilter): string[] {
    const argv = ['conntrack', '-D', '-p', 'udp'];
    if (f.origDst) argv.push('--orig-dst', f.origDst);
    if (f.dport !== undefined) argv.push('--dport', String(f.dport));
    if (f.dstNat) argv.push('--dst-nat', f.dstNat);
    return argv;
  }

  /**
   * Runs each deletion; "0 flow entries" is success. Returns how many entries
   * went. Many filters (a restart makes every UDP service "new") are first
   * matched against one listing, so only deletions that find something run.
   */
  async clear(filters: readonly ConntrackFilter[]): Promise<number> {
    let deleted = 0;
    let todo = filters;
    if (filters.length > Conntrack.LIST_FIRST_ABOVE) {
      const listing = await this.runner(['conntrack', '-L', '-p', 'udp'], { check: false });
      if (listing.exitCode === 0) {
        const entries = parseUdpEntries(listing.stdout);
        todo = filters.filter((f) => entries.some((e) => matches(f, e)));
      }
    }
    for (const f of todo) {
      const argv = Conntrack.argv(f);
      const r = await this.runner(argv, { check: false });
      const m = /(\d+) flow entries have been deleted/.exec(r.stderr + r.stdout);
      if (m) {
        deleted += Number(m[1]);
        continue;
      }
      if (r.exitCode !== 0) this.log?.warn({ argv, stderr: r.stderr.trim() }, 'conntrack deletion failed');
    }
    return deleted;
  }
}

/** One UDP flow from `conntrack -L`: original destination and port, and the reply's source (the NATed endpoint). */
export interface UdpEntry {
  origDst: string;
  origDport: number;
  replySrc: string;
}

export function parseUdpEntries(text: string): UdpEntry[] {
  const out: UdpEntry[] = [];
  for (const line of text.split('\n')) {
    const dst = /\bdst=(\S+)/.exec(line);
    const dport = /\bdport=(\d+)/.exec(line);
    const srcs = [...line.matchAll(/\bsrc=(\S+)/g)];
    if (!dst || !dport || srcs.length < 2) continue;
    out.push({ origDst: dst[1]!, origDport: Number(dport[1]), replySrc: srcs[1]![1]! });
  }
  return out;
}

export function matches(f: ConntrackFilter, e: UdpEntry): boolean {
  return (f.origDst === undefined || f.origDst === e.origDst) && (f.dport === undefined || f.dport === e.origDport) && (f.dstNat === undefined || f.dstNat === e.replySrc);
}
