import { comment, formatRule, jumpFixLines, renderRestore, targetOf, type Args, type Chain, type JumpSpec, type RestoreTable, type SavedTable } from '@pilot/common';

/**
 * The userspace mode's redirect rules as data, and the one restore text that
 * installs them. Traffic for a service (cluster IP, external/load-balancer
 * IPs, NodePort) is DNATed to the proxy's own listener `listenIP:proxyPort`:
 *
 *   nat PREROUTING → KUBE-PORTALS-CONTAINER      (pods and other hosts)
 *   nat PREROUTING → KUBE-NODEPORT-CONTAINER     (addrtype LOCAL: NodePorts)
 *   nat OUTPUT     → KUBE-PORTALS-HOST / KUBE-NODEPORT-HOST (the host itself)
 *   filter INPUT/FORWARD/OUTPUT → KUBE-PORTALS-REJECT (ports without endpoints)
 *   filter INPUT   → KUBE-NODEPORT-NON-LOCAL     (accept the proxy ports)
 *
 * DNAT to a concrete address rather than REDIRECT: REDIRECT picks the
 * incoming interface's address, which differs per path, and the UDP
 * listener answers from one concrete address; DNAT to 127.0.0.1 would not work
 * for the host's own traffic without route_localnet.
 *
 * The same restore removes the iptables mode's chains (names listed in
 * IPTABLES_MODE_CHAINS), so switching modes leaves no stale NAT behind.
 */

export const USERSPACE_CHAIN = {
  portalsContainer: 'KUBE-PORTALS-CONTAINER',
  portalsHost: 'KUBE-PORTALS-HOST',
  nodePortContainer: 'KUBE-NODEPORT-CONTAINER',
  nodePortHost: 'KUBE-NODEPORT-HOST',
  reject: 'KUBE-PORTALS-REJECT',
  nodePortNonLocal: 'KUBE-NODEPORT-NON-LOCAL',
} as const;

/** Chains this mode owns, per table (the iptables mode deletes these when it takes over). */
export const USERSPACE_CHAINS = {
  nat: [USERSPACE_CHAIN.portalsContainer, USERSPACE_CHAIN.portalsHost, USERSPACE_CHAIN.nodePortContainer, USERSPACE_CHAIN.nodePortHost],
  filter: [USERSPACE_CHAIN.reject, USERSPACE_CHAIN.nodePortNonLocal],
  prefixes: [] as string[],
} as const;

/**
 * Chains the iptables mode writes (kube-proxy's layout). Only these names are
 * ever deleted when the userspace mode takes over; anything else in the
 * tables (Docker, overlayd, the admin's own rules) is left alone.
 */
export const IPTABLES_MODE_CHAINS = {
  nat: ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ', 'KUBE-PROXY-CANARY'],
  filter: ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL', 'KUBE-PROXY-CANARY'],
  prefixes: ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-'],
} as const;

export interface OwnedChains {
  nat: readonly string[];
  filter: readonly string[];
  prefixes: readonly string[];
}

/** One service port as the redirect rules need it. */
export interface Portal {
  /** ServicePortName `ns/svc:port`. */
  key: string;
  protocol: 'TCP' | 'UDP';
  clusterIP: string;
  port: number;
  nodePort?: number;
  externalIPs: readonly string[];
  loadBalancerIPs: readonly string[];
  /** Where the proxy listens for this service port (on the config's listenIP); 0 when it could not listen. */
  proxyPort: number;
  hasEndpoints: boolean;
}

export interface PortalConfig {
  /** The concrete local address every listener is bound to and every rule DNATs to. */
  listenIP: string;
}

function host32(ip: string): string {
  return ip.includes('/') ? ip : `${ip}/32`;
}

export interface PortalRules {
  nat: Chain[];
  filter: Chain[];
}

const byKey = (a: Portal, b: Portal) => (a.key === b.key ? (a.protocol < b.protocol ? -1 : 1) : a.key < b.key ? -1 : 1);

