import type { Pod } from '@pilot/api';
import type { DnsConfig } from './runtime/runtime.js';

/**
 * The pod's resolv.conf from its dnsPolicy (pkg/kubelet/network/dns):
 *
 *   ClusterFirst (default)   nameserver <--cluster-dns>
 *                            search <ns>.svc.<domain> svc.<domain> <domain> <host's search…>
 *                            options ndots:5
 *   Default                  the host's resolv.conf
 *   None                     only spec.dnsConfig
 *   ClusterFirstWithHostNet  ClusterFirst, also for hostNetwork pods
 *
 * A hostNetwork pod with ClusterFirst gets Default; ClusterFirst without a
 * --cluster-dns falls back to Default, as upstream. spec.dnsConfig is merged
 * on top for every policy. Pure: the host's resolv.conf comes in parsed.
 */

export interface ClusterDns {
  /** --cluster-dns */
  servers: readonly string[];
  /** --cluster-domain */
  domain: string;
}

/** Upstream limits (validation.MaxDNSNameservers, MaxDNSSearchPaths). */
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

/** A resolv.conf's nameserver, search and options lines. */
export function parseResolvConf(text: string): DnsConfig {
  const out: DnsConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.servers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.searches = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

function uniq(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}

/** Later options of one name replace earlier ones (ndots:5 then ndots:2 → ndots:2). */
function mergeOptions(base: readonly string[], extra: readonly string[]): string[] {
  const byName = new Map<string, string>();
  for (const o of [...base, ...extra]) byName.set(o.split(':')[0]!, o);
  return [...byName.values()];
}

export type EffectivePolicy = 'ClusterFirst' | 'Default' | 'None';

export function effectiveDnsPolicy(pod: Pod, cluster: ClusterDns): EffectivePolicy {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'None') return 'None';
  if (policy === 'Default') return 'Default';
  if (policy === 'ClusterFirst' && pod.spec?.hostNetwork) return 'Default';
  return cluster.servers.length ? 'ClusterFirst' : 'Default';
}

export function podDnsConfig(pod: Pod, cluster: ClusterDns, host: DnsConfig): DnsConfig {
  const ns = pod.metadata.namespace ?? 'default';
  let out: DnsConfig;
  switch (effectiveDnsPolicy(pod, cluster)) {
    case 'None':
      out = { servers: [], searches: [], options: [] };
      break;
    case 'Default':
      out = { servers: [...host.servers], searches: [...host.searches], options: [...host.options] };
      break;
    case 'ClusterFirst': {
      const d = cluster.domain;
      const searches = d ? [`${ns}.svc.${d}`, `svc.${d}`, d] : [];
      out = { servers: [...cluster.servers], searches: [...searches, ...host.searches], options: ['ndots:5'] };
      break;
    }
  }
  const extra = pod.spec?.dnsConfig;
  if (extra) {
    out.servers.push(...(extra.nameservers ?? []));
    out.searches.push(...(extra.searches ?? []));
    out.options = mergeOptions(out.options, (extra.options ?? []).map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : o.name)));
  }
  return { servers: uniq(out.servers).slice(0, MAX_NAMESERVERS), searches: uniq(out.searches).slice(0, MAX_SEARCHES), options: out.options };
}
