import { Conntrack, matches, parseUdpEntries } from '../src/iptables/conntrack.js';

const LISTING = [
  'udp      17 29 src=10.1.1.4 dst=10.0.0.102 sport=40053 dport=53 src=10.1.1.2 dst=10.1.1.4 sport=8080 dport=40053 mark=0 use=1',
  'udp      17 12 src=192.0.2.1 dst=10.9.0.11 sport=5000 dport=30053 src=10.1.2.2 dst=10.9.0.11 sport=8080 dport=5000 mark=0 use=1',
].join('\n');

describe('conntrack cleanup', () => {
  it('builds UDP-only deletions', () => {
    expect(Conntrack.argv({ origDst: '10.0.0.102', dstNat: '10.1.1.2' })).toEqual(['conntrack', '-D', '-p', 'udp', '--orig-dst', '10.0.0.102', '--dst-nat', '10.1.1.2']);
    expect(Conntrack.argv({ dport: 30053 })).toEqual(['conntrack', '-D', '-p', 'udp', '--dport', '30053']);
  });

  it('reads flows from a listing and matches filters against them', () => {
    const entries = parseUdpEntries(LISTING);
    expect(entries).toEqual([
      { origDst: '10.0.0.102', origDport: 53, replySrc: '10.1.1.2' },
      { origDst: '10.9.0.11', origDport: 30053, replySrc: '10.1.2.2' },
    ]);
    expect(matches({ origDst: '10.0.0.102', dstNat: '10.1.1.2' }, entries[0]!)).toBe(true);
    expect(matches({ origDst: '10.0.0.102', dstNat: '10.1.2.2' }, entries[0]!)).toBe(false);
    expect(matches({ dport: 30053, dstNat: '10.1.2.2' }, entries[1]!)).toBe(true);
  });

  it('with many filters, runs only the deletions that match a listed flow', async () => {
    const calls: string[][] = [];
    const ct = new Conntrack(async (argv) => {
      calls.push([...argv]);
      if (argv[1] === '-L') return { stdout: LISTING, stderr: '', exitCode: 0 };
      return { stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been deleted.\n', exitCode: 0 };
    });
    const filters = Array.from({ length: 40 }, (_, i) => ({ origDst: `10.0.1.${i}` }));
    filters.push({ origDst: '10.0.0.102' });
    expect(await ct.clear(filters)).toBe(1);
    expect(calls).toEqual([
      ['conntrack', '-L', '-p', 'udp'],
      ['conntrack', '-D', '-p', 'udp', '--orig-dst', '10.0.0.102'],
    ]);
  });
});
