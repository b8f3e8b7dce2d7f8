import { randomBytes } from 'node:crypto';
import { createRtNetlink, AttrStream, ifla, FlagsNew, parseAttributes, type RtNetlinkSocket } from 'netlink';
import { Cidr, intToIp, ipToInt } from '@pilot/common';
import { formatMac } from './eventdecode.js';
import { OVERLAYD_RT_PROTO, RT_TABLE_MAIN } from './kernelevents.js';
import type { FdbEntry, KernelEntries, NeighEntry, RouteEntry } from './reconcile.js';

/**
 * The kernel edge: links, addresses, routes, neighbours and FDB entries over
 * rtnetlink (the `netlink` package). Never /sys: inside a host namespace
 * entered with nsenter, /sys still shows the root namespace.
 */

export { OVERLAYD_RT_PROTO, formatMac };

const AF_INET = 2;
const AF_BRIDGE = 7;
const RTNH_F_ONLINK = 4;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;

export interface LinkInfo {
  index: number;
  name: string;
  mtu: number;
  mac: string;
  up: boolean;
  kind: string | undefined;
  vxlan: VxlanInfo | undefined;
}

export interface VxlanInfo {
  vni: number;
  local: string | undefined;
  link: number | undefined;
  port: number;
  learning: boolean;
}

export interface AddressInfo {
  ifindex: number;
  ip: string;
  prefix: number;
}

export interface VxlanSpec {
  name: string;
  vni: number;
  port: number;
  local: string;
  link: number;
  mtu: number;
}

/** A kernel request that failed, naming the object. */
export class KernelError extends Error {
  constructor(
    readonly what: string,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'KernelError';
  }
}

