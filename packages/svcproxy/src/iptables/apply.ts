import { jumpFixLines, restore, run, saveText, tokenize, type Args, type IptablesBackend, type Runner } from '@pilot/common';
import { isServiceChain } from '../names.js';
import {
  CANARY_RULE,
  CHAIN,
  FILTER_CHAINS,
  JUMP_TARGETS,
  JUMPS,
  renderBase,
  renderChainRemoval,
  renderFull,
  renderServiceChains,
  renderShared,
  type NodeConfig,
  type ServiceRules,
  type TableLines,
} from './rules.js';

/**
 * The kernel edge of the iptables mode: the only place svcproxy runs
 * iptables / iptables-restore. Commands go through an injectable Runner, so
 * the same code drives the host it runs on or another network namespace
 * (tests and the bench prefix `nsenter --net=...`).
 */

export { netnsRunner, prefixedRunner } from '@pilot/common';

/** What a sync needs to know about the kernel before it writes. */
export interface KernelState {
  /** Both canary rules (nat, filter) are present: nothing flushed our tables. */
  canaries: boolean;
  /** Restore lines that put the jumps back at position 1 where they are not. */
  jumps: TableLines;
}

export interface FullSyncStats {
  restores: number;
  staleChains: number;
}

export interface ApplierOptions {
  backend: IptablesBackend;
  runner?: Runner;
  /** Services per restore when writing chains in chunks (full sync). */
  chunkServices?: number;
  /** Chains per restore when removing stale chains. */
  chunkChains?: number;
  /**
   * 'chunked': chains in chunks, then switch in; 'monolithic': one restore of
   * everything. Default: chunked on nf_tables, monolithic on legacy.
   */
  fullSyncMode?: 'chunked' | 'monolithic';
}

/** Nat chains svcproxy owns besides the per-service ones (removed by cleanup). */
const OWNED_NAT = [CHAIN.services, CHAIN.nodePorts, CHAIN.postrouting, CHAIN.markMasq, CHAIN.canary];
const OWNED_FILTER: readonly string[] = FILTER_CHAINS;

export class IptablesApplier {
  readonly backend: IptablesBackend;
  readonly runner: Runner;
  readonly chunkServices: number;
  readonly chunkChains: number;
  readonly fullSyncMode: 'chunked' | 'monolithic';

  constructor(opts: ApplierOptions) {
    this.backend = opts.backend;
    this.runner = opts.runner ?? run;
    // Measured (bench/svcproxy): the nf_tables backend's restore time grows
    // super-linearly with one input's size, so chunks win by 10-50x at 5-10k
    // services; the legacy backend replaces the whole table blob on every
    // restore, so there chunks only multiply that cost and one restore wins.
    const legacy = this.backend.mode === 'legacy';
    this.fullSyncMode = opts.fullSyncMode ?? (legacy ? 'monolithic' : 'chunked');
    this.chunkServices = opts.chunkServices ?? 250;
    this.chunkChains = opts.chunkChains ?? (legacy ? 1_000_000 : 1000);
  }

  /** One atomic restore. */
  async restore(text: string): Promise<void> {
    await restore(this.backend, text, this.runner);
  }

  /** Rules of one chain as `iptables -S` prints them (args after `-A CHAIN`); undefined when the chain does not exist. */
  async listChain(table: string, chain: string): Promise<Args[] | undefined> {
    const r = await this.runner([this.backend.iptables, '-w', '10', '-t', table, '-S', chain], { check: false });
    if (r.exitCode !== 0) return undefined;
    const out: Args[] = [];
    for (const line of r.stdout.split('\n')) {
      if (!line.startsWith(`-A ${chain} `)) continue;
      out.push(tokenize(line).slice(2));
    }
    return out;
  }

