import { isIPv4, isIPv6 } from 'node:net';
import { FatalError } from '@pilot/common';
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
  leaseSeconds: string;
  identity?: string;
  healthzPort: string;
  forwardTimeout: string;
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
  leaseSeconds: number;
  identity: string | undefined;
}

function bad(flag: string, value: string, why: string): never {
  throw new FatalError(`--${flag}=${value}: ${why}`);
}

function cidrFlag(flag: string, v: string): string {
  const [ip, len] = v.split('/');
  const max = ip && isIPv6(ip) ? 128 : 32;
  if (!ip || (!isIPv4(ip) && !isIPv6(ip)) || len === undefined || !/^\d+$/.test(len) || Number(len) > max) bad(flag, v, 'not a CIDR');
  return v;
}

/** "host:port", ":port", "[v6]:port" → host (default all addresses) and port. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  if (!m) bad('listen', v, 'want [address]:port');
  const host = m[1] ?? (m[2] || '0.0.0.0');
  const port = Number(m[3]);
  if (port > 65535) bad('listen', v, 'port out of range');
  if (host !== '0.0.0.0' && host !== '::' && !isIPv4(host) && !isIPv6(host)) bad('listen', v, 'not an IP address');
  return { host, port };
}

/** The first non-loopback IPv4 of this namespace: the default advertise address. */
export function defaultAdvertiseAddress(): string | undefined {
  return localAddresses().find((a) => isIPv4(a) && !a.startsWith('127.'));
}

export function resolveFlags(f: RawFlags, resolvConf: () => string): ResolvedFlags {
  const zone = f.domain.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(zone)) bad('domain', f.domain, 'not a DNS name');
  const { host: tcpHost, port } = parseListen(f.listen);
  const ttl = Number(f.ttl);
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600) bad('ttl', f.ttl, 'want whole seconds 0..3600');
  if (f.pods !== 'disabled' && f.pods !== 'insecure') bad('pods', f.pods, 'want disabled or insecure');
  if (!isIPv4(f.clusterIp) && !isIPv6(f.clusterIp)) bad('cluster-ip', f.clusterIp, 'not an IP address');
  const clusterCidr = cidrFlag('cluster-cidr', f.clusterCidr);
  const serviceCidr = cidrFlag('service-cidr', f.serviceCidr);
  const healthzPort = Number(f.healthzPort);
  if (!Number.isInteger(healthzPort) || healthzPort < 0 || healthzPort > 65535) bad('healthz-port', f.healthzPort, 'not a port');
  const forwardTimeoutMs = Number(f.forwardTimeout);
  if (!Number.isInteger(forwardTimeoutMs) || forwardTimeoutMs < 50 || forwardTimeoutMs > 30_000) bad('forward-timeout', f.forwardTimeout, 'want milliseconds 50..30000');

  const leaseSeconds = Number(f.leaseSeconds);
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 2 || leaseSeconds > 3600) bad('lease-seconds', f.leaseSeconds, 'want whole seconds 2..3600');
  if (f.identity !== undefined && !/^[a-z0-9]([a-z0-9.-]{0,50}[a-z0-9])?$/.test(f.identity)) bad('identity', f.identity, 'want a lowercase DNS label');

  let advertiseAddress = f.advertiseAddress;
  if (advertiseAddress !== undefined && !isIPv4(advertiseAddress) && !isIPv6(advertiseAddress)) bad('advertise-address', advertiseAddress, 'not an IP address');
  advertiseAddress ??= defaultAdvertiseAddress();

  // Loopback is answered by default when TCP listens everywhere; an
  // operator who pins --listen to one address gets UDP on that address (and
  // the advertise address) only, so several instances can share a host.
  const wildcard = tcpHost === '0.0.0.0' || tcpHost === '::';
  const udp = new Set<string>(wildcard ? ['127.0.0.1'] : [tcpHost]);
  if (advertiseAddress) udp.add(advertiseAddress);
  for (const a of f.udpAddress.flatMap((s) => s.split(',')).filter(Boolean)) {
    if (!isIPv4(a) && !isIPv6(a)) bad('udp-address', a, 'not an IP address');
    if (a === '0.0.0.0' || a === '::') bad('udp-address', a, 'UDP is bound per concrete address, never the wildcard');
    udp.add(a);
  }

  let upstreams: Upstream[];
  const given = f.upstream.flatMap((s) => s.split(',')).filter(Boolean);
  if (given.length > 0) {
    upstreams = given.map((u) => {
      try {
        return parseUpstream(u);
      } catch (err) {
        return bad('upstream', u, (err as Error).message);
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
      .map((n) => (n.includes('/') ? cidrFlag('allow-recursion', n) : isIPv4(n) || isIPv6(n) ? n : bad('allow-recursion', n, 'not an address or CIDR')));
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
    leaseSeconds,
    identity: f.identity ?? advertiseAddress?.replaceAll('.', '-').replaceAll(':', '-'),
  };
}
