import { Cidr, formatRule, renderRestore, type RestoreTable } from '@pilot/common';
import { endpointChainName, externalChainName, serviceChainName } from '../names.js';
import { endpointKey, keyOf, type EndpointInfo, type ServicePortInfo } from '../model.js';

/**
 * The pure core of the iptables mode: model → desired rules as data, and the
 * data → `iptables-restore` text. kube-proxy's layout and names throughout, so
 * `iptables-save` reads the way network engineers expect.
 */

export type Args = readonly string[];

export interface Chain {
  name: string;
  rules: Args[];
}

export interface NodeConfig {
  /** Pod network; traffic from outside it to a service is masqueraded. */
  clusterCIDR?: string;
  /** Masquerade all service traffic (SNAT to the node). */
  masqueradeAll: boolean;
  /** CIDRs whose local addresses answer NodePorts; empty = every local address but loopback. */
  nodePortAddresses: string[];
}

export const MASQ_MARK = '0x4000';

export const CHAIN = {
  services: 'KUBE-SERVICES',
  externalServices: 'KUBE-EXTERNAL-SERVICES',
  nodePorts: 'KUBE-NODEPORTS',
  postrouting: 'KUBE-POSTROUTING',
  markMasq: 'KUBE-MARK-MASQ',
  canary: 'KUBE-PROXY-CANARY',
} as const;

/** Everything one service port contributes, in every chain it touches. */
export interface ServiceRules {
  key: string;
  svc: ServicePortInfo;
  /** The endpoints programmed (ready ones, sorted by ip:port). */
  endpoints: EndpointInfo[];
  /** Its own nat chains: KUBE-SVC, KUBE-EXT, KUBE-SEP-* (none without endpoints). */
  natChains: Chain[];
  /** Rules it owns in shared chains. */
  natServices: Args[];
  natNodePorts: Args[];
  filterServices: Args[];
  filterExternal: Args[];
  /** Identity of all of the above, to tell an unchanged service cheaply. */
  signature: string;
}

/** `%0.10f` of 1/n, as kube-proxy prints statistic probabilities. */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

const probabilityCache = new Map<number, string>();
function cachedProbability(n: number): string {
  let p = probabilityCache.get(n);
  if (p === undefined) probabilityCache.set(n, (p = probability(n)));
  return p;
}

function protoArgs(protocol: string): { p: string; m: string[] } {
  const p = protocol.toLowerCase();
  return { p, m: ['-m', p] };
}

function comment(text: string): string[] {
  return ['-m', 'comment', '--comment', text];
}

function dst(ip: string): string[] {
  return ['-d', ip.includes('/') ? ip : `${ip}/32`];
}

