import { Backoff, FatalError, isAbort, retry, sleep, type Cidr, type Logger } from '@pilot/common';
import { ConfigError, subnetCount, type NetworkConfig } from './config.js';
import { renewIntervalSeconds } from './flags.js';
import { chooseSubnet, sameAttrs, subnetKeyName, type Lease, type LeaseAttrs } from './lease.js';
import type { Metrics } from './metrics.js';
import type { LeaseEvent, LeaseListing, SubnetRegistry } from './registry.js';

/**
 * The lease keeper (flannel's subnet manager): this host's subnet lease and
 * everyone else's, over a SubnetRegistry. It acquires a lease by lease.ts's
 * policy in transactions, keeps it alive, watches every lease (relisting
 * when the watch breaks), and when its own lease is lost, leases again,
 * preferring the same subnet. What the daemon must act on comes out as
 * events. It never touches the kernel.
 */

/** A lost race for a subnet is retried this many times before giving up. */
const ACQUIRE_ATTEMPTS = 20;

/** What every etcd step needs: where, how to report trouble, and when to stop. */
export interface EtcdContext {
  registry: SubnetRegistry;
  log: Logger;
  metrics: Metrics;
  signal: AbortSignal;
}

/** Calls fn until it succeeds, logging etcd trouble with backoff; a FatalError or an abort passes through. */
export function etcdRetry<T>(ctx: EtcdContext, what: string, fn: () => Promise<T>): Promise<T> {
  return retry(() => fn(), {
    initialMs: 200,
    maxMs: 5_000,
    signal: ctx.signal,
    retryable: (err) => !(err instanceof FatalError),
    onError: (err, _attempt, delay) => {
      ctx.metrics.etcdErrors.inc();
      const message = (err as Error).message;
      ctx.log.warn({ err: message, retryInMs: delay }, `etcd: could not ${what}, retrying: ${message}`);
    },
  });
}

/**
 * Waits (with backoff, saying what to put there) until the network config
 * exists, and returns what `parse` makes of it. A ConfigError from `parse`
 * becomes a FatalError naming the key.
 */
export async function waitForNetworkConfig<T>(ctx: EtcdContext, parse: (text: string) => T): Promise<T> {
  const key = ctx.registry.configKey;
  const backoff = new Backoff({ initialMs: 500, maxMs: 5_000 });
  for (;;) {
    const text = await etcdRetry(ctx, `read ${key}`, () => ctx.registry.getConfig());
    if (text !== undefined) {
      try {
        return parse(text);
      } catch (err) {
        if (err instanceof ConfigError) throw new FatalError(`${key}: ${err.message}`);
        throw err;
      }
    }
    const delay = backoff.next();
    ctx.log.warn({ key }, `waiting for the network config at ${key} (etcdctl put ${key} '{"Network":"10.1.0.0/16"}')`);
    await sleep(delay, ctx.signal);
  }
}

export interface LeaseKeeperEvents {
  /** The known leases changed (a watch event or a relist): the kernel should follow. */
  onLeasesChanged(): void;
  /**
   * This host's lease came back with another subnet. The keeper has nothing
   * more to do; the returned promise ends the recovery (a rejection is fatal).
   */
  onSubnetChanged(old: Lease, next: Lease): Promise<void>;
  /** No lease can be had (the network filled up, or leasing again failed): the daemon ends with this. */
  onFatal(err: FatalError): void;
}

export interface LeaseKeeperOptions extends EtcdContext {
  config: NetworkConfig;
  /** This host's identity in the leases. */
  publicIp: string;
  /** TTL of the etcd lease the subnet key is bound to, in seconds. */
  ttlSeconds: number;
  events: LeaseKeeperEvents;
}

export class LeaseKeeper {
  private ownLease: Lease | undefined;
  private attrs: LeaseAttrs | undefined;
  /** Every lease known from etcd, keyed by key name (`10.1.5.0-24`). */
  private leases = new Map<string, Lease>();
  /** Leasing again after this host's lease was lost; at most one at a time. */
  private recovery: Promise<void> | undefined;

  constructor(private readonly opts: LeaseKeeperOptions) {}

  /** This host's lease, once acquired. */
  get own(): Lease | undefined {
    return this.ownLease;
  }

  /** Every known lease but this host's. */
  remotes(): Lease[] {
    const own = this.ownLease && subnetKeyName(this.ownLease.subnet);
    return [...this.leases].filter(([k]) => k !== own).map(([, l]) => l);
  }

