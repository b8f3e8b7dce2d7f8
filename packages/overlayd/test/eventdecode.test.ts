import { AttrStream, rt } from 'netlink';
import { decodeEvent } from '../src/eventdecode.js';

/** A notification as the kernel would send it, built with the same library's encoders. */
type Encodable = rt.RouteMessage | rt.NeighborMessage | rt.LinkMessage | rt.AddressMessage;
function msg(type: rt.MessageType, m: Encodable, port = 900) {
  const out = new AttrStream();
  if (m.kind === 'route') rt.formatRouteMessage(m, out);
  else if (m.kind === 'neighbor') rt.formatNeighborMessage(m, out);
  else if (m.kind === 'address') rt.formatAddressMessage(m, out);
  else rt.formatLinkMessage(m, out);
  return { type, port, data: Buffer.concat(out.bufs) };
}

/** 79 has no name in the library's enum. */
const PROTO_OVERLAYD = 79 as rt.RouteProtocol;

const ip = (s: string) => Buffer.from(s.split('.').map(Number));

describe('decoding rtnetlink notifications', () => {
  it('reads a deleted route\'s destination, protocol, table and cause', () => {
    const m = msg(rt.MessageType.DELROUTE, {
      kind: 'route',
      data: { family: 2, dstLen: 24, table: 254, protocol: PROTO_OVERLAYD, scope: 'UNIVERSE', type: 'UNICAST' },
      attrs: { dst: ip('10.1.5.0'), gateway: ip('10.1.5.0'), oif: 7 },
    });
    expect(decodeEvent(m)).toEqual({ kind: 'route', op: 'del', port: 900, dst: '10.1.5.0/24', protocol: 79, table: 254 });
  });

  it('gives a well-known protocol as its number', () => {
    const m = msg(rt.MessageType.NEWROUTE, { kind: 'route', data: { family: 2, dstLen: 16, table: 254, protocol: 'BOOT' }, attrs: { dst: ip('10.7.0.0') } });
    expect(decodeEvent(m)).toMatchObject({ op: 'new', protocol: 3 });
  });

  it('reads neighbour (ARP) and FDB entries', () => {
    const arp = msg(rt.MessageType.DELNEIGH, { kind: 'neighbor', data: { family: 2, ifindex: 7, state: { failed: true } }, attrs: { dst: ip('10.1.5.0') } }, 0);
    expect(decodeEvent(arp)).toEqual({ kind: 'neigh', op: 'del', port: 0, family: 'inet', ifindex: 7, permanent: false, addr: '10.1.5.0' });
    const fdb = msg(rt.MessageType.NEWNEIGH, {
      kind: 'neighbor',
      data: { family: 7, ifindex: 7, state: { permanent: true }, flags: { self: true } },
      attrs: { lladdr: Buffer.from([2, 0, 0, 0, 0, 5]), dst: ip('172.30.0.12') },
    });
    expect(decodeEvent(fdb)).toEqual({ kind: 'neigh', op: 'new', port: 900, family: 'bridge', ifindex: 7, permanent: true, addr: '02:00:00:00:00:05' });
  });

  it('reads a link\'s index, name and admin state', () => {
    const m = msg(rt.MessageType.NEWLINK, { kind: 'link', data: { index: 7, flags: {} }, attrs: { ifname: 'flannel.1' } }, 0);
    expect(decodeEvent(m)).toEqual({ kind: 'link', op: 'new', port: 0, index: 7, name: 'flannel.1', up: false });
  });

  it('reads an IPv4 address\'s device, local address, prefix and cause', () => {
    const m = msg(rt.MessageType.DELADDR, { kind: 'address', data: { family: 2, prefixlen: 32, index: 7 }, attrs: { local: ip('10.1.3.0'), address: ip('10.1.3.0') } });
    expect(decodeEvent(m)).toEqual({ kind: 'addr', op: 'del', port: 900, ifindex: 7, ip: '10.1.3.0', prefix: 32 });
    // Point-to-point links: IFA_LOCAL is the interface's own address, IFA_ADDRESS the peer's.
    const ptp = msg(rt.MessageType.NEWADDR, { kind: 'address', data: { family: 2, prefixlen: 32, index: 9 }, attrs: { local: ip('10.9.0.1'), address: ip('10.9.0.2') } }, 0);
    expect(decodeEvent(ptp)).toEqual({ kind: 'addr', op: 'new', port: 0, ifindex: 9, ip: '10.9.0.1', prefix: 32 });
  });

  it('ignores IPv6 routes and addresses, and message types it does not watch', () => {
    expect(decodeEvent(msg(rt.MessageType.DELROUTE, { kind: 'route', data: { family: 10, dstLen: 64, table: 254, protocol: PROTO_OVERLAYD }, attrs: {} }))).toBeUndefined();
    expect(decodeEvent(msg(rt.MessageType.DELADDR, { kind: 'address', data: { family: 10, prefixlen: 64, index: 7 }, attrs: { address: Buffer.alloc(16) } }))).toBeUndefined();
    expect(decodeEvent({ type: rt.MessageType.NEWRULE, port: 0, data: Buffer.alloc(12) })).toBeUndefined();
  });
});
