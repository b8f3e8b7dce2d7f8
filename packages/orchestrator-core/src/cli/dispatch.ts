import { Command } from 'commander';
import { FatalError } from '@pilot/common';
import { SUBCOMMANDS, type Subcommand } from './subcommands.js';

/** `pilot --help`: every subcommand with its one-line summary. */
export function pilotHelp(table: Record<string, Subcommand> = SUBCOMMANDS): string {
  const program = new Command('pilot').description('pilot control plane and network components').usage('<command> [flags]');
  for (const [n, s] of Object.entries(table)) program.command(n).description(s.summary);
  return program.helpInformation();
}

/**
 * `pilot <component> [flags]` (hyperkube-like): runs the named subcommand
 * with the rest of argv. No name or help prints the table; an unknown name
 * is a one-line FatalError listing the known ones.
 */
export async function dispatch(
  argv: readonly string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
  table: Record<string, Subcommand> = SUBCOMMANDS,
): Promise<number | void> {
  const [name, ...rest] = argv;
  const sub = name !== undefined && Object.hasOwn(table, name) ? table[name] : undefined;
  if (!sub) {
    if (name && name !== '--help' && name !== '-h' && name !== 'help') throw new FatalError(`unknown command "${name}" (known: ${Object.keys(table).join(', ')})`, 2);
    out(pilotHelp(table));
    return 0;
  }
  const mod = await sub.load();
  return mod.run(rest);
}