  /** Fails with the "network is full" line when no subnet is free for this host, before anything is set up. */
  async ensureRoom(previous: Cidr | undefined): Promise<void> {
    const { leases } = await this.list();
    if (chooseSubnet({ config: this.opts.config, leases, publicIp: this.opts.publicIp, previous }).kind === 'full') throw this.fullError();
  }

  /** Leases a subnet for this host carrying `attrs`, preferring `previous` (the last subnet.env's). */
  async acquire(attrs: LeaseAttrs, previous: Cidr | undefined): Promise<Lease> {
    this.attrs = attrs;
    this.ownLease = await etcdRetry(this.opts, 'acquire a subnet lease', () => this.tryAcquire(previous));
    return this.ownLease;
  }

  /** Reads every lease again; the known set is replaced by the listing. */
  async refresh(): Promise<void> {
    this.reset((await this.list()).leases);
  }

  /** Rewrites this host's lease with new attributes (its vxlan device was recreated with a new MAC). */
  async updateAttrs(attrs: LeaseAttrs): Promise<void> {
    const own = this.ownLease;
    if (!own) throw new Error('no lease to update yet');
    this.attrs = attrs;
    const updated = await this.opts.registry.rewriteLease(own, attrs, this.opts.ttlSeconds);
    if (updated) this.ownLease = updated;
  }

  /** Watches the leases and keeps this host's alive until the signal aborts. */
  async run(): Promise<void> {
    await Promise.all([this.watchLoop(), this.renewLoop()]);
    await this.recovery;
  }

  private list(): Promise<LeaseListing> {
    return etcdRetry(this.opts, 'list leases', () => this.opts.registry.listLeases());
  }

  private reset(list: readonly Lease[]): void {
    this.leases = new Map(list.map((l) => [subnetKeyName(l.subnet), l]));
    this.opts.metrics.leasesKnown.set(this.leases.size);
  }

  private fullError(): FatalError {
    const { config } = this.opts;
    return new FatalError(`network ${config.network.toString()} is full: all ${subnetCount(config)} /${config.subnetLen} subnets between SubnetMin and SubnetMax are leased`);
  }

  /**
   * One round of lease.ts's policy in etcd transactions; a lost race
   * (another host took the subnet between our list and our write) chooses again.
   */
  private async tryAcquire(previous: Cidr | undefined): Promise<Lease> {
    const { registry, config, publicIp, ttlSeconds } = this.opts;
    const attrs = this.attrs!;
    for (let attempt = 1; attempt <= ACQUIRE_ATTEMPTS; attempt++) {
      const { leases } = await registry.listLeases();
      const choice = chooseSubnet({ config, leases, publicIp, previous });
      let got: Lease | undefined;
      switch (choice.kind) {
        case 'full':
          throw this.fullError();
        case 'reuse': {
          const l = choice.lease;
          // Same attributes and a live etcd lease: keep it as it is (no write, no event for the other hosts).
          if (sameAttrs(l.attrs, attrs) && l.leaseId !== '0' && (await registry.keepAlive(l.leaseId)) > 0) {
            got = l;
          } else {
            got = await registry.rewriteLease(l, attrs, ttlSeconds);
          }
          break;
        }
        case 'previous':
        case 'random':
          got = await registry.createLease(choice.subnet, attrs, ttlSeconds);
          break;
      }
      if (got) return got;
      this.opts.log.info({ attempt }, 'lost a race for a subnet to another host; choosing again');
      await sleep(Math.floor(Math.random() * 200));
    }
    throw new FatalError(`could not lease a subnet after ${ACQUIRE_ATTEMPTS} attempts: other hosts kept taking the chosen one`);
  }

  private onLeaseEvent(e: LeaseEvent): void {
    const { log, metrics, publicIp, events } = this.opts;
    if (e.type === 'invalid') {
      log.warn({ key: e.key }, `ignoring ${e.key}: ${e.error}`);
      return;
    }
    const own = this.ownLease && subnetKeyName(this.ownLease.subnet);
    if (e.type === 'put') {
      const key = subnetKeyName(e.lease.subnet);
      this.leases.set(key, e.lease);
      if (key === own) {
        if (e.lease.attrs.PublicIP !== publicIp) this.lost(`${key} was taken over by ${e.lease.attrs.PublicIP}`);
        else this.ownLease = e.lease;
      } else {
        log.info({ subnet: e.lease.subnet.toString(), publicIp: e.lease.attrs.PublicIP, node: e.lease.attrs.NodeName }, `lease ${key} from ${e.lease.attrs.PublicIP}`);
      }
    } else {
      const key = subnetKeyName(e.subnet);
      this.leases.delete(key);
      if (key === own) this.lost(`${key} was deleted or expired`);
      else log.info({ subnet: e.subnet.toString() }, `lease ${key} removed`);
    }
    metrics.leasesKnown.set(this.leases.size);
    events.onLeasesChanged();
  }

