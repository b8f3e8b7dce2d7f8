import { UsageError, buildInfo, type CommandIO } from '@pilot/common';
import { runDnsd } from '@pilot/dnsd';
import { runOverlayd } from '@pilot/overlayd';
import { runSvcproxy } from '@pilot/svcproxy';
import { dispatch, pilotHelp, SUBCOMMANDS } from '../src/index.js';

function capture(): CommandIO & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

async function usageError(argv: string[]): Promise<UsageError> {
  try {
    await dispatch(argv, capture());
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`expected a usage error for pilot ${argv.join(' ')}`);
}

describe('the pilot dispatcher', () => {
  it('has a row for the apiserver and every network daemon', () => {
    expect(Object.keys(SUBCOMMANDS)).toEqual(expect.arrayContaining(['apiserver', 'overlayd', 'svcproxy', 'dnsd']));
  });

  it("runs each network daemon's own command line, the same one its bin runs", async () => {
    expect((await SUBCOMMANDS.overlayd!.load()).run).toBe(runOverlayd);
    expect((await SUBCOMMANDS.svcproxy!.load()).run).toBe(runSvcproxy);
    expect((await SUBCOMMANDS.dnsd!.load()).run).toBe(runDnsd);
  });

  it('lists every subcommand with its summary in --help', async () => {
    const io = capture();
    expect(await dispatch(['--help'], io)).toBe(0);
    const printed = io.stdout;
    expect(printed).toBe(pilotHelp());
    for (const [name, sub] of Object.entries(SUBCOMMANDS)) expect(printed).toMatch(new RegExp(`^\\s+${name}\\s+${sub.summary.slice(0, 20).replace(/[()]/g, '\\$&')}`, 'm'));
  });

  it('passes the rest of argv to the subcommand, whose flag errors come back as one usage line (exit 2) under its name', async () => {
    const cases: [string[], string, string][] = [
      [['svcproxy', '--proxy-mode', 'ipvs'], 'svcproxy', '--proxy-mode: "ipvs" is not a proxy mode (iptables, userspace)'],
      [['overlayd', '--healthz-port', 'http'], 'overlayd', '--healthz-port: "http" is not an integer in 0..65535'],
      [['dnsd', '--ttl', 'soon'], 'dnsd', '--ttl: "soon" is not an integer in 0..3600'],
      [['apiserver', '--insecure-port', 'http'], 'pilot apiserver', '--insecure-port: "http" is not an integer in 0..65535'],
      [['scheduler', '--pod-max-backoff', 'soon'], 'pilot scheduler', '--pod-max-backoff: "soon" is not a duration (want e.g. 500ms, 30s, 15m, 24h)'],
      [['controller-manager', '--controllers', 'replicaton'], 'pilot controller-manager', expect.stringMatching(/^--controllers: unknown controller "replicaton" \(known: (.+, )?replicationcontroller, endpoint(, .+)?\)$/)],
      [['kubelet', '--cluster-dns', 'ten'], 'pilot kubelet', '--cluster-dns: "ten" is not an IP address'],
      [['up', '--output', 'yaml'], 'pilot up', '--output: "yaml" is not text or json'],
      [['up', '--wait', 'forever'], 'pilot up', '--wait: "forever" is not a duration (want e.g. 500ms, 30s, 15m, 24h)'],
      [['down', '--state-dir', 'relative'], 'pilot down', '--state-dir: "relative" is not an absolute path'],
      [['status', 'now'], 'pilot status', 'unexpected argument "now" (flags are written --name value; see pilot status --help)'],
    ];
    // Components only pilot runs print under `pilot <name>`; the network daemons under their bins' names.
    const pilotOnly = new Set(['apiserver', 'scheduler', 'controller-manager', 'kubelet', 'certs', 'up', 'status', 'down']);
    for (const name of Object.keys(SUBCOMMANDS)) {
      const program = pilotOnly.has(name) ? `pilot ${name}` : name;
      cases.push([[name, '--no-such-flag'], program, `--no-such-flag: unknown flag (see ${program} --help)`]);
    }
    for (const [argv, program, message] of cases) {
      const err = await usageError(argv);
      expect([err.program, err.message, err.exitCode]).toEqual([program, message, 2]);
    }
  });

  it("prints a component's own help for pilot help <component> and pilot <component> --help", async () => {
    const viaHelp = capture();
    expect(await dispatch(['help', 'dnsd'], viaHelp)).toBe(0);
    expect(viaHelp.stdout).toMatch(/^Usage: dnsd \[flags\]/);
    for (const flag of ['--forward-timeout <duration>', '--lease-duration <duration>', '--ttl <seconds>', '--register-service', '--version']) expect(viaHelp.stdout).toContain(flag);
    const viaFlag = capture();
    expect(await dispatch(['dnsd', '--help'], viaFlag)).toBe(0);
    expect(viaFlag.stdout).toBe(viaHelp.stdout);

    for (const [name, flag] of [['up', '--state-dir <dir>'], ['down', '--purge'], ['apiserver', '--etcd-servers <urls>'], ['controller-manager', '--node-monitor-grace-period <duration>'], ['overlayd', '--etcd-endpoints <urls>'], ['svcproxy', '--proxy-mode <mode>']] as const) {
      const io = capture();
      expect(await dispatch(['help', name], io)).toBe(0);
      expect(io.stdout).toContain(flag);
      expect(io.stdout).not.toContain('--forward-timeout');
    }
  });

  it('answers --version for itself and for every component', async () => {
    const { version, gitCommit } = buildInfo();
    const self = capture();
    expect(await dispatch(['--version'], self)).toBe(0);
    expect(self.stdout).toMatch(new RegExp(`^pilot ${version} \\(git commit ${gitCommit}[,)]`));
    for (const name of Object.keys(SUBCOMMANDS)) {
      const io = capture();
      expect(await dispatch([name, '--version'], io)).toBe(0);
      expect(io.stdout).toMatch(new RegExp(`^(pilot )?${name} ${version} \\(git commit ${gitCommit}[,)]`));
    }
  });

  it('names the known commands for an unknown one', async () => {
    for (const argv of [['kubelett'], ['help', 'kubelett']]) {
      const err = await usageError(argv);
      expect([err.program, err.exitCode]).toEqual(['pilot', 2]);
      expect(err.message).toMatch(/^unknown command "kubelett" \(known: apiserver, scheduler, controller-manager, kubelet, overlayd, svcproxy, dnsd/);
    }
  });
});
