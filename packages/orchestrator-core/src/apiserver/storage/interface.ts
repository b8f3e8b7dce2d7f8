import type { KubeObject } from '@pilot/api';
import type { StorageError } from './errors.js';

/**
 * Storage: what the registry needs from a consistent store of versioned keys
 * (etcd's model, kube-apiserver's `storage.Interface`). Objects live under
 * `<prefix>/<resource>/<ns>/<name>` (cluster-scoped: `<prefix>/<resource>/<name>`),
 * every change gets the store's next revision and an object's resourceVersion
 * is the revision that last changed its key. Every write is one transaction
 * guarded by compares, so a stale update or a duplicate create never lands
 * half-way. Implementations: `EtcdStorage` (etcd.ts) and `MemoryStorage`
 * (memory.ts, revisions and compaction included, for unit tests). Nothing of
 * etcd's client crosses this interface; failures the registry must tell
 * apart are the classes in errors.ts.
 */

export interface Stored {
  key: string;
  obj: KubeObject;
  /** The revision that last changed the key = the object's resourceVersion. */
  rv: number;
}

/** One stored key as bytes: lists are answered from these without parsing (list-encoding.ts). */
export interface StoredBytes {
  key: Buffer;
  value: Buffer;
  rv: number;
}

/** A put with `ttlMs` expires (a reused etcd lease, at least that long); watchers then see DELETED. */
export type TxnOp = { put: string; value: string; ttlMs?: number } | { del: string };

/** A guard: the key's mod revision (Mod) or version (Version, 0 = absent) equals (or exceeds) `value`. */
export interface TxnCompare {
  key: string;
  target: 'Mod' | 'Version';
  value: number;
  /** Default Equal; Greater with Version 0 means "the key exists". */
  result?: 'Equal' | 'Greater';
}

/** A failed transaction reads back every compared key, so the caller can tell AlreadyExists from Conflict. */
export type TxnResult = { ok: true; revision: number } | { ok: false; revision: number; current: Map<string, Stored | undefined> };

export interface ListRange {
  /** At most this many keys (0 or unset: all of them, read in consistent chunks). */
  limit?: number;
  /** Start here instead of at the prefix (a continue token's key). */
  fromKey?: string;
  /** Read as of this revision (0 or unset: now). Older than the last compaction: CompactedError. */
  revision?: number;
  /** Only keys and revisions (the value of each item is empty). */
  keysOnly?: boolean;
}

export interface ListPage {
  items: Stored[];
  /** The revision the list was read at (the list's resourceVersion). */
  revision: number;
  /** First key not returned yet, when the range was cut by the limit. */
  nextKey?: string;
}

export interface RawPage {
  items: StoredBytes[];
  revision: number;
  nextKey?: string;
}

export type StorageEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StorageEvent {
  type: StorageEventType;
  key: string;
  /** The object after the change; for DELETED the last state, with the delete's revision. */
  obj: KubeObject;
  /** The object before the change (MODIFIED, DELETED), when the store still had it. */
  prev?: KubeObject;
  rv: number;
}

export interface StorageWatcher {
  /** Changes in revision order; `revision`: everything up to it has been delivered (progress, also with no events). */
  onEvents(events: readonly StorageEvent[], revision: number): void;
  /** The watch ended for good (compacted past its revision, store gone); nothing more arrives. */
  onError(err: StorageError): void;
}

export interface StorageWatch {
  cancel(): void;
}

export interface WatchOptions {
  /**
   * A short-lived watch of one client (an HTTP watcher from an old revision):
   * its cancellation must not disturb the long-lived ones (etcd: its own connection).
   */
  isolated?: boolean;
}

export interface Storage {
  /** Prefix holding every object of a resource (or of one namespace), trailing slash included. */
  prefixFor(resource: string, namespace?: string): string;
  keyFor(resource: string, namespace: string | undefined, name: string): string;
  get(key: string): Promise<Stored | undefined>;
  /**
   * Keys under `prefix` in key order. Without a limit the whole range is read
   * at one revision (one consistent snapshot, however many chunks it takes).
   */
  list(prefix: string, opts?: ListRange): Promise<ListPage>;
  /** Like list, with the stored bytes instead of decoded objects. */
  listRaw(prefix: string, opts?: ListRange): Promise<RawPage>;
  /** The store's current revision. */
  revision(): Promise<number>;
  /** If every compare holds, applies every op at one new revision; otherwise reads the compared keys. */
  txn(compares: readonly TxnCompare[], ops: readonly TxnOp[]): Promise<TxnResult>;
  /**
   * Changes under `prefix` after `afterRevision` (events with a higher
   * revision), first the past ones, then live. Revisions already compacted
   * reject with CompactedError (or end the watch with it later).
   */
  watch(prefix: string, afterRevision: number, watcher: StorageWatcher, opts?: WatchOptions): Promise<StorageWatch>;
  /** Forgets history before `revision`: reads and watches from older revisions fail with CompactedError. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

/** The key layout every Storage shares (a resource's prefix always ends in `/`). */
export function resourcePrefix(prefix: string, resource: string, namespace?: string): string {
  return namespace ? `${prefix}/${resource}/${namespace}/` : `${prefix}/${resource}/`;
}
