import { Cidr, CidrError, intToIp, ipToInt } from '@pilot/common';

/**
 * The network config stored at `<prefix>/config`, in flannel's JSON shape.
 * Parsing applies flannel's defaults and rejects anything that cannot work,
 * with one line naming the field.
 */

/**
 * The config's `Backend` object as stored (`{}` when absent). Its `Type`
 * picks the backend from the table in backend/index.ts, and that backend
 * reads the rest of its keys: adding a backend changes nothing here.
 */
export type BackendJson = Readonly<Record<string, unknown>>;

export interface NetworkConfig {
  network: Cidr;
  subnetLen: number;
  subnetMin: Cidr;
  subnetMax: Cidr;
  backend: BackendJson;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(`network config: ${message}`);
    this.name = 'ConfigError';
  }
}

/** flannel's SubnetLen default: /24 for networks of /22 or shorter, otherwise prefix + 2. */
export function defaultSubnetLen(networkPrefix: number): number {
  if (networkPrefix <= 22) return 24;
  if (networkPrefix <= 28) return networkPrefix + 2;
  throw new ConfigError(`Network /${networkPrefix} is too small (at most /28 can be split into subnets)`);
}

export function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** An integer field of a config object in min..max, `def` when absent; `where` prefixes the key in the error (`Backend.`). */
export function intField(obj: Readonly<Record<string, unknown>>, key: string, def: number, min: number, max: number, where: string): number {
  const v = obj[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${where}${key} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A true/false field of a config object, `def` when absent. */
export function boolField(obj: Readonly<Record<string, unknown>>, key: string, def: boolean, where: string): boolean {
  const v = obj[key] ?? def;
  if (typeof v !== 'boolean') throw new ConfigError(`${where}${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function parseBackend(raw: unknown): BackendJson {
  if (raw === undefined || raw === null) return {};
  return asObject(raw, 'Backend');
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

/** The config in a few words for the log (the backend describes itself). */
export function describeConfig(config: NetworkConfig): string {
  return `${config.network.toString()} in /${config.subnetLen} subnets ${intToIp(config.subnetMin.base)}..${intToIp(config.subnetMax.base)}`;
}
