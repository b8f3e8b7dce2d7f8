import type { Server } from 'node:http';
import { FatalError, checkKernelPrerequisites, createLogger, createRegistry, describeMissing, detectBackend, startHealthServer, type Cidr, type Logger } from '@pilot/common';
import { createBackend } from './backend/index.js';
import type { BackendSetup } from './backend/backend.js';
import { describeConfig, parseNetworkConfig } from './config.js';
import type { OverlaydOptions } from './flags.js';
import { KernelReconciler } from './kernel-reconciler.js';
import { LeaseKeeper, waitForNetworkConfig } from './lease-keeper.js';
import type { Lease, LeaseAttrs } from './lease.js';
import { Metrics } from './metrics.js';
import { Kernel } from './netlink.js';
import { EtcdSubnetRegistry, type SubnetRegistry } from './registry.js';
import { readPreviousSubnet, writeSubnetFiles } from './subnetfile.js';
import { chooseUnderlay } from './underlay.js';

/** Exit status when the lease came back with another subnet: the service manager restarts Docker with the new subnet.env. */
export const EXIT_SUBNET_CHANGED = 3;

/**
 * The daemon, wiring only: wait for the network config, set up the backend's
 * device, lease a subnet (LeaseKeeper), configure the host for it, write
 * subnet.env, then run the lease keeper (watch, renewal, recovery) and the
 * kernel reconciler (lease sync, event repair, periodic reconcile) until
 * stopped. Lease changes flow to the kernel side, a recreated device's new
 * MAC flows to the lease; neither side knows the other.
 */
export class Overlayd {
  private readonly log: Logger = createLogger('overlayd');
  private readonly promRegistry = createRegistry('overlayd');
  private readonly metrics = new Metrics(this.promRegistry);
  private readonly stop = new AbortController();
  private readonly kernel = new Kernel({ onSocketError: (err) => this.onRequestSocketError(err) });
  private registry: SubnetRegistry | undefined;
  private keeper: LeaseKeeper | undefined;
  private reconciler: KernelReconciler | undefined;
  private server: Server | undefined;
  private ready = false;
  /** Set when the daemon must end with a status (lease lost for good, subnet changed). */
  private fatal: FatalError | undefined;

  constructor(private readonly opts: OverlaydOptions) {}

