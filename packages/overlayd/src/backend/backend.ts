import type { Cidr } from '@pilot/common';
import type { BackendJson } from '../config.js';
import type { Lease, LeaseAttrs } from '../lease.js';
import type { Kernel } from '../netlink.js';
import type { KernelEntries } from '../reconcile.js';
import type { Underlay } from '../underlay.js';

/**
 * What every backend is, and nothing of any backend: each backend file
 * imports these, and backend/index.ts holds the table of backends. A backend
 * turns remote leases into kernel entries; it never touches etcd, and the
 * lease keeper never touches the kernel.
 */

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
  /** The config's Backend.Type. */
  readonly type: string;
  /** The backend's settings in a few words, for the log (`vxlan VNI 1 port 8472`). */
  readonly description: string;
  /** Creates (or repairs) the backend's devices; idempotent. */
  ensureDevice(): Promise<BackendSetup>;
  /** Applies the local subnet to the device (vxlan: its /32 address); returns how many changes that took. */
  configureLocal(setup: BackendSetup, subnet: Cidr, network: Cidr): Promise<number>;
  /** Pure: the entries the remote leases call for. */
  desired(remotes: readonly Lease[], setup: BackendSetup): DesiredState;
}

/** What a backend may use: the host's side of the underlay, and the kernel edge. */
export interface BackendDeps {
  underlay: Underlay;
  /** The address other hosts reach this one at (differs from underlay.ip behind NAT). */
  publicIp: string;
  kernel: Kernel;
}

/**
 * Makes a backend from the config's Backend object. It reads and checks its
 * own keys (a ConfigError names the bad one) and whether it can work on this
 * host (a FatalError says why not), and changes nothing on the host.
 */
export type BackendFactory = (json: BackendJson, deps: BackendDeps) => Backend;
