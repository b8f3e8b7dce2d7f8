/**
 * Connecting to a backend with fail-over: a few attempts, each to the
 * endpoint the balancer picks next, with a growing connect timeout (kube-proxy
 * userspace used 250 ms, 500 ms, 1 s, 2 s). A dead endpoint that refuses costs
 * one round trip; one that drops SYNs costs its timeout, then the next
 * endpoint gets a longer chance. Transport-agnostic so it is unit-testable.
 */

export const DIAL_TIMEOUTS_MS: readonly number[] = [250, 500, 1000, 2000];

export interface DialFailure {
  endpoint: string;
  timeoutMs: number;
  error: Error;
}

/** Every attempt failed (or there was nothing to try). */
export class DialError extends Error {
  constructor(
    readonly service: string,
    readonly failures: readonly DialFailure[],
    reason?: string,
  ) {
    super(
      reason ??
        `${service}: no endpoint accepted after ${failures.length} attempt(s): ` +
          failures.map((f) => `${f.endpoint} (${f.error.message})`).join(', '),
    );
    this.name = 'DialError';
  }
}

export interface DialOptions {
  service: string;
  timeoutsMs?: readonly number[];
  /** Called after each failed attempt (metrics, debug logs). */
  onFailure?: (f: DialFailure) => void;
  /** Errors that make further attempts pointless (EMFILE: the proxy itself is out of descriptors). */
  isFatal?: (err: Error) => boolean;
  /** Stops further attempts once `aborted` (an AbortSignal fits; a plain flag is cheaper per connection). */
  signal?: { readonly aborted: boolean };
}

/**
 * `pick(attempt)` names the endpoint for an attempt (attempt > 0 means a retry,
 * so the caller resets the client's affinity); `dial` connects with a timeout.
 */
export async function dialWithRetry<T>(
  pick: (attempt: number) => string | undefined,
  dial: (endpoint: string, timeoutMs: number) => Promise<T>,
  opts: DialOptions,
): Promise<{ value: T; endpoint: string; attempts: number }> {
  const timeouts = opts.timeoutsMs ?? DIAL_TIMEOUTS_MS;
  const failures: DialFailure[] = [];
  for (let attempt = 0; attempt < timeouts.length; attempt++) {
    if (opts.signal?.aborted) throw new DialError(opts.service, failures, `${opts.service}: dial aborted`);
    const endpoint = pick(attempt);
    if (endpoint === undefined) {
      throw new DialError(opts.service, failures, failures.length ? undefined : `${opts.service}: no endpoints`);
    }
    const timeoutMs = timeouts[attempt]!;
    try {
      const value = await dial(endpoint, timeoutMs);
      return { value, endpoint, attempts: attempt + 1 };
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      const f = { endpoint, timeoutMs, error };
      failures.push(f);
      opts.onFailure?.(f);
      if (opts.isFatal?.(error)) throw new DialError(opts.service, failures);
    }
  }
  throw new DialError(opts.service, failures);
}

/** Out of file descriptors: the proxy, not the backend, is the problem. */
export function isDescriptorExhaustion(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}
