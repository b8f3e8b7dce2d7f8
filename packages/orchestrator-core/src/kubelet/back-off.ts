/**
 * client-go's flowcontrol.Backoff as the kubelet uses it for container
 * restarts (CrashLoopBackOff) and image pulls (ImagePullBackOff): per key, a
 * delay that starts at `initialMs` and doubles on every `next` up to `maxMs`;
 * an entry not touched for twice `maxMs` counts as stable and starts over
 * (upstream's "reset after 10 minutes of running" with 300 s).
 *
 * Pure over an injected clock, so the curve is table-tested.
 */

interface Entry {
  backoffMs: number;
  lastUpdateMs: number;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  now?: () => number;
}

/** Upstream kubelet constants: backOffPeriod 10 s, MaxContainerBackOff 300 s. */
export const DEFAULT_BACKOFF_MS = 10_000;
export const DEFAULT_MAX_BACKOFF_MS = 300_000;

export class KeyedBackoff {
  private readonly entries = new Map<string, Entry>();
  readonly initialMs: number;
  readonly maxMs: number;
  private readonly now: () => number;

  constructor(opts: BackoffOptions) {
    this.initialMs = opts.initialMs;
    this.maxMs = opts.maxMs;
    this.now = opts.now ?? Date.now;
  }

  /** The current delay of `key` (0 when it has none). */
  get(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  /** Records one more failure of `key` at `eventMs`: the first one (or after a stable period) gets the initial delay, later ones double it. */
  next(key: string, eventMs: number): void {
    const e = this.entries.get(key);
    if (!e || this.expired(eventMs, e.lastUpdateMs)) this.entries.set(key, { backoffMs: this.initialMs, lastUpdateMs: this.now() });
    else this.entries.set(key, { backoffMs: Math.min(e.backoffMs * 2, this.maxMs), lastUpdateMs: this.now() });
  }

  /** Whether an event at `eventMs` (a container's finish) is still within `key`'s delay. */
  isInBackOffSince(key: string, eventMs: number): boolean {
    const e = this.entries.get(key);
    if (!e || this.expired(eventMs, e.lastUpdateMs)) return false;
    return this.now() - eventMs < e.backoffMs;
  }

  /** Whether the last `next` of `key` is less than its delay ago (image pulls). */
  isInBackOffSinceUpdate(key: string): boolean {
    const e = this.entries.get(key);
    if (!e || this.expired(this.now(), e.lastUpdateMs)) return false;
    return this.now() - e.lastUpdateMs < e.backoffMs;
  }

  /** Milliseconds until an event at `eventMs` leaves `key`'s delay (0 when it is not in one). */
  remainingSince(key: string, eventMs: number): number {
    const e = this.entries.get(key);
    if (!e || !this.isInBackOffSince(key, eventMs)) return 0;
    return Math.max(0, eventMs + e.backoffMs - this.now());
  }

  /** Milliseconds until the delay since the last `next` of `key` is over (0 when it is not in one). */
  remainingSinceUpdate(key: string): number {
    const e = this.entries.get(key);
    if (!e || !this.isInBackOffSinceUpdate(key)) return 0;
    return Math.max(0, e.lastUpdateMs + e.backoffMs - this.now());
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Drops entries not updated for twice the maximum (upstream's periodic GC). */
  gc(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (this.expired(now, e.lastUpdateMs)) this.entries.delete(k);
  }

  private expired(eventMs: number, lastUpdateMs: number): boolean {
    return eventMs - lastUpdateMs > this.maxMs * 2;
  }
}

/** Go's time.Duration String for the whole seconds the kubelet's messages print ("10s", "1m20s", "5m0s"). */
export function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${s % 60}s`;
}
