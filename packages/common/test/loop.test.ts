import { Backoff, retry, sleep, waitFor, every } from '../src/loop.js';

describe('Backoff', () => {
  it('grows by the factor up to the cap, and resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('keeps jittered delays within the jitter band', () => {
    const b = new Backoff({ initialMs: 1000, jitter: 0.2 });
    const d = b.next();
    expect(d).toBeGreaterThanOrEqual(800);
    expect(d).toBeLessThanOrEqual(1200);
  });
});

describe('retry', () => {
  it('retries until success and reports each failure', async () => {
    const seen: number[] = [];
    const v = await retry(
      async (attempt) => {
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return 'ok';
      },
      { initialMs: 1, jitter: 0, onError: (_e, a) => seen.push(a) },
    );
    expect(v).toBe('ok');
    expect(seen).toEqual([1, 2]);
  });

  it('gives up after the attempt limit with the last error', async () => {
    await expect(retry(async (a) => Promise.reject(new Error(`fail ${a}`)), { attempts: 2, initialMs: 1 })).rejects.toThrow('fail 2');
  });

  it('stops at once on a non-retryable error', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new Error('permanent');
        },
        { retryable: () => false },
      ),
    ).rejects.toThrow('permanent');
    expect(calls).toBe(1);
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    const p = retry(async () => Promise.reject(new Error('down')), { signal: ac.signal, initialMs: 10_000 });
    setTimeout(() => ac.abort(), 5);
    await expect(p).rejects.toThrow();
  });
});

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? n : false), { intervalMs: 1 })).resolves.toBe(3);
  });

  it('names what it waited for and the last error when the deadline passes', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 20, intervalMs: 5, what: 'etcd to answer' },
      ),
    ).rejects.toThrow(/waiting for etcd to answer: last error: connection refused/);
  });
});

describe('sleep and every', () => {
  it('sleep rejects when aborted', async () => {
    const ac = new AbortController();
    const p = sleep(10_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toThrow();
  });

  it('every runs until aborted and survives errors', async () => {
    const ac = new AbortController();
    let runs = 0;
    const errors: unknown[] = [];
    await every(
      1,
      async () => {
        runs++;
        if (runs === 2) throw new Error('transient');
        if (runs === 4) ac.abort();
      },
      { signal: ac.signal, onError: (e) => errors.push(e) },
    );
    expect(runs).toBe(4);
    expect(errors).toHaveLength(1);
  });
});
