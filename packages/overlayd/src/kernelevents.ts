/**
 * Which rtnetlink notifications mean that something overlayd owns was
 * removed or changed behind its back, so a repair is due now rather than at
 * the next periodic reconcile. Pure: the kernel edge (kernelwatch.ts)
 * decodes messages into these events, the daemon asks `repairReason`.
 */

/** Routing protocol number on every route overlayd installs (`ip route show proto 79`). */
export const OVERLAYD_RT_PROTO = 79;

/** The main routing table, the only one overlayd writes. */
export const RT_TABLE_MAIN = 254;

export type KernelEvent = RouteEvent | NeighEvent | LinkEvent | AddressEvent;

interface EventBase {
  op: 'new' | 'del';
  /**
   * Netlink port the notification names as its cause: the sender's socket
   * for most requests, 0 when the kernel changed something on its own (or
   * does not say, as vxlan's FDB notifications never do).
   */
  port: number;
}

export interface RouteEvent extends EventBase {
  kind: 'route';
  /** Destination CIDR, e.g. 10.1.5.0/24. */
  dst: string;
  protocol: number;
  table: number;
}

export interface NeighEvent extends EventBase {
  kind: 'neigh';
  /** `inet`: an ARP entry; `bridge`: an FDB entry. */
  family: 'inet' | 'bridge';
  ifindex: number;
  permanent: boolean;
  /** The IP (inet) or MAC (bridge) of the entry, for the log line. */
  addr: string;
}

export interface LinkEvent extends EventBase {
  kind: 'link';
  index: number;
  name: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
}

export interface AddressEvent extends EventBase {
  kind: 'addr';
  /** The device the IPv4 address is on. */
  ifindex: number;
  ip: string;
  prefix: number;
}

/** What overlayd owns right now; read at each event (the device index changes when the device is recreated). */
export interface EventScope {
  /** The backend's device (vxlan: flannel.<VNI>); undefined for host-gw. */
  device: { index: number; name: string } | undefined;
  /** The address overlayd keeps on that device as `<ip>/32` (vxlan: `<subnet>.0`); undefined for host-gw. */
  localAddress: string | undefined;
  /** The external interface: routes via it (host-gw, DirectRouting) vanish while it is down. */
  underlayIndex: number;
  /** Netlink port of the socket overlayd writes through: notifications naming it echo overlayd's own changes. */
  selfPort: number;
}

/**
 * Why this event calls for a repair, in a few words for the log; undefined
 * when it does not concern overlayd's entries. Events overlayd caused itself
 * are ignored where the kernel says so (the port); the rest (deletions the
 * kernel reports with port 0) cost at most one reconcile that finds nothing
 * to do and so writes nothing, which ends the chain.
 */
export function repairReason(e: KernelEvent, scope: EventScope): string | undefined {
  if (scope.selfPort !== 0 && e.port === scope.selfPort) return undefined;
  switch (e.kind) {
    case 'route':
      // Only routes carrying overlayd's protocol in the main table are its own; every other route is left alone.
      if (e.protocol !== OVERLAYD_RT_PROTO || e.table !== RT_TABLE_MAIN) return undefined;
      return e.op === 'del' ? `route ${e.dst} proto ${OVERLAYD_RT_PROTO} deleted` : `route ${e.dst} proto ${OVERLAYD_RT_PROTO} added or changed by someone else`;
    case 'neigh': {
      const dev = scope.device;
      if (!dev || e.ifindex !== dev.index) return undefined;
      const what = e.family === 'inet' ? `neighbour ${e.addr}` : `FDB entry ${e.addr}`;
      if (e.op === 'del') return `${what} on ${dev.name} deleted`;
      // The kernel's own updates (ARP state changes, port 0) are churn; a process writing on our device changed an entry.
      if (e.port !== 0) return `${what} on ${dev.name} changed by someone else`;
      return undefined;
    }
    case 'addr': {
      // Only our own /32 going matters: host → remote pod packets take their source address from it. Others' addresses are not ours.
      const dev = scope.device;
      if (!dev || e.ifindex !== dev.index || e.op !== 'del') return undefined;
      if (e.ip !== scope.localAddress || e.prefix !== 32) return undefined;
      return `address ${e.ip}/32 on ${dev.name} deleted`;
    }
    case 'link': {
      const dev = scope.device;
      if (dev && e.index === dev.index) {
        if (e.op === 'del') return `${dev.name} deleted`;
        if (e.name !== dev.name) return `${dev.name} renamed to ${e.name}`;
        if (!e.up) return `${dev.name} set down`;
        return undefined;
      }
      // Someone made a device under our name (or ours was replaced): its settings must be checked.
      if (dev && e.op === 'new' && e.name === dev.name) return `another ${dev.name} appeared (index ${e.index})`;
      // The kernel drops routes via an interface that goes down, without a notification per route.
      if (e.index === scope.underlayIndex && e.op === 'new' && e.up) return `${e.name} is up (routes via it may have been flushed)`;
      return undefined;
    }
  }
}
