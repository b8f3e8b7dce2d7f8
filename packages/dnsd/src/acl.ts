import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * Who may use dnsd as a recursive resolver. The cluster zone is answered to
 * anyone; forwarding only to these networks, everyone else gets REFUSED —
 * never an open resolver.
 */
export class RecursionAcl {
  private readonly list = new BlockList();
  /** Decisions by source address: the networks never change, so a decision never goes stale. */
  private readonly decisions = new Map<string, boolean>();

  constructor(readonly networks: string[]) {
    for (const n of networks) {
      const [net, len] = n.split('/') as [string, string | undefined];
      const family = isIPv6(net) ? 'ipv6' : 'ipv4';
      if (!isIPv4(net) && !isIPv6(net)) throw new Error(`recursion network "${n}" is not an address or CIDR`);
      const max = family === 'ipv6' ? 128 : 32;
      const prefix = len === undefined ? max : Number(len);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (len !== undefined && !/^\d+$/.test(len))) {
        throw new Error(`recursion network "${n}" has a bad prefix length`);
      }
      this.list.addSubnet(net, prefix, family);
    }
  }

  allows(ip: string): boolean {
    // BlockList.check builds a SocketAddress per call: too dear per query.
    let ok = this.decisions.get(ip);
    if (ok === undefined) {
      ok = this.check(ip);
      // Bounded: a flood from many sources costs a clear, never unbounded memory.
      if (this.decisions.size >= MAX_DECISIONS) this.decisions.clear();
      this.decisions.set(ip, ok);
    }
    return ok;
  }

  private check(ip: string): boolean {
    // IPv4-mapped IPv6 sources (dual-stack TCP sockets) are checked as IPv4.
    const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
    return this.list.check(v4, isIPv6(v4) ? 'ipv6' : 'ipv4');
  }
}

const MAX_DECISIONS = 4096;

/** The networks of this namespace's own interfaces, as CIDRs (netns-aware: getifaddrs). */
export function localNetworks(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (!a.cidr) continue;
      const [ip, len] = a.cidr.split('/') as [string, string];
      out.push(`${networkOf(ip, Number(len))}/${len}`);
    }
  }
  return out;
}

/** Every address of this namespace's interfaces. */
export function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address));
}

function networkOf(ip: string, len: number): string {
  if (!isIPv4(ip)) return ip; // BlockList masks v6 itself
  const n = ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const m = (n & mask) >>> 0;
  return [m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join('.');
}

/** The default: the pod network, the subnets of our own interfaces, loopback. */
export function defaultRecursionNetworks(clusterCidr: string | undefined): string[] {
  return [...new Set([...(clusterCidr ? [clusterCidr] : []), ...localNetworks(), '127.0.0.0/8', '::1/128'])];
}
