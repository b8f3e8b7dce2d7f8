import { captureLog } from './capture-log.js';
import { DescriptorWatch, isExhausted, parseNofileLimit, probeOwnDescriptors, type DescriptorUsage } from '../../src/userspace/descriptors.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('parseNofileLimit', () => {
  it('reads the soft limit of "Max open files"', () => {
    expect(parseNofileLimit(LIMITS)).toBe(1024);
    expect(parseNofileLimit(LIMITS.replace('1024 ', 'unlimited'))).toBe(Infinity);
  });
  it('says what it could not read', () => {
    expect(() => parseNofileLimit('Max cpu time unlimited unlimited seconds\n')).toThrow(/Max open files/);
    expect(() => parseNofileLimit('Max open files            many   1 files\n')).toThrow(/"Max open files {12}many/);
  });
});

describe('isExhausted', () => {
  it('needs two free descriptors for a proxied connection', () => {
    expect(isExhausted({ open: 98, limit: 100 })).toBe(false);
    expect(isExhausted({ open: 99, limit: 100 })).toBe(true);
    expect(isExhausted({ open: 100, limit: 100 })).toBe(true);
    expect(isExhausted('exhausted')).toBe(true);
  });
});

describe('probeOwnDescriptors', () => {
  it('reads this process from /proc', async () => {
    const u = await probeOwnDescriptors();
    expect(u).not.toBe('exhausted');
    const { open, limit } = u as { open: number; limit: number };
    expect(open).toBeGreaterThanOrEqual(3); // stdin, stdout, stderr at least
    expect(open).toBeLessThan(limit);
  });
});

describe('DescriptorWatch', () => {
  function setup(seq: (DescriptorUsage | Error)[]) {
    const { log, lines } = captureLog();
    let i = 0;
    const probe = async () => {
      const next = seq[i++]!;
      if (next instanceof Error) throw next;
      return next;
    };
    const watch = new DescriptorWatch({ log, intervalMs: 0, probe });
    return { watch, lines };
  }

  it('logs once when descriptors run out and once when they are back', async () => {
    const { watch, lines } = setup([
      { open: 10, limit: 100 },
      'exhausted',
      { open: 100, limit: 100 },
      new Error('proc unreadable'), // a failed look changes nothing
      { open: 50, limit: 100 },
      { open: 40, limit: 100 },
    ]);
    const states = [];
    for (let k = 0; k < 6; k++) states.push(await watch.check());
    expect(states).toEqual([false, true, true, true, false, false]);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, expect.stringMatching(/^out of file descriptors \(EMFILE\): new connections are refused/)],
      [30, 'file descriptors available again: accepting new connections'],
    ]);
    expect(lines[0]).toMatchObject({ component: 't', code: 'EMFILE' });
    expect(lines[1]).toMatchObject({ open: 50, limit: 100 });
  });
});
