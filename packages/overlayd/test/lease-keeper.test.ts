import { Cidr, FatalError, createLogger, createRegistry, waitFor } from '@pilot/common';
import { parseNetworkConfig } from '../src/config.js';
import { LeaseKeeper, type LeaseKeeperEvents } from '../src/lease-keeper.js';
import { subnetKeyName, type Lease, type LeaseAttrs } from '../src/lease.js';
import { Metrics } from '../src/metrics.js';
import type { LeaseEvent, LeaseListing, SubnetRegistry, WatchHandle } from '../src/registry.js';

/**
 * The lease keeper over an in-memory SubnetRegistry that keeps etcd's
 * semantics the keeper relies on: guarded creates and rewrites, etcd leases
 * that can expire, revisions, a watch that delivers events and can break.
 */
class MemoryRegistry implements SubnetRegistry {
  readonly configKey = '/coreos.com/network/config';
  revision = 1;
  private nextLeaseId = 100;
  readonly keys = new Map<string, Lease>();
  readonly liveLeases = new Set<string>();
  readonly revoked: string[] = [];
  private watchers: { onEvent: (e: LeaseEvent) => void; onError: (err: Error) => void }[] = [];
  /** Runs before a create writes: a test lets another host win the race here. */
  beforeCreate: ((subnet: Cidr) => void) | undefined;

  async getConfig(): Promise<string | undefined> {
    return '{"Network":"10.1.0.0/16"}';
  }

  async listLeases(): Promise<LeaseListing> {
    return { leases: [...this.keys.values()], revision: String(this.revision), invalid: [] };
  }

  /** Writes a key as another host (or an operator) would; watchers see it. */
  put(subnet: Cidr, attrs: LeaseAttrs, leaseId = this.grant()): Lease {
    const lease = { subnet, attrs, leaseId, modRevision: String(++this.revision) };
    this.keys.set(subnetKeyName(subnet), lease);
    for (const w of this.watchers) w.onEvent({ type: 'put', lease });
    return lease;
  }

  delete(subnet: Cidr): void {
    const key = subnetKeyName(subnet);
    this.keys.delete(key);
    this.revision++;
    for (const w of this.watchers) w.onEvent({ type: 'delete', subnet, key: `/coreos.com/network/subnets/${key}` });
  }

  /** Breaks every watch, as a compaction past its revision does. */
  breakWatches(): void {
    const ws = this.watchers;
    this.watchers = [];
    for (const w of ws) w.onError(new Error('mvcc: required revision has been compacted'));
  }

  get watching(): number {
    return this.watchers.length;
  }

  private grant(): string {
    const id = String(this.nextLeaseId++);
    this.liveLeases.add(id);
    return id;
  }

  async createLease(subnet: Cidr, attrs: LeaseAttrs): Promise<Lease | undefined> {
    this.beforeCreate?.(subnet);
    if (this.keys.has(subnetKeyName(subnet))) return undefined;
    return this.put(subnet, attrs);
  }

  async rewriteLease(lease: Lease, attrs: LeaseAttrs): Promise<Lease | undefined> {
    const now = this.keys.get(subnetKeyName(lease.subnet));
    if (!now || now.modRevision !== lease.modRevision) return undefined;
    this.liveLeases.delete(lease.leaseId);
    return this.put(lease.subnet, attrs);
  }

  async keepAlive(leaseId: string): Promise<number> {
    return this.liveLeases.has(leaseId) ? 30 : 0;
  }

  async revokeQuietly(leaseId: string): Promise<void> {
    this.revoked.push(leaseId);
    this.liveLeases.delete(leaseId);
  }

  async watchLeases(_from: string, onEvent: (e: LeaseEvent) => void, onError: (err: Error) => void): Promise<WatchHandle> {
    const w = { onEvent, onError };
    this.watchers.push(w);
    return {
      cancel: async () => {
        this.watchers = this.watchers.filter((x) => x !== w);
      },
    };
  }

  close(): void {}
}

const me: LeaseAttrs = { PublicIP: '172.30.0.11', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '02:00:00:00:00:11' } };
const other = (n: number): LeaseAttrs => ({ PublicIP: `172.30.0.${n}`, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: `02:00:00:00:00:${n}` } });
const net = (s: string) => Cidr.parse(s);

