import { isNotFound, isAlreadyExists, isConflict, isForbidden, type ApiClient, type Endpoints, type Lease, type Service } from '@pilot/api';
import { isLoopback, sleep, type Logger } from '@pilot/common';

/**
 * Self-registration: the selectorless Service kube-system/kube-dns and its
 * Endpoints listing the advertise address of every live dnsd. Liveness is a
 * Lease kube-system/dnsd-<identity> per instance, renewed every third of its
 * duration; every instance rewrites the Endpoints to exactly the holders of
 * unexpired leases, so a SIGKILLed instance drops out once its lease runs out.
 */

export const KUBE_DNS = { namespace: 'kube-system', name: 'kube-dns' } as const;
export const LEASE_PREFIX = 'dnsd-';

export interface RegistrarOptions {
  advertiseAddress: string;
  /** Port the instances answer on (the Endpoints ports). */
  port: number;
  clusterIp: string;
  /** Lease name suffix; unique per instance (hosts may share a hostname). */
  identity: string;
  leaseSeconds: number;
  log: Logger;
  /** Publish this instance only once this holds (dnsd: records synced), so it never draws queries it would SERVFAIL. */
  ready?: () => boolean;
}

/** The holders of unexpired dnsd leases: the addresses that may receive queries. */
export function liveAddresses(leases: readonly Lease[], nowMs: number): string[] {
  const out = new Set<string>();
  for (const l of leases) {
    if (!l.metadata.name?.startsWith(LEASE_PREFIX)) continue;
    const holder = l.spec?.holderIdentity;
    const renew = Date.parse(l.spec?.renewTime ?? '');
    const dur = l.spec?.leaseDurationSeconds ?? 0;
    if (!holder || Number.isNaN(renew) || renew + dur * 1000 <= nowMs) continue;
    if (isLoopback(holder)) continue; // never published
    out.add(holder);
  }
  return [...out].sort();
}

export function kubeDnsService(clusterIp: string, port: number): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: KUBE_DNS.name, namespace: KUBE_DNS.namespace, labels: { 'k8s-app': 'kube-dns' } },
    spec: {
      clusterIP: clusterIp,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: port },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: port },
      ],
    },
  };
}

/** The Endpoints subsets for these addresses (none when empty). */
export function kubeDnsSubsets(addresses: readonly string[], port: number): Endpoints['subsets'] {
  if (addresses.length === 0) return [];
  return [
    {
      addresses: addresses.map((ip) => ({ ip })),
      ports: [
        { name: 'dns', port, protocol: 'UDP' },
        { name: 'dns-tcp', port, protocol: 'TCP' },
      ],
    },
  ];
}

function publishedOf(ep: Endpoints | undefined): string[] {
  return (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
}

/** Kubernetes MicroTime: RFC3339 with exactly 6 fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class Registrar {
  constructor(
    private readonly client: ApiClient,
    private readonly opts: RegistrarOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (isLoopback(opts.advertiseAddress)) throw new Error(`--advertise-address ${opts.advertiseAddress} is loopback; it would never be published`);
  }

  private get leaseName(): string {
    return `${LEASE_PREFIX}${this.opts.identity}`;
  }

  /** Runs until the signal aborts, then withdraws this instance (lease and address). */
  async run(signal: AbortSignal): Promise<void> {
    const { log } = this.opts;
    const every = Math.max(500, (this.opts.leaseSeconds * 1000) / 3);
    let ensured = false;
    while (!signal.aborted) {
      try {
        if (!ensured) {
          await this.ensureService();
          ensured = true;
        }
        if (this.opts.ready && !this.opts.ready()) {
          await sleep(200, signal).catch(() => undefined);
          continue;
        }
        await this.renewLease();
        await this.reconcile(true);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'kube-dns registration failed; retrying');
      }
      await sleep(every, signal).catch(() => undefined);
    }
    await this.withdraw();
  }

  private async ensureService(): Promise<void> {
    try {
      await this.client.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: KUBE_DNS.namespace } });
    } catch (err) {
      // dnsd's own role (system:kube-dns) may not create namespaces: kube-system is the apiserver's anyway.
      if (!isAlreadyExists(err) && !isForbidden(err)) throw err;
    }
    try {
      await this.client.create('services', kubeDnsService(this.opts.clusterIp, this.opts.port));
      this.opts.log.info({ clusterIp: this.opts.clusterIp }, 'created service kube-system/kube-dns');
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const svc = await this.client.get<Service>('services', KUBE_DNS.name, { namespace: KUBE_DNS.namespace });
      if (svc.spec?.clusterIP !== this.opts.clusterIp) {
        this.opts.log.warn({ want: this.opts.clusterIp, have: svc.spec?.clusterIP }, 'kube-system/kube-dns has another cluster IP; leaving it');
      }
    }
  }

  private async renewLease(): Promise<void> {
    const ns = KUBE_DNS.namespace;
    const spec = { holderIdentity: this.opts.advertiseAddress, leaseDurationSeconds: this.opts.leaseSeconds, renewTime: microTime(this.now()) };
    try {
      const cur = await this.client.get<Lease>('leases', this.leaseName, { namespace: ns });
      await this.client.update<Lease>('leases', { ...cur, spec: { ...cur.spec, ...spec } }, { namespace: ns });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.client.create<Lease>(
        'leases',
        { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.leaseName, namespace: ns }, spec: { ...spec, acquireTime: spec.renewTime } },
        { namespace: ns },
      );
    }
  }

  /**
   * Writes the Endpoints to the live set (plus or minus this instance),
   * compare-and-swap with a few retries on conflict.
   */
  async reconcile(includeSelf: boolean): Promise<void> {
    const ns = KUBE_DNS.namespace;
    for (let attempt = 0; attempt < 5; attempt++) {
      const leases = (await this.client.list<Lease>('leases', { namespace: ns })).items;
      const live = new Set(liveAddresses(leases, this.now()));
      if (includeSelf) live.add(this.opts.advertiseAddress);
      else live.delete(this.opts.advertiseAddress);
      const want = [...live].sort();
      let cur: Endpoints | undefined;
      try {
        cur = await this.client.get<Endpoints>('endpoints', KUBE_DNS.name, { namespace: ns });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      const have = publishedOf(cur);
      if (have.join(',') === want.join(',')) return;
      try {
        const subsets = kubeDnsSubsets(want, this.opts.port);
        if (cur) await this.client.update<Endpoints>('endpoints', { ...cur, subsets }, { namespace: ns });
        else await this.client.create<Endpoints>('endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: KUBE_DNS.name, namespace: ns }, subsets }, { namespace: ns });
        this.opts.log.info({ addresses: want, was: have }, 'kube-dns endpoints updated');
        return;
      } catch (err) {
        if (!isConflict(err) && !isAlreadyExists(err)) throw err;
      }
    }
    throw new Error('kube-system/kube-dns endpoints: still conflicting after 5 attempts');
  }

  private async withdraw(): Promise<void> {
    try {
      await this.client.delete('leases', this.leaseName, { namespace: KUBE_DNS.namespace });
    } catch (err) {
      if (!isNotFound(err)) this.opts.log.warn({ err: (err as Error).message }, 'could not delete our lease');
    }
    try {
      await this.reconcile(false);
      this.opts.log.info({ address: this.opts.advertiseAddress }, 'withdrawn from kube-dns endpoints');
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not withdraw from kube-dns endpoints');
    }
  }
}
