import { join } from 'node:path';
import { FlagError, parseCommandLine, processIO, UsageError, type CommandIO } from '@pilot/common';
import { writeCerts } from '../certs/certs.js';
import { certsCommand, resolveCertsConfig, type CertsRawFlags } from '../certs/flags.js';
import { defaultRoute } from '../up/preflight.js';

/** `pilot certs [flags]`: writes a cluster's certificates, token file and kubeconfigs, one line per file. */
export async function run(argv: string[], io: CommandIO = processIO): Promise<number | void> {
  const cmd = certsCommand();
  const raw = parseCommandLine(cmd, argv, () => cmd.opts<CertsRawFlags>(), io);
  if (!raw) return 0;
  // The default advertise address needs a look at the routes, which resolving flags does not do.
  const defaultIp = raw.apiserverAdvertiseAddress === undefined ? (await defaultRoute())?.src : undefined;
  let cfg;
  try {
    cfg = resolveCertsConfig(raw, defaultIp);
  } catch (err) {
    throw err instanceof FlagError ? new UsageError(cmd.name(), err.message) : err;
  }
  const files = await writeCerts(cfg);
  const width = Math.max(...files.map((f) => f.path.length));
  for (const f of files) io.out(`${join(cfg.dir, f.path).padEnd(cfg.dir.length + 1 + width)}  ${f.what}\n`);
  io.out(`kubeconfigs point at ${cfg.server}\n`);
  return 0;
}
