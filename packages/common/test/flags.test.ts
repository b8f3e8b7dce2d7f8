import { cidrFlag, durationFlag, FlagError, formatDuration, intFlag, ipv4Flag, listFlag, parseDuration } from '../src/flags.js';

describe('parseDuration', () => {
  it('reads Go-style durations and plain seconds as milliseconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('2000', 'ms')).toBe(2000);
  });

  it('rejects what is not a duration', () => {
    expect(() => parseDuration('5x')).toThrow(/"5x" is not a duration/);
    expect(() => parseDuration('1m30')).toThrow(/not a duration/);
    expect(() => parseDuration('')).toThrow(/not a duration/);
  });
});

describe('flag values', () => {
  it('names the flag and the allowed range', () => {
    expect(durationFlag('sync-period', '30s', 1, 86_400_000)).toBe(30_000);
    expect(() => durationFlag('sync-period', '2d', 1, 1000)).toThrow('--sync-period: "2d" is not a duration');
    expect(() => durationFlag('ttl', '1h', 5_000, 60_000)).toThrow('--ttl: 1h is outside 5s..1m');
    expect(intFlag('restore-chunk', '250', 1, 1000)).toBe(250);
    expect(() => intFlag('healthz-port', '70000', 0, 65535)).toThrow(FlagError);
    expect(() => intFlag('healthz-port', '1e3', 0, 65535)).toThrow('--healthz-port: "1e3" is not an integer in 0..65535');
    expect(ipv4Flag('public-ip', ' 10.0.0.1 ')).toBe('10.0.0.1');
    expect(() => ipv4Flag('public-ip', 'eth0')).toThrow('--public-ip: "eth0" is not an IPv4 address');
    expect(cidrFlag('cluster-cidr', '10.1.0.0/16')).toBe('10.1.0.0/16');
    expect(() => cidrFlag('cluster-cidr', '10.1.0.1/16')).toThrow(/--cluster-cidr: .*host bits set/);
    expect(listFlag(' a, ,b,')).toEqual(['a', 'b']);
    expect(listFlag(undefined)).toEqual([]);
  });
});

describe('durations written as bare numbers (deprecated)', () => {
  const notices = () => {
    const lines: string[] = [];
    return { lines, warn: (l: string) => void lines.push(l) };
  };

  it('keep their old unit and say what to write instead', () => {
    const n = notices();
    expect(durationFlag('forward-timeout', '2000', 50, 30_000, { bareUnit: 'ms', warn: n.warn })).toBe(2000);
    expect(durationFlag('sync-period', '90', 1, 86_400_000, { warn: n.warn })).toBe(90_000);
    expect(n.lines).toEqual([
      '--forward-timeout: a number without a unit is deprecated: "2000" is read as 2000 milliseconds; write 2s',
      '--sync-period: a number without a unit is deprecated: "90" is read as 90 seconds; write 1m30s',
    ]);
  });

  it('say nothing for a duration with a unit, or for 0', () => {
    const n = notices();
    expect(durationFlag('sync-period', '30s', 0, 86_400_000, { warn: n.warn })).toBe(30_000);
    expect(durationFlag('etcd-compaction-interval', '0', 0, 86_400_000, { warn: n.warn })).toBe(0);
    expect(n.lines).toEqual([]);
  });

  it('are checked against the range in their old unit', () => {
    expect(() => durationFlag('forward-timeout', '20', 50, 30_000, { bareUnit: 'ms' })).toThrow('--forward-timeout: 20 is outside 50ms..30s');
  });
});

describe('formatDuration', () => {
  it('writes what parseDuration reads', () => {
    for (const [ms, text] of [[0, '0s'], [250, '250ms'], [1500, '1500ms'], [2000, '2s'], [90_000, '1m30s'], [3_600_000, '1h'], [604_800_000, '168h']] as const) {
      expect(formatDuration(ms)).toBe(text);
      expect(parseDuration(text)).toBe(ms);
    }
  });
});
