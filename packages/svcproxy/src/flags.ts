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
  nodeportAddresses?: string;
  masqueradeAll?: boolean;
  cleanup?: boolean;
  healthzBindAddress?: string;
  healthzPort?: string;
  restoreChunk?: string;
  bindAddress?: string;
  udpTimeout?: string;
}

export { FlagError };

export const DEFAULTS = {
  proxyMode: 'iptables',
  minSyncPeriod: '1s',
  syncPeriod: '30s',
  healthzBindAddress: '0.0.0.0',
  healthzPort: '10256',
  restoreChunk: '250',
  udpTimeout: '250ms',
} as const;

/** `warn` receives deprecation notices (durations written as bare seconds). */
export function parseOptions(raw: RawFlags, warn: FlagWarn = () => undefined): SvcproxyOptions {
  const mode = raw.proxyMode ?? DEFAULTS.proxyMode;
  if (mode !== 'iptables' && mode !== 'userspace') throw new FlagError('proxy-mode', `"${mode}" is not a proxy mode (iptables, userspace)`);
  const bindAddress = raw.bindAddress === undefined ? undefined : ipv4Flag('bind-address', raw.bindAddress);
  if (bindAddress === '0.0.0.0') throw new FlagError('bind-address', 'must be a concrete local address: UDP replies have to leave from the address the client reached');
  const minSyncPeriodMs = durationFlag('min-sync-period', raw.minSyncPeriod ?? DEFAULTS.minSyncPeriod, 0, 3_600_000, { warn });
  const syncPeriodMs = durationFlag('sync-period', raw.syncPeriod ?? DEFAULTS.syncPeriod, 1, 24 * 3_600_000, { warn });
  if (syncPeriodMs < minSyncPeriodMs) throw new FlagError('sync-period', `must not be shorter than --min-sync-period`);
  const nodePortAddresses = listFlag(raw.nodeportAddresses).map((s) => cidrFlag('nodeport-addresses', s));
  return {
    master: raw.master || undefined,
    kubeconfig: raw.kubeconfig || undefined,
    proxyMode: mode,
    bindAddress,
    udpTimeoutMs: durationFlag('udp-timeout', raw.udpTimeout ?? DEFAULTS.udpTimeout, 1, 3_600_000, { warn }),
    clusterCIDR: raw.clusterCidr ? cidrFlag('cluster-cidr', raw.clusterCidr) : undefined,
    hostname: (raw.hostnameOverride || hostname()).trim().toLowerCase(),
    minSyncPeriodMs,
    syncPeriodMs,
    nodePortAddresses,
    masqueradeAll: raw.masqueradeAll ?? false,
    cleanup: raw.cleanup ?? false,
    healthzBindAddress: raw.healthzBindAddress ?? DEFAULTS.healthzBindAddress,
    healthzPort: portFlag('healthz-port', raw.healthzPort ?? DEFAULTS.healthzPort),
    restoreChunk: intFlag('restore-chunk', raw.restoreChunk ?? DEFAULTS.restoreChunk, 1, 100_000),
  };
}
