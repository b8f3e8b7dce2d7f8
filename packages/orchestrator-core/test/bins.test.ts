import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The command-line convention as an operator meets it: the built bins
 * (`make build` runs before the unit suite), run as processes.
 */
const bin = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const PILOT = bin('orchestrator-core/bin/pilot.js');
const COMMANDS: [string, string[]][] = [
  ['dnsd', [bin('dnsd/bin/dnsd.js')]],
  ['svcproxy', [bin('svcproxy/bin/svcproxy.js')]],
  ['overlayd', [bin('overlayd/bin/overlayd.js')]],
  ['pilot apiserver', [PILOT, 'apiserver']],
  ['pilot up', [PILOT, 'up']],
  ['pilot down', [PILOT, 'down']],
  ['dnsd', [PILOT, 'dnsd']],
];

function run(argv: string[]) {
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, PILOT_LOG_LEVEL: 'silent' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('every component on the command line', () => {
  it.each(COMMANDS)('%s --no-such-flag prints one line starting with its name and exits 2', (program, argv) => {
    const r = run([...argv, '--no-such-flag']);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `${program}: --no-such-flag: unknown flag (see ${program} --help)\n` });
  });

  it.each(COMMANDS)('%s --version prints the stamped version and git commit', (program, argv) => {
    const stamp = JSON.parse(readFileSync(bin('common/build-info.json'), 'utf8')) as { version: string; gitCommit: string };
    expect(stamp.gitCommit).toMatch(/^([0-9a-f]{40}|unknown)$/);
    const r = run([...argv, '--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${program.replace('pilot ', '(pilot )?')} ${stamp.version} \\(git commit ${stamp.gitCommit}[,)].*\\n$`));
  });

  it('pilot help dnsd prints the flags of dnsd', () => {
    const r = run([PILOT, 'help', 'dnsd']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: dnsd \[flags\]/);
    for (const flag of ['--forward-timeout <duration>', '--lease-duration <duration>', '--ttl <seconds>', '--upstream <ip[:port]>']) expect(r.stdout).toContain(flag);
    expect(run([PILOT, 'dnsd', '--help']).stdout).toBe(r.stdout);
  });

  it('a bare-number duration still works, with a deprecation line on stderr', () => {
    // Resolution gets as far as the records file, which does not exist.
    const r = run([bin('dnsd/bin/dnsd.js'), '--forward-timeout', '2000', '--records', '/nonexistent/records.json']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toEqual([
      'dnsd: --forward-timeout: a number without a unit is deprecated: "2000" is read as 2000 milliseconds; write 2s',
      expect.stringMatching(/^dnsd: --records: ENOENT/),
      '',
    ]);
  });
});
