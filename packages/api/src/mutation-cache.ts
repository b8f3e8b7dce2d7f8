/**
 * client-go's MutationCache (tools/cache/mutation_cache.go, as
 * NewIntegerResourceVersionMutationCache builds it): a controller remembers
 * the objects its own writes returned and reads its informer's objects
 * through them, taking the newer of the two by resourceVersion (etcd
 * revisions: integers here). A sync that follows the controller's own write
 * closely then starts from that write, not from a copy the informer has not
 * caught up with yet — whose next guarded write would be a certain 409, a
 * failed sync and a requeue.
 *
 * Only the controller's own reads go through it: the informer, its handlers
 * and the other controllers sharing it see the API's events as they come.
 * An entry goes once the informer has caught up with it, when the object is
 * gone from the informer, or after `ttlMs`.
 */
import type { KubeObject } from './types.js';

export interface MutationCacheOptions {
  /** How long a remembered write may stand in for the informer's copy (client-go's callers: about a minute). */
  ttlMs?: number;
  now?: () => number;
}

export class MutationCache<T extends KubeObject> {
  private readonly written = new Map<string, { obj: T; at: number }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: MutationCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Remembers what a write of the object under `key` returned. */
  mutated(key: string, obj: T): void {
    const prev = this.written.get(key);
    if (prev && revision(prev.obj) >= revision(obj)) return;
    this.written.set(key, { obj, at: this.now() });
  }

  /**
   * The newer of the informer's copy and the remembered write; undefined
   * when the informer has no such object (a delete is the informer's word).
   */
  newest(key: string, cached: T | undefined): T | undefined {
    const w = this.written.get(key);
    if (!w) return cached;
    if (!cached || revision(cached) >= revision(w.obj) || this.now() - w.at > this.ttlMs || cached.metadata.uid !== w.obj.metadata.uid) {
      this.written.delete(key);
      return cached;
    }
    return w.obj;
  }

  get size(): number {
    return this.written.size;
  }
}

/** A resourceVersion as a number; one that is not (never ours) counts as the oldest. */
function revision(o: KubeObject): number {
  const n = Number(o.metadata.resourceVersion);
  return Number.isFinite(n) ? n : -1;
}
