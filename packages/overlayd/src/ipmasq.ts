import { comment, formatRule, renderRestore, restore, saveText, parseSave, targetOf, type Args, type Cidr, type IptablesBackend, type RestoreTable, type SavedTable } from '@pilot/common';

/**
 * overlayd's iptables rules as data: a filter chain accepting pod-network
 * traffic in FORWARD (Docker's policy there is DROP), and with --ip-masq a
 * nat chain masquerading pod traffic that leaves the Network. Both chains are
 * overlayd's own; the plan compares them with iptables-save and, when
 * anything differs (or a chain was flushed), rewrites them in one atomic
 * iptables-restore.
 */

export const FORWARD_CHAIN = 'OVERLAYD-FWD';
export const MASQ_CHAIN = 'OVERLAYD-POSTRTG';
const FWD_COMMENT = comment('overlayd forward');
const MASQ_COMMENT = comment('overlayd masq');
/** svcproxy (kube-proxy's layout) marks packets it will masquerade itself. */
export const KUBE_MASQ_MARK = '0x4000/0x4000';

/** Rule arguments in the order iptables-save prints them, so saved and desired compare as text. */
export function forwardRules(network: Cidr): Args[] {
  const n = network.toString();
  return [
    ['-s', n, ...FWD_COMMENT, '-j', 'ACCEPT'],
    ['-d', n, ...FWD_COMMENT, '-j', 'ACCEPT'],
  ];
}

export function masqRules(network: Cidr, subnet: Cidr): Args[] {
  const n = network.toString();
  const s = subnet.toString();
  return [
    // Already marked by svcproxy: it masquerades these itself; no double NAT.
    ['-m', 'mark', '--mark', KUBE_MASQ_MARK, ...MASQ_COMMENT, '-j', 'RETURN'],
    // Pod to pod stays unNATed, in both directions.
    ['-s', s, '-d', n, ...MASQ_COMMENT, '-j', 'RETURN'],
    ['-s', n, '-d', s, ...MASQ_COMMENT, '-j', 'RETURN'],
    ['!', '-s', n, '-d', s, ...MASQ_COMMENT, '-j', 'RETURN'],
    // Pod traffic leaving the Network (multicast excepted) takes the host's address.
    ['-s', n, '!', '-d', '224.0.0.0/4', ...MASQ_COMMENT, '-j', 'MASQUERADE'],
    // Host-originated traffic into the overlay uses an overlay source address.
    ['!', '-s', n, '-d', n, ...MASQ_COMMENT, '-j', 'MASQUERADE'],
  ];
}

export interface RulesInput {
  network: Cidr;
  subnet: Cidr;
  ipMasq: boolean;
}

const sameRules = (table: SavedTable | undefined, chain: string, want: readonly Args[]) => {
  if (!table?.chains.has(chain)) return false;
  const have = table.rules.filter((r) => r.chain === chain).map((r) => r.args.join(' '));
  return have.length === want.length && have.every((h, i) => h === want[i]!.join(' '));
};

const hasJump = (table: SavedTable | undefined, from: string, to: string) => table?.rules.some((r) => r.chain === from && targetOf(r.args) === to) ?? false;

/**
 * The restore input that makes the saved tables match the wanted rules, or
 * undefined when they already do. The jumps are appended (svcproxy's filter
 * jumps stay in front) and only checked for presence.
 */
export function planRules(input: RulesInput, saved: Map<string, SavedTable>): string | undefined {
  const filter = saved.get('filter');
  const nat = saved.get('nat');
  const tables: RestoreTable[] = [];
  const fwd = forwardRules(input.network);
  if (!sameRules(filter, FORWARD_CHAIN, fwd) || !hasJump(filter, 'FORWARD', FORWARD_CHAIN)) {
    const lines = fwd.map((r) => formatRule('-A', FORWARD_CHAIN, r));
    if (!hasJump(filter, 'FORWARD', FORWARD_CHAIN)) lines.push(formatRule('-A', 'FORWARD', [...FWD_COMMENT, '-j', FORWARD_CHAIN]));
    tables.push({ name: 'filter', chains: [{ name: FORWARD_CHAIN }], lines });
  }
  if (input.ipMasq) {
    const masq = masqRules(input.network, input.subnet);
    if (!sameRules(nat, MASQ_CHAIN, masq) || !hasJump(nat, 'POSTROUTING', MASQ_CHAIN)) {
      const lines = masq.map((r) => formatRule('-A', MASQ_CHAIN, r));
      if (!hasJump(nat, 'POSTROUTING', MASQ_CHAIN)) lines.push(formatRule('-A', 'POSTROUTING', [...MASQ_COMMENT, '-j', MASQ_CHAIN]));
      tables.push({ name: 'nat', chains: [{ name: MASQ_CHAIN }], lines });
    }
  } else if (nat?.chains.has(MASQ_CHAIN)) {
    // --ip-masq was turned off: remove what an earlier run installed.
    const lines = nat.rules.filter((r) => r.chain === 'POSTROUTING' && targetOf(r.args) === MASQ_CHAIN).map((r) => formatRule('-D', 'POSTROUTING', r.args));
    lines.push(`-X ${MASQ_CHAIN}`);
    tables.push({ name: 'nat', chains: [{ name: MASQ_CHAIN }], lines });
  }
  return tables.length ? renderRestore(tables) : undefined;
}

/** Reads the host's filter and nat tables and restores what differs. Returns whether anything was written. */
export async function syncRules(backend: IptablesBackend, input: RulesInput): Promise<boolean> {
  const saved = new Map<string, SavedTable>();
  for (const t of ['filter', 'nat']) {
    const table = parseSave(await saveText(backend, t)).get(t);
    if (table) saved.set(t, table);
  }
  const text = planRules(input, saved);
  if (!text) return false;
  await restore(backend, text);
  return true;
}
