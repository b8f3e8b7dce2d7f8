import { Debouncer, type Timers } from '../src/debounce.js';

/** A clock that only moves when the test says so. */
class FakeClock implements Timers {
  now = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
  }
}

describe('debouncer', () => {
  const setup = () => {
    const clock = new FakeClock();
    const calls: number[] = [];
    const d = new Debouncer(150, () => calls.push(clock.now), clock);
    return { clock, calls, d };
  };

  it('calls once, the delay after the first trigger', () => {
    const { clock, calls, d } = setup();
    d.trigger();
    clock.advance(149);
    expect(calls).toEqual([]);
    clock.advance(1);
    expect(calls).toEqual([150]);
    clock.advance(1_000);
    expect(calls).toEqual([150]);
  });

  it('coalesces a burst into one call', () => {
    const { clock, calls, d } = setup();
    for (let i = 0; i < 50; i++) {
      d.trigger();
      clock.advance(2);
    }
    clock.advance(1_000);
    expect(calls).toEqual([150]);
  });

  it('is not postponed forever by a steady stream of triggers', () => {
    const { clock, calls, d } = setup();
    for (let t = 0; t < 600; t += 10) {
      d.trigger();
      clock.advance(10);
    }
    expect(calls).toEqual([150, 300, 450, 600]);
  });

  it('arms again for a trigger after the call', () => {
    const { clock, calls, d } = setup();
    d.trigger();
    clock.advance(200);
    expect(d.pending).toBe(false);
    d.trigger();
    expect(d.pending).toBe(true);
    clock.advance(150);
    expect(calls).toEqual([150, 350]);
  });

  it('makes no call once cancelled', () => {
    const { clock, calls, d } = setup();
    d.trigger();
    d.cancel();
    clock.advance(1_000);
    expect(calls).toEqual([]);
    expect(d.pending).toBe(false);
  });
});
