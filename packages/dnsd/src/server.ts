import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOptions } from 'node:dns';
import { createServer, isIP, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from '@pilot/common';
import type { QueryHandler } from './handler.js';
import { deadlineOf, pickVictim, type TcpCloseReason, type TcpConnState, type TcpTimeouts } from './tcp-conns.js';

/**
 * dnsd's sockets. TCP listens on one address (all by default). UDP is bound
 * per concrete address, never 0.0.0.0: a reply to a query that was DNAT'd
 * from 10.0.0.10 must leave from the address the query reached, or conntrack
 * cannot translate it back and the client drops it.
 */

export interface ServerOptions {
  handler: QueryHandler;
  /** TCP listen host ("0.0.0.0", "::" or a concrete address). */
  tcpHost: string;
  /** Port for TCP and every UDP socket; 0 picks a free one (TCP first). */
  port: number;
  /** Concrete addresses to bind UDP on. */
  udpAddresses: string[];
  log?: Logger;
  /** A TCP connection is closed this long (ms) after its last whole message (or its accept) unless a new message starts. */
  tcpIdleMs?: number;
  /** A length-prefixed TCP message must arrive whole within this long (ms) of its first byte (CoreDNS: 2 s). */
  tcpReadMs?: number;
  /** At most this many TCP connections; a new one past the cap closes the worst open one (never refused). */
  maxTcpConnections?: number;
  /** Called once per TCP connection dnsd closes itself, with why. */
  onTcpClose?: (reason: TcpCloseReason) => void;
}

interface TcpConn extends TcpConnState {
  sock: TcpSocket;
  timer: NodeJS.Timeout | undefined;
}

export class DnsServer {
  private tcp: Server | undefined;
  private readonly udp = new Map<string, Socket>();
  private readonly conns = new Map<TcpSocket, TcpConn>();
  private readonly timeouts: TcpTimeouts;
  private readonly maxConns: number;
  port = 0;

  constructor(private readonly opts: ServerOptions) {
    this.timeouts = { readMs: opts.tcpReadMs ?? 2_000, idleMs: opts.tcpIdleMs ?? 10_000 };
    this.maxConns = opts.maxTcpConnections ?? 1000;
  }

  async start(): Promise<void> {
    const tcp = createServer((sock) => this.onTcp(sock));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', (err) => reject(new Error(`TCP listen on ${this.opts.tcpHost}:${this.opts.port}: ${err.message}`)));
      tcp.listen({ host: this.opts.tcpHost, port: this.opts.port, ipv6Only: false }, () => resolve());
    });
    this.tcp = tcp;
    const addr = tcp.address();
    this.port = typeof addr === 'object' && addr ? addr.port : this.opts.port;
    try {
      await this.setUdpAddresses(this.opts.udpAddresses);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** The addresses UDP currently answers on. */
  get udpAddresses(): string[] {
    return [...this.udp.keys()];
  }

  /**
   * Makes the UDP socket set equal to `addresses` (binds new ones, closes
   * gone ones), for callers that track local addresses as they come and go.
   */
  async setUdpAddresses(addresses: string[]): Promise<void> {
    const want = new Set(addresses);
    for (const [a, s] of this.udp) {
      if (!want.has(a)) {
        s.close();
        this.udp.delete(a);
      }
    }
    for (const a of want) {
      if (this.udp.has(a)) continue;
      if (a === '0.0.0.0' || a === '::') throw new Error(`refusing to bind UDP to the wildcard ${a}: replies must leave from the address the query reached`);
      this.udp.set(a, await this.bindUdp(a));
    }
  }

  private bindUdp(address: string): Promise<Socket> {
    const sock = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', reuseAddr: false, lookup: literalLookup });
    return new Promise((resolve, reject) => {
      sock.once('error', (err) => reject(new Error(`UDP bind ${address}:${this.port}: ${err.message}`)));
      sock.bind({ address, port: this.port, exclusive: true }, () => {
        sock.removeAllListeners('error');
        sock.on('error', (err) => this.opts.log?.warn({ address, err: err.message }, 'UDP socket error'));
        sock.on('message', (msg, rinfo) => this.onUdp(sock, msg, rinfo.address, rinfo.port, rinfo.family === 'IPv6' ? familyOf(rinfo.address) : 1));
        resolve(sock);
      });
    });
  }

  private onUdp(sock: Socket, msg: Buffer, address: string, port: number, family: 1 | 2): void {
    const res = this.opts.handler.handle(msg, { transport: 'udp', remote: address, family });
    if (res === undefined) return;
    if (res instanceof Promise) {
      res.then(
        (r) => r && sock.send(r, port, address),
        () => undefined,
      );
      return;
    }
    sock.send(res, port, address);
  }

  // No net.Server maxConnections: past it Node closes every new connection, so
  // slow clients holding the cap would lock everyone out. Instead the worst
  // open connection (overdue, then idle, then slowest) makes room.
  private onTcp(sock: TcpSocket): void {
    const now = Date.now();
    if (this.conns.size >= this.maxConns) {
      const victim = pickVictim(this.conns.values(), now, this.timeouts);
      if (victim) this.closeTcp(victim.conn, victim.reason);
    }
    const conn: TcpConn = { sock, idleSince: now, messageSince: undefined, served: false, timer: undefined };
    this.conns.set(sock, conn);
    this.arm(conn);
    sock.setNoDelay(true);
    const remote = sock.remoteAddress ?? '';
    const family = familyOf(remote);
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let completed = false;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        completed = true;
        const res = this.opts.handler.handle(Buffer.from(msg), { transport: 'tcp', remote, family });
        if (res instanceof Promise) res.then((r) => r && writeFramed(sock, r), () => undefined);
        else if (res) writeFramed(sock, res);
        else {
          // Unparseable junk on a stream: the framing can no longer be trusted.
          sock.destroy();
          return;
        }
      }
      // The deadlines move only at message boundaries, never on a partial byte:
      // a completed message restarts the idle clock (or the next message's,
      // when its first bytes came along); a first partial byte starts the read one.
      if (completed) {
        const t = Date.now();
        conn.idleSince = t;
        conn.served = true;
        conn.messageSince = buf.length > 0 ? t : undefined;
        this.arm(conn);
      } else if (conn.messageSince === undefined) {
        conn.messageSince = Date.now();
        this.arm(conn);
      }
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      clearTimeout(conn.timer);
      this.conns.delete(sock);
    });
  }

  private arm(conn: TcpConn): void {
    clearTimeout(conn.timer);
    const reason: TcpCloseReason = conn.messageSince !== undefined ? 'read-timeout' : 'idle-timeout';
    conn.timer = setTimeout(() => this.closeTcp(conn, reason), Math.max(0, deadlineOf(conn, this.timeouts) - Date.now()));
    conn.timer.unref();
  }

  private closeTcp(conn: TcpConn, reason: TcpCloseReason): void {
    clearTimeout(conn.timer);
    this.conns.delete(conn.sock);
    conn.sock.destroy();
    this.opts.onTcpClose?.(reason);
  }

  async stop(): Promise<void> {
    for (const s of this.udp.values()) s.close();
    this.udp.clear();
    for (const c of this.conns.values()) {
      clearTimeout(c.timer);
      c.sock.destroy();
    }
    this.conns.clear();
    const tcp = this.tcp;
    this.tcp = undefined;
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }
}

/**
 * dgram resolves every send's address, even a literal one, through
 * dns.lookup and a process.nextTick. Replies always go to the literal source
 * address of the query, so it is answered on the spot; names still resolve.
 */
function literalLookup(
  host: string,
  family: number | LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const fam = isIP(host);
  if (fam !== 0) callback(null, host, fam);
  else dnsLookup(host, family as LookupOptions, callback as never);
}

function writeFramed(sock: TcpSocket, msg: Buffer): void {
  if (sock.destroyed) return;
  const len = Buffer.allocUnsafe(2);
  len.writeUInt16BE(msg.length, 0);
  sock.write(Buffer.concat([len, msg]));
}

/** CoreDNS's `family` of a client address: 2 for IPv6, 1 for IPv4 and IPv4-mapped IPv6 (`::ffff:a.b.c.d`, as Go's To4). */
export function familyOf(address: string): 1 | 2 {
  return address.includes(':') && !/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? 2 : 1;
}
