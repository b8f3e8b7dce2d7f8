import { isIPv4, isIPv6 } from 'node:net';
import { durationFlag, FlagError, formatDuration, intFlag, portFlag, type FlagWarn } from '@pilot/common';
import { defaultRecursionNetworks, localAddresses } from './acl.js';
import type { PodMode } from './answer.js';
import { filterUpstreams, parseResolvConf, parseUpstream, type Upstream } from './forward.js';

/** Flags as commander hands them over (strings), before validation. */
export interface RawFlags {
  master?: string;
  kubeconfig?: string;
  records?: string;
  domain: string;
  listen: string;
  advertiseAddress?: string;
  udpAddress: string[];
  udpAllLocal?: boolean;
  upstream: string[];
  ttl: string;
  pods: string;
  clusterIp: string;
  clusterCidr: string;
  serviceCidr: string;
  allowRecursion?: string;
  registerService?: boolean;
  /** Unset: DEFAULT_LEASE_DURATION (unset, so a clash with --lease-seconds shows). */
  leaseDuration?: string;
  /** Deprecated spelling of --lease-duration (a bare number is seconds). */
  leaseSeconds?: string;
  identity?: string;
  healthzPort: string;
  forwardTimeout: string;
  tcpReadTimeout: string;
  tcpIdleTimeout: string;
  /** commander's negatable --no-loadbalance: true unless given. */
  loadbalance?: boolean;
  /** commander's negatable --no-coredns-metrics: true unless given. */
  corednsMetrics?: boolean;
  /** CoreDNS's health plugin on a listener of its own (`health :8080`): /health only. */
  healthListen?: string;
  /** CoreDNS's ready plugin on a listener of its own (`ready :8181`): /ready only. */
  readyListen?: string;
}

export interface ResolvedFlags {
  zone: string;
  tcpHost: string;
  port: number;
  advertiseAddress: string | undefined;
  udpAddresses: string[];
  udpAllLocal: boolean;
  upstreams: Upstream[];
  droppedUpstreams: { upstream: Upstream; why: string }[];
  ttl: number;
  pods: PodMode;
  clusterIp: string;
  clusterCidr: string;
  serviceCidr: string;
  recursionNetworks: string[];
  healthzPort: number;
  forwardTimeoutMs: number;
  tcpReadMs: number;
  tcpIdleMs: number;
  loadbalance: boolean;
  corednsMetrics: boolean;
  healthListen: { host: string; port: number } | undefined;
  readyListen: { host: string; port: number } | undefined;
  /** Whole seconds (a Lease's leaseDurationSeconds). */
  leaseSeconds: number;
  identity: string | undefined;
}

function bad(flag: string, value: string, why: string): never {
  throw new FlagError(flag, `"${value}" ${why}`);
}

function cidrFlag(flag: string, v: string): string {
  const [ip, len] = v.split('/');
  const max = ip && isIPv6(ip) ? 128 : 32;
  if (!ip || (!isIPv4(ip) && !isIPv6(ip)) || len === undefined || !/^\d+$/.test(len) || Number(len) > max) bad(flag, v, 'is not a CIDR');
  return v;
}

export const DEFAULT_LEASE_DURATION = '15s';

/** "host:port", ":port", "[v6]:port" → host (default all addresses) and port. */
export function parseListen(v: string, flag = 'listen'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  if (!m) bad(flag, v, 'is not [address]:port');
  const host = m[1] ?? (m[2] || '0.0.0.0');
  const port = Number(m[3]);
  if (port > 65535) bad(flag, v, 'has a port out of range');
  if (host !== '0.0.0.0' && host !== '::' && !isIPv4(host) && !isIPv6(host)) bad(flag, v, 'is not an IP address and port');
  return { host, port };
}

/** The first non-loopback IPv4 of this namespace: the default advertise address. */
export function defaultAdvertiseAddress(): string | undefined {
  return localAddresses().find((a) => isIPv4(a) && !a.startsWith('127.'));
}

const isIP = (a: string) => isIPv4(a) || isIPv6(a);

/**
 * Validates the raw flags; a bad one is a FlagError naming it. `warn`
 * receives deprecation notices (bare-number durations, --lease-seconds).
 */
