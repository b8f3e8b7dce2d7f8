import { LeaseManager, leasePolicy, reusable } from '../../src/apiserver/storage/lease-manager.js';

/** A fake clock and a fake etcd grant that counts what it was asked for. */
function harness(ttlMs: number, maxObjects?: number) {
  let now = 1_000_000;
  const grants: number[] = [];
  const m = new LeaseManager(leasePolicy(ttlMs, maxObjects), {
    now: () => now,
    grant: async (seconds) => {
      grants.push(seconds);
      return String(grants.length);
    },
  });
  return { m, grants, advance: (ms: number) => (now += ms) };
}

describe('event lease reuse', () => {
  it('reuses a window of a tenth of the TTL, at most a minute, and grants TTL + window in whole seconds', () => {
    expect(leasePolicy(3_600_000)).toMatchObject({ ttlMs: 3_600_000, windowMs: 60_000, grantSeconds: 3_660 });
    expect(leasePolicy(300_000)).toMatchObject({ windowMs: 30_000, grantSeconds: 330 });
    expect(leasePolicy(3_000)).toMatchObject({ windowMs: 300, grantSeconds: 4 });
    expect(() => leasePolicy(0)).toThrow(/positive/);
  });

  it('attaches every write within the window to one lease, then grants a new one', async () => {
    const { m, grants, advance } = harness(3_600_000);
    expect(await m.lease()).toBe('1');
    advance(30_000);
    expect(await m.lease()).toBe('1');
    advance(30_000);
    // Exactly at the window's end the key still lives a full TTL on the old lease.
    expect(await m.lease()).toBe('1');
    advance(1);
    expect(await m.lease()).toBe('2');
    expect(grants).toEqual([3_660, 3_660]);
  });

  it('never hands out a lease on which a key would live shorter than the TTL', () => {
    const p = leasePolicy(10_000);
    const held = { id: '1', grantedAt: 0, expiresAt: p.grantSeconds * 1000, objects: 0 };
    for (let now = 0; now <= 20_000; now += 100) {
      if (reusable(p, held, now)) expect(held.expiresAt - now).toBeGreaterThanOrEqual(p.ttlMs);
    }
    // A clock that went back past the grant does not reuse either.
    expect(reusable(p, held, -1)).toBe(false);
  });

  it('concurrent writes share one grant instead of each granting their own', async () => {
    const { m, grants } = harness(60_000);
    const ids = await Promise.all(Array.from({ length: 32 }, () => m.lease()));
    expect(new Set(ids)).toEqual(new Set(['1']));
    expect(grants).toHaveLength(1);
  });

  it('grants a fresh lease once one holds its maximum of objects', async () => {
    const { m, grants } = harness(60_000, 3);
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push(await m.lease());
    expect(ids).toEqual(['1', '1', '1', '2', '2', '2', '3']);
    expect(grants).toHaveLength(3);
  });

  it('forgets a lease etcd no longer knows, and only that one', async () => {
    const { m } = harness(60_000);
    expect(await m.lease()).toBe('1');
    m.lost('other');
    expect(await m.lease()).toBe('1');
    m.lost('1');
    expect(await m.lease()).toBe('2');
  });

  it('a failed grant fails that write only; the next write grants again', async () => {
    let fail = true;
    let n = 0;
    const m = new LeaseManager(leasePolicy(60_000), {
      now: () => 0,
      grant: async () => {
        if (fail) throw new Error('etcd down');
        return String(++n);
      },
    });
    await expect(m.lease()).rejects.toThrow('etcd down');
    fail = false;
    expect(await m.lease()).toBe('1');
  });
});
