import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIp } from './zone-index.js';

/**
 * What a question's name asks for, relative to the cluster zone — the
 * parse step of CoreDNS's kubernetes plugin (parse.go), as plain data.
 * Labels are compared lowercased; the caller answers with the query's case.
 */
export type ParsedName =
  /** Not in the cluster zone nor a reverse name: forward it. */
  | { kind: 'outside' }
  | { kind: 'apex' }
  | { kind: 'dns-version' }
  /** `ns.dns.<zone>`, the name the apex NS record points at. */
  | { kind: 'nameserver' }
  /** `svc.<zone>`, `pod.<zone>`, `dns.<zone>`: empty non-terminals. */
  | { kind: 'empty-nonterminal' }
  | { kind: 'namespace'; namespace: string }
  | { kind: 'service'; namespace: string; service: string }
  | { kind: 'endpoint'; namespace: string; service: string; endpoint: string }
  | { kind: 'srv'; namespace: string; service: string; port: string; protocol: string }
  | { kind: 'pod-namespace'; namespace: string }
  | { kind: 'pod'; namespace: string; ip: string | undefined }
  /** A full reverse name (`d.c.b.a.in-addr.arpa` or 32 nibbles of ip6.arpa). */
  | { kind: 'reverse'; ip: string }
  /** In the zone but not a name the spec defines (too long, unknown label): NXDOMAIN. */
  | { kind: 'invalid'; why: string };

export function zoneLabels(zone: string): string[] {
  return zone.toLowerCase().replace(/\.$/, '').split('.').filter(Boolean);
}

/** Splits a lowercased dotted name into labels; the root name has none. */
function labelsOf(name: string): string[] {
  return name === '' ? [] : name.split('.');
}

/** True when `labels` ends with `suffix` (both lowercase). */
function endsWith(labels: string[], suffix: string[]): boolean {
  if (labels.length < suffix.length) return false;
  const off = labels.length - suffix.length;
  for (let i = 0; i < suffix.length; i++) if (labels[off + i] !== suffix[i]) return false;
  return true;
}

/**
 * Parses a lowercased question name (`rawLabels` are the labels as sent, used
 * to refuse labels that contain a dot, which no cluster name has).
 */
export function parseName(name: string, zone: string[], rawLabels?: string[]): ParsedName {
  const labels = labelsOf(name);
  if (rawLabels && rawLabels.length !== labels.length) {
    return endsWith(labels, zone) ? { kind: 'invalid', why: 'label contains a dot' } : { kind: 'outside' };
  }
  if (endsWith(labels, zone)) return parseInZone(labels.slice(0, labels.length - zone.length));
  const rev = parseReverse(labels);
  if (rev) return { kind: 'reverse', ip: rev };
  return { kind: 'outside' };
}

function parseInZone(rel: string[]): ParsedName {
  const n = rel.length;
  if (n === 0) return { kind: 'apex' };
  const last = rel[n - 1]!;
  if (n === 1 && last === 'dns-version') return { kind: 'dns-version' };
  if (last === 'dns') {
    if (n === 1) return { kind: 'empty-nonterminal' };
    if (n === 2 && rel[0] === 'ns') return { kind: 'nameserver' };
    return { kind: 'invalid', why: 'unknown name under dns.<zone>' };
  }
  if (last === 'svc') {
    if (n === 1) return { kind: 'empty-nonterminal' };
    const namespace = rel[n - 2]!;
    if (n === 2) return { kind: 'namespace', namespace };
    const service = rel[n - 3]!;
    if (n === 3) return { kind: 'service', namespace, service };
    if (n === 4) return { kind: 'endpoint', namespace, service, endpoint: rel[0]! };
    if (n === 5) {
      const [port, protocol] = rel as [string, string];
      if (port.length < 2 || protocol.length < 2 || port[0] !== '_' || protocol[0] !== '_') {
        return { kind: 'invalid', why: 'SRV labels must be _<port>._<proto>' };
      }
      return { kind: 'srv', namespace, service, port: port.slice(1), protocol: protocol.slice(1) };
    }
    return { kind: 'invalid', why: 'too many labels left of the service' };
  }
  if (last === 'pod') {
    if (n === 1) return { kind: 'empty-nonterminal' };
    const namespace = rel[n - 2]!;
    if (n === 2) return { kind: 'pod-namespace', namespace };
    if (n === 3) return { kind: 'pod', namespace, ip: podIp(rel[0]!) };
    return { kind: 'invalid', why: 'too many labels in a pod name' };
  }
  return { kind: 'invalid', why: `"${last}" is neither svc nor pod` };
}

/**
 * `a-b-c-d` → a.b.c.d. As in CoreDNS, exactly 3 dashes and no "--" means
 * IPv4; anything else is tried as IPv6 with dashes turned into colons.
 */
export function podIp(label: string): string | undefined {
  const dashes = label.split('-').length - 1;
  if (dashes === 3 && !label.includes('--')) {
    const ip = label.replaceAll('-', '.');
    return isIPv4(ip) ? ip : undefined;
  }
  const ip6 = label.replaceAll('-', ':');
  return isIPv6(ip6) ? canonicalIp(ip6) : undefined;
}

function parseReverse(labels: string[]): string | undefined {
  const n = labels.length;
  if (n === 6 && labels[4] === 'in-addr' && labels[5] === 'arpa') {
    const octets = labels.slice(0, 4).reverse();
    if (!octets.every((o) => /^(0|[1-9]\d{0,2})$/.test(o) && Number(o) <= 255)) return undefined;
    return octets.join('.');
  }
  if (n === 34 && labels[32] === 'ip6' && labels[33] === 'arpa') {
    const nibbles = labels.slice(0, 32).reverse();
    if (!nibbles.every((x) => /^[0-9a-f]$/.test(x))) return undefined;
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(nibbles.slice(i, i + 4).join(''));
    return canonicalIp(groups.join(':'));
  }
  return undefined;
}

/** The reverse name of an IP (for tests and the README's examples). */
export function reverseName(ip: string): string {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const hex = canonicalIp(ip)
    .split(':')
    .map((g) => g.padStart(4, '0'))
    .join('');
  return `${hex.split('').reverse().join('.')}.ip6.arpa`;
}
