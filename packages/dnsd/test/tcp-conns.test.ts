import { deadlineOf, pickVictim, type TcpConnState } from '../src/tcp-conns.js';

const t = { readMs: 2_000, idleMs: 10_000 };
const c = (idleSince: number, messageSince?: number, served = true): TcpConnState => ({ idleSince, messageSince, served });

describe('dnsd TCP deadlines', () => {
  it('a message has its read deadline from its first byte; between messages the idle timeout applies', () => {
    expect(deadlineOf(c(0, 5_000), t)).toBe(7_000);
    expect(deadlineOf(c(3_000), t)).toBe(13_000);
  });
  it('at the cap closes an overdue partial message first, else the oldest idle, else the slowest', () => {
    const overdue = c(0, 1_000);
    const idle = c(500);
    const slow = c(0, 2_500);
    expect(pickVictim([idle, slow, overdue], 3_500, t)).toEqual({ conn: overdue, reason: 'read-timeout' });
    expect(pickVictim([slow, idle, c(900)], 3_500, t)).toEqual({ conn: idle, reason: 'evicted-idle' });
    expect(pickVictim([c(0, 3_000), slow], 3_500, t)).toEqual({ conn: slow, reason: 'evicted-slow' });
    expect(pickVictim([], 0, t)).toBeUndefined();
  });
  it('a connection that has not sent a whole message yet is reading one since it was accepted: last to go when fresh, overdue when silent', () => {
    const fresh = c(3_400, undefined, false);
    const slow = c(0, 2_500);
    // Only slow senders and a client that just connected: a slow sender goes, never the newcomer.
    expect(pickVictim([fresh, slow], 3_500, t)).toEqual({ conn: slow, reason: 'evicted-slow' });
    expect(pickVictim([fresh], 3_500, t)).toEqual({ conn: fresh, reason: 'evicted-slow' });
    // Connected and silent for the read timeout: overdue, before any idle connection.
    const silent = c(1_000, undefined, false);
    expect(pickVictim([c(500), slow, silent], 3_500, t)).toEqual({ conn: silent, reason: 'read-timeout' });
    // A served connection between messages is idle as before.
    expect(pickVictim([fresh, c(900), slow], 3_500, t)).toEqual({ conn: c(900), reason: 'evicted-idle' });
  });
});