/** Every chain this mode owns, with its rules, for the given portals (pure). */
export function buildPortalRules(portals: readonly Portal[], cfg: PortalConfig): PortalRules {
  const container: Args[] = [];
  const host: Args[] = [];
  const npContainer: Args[] = [];
  const npHost: Args[] = [];
  const reject: Args[] = [];
  const accept: Args[] = [];
  for (const pt of [...portals].sort(byKey)) {
    const p = pt.protocol.toLowerCase();
    const m = ['-m', p];
    const to = ['-j', 'DNAT', '--to-destination', `${cfg.listenIP}:${pt.proxyPort}`];
    const dests: { ip: string; what: string }[] = [
      { ip: pt.clusterIP, what: `${pt.key} cluster IP` },
      ...pt.externalIPs.map((ip) => ({ ip, what: `${pt.key} external IP` })),
      ...pt.loadBalancerIPs.map((ip) => ({ ip, what: `${pt.key} loadbalancer IP` })),
    ];
    const listening = pt.proxyPort > 0;
    // The listener is open whatever the endpoints; the kernel must let the
    // redirected flows reach it even where INPUT defaults to DROP.
    if (listening) accept.push(['-d', host32(cfg.listenIP), '-p', p, ...comment(pt.key), ...m, '--dport', String(pt.proxyPort), '-j', 'ACCEPT']);
    if (!pt.hasEndpoints || !listening) {
      // No redirect: a REJECT so clients see ECONNREFUSED at once instead of
      // a proxy that accepts and then has nowhere to send the bytes (or of
      // packets forwarded on towards a cluster IP nobody answers).
      const rj = ['-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'];
      const c = comment(listening ? `${pt.key} has no endpoints` : `${pt.key} has no proxy listener`);
      for (const d of dests) reject.push(['-d', host32(d.ip), '-p', p, ...c, ...m, '--dport', String(pt.port), ...rj]);
      if (pt.nodePort !== undefined) {
        reject.push(['-p', p, ...c, '-m', 'addrtype', '--dst-type', 'LOCAL', ...m, '--dport', String(pt.nodePort), ...rj]);
      }
      continue;
    }
    for (const d of dests) {
      const rule = ['-d', host32(d.ip), '-p', p, ...comment(d.what), ...m, '--dport', String(pt.port), ...to];
      container.push(rule);
      host.push(rule);
    }
    if (pt.nodePort !== undefined) {
      const rule = ['-p', p, ...comment(pt.key), ...m, '--dport', String(pt.nodePort), ...to];
      npContainer.push(rule);
      npHost.push(rule);
    }
  }
  return {
    nat: [
      { name: USERSPACE_CHAIN.portalsContainer, rules: container },
      { name: USERSPACE_CHAIN.portalsHost, rules: host },
      { name: USERSPACE_CHAIN.nodePortContainer, rules: npContainer },
      { name: USERSPACE_CHAIN.nodePortHost, rules: npHost },
    ],
    filter: [
      { name: USERSPACE_CHAIN.reject, rules: reject },
      { name: USERSPACE_CHAIN.nodePortNonLocal, rules: accept },
    ],
  };
}

// ------------------------------------------------------------------ jumps

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

/** Jumps kept at the top of built-in chains, in this order. */
export const USERSPACE_JUMPS: readonly JumpSpec[] = [
  {
    table: 'nat',
    chain: 'PREROUTING',
    rules: [
      [...comment('handle ClusterIPs; NOTE: this must be before the NodePort rules'), '-j', USERSPACE_CHAIN.portalsContainer],
      ['-m', 'addrtype', '--dst-type', 'LOCAL', ...comment('handle service NodePorts'), '-j', USERSPACE_CHAIN.nodePortContainer],
    ],
  },
  {
    table: 'nat',
    chain: 'OUTPUT',
    rules: [
      [...comment('handle ClusterIPs; NOTE: this must be before the NodePort rules'), '-j', USERSPACE_CHAIN.portalsHost],
      ['-m', 'addrtype', '--dst-type', 'LOCAL', ...comment('handle service NodePorts'), '-j', USERSPACE_CHAIN.nodePortHost],
    ],
  },
  {
    table: 'filter',
    chain: 'INPUT',
    rules: [
      [...NEW, ...comment('services without endpoints'), '-j', USERSPACE_CHAIN.reject],
      [...NEW, ...comment('service proxy ports'), '-j', USERSPACE_CHAIN.nodePortNonLocal],
    ],
  },
  { table: 'filter', chain: 'FORWARD', rules: [[...NEW, ...comment('services without endpoints'), '-j', USERSPACE_CHAIN.reject]] },
  { table: 'filter', chain: 'OUTPUT', rules: [[...NEW, ...comment('services without endpoints'), '-j', USERSPACE_CHAIN.reject]] },
];

