import { createLogger, parseCommandLine, processIO, stopSignal, type CommandIO } from '@pilot/common';
import { resolveUpConfig, upCommand, type UpRawFlags } from '../up/flags.js';
import { runUp } from '../up/up.js';

/** `pilot up [flags]`: returns once the single-machine cluster is Ready (its supervisor keeps running); with --foreground, runs until SIGTERM. */
export async function run(argv: string[], io: CommandIO = processIO): Promise<number | void> {
  const cmd = upCommand();
  const cfg = parseCommandLine(cmd, argv, (warn) => resolveUpConfig(cmd.opts<UpRawFlags>(), warn), io);
  if (!cfg) return 0;
  // The supervisor's log is its own file; `up` in a terminal prints progress only (warnings and worse go to stderr).
  const log = cfg.supervise || cfg.foreground ? createLogger('up') : createLogger('up', { level: 'warn', destination: process.stderr });
  // Only a supervisor stops on a signal by itself; an `up` that waits is simply interrupted (the cluster keeps starting).
  const signal = cfg.supervise || cfg.foreground ? stopSignal() : new AbortController().signal;
  return runUp(cfg, io, log, signal);
}
