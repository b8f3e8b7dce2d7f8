import { buildInfo } from '../src/build-info.js';
import { Command, goFlagArgv, parseCommandLine, type CommandIO } from '../src/command-line.js';
import { FatalError, main, UsageError } from '../src/fatal.js';
import { durationFlag, intFlag } from '../src/flags.js';

function capture(): CommandIO & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

const program = () => new Command('demo').description('a demo daemon').option('--port <n>', 'a port', '80').option('--interval <duration>', 'how often', '30s');
const resolve = (p: Command) => (warn: (m: string) => void) => ({
  port: intFlag('port', p.opts<{ port: string }>().port, 1, 65535),
  intervalMs: durationFlag('interval', p.opts<{ interval: string }>().interval, 1, 3_600_000, { warn }),
});

function usageError(argv: string[]): UsageError {
  const p = program();
  try {
    parseCommandLine(p, argv, resolve(p), capture());
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('parseCommandLine', () => {
  it('resolves parsed flags into options', () => {
    const p = program();
    expect(parseCommandLine(p, ['--port', '8080', '--interval', '5s'], resolve(p), capture())).toEqual({ port: 8080, intervalMs: 5000 });
  });

  it('turns every usage error into one line "--flag: what is wrong" under the program name, exit code 2', () => {
    const cases: [string[], string][] = [
      [['--nope'], '--nope: unknown flag (see demo --help)'],
      [['--nope=3'], '--nope: unknown flag (see demo --help)'],
      [['--prot', '1'], '--prot: unknown flag (did you mean --port? see demo --help)'],
      [['--port'], '--port: needs a value'],
      [['extra'], 'unexpected argument "extra" (flags are written --name value; see demo --help)'],
      [['--port', '0'], '--port: "0" is not an integer in 1..65535'],
      [['--interval', 'often'], '--interval: "often" is not a duration (want e.g. 500ms, 30s, 15m, 24h)'],
    ];
    for (const [argv, message] of cases) {
      const err = usageError(argv);
      expect(err).toBeInstanceOf(FatalError);
      expect([err.program, err.message, err.exitCode]).toEqual(['demo', message, 2]);
    }
  });

  it('prints the usage error as "<program>: <message>" and exits 2 (through main)', async () => {
    const lines: string[] = [];
    const codes: number[] = [];
    // main's name is the bin's; the line carries the command's own (pilot apiserver).
    await main('pilot', async () => void parseCommandLine(new Command('pilot apiserver'), ['--no-such-flag'], () => 0, capture()), {
      stderr: (l) => lines.push(l),
      exit: (c) => codes.push(c),
    });
    expect(lines).toEqual(['pilot apiserver: --no-such-flag: unknown flag (see pilot apiserver --help)']);
    expect(codes).toEqual([2]);
  });

  it('prints help on out, naming every flag and --version, and reports "nothing to run"', () => {
    const p = program();
    const io = capture();
    expect(parseCommandLine(p, ['--help'], resolve(p), io)).toBe(false);
    expect(io.stdout).toMatch(/^Usage: demo \[flags\]/);
    for (const flag of ['--port <n>', '--interval <duration>', '--version', '--help']) expect(io.stdout).toContain(flag);
    expect(io.stderr).toBe('');
  });

  it('prints the version and git commit of the build for --version', () => {
    const p = program();
    const io = capture();
    expect(parseCommandLine(p, ['--version'], resolve(p), io)).toBe(false);
    const info = buildInfo();
    expect(io.stdout).toMatch(new RegExp(`^demo ${info.version} \\(git commit ${info.gitCommit}[,)]`));
  });

  it('hands resolve a warn that prints deprecation notices as "<program>: ..." lines on err', () => {
    const p = program();
    const io = capture();
    expect(parseCommandLine(p, ['--interval', '90'], resolve(p), io)).toEqual({ port: 80, intervalMs: 90_000 });
    expect(io.stderr).toBe('demo: --interval: a number without a unit is deprecated: "90" is read as 90 seconds; write 1m30s\n');
  });

  it('lets other errors from resolve through unchanged', () => {
    const p = program();
    expect(() =>
      parseCommandLine(p, [], () => {
        throw new Error('etcd unreachable');
      }, capture()),
    ).toThrow(/^etcd unreachable$/);
  });
});

describe('goFlagArgv (Go flag syntax, for flanneld command lines)', () => {
  const goProgram = () =>
    new Command('overlayd')
      .option('--etcd-endpoints <urls>', 'etcd', 'http://127.0.0.1:2379')
      .option('--iface <name>', 'interface')
      .option('--ip-masq', 'masquerade', false)
      .option('--port <n>', 'a port', '80');

  it('reads -name=value, -name value, --name=value and bare booleans as the program’s long flags', () => {
    const p = goProgram();
    const argv = goFlagArgv(p, ['-etcd-endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379', '-iface', 'eth0', '-ip-masq', '--port=81']);
    expect(argv).toEqual(['--etcd-endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379', '--iface', 'eth0', '--ip-masq', '--port=81']);
    p.exitOverride().parse(argv, { from: 'user' });
    expect(p.opts()).toEqual({ etcdEndpoints: 'http://10.0.0.1:2379,http://10.0.0.2:2379', iface: 'eth0', ipMasq: true, port: '81' });
  });

  it('takes Go’s =true / =false on booleans, and keeps a value that starts with a dash', () => {
    expect(goFlagArgv(goProgram(), ['-ip-masq=false', '--ip-masq=true', '-iface', '-weird-'])).toEqual(['--ip-masq', '--iface', '-weird-']);
    expect(goFlagArgv(goProgram(), ['-version'])).toEqual(['--version']);
  });

  it('leaves undeclared names and everything after -- for commander to report; a boolean value other than true/false is a usage error', () => {
    const argv = goFlagArgv(goProgram(), ['-kube-subnet-mgr', '--', '-iface']);
    expect(argv).toEqual(['-kube-subnet-mgr', '--', '-iface']);
    const p = goProgram();
    expect(() => parseCommandLine(p, argv, () => ({}), capture())).toThrow('-kube-subnet-mgr: unknown flag (see overlayd --help)');
    expect(() => goFlagArgv(goProgram(), ['-ip-masq=yes'])).toThrow(new UsageError('overlayd', '--ip-masq: "yes" is not true or false'));
  });
});
