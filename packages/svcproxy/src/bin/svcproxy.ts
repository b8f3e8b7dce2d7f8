import { Command } from 'commander';
import { FatalError, main } from '@pilot/common';
import { Svcproxy } from '../daemon.js';
import { DEFAULTS, FlagError, parseOptions, type RawFlags } from '../flags.js';

await main('svcproxy', async () => {
  const program = new Command('svcproxy')
    .description('Per-host service proxy: programs Services and Endpoints as kube-proxy-layout iptables NAT rules')
    .option('--master <url>', 'API server URL (overrides the kubeconfig\'s server); default http://127.0.0.1:8080')
    .option('--kubeconfig <path>', 'kubeconfig with the API server, token and CA')
    .option('--proxy-mode <mode>', 'proxy mode (iptables)', DEFAULTS.proxyMode)
    .option('--cluster-cidr <cidr>', 'pod network; service traffic from outside it is masqueraded')
    .option('--hostname-override <name>', 'this node\'s name (marks local endpoints); default: hostname')
    .option('--min-sync-period <duration>', 'minimum time between two syncs (changes in between coalesce)', DEFAULTS.minSyncPeriod)
    .option('--sync-period <duration>', 'maximum time between two syncs (canaries and jump positions are re-checked each)', DEFAULTS.syncPeriod)
    .option('--nodeport-addresses <cidrs>', 'comma-separated CIDRs whose local addresses serve NodePorts; default all but loopback')
    .option('--masquerade-all', 'SNAT all service traffic', false)
    .option('--cleanup', 'remove every rule svcproxy wrote and exit', false)
    .option('--healthz-bind-address <ip>', 'address for /healthz and /metrics', DEFAULTS.healthzBindAddress)
    .option('--healthz-port <port>', 'port for /healthz and /metrics (0 disables)', DEFAULTS.healthzPort)
    .option('--restore-chunk <n>', 'services per iptables-restore during a full sync', DEFAULTS.restoreChunk)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  try {
    program.parse(process.argv);
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    throw new FatalError(e.message.replace(/^error: /, ''), 2);
  }
  if (program.args.length) throw new FatalError(`unexpected argument ${JSON.stringify(program.args[0])}`, 2);
  let opts;
  try {
    opts = parseOptions(program.opts<RawFlags>());
  } catch (err) {
    if (err instanceof FlagError) throw new FatalError(err.message, 2);
    throw err;
  }
  const daemon = new Svcproxy(opts);
  if (opts.cleanup) {
    await daemon.cleanup();
    return 0;
  }
  const ac = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => ac.abort());
  await daemon.run(ac.signal);
  return 0;
});
