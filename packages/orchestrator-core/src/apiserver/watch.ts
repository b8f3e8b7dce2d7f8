import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import type { KubeObject, WatchEvent } from '@pilot/api';
import type { Logger } from '@pilot/common';
import { decode, type Storage } from './storage.js';
import { expired, type StatusError } from './status.js';

/**
 * Watch fan-out. One etcd watch per resource prefix feeds a ring buffer of
 * recent events; every HTTP watcher subscribes to that cache, so a hundred
 * watchers cost one etcd watch. A watcher whose start revision is older than
 * the buffer gets its own etcd watch; if etcd has compacted that revision it
 * gets a 410 Expired and must relist.
 */

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: StoreEventType;
  key: string;
  /** The object after the change; for DELETED the last state, with the delete's revision. */
  obj: KubeObject;
  /** The object before the change (MODIFIED, DELETED), when etcd still had it. */
  prev?: KubeObject;
  rv: number;
}

export interface Subscriber {
  onEvent(ev: StoreEvent): void;
  /** The subscription ended for good (compaction, shutdown); the stream must close. */
  onError(err: StatusError): void;
  /** Progress: every event up to `revision` has been delivered. */
  onProgress?(revision: number): void;
}

export interface Subscription {
  cancel(): void;
}

/** Converts one etcd watch response into store events, in order. */
export function storeEvents(res: IWatchResponse): StoreEvent[] {
  const out: StoreEvent[] = [];
  for (const ev of res.events) {
    const key = ev.kv.key.toString();
    const rv = Number(ev.kv.mod_revision);
    const prev = ev.prev_kv ? decode(ev.prev_kv).obj : undefined;
    if (ev.type === 'Put') {
      const obj = decode(ev.kv).obj;
      const type: StoreEventType = ev.kv.create_revision === ev.kv.mod_revision ? 'ADDED' : 'MODIFIED';
      out.push(prev ? { type, key, obj, prev, rv } : { type, key, obj, rv });
    } else {
      // A delete's kv has no value: the event shows the last state at the delete's revision.
      const last: KubeObject = prev ? structuredClone(prev) : { metadata: { name: key.slice(key.lastIndexOf('/') + 1) } };
      last.metadata.resourceVersion = String(rv);
      out.push(prev ? { type: 'DELETED', key, obj: last, prev, rv } : { type: 'DELETED', key, obj: last, rv });
    }
  }
  return out;
}

/**
 * What a filtered watcher sees for a store event (kube-apiserver's cacher
 * semantics): an object that starts matching arrives as ADDED, one that stops
 * matching as DELETED, so a `spec.nodeName=<node>` watch sees a pod get bound.
 */
export function filterEvent(ev: StoreEvent, matches: (obj: KubeObject) => boolean): WatchEvent | undefined {
  const now = ev.type !== 'DELETED' && matches(ev.obj);
  const before = ev.prev !== undefined && ev.type !== 'ADDED' && matches(ev.prev);
  if (ev.type === 'ADDED') return now ? { type: 'ADDED', object: ev.obj } : undefined;
  if (ev.type === 'DELETED') return before || (ev.prev === undefined && matches(ev.obj)) ? { type: 'DELETED', object: ev.obj } : undefined;
  if (now && before) return { type: 'MODIFIED', object: ev.obj };
  if (now) return { type: 'ADDED', object: ev.obj };
  if (before) return { type: 'DELETED', object: ev.obj };
  // etcd lost the previous value (compacted): deliver as a change if it matches now.
  return undefined;
}

export interface WatchCacheOptions {
  capacity?: number;
  log: Logger;
  /** Called with the number of etcd watches that are open (for metrics). */
  onEtcdWatches?: (delta: number) => void;
}

