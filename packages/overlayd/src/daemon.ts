import type { Server } from 'node:http';
import {
  Backoff,
  FatalError,
  checkKernelPrerequisites,
  createLogger,
  createRegistry,
  describeMissing,
  detectBackend,
  isAbort,
  sleep,
  startHealthServer,
  type Cidr,
  type IptablesBackend,
  type Logger,
} from '@pilot/common';
import { createBackend, type Backend, type BackendSetup } from './backend/index.js';
import { ConfigError, describeConfig, parseNetworkConfig, subnetCount, type NetworkConfig } from './config.js';
import { renewIntervalSeconds, type OverlaydOptions } from './flags.js';
import { syncRules } from './ipmasq.js';
import { Debouncer } from './debounce.js';
import { repairReason, type EventScope, type KernelEvent } from './kernelevents.js';
import { KernelWatcher } from './kernelwatch.js';
import { chooseSubnet, sameAttrs, subnetKeyName, type Lease, type LeaseAttrs } from './lease.js';
import { Metrics } from './metrics.js';
import { Kernel, KernelError } from './netlink.js';
import { diffEntries, diffSize, routeKey, type EntryDiff } from './reconcile.js';
import { Registry, type LeaseEvent } from './registry.js';
import { readPreviousSubnet, writeSubnetFiles } from './subnetfile.js';
import { chooseUnderlay } from './underlay.js';
import type { Underlay } from './backend/index.js';

/** Exit status when the lease came back with another subnet: the service manager restarts Docker with the new subnet.env. */
export const EXIT_SUBNET_CHANGED = 3;

/** A lost race for a subnet is retried this many times before giving up. */
const ACQUIRE_ATTEMPTS = 20;

/** How long after the first relevant netlink event the repair runs: long enough to take in a burst (a device going takes its routes and neighbours with it). */
const EVENT_REPAIR_DELAY_MS = 150;

/**
 * The daemon: wait for the network config, lease a subnet, set up the
 * backend, write subnet.env, then keep the kernel in line with the leases
 * (etcd watch, netlink events, periodic reconcile) and keep the lease alive
 * until stopped.
 * Every change to kernel or iptables state goes through one queue, so the
 * watch, the periodic reconcile and lease recovery never interleave.
 */
export class Overlayd {
  private readonly log: Logger;
  private readonly promRegistry = createRegistry('overlayd');
  private readonly metrics = new Metrics(this.promRegistry);
  private readonly kernel = new Kernel({ onSocketError: (err) => this.onRequestSocketError(err) });
  /** The request socket failed and no reconcile has succeeded since: one log line and one early repair per episode. */
  private requestSocketFailed = false;
  private watcher: KernelWatcher | undefined;
  private readonly eventRepair = new Debouncer(EVENT_REPAIR_DELAY_MS, () => this.queueEventRepair());
  /** Why the coming event repair runs (the first few), and how many reasons came in. */
  private eventReasons: string[] = [];
  private eventReasonCount = 0;
  private eventRepairQueued = false;
  /** One line per lost-events episode, not one per ENOBUFS. */
  private lostReported = false;
  private registry!: Registry;
  private config!: NetworkConfig;
  private backend!: Backend;
  private setup!: BackendSetup;
  private underlay!: Underlay;
  private iptables!: IptablesBackend;
  private publicIp = '';
  private own: Lease | undefined;
  /** Every lease known from etcd, keyed by key name (`10.1.5.0-24`). */
  private leases = new Map<string, Lease>();
  private queue: Promise<unknown> = Promise.resolve();
  private reconcileScheduled = false;
  private ready = false;
  private lastError: string | undefined;
  private server: Server | undefined;
  private readonly reportedSkips = new Set<string>();
  private readonly reportedConflicts = new Set<string>();
  /** Set when the daemon must end with a status (lease lost for good, subnet changed). */
  private fatal: FatalError | undefined;
  private readonly stop = new AbortController();

