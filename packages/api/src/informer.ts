/**
 * THE informer: keeps a local, indexed copy of one collection and tells
 * handlers about every change. list → watch from the list's resourceVersion
 * → on a closed watch, rewatch from the last seen resourceVersion (with
 * backoff on errors) → on 410 Gone, relist and diff against the cache so
 * handlers see exactly the differences. Handlers run one at a time, in event
 * order; a throwing handler is logged and the informer goes on.
 */
import { Backoff, type BackoffOptions, createLogger, sleep, type Logger } from '@pilot/common';
import type { KubeObject, List, WatchEvent } from './types.js';
import type { ApiClient, ListOptions, WatchOptions } from './client.js';
import { isGone } from './errors.js';
import { resourceByName } from './resources.js';
import { Indexer, keyOf } from './indexer.js';
import type { FieldSelector, LabelSelector } from './selectors.js';

export interface ResourceEventHandler<T> {
  onAdd?(obj: T): void | Promise<void>;
  onUpdate?(oldObj: T, newObj: T): void | Promise<void>;
  onDelete?(obj: T): void | Promise<void>;
}

/** What the informer needs from a client (ApiClient fits; tests may fake it). */
export type ListWatchClient = Pick<ApiClient, 'list' | 'watch'>;

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string | LabelSelector;
  fieldSelector?: string | FieldSelector;
  /** Re-deliver every cached object as onUpdate(obj, obj) this often (0/undefined: never). */
  resyncMs?: number;
  logger?: Logger;
  backoff?: BackoffOptions;
  /** Page size of the initial list (default 500; the server may ignore it). */
  pageSize?: number;
  /** Bounds of the server-side watch timeout, in seconds (default 300..600, random, as client-go). */
  watchTimeoutSeconds?: [number, number];
}

type Dispatch = () => void | Promise<void>;

export class Informer<T extends KubeObject = KubeObject> {
  readonly indexer = new Indexer<T>();
  private readonly handlers: ResourceEventHandler<T>[] = [];
  private readonly log: Logger;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private queue: Promise<void> = Promise.resolve();
  private running = false;
  private rv = '';

  constructor(
    private readonly client: ListWatchClient,
    readonly resource: string,
    private readonly opts: InformerOptions = {},
  ) {
    if (!resourceByName(resource)) throw new Error(`informer: unknown resource "${resource}"`);
    this.log = (opts.logger ?? createLogger('informer')).child({ resource });
  }

