import { Command } from 'commander';
import { main, FatalError } from '@pilot/common';
import { SUBCOMMANDS } from '../cli/subcommands.js';

/** The `pilot` dispatcher (hyperkube-like): `pilot <component> [flags]`. */
await main('pilot', async () => {
  const [name, ...rest] = process.argv.slice(2);
  const sub = name ? SUBCOMMANDS[name] : undefined;
  if (!sub) {
    const program = new Command('pilot').description('pilot control plane and network components').usage('<command> [flags]');
    for (const [n, s] of Object.entries(SUBCOMMANDS)) program.command(n).description(s.summary);
    if (name && name !== '--help' && name !== '-h' && name !== 'help') throw new FatalError(`unknown command "${name}" (known: ${Object.keys(SUBCOMMANDS).join(', ')})`, 2);
    process.stdout.write(program.helpInformation());
    return 0;
  }
  const mod = await sub.load();
  return mod.run(rest);
});