export function resolveFlags(f: RawFlags, resolvConf: () => string, warn: FlagWarn = () => undefined): ResolvedFlags {
  const zone = f.domain.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(zone)) bad('domain', f.domain, 'is not a DNS name');
  const { host: tcpHost, port } = parseListen(f.listen);
  // A DNS TTL, not a duration: whole seconds as in a zone file.
  const ttl = intFlag('ttl', f.ttl, 0, 3600);
  if (f.pods !== 'disabled' && f.pods !== 'insecure') bad('pods', f.pods, 'is not a pod mode (disabled, insecure)');
  if (!isIP(f.clusterIp)) bad('cluster-ip', f.clusterIp, 'is not an IP address');
  const clusterCidr = cidrFlag('cluster-cidr', f.clusterCidr);
  const serviceCidr = cidrFlag('service-cidr', f.serviceCidr);
  const healthzPort = portFlag('healthz-port', f.healthzPort);
  const healthListen = f.healthListen !== undefined ? parseListen(f.healthListen, 'health-listen') : undefined;
  const readyListen = f.readyListen !== undefined ? parseListen(f.readyListen, 'ready-listen') : undefined;
  // The HTTP listeners need ports of their own (0: any free one).
  const http: [number | undefined, string][] = [[healthzPort, 'healthz-port'], [healthListen?.port, 'health-listen'], [readyListen?.port, 'ready-listen']];
  for (const [i, [p, name]] of http.entries()) {
    const clash = p ? http.slice(0, i).find(([q]) => q === p) : undefined;
    if (clash) throw new FlagError(name, `port ${p} is --${clash[1]}'s already; give each listener its own port`);
  }
  // Before durations took units this flag was milliseconds.
  const forwardTimeoutMs = durationFlag('forward-timeout', f.forwardTimeout, 50, 30_000, { bareUnit: 'ms', warn });
  const tcpReadMs = durationFlag('tcp-read-timeout', f.tcpReadTimeout, 100, 60_000);
  const tcpIdleMs = durationFlag('tcp-idle-timeout', f.tcpIdleTimeout, 100, 3_600_000);

  let leaseMs: number;
  if (f.leaseSeconds !== undefined) {
    if (f.leaseDuration !== undefined) throw new FlagError('lease-seconds', 'is the old name of --lease-duration; give one of them');
    leaseMs = durationFlag('lease-seconds', f.leaseSeconds, 2_000, 3_600_000);
    warn(`--lease-seconds: is deprecated; write --lease-duration ${formatDuration(leaseMs)}`);
  } else {
    leaseMs = durationFlag('lease-duration', f.leaseDuration ?? DEFAULT_LEASE_DURATION, 2_000, 3_600_000, { warn });
  }
  if (leaseMs % 1_000 !== 0) throw new FlagError(f.leaseSeconds !== undefined ? 'lease-seconds' : 'lease-duration', `${formatDuration(leaseMs)} is not whole seconds (a Lease counts in seconds)`);
  const leaseSeconds = leaseMs / 1_000;
  if (f.identity !== undefined && !/^[a-z0-9]([a-z0-9.-]{0,50}[a-z0-9])?$/.test(f.identity)) bad('identity', f.identity, 'is not a lowercase DNS label');
  if (f.records && (f.master || f.kubeconfig)) throw new FlagError('records', 'and --master/--kubeconfig are two record sources; give one');
  if (f.registerService && f.records) throw new FlagError('register-service', 'needs the API (--master or --kubeconfig), not --records');

  let advertiseAddress = f.advertiseAddress;
  if (advertiseAddress !== undefined && !isIP(advertiseAddress)) bad('advertise-address', advertiseAddress, 'is not an IP address');
  advertiseAddress ??= defaultAdvertiseAddress();
  if (f.registerService && !advertiseAddress) throw new FlagError('register-service', 'needs --advertise-address (no non-loopback address found)');

  // Loopback is answered by default when TCP listens everywhere; an
  // operator who pins --listen to one address gets UDP on that address (and
  // the advertise address) only, so several instances can share a host.
  const wildcard = tcpHost === '0.0.0.0' || tcpHost === '::';
  const udp = new Set<string>(wildcard ? ['127.0.0.1'] : [tcpHost]);
  if (advertiseAddress) udp.add(advertiseAddress);
  for (const a of f.udpAddress.flatMap((s) => s.split(',')).filter(Boolean)) {
    if (!isIP(a)) bad('udp-address', a, 'is not an IP address');
    if (a === '0.0.0.0' || a === '::') bad('udp-address', a, 'is the wildcard: UDP is bound per concrete address, never the wildcard');
    udp.add(a);
  }

  let upstreams: Upstream[];
  const given = f.upstream.flatMap((s) => s.split(',')).filter(Boolean);
  if (given.length > 0) {
    upstreams = given.map((u) => {
      try {
        return parseUpstream(u);
      } catch (err) {
        throw new FlagError('upstream', (err as Error).message);
      }
    });
  } else {
    let text = '';
    try {
      text = resolvConf();
    } catch {
      text = '';
    }
    upstreams = parseResolvConf(text);
  }
  const { kept, dropped } = filterUpstreams(upstreams, {
    ownAddresses: [...udp, tcpHost],
    ownPort: port,
    clusterIp: f.clusterIp,
    serviceCidr,
  });

  let recursionNetworks: string[];
  if (f.allowRecursion !== undefined) {
    recursionNetworks = f.allowRecursion
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((n) => (n.includes('/') ? cidrFlag('allow-recursion', n) : isIP(n) ? n : bad('allow-recursion', n, 'is not an address or CIDR')));
  } else {
    recursionNetworks = defaultRecursionNetworks(clusterCidr);
  }

  return {
    zone,
    tcpHost,
    port,
    advertiseAddress,
    udpAddresses: [...udp],
    udpAllLocal: f.udpAllLocal === true,
    upstreams: kept,
    droppedUpstreams: dropped,
    ttl,
    pods: f.pods,
    clusterIp: f.clusterIp,
    clusterCidr,
    serviceCidr,
    recursionNetworks,
    healthzPort,
    forwardTimeoutMs,
    tcpReadMs,
    tcpIdleMs,
    loadbalance: f.loadbalance !== false,
    corednsMetrics: f.corednsMetrics !== false,
    healthListen,
    readyListen,
    leaseSeconds,
    identity: f.identity ?? advertiseAddress?.replaceAll('.', '-').replaceAll(':', '-'),
  };
}
