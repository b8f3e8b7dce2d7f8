import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { cidrFlag, durationFlag, FlagError, intFlag, ipv4Flag, listFlag, portFlag, type FlagWarn } from '@pilot/common';

/** Command-line options, validated into plain data; each bad value is one line naming the flag. */
export type ProxyMode = 'iptables' | 'userspace';

export interface SvcproxyOptions {
  master: string | undefined;
  kubeconfig: string | undefined;
  proxyMode: ProxyMode;
  /** Userspace mode: the concrete address listeners bind to (default: the default route's source). */
  bindAddress: string | undefined;
  /** Userspace mode: idle timeout of a UDP client session. */
  udpTimeoutMs: number;
  /** Userspace mode: TCP connections one client address may hold at once (0: no cap). */
  maxConnectionsPerSource: number;
  clusterCIDR: string | undefined;
  hostname: string;
  minSyncPeriodMs: number;
  syncPeriodMs: number;
  nodePortAddresses: string[];
  masqueradeAll: boolean;
  cleanup: boolean;
  healthzBindAddress: string;
  /** 0 disables the health server. */
  healthzPort: number;
  /** kube-proxy's metrics server (/metrics, /healthz, /proxyMode); port 0 disables it. */
  metricsBindAddress: string;
  metricsPort: number;
  /** Services per iptables-restore in a full sync. */
  restoreChunk: number;
}

export interface RawFlags {
  master?: string;
  kubeconfig?: string;
  proxyMode?: string;
  clusterCidr?: string;
  hostnameOverride?: string;
  minSyncPeriod?: string;
  syncPeriod?: string;
  /** kube-proxy's names of --min-sync-period and --sync-period. */
  iptablesMinSyncPeriod?: string;
  iptablesSyncPeriod?: string;
  metricsBindAddress?: string;
  nodeportAddresses?: string;
  masqueradeAll?: boolean;
  cleanup?: boolean;
  healthzBindAddress?: string;
  healthzPort?: string;
  restoreChunk?: string;
  bindAddress?: string;
  udpTimeout?: string;
  maxConnectionsPerSource?: string;
}

export { FlagError };

export const DEFAULTS = {
  proxyMode: 'iptables',
  minSyncPeriod: '1s',
  syncPeriod: '30s',
  healthzBindAddress: '0.0.0.0',
  healthzPort: '10256',
  metricsBindAddress: '127.0.0.1:10249',
  restoreChunk: '250',
  udpTimeout: '250ms',
  maxConnectionsPerSource: '1024',
} as const;

/** `warn` receives deprecation notices (durations written as bare seconds). */
export function parseOptions(raw: RawFlags, warn: FlagWarn = () => undefined): SvcproxyOptions {
  const mode = raw.proxyMode ?? DEFAULTS.proxyMode;
  if (mode !== 'iptables' && mode !== 'userspace') throw new FlagError('proxy-mode', `"${mode}" is not a proxy mode (iptables, userspace)`);
  const bindAddress = raw.bindAddress === undefined ? undefined : ipv4Flag('bind-address', raw.bindAddress);
  if (bindAddress === '0.0.0.0') throw new FlagError('bind-address', 'must be a concrete local address: UDP replies have to leave from the address the client reached');
  const minSync = alias('min-sync-period', raw.minSyncPeriod, 'iptables-min-sync-period', raw.iptablesMinSyncPeriod);
  const sync = alias('sync-period', raw.syncPeriod, 'iptables-sync-period', raw.iptablesSyncPeriod);
  const minSyncPeriodMs = durationFlag(minSync.flag, minSync.value ?? DEFAULTS.minSyncPeriod, 0, 3_600_000, { warn });
  const syncPeriodMs = durationFlag(sync.flag, sync.value ?? DEFAULTS.syncPeriod, 1, 24 * 3_600_000, { warn });
  const healthz = hostPortFlag('healthz-bind-address', raw.healthzBindAddress ?? DEFAULTS.healthzBindAddress);
  if (healthz.port !== undefined && raw.healthzPort !== undefined && Number(raw.healthzPort) !== healthz.port)
    throw new FlagError('healthz-port', `${raw.healthzPort} contradicts --healthz-bind-address ${raw.healthzBindAddress}`);
  const metrics = hostPortFlag('metrics-bind-address', raw.metricsBindAddress ?? DEFAULTS.metricsBindAddress);
  if (metrics.port === undefined) throw new FlagError('metrics-bind-address', `"${raw.metricsBindAddress}" is not ip:port (port 0 disables)`);
  if (syncPeriodMs < minSyncPeriodMs) throw new FlagError('sync-period', `must not be shorter than --min-sync-period`);
  const nodePortAddresses = listFlag(raw.nodeportAddresses).map((s) => cidrFlag('nodeport-addresses', s));
  return {
    master: raw.master || undefined,
    kubeconfig: raw.kubeconfig || undefined,
    proxyMode: mode,
    bindAddress,
    udpTimeoutMs: durationFlag('udp-timeout', raw.udpTimeout ?? DEFAULTS.udpTimeout, 1, 3_600_000, { warn }),
    maxConnectionsPerSource: intFlag('max-connections-per-source', raw.maxConnectionsPerSource ?? DEFAULTS.maxConnectionsPerSource, 0, 1_000_000),
    clusterCIDR: raw.clusterCidr ? cidrFlag('cluster-cidr', raw.clusterCidr) : undefined,
    hostname: (raw.hostnameOverride || hostname()).trim().toLowerCase(),
    minSyncPeriodMs,
    syncPeriodMs,
    nodePortAddresses,
    masqueradeAll: raw.masqueradeAll ?? false,
    cleanup: raw.cleanup ?? false,
    healthzBindAddress: healthz.host,
    healthzPort: healthz.port ?? portFlag('healthz-port', raw.healthzPort ?? DEFAULTS.healthzPort),
    metricsBindAddress: metrics.host,
    metricsPort: metrics.port,
    restoreChunk: intFlag('restore-chunk', raw.restoreChunk ?? DEFAULTS.restoreChunk, 1, 100_000),
  };
}

/** A flag under its own name or kube-proxy's; both given with different values is an error. */
function alias(flag: string, value: string | undefined, kubeProxyFlag: string, kubeProxyValue: string | undefined): { flag: string; value: string | undefined } {
  if (value !== undefined && kubeProxyValue !== undefined && value !== kubeProxyValue)
    throw new FlagError(kubeProxyFlag, `"${kubeProxyValue}" contradicts --${flag} "${value}" (the same setting under kube-proxy's name)`);
  return kubeProxyValue !== undefined && value === undefined ? { flag: kubeProxyFlag, value: kubeProxyValue } : { flag, value };
}

/** `ip` or kube-proxy's `ip:port` (IPv4, or `[v6]:port`). */
function hostPortFlag(flag: string, text: string): { host: string; port: number | undefined } {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d+)$/.exec(text.trim());
  if (!m) return { host: ipFlag(flag, text), port: undefined };
  return { host: ipFlag(flag, m[1] ?? m[2]!), port: portFlag(flag, m[3]!) };
}

function ipFlag(flag: string, text: string): string {
  const ip = text.trim();
  if (!isIP(ip)) throw new FlagError(flag, `"${text}" is not an IP address or ip:port`);
  return ip;
}
