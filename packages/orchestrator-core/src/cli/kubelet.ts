import { parseCommandLine, type CommandIO } from '@pilot/common';
import { runUntilStopped } from '../component/run.js';
import { kubeletCommand, resolveConfig, type RawFlags } from '../kubelet/flags.js';
import { startKubelet } from '../kubelet/start.js';

/** `pilot kubelet [flags]`: runs until SIGTERM/SIGINT; the pods' containers keep running when it stops (the next kubelet adopts them). */
export async function run(argv: string[], io?: CommandIO): Promise<number | void> {
  const cmd = kubeletCommand();
  const cfg = parseCommandLine(cmd, argv, (warn) => resolveConfig(cmd.opts<RawFlags>(), warn), io);
  if (!cfg) return 0;
  return runUntilStopped('kubelet', (log, signal) => startKubelet(cfg, { log, signal }));
}