  /**
   * Registers handlers. Objects already cached are delivered to the new
   * handler as onAdd first, so late subscribers see the same world.
   * Returns a function that unregisters it.
   */
  addHandler(h: ResourceEventHandler<T>): () => void {
    this.handlers.push(h);
    const existing = this.indexer.list();
    if (existing.length && h.onAdd) {
      this.enqueue(async () => {
        for (const obj of existing) await this.call('add', () => h.onAdd!(obj));
      });
    }
    return () => {
      const i = this.handlers.indexOf(h);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  /** True once the first list has been stored and delivered to the handlers. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once synced; rejects when the signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason instanceof Error ? signal.reason : new Error(`${this.resource} informer: aborted before sync`));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** resourceVersion of the last list, watch event or bookmark seen. */
  get lastResourceVersion(): string {
    return this.rv;
  }

  /**
   * Runs until the signal aborts (then resolves). Never rejects on API or
   * network errors: those are logged and retried with backoff.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.running) throw new Error(`${this.resource} informer already started`);
    this.running = true;
    const backoff = new Backoff({ initialMs: 200, maxMs: 10_000, ...this.opts.backoff });
    const resync = this.opts.resyncMs ? this.resyncLoop(this.opts.resyncMs, signal) : Promise.resolve();
    let needList = true;
    try {
      while (!signal.aborted) {
        try {
          if (needList) {
            await this.relist(signal);
            needList = false;
            backoff.reset();
          }
          const got = await this.watchOnce(signal);
          if (got > 0) backoff.reset();
          else if (!signal.aborted) await sleep(backoff.next(), signal); // empty watch: do not spin on a server that closes at once
        } catch (err) {
          if (signal.aborted) break;
          if (isGone(err) && !needList) {
            // The resourceVersion we hold was compacted away: only a fresh list can catch up.
            this.log.info({ rv: this.rv, err: (err as Error).message }, 'watch expired; relisting');
            needList = true;
            continue;
          }
          const delay = backoff.next();
          this.log.warn({ err: (err as Error).message, retryInMs: delay, relist: needList }, 'list/watch failed');
          await sleep(delay, signal).catch(() => undefined);
        }
      }
    } finally {
      await resync.catch(() => undefined);
      await this.queue.catch(() => undefined);
      this.running = false;
    }
  }

  // ---------------------------------------------------------------- list + diff

  private async relist(signal: AbortSignal): Promise<void> {
    const list = await this.listAll(signal);
    const rv = list.metadata?.resourceVersion ?? '';
    const seen = new Set<string>();
    const events: Dispatch[] = [];
    for (const obj of list.items) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.indexer.get(key);
      this.indexer.set(obj);
      if (!old) events.push(() => this.each('add', (h) => h.onAdd?.(obj)));
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion || !old.metadata?.resourceVersion)
        events.push(() => this.each('update', (h) => h.onUpdate?.(old, obj)));
    }
    for (const key of this.indexer.keys()) {
      if (seen.has(key)) continue;
      const old = this.indexer.delete(key)!;
      events.push(() => this.each('delete', (h) => h.onDelete?.(old)));
    }
    this.rv = rv;
    this.log.debug({ rv, items: list.items.length, changes: events.length }, 'listed');
    for (const e of events) this.enqueue(e);
    await this.queue;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async listAll(signal: AbortSignal): Promise<List<T>> {
    const base: ListOptions = { ...this.selectorOpts(), signal, limit: this.opts.pageSize ?? 500 };
    const first = await this.client.list<T>(this.resource, base);
    const items = [...first.items];
    let next = first.metadata?.continue;
    try {
      while (next) {
        const page = await this.client.list<T>(this.resource, { ...base, continue: next });
        items.push(...page.items);
        next = page.metadata?.continue;
      }
    } catch (err) {
      // A continue token can expire mid-way (410): fall back to one unpaged list.
      if (!isGone(err)) throw err;
      return this.client.list<T>(this.resource, { ...this.selectorOpts(), signal });
    }
    return { ...first, items };
  }

  // ---------------------------------------------------------------- watch

  /** One watch from the current resourceVersion; returns how many events it delivered. */
  private async watchOnce(signal: AbortSignal): Promise<number> {
    const [lo, hi] = this.opts.watchTimeoutSeconds ?? [300, 600];
    const opts: WatchOptions = {
      ...this.selectorOpts(),
      resourceVersion: this.rv,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.round(lo + Math.random() * (hi - lo)),
      signal,
    };
    let n = 0;
    for await (const ev of this.client.watch<T>(this.resource, opts)) {
      n++;
      this.apply(ev);
      await this.queue; // backpressure: handlers keep up with the stream
    }
    return n;
  }

  private apply(ev: WatchEvent<T>): void {
    const obj = ev.object;
    const rv = obj?.metadata?.resourceVersion;
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const old = this.indexer.set(obj);
        if (old) this.enqueue(() => this.each('update', (h) => h.onUpdate?.(old, obj)));
        else this.enqueue(() => this.each('add', (h) => h.onAdd?.(obj)));
        break;
      }
      case 'DELETED': {
        const old = this.indexer.delete(keyOf(obj));
        // Deliver the final state the server sent; it is newer than the cache.
        if (old) this.enqueue(() => this.each('delete', (h) => h.onDelete?.(obj)));
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR':
        return; // the client turns ERROR into an ApiError before we see it
    }
    if (rv) this.rv = rv;
  }

  // ---------------------------------------------------------------- resync

  private async resyncLoop(ms: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await sleep(ms, signal);
      } catch {
        return;
      }
      if (!this.synced) continue;
      for (const obj of this.indexer.list()) this.enqueue(() => this.each('update', (h) => h.onUpdate?.(obj, obj)));
    }
  }

  // ---------------------------------------------------------------- delivery

  private selectorOpts(): { namespace?: string; labelSelector?: string; fieldSelector?: string } {
    const o: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {};
    if (this.opts.namespace) o.namespace = this.opts.namespace;
    const ls = this.opts.labelSelector?.toString();
    const fs = this.opts.fieldSelector?.toString();
    if (ls) o.labelSelector = ls;
    if (fs) o.fieldSelector = fs;
    return o;
  }

  private enqueue(d: Dispatch): void {
    this.queue = this.queue.then(d).catch((err) => this.log.error({ err: (err as Error).message }, 'dispatch failed'));
  }

  private async each(kind: string, fn: (h: ResourceEventHandler<T>) => void | Promise<void>): Promise<void> {
    for (const h of [...this.handlers]) await this.call(kind, () => fn(h));
  }

  private async call(kind: string, fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.error({ err: (err as Error).message, event: kind }, 'handler failed');
    }
  }
}
