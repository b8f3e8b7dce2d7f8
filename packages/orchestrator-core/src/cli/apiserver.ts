import { createLogger, parseCommandLine, type CommandIO } from '@pilot/common';
import { apiserverCommand, resolveConfig, type RawFlags } from '../apiserver/flags.js';
import { startApiserver } from '../apiserver/server.js';

/** `pilot apiserver [flags]`: runs until SIGTERM/SIGINT. */
export async function run(argv: string[], io?: CommandIO): Promise<number | void> {
  const cmd = apiserverCommand();
  const cfg = parseCommandLine(cmd, argv, (warn) => resolveConfig(cmd.opts<RawFlags>(), warn), io);
  if (!cfg) return 0;
  const log = createLogger('apiserver');
  const abort = new AbortController();
  const server = await startApiserver(cfg, { log, signal: abort.signal });
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
  });
  log.info('shutting down');
  abort.abort();
  await server.close();
  return 0;
}
