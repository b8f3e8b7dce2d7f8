import { hostname } from 'node:os';
import { durationFlag, etcdTlsFlags, FlagError, ipv4Flag, listFlag, portFlag, type EtcdTls, type FlagWarn } from '@pilot/common';

/**
 * Command-line options, validated into plain data. Each bad value becomes
 * one line naming the flag.
 */

export interface OverlaydOptions {
  etcdEndpoints: string[];
  etcdPrefix: string;
  /** TLS to etcd (flanneld's -etcd-cafile, -etcd-certfile, -etcd-keyfile); undefined: plain or system CAs. */
  etcdTls: EtcdTls | undefined;
  /** etcd's own user/password auth (flanneld's -etcd-username, -etcd-password). */
  etcdAuth: { username: string; password: string } | undefined;
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
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  etcdUsername?: string;
  etcdPassword?: string;
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

export { FlagError };

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

/** `warn` receives deprecation notices (durations written as bare seconds). */
export function parseOptions(raw: RawFlags, warn: FlagWarn = () => undefined): OverlaydOptions {
  const endpoints = listFlag(raw.etcdEndpoints ?? DEFAULTS.etcdEndpoints);
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
  const publicIp = raw.publicIp === undefined ? undefined : ipv4Flag('public-ip', raw.publicIp);
  const port = portFlag('healthz-port', raw.healthzPort ?? DEFAULTS.healthzPort);
  const healthzIp = ipv4Flag('healthz-ip', raw.healthzIp ?? DEFAULTS.healthzIp);
  const etcdTls = etcdTlsFlags(raw, endpoints, 'etcd-endpoints');
  if (!raw.etcdUsername !== !raw.etcdPassword) throw new FlagError(raw.etcdUsername ? 'etcd-password' : 'etcd-username', 'missing: --etcd-username and --etcd-password are given together');
  const subnetFile = raw.subnetFile ?? DEFAULTS.subnetFile;
  if (!subnetFile) throw new FlagError('subnet-file', 'empty path');
  return {
    etcdEndpoints: endpoints,
    etcdPrefix: prefix,
    etcdTls,
    etcdAuth: raw.etcdUsername && raw.etcdPassword ? { username: raw.etcdUsername, password: raw.etcdPassword } : undefined,
    iface: raw.iface || undefined,
    publicIp,
    nodeName: raw.nodeName || hostname(),
    subnetFile,
    dockerOptsFile: raw.dockerOptsFile === '' ? undefined : (raw.dockerOptsFile ?? DEFAULTS.dockerOptsFile),
    ipMasq: raw.ipMasq ?? false,
    subnetLeaseTtl: durationFlag('subnet-lease-ttl', raw.subnetLeaseTtl ?? DEFAULTS.subnetLeaseTtl, 5_000, 7 * 86_400_000, { warn }) / 1000,
    healthzIp,
    healthzPort: port,
    reconcileIntervalMs: durationFlag('reconcile-interval', raw.reconcileInterval ?? DEFAULTS.reconcileInterval, 100, 3_600_000, { warn }),
  };
}

/**
 * When to renew a lease of `ttl` seconds: an hour before expiry for day-long
 * leases (flannel's margin), at a third of the TTL for short ones.
 */
export function renewIntervalSeconds(ttl: number): number {
  return ttl > 7200 ? ttl - 3600 : ttl / 3;
}
