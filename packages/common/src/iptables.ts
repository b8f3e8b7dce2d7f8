import { run, CommandError, type RunResult } from './exec.js';

/**
 * iptables as data: parse `iptables-save`, render `iptables-restore` input,
 * detect which backend (nf_tables or legacy) the host's tools use, and apply
 * a ruleset atomically. Every component writes rules through this module.
 */

export type IptablesMode = 'nft' | 'legacy';

export interface IptablesBackend {
  mode: IptablesMode;
  iptables: string;
  save: string;
  restore: string;
}

export function backendFor(mode: IptablesMode): IptablesBackend {
  return mode === 'nft'
    ? { mode, iptables: 'iptables-nft', save: 'iptables-nft-save', restore: 'iptables-nft-restore' }
    : { mode, iptables: 'iptables-legacy', save: 'iptables-legacy-save', restore: 'iptables-legacy-restore' };
}

export type Runner = (argv: readonly string[], opts?: { input?: string; check?: boolean }) => Promise<RunResult>;

/** A Runner that executes every command with a fixed prefix (e.g. nsenter into a namespace). */
export function prefixedRunner(prefix: readonly string[]): Runner {
  return (argv, opts) => run([...prefix, ...argv], { input: opts?.input, check: opts?.check });
}

/** A Runner into network namespace `/run/netns/<name>` (nsenter --net, which leaves /sys alone). */
export function netnsRunner(name: string): Runner {
  return prefixedRunner(['nsenter', `--net=/run/netns/${name}`, '--']);
}

/** Chains kube-proxy and the kubelet create to mark the backend in use. */
const HINT_CHAINS = ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY'];

/**
 * Picks the backend the host already uses, as kube-proxy's iptables wrapper
 * does: a hint chain in the mangle table decides; otherwise whichever backend
 * holds more rules; with no rules anywhere, the system's `iptables` default.
 */
export async function detectBackend(runner: Runner = run): Promise<IptablesBackend> {
  const dump = async (mode: IptablesMode): Promise<string> => {
    const r = await runner([backendFor(mode).save], { check: false });
    return r.exitCode === 0 ? r.stdout : '';
  };
  const [legacy, nft] = await Promise.all([dump('legacy'), dump('nft')]);
  const hasHint = (text: string) => HINT_CHAINS.some((c) => text.includes(`:${c} `));
  if (hasHint(nft)) return backendFor('nft');
  if (hasHint(legacy)) return backendFor('legacy');
  const count = (text: string) => text.split('\n').filter((l) => l.startsWith('-A ')).length;
  const nLegacy = count(legacy);
  const nNft = count(nft);
  if (nLegacy > nNft) return backendFor('legacy');
  if (nNft > 0) return backendFor('nft');
  const version = await runner(['iptables', '--version'], { check: false });
  return backendFor(/legacy/.test(version.stdout) ? 'legacy' : 'nft');
}

/** One rule of a saved table: its chain and its argument words (after `-A CHAIN`). */
export interface SavedRule {
  chain: string;
  args: string[];
}

export interface SavedChain {
  name: string;
  /** ACCEPT/DROP for built-in chains, null for user chains. */
  policy: string | null;
}

export interface SavedTable {
  name: string;
  chains: Map<string, SavedChain>;
  rules: SavedRule[];
}

export class IptablesParseError extends Error {
  constructor(
    readonly lineNo: number,
    readonly line: string,
    reason: string,
  ) {
    super(`iptables-save line ${lineNo}: ${reason}: ${line}`);
    this.name = 'IptablesParseError';
  }
}

/** Splits a rule line into words, honouring double quotes as iptables-save writes them. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let word = '';
    let quoted = false;
    while (i < line.length && (quoted || (line[i] !== ' ' && line[i] !== '\t'))) {
      const ch = line[i]!;
      if (ch === '"') {
        quoted = !quoted;
      } else if (ch === '\\' && quoted && i + 1 < line.length) {
        i++;
        word += line[i];
      } else {
        word += ch;
      }
      i++;
    }
    if (quoted) throw new Error(`unterminated quote in: ${line}`);
    out.push(word);
  }
  return out;
}

/** Parses `iptables-save` output into tables, chains and rules (counters dropped). */
export function parseSave(text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let cur: SavedTable | undefined;
  text.split('\n').forEach((raw, idx) => {
    const line = raw.trim();
    const lineNo = idx + 1;
    if (!line || line.startsWith('#')) return;
    if (line.startsWith('*')) {
      cur = { name: line.slice(1), chains: new Map(), rules: [] };
      tables.set(cur.name, cur);
      return;
    }
    if (!cur) throw new IptablesParseError(lineNo, line, 'content before a *table line');
    if (line === 'COMMIT') {
      cur = undefined;
      return;
    }
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/);
      if (!name) throw new IptablesParseError(lineNo, line, 'chain line without a name');
      cur.chains.set(name, { name, policy: policy && policy !== '-' ? policy : null });
      return;
    }
    let words: string[];
    try {
      words = tokenize(line);
    } catch (err) {
      throw new IptablesParseError(lineNo, line, (err as Error).message);
    }
    // Counters ("[pkts:bytes] -A ...") appear with `iptables-save -c`.
    if (words[0]?.startsWith('[')) words.shift();
    if (words[0] !== '-A' || !words[1]) throw new IptablesParseError(lineNo, line, 'expected -A CHAIN');
    cur.rules.push({ chain: words[1], args: words.slice(2) });
  });
  return tables;
}

