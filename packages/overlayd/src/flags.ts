import { hostname } from 'node:os';
import { isIPv4 } from '@pilot/common';

/**
 * Command-line options, validated into plain data. Each bad value becomes
 * one line naming the flag.
 */

export interface OverlaydOptions {
  etcdEndpoints: string[];
  etcdPrefix: string;
  iface: string | undefined;
  publicIp: string | undefined;
  nodeName: string;
  subnetFile: string;
  dockerOptsFile: string | undefined;
  ipMasq: boolean;
  /** Seconds. */
  subnetLeaseTtl: number;
  healthzIp: string;
  /** 0 disables the health server. */
  healthzPort: number;
  /** Milliseconds between full reconciles of kernel and iptables state. */
  reconcileIntervalMs: number;
}

export interface RawFlags {
  etcdEndpoints?: string;
  etcdPrefix?: string;
  iface?: string;
  publicIp?: string;
  nodeName?: string;
  subnetFile?: string;
  dockerOptsFile?: string;
  ipMasq?: boolean;
  subnetLeaseTtl?: string;
  healthzIp?: string;
  healthzPort?: string;
  reconcileInterval?: string;
}

export class FlagError extends Error {
  constructor(flag: string, message: string) {
    super(`--${flag}: ${message}`);
    this.name = 'FlagError';
  }
}

export const DEFAULTS = {
  etcdEndpoints: 'http://127.0.0.1:2379',
  etcdPrefix: '/coreos.com/network',
  subnetFile: '/run/flannel/subnet.env',
  dockerOptsFile: '/run/flannel/docker',
  subnetLeaseTtl: '24h',
  healthzIp: '0.0.0.0',
  healthzPort: '9199',
  reconcileInterval: '10s',
} as const;

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** `90`, `90s`, `15m`, `24h`, `1h30m` → seconds. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) throw new Error(`not a duration: "${text}" (want e.g. 30s, 15m, 24h)`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
}

function duration(flag: string, text: string, minSeconds: number, maxSeconds: number): number {
  let s: number;
  try {
    s = parseDuration(text);
  } catch (err) {
    throw new FlagError(flag, (err as Error).message);
  }
  if (s < minSeconds || s > maxSeconds) throw new FlagError(flag, `${text} is outside ${minSeconds}s..${maxSeconds}s`);
  return s;
}

export function parseOptions(raw: RawFlags): OverlaydOptions {
  const endpoints = (raw.etcdEndpoints ?? DEFAULTS.etcdEndpoints)
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (endpoints.length === 0) throw new FlagError('etcd-endpoints', 'no endpoint given');
  for (const e of endpoints) {
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      throw new FlagError('etcd-endpoints', `"${e}" is not a URL (want http://host:port)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FlagError('etcd-endpoints', `"${e}" must use http:// or https://`);
  }
  const prefix = (raw.etcdPrefix ?? DEFAULTS.etcdPrefix).replace(/\/+$/, '');
  if (!prefix.startsWith('/')) throw new FlagError('etcd-prefix', `"${raw.etcdPrefix}" must start with /`);
  if (raw.publicIp !== undefined && !isIPv4(raw.publicIp)) throw new FlagError('public-ip', `"${raw.publicIp}" is not an IPv4 address`);
  const port = Number(raw.healthzPort ?? DEFAULTS.healthzPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FlagError('healthz-port', `"${raw.healthzPort}" is not a port number`);
  const healthzIp = raw.healthzIp ?? DEFAULTS.healthzIp;
  if (!isIPv4(healthzIp)) throw new FlagError('healthz-ip', `"${healthzIp}" is not an IPv4 address`);
  const subnetFile = raw.subnetFile ?? DEFAULTS.subnetFile;
  if (!subnetFile) throw new FlagError('subnet-file', 'empty path');
  return {
    etcdEndpoints: endpoints,
    etcdPrefix: prefix,
    iface: raw.iface || undefined,
    publicIp: raw.publicIp,
    nodeName: raw.nodeName || hostname(),
    subnetFile,
    dockerOptsFile: raw.dockerOptsFile === '' ? undefined : (raw.dockerOptsFile ?? DEFAULTS.dockerOptsFile),
    ipMasq: raw.ipMasq ?? false,
    subnetLeaseTtl: duration('subnet-lease-ttl', raw.subnetLeaseTtl ?? DEFAULTS.subnetLeaseTtl, 5, 7 * 86400),
    healthzIp,
    healthzPort: port,
    reconcileIntervalMs: duration('reconcile-interval', raw.reconcileInterval ?? DEFAULTS.reconcileInterval, 0.1, 3600) * 1000,
  };
}

/**
 * When to renew a lease of `ttl` seconds: an hour before expiry for day-long
 * leases (flannel's margin), at a third of the TTL for short ones.
 */
export function renewIntervalSeconds(ttl: number): number {
  return ttl > 7200 ? ttl - 3600 : ttl / 3;
}
