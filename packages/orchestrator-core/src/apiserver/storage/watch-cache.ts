import type { KubeObject, WatchEvent } from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { StorageError } from './errors.js';
import type { Storage, StorageEvent, StorageWatch, Stored } from './interface.js';

/**
 * Watch fan-out (kube-apiserver's cacher, small). One storage watch per
 * resource prefix feeds a ring buffer of recent events; every HTTP watcher
 * subscribes to that cache, so a hundred watchers cost one etcd watch. A
 * watcher whose start revision is older than the buffer opens its own
 * (isolated) storage watch; if that revision is compacted it must relist.
 */

export interface Subscriber {
  onEvent(ev: StorageEvent): void;
  /** The subscription ended for good (compaction, shutdown); the stream must close. */
  onError(err: StorageError): void;
  /** Progress: every event up to `revision` has been delivered. */
  onProgress?(revision: number): void;
}

export interface Subscription {
  cancel(): void;
}

/**
 * What a filtered watcher sees for a store event (kube-apiserver's cacher
 * semantics): an object that starts matching arrives as ADDED, one that stops
 * matching as DELETED, so a `spec.nodeName=<node>` watch sees a pod get bound.
 */
export function filterEvent(ev: StorageEvent, matches: (obj: KubeObject) => boolean): WatchEvent | undefined {
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
}

/** One resource prefix: a storage watch, a ring buffer and its subscribers. */
export class WatchCache {
  private readonly buffer: StorageEvent[] = [];
  /** Each key's newest event while it is in the buffer. */
  private readonly latest = new Map<string, StorageEvent>();
  private readonly capacity: number;
  private readonly subscribers = new Set<Subscriber>();
  private watcher: StorageWatch | undefined;
  /** Every event with a revision above this one is in the buffer. */
  private completeFrom = Number.MAX_SAFE_INTEGER;
  /** The newest revision the storage told us about. */
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

  /** Starts the storage watch (once); resolves when it is established. */
  start(): Promise<void> {
    this.starting ??= this.open().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async open(): Promise<void> {
    const rev = await this.storage.revision();
    // Reset before the watch exists: its first events may arrive before it resolves.
    this.buffer.length = 0;
    this.latest.clear();
    this.completeFrom = rev;
    this.revision = Math.max(this.revision, rev);
    const handle: { w?: StorageWatch } = {};
    handle.w = await this.storage.watch(this.prefix, rev, {
      onEvents: (events, revision) => this.onEvents(events, revision),
      onError: (err) => void this.onWatchError(handle.w, err),
    });
    if (this.closed) {
      handle.w.cancel();
      return;
    }
    this.watcher = handle.w;
  }

  private onEvents(events: readonly StorageEvent[], revision: number): void {
    for (const ev of events) {
      this.buffer.push(ev);
      this.latest.set(ev.key, ev);
      if (this.buffer.length > this.capacity) {
        const dropped = this.buffer.shift()!;
        if (this.latest.get(dropped.key) === dropped) this.latest.delete(dropped.key);
        this.completeFrom = Math.max(this.completeFrom, dropped.rv);
      }
      for (const s of this.subscribers) s.onEvent(ev);
    }
    if (revision > this.revision) this.revision = revision;
    for (const s of this.subscribers) s.onProgress?.(this.revision);
  }

  /**
   * The storage watch died for good (typically: it fell behind a compaction
   * while etcd was away). Events are lost, so every subscriber must relist;
   * the cache restarts from the current revision.
   */
  private async onWatchError(w: StorageWatch | undefined, err: StorageError): Promise<void> {
    this.opts.log.warn({ prefix: this.prefix, err: err.message }, 'storage watch ended; restarting the watch cache');
    if (this.watcher === w) this.watcher = undefined;
    const subs = [...this.subscribers];
    this.subscribers.clear();
    for (const s of subs) s.onError(err);
    this.starting = undefined;
    this.completeFrom = Number.MAX_SAFE_INTEGER;
    if (!this.closed) await this.start().catch((e: unknown) => this.opts.log.error({ prefix: this.prefix, err: String(e) }, 'watch cache restart failed'));
  }

  /**
   * The newest copy of `key` this cache has seen, as a write's first guess
   * (kube-apiserver's cachedExistingObject): it may be behind the store, so
   * a write that uses it compares its revision in the transaction. Undefined
   * when the key's last event left the buffer, was a delete, or the cache is
   * not watching. A copy: the event's object is shared with the watchers.
   */
  current(key: string): Stored | undefined {
    if (!this.watcher) return undefined;
    const ev = this.latest.get(key);
    if (!ev || ev.type === 'DELETED') return undefined;
    return { key, obj: structuredClone(ev.obj), rv: ev.rv };
  }

  /** The oldest revision a watch can start from and be served here (kube-apiserver's `too old resource version` names it). */
  get oldestServable(): number | undefined {
    return this.watcher ? this.completeFrom : undefined;
  }

  /**
   * Subscribes from `startRv` (deliver events with a higher revision).
   * Returns undefined when the buffer no longer covers that revision; the
   * caller then opens its own (isolated) storage watch.
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
    w?.cancel();
  }
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

  /** The cache of a prefix if one is open already (a write never opens one). */
  peek(prefix: string): WatchCache | undefined {
    return this.caches.get(prefix);
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
