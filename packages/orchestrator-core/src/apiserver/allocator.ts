import { Cidr, intToIp, ipToInt, isIPv4 } from '@pilot/common';

/**
 * Service ClusterIP and NodePort allocation. Each taken IP or port is one etcd
 * key (`<prefix>/ranges/serviceips/<ip>`, `<prefix>/ranges/servicenodeports/<port>`)
 * created with a `version == 0` guard in the same transaction as the Service,
 * so two concurrent creates can never both get one address: the loser's
 * transaction fails and it picks again. Deleting the Service deletes the keys
 * in the same transaction. The choice itself is pure (below).
 */

/** Addresses at offsets below this are handed out only when the rest is full (10.0.0.1, 10.0.0.10 stay free). */
export const LOW_BAND = 16;

export class IpAllocator {
  constructor(
    readonly range: Cidr,
    readonly keyPrefix: string,
  ) {}

  keyFor(ip: string): string {
    return `${this.keyPrefix}${ip}`;
  }

  ipOfKey(key: string): string {
    return key.slice(this.keyPrefix.length);
  }

  /** Why `ip` cannot be requested, or undefined when it is inside the range and usable. */
  problem(ip: string): string | undefined {
    if (!isIPv4(ip)) return `must be a valid IPv4 address`;
    if (!this.range.contains(ip)) return `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.range.toString()}`;
    const n = ipToInt(ip);
    if (n === this.range.base || (this.range.prefix < 31 && n === this.range.last)) return `the provided IP (${ip}) is the network or broadcast address of ${this.range.toString()}`;
    return undefined;
  }

  /** A random free address, avoiding the low band while anything above it is free. */
  choose(taken: ReadonlySet<string>, random: () => number = Math.random): string | undefined {
    return chooseIp(this.range, taken, random);
  }
}

export function chooseIp(range: Cidr, taken: ReadonlySet<string>, random: () => number = Math.random): string | undefined {
  const first = 1;
  const last = range.prefix < 31 ? range.size - 2 : range.size - 1;
  const pick = (lo: number, hi: number): string | undefined => {
    const count = hi - lo + 1;
    if (count <= 0) return undefined;
    // Random start, then walk: spreads concurrent creators, still finds the last free one.
    const start = Math.floor(random() * count);
    for (let i = 0; i < count; i++) {
      const ip = intToIp((range.base + lo + ((start + i) % count)) >>> 0);
      if (!taken.has(ip)) return ip;
    }
    return undefined;
  };
  return pick(Math.max(first, LOW_BAND), last) ?? pick(first, Math.min(LOW_BAND - 1, last));
}

export interface PortRange {
  min: number;
  max: number;
}

export function parsePortRange(s: string): PortRange {
  const m = /^(\d+)-(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`invalid port range "${s}": want <min>-<max>, e.g. 30000-32767`);
  const min = Number(m[1]);
  const max = Number(m[2]);
  if (min < 1 || max > 65535 || min > max) throw new Error(`invalid port range "${s}": need 1 <= min <= max <= 65535`);
  return { min, max };
}

export class PortAllocator {
  constructor(
    readonly range: PortRange,
    readonly keyPrefix: string,
  ) {}

  keyFor(port: number): string {
    return `${this.keyPrefix}${port}`;
  }

  portOfKey(key: string): number {
    return Number(key.slice(this.keyPrefix.length));
  }

  problem(port: number): string | undefined {
    if (!Number.isInteger(port) || port < this.range.min || port > this.range.max)
      return `provided port is not in the valid range. The range of valid ports is ${this.range.min}-${this.range.max}`;
    return undefined;
  }

  /** `count` distinct random free ports (fewer when the range is exhausted). */
  choose(taken: ReadonlySet<number>, count: number, random: () => number = Math.random): number[] {
    const size = this.range.max - this.range.min + 1;
    const out: number[] = [];
    const start = Math.floor(random() * size);
    for (let i = 0; i < size && out.length < count; i++) {
      const p = this.range.min + ((start + i) % size);
      if (!taken.has(p)) out.push(p);
    }
    return out;
  }
}