/** Quotes a word for iptables-restore when it holds spaces or quotes. */
export function quoteArg(word: string): string {
  if (word !== '' && !/[\s"'\\]/.test(word)) return word;
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function formatRule(op: string, chain: string, args: readonly string[]): string {
  return [op, chain, ...args.map(quoteArg)].join(' ');
}

// ------------------------------------------------------------ rules as data
// The vocabulary every component writes its rules in (svcproxy's two modes,
// overlayd's forward and masquerade chains).

/** A rule's words after `-A CHAIN`, in the order iptables-save prints them (so desired and saved compare as text). */
export type Args = readonly string[];

/** A chain and its rules, in order. */
export interface Chain {
  name: string;
  rules: Args[];
}

/** `-m comment --comment <text>`. */
export function comment(text: string): string[] {
  return ['-m', 'comment', '--comment', text];
}

/** The `-j` target of a rule, if any. */
export function targetOf(args: Args): string | undefined {
  const i = args.lastIndexOf('-j');
  return i >= 0 ? args[i + 1] : undefined;
}

export function sameArgs(a: Args, b: Args): boolean {
  return a.length === b.length && a.every((w, i) => w === b[i]);
}

/** Jumps a component keeps at the top of a built-in chain, in this order. */
export interface JumpSpec {
  table: 'nat' | 'filter';
  chain: string;
  rules: Args[];
}

/**
 * Restore lines that put `spec`'s jumps back at the top of a built-in chain,
 * given the chain's current rules, or [] when they are already first. A rule
 * is "ours" when it jumps to one of `ours` (default: the targets of
 * `spec.rules`); every copy of ours is deleted before inserting, so a jump
 * pushed down by someone else's `-I` (Docker, another daemon) moves back to
 * position 1 and duplicates disappear. With no rules in `spec`, the lines
 * only delete ours.
 */
export function jumpFixLines(spec: JumpSpec, current: readonly Args[], ours: ReadonlySet<string> = new Set(spec.rules.map((r) => targetOf(r) ?? ''))): string[] {
  const mine = current.filter((r) => ours.has(targetOf(r) ?? ''));
  const inPlace = mine.length === spec.rules.length && spec.rules.every((r, i) => current[i] !== undefined && sameArgs(current[i]!, r));
  if (inPlace) return [];
  const lines = mine.map((r) => formatRule('-D', spec.chain, r));
  for (let i = spec.rules.length - 1; i >= 0; i--) lines.push(formatRule('-I', spec.chain, ['1', ...spec.rules[i]!]));
  return lines;
}

/**
 * One table's part of a restore. `chains` are declared (and so flushed, with
 * --noflush only these) before `lines` run; `lines` are full rule lines
 * (`-A`, `-I`, `-D`, `-X`, `-F`, ...).
 */
export interface RestoreTable {
  name: string;
  chains: readonly { name: string; policy?: string | null }[];
  lines: readonly string[];
}

export function renderRestore(tables: readonly RestoreTable[]): string {
  const out: string[] = [];
  for (const t of tables) {
    out.push(`*${t.name}`);
    for (const c of t.chains) out.push(`:${c.name} ${c.policy ?? '-'} [0:0]`);
    out.push(...t.lines);
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

/** A restore the kernel refused; names the offending input line when iptables says which. */
export class RestoreError extends Error {
  constructor(
    readonly backend: IptablesMode,
    readonly stderr: string,
    readonly lineNo: number | undefined,
    readonly lineText: string | undefined,
  ) {
    const where = lineNo ? ` at input line ${lineNo}${lineText ? ` (${lineText})` : ''}` : '';
    super(`iptables-restore (${backend}) failed${where}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'RestoreError';
  }
}

/**
 * Applies restore text in one `iptables-restore --noflush` call: the kernel
 * takes all of it or none of it.
 */
export async function restore(backend: IptablesBackend, text: string, runner: Runner = run): Promise<void> {
  const r = await runner([backend.restore, '--noflush', '--wait=10'], { input: text, check: false });
  if (r.exitCode === 0) return;
  const m = /line:?\s*(\d+)/i.exec(r.stderr);
  const lineNo = m ? Number(m[1]) : undefined;
  const lineText = lineNo ? text.split('\n')[lineNo - 1] : undefined;
  throw new RestoreError(backend.mode, r.stderr, lineNo, lineText);
}

/** `iptables-save` of one table (or all), as text. */
export async function saveText(backend: IptablesBackend, table?: string, runner: Runner = run): Promise<string> {
  const argv = table ? [backend.save, '-t', table] : [backend.save];
  const r = await runner(argv, { check: false });
  if (r.exitCode !== 0) throw new CommandError(argv, r.exitCode, r.stderr, r.stdout);
  return r.stdout;
}

export async function save(backend: IptablesBackend, table?: string, runner: Runner = run): Promise<Map<string, SavedTable>> {
  return parseSave(await saveText(backend, table, runner));
}

/** Whether a rule exists (`iptables -C`). */
export async function ruleExists(
  backend: IptablesBackend,
  table: string,
  chain: string,
  args: readonly string[],
  runner: Runner = run,
): Promise<boolean> {
  const r = await runner([backend.iptables, '-w', '10', '-t', table, '-C', chain, ...args], { check: false });
  return r.exitCode === 0;
}
