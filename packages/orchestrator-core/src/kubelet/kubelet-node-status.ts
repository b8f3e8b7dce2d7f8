import { isAlreadyExists, isConflict, isNotFound, type ApiClient, type Lease, type Node } from '@pilot/api';
import { Backoff as RetryBackoff, sleep, type Logger } from '@pilot/common';
import { makeLease, makeNode, nodeStatusChanged, NODE_LEASE_NAMESPACE, type NodeFacts } from './node-status.js';

/**
 * The node's side of the kubelet (kubelet_node_status.go and the node lease
 * controller): registers the Node, computes its status every
 * `updateFrequencyMs` (10 s) and posts it when it changed or every
 * `reportFrequencyMs` (5 min), and renews `kube-node-lease/<node>` every
 * `leaseRenewMs` (10 s, a quarter of the 40 s duration) — the heartbeat the
 * node lifecycle controller watches. What the Node and Lease hold is pure
 * (node-status.ts); this file decides when to write.
 */

export type NodeClient = Pick<ApiClient, 'get' | 'create' | 'update' | 'updateStatus' | 'patch'>;

export interface NodeStatusOptions {
  client: NodeClient;
  log: Logger;
  facts(): NodeFacts;
  ready(): { ready: boolean; message: string };
  updateFrequencyMs: number;
  reportFrequencyMs: number;
  leaseRenewMs: number;
  /** NoSchedule/NoExecute taints to register with (--register-with-taints). */
  taints?: NonNullable<Node['spec']>['taints'];
}

export class NodeStatusManager {
  private lastPosted: Node | undefined;
  private lastPostedAt = 0;
  private registered = false;

  constructor(private readonly o: NodeStatusOptions) {}

  isRegistered(): boolean {
    return this.registered;
  }

  /** registerWithAPIServer: create the Node, or take over the one with our name (fixing spec.podCIDR and labels). */
  async register(): Promise<void> {
    const f = this.o.facts();
    const node = makeNode(f, this.o.ready(), new Date().toISOString(), undefined);
    if (this.o.taints?.length) node.spec = { ...node.spec, taints: this.o.taints };
    const name = f.name;
    try {
      const created = await this.o.client.create<Node>('nodes', { ...node, status: {} } as Node);
      this.o.log.info({ node: name }, 'node registered');
      this.lastPosted = created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await this.o.client.get<Node>('nodes', name);
      const want = { podCIDR: node.spec?.podCIDR, labels: node.metadata.labels };
      if ((want.podCIDR && existing.spec?.podCIDR !== want.podCIDR) || Object.entries(want.labels ?? {}).some(([k, v]) => existing.metadata.labels?.[k] !== v)) {
        await this.o.client.patch('nodes', name, { metadata: { labels: want.labels }, ...(want.podCIDR ? { spec: { podCIDR: want.podCIDR, podCIDRs: [want.podCIDR] } } : {}) }, 'merge');
      }
      this.o.log.info({ node: name }, 'node already registered; using it');
    }
    this.registered = true;
    await this.syncNodeStatus(true);
  }

  /** Computes the status and posts it when it changed or the report interval passed. */
  async syncNodeStatus(force = false): Promise<void> {
    const f = this.o.facts();
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.o.client.get<Node>('nodes', f.name);
      const next = makeNode(f, this.o.ready(), new Date().toISOString(), current);
      const due = Date.now() - this.lastPostedAt >= this.o.reportFrequencyMs;
      if (!force && !due && !nodeStatusChanged(current, next)) return;
      try {
        this.lastPosted = await this.o.client.updateStatus<Node>('nodes', next);
        this.lastPostedAt = Date.now();
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
  }

  /** Renews (or creates) the node's Lease; retried at once a few times as upstream (maxUpdateRetries 5). */
  async renewLease(): Promise<void> {
    const name = this.o.facts().name;
    const backoff = new RetryBackoff({ initialMs: 200, maxMs: 7_000 });
    let lastErr: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        let prev: Lease | undefined;
        try {
          prev = await this.o.client.get<Lease>('leases', name, { namespace: NODE_LEASE_NAMESPACE });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        const lease = makeLease(name, new Date(), prev);
        if (prev) await this.o.client.update('leases', lease, { namespace: NODE_LEASE_NAMESPACE });
        else await this.o.client.create('leases', lease, { namespace: NODE_LEASE_NAMESPACE });
        return;
      } catch (err) {
        lastErr = err;
        await sleep(backoff.next());
      }
    }
    throw lastErr;
  }

  /** Registers (retrying until it works), then runs the status and lease loops until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const retry = new RetryBackoff({ initialMs: 500, maxMs: 7_000 });
    while (!signal.aborted && !this.registered) {
      try {
        await this.register();
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'registering the node failed; retrying');
        await sleep(retry.next(), signal).catch(() => undefined);
      }
    }
    const loop = async (what: string, periodMs: number, fn: () => Promise<void>) => {
      while (!signal.aborted) {
        try {
          await fn();
        } catch (err) {
          this.o.log.warn({ err: (err as Error).message }, `${what} failed`);
        }
        await sleep(periodMs, signal).catch(() => undefined);
      }
    };
    await Promise.all([loop('renewing the node lease', this.o.leaseRenewMs, () => this.renewLease()), loop('updating node status', this.o.updateFrequencyMs, () => this.syncNodeStatus())]);
  }
}
