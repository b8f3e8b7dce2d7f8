/**
 * Reused etcd leases for objects that expire (Events, `--event-ttl`), as
 * kube-apiserver's lease manager (`storage/etcd3/lease_manager.go`) does:
 * granting one lease per write would cost an extra etcd round trip and leave
 * etcd with a lease per key. Instead one lease is granted with TTL + a reuse
 * window and attached to every write within that window, so each key lives
 * at least the TTL and at most TTL + window.
 *
 * Pure apart from the injected clock and `grant` (the etcd edge is
 * `EtcdStorage`'s lease grant), so the reuse rules are tested with a fake clock.
 */

/** Reuse window: this fraction of the TTL, at most MAX_REUSE_WINDOW_MS. */
const REUSE_FRACTION = 0.1;
const MAX_REUSE_WINDOW_MS = 60_000;
/** More keys than this on one lease and a fresh one is granted (etcd revokes a lease's keys in one go). */
const MAX_OBJECTS_PER_LEASE = 1000;

export interface LeasePolicy {
  ttlMs: number;
  windowMs: number;
  /** What etcd is asked for: whole seconds covering TTL + window. */
  grantSeconds: number;
  maxObjects: number;
}

export function leasePolicy(ttlMs: number, maxObjects = MAX_OBJECTS_PER_LEASE): LeasePolicy {
  if (!(ttlMs > 0)) throw new Error(`lease TTL must be positive, got ${ttlMs} ms`);
  const windowMs = Math.min(Math.floor(ttlMs * REUSE_FRACTION), MAX_REUSE_WINDOW_MS);
  return { ttlMs, windowMs, grantSeconds: Math.ceil((ttlMs + windowMs) / 1000), maxObjects };
}

export interface HeldLease {
  id: string;
  /** Clock reading just before the grant request. */
  grantedAt: number;
  /** When etcd drops the lease at the earliest: grantedAt + the granted TTL (etcd's own clock starts later). */
  expiresAt: number;
  /** Writes that got this lease. */
  objects: number;
}

/**
 * Whether a write at `now` may take `held`: the key must still live a full
 * TTL (which bounds reuse to the window, the extra the lease was granted
 * with), the clock must not have gone back past the grant, and the lease
 * must not be full.
 */
export function reusable(policy: LeasePolicy, held: HeldLease | undefined, now: number): held is HeldLease {
  if (!held) return false;
  return now >= held.grantedAt && now + policy.ttlMs <= held.expiresAt && held.objects < policy.maxObjects;
}

export interface LeaseManagerDeps {
  /** Grants an etcd lease of `seconds`, resolves to its ID. */
  grant: (seconds: number) => Promise<string>;
  now?: () => number;
}

export class LeaseManager {
  private held: HeldLease | undefined;
  /** A grant in flight: concurrent writes wait for it instead of granting their own. */
  private granting: Promise<HeldLease> | undefined;
  private readonly now: () => number;

  constructor(
    readonly policy: LeasePolicy,
    private readonly deps: LeaseManagerDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** The lease ID for one write. */
  async lease(): Promise<string> {
    for (;;) {
      const now = this.now();
      if (reusable(this.policy, this.held, now)) {
        this.held.objects++;
        return this.held.id;
      }
      if (this.granting) {
        // Someone else is granting: take theirs (re-checked, it may already be full).
        await this.granting.catch(() => undefined);
        continue;
      }
      this.granting = this.grantNew(now);
      try {
        const fresh = await this.granting;
        fresh.objects++;
        return fresh.id;
      } finally {
        this.granting = undefined;
      }
    }
  }

  /** etcd no longer knows `id` (revoked, expired early): never hand it out again. */
  lost(id: string): void {
    if (this.held?.id === id) this.held = undefined;
  }

  private async grantNew(now: number): Promise<HeldLease> {
    const id = await this.deps.grant(this.policy.grantSeconds);
    this.held = { id, grantedAt: now, expiresAt: now + this.policy.grantSeconds * 1000, objects: 0 };
    return this.held;
  }
}
