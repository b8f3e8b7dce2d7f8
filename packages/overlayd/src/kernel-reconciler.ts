import { BoundedFrequencyRunner, type Cidr, type IptablesBackend, type Logger } from '@pilot/common';
import { applyDiff } from './apply.js';
import type { Backend, BackendSetup } from './backend/backend.js';
import { syncRules } from './ipmasq.js';
import { repairReason, type EventScope, type KernelEvent } from './kernelevents.js';
import { KernelWatcher } from './kernelwatch.js';
import { subnetKeyName, type Lease } from './lease.js';
import type { Metrics } from './metrics.js';
import type { Kernel } from './netlink.js';
import { diffEntries, diffSize, emptyEntries, routeKey, type EntryDiff } from './reconcile.js';
import type { Underlay } from './underlay.js';

/**
 * The kernel side: keeps the kernel in line with the leases. Desired entries
 * come from the backend (pure, from the remote leases), actual ones from the
 * kernel (overlayd's own only); reconcile.ts diffs them and apply.ts applies
 * the diff through the netlink edge. Three bounded-frequency runners say
 * when, and one queue makes sure no two changes interleave:
 *
 * - **lease sync**: at once after the leases changed; the kernel entries only.
 * - **event repair**: 150 ms after the first rtnetlink event that touched
 *   overlayd's entries (a burst is one repair, a steady stream one every
 *   150 ms); the device, its address and the kernel entries.
 * - **periodic reconcile** (`--reconcile-interval` after the previous one
 *   ended): the device, its address, the iptables chains and the kernel
 *   entries, for what no event announces.
 *
 * It never touches etcd; a recreated device's new attributes go out through
 * `onSetupChanged`.
 */

/** How long after the first relevant netlink event the repair runs: long enough to take in a burst (a device going takes its routes and neighbours with it). */
const EVENT_REPAIR_DELAY_MS = 150;

/** The reasons a repair log line names; the rest are counted. */
const REASONS_LOGGED = 5;

export interface KernelReconcilerOptions {
  kernel: Kernel;
  backend: Backend;
  iptables: IptablesBackend;
  underlay: Underlay;
  network: Cidr;
  ipMasq: boolean;
  reconcileIntervalMs: number;
  /** The leases to program (every known lease but this host's), read at each reconcile. */
  remotes: () => readonly Lease[];
  /** The backend's device came back with other attributes (recreated, with a new MAC): the lease must carry them. */
  onSetupChanged: (setup: BackendSetup) => Promise<void>;
  log: Logger;
  metrics: Metrics;
  signal: AbortSignal;
}

export class KernelReconciler {
  private setup: BackendSetup | undefined;
  private subnet: Cidr | undefined;
  private watcher: KernelWatcher | undefined;
  /** Every kernel change runs in this queue, one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Aborted with the daemon's signal, or once the host moved to another subnet: no more changes. */
  private readonly done = new AbortController();
  private readonly leaseSync: BoundedFrequencyRunner;
  private readonly eventRepair: BoundedFrequencyRunner;
  private readonly periodic: BoundedFrequencyRunner;
  /** Why the coming event repair runs (the first few), and how many reasons came in. */
  private repairReasons: string[] = [];
  private repairReasonCount = 0;
  /** One log line per lost-events episode (ended by the next event repair), not one per ENOBUFS. */
  private lostReported = false;
  /** One log line per request-socket failure episode (ended by the next successful reconcile). */
  private requestSocketFailed = false;
  private readonly reportedSkips = new Set<string>();
  private readonly reportedConflicts = new Set<string>();
  /** The last reconcile's failure, until one succeeds (for /healthz). */
  lastError: string | undefined;

  constructor(private readonly opts: KernelReconcilerOptions) {
    const signal = this.done.signal;
    if (opts.signal.aborted) this.done.abort();
    else opts.signal.addEventListener('abort', () => this.done.abort(), { once: true });
    const onRequest = { minIntervalMs: 0, maxIntervalMs: Infinity, runAtStart: false, signal };
    this.leaseSync = new BoundedFrequencyRunner(() => this.serial(() => this.syncEntries()).then(() => undefined), {
      ...onRequest,
      onError: (err) => this.recordError('reconcile', err),
    });
    this.eventRepair = new BoundedFrequencyRunner(() => this.serial(() => this.repairAfterEvents()), {
      ...onRequest,
      onError: (err) => this.recordError('event-triggered reconcile', err),
    });
    this.periodic = new BoundedFrequencyRunner(() => this.serial(() => this.fullCheck()), {
      minIntervalMs: 0,
      maxIntervalMs: opts.reconcileIntervalMs,
      runAtStart: false,
      signal,
      onError: (err) => this.recordError('periodic reconcile', err),
    });
  }

