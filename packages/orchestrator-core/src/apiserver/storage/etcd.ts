import { etcdCredentials, type EtcdTls } from '@pilot/common';
import { Etcd3, type IKeyValue, type IRequestOp, type ITxnResponse, type IWatchResponse, type Watcher } from 'etcd3';
import { decode, decodeLoose, decodePage } from './codec.js';
import { CompactedError, FutureRevisionError, WatchEndedError } from './errors.js';
import { LeaseManager, leasePolicy } from './lease-manager.js';
import {
  resourcePrefix,
  type ListPage,
  type ListRange,
  type RawPage,
  type Storage,
  type StorageEvent,
  type StorageEventType,
  type StorageWatch,
  type StorageWatcher,
  type StoredBytes,
  type Stored,
  type TxnCompare,
  type TxnOp,
  type TxnResult,
  type WatchOptions,
} from './interface.js';

/**
 * Storage on etcd: the key's mod_revision is the resourceVersion, a list's
 * revision is the range's header revision, every write one etcd transaction
 * (kube-apiserver's `storage/etcd3/store.go`). Puts with a TTL ride on reused
 * leases (lease-manager.ts). The only module that speaks etcd3's types.
 */

/**
 * Keys per etcd range read when a whole collection is listed: kube-apiserver's
 * maxLimit, so 10k objects are one round trip. A chunk too big for one gRPC
 * message (huge objects) is read again in halves.
 */
const LIST_CHUNK = 10_000;

export type EtcdObserver = (operation: string, seconds: number) => void;

export interface EtcdStorageOptions {
  servers: string[];
  /** TLS to etcd (--etcd-cafile, --etcd-certfile, --etcd-keyfile). */
  tls?: EtcdTls | undefined;
  /** Key prefix of every object (`/registry`). */
  prefix: string;
  /** Latency of each etcd request, for metrics. */
  observe?: EtcdObserver;
  /** Number of long-lived (not isolated) etcd watches open (+1/-1), for metrics. */
  onWatches?: (delta: number) => void;
  /** An existing client instead of one connected to `servers` (tests). */
  client?: Etcd3;
}

/** A watch reconnect backoff for etcd3 (its default waits up to 30 s after an etcd restart). */
function quickBackoff(ms = 100): { duration: number; next: () => ReturnType<typeof quickBackoff> } {
  return { duration: ms, next: () => quickBackoff(Math.min(ms * 2, 2_000)) };
}

export function connectEtcd(servers: string[], tls?: EtcdTls): Etcd3 {
  return new Etcd3({
    hosts: servers,
    ...(tls ? { credentials: etcdCredentials(tls) } : {}),
    dialTimeout: 3_000,
    // Objects are at most 1.5 MiB, but a watch response can batch many of them.
    grpcOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
    // A request must not hang on an unreachable etcd; watches are streams and stay open.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 10_000 }),
    faultHandling: { watchBackoff: quickBackoff() as never },
  });
}

const bytesOf = (kv: IKeyValue): StoredBytes => ({ key: kv.key, value: kv.value, rv: Number(kv.mod_revision) });

export class EtcdStorage implements Storage {
  private readonly client: Etcd3;
  private readonly observe: EtcdObserver;
  /** One lease manager per TTL (events: --event-ttl). */
  private readonly leases = new Map<number, LeaseManager>();

  constructor(private readonly opts: EtcdStorageOptions) {
    this.client = opts.client ?? connectEtcd(opts.servers, opts.tls);
    this.observe = opts.observe ?? (() => undefined);
  }

  prefixFor(resource: string, namespace?: string): string {
    return resourcePrefix(this.opts.prefix, resource, namespace);
  }

  keyFor(resource: string, namespace: string | undefined, name: string): string {
    return `${this.prefixFor(resource, namespace)}${name}`;
  }

