import { goDuration, KeyedBackoff } from '../../src/kubelet/back-off.js';

describe('container restart back-off (flowcontrol.Backoff)', () => {
  let now = 0;
  const b = () => new KeyedBackoff({ initialMs: 10_000, maxMs: 300_000, now: () => now });

  it('restarts at once after the first failure, then waits 10 s, 20 s, 40 s … capped at 300 s', () => {
    now = 1_000_000;
    const bo = b();
    expect(bo.isInBackOffSince('c', now)).toBe(false);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      bo.next('c', now);
      delays.push(bo.get('c'));
      // The container dies again right after its restart.
      expect(bo.isInBackOffSince('c', now)).toBe(true);
      expect(bo.remainingSince('c', now)).toBe(bo.get('c'));
      now += bo.get('c');
      expect(bo.isInBackOffSince('c', now - 1)).toBe(true);
      expect(bo.isInBackOffSince('c', now - bo.get('c'))).toBe(false);
    }
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('starts over after running for twice the maximum (10 minutes with 300 s)', () => {
    now = 0;
    const bo = b();
    bo.next('c', 0);
    bo.next('c', 0);
    expect(bo.get('c')).toBe(20_000);
    now = 600_001;
    expect(bo.isInBackOffSince('c', now)).toBe(false);
    bo.next('c', now);
    expect(bo.get('c')).toBe(10_000);
  });

  it('keeps keys apart and forgets stale ones', () => {
    now = 0;
    const bo = b();
    bo.next('a', 0);
    expect(bo.get('b')).toBe(0);
    expect(bo.isInBackOffSinceUpdate('a')).toBe(true);
    now = 10_000;
    expect(bo.isInBackOffSinceUpdate('a')).toBe(false);
    now = 700_000;
    bo.gc();
    expect(bo.get('a')).toBe(0);
  });

  it('prints delays as Go durations', () => {
    expect([10_000, 80_000, 300_000, 3_600_000].map(goDuration)).toEqual(['10s', '1m20s', '5m0s', '1h0m0s']);
  });
});
