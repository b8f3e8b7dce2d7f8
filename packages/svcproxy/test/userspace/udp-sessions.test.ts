import { SessionTable } from '../../src/userspace/udp-sessions.js';

describe('SessionTable', () => {
  it('keeps a session alive while datagrams flow and expires it after the idle timeout', () => {
    let now = 0;
    const t = new SessionTable<string>(250, () => now);
    const k = SessionTable.key('10.1.1.5', 40000);
    expect(k).toBe('10.1.1.5:40000');
    t.add(k, 'sock');
    for (let i = 0; i < 10; i++) {
      now += 200;
      expect(i % 2 ? t.get(k) : t.touch(k) && 'sock').toBe('sock');
    }
    expect(t.expire()).toEqual([]);
    now += 250;
    expect(t.get(k)).toBeUndefined();
    expect(t.expire()).toEqual([{ key: k, value: 'sock' }]);
    expect(t.size).toBe(0);
  });

  it('does not let a replaced session remove its successor', () => {
    const t = new SessionTable<object>(100, () => 0);
    const a = {};
    const b = {};
    t.add('k', a);
    expect(t.add('k', b)).toBe(a);
    expect(t.deleteIf('k', a)).toBe(false);
    expect(t.get('k')).toBe(b);
  });

  it('rejects a non-positive idle timeout with the value in the message', () => {
    expect(() => new SessionTable(0)).toThrow('UDP idle timeout must be positive, got 0 ms');
  });
});