/** Rules and chains of one service port (pure). */
export function buildServiceRules(svc: ServicePortInfo, allEndpoints: readonly EndpointInfo[], cfg: NodeConfig): ServiceRules {
  const key = keyOf(svc);
  const endpoints = allEndpoints.filter((e) => e.ready);
  const { p, m } = protoArgs(svc.protocol);
  const svcChain = serviceChainName(key, svc.protocol);
  const extChain = externalChainName(key, svc.protocol);
  const hasExternal = svc.nodePort !== undefined || svc.externalIPs.length > 0 || svc.loadBalancerIPs.length > 0;
  const portMatch = [...m, '--dport', String(svc.port)];
  const r: ServiceRules = {
    key,
    svc,
    endpoints,
    natChains: [],
    natServices: [],
    natNodePorts: [],
    filterServices: [],
    filterExternal: [],
    signature: '',
  };

  if (endpoints.length === 0) {
    // No endpoints: no nat chains, a REJECT so clients fail fast (ECONNREFUSED)
    // instead of timing out on a DNAT to nowhere.
    const reject = ['-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'];
    const c = comment(`${key} has no endpoints`);
    r.filterServices.push([...dst(svc.clusterIP), '-p', p, ...c, ...portMatch, ...reject]);
    for (const ip of svc.externalIPs) r.filterExternal.push([...dst(ip), '-p', p, ...c, ...portMatch, ...reject]);
    for (const ip of svc.loadBalancerIPs) r.filterExternal.push([...dst(ip), '-p', p, ...c, ...portMatch, ...reject]);
    if (svc.nodePort !== undefined) {
      r.filterExternal.push(['-p', p, ...c, '-m', 'addrtype', '--dst-type', 'LOCAL', ...m, '--dport', String(svc.nodePort), ...reject]);
    }
    r.signature = signatureOf(r);
    return r;
  }

  // nat KUBE-SERVICES entries.
  r.natServices.push([...dst(svc.clusterIP), '-p', p, ...comment(`${key} cluster IP`), ...portMatch, '-j', svcChain]);
  for (const ip of svc.externalIPs) r.natServices.push([...dst(ip), '-p', p, ...comment(`${key} external IP`), ...portMatch, '-j', extChain]);
  for (const ip of svc.loadBalancerIPs) r.natServices.push([...dst(ip), '-p', p, ...comment(`${key} loadbalancer IP`), ...portMatch, '-j', extChain]);
  if (svc.nodePort !== undefined) r.natNodePorts.push(['-p', p, ...comment(key), ...m, '--dport', String(svc.nodePort), '-j', extChain]);

  // KUBE-SVC: masquerade what does not come from a pod, then spread.
  const svcRules: Args[] = [];
  if (cfg.masqueradeAll) {
    svcRules.push([...dst(svc.clusterIP), '-p', p, ...comment(`${key} cluster IP`), ...portMatch, '-j', CHAIN.markMasq]);
  } else if (cfg.clusterCIDR) {
    svcRules.push(['!', '-s', cfg.clusterCIDR, ...dst(svc.clusterIP), '-p', p, ...comment(`${key} cluster IP`), ...portMatch, '-j', CHAIN.markMasq]);
  }
  const sepNames = endpoints.map((e) => endpointChainName(key, svc.protocol, endpointKey(e)));
  if (svc.sessionAffinity === 'ClientIP') {
    endpoints.forEach((e, i) => {
      const sep = sepNames[i]!;
      svcRules.push([
        ...comment(`${key} -> ${endpointKey(e)}`),
        ...['-m', 'recent', '--rcheck', '--seconds', String(svc.stickySeconds), '--reap', '--name', sep, '--mask', '255.255.255.255', '--rsource'],
        '-j',
        sep,
      ]);
    });
  }
  const n = endpoints.length;
  endpoints.forEach((e, i) => {
    const sep = sepNames[i]!;
    const stat = i < n - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', cachedProbability(n - i)] : [];
    svcRules.push([...comment(`${key} -> ${endpointKey(e)}`), ...stat, '-j', sep]);
  });
  r.natChains.push({ name: svcChain, rules: svcRules });

  if (hasExternal) {
    // External entry (eTP=Cluster): always masquerade, so replies come back
    // through this node whichever host the endpoint is on.
    r.natChains.push({
      name: extChain,
      rules: [[...comment(`masquerade traffic for ${key} external destinations`), '-j', CHAIN.markMasq], ['-j', svcChain]],
    });
  }

  endpoints.forEach((e, i) => {
    const sep = sepNames[i]!;
    const affinity = svc.sessionAffinity === 'ClientIP' ? ['-m', 'recent', '--set', '--name', sep, '--mask', '255.255.255.255', '--rsource'] : [];
    r.natChains.push({
      name: sep,
      rules: [
        // Hairpin: an endpoint reaching itself through the service must be
        // SNATed, or it would answer itself directly and the flow breaks.
        ['-s', `${e.ip}/32`, ...comment(key), '-j', CHAIN.markMasq],
        ['-p', p, ...comment(key), ...affinity, ...m, '-j', 'DNAT', '--to-destination', endpointKey(e)],
      ],
    });
  });
  r.signature = signatureOf(r);
  return r;
}

function signatureOf(r: ServiceRules): string {
  return JSON.stringify([r.natChains, r.natServices, r.natNodePorts, r.filterServices, r.filterExternal]);
}