  private async timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      this.observe(op, Number(process.hrtime.bigint() - start) / 1e9);
    }
  }

  async get(key: string): Promise<Stored | undefined> {
    const res = await this.timed('get', () => this.client.kv.range({ key: Buffer.from(key) }));
    const kv = res.kvs[0];
    return kv ? decode(bytesOf(kv)) : undefined;
  }

  async list(prefix: string, opts: ListRange = {}): Promise<ListPage> {
    return decodePage(await this.listRaw(prefix, opts), opts.keysOnly);
  }

  async listRaw(prefix: string, opts: ListRange = {}): Promise<RawPage> {
    if (opts.limit) return this.range(prefix, { ...opts, limit: opts.limit });
    const out: StoredBytes[] = [];
    let chunk = LIST_CHUNK;
    let from = opts.fromKey;
    let revision = opts.revision ?? 0;
    for (;;) {
      let page: RawPage;
      try {
        page = await this.range(prefix, { ...opts, limit: chunk, revision, ...(from !== undefined ? { fromKey: from } : {}) });
      } catch (err) {
        if (chunk > 1 && isTooLarge(err)) {
          chunk = Math.ceil(chunk / 2);
          continue;
        }
        throw err;
      }
      for (const kv of page.items) out.push(kv);
      // Every further chunk at the first one's revision: one consistent snapshot.
      revision = page.revision;
      if (!page.nextKey) return { items: out, revision };
      from = page.nextKey;
    }
  }

  private async range(prefix: string, opts: { limit: number; fromKey?: string; revision?: number; keysOnly?: boolean }): Promise<RawPage> {
    const start = Buffer.from(opts.fromKey ?? prefix);
    try {
      const res = await this.timed('list', () =>
        this.client.kv.range({
          key: start,
          range_end: prefixEnd(prefix),
          limit: opts.limit,
          revision: opts.revision ?? 0,
          keys_only: opts.keysOnly ?? false,
        }),
      );
      const items = res.kvs.map(bytesOf);
      // etcd's header names the current revision; a read at an older one is a list at that one.
      const page: RawPage = { items, revision: opts.revision || Number(res.header.revision) };
      if (res.more && items.length > 0) page.nextKey = `${items[items.length - 1]!.key.toString()}\x00`;
      return page;
    } catch (err) {
      throw translate(err, opts.revision ?? 0);
    }
  }

  async revision(): Promise<number> {
    const res = await this.timed('get', () => this.client.kv.range({ key: Buffer.from(`${this.opts.prefix}/`), limit: 1, keys_only: true }));
    return Number(res.header.revision);
  }

  async txn(compares: readonly TxnCompare[], ops: readonly TxnOp[]): Promise<TxnResult> {
    const ttls = [...new Set(ops.flatMap((o) => ('put' in o && o.ttlMs ? [o.ttlMs] : [])))];
    const leased = new Map<number, string>();
    // A lease etcd no longer knows (expired or revoked early) is dropped and the write retried once with a fresh one.
    for (let attempt = 0; ; attempt++) {
      for (const ttl of ttls) leased.set(ttl, await this.leaseFor(ttl).lease());
      try {
        return await this.rawTxn(compares, ops, leased);
      } catch (err) {
        if (attempt > 0 || !isLeaseNotFound(err)) throw err;
        for (const [ttl, id] of leased) this.leaseFor(ttl).lost(id);
      }
    }
  }

  private leaseFor(ttlMs: number): LeaseManager {
    let m = this.leases.get(ttlMs);
    if (!m) {
      m = new LeaseManager(leasePolicy(ttlMs), { grant: (s) => this.grantLease(s) });
      this.leases.set(ttlMs, m);
    }
    return m;
  }

  private async rawTxn(compares: readonly TxnCompare[], ops: readonly TxnOp[], leases: Map<number, string>): Promise<TxnResult> {
    const request = {
      compare: compares.map((c) => ({
        key: Buffer.from(c.key),
        target: c.target,
        result: c.result ?? ('Equal' as const),
        ...(c.target === 'Mod' ? { mod_revision: c.value } : { version: c.value }),
      })),
      success: ops.map((o) => toRequestOp(o, 'put' in o && o.ttlMs ? leases.get(o.ttlMs) : undefined)),
      failure: compares.map((c) => ({ request_range: { key: Buffer.from(c.key) } })),
    };
    const res: ITxnResponse = await this.timed('txn', () => this.client.kv.txn(request));
    const revision = Number(res.header.revision);
    if (res.succeeded) return { ok: true, revision };
    const current = new Map<string, Stored | undefined>();
    compares.forEach((c, i) => {
      const kv = res.responses[i]?.response_range?.kvs[0];
      current.set(c.key, kv ? decodeLoose(bytesOf(kv)) : undefined);
    });
    return { ok: false, revision, current };
  }

  /** Grants an etcd lease of `seconds` (never kept alive: it is meant to expire); resolves to its ID. */
  private async grantLease(seconds: number): Promise<string> {
    const res = await this.timed('lease_grant', () => this.client.leaseClient.leaseGrant({ TTL: seconds, ID: 0 }));
    return String(res.ID);
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.timed('compact', () => this.client.kv.compact({ revision, physical: false }));
    } catch (err) {
      throw translate(err, revision);
    }
  }

  /**
   * An etcd watch from `afterRevision + 1` with previous values (DELETED events
   * carry the last state). An isolated watch gets its own etcd client: etcd3's
   * shared watch stream throws on a response for a watch that was just
   * cancelled, which would take down every other watch on that stream.
   */
  async watch(prefix: string, afterRevision: number, watcher: StorageWatcher, opts: WatchOptions = {}): Promise<StorageWatch> {
    const client = opts.isolated ? connectEtcd(this.opts.servers, this.opts.tls) : this.client;
    const count = (d: number) => (opts.isolated ? undefined : this.opts.onWatches?.(d));
    let done = false;
    let w: Watcher | undefined;
    // A watcher still attached when its client closes makes etcd3 reconnect
    // forever: cancel it first (bounded), then close.
    const finish = (cancelWatch: boolean) => {
      if (done) return;
      done = true;
      if (w) count(-1);
      const cancelled = cancelWatch && w ? Promise.race([w.cancel(), new Promise((r) => setTimeout(r, 2_000).unref())]) : Promise.resolve();
      void cancelled.catch(() => undefined).finally(() => {
        if (opts.isolated) client.close();
      });
    };
    try {
      w = await client.watch().prefix(prefix).startRevision(String(afterRevision + 1)).withPreviousKV().create();
    } catch (err) {
      finish(false);
      throw translate(err, afterRevision);
    }
    count(1);
    w.on('data', (res: IWatchResponse) => {
      if (!done) watcher.onEvents(storageEvents(res), Number(res.header.revision));
    });
    w.on('error', (err: Error) => {
      if (done) return;
      finish(false);
      const e = translate(err, afterRevision);
      watcher.onError(e instanceof CompactedError ? e : new WatchEndedError(err.message));
    });
    return { cancel: () => finish(true) };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

/** Converts one etcd watch response into storage events, in order. */
export function storageEvents(res: IWatchResponse): StorageEvent[] {
  const out: StorageEvent[] = [];
  for (const ev of res.events) {
    const key = ev.kv.key.toString();
    const rv = Number(ev.kv.mod_revision);
    const prev = ev.prev_kv ? decode(bytesOf(ev.prev_kv)).obj : undefined;
    if (ev.type === 'Put') {
      const obj = decode(bytesOf(ev.kv)).obj;
      const type: StorageEventType = ev.kv.create_revision === ev.kv.mod_revision ? 'ADDED' : 'MODIFIED';
      out.push(prev ? { type, key, obj, prev, rv } : { type, key, obj, rv });
    } else {
      // A delete's kv has no value: the event shows the last state at the delete's revision.
      const last = prev ? structuredClone(prev) : { metadata: { name: key.slice(key.lastIndexOf('/') + 1) } };
      last.metadata.resourceVersion = String(rv);
      out.push(prev ? { type: 'DELETED', key, obj: last, prev, rv } : { type: 'DELETED', key, obj: last, rv });
    }
  }
  return out;
}

/** etcd's failures as Storage errors (etcd3 reports them as message texts). */
function translate(err: unknown, revision: number): unknown {
  if (!(err instanceof Error)) return err;
  // etcd cancels a watch itself only when its start revision is compacted;
  // etcd3 then reports "Watcher canceled: " with etcd's (often empty) reason.
  if (/compacted/i.test(err.message) || /^Watcher canceled: ?$/.test(err.message)) return new CompactedError(revision);
  if (/future revision/i.test(err.message)) return new FutureRevisionError(revision, 0);
  return err;
}

function toRequestOp(op: TxnOp, lease: string | undefined): IRequestOp {
  if ('put' in op) return { request_put: { key: Buffer.from(op.put), value: Buffer.from(op.value), ...(lease ? { lease } : {}) } };
  return { request_delete_range: { key: Buffer.from(op.del) } };
}

/** The end of a prefix range: the prefix with its last byte incremented. */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i] = b[i]! + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

/** etcd refused a put because its lease is gone (expired or revoked before the write). */
function isLeaseNotFound(err: unknown): boolean {
  return err instanceof Error && /lease not found/i.test(err.message);
}

/** A response over the client's gRPC message limit. */
function isTooLarge(err: unknown): boolean {
  return err instanceof Error && /RESOURCE_EXHAUSTED|larger than max/i.test(err.message);
}

