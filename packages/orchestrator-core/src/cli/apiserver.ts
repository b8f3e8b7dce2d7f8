import { createLogger, FatalError } from '@pilot/common';
import { apiserverCommand, resolveConfig, type RawFlags } from '../apiserver/flags.js';
import { startApiserver } from '../apiserver/server.js';

/** `pilot apiserver [flags]`: runs until SIGTERM/SIGINT. */
export async function run(argv: string[]): Promise<number | void> {
  // Errors become one FatalError line; help still goes to stdout.
  const cmd = apiserverCommand().exitOverride().configureOutput({ writeErr: () => undefined });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    throw new FatalError(e.message ?? String(err), e.exitCode || 2);
  }
  if (cmd.args.length) throw new FatalError(`unexpected arguments: ${cmd.args.join(' ')}`, 2);
  const cfg = resolveConfig(cmd.opts<RawFlags>());
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
