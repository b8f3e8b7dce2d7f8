import { Command, processIO, UsageError, versionLine, type CommandIO } from '@pilot/common';
import { SUBCOMMANDS, type Subcommand } from './subcommands.js';

/** `pilot --help`: every subcommand with its one-line summary. */
export function pilotHelp(table: Record<string, Subcommand> = SUBCOMMANDS): string {
  const program = new Command('pilot').description('pilot control plane and network components').usage('<command> [flags]');
  for (const [n, s] of Object.entries(table)) program.command(n).description(s.summary);
  program.command('help <command>').description("print a command's own flags");
  program.option('--version', 'print the version and git commit, then exit');
  return program.helpInformation();
}

/**
 * `pilot <component> [flags]` (hyperkube-like): runs the named subcommand
 * with the rest of argv; `pilot help <component>` is `pilot <component>
 * --help`. No name or help prints the table; an unknown name is a one-line
 * usage error listing the known ones.
 */
export async function dispatch(argv: readonly string[], io: CommandIO = processIO, table: Record<string, Subcommand> = SUBCOMMANDS): Promise<number | void> {
  const [name, ...rest] = argv;
  const known = (n: string | undefined) => (n !== undefined && Object.hasOwn(table, n) ? table[n] : undefined);
  const unknown = (n: string) => new UsageError('pilot', `unknown command "${n}" (known: ${Object.keys(table).join(', ')})`);
  if (name === '--version') {
    io.out(`${versionLine('pilot')}\n`);
    return 0;
  }
  if (name === 'help' && rest[0] !== undefined) {
    const sub = known(rest[0]);
    if (!sub) throw unknown(rest[0]);
    return (await sub.load()).run(['--help'], io);
  }
  const sub = known(name);
  if (!sub) {
    if (name && name !== '--help' && name !== '-h' && name !== 'help') throw unknown(name);
    io.out(pilotHelp(table));
    return 0;
  }
  return (await sub.load()).run(rest, io);
}
