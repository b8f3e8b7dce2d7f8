import { Cidr, formatRule, parseSave, targetOf, type RestoreTable, type SavedRule } from '@pilot/common';

/**
 * What `pilot down` removes from the host, as pure functions of two
 * pictures: the host before the first `up` (host-before.json) and now.
 * Something is removed only when it is new since then AND it is the
 * cluster's: a chain named like one of its components' (KUBE-…, DOCKER…,
 * OVERLAYD-…) and every new rule jumping to one; a new rule on one of its
 * links (docker0); the FORWARD (or any built-in chain's) policy goes back to
 * what it was. Rules, links and routes someone else added meanwhile stay.
 */

export interface Ownership {
  /** Chains whose names start so are the cluster's when they are new. */
  chainPrefixes: readonly string[];
  /** Links (bridges) the cluster made: a new rule naming one with -i/-o is the cluster's, and so is a new link enslaved to one. */
  links: readonly string[];
  /** New links with a name starting so are the cluster's (flannel.1). */
  linkPrefixes: readonly string[];
  /** The pod network: a new route into it is the cluster's. */
  clusterCidr: string;
}

export const OWNERSHIP_DEFAULTS = {
  chainPrefixes: ['KUBE-', 'DOCKER', 'OVERLAYD-'],
  links: ['docker0'],
  linkPrefixes: ['flannel.'],
} as const;

const ruleKey = (r: SavedRule) => `${r.chain}\0${r.args.join('\0')}`;

function namesLink(args: readonly string[], links: ReadonlySet<string>): boolean {
  return args.some((w, i) => (w === '-i' || w === '-o') && links.has(args[i + 1] ?? ''));
}

/**
 * The restore (for `iptables-restore --noflush`, one call per backend) that
 * takes `now` back to `before` as far as the cluster's rules go: the new
 * chains it owns are declared (so flushed), the new rules elsewhere that are
 * its own deleted, the owned chains deleted, built-in policies reset.
 * Empty when there is nothing to do.
 */
export function planIptablesCleanup(before: string, now: string, own: Pick<Ownership, 'chainPrefixes' | 'links'>): RestoreTable[] {
  const was = parseSave(before);
  const links = new Set(own.links);
  const out: RestoreTable[] = [];
  for (const [name, t] of parseSave(now)) {
    const b = was.get(name);
    const owned = new Set(
      [...t.chains.values()].filter((c) => c.policy === null && !b?.chains.has(c.name) && own.chainPrefixes.some((p) => c.name.startsWith(p))).map((c) => c.name),
    );
    // Rules already there before are kept, each copy counted once.
    const kept = new Map<string, number>();
    for (const r of b?.rules ?? []) kept.set(ruleKey(r), (kept.get(ruleKey(r)) ?? 0) + 1);
    const lines: string[] = [];
    for (const r of t.rules) {
      if (owned.has(r.chain)) continue; // goes with its chain
      const k = ruleKey(r);
      const n = kept.get(k) ?? 0;
      if (n > 0) {
        kept.set(k, n - 1);
        continue;
      }
      if (owned.has(targetOf(r.args) ?? '') || namesLink(r.args, links)) lines.push(formatRule('-D', r.chain, r.args));
    }
    const policies = [...t.chains.values()]
      .filter((c) => c.policy !== null && c.policy !== (b?.chains.get(c.name)?.policy ?? 'ACCEPT'))
      .map((c) => ({ name: c.name, policy: b?.chains.get(c.name)?.policy ?? 'ACCEPT' }));
    if (!owned.size && !lines.length && !policies.length) continue;
    out.push({
      name,
      chains: [...policies, ...[...owned].map((c) => ({ name: c }))],
      lines: [...lines, ...[...owned].map((c) => `-X ${c}`)],
    });
  }
  return out;
}

export interface LinkInfo {
  name: string;
  master?: string;
}

/** Parses `ip -o link show`: each link's name (without @peer) and its master. */
export function parseLinks(text: string): LinkInfo[] {
  const out: LinkInfo[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (!m) continue;
    const master = /\smaster\s(\S+)/.exec(line)?.[1];
    out.push({ name: m[1]!, ...(master ? { master } : {}) });
  }
  return out;
}

/** New links that are the cluster's, ports before bridges (deleting a bridge frees its ports anyway). */
export function planLinkCleanup(before: readonly string[], now: readonly LinkInfo[], own: Pick<Ownership, 'links' | 'linkPrefixes'>): string[] {
  const had = new Set(before);
  const fresh = now.filter((l) => !had.has(l.name));
  const ports = fresh.filter((l) => l.master !== undefined && own.links.includes(l.master)).map((l) => l.name);
  const mine = fresh.filter((l) => own.links.includes(l.name) || own.linkPrefixes.some((p) => l.name.startsWith(p))).map((l) => l.name);
  return [...ports, ...mine.filter((n) => !ports.includes(n))];
}

/** New routes (lines of `ip -4 route show`) into the pod network, as `ip route del` arguments. */
export function planRouteCleanup(before: readonly string[], now: readonly string[], clusterCidr: string): string[][] {
  const had = new Set(before.map((l) => l.trim()));
  const net = Cidr.parse(clusterCidr);
  const out: string[][] = [];
  for (const line of now.map((l) => l.trim()).filter(Boolean)) {
    if (had.has(line)) continue;
    const dst = line.split(/\s+/)[0]!;
    let cidr: Cidr;
    try {
      cidr = Cidr.parse(dst.includes('/') ? dst : `${dst}/32`);
    } catch {
      continue; // default, unreachable …: not a network of ours
    }
    if (net.containsCidr(cidr)) out.push(line.split(/\s+/));
  }
  return out;
}

/** The sysctls to put back: those whose value now differs from before. */
export function planSysctlRestore(before: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(before)) if (now[k] !== undefined && now[k] !== v) out[k] = v;
  return out;
}
