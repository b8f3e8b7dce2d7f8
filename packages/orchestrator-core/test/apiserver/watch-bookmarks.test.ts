import { BOOKMARK_INTERVAL_MS, nextBookmarkAt } from '../../src/apiserver/http/watch-stream.js';

describe('watch bookmark schedule', () => {
  it('is one interval away (a minute by default, as kube-apiserver)', () => {
    expect(BOOKMARK_INTERVAL_MS).toBe(60_000);
    expect(nextBookmarkAt(0, 60_000, 3_600_000)).toBe(60_000);
  });

  it('comes 2 s before the deadline when that is sooner, and not at all once that has passed', () => {
    expect(nextBookmarkAt(0, 60_000, 30_000)).toBe(28_000);
    expect(nextBookmarkAt(28_000, 60_000, 30_000)).toBeUndefined();
    expect(nextBookmarkAt(0, 60_000, 1_000)).toBeUndefined();
  });
});
