import { decode, decodeLoose, decodePage } from './codec.js';
import { CompactedError, FutureRevisionError, WatchEndedError } from './errors.js';
import {
  resourcePrefix,
  type ListPage,
  type ListRange,
  type RawPage,
  type Storage,
  type StorageEvent,
  type StorageWatch,
  type StorageWatcher,
  type Stored,
  type StoredBytes,
  type TxnCompare,
  type TxnOp,
  type TxnResult,
} from './interface.js';

/**
 * Storage in memory with etcd's semantics, so the generic registry is
 * unit-tested without etcd: one revision counter for the whole store, a
 * version history per key (reads at an old revision), compaction (older
 * reads and watches fail with CompactedError), watches from any revision
 * still in history, TTL'd puts that expire on an injected clock (checked at
 * every call) with a DELETED event, as etcd's lease expiry does.
 */

interface Version {
  rv: number;
  createRev: number;
  /** Puts since creation (etcd's version); 0 with no value = deleted. */
  version: number;
  value?: Buffer;
  expiresAt?: number;
}

interface Change {
  rv: number;
  key: string;
  value?: Buffer;
  prev?: Buffer;
  created: boolean;
}

interface WatchEntry {
  prefix: string;
  watcher: StorageWatcher;
  queue: { events: StorageEvent[]; revision: number }[];
  scheduled: boolean;
  cancelled: boolean;
}

