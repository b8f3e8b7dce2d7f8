import type { Stored, TxnCompare } from '../storage/interface.js';

/**
 * NamespaceLifecycle for creates without a read per create. kube-apiserver
 * asks its namespace informer whether the namespace exists and is not
 * terminating; pilot remembers the revision at which it last saw each
 * namespace live and puts that revision into the create's own transaction
 * (a Mod compare). While the namespace is unchanged the create costs one
 * round trip to etcd; when it changed (any update, a deletion mark, gone)
 * the compare fails, the transaction reads the namespace back, and the
 * guard learns its new state. So the check is never stale, which is more
 * than an informer gives.
 */

export type NamespaceState = { kind: 'unknown' } | { kind: 'live'; rv: number } | { kind: 'terminating' } | { kind: 'absent' };

/** Remembered namespaces; past this many the memory starts over (each miss costs one read, never a wrong answer). */
const MAX_REMEMBERED = 10_000;

export class NamespaceGuard {
  private readonly live = new Map<string, number>();

  /** What is known of the namespace at `nsKey` without reading it. */
  known(nsKey: string): NamespaceState {
    const rv = this.live.get(nsKey);
    return rv === undefined ? { kind: 'unknown' } : { kind: 'live', rv };
  }

  /** Learns from a read of the namespace (a get, or a failed transaction's read-back). */
  observe(nsKey: string, stored: Stored | undefined): NamespaceState {
    if (!stored) {
      this.live.delete(nsKey);
      return { kind: 'absent' };
    }
    if (stored.obj.metadata.deletionTimestamp) {
      this.live.delete(nsKey);
      return { kind: 'terminating' };
    }
    if (!this.live.has(nsKey) && this.live.size >= MAX_REMEMBERED) this.live.clear();
    this.live.set(nsKey, stored.rv);
    return { kind: 'live', rv: stored.rv };
  }

  /** The compare that holds only while the namespace is as it was seen live. */
  static compare(nsKey: string, rv: number): TxnCompare {
    return { key: nsKey, target: 'Mod', value: rv };
  }
}
