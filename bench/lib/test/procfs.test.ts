import { descendantsOf, parsePssKiB, parseStat } from '../procfs.js';

describe('bench/lib/procfs', () => {
  it('reads Pss from smaps_rollup, not Rss', () => {
    const text = '55d0c0000000-7ffc00000000 ---p 00000000 00:00 0   [rollup]\nRss:               51200 kB\nPss:               20480 kB\nPss_Anon:          10000 kB\n';
    expect(parsePssKiB(text)).toBe(20480);
    expect(() => parsePssKiB('Rss: 1 kB\n')).toThrow(/no Pss line/);
  });

  it('reads ppid and utime+stime from /proc/<pid>/stat, a comm with spaces and ) included', () => {
    const stat = '4242 (node (pilot) x) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 11 0 123 456 789';
    expect(parseStat(stat)).toEqual({ ppid: 17, cpuMs: 2800 });
  });

  it('walks the process tree from the roots, roots included, others left out', () => {
    const ppid = new Map([[1, 0], [10, 1], [11, 10], [12, 11], [20, 1], [21, 20]]);
    expect([...descendantsOf([10], ppid)].sort((a, b) => a - b)).toEqual([10, 11, 12]);
  });
});
