import { formatRule, renderRestore, type Args } from '@pilot/common';
import { CHAIN, type ServiceRules, type TableLines } from './rules.js';

/**
 * The iptables mode's partial sync as restore text: only the service ports
 * the change tracker marked dirty, diffed against what was last written.
 */

function ruleSet(rules: readonly Args[]): Map<string, Args> {
  return new Map(rules.map((r) => [r.join('\u0000'), r]));
}

/** -D lines for rules that went away, then `add` lines for rules that are new. */
function diffRules(chain: string, before: readonly Args[], after: readonly Args[], add: (r: Args) => string, out: { del: string[]; add: string[] }): void {
  const b = ruleSet(before);
  const a = ruleSet(after);
  for (const [k, r] of b) if (!a.has(k)) out.del.push(formatRule('-D', chain, r));
  for (const [k, r] of a) if (!b.has(k)) out.add.push(add(r));
}

/**
 * A partial restore for the changed service ports only: their own chains
 * rewritten, their entries in the shared chains removed with -D and added with
 * -I at position 1 (so the nodeports jump stays last in KUBE-SERVICES) or -A
 * where order does not matter, and chains nobody uses any more flushed and
 * deleted — all in one atomic restore. Returns undefined when nothing differs.
 */
export function renderPartial(
  prev: ReadonlyMap<string, ServiceRules>,
  next: ReadonlyMap<string, ServiceRules>,
  keys: Iterable<string>,
  jumps: TableLines = { nat: [], filter: [] },
): string | undefined {
  const natChains: string[] = [];
  const natRules: string[] = [];
  const stale: string[] = [];
  const nat = { del: [] as string[], add: [] as string[] };
  const natNp = { del: [] as string[], add: [] as string[] };
  const filter = { del: [] as string[], add: [] as string[] };
  for (const key of keys) {
    const a = prev.get(key);
    const b = next.get(key);
    if (a && b && a.signature === b.signature) continue;
    diffRules(CHAIN.services, a?.natServices ?? [], b?.natServices ?? [], (r) => formatRule('-I', CHAIN.services, ['1', ...r]), nat);
    diffRules(CHAIN.nodePorts, a?.natNodePorts ?? [], b?.natNodePorts ?? [], (r) => formatRule('-A', CHAIN.nodePorts, r), natNp);
    diffRules(CHAIN.services, a?.filterServices ?? [], b?.filterServices ?? [], (r) => formatRule('-A', CHAIN.services, r), filter);
    diffRules(CHAIN.externalServices, a?.filterExternal ?? [], b?.filterExternal ?? [], (r) => formatRule('-A', CHAIN.externalServices, r), filter);
    diffRules(CHAIN.nodePorts, a?.filterNodePorts ?? [], b?.filterNodePorts ?? [], (r) => formatRule('-A', CHAIN.nodePorts, r), filter);
    diffRules(CHAIN.firewall, a?.filterFirewall ?? [], b?.filterFirewall ?? [], (r) => formatRule('-A', CHAIN.firewall, r), filter);
    const keep = new Set<string>();
    for (const c of b?.natChains ?? []) {
      keep.add(c.name);
      natChains.push(c.name);
      for (const r of c.rules) natRules.push(formatRule('-A', c.name, r));
    }
    for (const c of a?.natChains ?? []) if (!keep.has(c.name)) stale.push(c.name);
  }
  if (!natChains.length && !stale.length && !nat.del.length && !nat.add.length && !natNp.del.length && !natNp.add.length && !filter.del.length && !filter.add.length && !jumps.nat.length && !jumps.filter.length) {
    return undefined;
  }
  // Order inside the nat transaction: references to going-away chains are
  // removed (-D) before those chains are deleted (-X); new chains are filled
  // before KUBE-SERVICES jumps into them.
  return renderRestore([
    { name: 'filter', chains: [], lines: [...filter.del, ...filter.add, ...jumps.filter] },
    {
      name: 'nat',
      chains: [...natChains, ...stale].map((name) => ({ name })),
      lines: [...nat.del, ...natNp.del, ...natRules, ...nat.add, ...natNp.add, ...jumps.nat, ...stale.map((c) => `-X ${c}`)],
    },
  ]);
}
