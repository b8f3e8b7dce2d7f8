import { createLogger, FatalError, parseCommandLine, stopSignal, type CommandIO } from '@pilot/common';
import { resolveConfig, schedulerCommand, type RawFlags } from '../scheduler/flags.js';
import { startScheduler } from '../scheduler/scheduler.js';

/**
 * `pilot scheduler [flags]`: runs until SIGTERM/SIGINT (a graceful stop
 * releases the leader Lease). Losing the Lease exits with 1, as
 * kube-scheduler does ("leaderelection lost"): a supervisor restarts it as
 * a standby.
 */
export async function run(argv: string[], io?: CommandIO): Promise<number | void> {
  const cmd = schedulerCommand();
  const cfg = parseCommandLine(cmd, argv, (warn) => resolveConfig(cmd.opts<RawFlags>(), warn), io);
  if (!cfg) return 0;
  const log = createLogger('scheduler');
  let sched;
  try {
    sched = await startScheduler(cfg, { log, signal: stopSignal() });
  } catch (err) {
    throw new FatalError((err as Error).message);
  }
  const outcome = await sched.done;
  await sched.close();
  if (outcome === 'lost') throw new FatalError('leaderelection lost');
  log.info('stopped');
  return 0;
}
