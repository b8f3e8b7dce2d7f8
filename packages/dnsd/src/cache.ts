import { addressRun, copyRotated, countKinds, Flag, type AddressRun } from './wire.js';

interface Entry {
  response: Buffer;
  /** The answer's address records when there are several and rotation is on. */
  run: AddressRun | undefined;
  /** Hits so far: the next hit's rotation. */
  turn: number;
}

/**
 * The wire-level answer cache for the cluster zone: complete encoded
 * responses keyed by transport and the exact question bytes plus the EDNS
 * parameters that shape the encoding (size, DO). A hit copies the bytes and
 * patches the ID and the RD/CD bits — no parse, no build. The server clears
 * it whenever the index changes, so it never serves a stale record.
 *
 * With `rotate` (CoreDNS's `loadbalance`, in kube-dns's Corefile), an answer
 * with several A or AAAA records is served rotated by one more record on
 * each hit, so clients that take the first address spread over a headless
 * Service's pods; the rotation moves whole encoded records, it never
 * re-encodes.
 */
export class AnswerCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(private readonly opts: { maxEntries?: number; rotate?: boolean } = {}) {}

  static key(transport: 'udp' | 'tcp', questionBytes: Buffer, edns: { udpSize: number; dnssecOk: boolean } | undefined): string {
    const e = edns ? `${edns.udpSize}${edns.dnssecOk ? 'd' : ''}` : '-';
    return `${transport === 'udp' ? 'u' : 't'}${e}|${questionBytes.toString('latin1', 0, questionBytes.length)}`;
  }

  /** The cached response re-addressed to this query, or undefined. */
  get(key: string, id: number, queryFlags: number): Buffer | undefined {
    const cached = this.entries.get(key);
    if (!cached) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    const { response, run } = cached;
    const out = Buffer.allocUnsafe(response.length);
    if (run) copyRotated(response, out, run, ++cached.turn);
    else response.copy(out);
    patchForQuery(out, id, queryFlags);
    return out;
  }

  set(key: string, response: Buffer): void {
    if (this.entries.size >= (this.opts.maxEntries ?? 10_000)) {
      // Evict the oldest insertion (Map keeps order): cheap and good enough
      // for a cache that is wiped on every index change anyway.
      const first = this.entries.keys().next();
      if (!first.done) this.entries.delete(first.value);
    }
    this.entries.set(key, { response, run: this.opts.rotate ? addressRun(response) : undefined, turn: 0 });
  }

  clear(): void {
    this.entries.clear();
  }

  /** Entries by kind, for coredns_cache_entries: NXDOMAIN answers are denials. */
  kinds(): { success: number; denial: number } {
    return countKinds(this.entries.values(), (e) => e.response);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Writes the query's ID and its RD/CD bits into a copied response. */
export function patchForQuery(buf: Buffer, id: number, queryFlags: number): void {
  buf.writeUInt16BE(id, 0);
  const flags = buf.readUInt16BE(2);
  buf.writeUInt16BE((flags & ~(Flag.RD | Flag.CD)) | (queryFlags & (Flag.RD | Flag.CD)), 2);
}