  /** MTU for pods, once the device is set up. */
  get mtu(): number {
    if (!this.setup) throw new Error('backend device not set up yet');
    return this.setup.mtu;
  }

  /** Creates (or repairs) the backend's device. Before the lease: its attributes (the VTEP MAC) go into it. */
  async ensureDevice(): Promise<BackendSetup> {
    this.setup = await this.opts.backend.ensureDevice();
    return this.setup;
  }

  /** Configures this host's side for its subnet: the device's local address and the iptables chains. */
  async configure(subnet: Cidr): Promise<void> {
    this.subnet = subnet;
    await this.opts.backend.configureLocal(this.setup!, subnet, this.opts.network);
    await syncRules(this.opts.iptables, this.rulesInput(subnet));
  }

  /** Starts listening to netlink events. Before the first reconcile reads the kernel, so nothing changed after that read goes unseen. */
  async listen(): Promise<void> {
    this.watcher = new KernelWatcher({
      onEvent: (e) => this.onKernelEvent(e),
      onLost: (why) => this.onEventsLost(why),
      onResumed: () => {
        this.opts.log.info('listening to netlink events again; reconciling what changed meanwhile');
        this.noteRepairReason('netlink event reader listening again');
      },
    });
    await this.watcher.start();
  }

  /** One reconcile of the kernel entries now (after any change in progress); a failure is thrown. */
  async reconcileNow(): Promise<void> {
    await this.serial(() => this.syncEntries());
  }

  /** The leases changed: reconcile the kernel entries as soon as possible (requests in between coalesce). */
  leasesChanged(): void {
    this.leaseSync.run();
  }

  /**
   * The host's lease came back with another subnet: remove every entry
   * programmed for the old one and configure the new one, after any change
   * in progress. Nothing is changed after this; the daemon exits.
   */
  async moveTo(subnet: Cidr): Promise<void> {
    await this.serial(async () => {
      this.done.abort();
      await this.apply(diffEntries(emptyEntries(), await this.opts.kernel.ownedEntries(this.setup!.deviceIndex)));
      await this.configure(subnet);
    });
  }

  /** Keeps the kernel in line until the signal aborts (or moveTo). */
  async run(): Promise<void> {
    await Promise.all([this.leaseSync.loop(), this.eventRepair.loop(), this.periodic.loop()]);
  }

  close(): void {
    this.watcher?.close();
  }

  /**
   * The request socket failed under overlayd (the request in flight, if any,
   * failed with it, and the next one opens a new socket). A repair soon puts
   * back whatever that request was doing, rather than the next periodic
   * reconcile, which may be an hour away.
   */
  onRequestSocketError(err: Error): void {
    if (this.requestSocketFailed) return;
    this.requestSocketFailed = true;
    this.opts.log.warn({ err: err.message }, `${err.message}; opening a new one and reconciling kernel entries`);
    this.noteRepairReason('netlink request socket failed');
  }

  private rulesInput(subnet: Cidr) {
    return { network: this.opts.network, subnet, ipMasq: this.opts.ipMasq };
  }