/** Fixed nat chains: masquerade plumbing and the flush-detector canary. */
export function baseNatChains(): Chain[] {
  return [
    { name: CHAIN.markMasq, rules: [['-j', 'MARK', '--or-mark', MASQ_MARK]] },
    {
      name: CHAIN.postrouting,
      rules: [
        ['-m', 'mark', '!', '--mark', `${MASQ_MARK}/${MASQ_MARK}`, '-j', 'RETURN'],
        // Clear the mark so a packet is never masqueraded twice (re-entry via another table pass).
        ['-j', 'MARK', '--xor-mark', MASQ_MARK],
        [...comment('kubernetes service traffic requiring SNAT'), '-j', 'MASQUERADE', '--random-fully'],
      ],
    },
    { name: CHAIN.canary, rules: [CANARY_RULE] },
  ];
}

/** The canary rule: `iptables -F` empties chains but leaves them, so only a *rule* proves nothing was flushed. */
export const CANARY_RULE: Args = [...comment('svcproxy flush detector'), '-j', 'RETURN'];

export const NODEPORTS_COMMENT = 'kubernetes service nodeports; NOTE: this must be the last rule in this chain';

/** The rule(s) that end nat KUBE-SERVICES: local destinations go on to KUBE-NODEPORTS. */
export function nodePortJumpRules(cfg: NodeConfig): Args[] {
  const tail = [...comment(NODEPORTS_COMMENT), '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', CHAIN.nodePorts];
  if (cfg.nodePortAddresses.length === 0) return [['!', '-d', '127.0.0.0/8', ...tail]];
  return cfg.nodePortAddresses.map((c) => ['-d', Cidr.parse(c).toString(), ...tail]);
}

/** Jumps svcproxy keeps at the top of built-in chains, in order. */
export interface JumpSpec {
  table: 'nat' | 'filter';
  chain: string;
  rules: Args[];
}

const PORTALS = 'kubernetes service portals';
const EXTERNAL_PORTALS = 'kubernetes externally-visible service portals';

export const JUMPS: readonly JumpSpec[] = [
  { table: 'filter', chain: 'INPUT', rules: [['-m', 'conntrack', '--ctstate', 'NEW', ...comment(EXTERNAL_PORTALS), '-j', CHAIN.externalServices]] },
  {
    table: 'filter',
    chain: 'FORWARD',
    rules: [
      ['-m', 'conntrack', '--ctstate', 'NEW', ...comment(PORTALS), '-j', CHAIN.services],
      ['-m', 'conntrack', '--ctstate', 'NEW', ...comment(EXTERNAL_PORTALS), '-j', CHAIN.externalServices],
    ],
  },
  { table: 'filter', chain: 'OUTPUT', rules: [['-m', 'conntrack', '--ctstate', 'NEW', ...comment(PORTALS), '-j', CHAIN.services]] },
  { table: 'nat', chain: 'PREROUTING', rules: [[...comment(PORTALS), '-j', CHAIN.services]] },
  { table: 'nat', chain: 'OUTPUT', rules: [[...comment(PORTALS), '-j', CHAIN.services]] },
  { table: 'nat', chain: 'POSTROUTING', rules: [[...comment('kubernetes postrouting rules'), '-j', CHAIN.postrouting]] },
];

const JUMP_TARGETS = new Set<string>([CHAIN.services, CHAIN.externalServices, CHAIN.postrouting]);

function targetOf(args: Args): string | undefined {
  const i = args.lastIndexOf('-j');
  return i >= 0 ? args[i + 1] : undefined;
}

const same = (a: Args, b: Args) => a.length === b.length && a.every((w, i) => w === b[i]);

/**
 * Restore lines that put `spec`'s jumps back at the top of a built-in chain,
 * given the chain's current rules (from `iptables -S`), or [] when they are
 * already first. Every existing copy is deleted before inserting, so a jump
 * pushed down by someone's `-I` (Docker, overlayd) moves back to position 1.
 */
export function jumpFixLines(spec: JumpSpec, current: readonly Args[]): string[] {
  const ours = current.filter((r) => JUMP_TARGETS.has(targetOf(r) ?? ''));
  const inPlace = spec.rules.every((r, i) => current[i] !== undefined && same(current[i]!, r)) && ours.length === spec.rules.length;
  if (inPlace) return [];
  const lines = ours.map((r) => formatRule('-D', spec.chain, r));
  for (let i = spec.rules.length - 1; i >= 0; i--) lines.push(formatRule('-I', spec.chain, ['1', ...spec.rules[i]!]));
  return lines;
}

