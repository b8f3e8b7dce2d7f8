/** Resolves after `ms`, or rejects with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new AbortError();
}

export class AbortError extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortError';
  }
}

export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return (signal?.aborted ?? false) || (err instanceof Error && err.name === 'AbortError');
}

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of each delay randomised, so many hosts do not retry in step. */
  jitter?: number;
}

/** Exponential backoff delays: initial, initial*factor, … capped at max, with jitter. */
export class Backoff {
  private attempt = 0;
  constructor(private readonly opts: BackoffOptions = {}) {}

  next(): number {
    const { initialMs = 100, maxMs = 5_000, factor = 2, jitter = 0.2 } = this.opts;
    const base = Math.min(maxMs, initialMs * factor ** this.attempt);
    this.attempt++;
    return Math.round(base * (1 - jitter + Math.random() * 2 * jitter));
  }

  reset(): void {
    this.attempt = 0;
  }
}

export interface RetryOptions extends BackoffOptions {
  signal?: AbortSignal;
  /** Give up after this many attempts (default: never, until aborted). */
  attempts?: number;
  /** Called with each failure before waiting. */
  onError?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Return false to stop retrying on errors that will not go away. */
  retryable?: (err: unknown) => boolean;
}

/** Calls fn until it succeeds, waiting with backoff between failures. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const backoff = new Backoff(opts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if (opts.retryable && !opts.retryable(err)) throw err;
      if (opts.attempts !== undefined && attempt >= opts.attempts) throw err;
      const delay = backoff.next();
      opts.onError?.(err, attempt, delay);
      await sleep(delay, opts.signal);
    }
  }
}

/**
 * Runs fn every `intervalMs` (measured from the end of one run to the start of
 * the next) until the signal aborts. Errors go to onError; the loop goes on.
 */
export async function every(
  intervalMs: number,
  fn: () => Promise<void>,
  opts: { signal: AbortSignal; onError?: (err: unknown) => void; immediate?: boolean },
): Promise<void> {
  let first = opts.immediate ?? true;
  while (!opts.signal.aborted) {
    if (!first) {
      try {
        await sleep(intervalMs, opts.signal);
      } catch {
        return;
      }
    }
    first = false;
    try {
      await fn();
    } catch (err) {
      if (opts.signal.aborted) return;
      opts.onError?.(err);
    }
  }
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Says what was awaited, for the error when the deadline passes. */
  what?: string;
  signal?: AbortSignal;
}

/**
 * Polls `check` until it returns a value other than undefined/false, or the
 * deadline passes. The error names what was awaited and the last failure seen.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 100, what = 'condition' } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: last error: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs, opts.signal);
  }
}
