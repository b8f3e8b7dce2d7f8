import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient, Informer, type Endpoints, type Service } from '@pilot/api';
import {
  backendFor,
  BoundedFrequencyRunner,
  checkKernelPrerequisites,
  createLogger,
  createRegistry,
  describeMissing,
  detectBackend,
  startHealthServer,
  type HealthStatus,
  run,
  type Logger,
  type Runner,
} from '@pilot/common';
import type { ProxyProvider } from './change-tracker.js';
import type { SvcproxyOptions } from './flags.js';
import { IptablesApplier } from './iptables/apply.js';
import { Conntrack } from './iptables/conntrack.js';
import { createProxierMetrics } from './metrics.js';
import { IptablesProxier } from './proxier.js';
import { syncHealth } from './health.js';
import { ServiceHealthServer } from './service-health.js';
import { IptablesPortalSink, UserspaceProvider, UserspaceProxier, detectListenIP } from './userspace/index.js';

/**
 * The svcproxy daemon: Services + Endpoints informers → proxier → kernel,
 * driven by the bounded-frequency runner; /healthz goes stale when syncs stop.
 */
export interface SvcproxyDeps {
  log?: Logger;
  /**
   * Runs iptables / conntrack / sysctl reads. Default: this process's own
   * namespace; tests point it into a host namespace (`netnsRunner`).
   */
  runner?: Runner;
  /** Called once the health server listens (with its port). */
  onListening?: (port: number) => void;
}

export class Svcproxy {
  private readonly log: Logger;
  private readonly runner: Runner;
  /** Set once caches are synced and the proxier exists (for tests and introspection). */
  proxier: IptablesProxier | undefined;

  constructor(
    private readonly opts: SvcproxyOptions,
    private readonly deps: SvcproxyDeps = {},
  ) {
    this.log = deps.log ?? createLogger('svcproxy');
    this.runner = deps.runner ?? run;
  }

  /** `--cleanup`: removes svcproxy's rules (both modes) from both iptables backends. */
  async cleanup(): Promise<void> {
    for (const mode of ['nft', 'legacy'] as const) {
      try {
        const r = await new IptablesApplier({ backend: backendFor(mode), runner: this.runner }).cleanup();
        await new IptablesPortalSink(backendFor(mode), this.runner).cleanup();
        this.log.info({ backend: mode, chains: r.chains }, 'cleaned up');
      } catch (err) {
        this.log.warn({ backend: mode, err: (err as Error).message }, 'cleanup of this backend failed');
      }
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    const { opts, log } = this;
    const readSysctl = async (path: string) => (await this.runner(['cat', path])).stdout;
    const missing = await checkKernelPrerequisites(['bridge-nf-call-iptables'], readSysctl);
    if (missing.length) log.warn(describeMissing(missing));
    const backend = await detectBackend(this.runner);
    log.info({ backend: backend.mode, mode: opts.proxyMode, hostname: opts.hostname, clusterCIDR: opts.clusterCIDR }, 'starting');
    const registry = createRegistry('svcproxy');
    const metrics = createProxierMetrics(registry);
    const started = Date.now();
    let runner: BoundedFrequencyRunner | undefined;
    let proxier: ProxyProvider;
    let userspace: UserspaceProxier | undefined;
    let serviceHealth: ServiceHealthServer | undefined;
    if (opts.proxyMode === 'userspace') {
      // The userspace mode's first sync removes the iptables mode's chains.
      const listenIP = opts.bindAddress ?? (await detectListenIP(this.runner));
      userspace = new UserspaceProxier({ listenIP, rules: new IptablesPortalSink(backend, this.runner), registry, log, udpIdleTimeoutMs: opts.udpTimeoutMs, maxConnectionsPerSource: opts.maxConnectionsPerSource });
      proxier = new UserspaceProvider({ proxier: userspace, log, hostname: opts.hostname, metrics, onChange: () => runner?.run() });
      log.info({ listenIP }, 'userspace proxy listens here');
    } else {
      // Switching from the userspace mode: its portal chains go first.
      await new IptablesPortalSink(backend, this.runner).cleanup();
      serviceHealth = new ServiceHealthServer({ log });
      const iptables = new IptablesProxier({
        applier: new IptablesApplier({ backend, runner: this.runner, chunkServices: opts.restoreChunk }),
        conntrack: new Conntrack(this.runner, log),
        node: { clusterCIDR: opts.clusterCIDR, masqueradeAll: opts.masqueradeAll, nodePortAddresses: opts.nodePortAddresses },
        hostname: opts.hostname,
        log,
        metrics,
        healthChecks: serviceHealth,
        onChange: () => runner?.run(),
      });
      this.proxier = iptables;
      proxier = iptables;
    }
    // Stale when no sync has succeeded for two sync periods (syncs run at least once per period).
    const staleAfterMs = 2 * opts.syncPeriodMs + 10_000;
    const healthz = (): HealthStatus => syncHealth({ now: Date.now(), started, lastSuccess: proxier.lastSuccess, staleAfterMs });
    let server: Server | undefined;
    if (opts.healthzPort) {
      server = await startHealthServer({
        port: opts.healthzPort,
        host: opts.healthzBindAddress,
        registry,
        healthz,
        readyz: () => (proxier.lastSuccess ? healthz() : { ok: false, message: 'no sync yet' }),
      });
      this.deps.onListening?.((server.address() as AddressInfo).port);
    }
    // kube-proxy's metrics server; as there, failing to bind it is logged, not fatal (a second instance keeps proxying).
    let metricsServer: Server | undefined;
    if (opts.metricsPort) {
      metricsServer = await startHealthServer({
        port: opts.metricsPort,
        host: opts.metricsBindAddress,
        registry,
        healthz,
        text: { '/proxyMode': () => opts.proxyMode },
      }).catch((err: Error) => {
        log.error({ err: err.message, address: `${opts.metricsBindAddress}:${opts.metricsPort}` }, 'metrics server not started');
        return undefined;
      });
    }
    const client = ApiClient.fromFlags({
      ...(opts.master ? { master: opts.master } : {}),
      ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
      userAgent: 'svcproxy',
    });
    const services = new Informer<Service>(client, 'services', { logger: log });
    const endpoints = new Informer<Endpoints>(client, 'endpoints', { logger: log });
    const { tracker } = proxier;
    services.addHandler({
      onAdd: (s) => tracker.onService(s),
      onUpdate: (_old, s) => tracker.onService(s),
      onDelete: (s) => tracker.onServiceDelete(s),
    });
    endpoints.addHandler({
      onAdd: (e) => tracker.onEndpoints(e),
      onUpdate: (_old, e) => tracker.onEndpoints(e),
      onDelete: (e) => tracker.onEndpointsDelete(e),
    });
    const informers = [services.start(signal), endpoints.start(signal)];
    try {
      // First sync only when both caches are complete: a partial view would
      // REJECT services whose endpoints have not been listed yet.
      await Promise.all([services.waitForSync(signal), endpoints.waitForSync(signal)]);
      log.info('caches synced');
      runner = new BoundedFrequencyRunner(
        async () => {
          await proxier.sync();
        },
        {
          minIntervalMs: opts.minSyncPeriodMs,
          maxIntervalMs: opts.syncPeriodMs,
          signal,
          onError: () => runner?.runSoon(Math.min(opts.syncPeriodMs, 5_000)),
        },
      );
      await runner.loop();
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      await Promise.allSettled(informers);
      await userspace?.close();
      await serviceHealth?.close();
      client.close();
      for (const s of [server, metricsServer]) await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
      log.info('stopped');
    }
  }
}
