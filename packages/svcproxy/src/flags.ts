import { hostname } from 'node:os';
import { Cidr, CidrError } from '@pilot/common';

/** Command-line options, validated into plain data; each bad value is one line naming the flag. */
export interface SvcproxyOptions {
  master: string | undefined;
  kubeconfig: string | undefined;
  proxyMode: 'iptables';
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
}

export class FlagError extends Error {
  constructor(flag: string, message: string) {
    super(`--${flag}: ${message}`);
    this.name = 'FlagError';
  }
}

export const DEFAULTS = {
  proxyMode: 'iptables',
  minSyncPeriod: '1s',
  syncPeriod: '30s',
  healthzBindAddress: '0.0.0.0',
  healthzPort: '10256',
  restoreChunk: '250',
} as const;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `1s`, `15m`, `1h30m`, or plain seconds → milliseconds. */
export function parseDurationMs(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) throw new Error(`not a duration: "${text}" (want e.g. 500ms, 1s, 30s, 15m)`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
}

function duration(flag: string, text: string, minMs: number, maxMs: number): number {
  let ms: number;
  try {
    ms = parseDurationMs(text);
  } catch (err) {
    throw new FlagError(flag, (err as Error).message);
  }
  if (ms < minMs || ms > maxMs) throw new FlagError(flag, `${text} is outside ${minMs}ms..${maxMs / 1000}s`);
  return ms;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) throw new FlagError(flag, `"${text}" is not an integer in ${min}..${max}`);
  return n;
}

function cidr(flag: string, text: string): string {
  try {
    return Cidr.parse(text.trim()).toString();
  } catch (err) {
    throw new FlagError(flag, err instanceof CidrError ? err.message : `invalid CIDR "${text}"`);
  }
}

export function parseOptions(raw: RawFlags): SvcproxyOptions {
  const mode = raw.proxyMode ?? DEFAULTS.proxyMode;
  if (mode !== 'iptables') throw new FlagError('proxy-mode', `"${mode}" is not supported by this build (iptables)`);
  const minSyncPeriodMs = duration('min-sync-period', raw.minSyncPeriod ?? DEFAULTS.minSyncPeriod, 0, 3_600_000);
  const syncPeriodMs = duration('sync-period', raw.syncPeriod ?? DEFAULTS.syncPeriod, 1, 24 * 3_600_000);
  if (syncPeriodMs < minSyncPeriodMs) throw new FlagError('sync-period', `must not be shorter than --min-sync-period`);
  const nodePortAddresses = (raw.nodeportAddresses ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => cidr('nodeport-addresses', s));
  return {
    master: raw.master || undefined,
    kubeconfig: raw.kubeconfig || undefined,
    proxyMode: 'iptables',
    clusterCIDR: raw.clusterCidr ? cidr('cluster-cidr', raw.clusterCidr) : undefined,
    hostname: (raw.hostnameOverride || hostname()).trim().toLowerCase(),
    minSyncPeriodMs,
    syncPeriodMs,
    nodePortAddresses,
    masqueradeAll: raw.masqueradeAll ?? false,
    cleanup: raw.cleanup ?? false,
    healthzBindAddress: raw.healthzBindAddress ?? DEFAULTS.healthzBindAddress,
    healthzPort: integer('healthz-port', raw.healthzPort ?? DEFAULTS.healthzPort, 0, 65535),
    restoreChunk: integer('restore-chunk', raw.restoreChunk ?? DEFAULTS.restoreChunk, 1, 100_000),
  };
}
