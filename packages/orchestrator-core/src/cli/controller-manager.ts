import { parseCommandLine, type CommandIO } from '@pilot/common';
import { runUntilStopped } from '../component/run.js';
import { controllerManagerCommand, resolveConfig, type RawFlags } from '../controller/flags.js';
import { enabledControllers, startControllerManager } from '../controller/manager.js';

/** `pilot controller-manager [flags]`: runs until SIGTERM/SIGINT; losing the Lease exits with 1 (see runUntilStopped). */
export async function run(argv: string[], io?: CommandIO): Promise<number | void> {
  const cmd = controllerManagerCommand();
  const cfg = parseCommandLine(
    cmd,
    argv,
    (warn) => {
      const c = resolveConfig(cmd.opts<RawFlags>(), warn);
      enabledControllers(c.controllers); // unknown names are usage errors
      return c;
    },
    io,
  );
  if (!cfg) return 0;
  return runUntilStopped('controller-manager', (log, signal) => startControllerManager(cfg, { log, signal }));
}
