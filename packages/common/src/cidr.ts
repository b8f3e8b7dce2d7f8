import ipaddr from 'ipaddr.js';

/**
 * IPv4 address and prefix math. Addresses are kept as unsigned 32-bit
 * numbers so subnet walks and comparisons are plain arithmetic; parsing and
 * validation go through ipaddr.js.
 */

export class CidrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CidrError';
  }
}

export function isIPv4(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s);
}

export function isIP(s: string): boolean {
  return ipaddr.isValid(s) && (isIPv4(s) || ipaddr.IPv6.isValid(s));
}

/** A loopback address: 127.0.0.0/8 or ::1 (never published, never a service endpoint). */
export function isLoopback(ip: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip) || ip === '::1';
}

export function ipToInt(ip: string): number {
  if (!isIPv4(ip)) throw new CidrError(`not an IPv4 address: "${ip}"`);
  const [a, b, c, d] = ipaddr.IPv4.parse(ip).octets as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function intToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** An IPv4 network: base address (host bits zero) and prefix length. */
export class Cidr {
  readonly base: number;

  constructor(
    base: number,
    readonly prefix: number,
  ) {
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new CidrError(`prefix length out of range: ${prefix}`);
    this.base = (base & maskOf(prefix)) >>> 0;
  }

  /** Parses "a.b.c.d/len"; host bits must be zero unless `loose` is set. */
  static parse(s: string, opts: { loose?: boolean } = {}): Cidr {
    const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s.trim());
    if (!m || !isIPv4(m[1]!)) throw new CidrError(`not an IPv4 CIDR: "${s}"`);
    const prefix = Number(m[2]);
    if (prefix > 32) throw new CidrError(`prefix length out of range in "${s}"`);
    const ip = ipToInt(m[1]!);
    const c = new Cidr(ip, prefix);
    if (!opts.loose && c.base !== ip) throw new CidrError(`"${s}" has host bits set (network is ${c.toString()})`);
    return c;
  }

  /** Parses "a.b.c.d/len" keeping the host part: returns the address and its network. */
  static parseInterface(s: string): { ip: string; cidr: Cidr } {
    const cidr = Cidr.parse(s, { loose: true });
    return { ip: s.trim().split('/')[0]!, cidr };
  }

  get mask(): number {
    return maskOf(this.prefix);
  }

  get size(): number {
    return 2 ** (32 - this.prefix);
  }

  get network(): string {
    return intToIp(this.base);
  }

  get last(): number {
    return (this.base + this.size - 1) >>> 0;
  }

  /** The i-th address of the network (0 = network address). */
  nth(i: number): string {
    if (i < 0 || i >= this.size) throw new CidrError(`index ${i} outside ${this.toString()}`);
    return intToIp((this.base + i) >>> 0);
  }

  contains(ip: string | number): boolean {
    const n = typeof ip === 'number' ? ip : ipToInt(ip);
    return ((n & this.mask) >>> 0) === this.base;
  }

  containsCidr(other: Cidr): boolean {
    return other.prefix >= this.prefix && this.contains(other.base);
  }

  overlaps(other: Cidr): boolean {
    return this.containsCidr(other) || other.containsCidr(this);
  }

  equals(other: Cidr): boolean {
    return this.base === other.base && this.prefix === other.prefix;
  }

  /** The next network of the same size (wraps past 255.255.255.255 → error). */
  next(): Cidr {
    const n = this.base + this.size;
    if (n > 0xffffffff) throw new CidrError(`no network after ${this.toString()}`);
    return new Cidr(n, this.prefix);
  }

  toString(): string {
    return `${this.network}/${this.prefix}`;
  }
}

/** Index of `sub` among the /sub.prefix subnets of `net`. */
export function subnetIndex(net: Cidr, sub: Cidr): number {
  if (!net.containsCidr(sub)) throw new CidrError(`${sub.toString()} is not inside ${net.toString()}`);
  return (sub.base - net.base) / sub.size;
}

/** The i-th /len subnet of `net`. */
export function nthSubnet(net: Cidr, len: number, i: number): Cidr {
  if (len < net.prefix) throw new CidrError(`/${len} subnets do not fit in ${net.toString()}`);
  const size = 2 ** (32 - len);
  const count = 2 ** (len - net.prefix);
  if (i < 0 || i >= count) throw new CidrError(`subnet index ${i} outside ${net.toString()} (/${len}: ${count} subnets)`);
  return new Cidr(net.base + i * size, len);
}
