import { getEventListeners } from 'node:events';
import { ExponentialFailureRateLimiter, runWorkers, WorkQueue } from '../src/workqueue.js';

/** A manual clock: timers fire only when the test advances time. */
function manualClock() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let nextId = 1;
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const id = nextId++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimer: (t: unknown) => void timers.delete(t as number),
    advance(ms: number) {
      now += ms;
      for (const [id, t] of [...timers]) {
        if (t.at <= now) {
          timers.delete(id);
          t.fn();
        }
      }
    },
    pending: () => timers.size,
  };
}

async function drainNow<K>(q: WorkQueue<K>): Promise<K[]> {
  const out: K[] = [];
  while (q.len() > 0) {
    const k = (await q.get())!;
    out.push(k);
    q.done(k);
  }
  return out;
}

describe('WorkQueue', () => {
  it('hands out a key added several times before a worker takes it once', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await drainNow(q)).toEqual(['a', 'b']);
  });

  it('never hands one key to two workers: a key re-added while worked on comes back after done', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a'); // an update arrives while the worker syncs
    expect(q.len()).toBe(0); // not available to a second worker
    let second: string | undefined;
    const waiting = q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done('a');
    await waiting;
    expect(second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
    expect(q.inFlight).toBe(0);
  });

  it('wakes a waiting worker when a key is added', async () => {
    const q = new WorkQueue<string>();
    const got = q.get();
    q.add('x');
    expect(await got).toBe('x');
    expect(q.inFlight).toBe(1);
  });

  it('keeps the earliest time of a key added after a delay several times', async () => {
    const clock = manualClock();
    const q = new WorkQueue<string>({ now: clock.now, setTimer: clock.setTimer, clearTimer: clock.clearTimer });
    q.addAfter('a', 1000);
    q.addAfter('a', 100);
    q.addAfter('a', 5000);
    q.addAfter('b', 500);
    clock.advance(99);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(await drainNow(q)).toEqual(['a']);
    clock.advance(400);
    expect(await drainNow(q)).toEqual(['b']);
    clock.advance(10_000);
    expect(q.len()).toBe(0); // the later times of 'a' were dropped, not queued again
    expect(clock.pending()).toBe(0);
  });

  it('adds at once when the delay is not positive', () => {
    const q = new WorkQueue<string>();
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    expect(q.len()).toBe(2);
  });

  it('backs a failing key off exponentially until it is forgotten', async () => {
    const clock = manualClock();
    const q = new WorkQueue<string>({
      rateLimiter: new ExponentialFailureRateLimiter(10, 100),
      now: clock.now,
      setTimer: clock.setTimer,
      clearTimer: clock.clearTimer,
    });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = clock.now();
      q.addRateLimited('k');
      // Bounded: the cap is 100 ms.
      for (let t = 0; t < 1000 && q.len() === 0; t++) clock.advance(1);
      delays.push(clock.now() - before);
      q.done((await q.get())!);
    }
    expect(delays).toEqual([10, 20, 40, 80, 100, 100]);
    expect(q.numRequeues('k')).toBe(6);
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
  });

  it('hands out queued keys after shutDown, then answers undefined, and ignores new keys', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.shutDown();
    q.add('b');
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBeUndefined();
  });

  it('releases waiting workers on shutDown and on their abort signal', async () => {
    const q = new WorkQueue<string>();
    const ac = new AbortController();
    const aborted = q.get(ac.signal);
    const other = q.get();
    ac.abort();
    expect(await aborted).toBeUndefined();
    q.add('x'); // goes to the worker still waiting, not the aborted one
    expect(await other).toBe('x');
    const third = q.get();
    q.shutDown();
    expect(await third).toBeUndefined();
  });

  it('shutDownWithDrain waits until every handed-out key is done', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    const k = await q.get();
    let drained = false;
    const d = q.shutDownWithDrain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done(k!);
    await d;
    expect(drained).toBe(true);
  });

  it('drops delayed keys on shutdown', () => {
    const clock = manualClock();
    const q = new WorkQueue<string>({ now: clock.now, setTimer: clock.setTimer, clearTimer: clock.clearTimer });
    q.addAfter('a', 10);
    q.shutDown();
    clock.advance(100);
    expect(q.len()).toBe(0);
    expect(clock.pending()).toBe(0);
  });
});

