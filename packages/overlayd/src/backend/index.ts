import type { Cidr } from '@pilot/common';
import type { BackendConfig, BackendType } from '../config.js';
import type { Lease, LeaseAttrs } from '../lease.js';
import type { Kernel } from '../netlink.js';
import type { KernelEntries } from '../reconcile.js';
import { HostGwBackend } from './hostgw.js';
import { VxlanBackend } from './vxlan.js';

/**
 * A backend turns remote leases into kernel entries. It never touches etcd;
 * the lease manager never touches the kernel. Adding a backend is adding a
 * file here and a case in createBackend.
 */

/** The external interface overlay traffic leaves by. */
export interface Underlay {
  name: string;
  index: number;
  mtu: number;
  /** This host's address on it (the PublicIP unless NATed). */
  ip: string;
  /** The connected prefix of that address: peers inside it are on our L2 segment. */
  network: Cidr;
}

/** What a backend has set up locally, and what goes into the lease. */
export interface BackendSetup {
  /** MTU for pods (subnet.env FLANNEL_MTU). */
  mtu: number;
  attrs: Pick<LeaseAttrs, 'BackendType' | 'BackendData'>;
  /** The device whose neighbour/FDB entries are overlayd's, if any. */
  deviceIndex: number | undefined;
  /** Its name (`flannel.1`), for logs and for spotting it in kernel events. */
  deviceName: string | undefined;
}

export interface SkippedLease {
  lease: Lease;
  reason: string;
}

export interface DesiredState {
  entries: KernelEntries;
  /** Leases that cannot be programmed, each with a one-line reason. */
  skipped: SkippedLease[];
}

export interface Backend {
  readonly type: BackendType;
  /** Creates (or repairs) the backend's devices; idempotent. */
  ensureDevice(): Promise<BackendSetup>;
  /** Applies the local subnet to the device (vxlan: its /32 address); returns how many changes that took. */
  configureLocal(setup: BackendSetup, subnet: Cidr, network: Cidr): Promise<number>;
  /** Pure: the entries the remote leases call for. */
  desired(remotes: readonly Lease[], setup: BackendSetup): DesiredState;
}

export function createBackend(config: BackendConfig, underlay: Underlay, kernel: Kernel): Backend {
  switch (config.type) {
    case 'vxlan':
      return new VxlanBackend(config, underlay, kernel);
    case 'host-gw':
      return new HostGwBackend(underlay);
  }
}