// ---------------------------------------------------------------- rendering

export interface TableLines {
  nat: string[];
  filter: string[];
}

function appendChainRules(lines: string[], chain: Chain): void {
  for (const r of chain.rules) lines.push(formatRule('-A', chain.name, r));
}

/**
 * The shared chains (nat KUBE-SERVICES/KUBE-NODEPORTS/…, filter
 * KUBE-SERVICES/KUBE-EXTERNAL-SERVICES) rewritten from every service, plus
 * `extra` lines (jump fixes, per-service chains, deletions) in the same
 * transaction. Services are written in key order; the nodeports jump last.
 */
export function renderShared(
  services: Iterable<ServiceRules>,
  cfg: NodeConfig,
  extra: { natChains?: readonly Chain[]; staleNat?: readonly string[]; jumps?: TableLines } = {},
): string {
  const sorted = [...services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const nat: string[] = [];
  const filter: string[] = [];
  const natChains = [
    ...baseNatChains(),
    { name: CHAIN.services, rules: [...sorted.flatMap((s) => s.natServices), ...nodePortJumpRules(cfg)] },
    { name: CHAIN.nodePorts, rules: sorted.flatMap((s) => s.natNodePorts) },
  ];
  for (const c of natChains) appendChainRules(nat, c);
  for (const c of extra.natChains ?? []) appendChainRules(nat, c);
  for (const s of sorted) for (const r of s.filterServices) filter.push(formatRule('-A', CHAIN.services, r));
  for (const s of sorted) for (const r of s.filterExternal) filter.push(formatRule('-A', CHAIN.externalServices, r));
  filter.push(formatRule('-A', CHAIN.canary, CANARY_RULE));
  nat.push(...(extra.jumps?.nat ?? []));
  filter.push(...(extra.jumps?.filter ?? []));
  for (const name of extra.staleNat ?? []) nat.push(`-X ${name}`);
  const tables: RestoreTable[] = [
    {
      name: 'filter',
      chains: [CHAIN.services, CHAIN.externalServices, CHAIN.canary].map((name) => ({ name })),
      lines: filter,
    },
    {
      name: 'nat',
      chains: [...natChains, ...(extra.natChains ?? [])].map((c) => ({ name: c.name })).concat((extra.staleNat ?? []).map((name) => ({ name }))),
      lines: nat,
    },
  ];
  return renderRestore(tables);
}

/**
 * The masquerade plumbing alone: written first in a chunked full sync, since
 * every per-service chain jumps to KUBE-MARK-MASQ. (The canary is left to the
 * switch-in, so a sync that dies half-way is followed by a full one.)
 */
export function renderBase(): string {
  const chains = baseNatChains().filter((c) => c.name !== CHAIN.canary);
  const lines: string[] = [];
  for (const c of chains) appendChainRules(lines, c);
  return renderRestore([{ name: 'nat', chains: chains.map((c) => ({ name: c.name })), lines }]);
}

/** One restore that (re)writes the given per-service nat chains and nothing else. */
export function renderServiceChains(services: Iterable<ServiceRules>): string {
  const chains = [...services].flatMap((s) => s.natChains);
  const lines: string[] = [];
  for (const c of chains) appendChainRules(lines, c);
  return renderRestore([{ name: 'nat', chains: chains.map((c) => ({ name: c.name })), lines }]);
}

/** Flushes (declares) nat chains and, when `remove`, deletes them too. */
export function renderChainRemoval(table: string, chains: readonly string[], remove: boolean): string {
  return renderRestore([{ name: table, chains: chains.map((name) => ({ name })), lines: remove ? chains.map((c) => `-X ${c}`) : [] }]);
}

/** The monolithic form: every chain and rule in one restore (kube-proxy's way; the bench's anchor). */
export function renderFull(services: Iterable<ServiceRules>, cfg: NodeConfig, staleNat: readonly string[] = [], jumps?: TableLines): string {
  const list = [...services];
  return renderShared(list, cfg, { natChains: list.flatMap((s) => s.natChains), staleNat, jumps });
}
