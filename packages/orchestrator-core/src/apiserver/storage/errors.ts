/**
 * The failures of a Storage that callers act on, as classes (etcd's client
 * reports them as message texts; etcd.ts translates). The registry turns them
 * into Status replies (410 Expired, 504).
 */

export class StorageError extends Error {}

/** The revision asked for is older than the last compaction. */
export class CompactedError extends StorageError {
  constructor(
    /** The revision read or watched from. */
    readonly requested: number,
    /** The oldest revision still available, when the store tells (etcd's range errors do not). */
    readonly oldest?: number,
  ) {
    super(`required revision ${requested} has been compacted${oldest !== undefined ? ` (oldest available ${oldest})` : ''}`);
    this.name = 'CompactedError';
  }
}

/** The revision asked for has not happened yet. */
export class FutureRevisionError extends StorageError {
  constructor(
    readonly requested: number,
    readonly current: number,
  ) {
    super(`required revision ${requested} is a future revision (current ${current})`);
    this.name = 'FutureRevisionError';
  }
}

/** A watch stopped for a reason other than compaction (the store closed, the stream broke for good). */
export class WatchEndedError extends StorageError {
  constructor(reason: string) {
    super(`watch ended: ${reason}`);
    this.name = 'WatchEndedError';
  }
}
