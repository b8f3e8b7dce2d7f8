import { createLogger, FatalError, parseCommandLine, stopSignal, type CommandIO } from '@pilot/common';
import { controllerManagerCommand, resolveConfig, type RawFlags } from '../controller/flags.js';
import { enabledControllers, startControllerManager } from '../controller/manager.js';

/**
 * `pilot controller-manager [flags]`: runs until SIGTERM/SIGINT (a graceful
 * stop releases the leader Lease). Losing the Lease exits with 1, as
 * kube-controller-manager does ("leaderelection lost").
 */
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
  const log = createLogger('controller-manager');
  let cm;
  try {
    cm = await startControllerManager(cfg, { log, signal: stopSignal() });
  } catch (err) {
    throw new FatalError((err as Error).message);
  }
  const outcome = await cm.done;
  await cm.close();
  if (outcome === 'lost') throw new FatalError('leaderelection lost');
  log.info('stopped');
  return 0;
}
