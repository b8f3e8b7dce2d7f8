import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Command, FatalError, Option, createLogger, createRegistry, parseCommandLine, startHealthServer, type CommandIO } from '@pilot/common';
import { ApiClient } from '@pilot/api';
import { ApiSource } from './api-source.js';
import { DEFAULT_LEASE_DURATION, resolveFlags, type RawFlags } from './config.js';
import { Dnsd } from './dnsd.js';
import { formatUpstream } from './forward.js';
import { Registrar } from './register.js';
import { FileSource, type RecordSource } from './source.js';

const formatError = (err: unknown) => (err instanceof Error ? err.message : String(err));
const collect = (v: string, prev: string[]) => [...prev, v];

/** The dnsd command line (also `pilot dnsd`): flags → running daemon until SIGTERM/SIGINT. */
export async function runDnsd(argv: readonly string[], io?: CommandIO): Promise<number> {
  const program = new Command('dnsd')
    .description('Cluster DNS by the Kubernetes DNS specification; forwards every other name upstream')
    .option('--master <url>', 'apiserver URL (e.g. http://127.0.0.1:8080)')
    .option('--kubeconfig <path>', 'kubeconfig with the apiserver address, token and CA')
    .option('--records <file>', 'serve the objects of a JSON List file instead of the API (re-read on change)')
    .option('--domain <zone>', 'cluster domain', 'cluster.local')
    .option('--listen <[addr]:port>', 'TCP listen address; UDP binds per concrete address on the same port', '0.0.0.0:53')
    .option('--advertise-address <ip>', 'this instance\'s address (UDP bound here; published in kube-dns Endpoints); default: first non-loopback IPv4')
    .option('--udp-address <ip>', 'extra concrete address to answer UDP on (repeatable)', collect, [])
    .option('--udp-all-local', 'also answer UDP on every address of this host, tracked as addresses come and go')
    .option('--upstream <ip[:port]>', 'upstream resolver (repeatable); default: /etc/resolv.conf nameservers', collect, [])
    .option('--ttl <seconds>', 'TTL of cluster records (0..3600)', '5')
    .option('--pods <mode>', 'pod A records a-b-c-d.<ns>.pod.<zone>: disabled | insecure', 'insecure')
    .option('--cluster-ip <ip>', 'the cluster DNS service IP (never used as an upstream)', '10.0.0.10')
    .option('--cluster-cidr <cidr>', 'pod network (allowed to recurse by default)', '10.1.0.0/16')
    .option('--service-cidr <cidr>', 'service network (never used as an upstream)', '10.0.0.0/24')
    .option('--allow-recursion <cidrs>', 'comma-separated networks allowed to use forwarding; default: cluster CIDR, own interface subnets, loopback')
    .option('--register-service', 'maintain kube-system/kube-dns and its Endpoints (needs the API)')
    .option('--lease-duration <duration>', `duration of this instance's kube-system/dnsd-<identity> Lease, whole seconds (default: ${DEFAULT_LEASE_DURATION})`)
    .addOption(new Option('--lease-seconds <duration>', 'deprecated: --lease-duration').hideHelp())
    .option('--identity <name>', 'Lease name suffix, unique per instance (default: the advertise address, dashed)')
    .option('--forward-timeout <duration>', 'per-upstream timeout', '2s')
    .option('--tcp-read-timeout <duration>', 'a TCP message must arrive whole this soon after its first byte', '2s')
    .option('--tcp-idle-timeout <duration>', 'a TCP connection with no new message this long is closed (partial messages do not count)', '10s')
    .option('--no-loadbalance', 'serve several A/AAAA records in one fixed order (default: rotate them on every answer, as CoreDNS\'s loadbalance)')
    .option('--no-coredns-metrics', 'export only the dnsd_* series, not CoreDNS\'s coredns_* names beside them')
    .option('--healthz-port <port>', '/healthz, /readyz, /metrics and CoreDNS\'s /health and /ready port', '9153')
    .option('--health-listen <[addr]:port>', 'also serve CoreDNS\'s /health on a listener of its own (its health plugin\'s :8080)')
    .option('--ready-listen <[addr]:port>', 'also serve CoreDNS\'s /ready on a listener of its own (its ready plugin\'s :8181)');

  const flags = parseCommandLine(program, argv, (warn) => resolveFlags(program.opts<RawFlags>(), () => readFileSync('/etc/resolv.conf', 'utf8'), warn), io);
  if (!flags) return 0;
  const raw = program.opts<RawFlags>();
  const log = createLogger('dnsd');

  let source: RecordSource;
  let client: ApiClient | undefined;
  if (raw.records) {
    const file = new FileSource(raw.records, log);
    try {
      file.load();
    } catch (err) {
      throw new FatalError(`--records: ${formatError(err)}`);
    }
    source = file;
  } else {
    try {
      client = ApiClient.fromFlags({ master: raw.master, kubeconfig: raw.kubeconfig, userAgent: 'dnsd' });
    } catch (err) {
      throw new FatalError(formatError(err));
    }
    source = new ApiSource(client, log);
  }
  let registrar: Registrar | undefined;
  // The registrar publishes this instance only once records are synced.
  let synced: () => boolean = () => false;
  if (raw.registerService && client && flags.advertiseAddress) {
    try {
      registrar = new Registrar(client, {
        advertiseAddress: flags.advertiseAddress,
        port: flags.port,
        clusterIp: flags.clusterIp,
        identity: flags.identity ?? 'dnsd',
        leaseSeconds: flags.leaseSeconds,
        log,
        ready: () => synced(),
      });
    } catch (err) {
      throw new FatalError(formatError(err));
    }
  }

  for (const d of flags.droppedUpstreams) log.warn({ upstream: formatUpstream(d.upstream), why: d.why }, 'upstream ignored: it would loop back to dnsd');
  if (flags.upstreams.length === 0) log.warn('no usable upstream: names outside the cluster zone get SERVFAIL');

  const registry = createRegistry('dnsd');
  const dnsd = new Dnsd({
    zone: flags.zone,
    ttl: flags.ttl,
    pods: flags.pods,
    tcpHost: flags.tcpHost,
    port: flags.port,
    udpAddresses: flags.udpAddresses,
    udpAllLocal: flags.udpAllLocal,
    nameservers: [flags.clusterIp],
    upstreams: flags.upstreams,
    forwardTimeoutMs: flags.forwardTimeoutMs,
    tcpReadMs: flags.tcpReadMs,
    tcpIdleMs: flags.tcpIdleMs,
    loadbalance: flags.loadbalance,
    corednsMetrics: flags.corednsMetrics,
    recursionNetworks: flags.recursionNetworks,
    source,
    log,
    registry,
  });
  synced = () => dnsd.index.synced;
  try {
    await dnsd.start();
  } catch (err) {
    throw new FatalError(formatError(err));
  }
  const ready = () => (dnsd.index.synced ? { ok: true, message: `synced, serial ${dnsd.index.serial}` } : { ok: false, message: 'records not synced yet' });
  // CoreDNS's health and ready plugins' paths, on this one port (its :8080 would collide with a master's apiserver):
  // /health is liveness (OK while the process serves), /ready waits for the records as /readyz does — as CoreDNS's
  // ready plugin waits for the kubernetes plugin's informers. Upstreams do not count (CoreDNS's forward reports no
  // readiness): a dead upstream must not take cluster names out of kube-dns.
  const listeners: Server[] = [];
  try {
    listeners.push(await startHealthServer({ port: flags.healthzPort, registry, healthz: ready, text: { '/health': () => 'OK\n' }, readyPaths: ['/ready'] }));
    if (flags.healthListen) listeners.push(await startPathServer(flags.healthListen, 'health-listen', '/health', () => ({ ok: true, text: 'OK\n' })));
    if (flags.readyListen) listeners.push(await startPathServer(flags.readyListen, 'ready-listen', '/ready', () => { const r = ready(); return { ok: r.ok, text: r.ok ? 'OK\n' : `${r.message}\n` }; }));
  } catch (err) {
    for (const l of listeners) l.close();
    await dnsd.stop();
    throw new FatalError(formatError(err));
  }

  const stopRegistering = new AbortController();
  const registering = registrar?.run(stopRegistering.signal);

  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log.info('shutting down');
  // Withdraw from kube-dns first, so no new queries are sent our way.
  stopRegistering.abort();
  await registering;
  for (const l of listeners) l.close();
  await dnsd.stop();
  client?.close();
  return 0;
}

/**
 * One of CoreDNS's single-path listeners (health :8080, ready :8181), when
 * asked for by flag: the path answers 200/503 with CoreDNS's `OK`, anything
 * else 404.
 */
async function startPathServer(at: { host: string; port: number }, flag: string, path: string, state: () => { ok: boolean; text: string }): Promise<Server> {
  const server = createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const s = state();
    res.writeHead(s.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(s.text);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`--${flag} ${at.host}:${at.port}: ${err.message}`)));
    server.listen(at.port, at.host, () => resolve());
  });
  return server;
}