describe('runWorkers', () => {
  it("puts one listener on the caller's signal however many workers wait, and removes it at the end", async () => {
    const ac = new AbortController();
    const q = new WorkQueue<string>();
    const a = runWorkers(q, 20, async () => undefined, { signal: ac.signal });
    const b = runWorkers(new WorkQueue<string>(), 20, async () => undefined, { signal: ac.signal });
    await new Promise((r) => setImmediate(r));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(2);
    ac.abort();
    await Promise.all([a, b]);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('runs keys on several workers, never one key on two at once, and runs every key after its last add', async () => {
    const q = new WorkQueue<string>();
    const ac = new AbortController();
    const active = new Set<string>();
    let seq = 0;
    const lastAdd = new Map<string, number>();
    const lastRunStart = new Map<string, number>();
    let overlap = false;
    let maxParallel = 0;
    let runs = 0;
    const sync = async (key: string) => {
      if (active.has(key)) overlap = true;
      active.add(key);
      lastRunStart.set(key, ++seq);
      runs++;
      maxParallel = Math.max(maxParallel, active.size);
      await new Promise((r) => setTimeout(r, 2));
      active.delete(key);
    };
    const workers = runWorkers(q, 4, sync, { signal: ac.signal });
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    // Each key is added many times, also while it is being worked on.
    for (let round = 0; round < 10; round++) {
      for (const k of keys) {
        lastAdd.set(k, ++seq);
        q.add(k);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    const deadline = Date.now() + 10_000;
    while ((q.len() > 0 || q.inFlight > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    q.shutDown();
    await workers;
    expect(overlap).toBe(false);
    expect(maxParallel).toBeGreaterThan(1);
    expect(maxParallel).toBeLessThanOrEqual(4);
    // A worker that syncs after the last add reads the newest state.
    for (const k of keys) expect(lastRunStart.get(k)!).toBeGreaterThan(lastAdd.get(k)!);
    expect(runs).toBeLessThan(200); // coalesced: 200 adds
  });

  it('retries a failing key with back-off and forgets it once it succeeds', async () => {
    const q = new WorkQueue<string>({ rateLimiter: new ExponentialFailureRateLimiter(1, 4) });
    const ac = new AbortController();
    let calls = 0;
    const errors: string[] = [];
    const done = new Promise<void>((resolve) => {
      void runWorkers(
        q,
        1,
        async (key) => {
          calls++;
          if (calls < 4) throw new Error(`boom ${calls}`);
          expect(key).toBe('k');
          resolve();
        },
        { signal: ac.signal, onError: (_k, err) => errors.push((err as Error).message) },
      );
    });
    q.add('k');
    await done;
    expect(errors).toEqual(['boom 1', 'boom 2', 'boom 3']);
    await new Promise((r) => setImmediate(r));
    expect(q.numRequeues('k')).toBe(0);
    ac.abort();
  });

  it('stops when the signal aborts, after the running sync finishes', async () => {
    const q = new WorkQueue<string>();
    const ac = new AbortController();
    let finished = false;
    let release!: () => void;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    q.add('slow');
    const workers = runWorkers(
      q,
      2,
      async () => {
        started();
        await new Promise<void>((r) => (release = r));
        finished = true;
      },
      { signal: ac.signal },
    );
    await running;
    ac.abort();
    let stopped = false;
    void workers.then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false); // waits for the sync in flight
    release();
    await workers;
    expect(finished).toBe(true);
  });
});
