import { Cidr, comment, formatRule, renderRestore, type Args, type Chain, type JumpSpec, type RestoreTable } from '@pilot/common';
import { endpointChainName, externalChainName, firewallChainName, localChainName, serviceChainName } from '../names.js';
import { endpointKey, servicePortKey, type EndpointInfo, type ServicePortInfo } from '../model.js';

/**
 * The pure core of the iptables mode: model → desired rules as data, and the
 * data → `iptables-restore` text. kube-proxy's layout and names throughout, so
 * `iptables-save` reads the way network engineers expect.
 */

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
  /** filter: DROP of load-balancer traffic that KUBE-FW-* did not accept. */
  firewall: 'KUBE-PROXY-FIREWALL',
} as const;

/** Everything one service port contributes, in every chain it touches. */
export interface ServiceRules {
  key: string;
  svc: ServicePortInfo;
  /** The endpoints programmed (ready ones, sorted by ip:port). */
  endpoints: EndpointInfo[];
  /** How many of them run on this node (what the health check reports). */
  localEndpoints: number;
  /** Its own nat chains: KUBE-SVC, KUBE-SVL, KUBE-EXT, KUBE-FW, KUBE-SEP-* (none without endpoints). */
  natChains: Chain[];
  /** Rules it owns in shared chains. */
  natServices: Args[];
  natNodePorts: Args[];
  filterServices: Args[];
  filterExternal: Args[];
  /** filter KUBE-NODEPORTS: ACCEPT of the health-check node port. */
  filterNodePorts: Args[];
  /** filter KUBE-PROXY-FIREWALL: DROP of load-balancer traffic KUBE-FW did not let through. */
  filterFirewall: Args[];
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

function dst(ip: string): string[] {
  return ['-d', ip.includes('/') ? ip : `${ip}/32`];
}

/**
 * Rules and chains of one service port (pure), by kube-proxy's traffic
 * policy logic: cluster-IP traffic goes to KUBE-SVC (all endpoints) or, with
 * internalTrafficPolicy Local, KUBE-SVL (this node's endpoints); NodePort,
 * external and LB IPs enter KUBE-EXT (through KUBE-FW when source ranges are
 * set), which masquerades and goes to KUBE-SVC (Cluster) or sends outside
 * clients to KUBE-SVL unmasqueraded (externalTrafficPolicy Local). A policy
 * with no endpoint to use turns into a filter REJECT (no endpoints at all) or
 * DROP (no local endpoints).
 */
export function buildServiceRules(svc: ServicePortInfo, allEndpoints: readonly EndpointInfo[], cfg: NodeConfig): ServiceRules {
  const key = servicePortKey(svc);
  const endpoints = allEndpoints.filter((e) => e.ready);
  const local = endpoints.filter((e) => e.isLocal);
  const { p, m } = protoArgs(svc.protocol);
  const svcChain = serviceChainName(key, svc.protocol);
  const svlChain = localChainName(key, svc.protocol);
  const extChain = externalChainName(key, svc.protocol);
  const fwChain = firewallChainName(key, svc.protocol);
  const hasExternal = svc.nodePort !== undefined || svc.externalIPs.length > 0 || svc.loadBalancerIPs.length > 0;
  const portMatch = [...m, '--dport', String(svc.port)];
  const r: ServiceRules = {
    key,
    svc,
    endpoints,
    localEndpoints: new Set(local.map((e) => e.ip)).size,
    natChains: [],
    natServices: [],
    natNodePorts: [],
    filterServices: [],
    filterExternal: [],
    filterNodePorts: [],
    filterFirewall: [],
    signature: '',
  };

  // Whatever the endpoints, the health-check port must be reachable: a load
  // balancer tells nodes with local endpoints from those without by its answer.
  if (svc.healthCheckNodePort !== undefined) {
    r.filterNodePorts.push(['-p', 'tcp', ...comment(`${key} health check node port`), '-m', 'tcp', '--dport', String(svc.healthCheckNodePort), '-j', 'ACCEPT']);
  }

  const internalLocal = svc.internalPolicyLocal === true;
  const externalLocal = svc.externalPolicyLocal === true && hasExternal;
  const hasEndpoints = endpoints.length > 0;
  const hasInternalEndpoints = internalLocal ? local.length > 0 : hasEndpoints;
  const hasExternalEndpoints = externalLocal ? local.length > 0 : hasEndpoints;
  // KUBE-SVC is also needed with external policy Local: pods and the node
  // itself reach an external address through all endpoints (short-circuit).
  const usesClusterChain = hasEndpoints && (!internalLocal || hasExternal);
  const usesLocalChain = local.length > 0 && (internalLocal || externalLocal);
  const internalChain = internalLocal ? svlChain : svcChain;
  const externalPolicyChain = externalLocal ? svlChain : svcChain;
  const usesExtChain = hasEndpoints && hasExternal;
  const sourceRanges = svc.loadBalancerSourceRanges ?? [];
  const usesFwChain = hasEndpoints && svc.loadBalancerIPs.length > 0 && sourceRanges.length > 0;
  const lbChain = usesFwChain ? fwChain : extChain;

  // Filter verdicts: REJECT when there is no endpoint at all (clients fail
  // fast, ECONNREFUSED), DROP when only this node has none for the policy.
  const verdict = (target: 'REJECT' | 'DROP') => (target === 'REJECT' ? ['-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'] : ['-j', 'DROP']);
  const internalFilter = !hasEndpoints ? verdict('REJECT') : !hasInternalEndpoints ? verdict('DROP') : undefined;
  const externalFilter = !hasEndpoints ? verdict('REJECT') : !hasExternalEndpoints ? verdict('DROP') : undefined;
  const noEndpoints = comment(`${key} has no endpoints`);
  const noLocal = comment(`${key} has no local endpoints`);
  const internalComment = hasEndpoints ? noLocal : noEndpoints;
  const externalComment = hasEndpoints ? noLocal : noEndpoints;

  // Cluster IP.
  if (hasInternalEndpoints) r.natServices.push([...dst(svc.clusterIP), '-p', p, ...comment(`${key} cluster IP`), ...portMatch, '-j', internalChain]);
  else r.filterServices.push([...dst(svc.clusterIP), '-p', p, ...internalComment, ...portMatch, ...internalFilter!]);

  // External IPs, load-balancer IPs, NodePort.
  for (const ip of svc.externalIPs) {
    if (hasEndpoints) r.natServices.push([...dst(ip), '-p', p, ...comment(`${key} external IP`), ...portMatch, '-j', extChain]);
    if (externalFilter) r.filterExternal.push([...dst(ip), '-p', p, ...externalComment, ...portMatch, ...externalFilter]);
  }
  for (const ip of svc.loadBalancerIPs) {
    if (hasEndpoints) r.natServices.push([...dst(ip), '-p', p, ...comment(`${key} loadbalancer IP`), ...portMatch, '-j', lbChain]);
    // Traffic KUBE-FW let through was DNATed away from the LB IP; what still
    // heads for it was not allowed.
    if (usesFwChain) r.filterFirewall.push([...dst(ip), '-p', p, ...comment(`${key} traffic not accepted by ${fwChain}`), ...portMatch, '-j', 'DROP']);
  }
  if (externalFilter) for (const ip of svc.loadBalancerIPs) r.filterExternal.push([...dst(ip), '-p', p, ...externalComment, ...portMatch, ...externalFilter]);
  if (svc.nodePort !== undefined) {
    if (hasEndpoints) r.natNodePorts.push(['-p', p, ...comment(key), ...m, '--dport', String(svc.nodePort), '-j', extChain]);
    if (externalFilter) r.filterExternal.push(['-p', p, ...externalComment, '-m', 'addrtype', '--dst-type', 'LOCAL', ...m, '--dport', String(svc.nodePort), ...externalFilter]);
  }

  if (!hasEndpoints) {
    r.signature = signatureOf(r);
    return r;
  }

  const sepName = (e: EndpointInfo) => endpointChainName(key, svc.protocol, endpointKey(e));
  // The internal chain first masquerades what does not come from a pod.
  const internalMasq: Args[] = [];
  if (hasInternalEndpoints) {
    if (cfg.masqueradeAll) {
      internalMasq.push([...dst(svc.clusterIP), '-p', p, ...comment(`${key} cluster IP`), ...portMatch, '-j', CHAIN.markMasq]);
    } else if (cfg.clusterCIDR) {
      internalMasq.push(['!', '-s', cfg.clusterCIDR, ...dst(svc.clusterIP), '-p', p, ...comment(`${key} cluster IP`), ...portMatch, '-j', CHAIN.markMasq]);
    }
  }
  if (usesClusterChain) {
    r.natChains.push({ name: svcChain, rules: [...(internalChain === svcChain ? internalMasq : []), ...spreadRules(svc, key, endpoints, sepName)] });
  }
  if (usesLocalChain) {
    r.natChains.push({ name: svlChain, rules: [...(internalChain === svlChain ? internalMasq : []), ...spreadRules(svc, key, local, sepName)] });
  }

  if (usesExtChain) {
    const ext: Args[] = [];
    if (!externalLocal) {
      // Endpoints may be on another host: masquerade, so replies come back through this one.
      ext.push([...comment(`masquerade traffic for ${key} external destinations`), '-j', CHAIN.markMasq]);
    } else {
      // Pods reaching an external address are treated as if they had gone
      // out to the load balancer and come back: all endpoints, no policy.
      if (cfg.clusterCIDR) ext.push(['-s', cfg.clusterCIDR, ...comment(`pod traffic for ${key} external destinations`), '-j', svcChain]);
      // The node itself: its source would be the (local) destination, so masquerade and use any endpoint.
      ext.push([...comment(`masquerade LOCAL traffic for ${key} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', CHAIN.markMasq]);
      ext.push([...comment(`route LOCAL traffic for ${key} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', svcChain]);
    }
    // Everyone else: the policy's endpoints (for Local, no SNAT: the client IP is kept).
    if (hasExternalEndpoints) ext.push(['-j', externalPolicyChain]);
    r.natChains.push({ name: extChain, rules: ext });
  }

  if (usesFwChain) {
    const fw: Args[] = sourceRanges.map((cidr) => ['-s', cidr, ...comment(`${key} loadbalancer IP`), '-j', extChain]);
    // A rule without target, kube-proxy's marker: the DROP is in filter KUBE-PROXY-FIREWALL.
    fw.push(comment(`other traffic to ${key} will be dropped by KUBE-PROXY-FIREWALL`));
    r.natChains.push({ name: fwChain, rules: fw });
  }

  // One KUBE-SEP per endpoint some chain of this node can reach.
  const reachable = usesClusterChain ? endpoints : local;
  for (const e of reachable) {
    const sep = sepName(e);
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
  }
  r.signature = signatureOf(r);
  return r;
}

/** The spread over `eps`: ClientIP affinity checks first, then 1/n, 1/(n-1), ... random picks. */
function spreadRules(svc: ServicePortInfo, key: string, eps: readonly EndpointInfo[], sepName: (e: EndpointInfo) => string): Args[] {
  const rules: Args[] = [];
  if (svc.sessionAffinity === 'ClientIP') {
    for (const e of eps) {
      const sep = sepName(e);
      rules.push([
        ...comment(`${key} -> ${endpointKey(e)}`),
        ...['-m', 'recent', '--rcheck', '--seconds', String(svc.stickySeconds), '--reap', '--name', sep, '--mask', '255.255.255.255', '--rsource'],
        '-j',
        sep,
      ]);
    }
  }
  const n = eps.length;
  eps.forEach((e, i) => {
    const stat = i < n - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', cachedProbability(n - i)] : [];
    rules.push([...comment(`${key} -> ${endpointKey(e)}`), ...stat, '-j', sepName(e)]);
  });
  return rules;
}

function signatureOf(r: ServiceRules): string {
  return JSON.stringify([r.natChains, r.natServices, r.natNodePorts, r.filterServices, r.filterExternal, r.filterNodePorts, r.filterFirewall, r.localEndpoints]);
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

/** The filter chains svcproxy owns, all rewritten by a full sync. */
export const FILTER_CHAINS = [CHAIN.services, CHAIN.externalServices, CHAIN.nodePorts, CHAIN.firewall, CHAIN.canary] as const;

/** The rule(s) that end nat KUBE-SERVICES: local destinations go on to KUBE-NODEPORTS. */
export function nodePortJumpRules(cfg: NodeConfig): Args[] {
  const tail = [...comment(NODEPORTS_COMMENT), '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', CHAIN.nodePorts];
  if (cfg.nodePortAddresses.length === 0) return [['!', '-d', '127.0.0.0/8', ...tail]];
  return cfg.nodePortAddresses.map((c) => ['-d', Cidr.parse(c).toString(), ...tail]);
}

const PORTALS = 'kubernetes service portals';
const EXTERNAL_PORTALS = 'kubernetes externally-visible service portals';
const HEALTH_CHECKS = 'kubernetes health check service ports';
const LB_FIREWALL = 'kubernetes load balancer firewall';
const firewallJump: Args = ['-m', 'conntrack', '--ctstate', 'NEW', ...comment(LB_FIREWALL), '-j', CHAIN.firewall];

/** Jumps svcproxy keeps at the top of built-in chains, in order. */
export const JUMPS: readonly JumpSpec[] = [
  {
    table: 'filter',
    chain: 'INPUT',
    rules: [
      ['-m', 'conntrack', '--ctstate', 'NEW', ...comment(EXTERNAL_PORTALS), '-j', CHAIN.externalServices],
      [...comment(HEALTH_CHECKS), '-j', CHAIN.nodePorts],
      firewallJump,
    ],
  },
  {
    table: 'filter',
    chain: 'FORWARD',
    rules: [
      ['-m', 'conntrack', '--ctstate', 'NEW', ...comment(PORTALS), '-j', CHAIN.services],
      ['-m', 'conntrack', '--ctstate', 'NEW', ...comment(EXTERNAL_PORTALS), '-j', CHAIN.externalServices],
      firewallJump,
    ],
  },
  { table: 'filter', chain: 'OUTPUT', rules: [['-m', 'conntrack', '--ctstate', 'NEW', ...comment(PORTALS), '-j', CHAIN.services], firewallJump] },
  { table: 'nat', chain: 'PREROUTING', rules: [[...comment(PORTALS), '-j', CHAIN.services]] },
  { table: 'nat', chain: 'OUTPUT', rules: [[...comment(PORTALS), '-j', CHAIN.services]] },
  { table: 'nat', chain: 'POSTROUTING', rules: [[...comment('kubernetes postrouting rules'), '-j', CHAIN.postrouting]] },
];

/**
 * Every chain a JUMPS rule targets: in any built-in chain a rule jumping to
 * one of them is ours (for common's jumpFixLines), so a jump an older layout
 * put somewhere else is removed too.
 */
export const JUMP_TARGETS: ReadonlySet<string> = new Set<string>([CHAIN.services, CHAIN.externalServices, CHAIN.postrouting, CHAIN.nodePorts, CHAIN.firewall]);

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
  for (const s of sorted) for (const r of s.filterNodePorts) filter.push(formatRule('-A', CHAIN.nodePorts, r));
  for (const s of sorted) for (const r of s.filterFirewall) filter.push(formatRule('-A', CHAIN.firewall, r));
  filter.push(formatRule('-A', CHAIN.canary, CANARY_RULE));
  nat.push(...(extra.jumps?.nat ?? []));
  filter.push(...(extra.jumps?.filter ?? []));
  for (const name of extra.staleNat ?? []) nat.push(`-X ${name}`);
  const tables: RestoreTable[] = [
    {
      name: 'filter',
      chains: FILTER_CHAINS.map((name) => ({ name })),
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
