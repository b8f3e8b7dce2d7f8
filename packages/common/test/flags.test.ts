import { Command } from 'commander';
import { FatalError } from '../src/fatal.js';
import { cidrFlag, durationFlag, FlagError, intFlag, ipv4Flag, listFlag, parseCommandLine, parseDuration } from '../src/flags.js';

describe('parseDuration', () => {
  it('reads Go-style durations and plain seconds as milliseconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('0')).toBe(0);
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
    expect(() => durationFlag('ttl', '1h', 5_000, 60_000)).toThrow('--ttl: 1h is outside 5s..60s');
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

describe('parseCommandLine', () => {
  const program = () => new Command('demo').option('--port <n>', 'a port', '80').option('--verbose', 'talk');

  it('resolves parsed flags into options', () => {
    const p = program();
    const opts = parseCommandLine(p, ['--port', '8080'], () => ({ port: intFlag('port', p.opts<{ port: string }>().port, 1, 65535) }));
    expect(opts).toEqual({ port: 8080 });
  });

  it('turns usage errors, stray arguments and bad values into one-line fatal errors with exit code 2', () => {
    const fatal = (argv: string[]) => {
      const p = program();
      try {
        parseCommandLine(p, argv, () => intFlag('port', p.opts<{ port: string }>().port, 1, 65535));
      } catch (err) {
        return err as FatalError;
      }
      throw new Error('expected a failure');
    };
    expect(fatal(['--nope']).message).toBe("unknown option '--nope'");
    expect(fatal(['extra']).message).toBe('too many arguments. Expected 0 arguments but got 1.');
    const bad = fatal(['--port', '0']);
    expect(bad).toBeInstanceOf(FatalError);
    expect(bad.exitCode).toBe(2);
    expect(bad.message).toBe('--port: "0" is not an integer in 1..65535');
  });

  it('reports help as "nothing to run"', () => {
    const p = program();
    const out: string[] = [];
    p.configureOutput({ writeOut: (s) => out.push(s) });
    expect(parseCommandLine(p, ['--help'], () => 1)).toBe(false);
  });
});
