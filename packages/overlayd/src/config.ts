import { Cidr, CidrError, intToIp, ipToInt } from '@pilot/common';

/**
 * The network config stored at `<prefix>/config`, in flannel's JSON shape.
 * Parsing applies flannel's defaults and rejects anything that cannot work,
 * with one line naming the field.
 */

export type BackendType = 'vxlan' | 'host-gw';

export interface BackendConfig {
  type: BackendType;
  /** vxlan only: VNI (default 1), device `flannel.<VNI>`. */
  vni: number;
  /** vxlan only: UDP port; 0 means the kernel's default 8472. */
  port: number;
  /** vxlan only: plain routes for peers on the same L2 segment. */
  directRouting: boolean;
}

export interface NetworkConfig {
  network: Cidr;
  subnetLen: number;
  subnetMin: Cidr;
  subnetMax: Cidr;
  backend: BackendConfig;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(`network config: ${message}`);
    this.name = 'ConfigError';
  }
}

export const VXLAN_DEFAULT_PORT = 8472;

const BACKENDS: readonly BackendType[] = ['vxlan', 'host-gw'];

/** flannel's SubnetLen default: /24 for networks of /22 or shorter, otherwise prefix + 2. */
export function defaultSubnetLen(networkPrefix: number): number {
  if (networkPrefix <= 22) return 24;
  if (networkPrefix <= 28) return networkPrefix + 2;
  throw new ConfigError(`Network /${networkPrefix} is too small (at most /28 can be split into subnets)`);
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

function intField(obj: Record<string, unknown>, key: string, def: number, min: number, max: number, where: string): number {
  const v = obj[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${where}${key} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function parseBackend(raw: unknown): BackendConfig {
  // A missing Backend means vxlan (flannel's documentation; its code says udp, which we do not build).
  if (raw === undefined || raw === null) return { type: 'vxlan', vni: 1, port: 0, directRouting: false };
  const b = asObject(raw, 'Backend');
  const type = b.Type ?? 'vxlan';
  if (typeof type !== 'string' || !BACKENDS.includes(type as BackendType)) {
    throw new ConfigError(`unknown Backend.Type ${JSON.stringify(type)} (supported: ${BACKENDS.join(', ')})`);
  }
  const directRouting = b.DirectRouting ?? false;
  if (typeof directRouting !== 'boolean') throw new ConfigError(`Backend.DirectRouting must be true or false, got ${JSON.stringify(directRouting)}`);
  return {
    type: type as BackendType,
    vni: intField(b, 'VNI', 1, 0, 16_777_215, 'Backend.'),
    port: intField(b, 'Port', 0, 0, 65_535, 'Backend.'),
    directRouting,
  };
}

function parseAligned(raw: unknown, key: string, network: Cidr, subnetLen: number): Cidr | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') throw new ConfigError(`${key} must be an address string, got ${JSON.stringify(raw)}`);
  let c: Cidr;
  try {
    c = Cidr.parse(raw.includes('/') ? raw : `${raw}/${subnetLen}`, { loose: true });
  } catch (err) {
    throw new ConfigError(`${key}: ${(err as Error).message}`);
  }
  const sub = new Cidr(c.base, subnetLen);
  if (sub.base !== ipToInt(raw.split('/')[0]!)) throw new ConfigError(`${key} ${raw} is not aligned to /${subnetLen}`);
  if (!network.containsCidr(sub)) throw new ConfigError(`${key} ${raw} is outside Network ${network.toString()}`);
  return sub;
}

/** Parses and validates the config JSON; the error names the offending field. */
export function parseNetworkConfig(text: string): NetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`malformed JSON: ${(err as Error).message}`);
  }
  const obj = asObject(raw, 'config');
  if (typeof obj.Network !== 'string') throw new ConfigError('Network is missing (want e.g. "10.1.0.0/16")');
  let network: Cidr;
  try {
    network = Cidr.parse(obj.Network);
  } catch (err) {
    throw new ConfigError(`Network: ${err instanceof CidrError ? err.message : String(err)}`);
  }
  let subnetLen: number;
  if (obj.SubnetLen === undefined || obj.SubnetLen === null) {
    subnetLen = defaultSubnetLen(network.prefix);
  } else {
    subnetLen = intField(obj, 'SubnetLen', 0, 0, 32, '');
    if (subnetLen > 30) throw new ConfigError(`SubnetLen /${subnetLen} is too long (at most /30)`);
    if (subnetLen < network.prefix + 2) {
      throw new ConfigError(`Network ${network.toString()} cannot hold /${subnetLen} subnets (SubnetLen must be at least /${network.prefix + 2})`);
    }
  }
  const size = 2 ** (32 - subnetLen);
  const subnetMin = parseAligned(obj.SubnetMin, 'SubnetMin', network, subnetLen) ?? new Cidr(network.base + size, subnetLen);
  const subnetMax = parseAligned(obj.SubnetMax, 'SubnetMax', network, subnetLen) ?? new Cidr(network.last - size + 1, subnetLen);
  if (subnetMin.base > subnetMax.base) {
    throw new ConfigError(`SubnetMin ${subnetMin.network} is above SubnetMax ${subnetMax.network}`);
  }
  return { network, subnetLen, subnetMin, subnetMax, backend: parseBackend(obj.Backend) };
}

/** Whether a subnet is one this config may hand out (right length, inside Min..Max). */
export function subnetFits(config: NetworkConfig, subnet: Cidr): boolean {
  return (
    subnet.prefix === config.subnetLen &&
    config.network.containsCidr(subnet) &&
    subnet.base >= config.subnetMin.base &&
    subnet.base <= config.subnetMax.base
  );
}

/** How many subnets the config can hand out. */
export function subnetCount(config: NetworkConfig): number {
  return (config.subnetMax.base - config.subnetMin.base) / 2 ** (32 - config.subnetLen) + 1;
}

export function describeConfig(config: NetworkConfig): string {
  const b = config.backend;
  const backend = b.type === 'vxlan' ? `vxlan VNI ${b.vni} port ${b.port || VXLAN_DEFAULT_PORT}${b.directRouting ? ' DirectRouting' : ''}` : b.type;
  return `${config.network.toString()} in /${config.subnetLen} subnets ${intToIp(config.subnetMin.base)}..${intToIp(config.subnetMax.base)}, ${backend}`;
}