function keeperOn(registry: MemoryRegistry, opts: { network?: string; ttlSeconds?: number } = {}) {
  const ac = new AbortController();
  const seen = { leasesChanged: 0, subnetChanged: [] as [Lease, Lease][], fatal: [] as FatalError[] };
  const events: LeaseKeeperEvents = {
    onLeasesChanged: () => void seen.leasesChanged++,
    onSubnetChanged: async (old, next) => void seen.subnetChanged.push([old, next]),
    onFatal: (err) => {
      seen.fatal.push(err);
      ac.abort();
    },
  };
  const keeper = new LeaseKeeper({
    registry,
    log: createLogger('test', { level: 'silent' }),
    metrics: new Metrics(createRegistry('overlayd-test')),
    signal: ac.signal,
    config: parseNetworkConfig(opts.network ?? '{"Network":"10.1.0.0/16"}'),
    publicIp: me.PublicIP,
    ttlSeconds: opts.ttlSeconds ?? 86_400,
    events,
  });
  return { keeper, seen, ac };
}

/** Starts the keeper's loops; the returned function stops them and waits until they have ended. */
function running(k: ReturnType<typeof keeperOn>) {
  const done = k.keeper.run();
  return async () => {
    k.ac.abort();
    await done;
  };
}

describe('lease keeper', () => {
  it('keeps this host\'s lease as it is when it carries the same attributes and a live etcd lease', async () => {
    const registry = new MemoryRegistry();
    const mine = registry.put(net('10.1.9.0/24'), me);
    const revision = registry.revision;
    const { keeper } = keeperOn(registry);
    const own = await keeper.acquire(me, undefined);
    expect(own).toEqual(mine);
    // Nothing was written: the other hosts see no event.
    expect(registry.revision).toBe(revision);
  });

  it('rewrites this host\'s lease when its attributes changed, and lets the old etcd lease go', async () => {
    const registry = new MemoryRegistry();
    const mine = registry.put(net('10.1.9.0/24'), { ...me, BackendData: { VNI: 1, VtepMAC: '02:00:00:00:00:99' } });
    const { keeper } = keeperOn(registry);
    const own = await keeper.acquire(me, undefined);
    expect(own.subnet.toString()).toBe('10.1.9.0/24');
    expect(own.attrs).toEqual(me);
    expect(own.leaseId).not.toBe(mine.leaseId);
    expect(registry.liveLeases.has(mine.leaseId)).toBe(false);
  });

  it('takes the previous subnet when free, and chooses again after losing a race for it', async () => {
    const registry = new MemoryRegistry();
    expect((await keeperOn(registry).keeper.acquire(me, net('10.1.42.0/24'))).subnet.toString()).toBe('10.1.42.0/24');

    const raced = new MemoryRegistry();
    raced.beforeCreate = (subnet) => {
      raced.beforeCreate = undefined;
      raced.put(subnet, other(12));
    };
    const own = await keeperOn(raced).keeper.acquire(me, net('10.1.42.0/24'));
    expect(own.subnet.toString()).not.toBe('10.1.42.0/24');
    expect(raced.keys.get(subnetKeyName(own.subnet))?.attrs).toEqual(me);
    expect(raced.keys.get('10.1.42.0-24')?.attrs).toEqual(other(12));
  });

  it('says the network is full, naming how many subnets it has', async () => {
    const registry = new MemoryRegistry();
    const network = '{"Network":"10.9.0.0/28","SubnetLen":30}';
    const { keeper } = keeperOn(registry, { network });
    for (const s of ['10.9.0.4/30', '10.9.0.8/30', '10.9.0.12/30']) registry.put(net(s), other(20));
    await expect(keeper.ensureRoom(undefined)).rejects.toThrow(new FatalError('network 10.9.0.0/28 is full: all 3 /30 subnets between SubnetMin and SubnetMax are leased'));
    await expect(keeper.acquire(me, undefined)).rejects.toThrow('is full');
  });

  it('follows the other hosts\' leases through the watch, and relists when the watch breaks', async () => {
    const registry = new MemoryRegistry();
    const k = keeperOn(registry);
    await k.keeper.acquire(me, net('10.1.42.0/24'));
    const stop = running(k);
    await waitFor(() => registry.watching === 1, { what: 'the watch' });
    registry.put(net('10.1.5.0/24'), other(12));
    expect(k.keeper.remotes().map((l) => l.subnet.toString())).toEqual(['10.1.5.0/24']);
    const changes = k.seen.leasesChanged;
    registry.delete(net('10.1.5.0/24'));
    expect(k.keeper.remotes()).toEqual([]);
    expect(k.seen.leasesChanged).toBe(changes + 1);

    // A lease that comes while no watch runs is found by the relist.
    registry.breakWatches();
    registry.put(net('10.1.6.0/24'), other(13));
    await waitFor(() => registry.watching === 1, { what: 'the watch again' });
    expect(k.keeper.remotes().map((l) => l.subnet.toString())).toEqual(['10.1.6.0/24']);
    await stop();
  });

  it('leases the same subnet again when its key is deleted, and revokes the etcd lease it was bound to', async () => {
    const registry = new MemoryRegistry();
    const k = keeperOn(registry);
    const first = await k.keeper.acquire(me, net('10.1.42.0/24'));
    const stop = running(k);
    await waitFor(() => registry.watching === 1, { what: 'the watch' });
    registry.delete(first.subnet);
    await waitFor(() => registry.keys.has('10.1.42.0-24'), { what: 'the lease again' });
    await waitFor(() => registry.revoked.includes(first.leaseId), { what: 'the old etcd lease revoked' });
    expect(k.keeper.own?.subnet.toString()).toBe('10.1.42.0/24');
    expect(k.keeper.own?.leaseId).not.toBe(first.leaseId);
    expect(k.seen.subnetChanged).toEqual([]);
    await stop();
  });

  it('reports a new subnet when another host took this one over', async () => {
    const registry = new MemoryRegistry();
    const k = keeperOn(registry);
    const first = await k.keeper.acquire(me, net('10.1.42.0/24'));
    const stop = running(k);
    await waitFor(() => registry.watching === 1, { what: 'the watch' });
    registry.put(first.subnet, other(77));
    await waitFor(() => k.seen.subnetChanged.length === 1, { what: 'the subnet change' });
    const [old, next] = k.seen.subnetChanged[0]!;
    expect(old.subnet.toString()).toBe('10.1.42.0/24');
    expect(next.subnet.toString()).not.toBe('10.1.42.0/24');
    expect(registry.keys.get(subnetKeyName(next.subnet))?.attrs).toEqual(me);
    // The taken subnet is now another host's, and programmed as one.
    expect(k.keeper.remotes().map((l) => l.attrs.PublicIP)).toEqual([other(77).PublicIP]);
    await stop();
  });

  it('notices an expired etcd lease at renewal and leases again', async () => {
    const registry = new MemoryRegistry();
    // A 0.3 s TTL renews every 100 ms.
    const k = keeperOn(registry, { ttlSeconds: 0.3 });
    const first = await k.keeper.acquire(me, net('10.1.42.0/24'));
    const stop = running(k);
    registry.liveLeases.delete(first.leaseId);
    await waitFor(() => k.keeper.own?.leaseId !== first.leaseId, { what: 'a new lease' });
    expect(k.keeper.own?.subnet.toString()).toBe('10.1.42.0/24');
    expect(registry.liveLeases.has(k.keeper.own!.leaseId)).toBe(true);
    await stop();
  });

  it('gives up with a fatal error when no subnet can be had again', async () => {
    const registry = new MemoryRegistry();
    const k = keeperOn(registry, { network: '{"Network":"10.9.0.0/28","SubnetLen":30}' });
    const first = await k.keeper.acquire(me, undefined);
    for (const s of ['10.9.0.4/30', '10.9.0.8/30', '10.9.0.12/30']) if (s !== first.subnet.toString()) registry.put(net(s), other(20));
    const stop = running(k);
    await waitFor(() => registry.watching === 1, { what: 'the watch' });
    registry.put(first.subnet, other(77));
    await waitFor(() => k.seen.fatal.length === 1, { what: 'the fatal error' });
    expect(k.seen.fatal[0]!.message).toBe('network 10.9.0.0/28 is full: all 3 /30 subnets between SubnetMin and SubnetMax are leased');
    await stop();
  });
});
