/**
 * THE workqueue (client-go's util/workqueue): what every controller, the
 * scheduler's binder and the kubelet's workers pull keys from.
 *
 * The guarantees are client-go's, because controllers are written against them:
 * - a key added several times before a worker takes it is handed out once
 *   (the `dirty` set);
 * - a key is never handed to two workers at once (the `processing` set): a key
 *   added while it is being worked on waits and is handed out again after
 *   `done`, so the worker that runs next sees the newest state;
 * - `addAfter` keeps only the earliest pending time per key;
 * - `addRateLimited` waits per key with exponential back-off until `forget`;
 * - `shutDown` hands out what is queued, then `get` answers undefined;
 *   `shutDownWithDrain` also waits until every handed-out key is `done`.
 * Handlers only enqueue keys; workers read the newest object from the informer
 * cache, so a queue of keys (not objects) is what makes coalescing correct.
 */
import { setMaxListeners } from 'node:events';

/** Delay before a failed key is retried (client-go's RateLimiter). */
export interface RateLimiter<K> {
  /** The delay for this key's next retry; counts a failure. */
  when(key: K): number;
  /** Failures counted for this key since the last forget. */
  numRequeues(key: K): number;
  /** Stop tracking the key (it succeeded, or it is gone). */
  forget(key: K): void;
}

/**
 * base·2^failures, capped (client-go's ItemExponentialFailureRateLimiter; its
 * controller default is 5 ms → 1000 s, the kubelet's and scheduler's own
 * back-offs are set by their callers).
 */
export class ExponentialFailureRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();

  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) throw new Error(`rate limiter: need 0 < base (${baseMs}) <= max (${maxMs})`);
  }

  when(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity for large n; min() caps it.
    return Math.min(this.maxMs, this.baseMs * 2 ** n);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: K): void {
    this.failures.delete(key);
  }
}

export interface WorkQueueOptions<K> {
  /** Name used in errors and metrics. */
  name?: string;
  rateLimiter?: RateLimiter<K>;
  /** Clock and timers, injectable for tests. */
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

export class WorkQueue<K = string> {
  readonly name: string;
  private readonly queue: K[] = [];
  /** Offset of the queue's head, so get() does not shift the array each time. */
  private head = 0;
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  /** Keys waiting for their addAfter time: the earliest wins. */
  private readonly waiting = new Map<K, number>();
  private timer: unknown;
  private timerAt = Infinity;
  private readonly getters: ((k: K | undefined) => void)[] = [];
  private readonly drainers: (() => void)[] = [];
  private shuttingDown = false;
  private readonly rateLimiter: RateLimiter<K>;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (t: unknown) => void;

  constructor(opts: WorkQueueOptions<K> = {}) {
    this.name = opts.name ?? 'workqueue';
    this.rateLimiter = opts.rateLimiter ?? new ExponentialFailureRateLimiter<K>();
    this.now = opts.now ?? Date.now;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  }

  /** Keys queued and not yet handed out. */
  len(): number {
    return this.queue.length - this.head;
  }

  /** Keys handed out and not yet done. */
  get inFlight(): number {
    return this.processing.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    // Being worked on: done() queues it again, so no second worker gets it meanwhile.
    if (this.processing.has(key)) return;
    const getter = this.getters.shift();
    if (getter) {
      this.dirty.delete(key);
      this.processing.add(key);
      getter(key);
      return;
    }
    this.queue.push(key);
  }

  /** Adds the key after `ms`; a key already waiting keeps the earlier time. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (!(ms > 0)) return this.add(key);
    const at = this.now() + ms;
    const prev = this.waiting.get(key);
    if (prev !== undefined && prev <= at) return;
    this.waiting.set(key, at);
    this.arm();
  }

  /** Adds the key after its rate limiter's delay (a failure is counted). */
  addRateLimited(key: K): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** The key succeeded (or is gone): its back-off starts over. */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /**
   * The next key, waiting until there is one. Resolves undefined once the
   * queue is shut down and empty, or when the signal aborts.
   */
  get(signal?: AbortSignal): Promise<K | undefined> {
    if (this.len() > 0) return Promise.resolve(this.take());
    if (this.shuttingDown || signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onAbort = () => {
        const i = this.getters.indexOf(getter);
        if (i >= 0) this.getters.splice(i, 1);
        resolve(undefined);
      };
      const getter = (k: K | undefined) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(k);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.getters.push(getter);
    });
  }

  /** The worker is finished with the key; if it was re-added meanwhile, it is queued again. */
  done(key: K): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
    if (this.processing.size === 0) for (const d of this.drainers.splice(0)) d();
  }

  /** Stops accepting keys; queued keys are still handed out, then get() answers undefined. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.waiting.clear();
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    // Waiting getters only exist when the queue is empty.
    for (const g of this.getters.splice(0)) g(undefined);
  }

  /** shutDown, then resolves when every handed-out key is done. */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return;
    await new Promise<void>((resolve) => this.drainers.push(resolve));
  }

  private take(): K {
    const key = this.queue[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  /** One timer for all waiting keys, set for the earliest. */
  private arm(): void {
    let next = Infinity;
    for (const at of this.waiting.values()) if (at < next) next = at;
    if (next >= this.timerAt && this.timer !== undefined) return;
    if (this.timer !== undefined) this.clearTimer(this.timer);
    if (next === Infinity) {
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    this.timerAt = next;
    this.timer = this.setTimer(() => this.fire(), Math.max(0, next - this.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    for (const [key, at] of this.waiting) {
      if (at > now) continue;
      this.waiting.delete(key);
      this.add(key);
    }
    this.arm();
  }
}

/**
 * Runs `workers` loops that take keys from the queue and call `sync`; a key
 * whose sync throws is re-added with back-off, one that succeeds is forgotten
 * (client-go's processNextWorkItem). Resolves when the queue is shut down and
 * drained, or the signal aborts and the running syncs have finished.
 */
export async function runWorkers<K>(
  queue: WorkQueue<K>,
  workers: number,
  sync: (key: K) => Promise<void>,
  opts: { signal: AbortSignal; onError?: (key: K, err: unknown) => void },
): Promise<void> {
  // One listener on the caller's signal however many workers wait (several
  // controllers share one leadership signal; Node warns past 10 listeners).
  const stop = new AbortController();
  setMaxListeners(Math.max(1, workers) + 1, stop.signal);
  const onAbort = () => stop.abort();
  if (opts.signal.aborted) stop.abort();
  else opts.signal.addEventListener('abort', onAbort, { once: true });
  const one = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get(stop.signal);
      if (key === undefined) return;
      try {
        await sync(key);
        queue.forget(key);
      } catch (err) {
        opts.onError?.(key, err);
        if (!opts.signal.aborted) queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, workers) }, one));
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
  }
}
