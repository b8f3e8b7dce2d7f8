import { rt, type NetlinkMessage } from 'netlink';
import type { KernelEvent } from './kernelevents.js';

/**
 * rtnetlink notifications decoded into KernelEvents. Imports nothing but the
 * `netlink` package, so the reader process that runs it starts fast.
 */

/** What the reader tells overlayd over IPC. */
export type ReaderMessage = { type: 'ready' } | { type: 'events'; events: KernelEvent[] } | { type: 'lost'; why: string };

const AF_INET = 2;
const AF_BRIDGE = 7;

const ipv4 = (b: Buffer | undefined) => (b && b.length === 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : undefined);
export const formatMac = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

const protocolNumber = (p: rt.Route['protocol']): number => (typeof p === 'string' ? rt.RouteProtocol[p] : (p ?? 0));

/** One notification as an event; undefined for message types and families overlayd does not watch. */
export function decodeEvent(msg: Pick<NetlinkMessage, 'type' | 'port' | 'data'>): KernelEvent | undefined {
  const port = msg.port;
  switch (msg.type) {
    case rt.MessageType.NEWROUTE:
    case rt.MessageType.DELROUTE: {
      const { data, attrs } = rt.parseRouteMessage(msg.data);
      if (data.family !== AF_INET) return undefined;
      return {
        kind: 'route',
        op: msg.type === rt.MessageType.NEWROUTE ? 'new' : 'del',
        port,
        dst: `${ipv4(attrs.dst) ?? '0.0.0.0'}/${data.dstLen ?? 0}`,
        protocol: protocolNumber(data.protocol),
        table: attrs.table ?? data.table ?? 0,
      };
    }
    case rt.MessageType.NEWNEIGH:
    case rt.MessageType.DELNEIGH: {
      const { data, attrs } = rt.parseNeighborMessage(msg.data);
      if (data.family !== AF_INET && data.family !== AF_BRIDGE) return undefined;
      const family = data.family === AF_INET ? 'inet' : 'bridge';
      return {
        kind: 'neigh',
        op: msg.type === rt.MessageType.NEWNEIGH ? 'new' : 'del',
        port,
        family,
        ifindex: data.ifindex ?? 0,
        permanent: !!data.state?.permanent,
        addr: (family === 'inet' ? ipv4(attrs.dst) : attrs.lladdr && formatMac(attrs.lladdr)) ?? '?',
      };
    }
    case rt.MessageType.NEWADDR:
    case rt.MessageType.DELADDR: {
      const { data, attrs } = rt.parseAddressMessage(msg.data);
      if (data.family !== AF_INET) return undefined;
      return {
        kind: 'addr',
        op: msg.type === rt.MessageType.NEWADDR ? 'new' : 'del',
        port,
        ifindex: data.index ?? 0,
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS differs from it only on point-to-point links.
        ip: ipv4(attrs.local ?? attrs.address) ?? '?',
        prefix: data.prefixlen ?? 0,
      };
    }
    case rt.MessageType.NEWLINK:
    case rt.MessageType.DELLINK: {
      const { data, attrs } = rt.parseLinkMessage(msg.data);
      return {
        kind: 'link',
        op: msg.type === rt.MessageType.NEWLINK ? 'new' : 'del',
        port,
        index: data.index ?? 0,
        name: attrs.ifname ?? '',
        up: !!data.flags?.up,
      };
    }
    default:
      return undefined;
  }
}

