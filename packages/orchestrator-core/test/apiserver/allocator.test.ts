import { Cidr } from '@pilot/common';
import { chooseIp, IpAllocator, LOW_BAND, parsePortRange, PortAllocator } from '../../src/apiserver/allocator.js';

describe('ClusterIP choice', () => {
  const range = Cidr.parse('10.0.0.0/24');

  it('never hands out the network or broadcast address and avoids the low band while the rest is free', () => {
    for (let i = 0; i < 200; i++) {
      const ip = chooseIp(range, new Set(), Math.random)!;
      const last = Number(ip.split('.')[3]);
      expect(last).toBeGreaterThanOrEqual(LOW_BAND);
      expect(last).toBeLessThanOrEqual(254);
    }
  });

  it('falls back to the low band (never .0) once everything above it is taken', () => {
    const taken = new Set<string>();
    for (let i = LOW_BAND; i <= 254; i++) taken.add(`10.0.0.${i}`);
    taken.add('10.0.0.1');
    const ip = chooseIp(range, taken, () => 0)!;
    expect(ip).toBe('10.0.0.2');
    for (let i = 2; i < LOW_BAND; i++) taken.add(`10.0.0.${i}`);
    expect(chooseIp(range, taken)).toBeUndefined();
  });

  it('explains why a requested IP cannot be used', () => {
    const a = new IpAllocator(range, '/registry/ranges/serviceips/');
    expect(a.problem('10.0.0.10')).toBeUndefined();
    expect(a.problem('10.0.1.10')).toContain('not in the valid range');
    expect(a.problem('10.0.0.255')).toContain('broadcast');
    expect(a.problem('nope')).toContain('valid IPv4');
    expect(a.ipOfKey(a.keyFor('10.0.0.7'))).toBe('10.0.0.7');
  });
});

describe('NodePort choice', () => {
  it('picks distinct free ports inside the range', () => {
    const p = new PortAllocator(parsePortRange('30000-30004'), '/registry/ranges/servicenodeports/');
    const got = p.choose(new Set([30001, 30003]), 3, () => 0);
    expect(got).toEqual([30000, 30002, 30004]);
    expect(p.choose(new Set([30000, 30001, 30002, 30003, 30004]), 1)).toEqual([]);
    expect(p.problem(29999)).toContain('30000-30004');
    expect(p.problem(30004)).toBeUndefined();
  });

  it('rejects malformed ranges', () => {
    expect(() => parsePortRange('32767-30000')).toThrow('invalid port range');
    expect(() => parsePortRange('abc')).toThrow('invalid port range');
  });
});
