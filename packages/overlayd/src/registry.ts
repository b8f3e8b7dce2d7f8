import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import { etcdCredentials, type Cidr, type EtcdTls } from '@pilot/common';
import { formatLeaseAttrs, parseLeaseAttrs, parseSubnetKeyName, subnetKeyName, type Lease, type LeaseAttrs } from './lease.js';

/**
 * Raw key/value access to flannel's layout (flannel's subnet registry):
 * `<prefix>/config` and `<prefix>/subnets/<a.b.c.d>-<len>`. No policy lives
 * here (which subnet to take and when is the lease keeper's business); every
 * write that must not race is a transaction. The interface is what the lease
 * keeper needs; EtcdSubnetRegistry is the etcd v3 implementation.
 */

export type LeaseEvent =
  | { type: 'put'; lease: Lease }
  | { type: 'delete'; subnet: Cidr; key: string }
  | { type: 'invalid'; key: string; error: string };

export interface LeaseListing {
  leases: Lease[];
  revision: string;
  /** Keys under subnets/ whose name or value is not a lease, with why. */
  invalid: { key: string; error: string }[];
}

export interface WatchHandle {
  cancel(): Promise<void>;
}

export interface SubnetRegistry {
  /** `<prefix>/config`, for messages. */
  readonly configKey: string;
  /** The config JSON, or undefined when the key does not exist. */
  getConfig(): Promise<string | undefined>;
  /** Every lease and the revision the listing was read at (watch from revision + 1). */
  listLeases(): Promise<LeaseListing>;
  /** Creates the lease key if nobody holds it; undefined when another host won the race. */
  createLease(subnet: Cidr, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease | undefined>;
  /** Rewrites a lease with new attributes and a fresh TTL if it has not changed since it was read; undefined otherwise. */
  rewriteLease(lease: Lease, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease | undefined>;
  /** Extends an etcd lease to its full TTL without writing the key; returns the new TTL, 0 when the lease is gone. */
  keepAlive(leaseId: string): Promise<number>;
  /** Revokes an etcd lease that no longer holds our key; failures are ignored (it expires on its own). */
  revokeQuietly(leaseId: string): Promise<void>;
  /** Watches the subnets from `fromRevision`; `onError` when the watch cannot go on (the caller relists). */
  watchLeases(fromRevision: string, onEvent: (e: LeaseEvent) => void, onError: (err: Error) => void): Promise<WatchHandle>;
  close(): void;
}

/** How to reach etcd besides its endpoints: TLS files, etcd's own user and password. */
export interface EtcdClientOptions {
  tls?: EtcdTls | undefined;
  auth?: { username: string; password: string } | undefined;
}

export class EtcdSubnetRegistry implements SubnetRegistry {
  private readonly client: Etcd3;

  constructor(
    endpoints: readonly string[],
    readonly prefix: string,
    opts: EtcdClientOptions = {},
  ) {
    this.client = new Etcd3({
      hosts: [...endpoints],
      dialTimeout: 3_000,
      ...(opts.tls ? { credentials: etcdCredentials(opts.tls) } : {}),
      ...(opts.auth ? { auth: opts.auth } : {}),
    });
  }

  get configKey(): string {
    return `${this.prefix}/config`;
  }

  get subnetsPrefix(): string {
    return `${this.prefix}/subnets/`;
  }

  leaseKey(subnet: Cidr): string {
    return this.subnetsPrefix + subnetKeyName(subnet);
  }

  close(): void {
    this.client.close();
  }

  /** The config JSON, or undefined when the key does not exist. */
  async getConfig(): Promise<string | undefined> {
    const v = await this.client.get(this.configKey).string();
    return v ?? undefined;
  }

  private toLease(kv: IKeyValue): Lease {
    const key = kv.key.toString();
    const subnet = parseSubnetKeyName(key.slice(this.subnetsPrefix.length));
    if (!subnet) throw new Error(`key ${key} is not named <a.b.c.d>-<len>`);
    return { subnet, attrs: parseLeaseAttrs(kv.value.toString()), leaseId: String(kv.lease ?? '0'), modRevision: String(kv.mod_revision) };
  }

  /** Every lease and the revision the listing was read at (watch from revision + 1). */
  async listLeases(): Promise<LeaseListing> {
    const res = await this.client.getAll().prefix(this.subnetsPrefix).exec();
    const out: LeaseListing = { leases: [], revision: String(res.header.revision), invalid: [] };
    for (const kv of res.kvs) {
      try {
        out.leases.push(this.toLease(kv));
      } catch (err) {
        out.invalid.push({ key: kv.key.toString(), error: (err as Error).message });
      }
    }
    return out;
  }

  private async grant(ttlSeconds: number): Promise<string> {
    const res = await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds });
    return String(res.ID);
  }