const compareKeys = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export class MemoryStorage implements Storage {
  private readonly versions = new Map<string, Version[]>();
  private readonly history: Change[] = [];
  private readonly watches = new Set<WatchEntry>();
  private rev = 1;
  private compactedAt = 0;

  constructor(
    readonly prefix = '/registry',
    private readonly now: () => number = Date.now,
  ) {}

  /** The revision of the last compaction (0: never). */
  get compacted(): number {
    return this.compactedAt;
  }

  prefixFor(resource: string, namespace?: string): string {
    return resourcePrefix(this.prefix, resource, namespace);
  }

  keyFor(resource: string, namespace: string | undefined, name: string): string {
    return `${this.prefixFor(resource, namespace)}${name}`;
  }

  private at(key: string, revision: number): Version | undefined {
    const vs = this.versions.get(key);
    if (!vs) return undefined;
    for (let i = vs.length - 1; i >= 0; i--) if (vs[i]!.rv <= revision) return vs[i]!.value ? vs[i] : undefined;
    return undefined;
  }

  private bytes(key: string, v: Version): StoredBytes {
    return { key: Buffer.from(key), value: v.value!, rv: v.rv };
  }

  async get(key: string): Promise<Stored | undefined> {
    this.expireDue();
    const v = this.at(key, this.rev);
    return v ? decode(this.bytes(key, v)) : undefined;
  }

  async list(prefix: string, opts: ListRange = {}): Promise<ListPage> {
    return decodePage(await this.listRaw(prefix, opts), opts.keysOnly);
  }

  async listRaw(prefix: string, opts: ListRange = {}): Promise<RawPage> {
    this.expireDue();
    const revision = opts.revision || this.rev;
    if (revision < this.compactedAt) throw new CompactedError(revision, this.compactedAt);
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    const from = opts.fromKey ?? prefix;
    const keys = [...this.versions.keys()].filter((k) => k.startsWith(prefix) && compareKeys(k, from) >= 0).sort(compareKeys);
    const items: StoredBytes[] = [];
    let nextKey: string | undefined;
    for (const k of keys) {
      const v = this.at(k, revision);
      if (!v) continue;
      if (opts.limit && items.length === opts.limit) {
        nextKey = `${items[items.length - 1]!.key.toString()}\x00`;
        break;
      }
      items.push(opts.keysOnly ? { key: Buffer.from(k), value: Buffer.alloc(0), rv: v.rv } : this.bytes(k, v));
    }
    return nextKey ? { items, revision, nextKey } : { items, revision };
  }

  async revision(): Promise<number> {
    this.expireDue();
    return this.rev;
  }

  async txn(compares: readonly TxnCompare[], ops: readonly TxnOp[]): Promise<TxnResult> {
    this.expireDue();
    const holds = compares.every((c) => {
      const v = this.at(c.key, this.rev);
      const actual = c.target === 'Mod' ? (v?.rv ?? 0) : (v?.version ?? 0);
      return (c.result ?? 'Equal') === 'Equal' ? actual === c.value : actual > c.value;
    });
    if (!holds) {
      const current = new Map<string, Stored | undefined>();
      for (const c of compares) {
        const v = this.at(c.key, this.rev);
        current.set(c.key, v ? decodeLoose(this.bytes(c.key, v)) : undefined);
      }
      return { ok: false, revision: this.rev, current };
    }
    if (ops.length > 0) this.commit(ops);
    return { ok: true, revision: this.rev };
  }

  /** Applies ops at one new revision and tells the watchers. */
  private commit(ops: readonly TxnOp[]): void {
    const rv = ++this.rev;
    const changes: Change[] = [];
    for (const op of ops) {
      const key = 'put' in op ? op.put : op.del;
      const cur = this.at(key, rv);
      const vs = this.versions.get(key) ?? [];
      if ('put' in op) {
        const v: Version = { rv, createRev: cur ? cur.createRev : rv, version: cur ? cur.version + 1 : 1, value: Buffer.from(op.value) };
        if (op.ttlMs) v.expiresAt = this.now() + op.ttlMs;
        vs.push(v);
        changes.push({ rv, key, value: v.value!, ...(cur ? { prev: cur.value! } : {}), created: !cur });
      } else {
        if (!cur) continue;
        vs.push({ rv, createRev: 0, version: 0 });
        changes.push({ rv, key, prev: cur.value!, created: false });
      }
      this.versions.set(key, vs);
    }
    this.history.push(...changes);
    for (const w of this.watches) this.deliver(w, changes, rv);
  }

  /** Keys whose TTL has passed go, all in one revision (etcd revokes a lease's keys together). */
  private expireDue(): void {
    const now = this.now();
    const due: TxnOp[] = [];
    for (const [key, vs] of this.versions) {
      const cur = vs[vs.length - 1]!;
      if (cur.value && cur.expiresAt !== undefined && cur.expiresAt <= now) due.push({ del: key });
    }
    if (due.length > 0) this.commit(due);
  }

  private event(c: Change): StorageEvent {
    const prev = c.prev ? decode({ key: Buffer.from(c.key), value: c.prev, rv: c.rv }).obj : undefined;
    if (c.value) {
      const obj = decode({ key: Buffer.from(c.key), value: c.value, rv: c.rv }).obj;
      const type = c.created ? 'ADDED' : 'MODIFIED';
      return prev && !c.created ? { type, key: c.key, obj, prev, rv: c.rv } : { type, key: c.key, obj, rv: c.rv };
    }
    const last = prev ? structuredClone(prev) : { metadata: { name: c.key.slice(c.key.lastIndexOf('/') + 1) } };
    last.metadata.resourceVersion = String(c.rv);
    return prev ? { type: 'DELETED', key: c.key, obj: last, prev, rv: c.rv } : { type: 'DELETED', key: c.key, obj: last, rv: c.rv };
  }

  /** Queued and delivered after the current call returns, in order, as etcd's watch stream does. */
  private deliver(w: WatchEntry, changes: readonly Change[], revision: number): void {
    const events = changes.filter((c) => c.key.startsWith(w.prefix)).map((c) => this.event(c));
    w.queue.push({ events, revision });
    if (w.scheduled) return;
    w.scheduled = true;
    queueMicrotask(() => {
      w.scheduled = false;
      while (!w.cancelled && w.queue.length > 0) {
        const batch = w.queue.shift()!;
        w.watcher.onEvents(batch.events, batch.revision);
      }
    });
  }

  async watch(prefix: string, afterRevision: number, watcher: StorageWatcher): Promise<StorageWatch> {
    this.expireDue();
    // Revisions at or after the compaction are still there: a watch may start at compactedAt.
    if (afterRevision + 1 < this.compactedAt) throw new CompactedError(afterRevision, this.compactedAt);
    // A future revision is fine: the watch waits for it, as etcd's does.
    const entry: WatchEntry = { prefix, watcher, queue: [], scheduled: false, cancelled: false };
    const past = this.history.filter((c) => c.rv > afterRevision);
    const byRev = new Map<number, Change[]>();
    for (const c of past) byRev.set(c.rv, [...(byRev.get(c.rv) ?? []), c]);
    for (const [rv, changes] of byRev) this.deliver(entry, changes, rv);
    this.watches.add(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
        this.watches.delete(entry);
      },
    };
  }

  async compact(revision: number): Promise<void> {
    if (revision <= this.compactedAt) throw new CompactedError(revision, this.compactedAt);
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    this.compactedAt = revision;
    for (const [key, vs] of this.versions) {
      // Keep the version readable at `revision` and everything after it.
      let keep = 0;
      for (let i = vs.length - 1; i >= 0; i--) {
        if (vs[i]!.rv <= revision) {
          keep = i;
          break;
        }
      }
      const rest = vs.slice(keep);
      if (rest.length === 1 && !rest[0]!.value) this.versions.delete(key);
      else this.versions.set(key, rest);
    }
    const drop = this.history.findIndex((c) => c.rv >= revision);
    this.history.splice(0, drop < 0 ? this.history.length : drop);
  }

  async close(): Promise<void> {
    for (const w of this.watches) {
      w.cancelled = true;
      w.watcher.onError(new WatchEndedError('storage closed'));
    }
    this.watches.clear();
  }
}
