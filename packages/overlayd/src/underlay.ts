import { Cidr, FatalError, isIPv4 } from '@pilot/common';
import type { AddressInfo, LinkInfo } from './netlink.js';

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

/**
 * Which interface overlay traffic uses and which address identifies this
 * host: --iface (a name or an address), else the default route's interface;
 * --public-ip overrides the address put in the lease. Pure over the kernel's
 * link and address lists.
 */
export function chooseUnderlay(
  links: readonly LinkInfo[],
  addrs: readonly AddressInfo[],
  defaultIfindex: number | undefined,
  flags: { iface?: string | undefined; publicIp?: string | undefined },
): { underlay: Underlay; publicIp: string } {
  let link: LinkInfo | undefined;
  if (flags.iface) {
    if (isIPv4(flags.iface)) {
      const a = addrs.find((x) => x.ip === flags.iface);
      link = a && links.find((l) => l.index === a.ifindex);
      if (!link) throw new FatalError(`--iface ${flags.iface}: no interface has this address`);
    } else {
      link = links.find((l) => l.name === flags.iface);
      if (!link) throw new FatalError(`--iface ${flags.iface}: no such interface (have: ${links.map((l) => l.name).join(', ')})`);
    }
  } else if (flags.publicIp && addrs.some((x) => x.ip === flags.publicIp)) {
    const a = addrs.find((x) => x.ip === flags.publicIp)!;
    link = links.find((l) => l.index === a.ifindex);
  } else {
    link = links.find((l) => l.index === defaultIfindex);
    if (!link) throw new FatalError('no default route to pick the external interface from; pass --iface');
  }
  if (!link) throw new FatalError(`no interface holds --public-ip ${flags.publicIp}; pass --iface`);
  const found = link;
  const mine = addrs.filter((a) => a.ifindex === found.index);
  const addr = (flags.publicIp && mine.find((a) => a.ip === flags.publicIp)) || mine[0];
  if (!addr) throw new FatalError(`interface ${link.name} has no IPv4 address`);
  if (!link.mtu) throw new FatalError(`interface ${link.name} reports no MTU`);
  return {
    underlay: { name: link.name, index: link.index, mtu: link.mtu, ip: addr.ip, network: new Cidr(Cidr.parse(`${addr.ip}/32`).base, addr.prefix) },
    publicIp: flags.publicIp ?? addr.ip,
  };
}
