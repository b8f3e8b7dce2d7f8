import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isDescriptorExhaustion } from './dial.js';
import { splitEndpoint, type PortalContext } from './context.js';
import { SessionTable } from './udp-sessions.js';
import type { ServiceTraffic } from './metrics.js';

/**
 * The UDP listener of one service port, bound to one concrete address (never
 * 0.0.0.0): replies must leave from the address the client's flow was DNATed
 * to, or conntrack cannot map them back to the service IP. Each client
 * `addr:port` gets its own backend socket (a session) that lives while
 * datagrams flow and is closed after the idle timeout.
 */

interface Session {
  key: string;
  endpoint: string;
  host: string;
  port: number;
  socket: Socket;
}

export class UdpPortal {
  private readonly socket: Socket;
  private readonly sessions: SessionTable<Session>;
  private sweeper: NodeJS.Timeout | undefined;
  private bytesIn = 0;
  private bytesOut = 0;
  private closed = false;

  constructor(
    private readonly ctx: PortalContext,
    readonly listenIP: string,
    idleMs: number,
  ) {
    if (listenIP === '0.0.0.0' || listenIP === '::') throw new Error(`service ${ctx.key}: UDP listener needs a concrete address, not ${listenIP}`);
    this.sessions = new SessionTable<Session>(idleMs);
    this.socket = createSocket({ type: 'udp4', recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 } as Parameters<typeof createSocket>[0]);
    this.socket.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
    this.socket.on('error', (err) => {
      if (this.closed) return;
      ctx.log.warn({ service: ctx.key, err: err.message }, 'UDP listener error');
    });
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`service ${this.ctx.key}: cannot listen on ${this.listenIP}:${port}/udp: ${err.message}`));
      this.socket.once('error', onError);
      this.socket.bind({ address: this.listenIP, port }, () => {
        this.socket.off('error', onError);
        // Sweep at a fraction of the timeout so a session outlives it by little.
        const every = Math.max(10, Math.min(1000, Math.floor(this.sessions.idleMs / 4)));
        this.sweeper = setInterval(() => this.sweep(), every);
        this.sweeper.unref();
        resolve(this.socket.address().port);
      });
    });
  }

  get port(): number {
    try {
      return this.socket.address().port;
    } catch {
      return 0;
    }
  }

  traffic(): ServiceTraffic {
    return { service: this.ctx.key, protocol: 'UDP', active: this.sessions.size, bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const s of this.sessions.drain()) closeQuietly(s.socket);
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  destroy(): Promise<void> {
    return this.close();
  }

  private sweep(): void {
    for (const { value } of this.sessions.expire()) closeQuietly(value.socket);
  }

  private fromClient(msg: Buffer, rinfo: RemoteInfo): void {
    const { key: service } = this.ctx;
    const key = SessionTable.key(rinfo.address, rinfo.port);
    let s = this.sessions.get(key);
    if (!s) {
      const endpoint = this.ctx.balancer.next(service, rinfo.address);
      if (endpoint === undefined) {
        this.ctx.metrics.refused.inc({ service, reason: 'no-endpoints' });
        return;
      }
      const opened = this.openSession(key, endpoint, rinfo);
      if (!opened) return;
      s = opened;
      const stale = this.sessions.add(key, s);
      if (stale) closeQuietly(stale.socket);
    }
    this.bytesIn += msg.length;
    s.socket.send(msg, s.port, s.host);
  }

  private openSession(key: string, endpoint: string, client: RemoteInfo): Session | undefined {
    const { host, port } = splitEndpoint(endpoint);
    let socket: Socket;
    try {
      socket = createSocket('udp4');
    } catch (err) {
      this.refuse(err as Error);
      return undefined;
    }
    const s: Session = { key, endpoint, host, port, socket };
    socket.on('message', (reply, from) => {
      // Only the chosen endpoint may answer through this session.
      if (this.closed || from.port !== port || from.address !== host) return;
      if (!this.sessions.touch(key)) return;
      this.bytesOut += reply.length;
      this.socket.send(reply, client.port, client.address);
    });
    socket.on('error', (err) => {
      // EMFILE on the implicit bind, or ICMP errors: end this session only.
      this.sessions.deleteIf(key, s);
      closeQuietly(socket);
      if (isDescriptorExhaustion(err)) this.refuse(err);
      else this.ctx.log.debug({ service: this.ctx.key, endpoint, err: err.message }, 'UDP backend socket error');
    });
    return s;
  }

  private refuse(err: Error): void {
    this.ctx.metrics.refused.inc({ service: this.ctx.key, reason: isDescriptorExhaustion(err) ? 'fd-limit' : 'socket-error' });
    this.ctx.warnLimited(`service ${this.ctx.key}: cannot open a UDP backend socket, datagram dropped`, err);
  }
}

/** close() throws on a socket already closed; a session may be closed by an error and a sweep. */
function closeQuietly(s: Socket): void {
  try {
    s.close();
  } catch {
    /* already closed */
  }
}
