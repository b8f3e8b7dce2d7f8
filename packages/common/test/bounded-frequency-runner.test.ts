import { jest } from '@jest/globals';
import { BoundedFrequencyRunner, type BoundedFrequencyRunnerOptions } from '../src/bounded-frequency-runner.js';

type Opts = Omit<BoundedFrequencyRunnerOptions, 'signal' | 'onError'> & { onError?: (err: unknown) => void };

/** A runner on jest's fake clock (timers and performance.now); records when each run started, in ms since the test began. */
function startRunner(opts: Opts, work?: (signal: AbortSignal) => Promise<void>) {
  const ac = new AbortController();
  const t0 = performance.now();
  const starts: number[] = [];
  const errors: unknown[] = [];
  const runner = new BoundedFrequencyRunner(
    async (signal) => {
      starts.push(performance.now() - t0);
      await work?.(signal);
    },
    { ...opts, signal: ac.signal, onError: opts.onError ?? ((e) => errors.push(e)) },
  );
  const done = runner.loop();
  const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);
  const stop = async () => {
    ac.abort();
    // A run in progress may be waiting on the fake clock.
    await advance(60_000);
    await done;
  };
  return { runner, starts, errors, advance, stop, ac, done };
}

/** A run that lasts until the test releases it. */
function gate() {
  let release!: () => void;
  let entered = 0;
  const work = async () => {
    entered++;
    await new Promise<void>((r) => (release = r));
  };
  return { work, release: () => release(), entered: () => entered };
}

beforeEach(() => jest.useFakeTimers({ now: 0 }));
afterEach(() => jest.useRealTimers());

