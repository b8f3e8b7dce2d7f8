import { Cidr, isIPv4 } from '@pilot/common';
import { subnetFits, type NetworkConfig } from './config.js';

/**
 * Subnet leases: the key and value formats of `<prefix>/subnets/` and the
 * allocation policy (which subnet this host takes). Pure: no etcd, no kernel.
 */

export interface LeaseAttrs {
  PublicIP: string;
  BackendType: string;
  BackendData?: { VtepMAC?: string; VNI?: number };
  /** For people reading etcdctl output; identity is PublicIP. */
  NodeName?: string;
}

export interface Lease {
  subnet: Cidr;
  attrs: LeaseAttrs;
  /** etcd lease id (decimal string) the key is bound to; '0' for a reservation. */
  leaseId: string;
  modRevision: string;
}

export class LeaseFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseFormatError';
  }
}

/** `10.1.5.0/24` → `10.1.5.0-24`, flannel's key name. */
export function subnetKeyName(subnet: Cidr): string {
  return `${subnet.network}-${subnet.prefix}`;
}

/** `10.1.5.0-24` → the subnet; undefined for names that are not leases. */
export function parseSubnetKeyName(name: string): Cidr | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)-(\d{1,2})$/.exec(name);
  if (!m || !isIPv4(m[1]!)) return undefined;
  try {
    return Cidr.parse(`${m[1]}/${m[2]}`);
  } catch {
    return undefined;
  }
}

/** Parses a lease value; the error says what is wrong with it. */
export function parseLeaseAttrs(text: string): LeaseAttrs {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LeaseFormatError(`malformed lease JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new LeaseFormatError('lease value is not a JSON object');
  const o = raw as Record<string, unknown>;
  if (typeof o.PublicIP !== 'string' || !isIPv4(o.PublicIP)) throw new LeaseFormatError(`lease PublicIP ${JSON.stringify(o.PublicIP)} is not an IPv4 address`);
  const attrs: LeaseAttrs = { PublicIP: o.PublicIP, BackendType: typeof o.BackendType === 'string' ? o.BackendType : '' };
  if (typeof o.BackendData === 'object' && o.BackendData !== null) {
    const d = o.BackendData as Record<string, unknown>;
    attrs.BackendData = {};
    if (typeof d.VtepMAC === 'string') attrs.BackendData.VtepMAC = d.VtepMAC;
    if (typeof d.VNI === 'number') attrs.BackendData.VNI = d.VNI;
  }
  if (typeof o.NodeName === 'string') attrs.NodeName = o.NodeName;
  return attrs;
}

export function formatLeaseAttrs(attrs: LeaseAttrs): string {
  return JSON.stringify(attrs);
}

export function sameAttrs(a: LeaseAttrs, b: LeaseAttrs): boolean {
  return formatLeaseAttrs(a) === formatLeaseAttrs(b);
}

export type SubnetChoice =
  | { kind: 'reuse'; lease: Lease }
  | { kind: 'previous'; subnet: Cidr }
  | { kind: 'random'; subnet: Cidr }
  | { kind: 'full' };

export interface ChooseInput {
  config: NetworkConfig;
  leases: readonly Lease[];
  publicIp: string;
  /** FLANNEL_SUBNET's network from an existing subnet.env, if any. */
  previous?: Cidr | undefined;
  /** Random in [0,1); injectable for tests. */
  random?: () => number;
}

/** How many free subnets the random pick chooses among (flannel's figure). */
export const RANDOM_POOL = 100;

/**
 * Chooses this host's subnet: a lease already carrying its PublicIP (that
 * still fits the config); else the subnet of the previous subnet.env when it
 * is free and fits; else a random one of the first free subnets.
 */
export function chooseSubnet(input: ChooseInput): SubnetChoice {
  const { config, leases, publicIp } = input;
  const mine = leases.find((l) => l.attrs.PublicIP === publicIp && subnetFits(config, l.subnet));
  if (mine) return { kind: 'reuse', lease: mine };
  const taken = (s: Cidr) => leases.some((l) => l.subnet.overlaps(s));
  if (input.previous && subnetFits(config, input.previous) && !taken(input.previous)) return { kind: 'previous', subnet: input.previous };
  const free = freeSubnets(config, leases, RANDOM_POOL);
  if (free.length === 0) return { kind: 'full' };
  const r = input.random ?? Math.random;
  return { kind: 'random', subnet: free[Math.min(free.length - 1, Math.floor(r() * free.length))]! };
}

/** The first `limit` subnets between SubnetMin and SubnetMax that no lease overlaps. */
export function freeSubnets(config: NetworkConfig, leases: readonly Lease[], limit: number): Cidr[] {
  const out: Cidr[] = [];
  const size = 2 ** (32 - config.subnetLen);
  // Sorted lease ranges let the walk skip taken blocks without testing every lease per candidate.
  const ranges = leases.map((l) => [l.subnet.base, l.subnet.last] as const).sort((a, b) => a[0] - b[0]);
  let j = 0;
  for (let base = config.subnetMin.base; base <= config.subnetMax.base && out.length < limit; base += size) {
    const last = base + size - 1;
    while (j < ranges.length && ranges[j]![1] < base) j++;
    let clash = false;
    for (let k = j; k < ranges.length && ranges[k]![0] <= last; k++) {
      if (ranges[k]![1] >= base) {
        clash = true;
        break;
      }
    }
    if (!clash) out.push(new Cidr(base, config.subnetLen));
  }
  return out;
}

/** `x.y.z.1/len`: the gateway address subnet.env and dockerd --bip use. */
export function bridgeAddress(subnet: Cidr): string {
  return `${subnet.nth(1)}/${subnet.prefix}`;
}