/** One resource prefix: an etcd watch, a ring buffer and its subscribers. */
export class WatchCache {
  private readonly buffer: StoreEvent[] = [];
  private readonly capacity: number;
  private readonly subscribers = new Set<Subscriber>();
  private watcher: Watcher | undefined;
  /** Every event with a revision above this one is in the buffer. */
  private completeFrom = Number.MAX_SAFE_INTEGER;
  /** The newest revision etcd told us about. */
  revision = 0;
  private starting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly storage: Storage,
    readonly prefix: string,
    private readonly opts: WatchCacheOptions,
  ) {
    this.capacity = opts.capacity ?? 1000;
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Starts the etcd watch (once); resolves when it is established. */
  start(): Promise<void> {
    this.starting ??= this.open().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async open(): Promise<void> {
    const rev = await this.storage.revision();
    const w = await this.storage.client.watch().prefix(this.prefix).startRevision(String(rev + 1)).withPreviousKV().create();
    this.opts.onEtcdWatches?.(1);
    if (this.closed) {
      await w.cancel();
      this.opts.onEtcdWatches?.(-1);
      return;
    }
    this.watcher = w;
    this.buffer.length = 0;
    this.completeFrom = rev;
    this.revision = Math.max(this.revision, rev);
    w.on('data', (res) => this.onData(res));
    w.on('error', (err) => void this.onWatchError(w, err));
  }

  private onData(res: IWatchResponse): void {
    for (const ev of storeEvents(res)) {
      this.buffer.push(ev);
      if (this.buffer.length > this.capacity) {
        const dropped = this.buffer.shift()!;
        this.completeFrom = Math.max(this.completeFrom, dropped.rv);
      }
      for (const s of this.subscribers) s.onEvent(ev);
    }
    const rev = Number(res.header.revision);
    if (rev > this.revision) this.revision = rev;
    for (const s of this.subscribers) s.onProgress?.(this.revision);
  }

  /**
   * The etcd watch died for good (typically: it fell behind a compaction
   * while etcd was away). Events are lost, so every subscriber must relist;
   * the cache restarts from the current revision.
   */
  private async onWatchError(w: Watcher, err: Error): Promise<void> {
    this.opts.log.warn({ prefix: this.prefix, err: err.message }, 'etcd watch ended; restarting the watch cache');
    this.opts.onEtcdWatches?.(-1);
    if (this.watcher === w) this.watcher = undefined;
    const subs = [...this.subscribers];
    this.subscribers.clear();
    for (const s of subs) s.onError(expired());
    this.starting = undefined;
    this.completeFrom = Number.MAX_SAFE_INTEGER;
    if (!this.closed) await this.start().catch((e: unknown) => this.opts.log.error({ prefix: this.prefix, err: String(e) }, 'watch cache restart failed'));
  }

  /**
   * Subscribes from `startRv` (deliver events with a higher revision).
   * Returns undefined when the buffer no longer covers that revision; the
   * caller then opens its own etcd watch.
   */
  subscribe(startRv: number, sub: Subscriber): Subscription | undefined {
    if (!this.watcher || startRv < this.completeFrom) return undefined;
    for (const ev of this.buffer) if (ev.rv > startRv) sub.onEvent(ev);
    this.subscribers.add(sub);
    return { cancel: () => void this.subscribers.delete(sub) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscribers.clear();
    const w = this.watcher;
    this.watcher = undefined;
    if (w) {
      this.opts.onEtcdWatches?.(-1);
      await w.cancel().catch(() => undefined);
    }
  }
}

/**
 * A watcher's own etcd watch from an old revision (the buffer is past it).
 * It gets its own etcd client: etcd3's shared watch stream throws on a
 * response for a watch that was just cancelled, which would take down every
 * other watch on that stream.
 */
export async function directWatch(connect: () => Etcd3, prefix: string, startRv: number, sub: Subscriber): Promise<Subscription> {
  const client = connect();
  let done = false;
  let w: Watcher | undefined;
  // A watcher still attached when its client closes makes etcd3 reconnect
  // forever: cancel it first (bounded), then close.
  const finish = (cancelWatch = false) => {
    if (done) return;
    done = true;
    const cancelled = cancelWatch && w ? Promise.race([w.cancel(), new Promise((r) => setTimeout(r, 2_000).unref())]) : Promise.resolve();
    void cancelled.catch(() => undefined).finally(() => client.close());
  };
  try {
    w = await client.watch().prefix(prefix).startRevision(String(startRv + 1)).withPreviousKV().create();
  } catch (err) {
    finish();
    if (err instanceof Error && /compact/i.test(err.message)) {
      sub.onError(expired());
      return { cancel: () => undefined };
    }
    throw err;
  }
  w.on('data', (res) => {
    if (done) return;
    for (const ev of storeEvents(res)) sub.onEvent(ev);
    sub.onProgress?.(Number(res.header.revision));
  });
  w.on('error', (err) => {
    if (done) return;
    finish();
    sub.onError(/compact/i.test(err.message) ? expired() : expired(`watch ended: ${err.message}`));
  });
  return { cancel: () => finish(true) };
}

/** The watch caches of a server, one per resource prefix, opened on first use. */
export class WatchCaches {
  private readonly caches = new Map<string, WatchCache>();

  constructor(
    private readonly storage: Storage,
    private readonly opts: WatchCacheOptions,
  ) {}

  async forPrefix(prefix: string): Promise<WatchCache> {
    let c = this.caches.get(prefix);
    if (!c) {
      c = new WatchCache(this.storage, prefix, this.opts);
      this.caches.set(prefix, c);
    }
    await c.start();
    return c;
  }

  get watchers(): number {
    let n = 0;
    for (const c of this.caches.values()) n += c.size;
    return n;
  }

  async close(): Promise<void> {
    await Promise.all([...this.caches.values()].map((c) => c.close()));
    this.caches.clear();
  }
}