const ipBuf = (ip: string) => {
  const n = ipToInt(ip);
  return Buffer.from([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
};
const bufIp = (b: Buffer | undefined) => (b && b.length === 4 ? intToIp(b.readUInt32BE(0)) : undefined);
export const parseMac = (s: string) => Buffer.from(s.split(':').map((x) => parseInt(x, 16)));

function closeQuietly(sock: RtNetlinkSocket): void {
  try {
    sock.socket.close();
  } catch {
    // Already closed by the binding (a failed poll closes it).
  }
}

function errCode(err: unknown): string | undefined {
  const m = /Request rejected: (\w+)/.exec(err instanceof Error ? err.message : '');
  return m?.[1];
}

/** Parses IFLA_LINKINFO: the kind and, for vxlan, its settings. */
function parseLinkInfo(buf: Buffer | undefined): { kind: string | undefined; vxlan: VxlanInfo | undefined } {
  if (!buf) return { kind: undefined, vxlan: undefined };
  let kind: string | undefined;
  let data: Buffer | undefined;
  parseAttributes(buf, (a) => {
    if (a.type === IFLA_INFO_KIND) kind = a.data.toString('utf8').replace(/\0+$/, '');
    if (a.type === IFLA_INFO_DATA) data = a.data;
  });
  if (kind !== 'vxlan' || !data) return { kind, vxlan: undefined };
  const v = ifla.parseVxlan(data);
  return {
    kind,
    vxlan: { vni: v.id ?? 0, local: bufIp(v.local), link: v.link, port: v.port ? v.port.readUInt16BE(0) : 0, learning: !!v.learning },
  };
}

export interface KernelOptions {
  /**
   * Called once per request socket that failed asynchronously (the binding
   * reports a failed receive or poll as an 'error' event, which would crash
   * the process without a listener). The request in flight, if any, is
   * rejected; the next request opens a new socket.
   */
  onSocketError?: (err: KernelError) => void;
  /** Opens a request socket; tests pass their own. */
  openSocket?: () => RtNetlinkSocket;
}

/** A request socket and what its failure looks like to the request in flight. */
interface RequestSocket {
  sock: RtNetlinkSocket;
  port: number;
  /** Rejects when the socket fails: its replies may be lost, so a request must not wait for them. */
  failed: Promise<never>;
}

export class Kernel {
  private current: RequestSocket | undefined;
  /** Port of the last socket, while none is open (after a failure, until the next request). */
  private lastPort = 0;
  /** What the socket is doing, for the failure's log line. */
  private inFlight: string | undefined;
  private closed = false;
  private readonly openSocket: () => RtNetlinkSocket;

  constructor(private readonly opts: KernelOptions = {}) {
    this.openSocket = opts.openSocket ?? (() => createRtNetlink());
    // Opened now, so a host where netlink is unusable fails at start, not at the first reconcile.
    this.socket();
  }

  close(): void {
    this.closed = true;
    const s = this.current;
    this.current = undefined;
    if (s) closeQuietly(s.sock);
  }

  /** The netlink port requests go out from; the kernel names it in the notifications they cause. */
  get port(): number {
    return this.current?.port ?? this.lastPort;
  }

  private socket(): RequestSocket {
    if (this.current) return this.current;
    if (this.closed) throw new Error('netlink request socket closed');
    const sock = this.openSocket();
    let fail!: (err: KernelError) => void;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    // Only a request in flight listens; a failure between requests must not be an unhandled rejection.
    failed.catch(() => undefined);
    const s: RequestSocket = { sock, port: sock.socket.address().port, failed };
    sock.socket.on('error', (err: Error & { code?: string }) => {
      // Runs inside the binding's poll callback: throwing here would abort the process.
      try {
        if (this.current !== s) return;
        this.current = undefined;
        // Closed once the binding's callback has returned, not from inside it.
        setImmediate(() => closeQuietly(sock));
        const cause = err.code ? `${err.code}: ${err.message}` : err;
        fail(new KernelError(`netlink request socket (port ${s.port}) failed`, undefined, cause));
        const during = this.inFlight ? ` during "${this.inFlight}"` : '';
        this.opts.onSocketError?.(new KernelError(`netlink request socket (port ${s.port}) failed${during}`, undefined, cause));
      } catch {
        // Nothing to do: the next request opens a new socket.
      }
    });
    this.current = s;
    this.lastPort = s.port;
    return s;
  }

  /** One request in flight at a time: the kernel runs one dump per socket, and replies must not interleave. */
  private chain: Promise<unknown> = Promise.resolve();

  private call<T>(what: string, fn: (sock: RtNetlinkSocket) => Promise<T>): Promise<T> {
    const run = async () => {
      try {
        const s = this.socket();
        this.inFlight = what;
        try {
          return await Promise.race([fn(s.sock), s.failed]);
        } finally {
          this.inFlight = undefined;
        }
      } catch (err) {
        throw new KernelError(what, errCode(err), err);
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  async links(): Promise<LinkInfo[]> {
    const msgs = await this.call('list links', (s) => s.getLinks());
    return msgs.map((m) => {
      const { kind, vxlan } = parseLinkInfo(m.attrs.linkinfo);
      return {
        index: m.data.index ?? 0,
        name: m.attrs.ifname ?? '',
        mtu: m.attrs.mtu ?? 0,
        mac: m.attrs.address ? formatMac(m.attrs.address) : '',
        up: !!m.data.flags?.up,
        kind,
        vxlan,
      };
    });
  }

  async link(name: string): Promise<LinkInfo | undefined> {
    return (await this.links()).find((l) => l.name === name);
  }

  async addresses(): Promise<AddressInfo[]> {
    const msgs = await this.call('list addresses', (s) => s.getAddresses({ family: AF_INET }));
    const out: AddressInfo[] = [];
    for (const m of msgs) {
      const ip = bufIp(m.attrs.local ?? m.attrs.address);
      if (ip && m.data.index !== undefined) out.push({ ifindex: m.data.index, ip, prefix: m.data.prefixlen ?? 32 });
    }
    return out;
  }

  /** The interface of the main table's default route, if any. */
  async defaultRouteIfindex(): Promise<number | undefined> {
    const routes = await this.call('list routes', (s) => s.getRoutes({ family: AF_INET }));
    const def = routes.find((r) => r.data.dstLen === 0 && (r.attrs.table ?? r.data.table) === RT_TABLE_MAIN && r.attrs.oif !== undefined);
    return def?.attrs.oif;
  }

  /**
   * Makes sure a vxlan device with exactly these settings exists and is up;
   * one with other settings is deleted and recreated (as flannel does). The
   * MAC is kept across restarts because the device is reused.
   */
  async ensureVxlan(spec: VxlanSpec): Promise<LinkInfo> {
    let link = await this.link(spec.name);
    const port = spec.port || 8472;
    if (link) {
      const v = link.vxlan;
      const matches = link.kind === 'vxlan' && v && v.vni === spec.vni && v.local === spec.local && v.link === spec.link && v.port === port && !v.learning;
      if (!matches) {
        await this.deleteLink(link.index, spec.name);
        link = undefined;
      }
    }
    if (!link) {
      const info = new AttrStream();
      info.push(IFLA_INFO_KIND, Buffer.from('vxlan\0'));
      const port16 = Buffer.alloc(2);
      port16.writeUInt16BE(port, 0);
      info.push(IFLA_INFO_DATA, ifla.formatVxlan({ id: spec.vni, local: ipBuf(spec.local), link: spec.link, port: port16, learning: 0 }));
      // Locally administered unicast MAC, random like flannel's.
      const mac = randomBytes(6);
      mac[0] = (mac[0]! & 0xfe) | 0x02;
      await this.call(`create vxlan device ${spec.name}`, (s) =>
        s.newLink({}, { ifname: spec.name, mtu: spec.mtu, address: mac, linkinfo: Buffer.concat(info.bufs) }, { flags: FlagsNew.CREATE | FlagsNew.EXCL }),
      );
      link = await this.link(spec.name);
      if (!link) throw new KernelError(`create vxlan device ${spec.name}`, undefined, 'device missing after creation');
    }
    const l = link;
    if (l.mtu !== spec.mtu) await this.call(`set mtu ${spec.mtu} on ${spec.name}`, (s) => s.setLink({ index: l.index }, { mtu: spec.mtu }));
    if (!l.up) await this.call(`set ${spec.name} up`, (s) => s.setLink({ index: l.index, change: { up: true }, flags: { up: true } }));
    return (await this.link(spec.name)) ?? l;
  }

  async deleteLink(index: number, name: string): Promise<void> {
    await this.call(`delete link ${name}`, (s) => s.delLink({ index }));
  }

  /**
   * Gives a device exactly one address inside `network`: `ip/32`. Other
   * addresses inside the network (an old subnet) are removed; addresses
   * outside it are not ours and stay. Returns how many changes it made.
   */
  async setOnlyAddress(ifindex: number, ip: string, network: Cidr): Promise<number> {
    const addrs = (await this.addresses()).filter((a) => a.ifindex === ifindex);
    let changes = 0;
    for (const a of addrs) {
      if (network.contains(a.ip) && !(a.ip === ip && a.prefix === 32)) {
        await this.call(`remove address ${a.ip}/${a.prefix}`, (s) =>
          s.delAddress({ family: AF_INET, prefixlen: a.prefix, index: ifindex }, { local: ipBuf(a.ip), address: ipBuf(a.ip) }),
        );
        changes++;
      }
    }
    if (!addrs.some((a) => a.ip === ip && a.prefix === 32)) {
      await this.call(`add address ${ip}/32`, (s) =>
        s.newAddress({ family: AF_INET, prefixlen: 32, index: ifindex }, { local: ipBuf(ip), address: ipBuf(ip) }, { flags: FlagsNew.CREATE | FlagsNew.REPLACE }),
      );
      changes++;
    }
    return changes;
  }

  /** overlayd's entries as the kernel has them: its routes, and permanent entries on its device. */
  async ownedEntries(vxlanIfindex: number | undefined): Promise<KernelEntries> {
    const routes: RouteEntry[] = [];
    for (const r of await this.call('list routes', (s) => s.getRoutes({ family: AF_INET }))) {
      if ((r.data.protocol as number) !== OVERLAYD_RT_PROTO || (r.attrs.table ?? r.data.table) !== RT_TABLE_MAIN) continue;
      const dst = bufIp(r.attrs.dst) ?? '0.0.0.0';
      routes.push({
        dst: `${dst}/${r.data.dstLen ?? 0}`,
        gateway: bufIp(r.attrs.gateway) ?? '',
        ifindex: r.attrs.oif ?? 0,
        onlink: ((r.data.flags?.__unknown ?? 0) & RTNH_F_ONLINK) !== 0,
      });
    }
    const neighs: NeighEntry[] = [];
    const fdb: FdbEntry[] = [];
    if (vxlanIfindex !== undefined) {
      for (const n of await this.call('list neighbours', (s) => s.getNeighbors({ family: AF_INET, ifindex: vxlanIfindex }))) {
        if (n.data.ifindex !== vxlanIfindex || !n.data.state?.permanent) continue;
        const ip = bufIp(n.attrs.dst);
        if (ip && n.attrs.lladdr) neighs.push({ ip, mac: formatMac(n.attrs.lladdr), ifindex: vxlanIfindex });
      }
      for (const n of await this.call('list fdb', (s) => s.getNeighbors({ family: AF_BRIDGE, ifindex: vxlanIfindex }))) {
        if (n.data.ifindex !== vxlanIfindex || !n.data.state?.permanent) continue;
        const dst = bufIp(n.attrs.dst);
        if (dst && n.attrs.lladdr) fdb.push({ mac: formatMac(n.attrs.lladdr), dst, ifindex: vxlanIfindex });
      }
    }
    return { routes, neighs, fdb };
  }

  private routeMsg(r: RouteEntry) {
    const dst = Cidr.parse(r.dst);
    return {
      data: {
        family: AF_INET,
        dstLen: dst.prefix,
        table: RT_TABLE_MAIN,
        protocol: OVERLAYD_RT_PROTO,
        scope: 'UNIVERSE' as const,
        type: 'UNICAST' as const,
        flags: r.onlink ? { __unknown: RTNH_F_ONLINK } : {},
      },
      attrs: { dst: ipBuf(dst.network), gateway: ipBuf(r.gateway), oif: r.ifindex },
    };
  }

  /**
   * Adds a route without replacing anything: if another route to the same
   * destination exists (an operator's), the kernel refuses with EEXIST and
   * the caller reports the conflict instead of overwriting it.
   */
  async addRoute(r: RouteEntry): Promise<void> {
    const m = this.routeMsg(r);
    await this.call(`add route ${r.dst} via ${r.gateway}`, (s) => s.newRoute(m.data, m.attrs, { flags: FlagsNew.CREATE | FlagsNew.EXCL }));
  }

  async delRoute(r: RouteEntry): Promise<void> {
    const m = this.routeMsg(r);
    await this.call(`delete route ${r.dst} via ${r.gateway}`, (s) => s.delRoute(m.data, m.attrs));
  }

  async setNeigh(n: NeighEntry): Promise<void> {
    await this.call(`set neighbour ${n.ip} lladdr ${n.mac}`, (s) =>
      s.newNeighbor({ family: AF_INET, ifindex: n.ifindex, state: { permanent: true } }, { dst: ipBuf(n.ip), lladdr: parseMac(n.mac) }, { flags: FlagsNew.CREATE | FlagsNew.REPLACE }),
    );
  }

  async delNeigh(n: NeighEntry): Promise<void> {
    await this.call(`delete neighbour ${n.ip}`, (s) => s.delNeighbor({ family: AF_INET, ifindex: n.ifindex }, { dst: ipBuf(n.ip) }));
  }

  async addFdb(f: FdbEntry): Promise<void> {
    await this.call(`add fdb ${f.mac} dst ${f.dst}`, (s) =>
      s.newNeighbor(
        { family: AF_BRIDGE, ifindex: f.ifindex, state: { permanent: true }, flags: { self: true } },
        { lladdr: parseMac(f.mac), dst: ipBuf(f.dst) },
        { flags: FlagsNew.CREATE | FlagsNew.APPEND },
      ),
    );
  }

  async delFdb(f: FdbEntry): Promise<void> {
    await this.call(`delete fdb ${f.mac} dst ${f.dst}`, (s) =>
      s.delNeighbor({ family: AF_BRIDGE, ifindex: f.ifindex, flags: { self: true } }, { lladdr: parseMac(f.mac), dst: ipBuf(f.dst) }),
    );
  }
}