  /** Runs fn after every earlier queued change, unless the reconciler is done by then. */
  private serial<T>(fn: () => Promise<T>): Promise<T | undefined> {
    const run = () => (this.done.signal.aborted ? Promise.resolve(undefined) : fn());
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private recordError(what: string, err: unknown): void {
    const message = (err as Error).message;
    this.lastError = `${what}: ${message}`;
    this.opts.log.error({ err: message }, `${what} failed: ${message}`);
  }

  private eventScope(): EventScope {
    const { deviceIndex, deviceName } = this.setup ?? {};
    const device = deviceIndex !== undefined && deviceName !== undefined ? { index: deviceIndex, name: deviceName } : undefined;
    return {
      device,
      // The vxlan backend's address (configureLocal): the subnet's .0 as a /32.
      localAddress: device && this.subnet ? this.subnet.network : undefined,
      underlayIndex: this.opts.underlay.index,
      // Read at each event: a failed request socket is replaced by one on another port.
      selfPort: this.opts.kernel.port,
    };
  }

  private onKernelEvent(e: KernelEvent): void {
    const why = repairReason(e, this.eventScope());
    if (why) this.noteRepairReason(why);
  }

  /** The event socket overflowed or failed: what it would have said is unknown, so everything is checked. */
  private onEventsLost(why: string): void {
    if (!this.lostReported) {
      this.lostReported = true;
      this.opts.log.warn({ reason: why }, `${why}; reconciling kernel entries (the periodic reconcile covers while events are missing)`);
    }
    this.noteRepairReason(why);
  }

  private noteRepairReason(why: string): void {
    if (this.done.signal.aborted) return;
    if (this.repairReasons.length < REASONS_LOGGED) this.repairReasons.push(why);
    this.repairReasonCount++;
    this.eventRepair.runSoon(EVENT_REPAIR_DELAY_MS);
  }

  /** One repair for the events since the last one. */
  private async repairAfterEvents(): Promise<void> {
    const reasons = this.repairReasons;
    const count = this.repairReasonCount;
    this.repairReasons = [];
    this.repairReasonCount = 0;
    this.lostReported = false;
    if (!this.subnet) return;
    const n = (await this.repairDevice()) + (await this.syncEntries());
    if (n === 0) return;
    this.opts.metrics.reconcileRepairs.inc(n);
    this.opts.metrics.eventRepairs.inc(n);
    const more = count > 1 ? ` and ${count - 1} more event${count > 2 ? 's' : ''}` : '';
    this.opts.log.info({ repairs: n, reasons }, `repaired ${n} kernel entries after: ${reasons[0] ?? 'netlink events'}${more}`);
  }

  /**
   * Periodically: the device (recreated if deleted; a new MAC goes into the
   * lease), the local address, the iptables chains and the kernel entries.
   * Catches what no event announces: entries changed by hand and leftovers
   * from before a restart.
   */
  private async fullCheck(): Promise<void> {
    if (!this.subnet) return;
    const device = await this.repairDevice();
    let rules = 0;
    if (await syncRules(this.opts.iptables, this.rulesInput(this.subnet))) {
      rules = 1;
      this.opts.log.info('iptables chains were missing or changed; restored');
    }
    const entries = await this.syncEntries();
    if (entries > 0) this.opts.log.info({ repairs: entries }, `reconcile repaired ${entries} kernel entries`);
    this.opts.metrics.reconcileRepairs.inc(device + rules + entries);
  }

  /**
   * The backend's device and local address: a deleted device is recreated
   * (its new attributes go out to the lease), one set down is set up again, a
   * deleted address put back. Returns the repairs: 1 for a recreated device,
   * plus the address changes.
   */
  private async repairDevice(): Promise<number> {
    const before = this.setup!;
    const setup = await this.opts.backend.ensureDevice();
    const changed = setup.deviceIndex !== before.deviceIndex || JSON.stringify(setup.attrs) !== JSON.stringify(before.attrs);
    this.setup = setup;
    if (changed) {
      this.opts.log.warn({ device: setup.deviceName, index: setup.deviceIndex }, `backend device ${setup.deviceName ?? ''} was recreated; updating the lease`);
      await this.opts.onSetupChanged(setup);
    }
    const address = await this.opts.backend.configureLocal(setup, this.subnet!, this.opts.network);
    return (changed ? 1 : 0) + address;
  }

  /** Brings the kernel entries in line with the remote leases; returns how many kernel changes it made. */
  private async syncEntries(): Promise<number> {
    if (!this.subnet) return 0;
    const { entries, skipped } = this.opts.backend.desired(this.opts.remotes(), this.setup!);
    for (const sk of skipped) {
      const k = `${subnetKeyName(sk.lease.subnet)}:${sk.reason}`;
      if (this.reportedSkips.has(k)) continue;
      this.reportedSkips.add(k);
      this.opts.log.warn({ subnet: sk.lease.subnet.toString(), publicIp: sk.lease.attrs.PublicIP }, `not programming ${sk.lease.subnet.toString()}: ${sk.reason}`);
    }
    const actual = await this.opts.kernel.ownedEntries(this.setup!.deviceIndex);
    const diff = diffEntries(entries, actual);
    const n = diffSize(diff) > 0 ? await this.apply(diff) : 0;
    this.opts.metrics.routesProgrammed.set(entries.routes.length);
    this.lastError = undefined;
    this.requestSocketFailed = false;
    return n;
  }

  /** Applies a diff and says what happened; throws when some changes failed (the next reconcile retries them). */
  private async apply(d: EntryDiff): Promise<number> {
    const { log } = this.opts;
    const result = await applyDiff(this.opts.kernel, d);
    for (const r of result.conflicts) {
      // Someone else's route to this subnet (an operator's): never overwritten, said once.
      const k = routeKey(r);
      if (this.reportedConflicts.has(k)) continue;
      this.reportedConflicts.add(k);
      log.warn({ dst: r.dst }, `not adding route ${r.dst}: a route to it that overlayd did not install already exists`);
    }
    for (const r of d.routes.add) log.debug({ route: routeKey(r) }, 'route added');
    for (const r of d.routes.del) log.info({ route: routeKey(r) }, `removed route ${r.dst} via ${r.gateway}`);
    if (result.errors.length) throw new Error(`${result.errors.length} kernel changes failed: ${result.errors.slice(0, 3).join('; ')}`);
    return result.changed;
  }
}