describe('bounded-frequency runner', () => {
  it('runs at once when the loop starts, then only on request', async () => {
    const r = startRunner({ minIntervalMs: 0, maxIntervalMs: Infinity });
    await r.advance(86_400_000);
    expect(r.starts).toEqual([0]);
    await r.stop();
  });

  it('with runAtStart false, waits for a request', async () => {
    const r = startRunner({ minIntervalMs: 0, maxIntervalMs: Infinity, runAtStart: false });
    await r.advance(1_000);
    expect(r.starts).toEqual([]);
    r.runner.run();
    await r.advance(0);
    expect(r.starts).toEqual([1_000]);
    await r.stop();
  });

  it('coalesces requests made before a run into one run', async () => {
    const r = startRunner({ minIntervalMs: 0, maxIntervalMs: Infinity, runAtStart: false });
    for (let i = 0; i < 10; i++) r.runner.run();
    r.runner.runSoon(50);
    await r.advance(1_000);
    expect(r.starts).toEqual([0]);
    expect(r.runner.runs).toBe(1);
    await r.stop();
  });

  it('coalesces requests made during a run into exactly one more run', async () => {
    const g = gate();
    const r = startRunner({ minIntervalMs: 0, maxIntervalMs: Infinity }, g.work);
    await r.advance(0);
    expect(g.entered()).toBe(1);
    for (let i = 0; i < 10; i++) r.runner.run();
    await r.advance(100);
    expect(g.entered()).toBe(1);
    g.release();
    await r.advance(0);
    expect(g.entered()).toBe(2);
    g.release();
    await r.advance(1_000);
    expect(r.runner.runs).toBe(2);
    await r.stop();
  });

  it('keeps starts at least the minimum interval apart', async () => {
    const r = startRunner({ minIntervalMs: 1_000, maxIntervalMs: 3_600_000 });
    await r.advance(400);
    r.runner.run();
    await r.advance(599);
    expect(r.starts).toEqual([0]);
    await r.advance(1);
    expect(r.starts).toEqual([0, 1_000]);
    await r.stop();
  });

  it('allows a burst of runs, then one per minimum interval, and refills while idle', async () => {
    const r = startRunner({ minIntervalMs: 1_000, maxIntervalMs: Infinity, burstRuns: 3 });
    await r.advance(0);
    for (let i = 0; i < 5; i++) {
      r.runner.run();
      await r.advance(0);
    }
    await r.advance(2_500);
    // Three back to back (the first at start); the requests the limit held back coalesce into one run a second later.
    expect(r.starts).toEqual([0, 0, 0, 1_000]);
    // Idle for long enough to refill the bucket: a new burst of three.
    await r.advance(10_000);
    for (let i = 0; i < 4; i++) {
      r.runner.run();
      await r.advance(0);
    }
    await r.advance(2_000);
    expect(r.starts.slice(4)).toEqual([12_500, 12_500, 12_500, 13_500]);
    await r.stop();
  });

  it('runs the maximum interval after the previous run ended when nobody asks', async () => {
    const r = startRunner({ minIntervalMs: 0, maxIntervalMs: 1_000, runAtStart: false }, async () => {
      await new Promise((res) => setTimeout(res, 200));
    });
    await r.advance(3_500);
    expect(r.starts).toEqual([1_000, 2_200, 3_400]);
    await r.stop();
  });

  it('runs soon: at the deadline, not before, and later calls never postpone it', async () => {
    const r = startRunner({ minIntervalMs: 0, maxIntervalMs: Infinity, runAtStart: false });
    for (let t = 0; t < 600; t += 10) {
      r.runner.runSoon(150);
      await r.advance(10);
    }
    // A steady stream still runs every 150 ms: the window opens with the first request and is not extended.
    expect(r.starts).toEqual([150, 300, 450, 600]);
    r.runner.runSoon(500);
    r.runner.runSoon(100);
    await r.advance(99);
    expect(r.starts).toHaveLength(4);
    await r.advance(1);
    expect(r.starts[4]).toBe(700);
    await r.stop();
  });

  it('runs at once when run() follows a pending runSoon()', async () => {
    const r = startRunner({ minIntervalMs: 0, maxIntervalMs: Infinity, runAtStart: false });
    r.runner.runSoon(1_000);
    await r.advance(10);
    r.runner.run();
    await r.advance(0);
    expect(r.starts).toEqual([10]);
    await r.advance(2_000);
    expect(r.starts).toEqual([10]);
    await r.stop();
  });

  it('holds runSoon() to the minimum interval', async () => {
    const r = startRunner({ minIntervalMs: 1_000, maxIntervalMs: Infinity });
    await r.advance(0);
    r.runner.runSoon(10);
    await r.advance(500);
    expect(r.starts).toEqual([0]);
    await r.advance(500);
    expect(r.starts).toEqual([0, 1_000]);
    await r.stop();
  });

  it('reports errors and keeps going; onError may ask for a retry', async () => {
    let runner!: BoundedFrequencyRunner;
    const errors: unknown[] = [];
    const r = startRunner(
      {
        minIntervalMs: 0,
        maxIntervalMs: Infinity,
        onError: (e) => {
          errors.push(e);
          if (errors.length < 3) runner.runSoon(100);
        },
      },
      async () => {
        throw new Error('restore failed');
      },
    );
    runner = r.runner;
    await r.advance(1_000);
    expect(r.starts).toEqual([0, 100, 200]);
    expect(errors.map((e) => (e as Error).message)).toEqual(['restore failed', 'restore failed', 'restore failed']);
    await r.stop();
  });

  it('on abort: waits for the run in progress, passes it the signal, reports nothing after, ignores requests', async () => {
    let seen: AbortSignal | undefined;
    let release!: () => void;
    const r = startRunner({ minIntervalMs: 0, maxIntervalMs: 1_000 }, async (signal) => {
      seen = signal;
      await new Promise<void>((res) => (release = res));
      throw new Error('cut short');
    });
    await r.advance(0);
    let ended = false;
    void r.done.then(() => (ended = true));
    r.ac.abort();
    await r.advance(0);
    expect(seen?.aborted).toBe(true);
    expect(ended).toBe(false);
    release();
    await r.advance(0);
    expect(ended).toBe(true);
    r.runner.run();
    r.runner.runSoon(0);
    await r.advance(5_000);
    expect(r.starts).toEqual([0]);
    expect(r.errors).toEqual([]);
  });

  it('ends at once when aborted while waiting', async () => {
    const r = startRunner({ minIntervalMs: 0, maxIntervalMs: Infinity });
    await r.advance(0);
    r.ac.abort();
    await r.advance(0);
    await expect(r.done).resolves.toBeUndefined();
    await expect(r.runner.loop()).rejects.toThrow('loop() called twice');
  });

  it('rejects limits that contradict each other', () => {
    const signal = new AbortController().signal;
    const make = (o: Partial<BoundedFrequencyRunnerOptions>) => () =>
      new BoundedFrequencyRunner(async () => {}, { minIntervalMs: 10, maxIntervalMs: 100, signal, onError: () => {}, ...o });
    expect(make({ maxIntervalMs: 5 })).toThrow('maxIntervalMs 5 must be >= minIntervalMs 10');
    expect(make({ minIntervalMs: -1 })).toThrow('minIntervalMs -1 must be a finite number >= 0');
    expect(make({ burstRuns: 0 })).toThrow('burstRuns 0 must be an integer >= 1');
    expect(make({})).not.toThrow();
  });
});
