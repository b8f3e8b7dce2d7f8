import { SyncRunner } from '../src/sync-runner.js';
import { waitFor } from '@pilot/common';

describe('bounded-frequency sync runner', () => {
  it('coalesces requests made during a run into one more run', async () => {
    const ac = new AbortController();
    let release!: () => void;
    let calls = 0;
    const runner = new SyncRunner(
      async () => {
        calls++;
        if (calls === 1) await new Promise<void>((r) => (release = r));
      },
      { minIntervalMs: 1, maxIntervalMs: 3_600_000, signal: ac.signal },
    );
    const loop = runner.loop();
    await waitFor(() => calls === 1, { what: 'first run' });
    for (let i = 0; i < 10; i++) runner.run();
    release();
    await waitFor(() => runner.runs === 2, { what: 'second run' });
    ac.abort();
    await loop;
    expect(calls).toBe(2);
  });

  it('runs periodically without requests and stops on abort', async () => {
    const ac = new AbortController();
    const runner = new SyncRunner(async () => {}, { minIntervalMs: 1, maxIntervalMs: 5, signal: ac.signal });
    const loop = runner.loop();
    await waitFor(() => runner.runs >= 3, { what: 'three periodic runs' });
    ac.abort();
    await loop;
  });

  it('reports errors and keeps going', async () => {
    const ac = new AbortController();
    const errors: unknown[] = [];
    const runner = new SyncRunner(
      async () => {
        throw new Error('restore failed');
      },
      { minIntervalMs: 1, maxIntervalMs: 3_600_000, signal: ac.signal, onError: (e) => errors.push(e) },
    );
    const loop = runner.loop();
    await waitFor(() => runner.runs === 1, { what: 'first run' });
    runner.retryAfter(1);
    await waitFor(() => errors.length === 2, { what: 'retried run' });
    ac.abort();
    await loop;
  });

  it('keeps runs at least minInterval apart', async () => {
    const ac = new AbortController();
    let t = 0;
    const starts: number[] = [];
    const runner = new SyncRunner(async () => void starts.push(t), { minIntervalMs: 1000, maxIntervalMs: 3_600_000, signal: ac.signal, now: () => t });
    const loop = runner.loop();
    await waitFor(() => runner.runs === 1, { what: 'first run' });
    t = 400;
    runner.run();
    // The runner's clock has not reached lastStart+min: no run yet; advancing it releases the run.
    t = 1000;
    runner.run();
    await waitFor(() => runner.runs === 2, { what: 'second run' });
    ac.abort();
    await loop;
    expect(starts).toEqual([0, 1000]);
  });
});
