import type { Cidr } from '@pilot/common';
import { boolField, intField, type BackendJson } from '../config.js';
import type { Lease } from '../lease.js';
import type { Kernel } from '../netlink.js';
import { emptyEntries } from '../reconcile.js';
import type { Underlay } from '../underlay.js';
import type { Backend, BackendDeps, BackendSetup, DesiredState } from './backend.js';

/** Bytes of outer IP + UDP + VXLAN + inner Ethernet headers. */
export const VXLAN_OVERHEAD = 50;

/** The kernel's vxlan port when Backend.Port is 0 (Linux's, and flannel's). */
export const VXLAN_DEFAULT_PORT = 8472;

export const vxlanDeviceName = (vni: number) => `flannel.${vni}`;

/** The vxlan keys of the config's Backend object. */
export interface VxlanConfig {
  /** VNI (default 1), device `flannel.<VNI>`. */
  vni: number;
  /** UDP port; 0 means the kernel's default 8472. */
  port: number;
  /** Plain routes for peers on the same L2 segment. */
  directRouting: boolean;
}

/** Reads Backend.VNI, Backend.Port and Backend.DirectRouting with flannel's defaults; a ConfigError names a bad one. */
export function parseVxlanConfig(json: BackendJson): VxlanConfig {
  return {
    vni: intField(json, 'VNI', 1, 0, 16_777_215, 'Backend.'),
    port: intField(json, 'Port', 0, 0, 65_535, 'Backend.'),
    directRouting: boolField(json, 'DirectRouting', false, 'Backend.'),
  };
}

export const newVxlanBackend = (json: BackendJson, deps: BackendDeps): Backend => new VxlanBackend(parseVxlanConfig(json), deps.underlay, deps.kernel);

export interface VxlanPlan {
  deviceIndex: number;
  underlay: Pick<Underlay, 'index' | 'network'>;
  directRouting: boolean;
}

/**
 * Per remote lease: a permanent neighbour entry (remote subnet's .0 → its
 * VTEP MAC), an FDB entry (that MAC → its PublicIP) and an onlink route via
 * the .0 address. With DirectRouting a peer on our L2 segment gets a plain
 * route via its PublicIP instead, and no encapsulation.
 */
export function vxlanDesired(remotes: readonly Lease[], plan: VxlanPlan): DesiredState {
  const out: DesiredState = { entries: emptyEntries(), skipped: [] };
  for (const lease of remotes) {
    if (lease.attrs.BackendType !== 'vxlan') {
      out.skipped.push({ lease, reason: `backend ${JSON.stringify(lease.attrs.BackendType)} is not vxlan` });
      continue;
    }
    const subnet = lease.subnet.toString();
    if (plan.directRouting && plan.underlay.network.contains(lease.attrs.PublicIP)) {
      out.entries.routes.push({ dst: subnet, gateway: lease.attrs.PublicIP, ifindex: plan.underlay.index, onlink: false });
      continue;
    }
    const mac = lease.attrs.BackendData?.VtepMAC;
    if (!mac || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) {
      out.skipped.push({ lease, reason: `lease has no valid BackendData.VtepMAC (${JSON.stringify(mac)})` });
      continue;
    }
    const vtepIp = lease.subnet.network;
    out.entries.neighs.push({ ip: vtepIp, mac: mac.toLowerCase(), ifindex: plan.deviceIndex });
    out.entries.fdb.push({ mac: mac.toLowerCase(), dst: lease.attrs.PublicIP, ifindex: plan.deviceIndex });
    out.entries.routes.push({ dst: subnet, gateway: vtepIp, ifindex: plan.deviceIndex, onlink: true });
  }
  return out;
}

export class VxlanBackend implements Backend {
  readonly type = 'vxlan';

  constructor(
    private readonly config: VxlanConfig,
    private readonly underlay: Underlay,
    private readonly kernel: Kernel,
  ) {}

  get description(): string {
    const c = this.config;
    return `vxlan VNI ${c.vni} port ${c.port || VXLAN_DEFAULT_PORT}${c.directRouting ? ' DirectRouting' : ''}`;
  }

  async ensureDevice(): Promise<BackendSetup> {
    const mtu = this.underlay.mtu - VXLAN_OVERHEAD;
    const name = vxlanDeviceName(this.config.vni);
    const link = await this.kernel.ensureVxlan({
      name,
      vni: this.config.vni,
      port: this.config.port,
      local: this.underlay.ip,
      link: this.underlay.index,
      mtu,
    });
    return { mtu, attrs: { BackendType: 'vxlan', BackendData: { VNI: this.config.vni, VtepMAC: link.mac } }, deviceIndex: link.index, deviceName: name };
  }

  async configureLocal(setup: BackendSetup, subnet: Cidr, network: Cidr): Promise<number> {
    if (setup.deviceIndex === undefined) throw new Error('vxlan device not set up');
    return this.kernel.setOnlyAddress(setup.deviceIndex, subnet.network, network);
  }

  desired(remotes: readonly Lease[], setup: BackendSetup): DesiredState {
    return vxlanDesired(remotes, { deviceIndex: setup.deviceIndex ?? 0, underlay: this.underlay, directRouting: this.config.directRouting });
  }
}
