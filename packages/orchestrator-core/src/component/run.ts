import { createLogger, FatalError, stopSignal, type Logger } from '@pilot/common';

/**
 * A leader-elected component's process: runs until SIGTERM/SIGINT (a graceful
 * stop releases the leader Lease); losing the Lease exits with 1 and
 * "leaderelection lost", as kube-scheduler and kube-controller-manager do,
 * so a supervisor restarts it as a standby.
 */
export async function runUntilStopped(
  component: string,
  start: (log: Logger, signal: AbortSignal) => Promise<{ done: Promise<'stopped' | 'lost'>; close(): Promise<void> }>,
): Promise<number> {
  const log = createLogger(component);
  let running;
  try {
    running = await start(log, stopSignal());
  } catch (err) {
    throw new FatalError((err as Error).message);
  }
  const outcome = await running.done;
  await running.close();
  if (outcome === 'lost') throw new FatalError('leaderelection lost');
  log.info('stopped');
  return 0;
}
