/**
 * Expectations (controller_utils.go's ControllerExpectations and
 * UIDTrackingControllerExpectations): after a controller sends N creates or
 * deletes for one owner, it records that it expects to observe them through
 * the informer, and does not act on that owner again until it has (or until
 * EXPECTATIONS_TIMEOUT_MS passed, the safety valve for a lost event). So a
 * cache that has not caught up with the controller's own writes never makes
 * it create or delete twice.
 *
 * Deletions are tracked by pod key, not counted: a pod marked for graceful
 * deletion (deletionTimestamp) and later removed is observed once, whichever
 * of the two events arrives.
 */

/** upstream's ExpectationsTimeout. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Expectee {
  add: number;
  del: number;
  /** The pod keys whose deletion is still expected. */
  deleting: Set<string>;
  timestamp: number;
}

export class Expectations {
  private readonly store = new Map<string, Expectee>();

  constructor(private readonly now: () => number = Date.now, private readonly timeoutMs = EXPECTATIONS_TIMEOUT_MS) {}

  /**
   * Whether the owner may be synced: nothing recorded, everything expected
   * observed, or the record is older than the timeout.
   */
  satisfied(key: string): boolean {
    const e = this.store.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.now() - e.timestamp > this.timeoutMs;
  }

  /** Expects `n` creations (replaces what was recorded, as upstream's SetExpectations). */
  expectCreations(key: string, n: number): void {
    this.store.set(key, { add: n, del: 0, deleting: new Set(), timestamp: this.now() });
  }

  /** Expects the deletion of these pods. */
  expectDeletions(key: string, podKeys: readonly string[]): void {
    this.store.set(key, { add: 0, del: podKeys.length, deleting: new Set(podKeys), timestamp: this.now() });
  }

  /** Expects `add` creations and the deletion of these pods at once (a DaemonSet sync does both). */
  expect(key: string, add: number, podKeys: readonly string[]): void {
    this.store.set(key, { add, del: podKeys.length, deleting: new Set(podKeys), timestamp: this.now() });
  }

  /** One creation was observed (or will never happen: a failed or skipped create). */
  creationObserved(key: string): void {
    const e = this.store.get(key);
    if (e) e.add--;
  }

  /** The pod's deletion was observed (or will never happen: a failed delete); counted once per pod. */
  deletionObserved(key: string, podKey: string): void {
    const e = this.store.get(key);
    if (e?.deleting.delete(podKey)) e.del--;
  }

  /** The owner is gone. */
  delete(key: string): void {
    this.store.delete(key);
  }

  /** What is still expected (tests, logs). */
  pending(key: string): { add: number; del: number } | undefined {
    const e = this.store.get(key);
    return e ? { add: e.add, del: e.del } : undefined;
  }
}
