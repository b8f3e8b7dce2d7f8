import { FatalError } from '@pilot/common';
import type { BackendJson } from '../config.js';
import type { Lease } from '../lease.js';
import { emptyEntries } from '../reconcile.js';
import type { Underlay } from '../underlay.js';
import type { Backend, BackendDeps, BackendSetup, DesiredState } from './backend.js';

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

/** host-gw has no keys of its own; it needs the public IP on the interface itself, since peers route to it directly. */
export function newHostGwBackend(_json: BackendJson, deps: BackendDeps): Backend {
  if (deps.publicIp !== deps.underlay.ip) {
    throw new FatalError(`host-gw needs the public IP (${deps.publicIp}) to be the address of ${deps.underlay.name} (${deps.underlay.ip}); it cannot work through NAT`);
  }
  return new HostGwBackend(deps.underlay);
}

export class HostGwBackend implements Backend {
  readonly type = 'host-gw';
  readonly description = 'host-gw';

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
