/**
 * A bounded-frequency runner (kube-proxy's BoundedFrequencyRunner, minus
 * bursts): `run()` requests a sync; requests coalesce; two runs start at
 * least `minIntervalMs` apart; a run happens at least every `maxIntervalMs`
 * even with no request; runs never overlap. `retryAfter()` asks for another
 * run no later than the given delay (after a failure).
 */
export interface SyncRunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  signal: AbortSignal;
  onError?: (err: unknown) => void;
  now?: () => number;
}

export class SyncRunner {
  private requested = false;
  private retryAt: number | undefined;
  private lastStart = -Infinity;
  private wake: (() => void) | undefined;
  private readonly now: () => number;
  /** Completed runs (successful or not). */
  runs = 0;

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly opts: SyncRunnerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    opts.signal.addEventListener('abort', () => this.wake?.(), { once: true });
  }

  /** Requests a run as soon as the minimum interval allows. */
  run(): void {
    this.requested = true;
    this.wake?.();
  }

  retryAfter(ms: number): void {
    const at = this.now() + ms;
    this.retryAt = this.retryAt === undefined ? at : Math.min(this.retryAt, at);
    this.wake?.();
  }

  /** When the next run is due, in the runner's clock. */
  private due(): number {
    let due = this.lastStart + this.opts.maxIntervalMs;
    if (this.requested) due = Math.min(due, this.lastStart + this.opts.minIntervalMs);
    if (this.retryAt !== undefined) due = Math.min(due, Math.max(this.retryAt, this.lastStart + this.opts.minIntervalMs));
    return due;
  }

  /** Runs until the signal aborts. The first run starts at once. */
  async loop(): Promise<void> {
    const { signal } = this.opts;
    while (!signal.aborted) {
      const wait = this.due() - this.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, wait);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.wake = done;
        });
        this.wake = undefined;
        continue;
      }
      this.requested = false;
      this.retryAt = undefined;
      this.lastStart = this.now();
      try {
        await this.fn();
      } catch (err) {
        if (!signal.aborted) this.opts.onError?.(err);
      }
      this.runs++;
    }
  }
}