  /** Lists, then watches from the listing's revision + 1; any watch failure (compaction included) relists and diffs. */
  private async watchLoop(): Promise<void> {
    const { registry, log, metrics, signal: s, events } = this.opts;
    while (!s.aborted) {
      try {
        const listing = await this.list();
        // Every (re)list replaces the known set and diffs against the kernel: leases
        // that came or went between listings (or while the watch was down) are not missed.
        this.reset(listing.leases);
        const own = this.ownLease && subnetKeyName(this.ownLease.subnet);
        if (own && !this.leases.has(own) && !this.recovery) this.lost(`${own} is no longer in etcd`);
        events.onLeasesChanged();
        let fail!: (err: Error) => void;
        const failed = new Promise<Error>((resolve) => (fail = resolve));
        const handle = await registry.watchLeases(
          String(BigInt(listing.revision) + 1n),
          (e) => this.onLeaseEvent(e),
          (err) => fail(err),
        );
        const aborted = new Promise<void>((resolve) => s.addEventListener('abort', () => resolve(), { once: true }));
        const err = await Promise.race([failed, aborted]);
        // A watch that failed was already cancelled by etcd; cancelling it again never settles (etcd3 waits for an id it will not get).
        if (!err) await handle.cancel().catch(() => undefined);
        if (err) {
          metrics.etcdErrors.inc();
          log.warn({ err: err.message }, `lease watch ended (${err.message}); listing again`);
          await sleep(200, s);
        }
      } catch (err) {
        if (isAbort(err, s)) return;
        metrics.etcdErrors.inc();
        log.warn({ err: (err as Error).message }, `lease watch failed: ${(err as Error).message}`);
        await sleep(1_000, s).catch(() => undefined);
      }
    }
  }

  /** Keeps this host's etcd lease alive (no write to the key: other hosts see no event). */
  private async renewLoop(): Promise<void> {
    const { registry, log, metrics, signal: s, ttlSeconds } = this.opts;
    const every = renewIntervalSeconds(ttlSeconds) * 1000;
    const retryMs = Math.min(60_000, every / 2);
    let wait = every;
    while (!s.aborted) {
      try {
        await sleep(wait, s);
      } catch {
        return;
      }
      const own = this.ownLease;
      if (!own) continue;
      try {
        const ttl = await registry.keepAlive(own.leaseId);
        if (ttl > 0) {
          metrics.leaseRenewals.inc();
          log.debug({ ttl }, 'lease renewed');
        } else if (this.ownLease === own) {
          this.lost(`etcd lease of ${subnetKeyName(own.subnet)} expired`);
        }
        wait = every;
      } catch (err) {
        metrics.etcdErrors.inc();
        log.warn({ err: (err as Error).message }, `could not renew the lease, retrying in ${Math.round(retryMs / 1000)}s: ${(err as Error).message}`);
        wait = retryMs;
      }
    }
  }

  /**
   * This host's lease vanished while running (expired during a partition,
   * deleted by hand, taken over): lease again, preferring the same subnet.
   */
  private lost(why: string): void {
    const { log, signal, events } = this.opts;
    if (this.recovery || signal.aborted || !this.ownLease) return;
    log.warn({ reason: why }, `own lease lost: ${why}; leasing again`);
    this.recovery = this.recover(this.ownLease)
      .catch((err: Error) => {
        if (signal.aborted) return;
        events.onFatal(err instanceof FatalError ? err : new FatalError(`could not lease a subnet again: ${err.message}`));
      })
      .finally(() => {
        this.recovery = undefined;
      });
  }

  private async recover(old: Lease): Promise<void> {
    const { registry, log, events } = this.opts;
    const next = await etcdRetry(this.opts, 'lease again', () => this.tryAcquire(old.subnet));
    this.ownLease = next;
    this.leases.set(subnetKeyName(next.subnet), next);
    // A key deleted by hand leaves its etcd lease alive with nothing on it for a whole TTL.
    if (old.leaseId !== next.leaseId && old.leaseId !== '0') await registry.revokeQuietly(old.leaseId);
    if (next.subnet.equals(old.subnet)) {
      log.info({ subnet: next.subnet.toString() }, `leased ${next.subnet.toString()} again`);
      return;
    }
    log.warn({ old: old.subnet.toString(), subnet: next.subnet.toString() }, `subnet changed from ${old.subnet.toString()} to ${next.subnet.toString()}`);
    await events.onSubnetChanged(old, next);
  }
}
