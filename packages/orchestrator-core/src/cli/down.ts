import { createLogger, parseCommandLine, processIO, type CommandIO } from '@pilot/common';
import { downCommand, stateDirFlag } from '../up/flags.js';
import { runDown } from '../up/down.js';

/** `pilot down [--state-dir] [--purge]`: stops the `pilot up` cluster and leaves the host as it was. */
export async function run(argv: string[], io: CommandIO = processIO): Promise<number | void> {
  const cmd = downCommand();
  const flags = parseCommandLine(cmd, argv, () => ({ stateDir: stateDirFlag(cmd.opts<{ stateDir?: string }>().stateDir), purge: cmd.opts<{ purge?: boolean }>().purge === true }), io);
  if (!flags) return 0;
  return runDown(flags.stateDir, flags.purge, io, createLogger('down', { level: 'warn', destination: process.stderr }));
}