// -------------------------------------------------------------- removal

const BUILTIN = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

function owns(owned: OwnedChains, table: 'nat' | 'filter', chain: string): boolean {
  return owned[table].includes(chain) || owned.prefixes.some((p) => chain.startsWith(p));
}

export interface TableRemoval {
  /** Chains to declare (flush) and then delete. */
  chains: string[];
  /** `-D` of built-in jumps to them, then `-X` of each. */
  lines: string[];
  /** Owned chains left in place because something else still jumps to them. */
  kept: string[];
}

/**
 * How to delete the `owned` chains present in one saved table: built-in
 * chains' jumps to them are deleted, the chains flushed and removed. A chain
 * still referenced from a chain we do not own (and so must not touch) is kept,
 * since deleting it would make the whole restore fail.
 */
export function removalFor(table: SavedTable | undefined, name: 'nat' | 'filter', owned: OwnedChains): TableRemoval {
  if (!table) return { chains: [], lines: [], kept: [] };
  const candidates = new Set([...table.chains.keys()].filter((c) => !BUILTIN.has(c) && owns(owned, name, c)));
  const kept: string[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of table.rules) {
      const t = targetOf(r.args);
      if (t && candidates.has(t) && !BUILTIN.has(r.chain) && !candidates.has(r.chain)) {
        candidates.delete(t);
        kept.push(t);
        changed = true;
      }
    }
  }
  const chains = [...candidates].sort();
  const lines: string[] = [];
  for (const r of table.rules) {
    const t = targetOf(r.args);
    if (BUILTIN.has(r.chain) && t && candidates.has(t)) lines.push(formatRule('-D', r.chain, r.args));
  }
  for (const c of chains) lines.push(`-X ${c}`);
  return { chains, lines, kept };
}

// ------------------------------------------------------------- rendering

/**
 * The whole sync as one `iptables-restore --noflush` input: this mode's
 * chains rewritten, its jumps fixed, the iptables mode's chains removed.
 * `current` is the parsed `iptables-save` of nat and filter.
 */
export function renderPortalRestore(desired: PortalRules, current: ReadonlyMap<string, SavedTable>): string {
  const tables: RestoreTable[] = [];
  for (const name of ['filter', 'nat'] as const) {
    const chains = desired[name];
    const lines: string[] = [];
    for (const c of chains) for (const r of c.rules) lines.push(formatRule('-A', c.name, r));
    const saved = current.get(name);
    for (const spec of USERSPACE_JUMPS.filter((j) => j.table === name)) {
      const cur = (saved?.rules ?? []).filter((r) => r.chain === spec.chain).map((r) => r.args);
      lines.push(...jumpFixLines(spec, cur));
    }
    const other = removalFor(saved, name, IPTABLES_MODE_CHAINS);
    lines.push(...other.lines);
    tables.push({ name, chains: [...chains.map((c) => ({ name: c.name })), ...other.chains.map((c) => ({ name: c }))], lines });
  }
  return renderRestore(tables);
}

/** A restore that removes this mode's chains and jumps (another mode taking over, or `--cleanup`), or '' when none exist. */
export function renderUserspaceRemoval(current: ReadonlyMap<string, SavedTable>, owned: OwnedChains = USERSPACE_CHAINS): string {
  const tables: RestoreTable[] = [];
  for (const name of ['filter', 'nat'] as const) {
    const r = removalFor(current.get(name), name, owned);
    if (r.chains.length) tables.push({ name, chains: r.chains.map((c) => ({ name: c })), lines: r.lines });
  }
  return tables.length ? renderRestore(tables) : '';
}
