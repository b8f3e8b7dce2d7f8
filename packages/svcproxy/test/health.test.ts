import { syncHealth } from '../src/health.js';

describe('sync health', () => {
  const base = { started: 0, staleAfterMs: 70_000 };
  it('is healthy while starting and while syncs succeed', () => {
    expect(syncHealth({ ...base, now: 5_000, lastSuccess: undefined }).ok).toBe(true);
    expect(syncHealth({ ...base, now: 500_000, lastSuccess: 480_000 }).ok).toBe(true);
  });

  it('goes stale when syncs stop', () => {
    const h = syncHealth({ ...base, now: 500_000, lastSuccess: 400_000 });
    expect(h).toEqual({ ok: false, message: 'last successful sync 100s ago' });
    expect(syncHealth({ ...base, now: 100_000, lastSuccess: undefined })).toEqual({ ok: false, message: 'no successful sync in 100s' });
  });
});
