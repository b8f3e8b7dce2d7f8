import { run, type Logger, type Runner } from '@pilot/common';
import type { ConntrackFilter } from '../changes.js';

/**
 * Deletes stale UDP conntrack entries with the `conntrack` tool. UDP has no
 * connection end, so a client that keeps its source port keeps hitting the
 * entry NATed to a gone endpoint (or to no endpoint at all) until it idles
 * out. TCP is never touched: established flows drain on their endpoint.
 */
export class Conntrack {
  constructor(
    private readonly runner: Runner = run,
    private readonly log?: Logger,
  ) {}

  /** Above this many filters, list once and run only the deletions that match. */
  static readonly LIST_FIRST_ABOVE = 16;

  static argv(f: ConntrackFilter): string[] {
    const argv = ['conntrack', '-D', '-p', 'udp'];
    if (f.origDst) argv.push('--orig-dst', f.origDst);
    if (f.dport !== undefined) argv.push('--dport', String(f.dport));
    if (f.dstNat) argv.push('--dst-nat', f.dstNat);
    return argv;
  }

  /**
   * Runs each deletion; "0 flow entries" is success. Returns how many entries
   * went. Many filters (a restart makes every UDP service "new") are first
   * matched against one listing, so only deletions that find something run.
   */
  async clear(filters: readonly ConntrackFilter[]): Promise<number> {
    let deleted = 0;
    let todo = filters;
    if (filters.length > Conntrack.LIST_FIRST_ABOVE) {
      const listing = await this.runner(['conntrack', '-L', '-p', 'udp'], { check: false });
      if (listing.exitCode === 0) {
        const entries = parseUdpEntries(listing.stdout);
        todo = filters.filter((f) => entries.some((e) => matches(f, e)));
      }
    }
    for (const f of todo) {
      const argv = Conntrack.argv(f);
      const r = await this.runner(argv, { check: false });
      const m = /(\d+) flow entries have been deleted/.exec(r.stderr + r.stdout);
      if (m) {
        deleted += Number(m[1]);
        continue;
      }
      if (r.exitCode !== 0) this.log?.warn({ argv, stderr: r.stderr.trim() }, 'conntrack deletion failed');
    }
    return deleted;
  }
}

/** One UDP flow from `conntrack -L`: original destination and port, and the reply's source (the NATed endpoint). */
export interface UdpEntry {
  origDst: string;
  origDport: number;
  replySrc: string;
}

export function parseUdpEntries(text: string): UdpEntry[] {
  const out: UdpEntry[] = [];
  for (const line of text.split('\n')) {
    const dst = /\bdst=(\S+)/.exec(line);
    const dport = /\bdport=(\d+)/.exec(line);
    const srcs = [...line.matchAll(/\bsrc=(\S+)/g)];
    if (!dst || !dport || srcs.length < 2) continue;
    out.push({ origDst: dst[1]!, origDport: Number(dport[1]), replySrc: srcs[1]![1]! });
  }
  return out;
}

export function matches(f: ConntrackFilter, e: UdpEntry): boolean {
  return (f.origDst === undefined || f.origDst === e.origDst) && (f.dport === undefined || f.dport === e.origDport) && (f.dstNat === undefined || f.dstNat === e.replySrc);
}
