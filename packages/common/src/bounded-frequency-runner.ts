/**
 * A bounded-frequency runner, as kube-proxy's BoundedFrequencyRunner: one
 * function, run on request and periodically, never more often than allowed
 * and never less often than required. The one way in pilot to coalesce
 * "something changed, sync" requests.
 *
 * - **Runs never overlap.** Only `loop()` calls the function, one run at a time.
 * - **Requests coalesce.** Any number of `run()`/`runSoon()` calls before a run
 *   starts make one run; a request made while a run is in progress makes one
 *   more run after it.
 * - **Minimum interval and burst.** Runs start at most once per
 *   `minIntervalMs` (measured between starts), except that up to `burstRuns`
 *   may start back to back: unused runs accumulate, one per `minIntervalMs`,
 *   up to `burstRuns` (a token bucket, as kube-proxy's). A request the limit
 *   holds back is kept and served as soon as the limit allows.
 * - **Maximum interval.** With no request, a run starts `maxIntervalMs` after
 *   the previous run ended (after `loop()` started, before the first run), so
 *   state is refreshed even when nobody asks. `Infinity`: only on request.
 * - **Run now** (`run()`): as soon as the limits allow.
 * - **Run soon** (`runSoon(ms)`, kube-proxy's RetryAfter): no later than `ms`
 *   from now (limits permitting), and not earlier unless something else
 *   triggers a run. The earliest deadline asked for wins, and a later call
 *   never postpones it, so a steady stream of `runSoon(150)` still gets a run
 *   every 150 ms: a debounce that cannot starve. Use it to collect a burst of
 *   events into one run, or to retry after a failure.
 * - **The first run** starts at once when `loop()` starts, unless
 *   `runAtStart: false` (then it waits for a request or the maximum interval).
 * - **AbortSignal.** Once the signal aborts, requests are ignored and `loop()`
 *   resolves as soon as the run in progress (if any) has finished; the
 *   function gets the signal to cut its work short.
 * - **Errors** a run throws go to `onError` (not after abort) and the loop goes
 *   on; call `runSoon()` there to retry earlier than the maximum interval.
 */
export interface BoundedFrequencyRunnerOptions {
  /** Between two starts, burst aside (0: no limit). */
  minIntervalMs: number;
  /** Longest time from the end of one run to the start of the next with no request; at least minIntervalMs; Infinity for never. */
  maxIntervalMs: number;
  /** Runs that may start back to back before the minimum interval applies (default 1). */
  burstRuns?: number;
  /** Whether loop() starts with a run (default true). */
  runAtStart?: boolean;
  signal: AbortSignal;
  /** Called with what a run threw; the loop goes on. */
  onError: (err: unknown) => void;
}

/** setTimeout clamps longer delays to 1 ms; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class BoundedFrequencyRunner {
  private requested: boolean;
  /** Deadline of the earliest runSoon() since the last start. */
  private soonAt: number | undefined;
  /** The token bucket as a theoretical arrival time (GCRA): a run may start once now >= tat - (burst-1) * min. */
  private tat = -Infinity;
  private lastEnd = -Infinity;
  private wake: (() => void) | undefined;
  private started = false;
  private completed = 0;
  private readonly burst: number;

  constructor(
    private readonly fn: (signal: AbortSignal) => Promise<void>,
    private readonly opts: BoundedFrequencyRunnerOptions,
  ) {
    const { minIntervalMs: min, maxIntervalMs: max, burstRuns = 1 } = opts;
    if (!Number.isFinite(min) || min < 0) throw new RangeError(`bounded-frequency runner: minIntervalMs ${min} must be a finite number >= 0`);
    if (Number.isNaN(max) || max < min) throw new RangeError(`bounded-frequency runner: maxIntervalMs ${max} must be >= minIntervalMs ${min}`);
    if (!Number.isInteger(burstRuns) || burstRuns < 1) throw new RangeError(`bounded-frequency runner: burstRuns ${burstRuns} must be an integer >= 1`);
    this.burst = burstRuns;
    this.requested = opts.runAtStart ?? true;
    opts.signal.addEventListener('abort', () => this.wake?.(), { once: true });
  }

  /** Completed runs, successful or not. */
  get runs(): number {
    return this.completed;
  }

  /** Run now: as soon as the minimum interval (and burst) allow. */
  run(): void {
    if (this.opts.signal.aborted) return;
    this.requested = true;
    this.wake?.();
  }

  /** Run soon: no later than `withinMs` from now (limits permitting); never postpones an earlier deadline. */
  runSoon(withinMs: number): void {
    if (this.opts.signal.aborted) return;
    const at = performance.now() + Math.max(0, withinMs);
    if (this.soonAt === undefined || at < this.soonAt) {
      this.soonAt = at;
      this.wake?.();
    }
  }

  /** When the next run may start, on the monotonic clock (performance.now). */
  private due(): number {
    const allowedAt = this.tat - (this.burst - 1) * this.opts.minIntervalMs;
    let wanted = this.lastEnd + this.opts.maxIntervalMs;
    if (this.requested) wanted = -Infinity;
    if (this.soonAt !== undefined) wanted = Math.min(wanted, this.soonAt);
    return Math.max(allowedAt, wanted);
  }

  /** Runs until the signal aborts; call once. */
  async loop(): Promise<void> {
    if (this.started) throw new Error('bounded-frequency runner: loop() called twice');
    this.started = true;
    const { signal } = this.opts;
    this.lastEnd = performance.now();
    while (!signal.aborted) {
      const wait = this.due() - performance.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = wait <= MAX_TIMER_MS ? setTimeout(done, wait) : wait === Infinity ? undefined : setTimeout(done, MAX_TIMER_MS);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.wake = done;
        });
        this.wake = undefined;
        continue;
      }
      const start = performance.now();
      this.requested = false;
      this.soonAt = undefined;
      this.tat = Math.max(this.tat, start) + this.opts.minIntervalMs;
      try {
        await this.fn(signal);
      } catch (err) {
        if (!signal.aborted) this.opts.onError(err);
      }
      this.lastEnd = performance.now();
      this.completed++;
    }
  }
}