  /** Rules of several chains of one table from one `iptables-save` (missing chains → undefined). */
  private async listChainsFromSave(table: string, chains: readonly string[]): Promise<(Args[] | undefined)[]> {
    const text = await saveText(this.backend, table, this.runner);
    const found = new Map<string, Args[]>();
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) {
        const name = line.slice(1, line.indexOf(' '));
        if (chains.includes(name)) found.set(name, []);
      } else if (line.startsWith('-A ')) {
        const name = line.slice(3, line.indexOf(' ', 3));
        if (chains.includes(name)) found.get(name)?.push(tokenize(line).slice(2));
      }
    }
    return chains.map((c) => found.get(c));
  }

  /**
   * Canary rules and jump positions, checked before every sync. On nf_tables
   * `iptables -S <chain>` reads just that chain; on legacy every read copies
   * the whole table from the kernel, so there one save per table is cheaper.
   */
  async inspect(): Promise<KernelState> {
    const isCanary = (rules: Args[] | undefined) => !!rules?.some((r) => r.join(' ') === CANARY_RULE.join(' '));
    const want = (table: 'nat' | 'filter') => [CHAIN.canary, ...JUMPS.filter((j) => j.table === table).map((j) => j.chain)];
    const read = (table: 'nat' | 'filter') =>
      this.backend.mode === 'legacy' ? this.listChainsFromSave(table, want(table)) : Promise.all(want(table).map((c) => this.listChain(table, c)));
    const [nat, filter] = await Promise.all([read('nat'), read('filter')]);
    const rulesOf = (table: 'nat' | 'filter', chain: string) => {
      const list = table === 'nat' ? nat : filter;
      return list[want(table).indexOf(chain)] ?? [];
    };
    const jumps: TableLines = { nat: [], filter: [] };
    for (const spec of JUMPS) jumps[spec.table].push(...jumpFixLines(spec, rulesOf(spec.table, spec.chain), JUMP_TARGETS));
    return { canaries: isCanary(nat[0]) && isCanary(filter[0]), jumps };
  }

  /** Names of the chains of one table (from `iptables-save`, chain lines only). */
  async chainNames(table: string): Promise<string[]> {
    const text = await saveText(this.backend, table, this.runner);
    const out: string[] = [];
    for (const line of text.split('\n')) if (line.startsWith(':')) out.push(line.slice(1, line.indexOf(' ')));
    return out;
  }

  /**
   * Writes the whole desired state. Chunked: every service's chains in
   * restores of `chunkServices` services (each service's chains always in
   * one restore, so none is ever half-written), then one restore that
   * rewrites the shared chains and fixes the jumps (the switch-in), then
   * stale per-service chains flushed and deleted in chunks. The nf_tables
   * backend's restore time grows super-linearly with the size of one input,
   * so many small restores beat one big one by far (see bench/svcproxy).
   */
  async fullSync(services: readonly ServiceRules[], cfg: NodeConfig, jumps: TableLines): Promise<FullSyncStats> {
    const wanted = new Set(services.flatMap((s) => s.natChains.map((c) => c.name)));
    const stale = (await this.chainNames('nat')).filter((c) => isServiceChain(c) && !wanted.has(c));
    if (this.fullSyncMode === 'monolithic') {
      await this.restore(renderFull(services, cfg, stale, jumps));
      return { restores: 1, staleChains: stale.length };
    }
    await this.restore(renderBase());
    let restores = 1;
    for (let i = 0; i < services.length; i += this.chunkServices) {
      const chunk = services.slice(i, i + this.chunkServices);
      if (chunk.every((s) => s.natChains.length === 0)) continue;
      await this.restore(renderServiceChains(chunk));
      restores++;
    }
    await this.restore(renderShared(services, cfg, { jumps }));
    restores++;
    restores += await this.removeChains('nat', stale);
    return { restores, staleChains: stale.length };
  }

  /**
   * Flushes then deletes chains in chunks. All are flushed before any is
   * deleted, since a stale KUBE-SVC chain in one chunk may still jump to a
   * KUBE-SEP chain in another.
   */
  async removeChains(table: string, chains: readonly string[]): Promise<number> {
    let restores = 0;
    if (chains.length > this.chunkChains) {
      for (let i = 0; i < chains.length; i += this.chunkChains) {
        await this.restore(renderChainRemoval(table, chains.slice(i, i + this.chunkChains), false));
        restores++;
      }
    }
    for (let i = 0; i < chains.length; i += this.chunkChains) {
      await this.restore(renderChainRemoval(table, chains.slice(i, i + this.chunkChains), true));
      restores++;
    }
    return restores;
  }

  /**
   * Removes everything svcproxy wrote: the jumps from built-in chains first,
   * then every owned chain (flushed, then deleted, in chunks).
   */
  async cleanup(): Promise<{ chains: number }> {
    const jumps: TableLines = { nat: [], filter: [] };
    for (const spec of JUMPS) {
      const rules = (await this.listChain(spec.table, spec.chain)) ?? [];
      // jumpFixLines with no wanted rules yields just the -D lines of ours.
      jumps[spec.table].push(...jumpFixLines({ ...spec, rules: [] }, rules, JUMP_TARGETS));
    }
    if (jumps.nat.length || jumps.filter.length) {
      await this.restore(
        [
          ...(jumps.filter.length ? ['*filter', ...jumps.filter, 'COMMIT'] : []),
          ...(jumps.nat.length ? ['*nat', ...jumps.nat, 'COMMIT'] : []),
        ].join('\n') + '\n',
      );
    }
    let count = 0;
    const nat = (await this.chainNames('nat')).filter((c) => isServiceChain(c) || OWNED_NAT.includes(c as (typeof OWNED_NAT)[number]));
    const filter = (await this.chainNames('filter')).filter((c) => OWNED_FILTER.includes(c));
    // Flush every owned nat chain first: KUBE-SERVICES references the service chains.
    for (let i = 0; i < nat.length; i += this.chunkChains) await this.restore(renderChainRemoval('nat', nat.slice(i, i + this.chunkChains), false));
    await this.removeChains('nat', nat);
    if (filter.length) await this.removeChains('filter', filter);
    count = nat.length + filter.length;
    return { chains: count };
  }
}
