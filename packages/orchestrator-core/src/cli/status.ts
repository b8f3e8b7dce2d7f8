import { parseCommandLine, processIO, type CommandIO } from '@pilot/common';
import { stateDirFlag, statusCommand } from '../up/flags.js';
import { runStatus } from '../up/status.js';

/** `pilot status [--state-dir]`: each component of the `pilot up` cluster and its health; exit 1 unless all are healthy. */
export async function run(argv: string[], io: CommandIO = processIO): Promise<number | void> {
  const cmd = statusCommand();
  const stateDir = parseCommandLine(cmd, argv, () => stateDirFlag(cmd.opts<{ stateDir?: string }>().stateDir), io);
  if (!stateDir) return 0;
  return runStatus(stateDir, io);
}