  /** Runs until the signal aborts (exit 0) or a fatal condition (thrown FatalError). */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.stop.abort(), { once: true });
    try {
      const { keeper, reconciler } = await this.start();
      if (this.stop.signal.aborted) return;
      await Promise.all([keeper.run(), reconciler.run()]);
      if (this.fatal) throw this.fatal;
    } finally {
      this.stop.abort();
      this.reconciler?.close();
      this.server?.close();
      this.registry?.close();
      this.kernel.close();
    }
  }

  private async start(): Promise<{ keeper: LeaseKeeper; reconciler: KernelReconciler }> {
    const { opts, log, metrics, kernel } = this;
    const signal = this.stop.signal;
    const missing = await checkKernelPrerequisites(['ip_forward']);
    if (missing.length) throw new FatalError(describeMissing(missing));
    const brnf = await checkKernelPrerequisites(['bridge-nf-call-iptables']);
    // overlayd starts before Docker, when br_netfilter may not be loaded yet: only a warning.
    if (brnf.length) log.warn({ missing: brnf.map((m) => m.problem) }, describeMissing(brnf));

    const [links, addrs, defIf] = await Promise.all([kernel.links(), kernel.addresses(), kernel.defaultRouteIfindex()]);
    const { underlay, publicIp } = chooseUnderlay(links, addrs, defIf, { iface: opts.iface, publicIp: opts.publicIp });
    log.info({ iface: underlay.name, ip: underlay.ip, publicIp, mtu: underlay.mtu }, `using interface ${underlay.name}, public IP ${publicIp}`);
    const iptables = await detectBackend();

    if (opts.healthzPort) {
      this.server = await startHealthServer({
        port: opts.healthzPort,
        host: opts.healthzIp,
        registry: this.promRegistry,
        healthz: () => {
          const problem = this.reconciler?.lastError;
          const own = this.keeper?.own;
          return { ok: !this.fatal && !problem, message: problem ?? (own ? `subnet ${own.subnet.toString()}` : 'starting') };
        },
        readyz: () => ({ ok: this.ready && !this.fatal, message: this.ready ? `subnet ${this.keeper?.own?.subnet.toString()}` : 'no subnet.env yet' }),
      });
    }

    const registry = (this.registry = new EtcdSubnetRegistry(opts.etcdEndpoints, opts.etcdPrefix, { tls: opts.etcdTls, auth: opts.etcdAuth }));
    const etcd = { registry, log, metrics, signal };
    const { config, backend } = await waitForNetworkConfig(etcd, (text) => {
      const config = parseNetworkConfig(text);
      return { config, backend: createBackend(config.backend, { underlay, publicIp, kernel }) };
    });
    const described = `${describeConfig(config)}, ${backend.description}`;
    log.info({ config: described }, `network config: ${described}`);

    const keeper = (this.keeper = new LeaseKeeper({
      ...etcd,
      config,
      publicIp,
      ttlSeconds: opts.subnetLeaseTtl,
      events: {
        onLeasesChanged: () => this.reconciler?.leasesChanged(),
        onSubnetChanged: (old, next) => subnetChanged(old, next),
        onFatal: (err) => this.fail(err),
      },
    }));
    const attrs = (setup: BackendSetup): LeaseAttrs => ({ PublicIP: publicIp, ...setup.attrs, NodeName: opts.nodeName });
    const reconciler = (this.reconciler = new KernelReconciler({
      kernel,
      backend,
      iptables,
      underlay,
      network: config.network,
      ipMasq: opts.ipMasq,
      reconcileIntervalMs: opts.reconcileIntervalMs,
      remotes: () => keeper.remotes(),
      onSetupChanged: (setup) => keeper.updateAttrs(attrs(setup)),
      log,
      metrics,
      signal,
    }));

    const writeFiles = (subnet: Cidr) =>
      writeSubnetFiles({ subnetFile: opts.subnetFile, dockerOptsFile: opts.dockerOptsFile }, { network: config.network, subnet, mtu: reconciler.mtu, ipMasq: opts.ipMasq });
    /**
     * The lease came back with another subnet: undo the old programming,
     * configure the new subnet, rewrite subnet.env and exit non-zero so the
     * service manager restarts Docker with it.
     */
    const subnetChanged = async (old: Lease, next: Lease) => {
      await reconciler.moveTo(next.subnet);
      await writeFiles(next.subnet);
      this.fail(new FatalError(`subnet changed from ${old.subnet.toString()} to ${next.subnet.toString()}; wrote ${opts.subnetFile}, restart Docker with it`, EXIT_SUBNET_CHANGED));
    };

    const previous = await readPreviousSubnet(opts.subnetFile);
    // A full network is known before any device exists: fail without touching the host.
    await keeper.ensureRoom(previous);
    const setup = await reconciler.ensureDevice();
    const own = await keeper.acquire(attrs(setup), previous);
    log.info({ subnet: own.subnet.toString(), leaseId: own.leaseId }, `leased subnet ${own.subnet.toString()}`);

    await reconciler.configure(own.subnet);
    await keeper.refresh();
    await reconciler.listen();
    await reconciler.reconcileNow();
    await writeFiles(own.subnet);
    this.ready = true;
    log.info({ subnetFile: opts.subnetFile }, `wrote ${opts.subnetFile}; ready`);
    return { keeper, reconciler };
  }

  private fail(err: FatalError): void {
    this.fatal ??= err;
    this.stop.abort();
  }

  private onRequestSocketError(err: Error): void {
    if (this.reconciler) this.reconciler.onRequestSocketError(err);
    else this.log.warn({ err: err.message }, err.message);
  }
}