  constructor(private readonly opts: OverlaydOptions) {
    this.log = createLogger('overlayd');
  }

  /** Runs until the signal aborts (exit 0) or a fatal condition (thrown FatalError). */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.stop.abort(), { once: true });
    const s = this.stop.signal;
    try {
      await this.start(s);
      if (s.aborted) return;
      await Promise.all([this.watchLoop(s), this.renewLoop(s), this.reconcileLoop(s)]);
      if (this.fatal) throw this.fatal;
    } finally {
      this.stop.abort();
      this.watcher?.close();
      this.eventRepair.cancel();
      this.server?.close();
      this.registry?.close();
      this.kernel.close();
    }
  }

  private async start(s: AbortSignal): Promise<void> {
    const missing = await checkKernelPrerequisites(['ip_forward']);
    if (missing.length) throw new FatalError(describeMissing(missing));
    const brnf = await checkKernelPrerequisites(['bridge-nf-call-iptables']);
    // overlayd starts before Docker, when br_netfilter may not be loaded yet: only a warning.
    if (brnf.length) this.log.warn({ missing: brnf.map((m) => m.problem) }, describeMissing(brnf));

    const [links, addrs, defIf] = await Promise.all([this.kernel.links(), this.kernel.addresses(), this.kernel.defaultRouteIfindex()]);
    const chosen = chooseUnderlay(links, addrs, defIf, { iface: this.opts.iface, publicIp: this.opts.publicIp });
    this.underlay = chosen.underlay;
    this.publicIp = chosen.publicIp;
    this.log.info({ iface: this.underlay.name, ip: this.underlay.ip, publicIp: this.publicIp, mtu: this.underlay.mtu }, `using interface ${this.underlay.name}, public IP ${this.publicIp}`);
    this.iptables = await detectBackend();

    if (this.opts.healthzPort) {
      this.server = await startHealthServer({
        port: this.opts.healthzPort,
        host: this.opts.healthzIp,
        registry: this.promRegistry,
        healthz: () => ({ ok: !this.fatal && !this.lastError, message: this.lastError ?? (this.own ? `subnet ${this.own.subnet.toString()}` : 'starting') }),
        readyz: () => ({ ok: this.ready && !this.fatal, message: this.ready ? `subnet ${this.own?.subnet.toString()}` : 'no subnet.env yet' }),
      });
    }

    this.registry = new Registry(this.opts.etcdEndpoints, this.opts.etcdPrefix);
    this.config = await this.waitForConfig(s);
    this.log.info({ config: describeConfig(this.config) }, `network config: ${describeConfig(this.config)}`);
    if (this.config.backend.type === 'host-gw' && this.publicIp !== this.underlay.ip) {
      throw new FatalError(`host-gw needs the public IP (${this.publicIp}) to be the address of ${this.underlay.name} (${this.underlay.ip}); it cannot work through NAT`);
    }
    const previous = await readPreviousSubnet(this.opts.subnetFile);
    // A full network is known before any device exists: fail without touching the host.
    const before = await this.etcdRetry(s, 'list leases', () => this.registry.listLeases());
    if (chooseSubnet({ config: this.config, leases: before.leases, publicIp: this.publicIp, previous }).kind === 'full') throw this.fullError();

    this.backend = createBackend(this.config.backend, this.underlay, this.kernel);
    this.setup = await this.backend.ensureDevice();
    this.own = await this.etcdRetry(s, 'acquire a subnet lease', () => this.acquire(previous));
    this.log.info({ subnet: this.own.subnet.toString(), leaseId: this.own.leaseId }, `leased subnet ${this.own.subnet.toString()}`);

    await this.backend.configureLocal(this.setup, this.own.subnet, this.config.network);
    await syncRules(this.iptables, { network: this.config.network, subnet: this.own.subnet, ipMasq: this.opts.ipMasq });
    const listing = await this.etcdRetry(s, 'list leases', () => this.registry.listLeases());
    this.resetLeases(listing.leases);
    // Listening before the first reconcile reads the kernel: nothing changed after that read goes unseen.
    this.watcher = new KernelWatcher({
      onEvent: (e) => this.onKernelEvent(e),
      onLost: (why) => this.onEventsLost(why),
      onResumed: () => {
        this.log.info('listening to netlink events again; reconciling what changed meanwhile');
        this.noteEventReason('netlink event reader listening again');
      },
    });
    await this.watcher.start();
    await this.serial(() => this.reconcile());
    await this.writeFiles();
    this.ready = true;
    this.log.info({ subnetFile: this.opts.subnetFile }, `wrote ${this.opts.subnetFile}; ready`);
  }

  private attrs(): LeaseAttrs {
    return { PublicIP: this.publicIp, ...this.setup.attrs, NodeName: this.opts.nodeName };
  }

  private async writeFiles(): Promise<void> {
    await writeSubnetFiles(
      { subnetFile: this.opts.subnetFile, dockerOptsFile: this.opts.dockerOptsFile },
      { network: this.config.network, subnet: this.own!.subnet, mtu: this.setup.mtu, ipMasq: this.opts.ipMasq },
    );
  }

  /** Calls fn until it succeeds, logging etcd trouble with backoff; fatal errors pass through. */
  private async etcdRetry<T>(s: AbortSignal, what: string, fn: () => Promise<T>): Promise<T> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof FatalError || s.aborted) throw err;
        this.metrics.etcdErrors.inc();
        const delay = backoff.next();
        this.log.warn({ err: (err as Error).message, retryInMs: delay }, `etcd: could not ${what}, retrying: ${(err as Error).message}`);
        await sleep(delay, s);
      }
    }
  }

  private async waitForConfig(s: AbortSignal): Promise<NetworkConfig> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 5_000 });
    for (;;) {
      const text = await this.etcdRetry(s, `read ${this.registry.configKey}`, () => this.registry.getConfig());
      if (text !== undefined) {
        try {
          return parseNetworkConfig(text);
        } catch (err) {
          if (err instanceof ConfigError) throw new FatalError(`${this.registry.configKey}: ${err.message}`);
          throw err;
        }
      }
      const delay = backoff.next();
      this.log.warn({ key: this.registry.configKey }, `waiting for the network config at ${this.registry.configKey} (etcdctl put ${this.registry.configKey} '{"Network":"10.1.0.0/16"}')`);
      await sleep(delay, s);
    }
  }

  /**
   * Leases a subnet by lease.ts's policy, in etcd transactions; a lost race
   * (another host took the subnet between our list and our write) is retried.
   */
  private async acquire(previous: Cidr | undefined): Promise<Lease> {
    for (let attempt = 1; attempt <= ACQUIRE_ATTEMPTS; attempt++) {
      const { leases } = await this.registry.listLeases();
      const choice = chooseSubnet({ config: this.config, leases, publicIp: this.publicIp, previous });
      let got: Lease | undefined;
      switch (choice.kind) {
        case 'full':
          throw this.fullError();
        case 'reuse': {
          const l = choice.lease;
          // Same attributes and a live etcd lease: keep it as it is (no write, no event for the other hosts).
          if (sameAttrs(l.attrs, this.attrs()) && l.leaseId !== '0' && (await this.registry.keepAlive(l.leaseId)) > 0) {
            got = l;
          } else {
            got = await this.registry.rewriteLease(l, this.attrs(), this.opts.subnetLeaseTtl);
          }
          break;
        }
        case 'previous':
        case 'random':
          got = await this.registry.createLease(choice.subnet, this.attrs(), this.opts.subnetLeaseTtl);
          break;
      }
      if (got) return got;
      this.log.info({ attempt }, 'lost a race for a subnet to another host; choosing again');
      await sleep(Math.floor(Math.random() * 200));
    }
    throw new FatalError(`could not lease a subnet after ${ACQUIRE_ATTEMPTS} attempts: other hosts kept taking the chosen one`);
  }

  private fullError(): FatalError {
    return new FatalError(
      `network ${this.config.network.toString()} is full: all ${subnetCount(this.config)} /${this.config.subnetLen} subnets between SubnetMin and SubnetMax are leased`,
    );
  }

  private resetLeases(list: readonly Lease[]): void {
    this.leases = new Map(list.map((l) => [subnetKeyName(l.subnet), l]));
    this.metrics.leasesKnown.set(this.leases.size);
  }

  /** Runs fn after every earlier queued change. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private scheduleReconcile(): void {
    if (this.reconcileScheduled) return;
    this.reconcileScheduled = true;
    void this.serial(async () => {
      this.reconcileScheduled = false;
      await this.reconcile();
    }).catch((err: Error) => this.recordError('reconcile', err));
  }

  private eventScope(): EventScope {
    const { deviceIndex, deviceName } = this.setup;
    const device = deviceIndex !== undefined && deviceName !== undefined ? { index: deviceIndex, name: deviceName } : undefined;
    return {
      device,
      // The vxlan backend's address (configureLocal): the subnet's .0 as a /32.
      localAddress: device && this.own ? this.own.subnet.network : undefined,
      underlayIndex: this.underlay.index,
      // Read at each event: a failed request socket is replaced by one on another port.
      selfPort: this.kernel.port,
    };
  }

  private onKernelEvent(e: KernelEvent): void {
    const why = repairReason(e, this.eventScope());
    if (!why) return;
    this.noteEventReason(why);
  }

  /** The event socket overflowed or failed: what it would have said is unknown, so everything is checked. */
  private onEventsLost(why: string): void {
    if (!this.lostReported) {
      this.lostReported = true;
      this.log.warn({ reason: why }, `${why}; reconciling kernel entries (the periodic reconcile covers while events are missing)`);
    }
    this.noteEventReason(why);
  }

  /**
   * The request socket failed under overlayd (the request in flight, if any,
   * failed with it, and the next one opens a new socket). A repair soon puts
   * back whatever that request was doing, rather than the next periodic
   * reconcile, which may be an hour away.
   */
  private onRequestSocketError(err: Error): void {
    if (this.requestSocketFailed) return;
    this.requestSocketFailed = true;
    this.log.warn({ err: err.message }, `${err.message}; opening a new one and reconciling kernel entries`);
    this.noteEventReason('netlink request socket failed');
  }

  private noteEventReason(why: string): void {
    if (this.stop.signal.aborted) return;
    if (this.eventReasons.length < 5) this.eventReasons.push(why);
    this.eventReasonCount++;
    this.eventRepair.trigger();
  }

  /** After the debounce: one repair for the whole burst, in the change queue. */
  private queueEventRepair(): void {
    if (this.eventRepairQueued) return;
    this.eventRepairQueued = true;
    void this.serial(async () => {
      this.eventRepairQueued = false;
      const reasons = this.eventReasons;
      const count = this.eventReasonCount;
      this.eventReasons = [];
      this.eventReasonCount = 0;
      this.lostReported = false;
      if (this.stop.signal.aborted || !this.own) return;
      const n = (await this.repairDevice()) + (await this.reconcile());
      if (n === 0) return;
      this.metrics.reconcileRepairs.inc(n);
      this.metrics.eventRepairs.inc(n);
      const more = count > 1 ? ` and ${count - 1} more event${count > 2 ? 's' : ''}` : '';
      this.log.info({ repairs: n, reasons }, `repaired ${n} kernel entries after: ${reasons[0]}${more}`);
    }).catch((err: Error) => this.recordError('event-triggered reconcile', err));
  }

  private recordError(what: string, err: Error): void {
    this.lastError = `${what}: ${err.message}`;
    this.log.error({ err: err.message }, `${what} failed: ${err.message}`);
  }

  /**
   * Brings the kernel in line with the leases: desired entries from every
   * remote lease, actual entries from the kernel (ours only), apply the diff.
   * Removals first (a stale route must not shadow a new one), then
   * neighbour, FDB and route additions in that order so the kernel never has
   * to resolve a gateway on the vxlan device. Returns how many kernel
   * changes it made.
   */
  private async reconcile(): Promise<number> {
    if (!this.own) return 0;
    const ownKey = subnetKeyName(this.own.subnet);
    const remotes = [...this.leases].filter(([k]) => k !== ownKey).map(([, l]) => l);
    const { entries, skipped } = this.backend.desired(remotes, this.setup);
    for (const sk of skipped) {
      const k = `${subnetKeyName(sk.lease.subnet)}:${sk.reason}`;
      if (this.reportedSkips.has(k)) continue;
      this.reportedSkips.add(k);
      this.log.warn({ subnet: sk.lease.subnet.toString(), publicIp: sk.lease.attrs.PublicIP }, `not programming ${sk.lease.subnet.toString()}: ${sk.reason}`);
    }
    const actual = await this.kernel.ownedEntries(this.setup.deviceIndex);
    const diff = diffEntries(entries, actual);
    const n = diffSize(diff) > 0 ? await this.applyDiff(diff) : 0;
    this.metrics.routesProgrammed.set(entries.routes.length);
    this.lastError = undefined;
    this.requestSocketFailed = false;
    return n;
  }

  /**
   * Applies a diff; returns the changes the kernel took (an entry already
   * gone or a route left to its owner is not a change, so a reconcile that
   * keeps meeting the same conflict counts no repairs).
   */
  private async applyDiff(d: EntryDiff): Promise<number> {
    const errors: string[] = [];
    let changed = 0;
    const attempt = async (what: () => Promise<void>) => {
      try {
        await what();
        changed++;
      } catch (err) {
        // ESRCH/ENOENT on removal: already gone, which is what we wanted.
        if (err instanceof KernelError && (err.code === 'ESRCH' || err.code === 'ENOENT')) return;
        errors.push((err as Error).message);
      }
    };
    for (const r of d.routes.del) await attempt(() => this.kernel.delRoute(r));
    for (const x of d.neighs.del) await attempt(() => this.kernel.delNeigh(x));
    for (const x of d.fdb.del) await attempt(() => this.kernel.delFdb(x));
    for (const x of d.neighs.add) await attempt(() => this.kernel.setNeigh(x));
    for (const x of d.fdb.add) await attempt(() => this.kernel.addFdb(x));
    for (const r of d.routes.add) {
      try {
        await this.kernel.addRoute(r);
        changed++;
      } catch (err) {
        if (err instanceof KernelError && err.code === 'EEXIST') {
          // Someone else's route to this subnet (an operator's): never overwrite it, say so once.
          const k = routeKey(r);
          if (!this.reportedConflicts.has(k)) {
            this.reportedConflicts.add(k);
            this.log.warn({ dst: r.dst }, `not adding route ${r.dst}: a route to it that overlayd did not install already exists`);
          }
          continue;
        }
        errors.push((err as Error).message);
      }
    }
    for (const r of d.routes.add) this.log.debug({ route: routeKey(r) }, 'route added');
    for (const r of d.routes.del) this.log.info({ route: routeKey(r) }, `removed route ${r.dst} via ${r.gateway}`);
    if (errors.length) throw new Error(`${errors.length} kernel changes failed: ${errors.slice(0, 3).join('; ')}`);
    return changed;
  }

  private onLeaseEvent(e: LeaseEvent): void {
    if (e.type === 'invalid') {
      this.log.warn({ key: e.key }, `ignoring ${e.key}: ${e.error}`);
      return;
    }
    const own = this.own && subnetKeyName(this.own.subnet);
    if (e.type === 'put') {
      const key = subnetKeyName(e.lease.subnet);
      this.leases.set(key, e.lease);
      if (key === own) {
        if (e.lease.attrs.PublicIP !== this.publicIp) this.leaseLost(`${key} was taken over by ${e.lease.attrs.PublicIP}`);
        else this.own = e.lease;
      } else {
        this.log.info({ subnet: e.lease.subnet.toString(), publicIp: e.lease.attrs.PublicIP, node: e.lease.attrs.NodeName }, `lease ${key} from ${e.lease.attrs.PublicIP}`);
      }
    } else {
      const key = subnetKeyName(e.subnet);
      this.leases.delete(key);
      if (key === own) this.leaseLost(`${key} was deleted or expired`);
      else this.log.info({ subnet: e.subnet.toString() }, `lease ${key} removed`);
    }
    this.metrics.leasesKnown.set(this.leases.size);
    this.scheduleReconcile();
  }

  /** Lists, then watches from the listing's revision + 1; any watch failure (compaction included) relists and diffs. */
  private async watchLoop(s: AbortSignal): Promise<void> {
    while (!s.aborted) {
      try {
        const listing = await this.etcdRetry(s, 'list leases', () => this.registry.listLeases());
        // Every (re)list replaces the known set and diffs against the kernel: leases
        // that came or went between listings (or while the watch was down) are not missed.
        this.resetLeases(listing.leases);
        const own = this.own && subnetKeyName(this.own.subnet);
        if (own && !this.leases.has(own) && !this.reacquiring) this.leaseLost(`${own} is no longer in etcd`);
        this.scheduleReconcile();
        let fail!: (err: Error) => void;
        const failed = new Promise<Error>((resolve) => (fail = resolve));
        const handle = await this.registry.watchLeases(
          String(BigInt(listing.revision) + 1n),
          (e) => this.onLeaseEvent(e),
          (err) => fail(err),
        );
        const aborted = new Promise<void>((resolve) => s.addEventListener('abort', () => resolve(), { once: true }));
        const err = await Promise.race([failed, aborted]);
        // A watch that failed was already cancelled by etcd; cancelling it again never settles (etcd3 waits for an id it will not get).
        if (!err) await handle.cancel().catch(() => undefined);
        if (err) {
          this.metrics.etcdErrors.inc();
          this.log.warn({ err: err.message }, `lease watch ended (${err.message}); listing again`);
          await sleep(200, s);
        }
      } catch (err) {
        if (isAbort(err, s)) return;
        this.metrics.etcdErrors.inc();
        this.log.warn({ err: (err as Error).message }, `lease watch failed: ${(err as Error).message}`);
        await sleep(1_000, s).catch(() => undefined);
      }
    }
  }

  /** Keeps this host's etcd lease alive (no write to the key: other hosts see no event). */
  private async renewLoop(s: AbortSignal): Promise<void> {
    const every = renewIntervalSeconds(this.opts.subnetLeaseTtl) * 1000;
    const retryMs = Math.min(60_000, every / 2);
    let wait = every;
    while (!s.aborted) {
      try {
        await sleep(wait, s);
      } catch {
        return;
      }
      const own = this.own;
      if (!own) continue;
      try {
        const ttl = await this.registry.keepAlive(own.leaseId);
        if (ttl > 0) {
          this.metrics.leaseRenewals.inc();
          this.log.debug({ ttl }, 'lease renewed');
        } else if (this.own === own) {
          this.leaseLost(`etcd lease of ${subnetKeyName(own.subnet)} expired`);
        }
        wait = every;
      } catch (err) {
        this.metrics.etcdErrors.inc();
        this.log.warn({ err: (err as Error).message }, `could not renew the lease, retrying in ${Math.round(retryMs / 1000)}s: ${(err as Error).message}`);
        wait = retryMs;
      }
    }
  }

  private reacquiring = false;

  /**
   * This host's lease vanished while running (expired during a partition,
   * deleted by hand, taken over). Lease again, preferring the same subnet; if
   * it comes back different, undo the old programming, rewrite subnet.env
   * and exit non-zero so the service manager restarts Docker with it.
   */
  private leaseLost(why: string): void {
    if (this.reacquiring || this.stop.signal.aborted) return;
    this.reacquiring = true;
    this.log.warn({ reason: why }, `own lease lost: ${why}; leasing again`);
    const old = this.own!;
    void this.serial(async () => {
      const s = this.stop.signal;
      const next = await this.etcdRetry(s, 'lease again', () => this.acquire(old.subnet));
      this.own = next;
      this.leases.set(subnetKeyName(next.subnet), next);
      // A key deleted by hand leaves its etcd lease alive with nothing on it for a whole TTL.
      if (old.leaseId !== next.leaseId && old.leaseId !== '0') await this.registry.revokeQuietly(old.leaseId);
      if (next.subnet.equals(old.subnet)) {
        this.log.info({ subnet: next.subnet.toString() }, `leased ${next.subnet.toString()} again`);
        return;
      }
      this.log.warn({ old: old.subnet.toString(), subnet: next.subnet.toString() }, `subnet changed from ${old.subnet.toString()} to ${next.subnet.toString()}`);
      await this.applyDiff(diffEntries({ routes: [], neighs: [], fdb: [] }, await this.kernel.ownedEntries(this.setup.deviceIndex)));
      await this.backend.configureLocal(this.setup, next.subnet, this.config.network);
      await syncRules(this.iptables, { network: this.config.network, subnet: next.subnet, ipMasq: this.opts.ipMasq });
      await this.writeFiles();
      this.fatal = new FatalError(
        `subnet changed from ${old.subnet.toString()} to ${next.subnet.toString()}; wrote ${this.opts.subnetFile}, restart Docker with it`,
        EXIT_SUBNET_CHANGED,
      );
      this.stop.abort();
    })
      .catch((err: Error) => {
        if (this.stop.signal.aborted) return;
        this.fatal = err instanceof FatalError ? err : new FatalError(`could not lease a subnet again: ${err.message}`);
        this.stop.abort();
      })
      .finally(() => {
        this.reacquiring = false;
      });
  }

  /**
   * Periodically: repair the device (recreated if deleted; a new MAC goes
   * into the lease), the local address, the kernel entries and the iptables
   * chains. Catches what no etcd event announces: entries changed by hand
   * and leftovers from before a restart.
   */
  private async reconcileLoop(s: AbortSignal): Promise<void> {
    while (!s.aborted) {
      try {
        await sleep(this.opts.reconcileIntervalMs, s);
      } catch {
        return;
      }
      await this.serial(async () => {
        if (s.aborted || !this.own) return;
        const device = await this.repairDevice();
        let rules = 0;
        if (await syncRules(this.iptables, { network: this.config.network, subnet: this.own.subnet, ipMasq: this.opts.ipMasq })) {
          rules = 1;
          this.log.info('iptables chains were missing or changed; restored');
        }
        const entries = await this.reconcile();
        if (entries > 0) this.log.info({ repairs: entries }, `reconcile repaired ${entries} kernel entries`);
        this.metrics.reconcileRepairs.inc(device + rules + entries);
      }).catch((err: Error) => this.recordError('periodic reconcile', err));
    }
  }

  /**
   * The backend's device and local address: a deleted device is recreated
   * (its new MAC goes into the lease), one set down is set up again, a
   * deleted address put back. Returns the repairs: 1 for a recreated device,
   * plus the address changes.
   */
  private async repairDevice(): Promise<number> {
    const own = this.own!;
    const setup = await this.backend.ensureDevice();
    const changed = setup.deviceIndex !== this.setup.deviceIndex || JSON.stringify(setup.attrs) !== JSON.stringify(this.setup.attrs);
    this.setup = setup;
    if (changed) {
      this.log.warn({ device: setup.deviceName, index: setup.deviceIndex }, `backend device ${setup.deviceName ?? ''} was recreated; updating the lease`);
      const updated = await this.registry.rewriteLease(own, this.attrs(), this.opts.subnetLeaseTtl);
      if (updated) this.own = updated;
    }
    const address = await this.backend.configureLocal(this.setup, this.own!.subnet, this.config.network);
    return (changed ? 1 : 0) + address;
  }
}
