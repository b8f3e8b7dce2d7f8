import { parseCommandLine, type CommandIO } from '@pilot/common';
import { runUntilStopped } from '../component/run.js';
import { resolveConfig, schedulerCommand, type RawFlags } from '../scheduler/flags.js';
import { startScheduler } from '../scheduler/scheduler.js';

/** `pilot scheduler [flags]`: runs until SIGTERM/SIGINT; losing the Lease exits with 1 (see runUntilStopped). */
export async function run(argv: string[], io?: CommandIO): Promise<number | void> {
  const cmd = schedulerCommand();
  const cfg = parseCommandLine(cmd, argv, (warn) => resolveConfig(cmd.opts<RawFlags>(), warn), io);
  if (!cfg) return 0;
  return runUntilStopped('scheduler', (log, signal) => startScheduler(cfg, { log, signal }));
}