  /** Revokes an etcd lease that no longer holds our key; failures are ignored (it expires on its own). */
  async revokeQuietly(id: string): Promise<void> {
    await this.client.leaseClient.leaseRevoke({ ID: id }).catch(() => undefined);
  }

  /**
   * Creates the lease key if (and only if) nobody holds it: one transaction,
   * `Version(key) == 0 → Put(key, value, lease)`. Undefined when another host
   * won the race (the granted lease is revoked again).
   */
  async createLease(subnet: Cidr, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease | undefined> {
    const key = this.leaseKey(subnet);
    const id = await this.grant(ttlSeconds);
    const res = await this.client.if(key, 'Version', '==', 0).then(this.client.put(key).value(formatLeaseAttrs(attrs)).lease(id)).commit();
    if (!res.succeeded) {
      await this.revokeQuietly(id);
      return undefined;
    }
    return { subnet, attrs, leaseId: id, modRevision: String(res.header.revision) };
  }

  /**
   * Takes over an existing lease of this host (same PublicIP) with new
   * attributes and a fresh TTL, if it has not changed since it was read.
   */
  async rewriteLease(lease: Lease, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease | undefined> {
    const key = this.leaseKey(lease.subnet);
    const id = await this.grant(ttlSeconds);
    const res = await this.client.if(key, 'Mod', '==', lease.modRevision).then(this.client.put(key).value(formatLeaseAttrs(attrs)).lease(id)).commit();
    if (!res.succeeded) {
      await this.revokeQuietly(id);
      return undefined;
    }
    // The old etcd lease only held this key; let it go so it does not linger for a day.
    if (lease.leaseId !== '0' && lease.leaseId !== id) await this.revokeQuietly(lease.leaseId);
    return { subnet: lease.subnet, attrs, leaseId: id, modRevision: String(res.header.revision) };
  }

  /**
   * Extends an etcd lease to its full TTL (no write to the key, so watchers
   * see no event). Returns the new TTL; 0 means the lease is gone.
   */
  async keepAlive(leaseId: string, timeoutMs = 10_000): Promise<number> {
    const stream = await this.client.leaseClient.leaseKeepAlive();
    let timer: NodeJS.Timeout | undefined;
    try {
      // A stream to an unreachable etcd may neither answer nor fail; a deadline turns that into an error to retry.
      const res = await new Promise<{ TTL: string }>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`keepalive of lease ${leaseId}: no answer within ${timeoutMs} ms`)), timeoutMs);
        stream.on('data', resolve);
        stream.on('error', reject);
        stream.write({ ID: leaseId });
      });
      return Math.max(0, Number(res.TTL));
    } finally {
      clearTimeout(timer);
      stream.end();
    }
  }

  /**
   * Watches the subnets prefix from `fromRevision`. `onError` fires when the
   * watch cannot go on (compaction past our revision, cancellation): the
   * caller relists and watches again.
   */
  async watchLeases(fromRevision: string, onEvent: (e: LeaseEvent) => void, onError: (err: Error) => void): Promise<WatchHandle> {
    const watcher: Watcher = await this.client.watch().prefix(this.subnetsPrefix).startRevision(fromRevision).create();
    watcher.on('put', (kv) => {
      try {
        onEvent({ type: 'put', lease: this.toLease(kv) });
      } catch (err) {
        onEvent({ type: 'invalid', key: kv.key.toString(), error: (err as Error).message });
      }
    });
    watcher.on('delete', (kv) => {
      const key = kv.key.toString();
      const subnet = parseSubnetKeyName(key.slice(this.subnetsPrefix.length));
      if (subnet) onEvent({ type: 'delete', subnet, key });
    });
    watcher.on('error', (err) => onError(err));
    // etcd3's cancel waits for the server to confirm; during an outage that may never come, and shutdown must not hang on it.
    const cancel = () =>
      Promise.race([watcher.cancel(), new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref())]);
    return { cancel };
  }
}
