import { SourceConnectionLimit } from '../../src/userspace/source-limit.js';

describe('SourceConnectionLimit', () => {
  it('lets each source hold up to max connections, and frees a slot on release', () => {
    const l = new SourceConnectionLimit(2);
    expect([l.tryAcquire('10.1.0.5'), l.tryAcquire('10.1.0.5'), l.tryAcquire('10.1.0.5')]).toEqual([true, true, false]);
    expect(l.tryAcquire('10.1.0.6')).toBe(true); // another source has its own budget
    l.release('10.1.0.5');
    expect(l.count('10.1.0.5')).toBe(1);
    expect(l.tryAcquire('10.1.0.5')).toBe(true);
    expect(l.tryAcquire('10.1.0.5')).toBe(false);
  });

  it('forgets a source that holds nothing, and ignores releases it never gave', () => {
    const l = new SourceConnectionLimit(1);
    l.tryAcquire('a');
    l.release('a');
    l.release('a');
    l.release('never');
    expect(l.sources).toBe(0);
    expect(l.tryAcquire('a')).toBe(true);
  });

  it('is off at 0, and refuses a limit that is not a whole number', () => {
    const off = new SourceConnectionLimit(0);
    expect(off.enabled).toBe(false);
    for (let i = 0; i < 10; i++) expect(off.tryAcquire('a')).toBe(true);
    expect(off.sources).toBe(0);
    expect(() => new SourceConnectionLimit(-1)).toThrow(/whole number/);
    expect(() => new SourceConnectionLimit(1.5)).toThrow(/whole number/);
  });
});
