import type { Lease } from '../lease.js';
import { emptyEntries } from '../reconcile.js';
import type { Backend, BackendSetup, DesiredState, Underlay } from './index.js';

/**
 * host-gw: a plain route per remote subnet via the peer's PublicIP on the
 * external interface. Works only between hosts on one L2 segment; a peer
 * outside it is skipped and reported.
 */
export function hostGwDesired(remotes: readonly Lease[], underlay: Pick<Underlay, 'index' | 'name' | 'network'>): DesiredState {
  const out: DesiredState = { entries: emptyEntries(), skipped: [] };
  for (const lease of remotes) {
    if (lease.attrs.BackendType !== 'host-gw') {
      out.skipped.push({ lease, reason: `backend ${JSON.stringify(lease.attrs.BackendType)} is not host-gw` });
      continue;
    }
    if (!underlay.network.contains(lease.attrs.PublicIP)) {
      out.skipped.push({
        lease,
        reason: `peer ${lease.attrs.PublicIP} is not directly reachable on ${underlay.name} (${underlay.network.toString()}); host-gw needs hosts on one L2 segment`,
      });
      continue;
    }
    out.entries.routes.push({ dst: lease.subnet.toString(), gateway: lease.attrs.PublicIP, ifindex: underlay.index, onlink: false });
  }
  return out;
}

export class HostGwBackend implements Backend {
  readonly type = 'host-gw' as const;

  constructor(private readonly underlay: Underlay) {}

  async ensureDevice(): Promise<BackendSetup> {
    return { mtu: this.underlay.mtu, attrs: { BackendType: 'host-gw' }, deviceIndex: undefined, deviceName: undefined };
  }

  async configureLocal(): Promise<number> {
    // Nothing local: the pod bridge Docker creates carries the subnet.
    return 0;
  }

  desired(remotes: readonly Lease[]): DesiredState {
    return hostGwDesired(remotes, this.underlay);
  }
}
