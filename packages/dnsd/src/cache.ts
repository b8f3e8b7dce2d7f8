import { Flag } from './wire.js';

/**
 * The wire-level answer cache for the cluster zone: complete encoded
 * responses keyed by transport and the exact question bytes plus the EDNS
 * parameters that shape the encoding (size, DO). A hit copies the bytes and
 * patches the ID and the RD/CD bits — no parse, no build. The server clears
 * it whenever the index changes, so it never serves a stale record.
 */
export class AnswerCache {
  private readonly entries = new Map<string, Buffer>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 10_000) {}

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
    const out = Buffer.allocUnsafe(cached.length);
    cached.copy(out);
    patchForQuery(out, id, queryFlags);
    return out;
  }

  set(key: string, response: Buffer): void {
    if (this.entries.size >= this.maxEntries) {
      // Evict the oldest insertion (Map keeps order): cheap and good enough
      // for a cache that is wiped on every index change anyway.
      const first = this.entries.keys().next();
      if (!first.done) this.entries.delete(first.value);
    }
    this.entries.set(key, response);
  }

  clear(): void {
    this.entries.clear();
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
