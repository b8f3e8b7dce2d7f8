import { connect, createServer, type Server, type Socket } from 'node:net';
import { dialWithRetry, DialError, isDescriptorExhaustion } from './dial.js';
import { splitEndpoint, type PortalContext } from './context.js';
import type { ServiceTraffic } from './metrics.js';
import { adoptAccepted, Direction } from './relay.js';

/**
 * The TCP listener of one service port. Each accepted client is relayed to a
 * backend chosen round-robin: each side reads into a reusable buffer and the
 * bytes are written straight on, reading stops while a write is pending
 * (backpressure), a FIN is passed on as a FIN (half-close), an error on
 * either side becomes a reset on the other. Every connection is independent,
 * so a backend that accepts and stalls only holds its own clients.
 */

// Tuning, measured on loopback with iperf3 (bench/svcproxy-userspace): reading
// through `onread` into reusable buffers of up to 1 MiB (relay.ts) instead of
// pipe()'s fresh 64 KiB chunk per read halved the proxy's CPU per byte.
// Larger writable high-water marks or a data/drain loop over pipe()'s chunks
// did not help. Latency: Nagle off on both sides, nothing read before the
// backend is connected.

interface Conn {
  client: Socket;
  backend?: Socket;
}

export class TcpPortal {
  private readonly server: Server;
  private readonly conns = new Set<Conn>();
  private closedIn = 0;
  private closedOut = 0;
  private closing = false;

  constructor(
    private readonly ctx: PortalContext,
    readonly listenIP: string,
  ) {
    // pauseOnConnect: nothing is read from a client before its backend is
    // connected, so the kernel (not our heap) holds early bytes.
    this.server = createServer(
      { allowHalfOpen: true, pauseOnConnect: true, noDelay: true },
      (s) => this.accept(s),
    );
    this.server.on('error', (err) => {
      if (!this.server.listening) return; // a listen() failure, reported by listen()
      // accept() failing (EMFILE/ENFILE) reaches here: libuv closes the
      // pending connection, the listener keeps running.
      this.ctx.metrics.refused.inc({ service: ctx.key, reason: isDescriptorExhaustion(err) ? 'fd-limit' : 'accept-error' });
      this.ctx.warnLimited(`service ${ctx.key}: accept failed, connection refused`, err);
    });
  }

  /** Binds listenIP:port (0 = any free port) and resolves with the port. */
  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`service ${this.ctx.key}: cannot listen on ${this.listenIP}:${port}/tcp: ${err.message}`));
      this.server.once('error', onError);
      this.server.listen({ host: this.listenIP, port, backlog: 1024 }, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  get port(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  traffic(): ServiceTraffic {
    let bytesIn = this.closedIn;
    let bytesOut = this.closedOut;
    for (const c of this.conns) {
      bytesIn += c.client.bytesRead;
      bytesOut += c.backend?.bytesRead ?? 0;
    }
    return { service: this.ctx.key, protocol: 'TCP', active: this.conns.size, bytesIn, bytesOut };
  }

  /**
   * Stops accepting at once; open connections drain on their own (the
   * server's close callback would wait for them, so it is not awaited).
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.server.close();
  }

  /** Stops accepting and resets every open connection (shutdown). */
  async destroy(): Promise<void> {
    await this.close();
    for (const c of this.conns) {
      reset(c.client);
      if (c.backend) reset(c.backend);
    }
  }

  private accept(client: Socket): void {
    const { key } = this.ctx;
    const conn: Conn = { client };
    this.conns.add(conn);
    const ignoreError = () => {
      /* handled on close: the backend gets a reset */
    };
    client.on('error', ignoreError);
    // A connection leaves the live set only when both of its sockets are
    // closed, and its bytes move to the closed totals at that moment, so the
    // byte counters never step backwards between scrapes.
    const settle = () => {
      if (!conn.client.destroyed || (conn.backend && !conn.backend.destroyed) || !this.conns.delete(conn)) return;
      this.closedIn += conn.client.bytesRead;
      this.closedOut += conn.backend?.bytesRead ?? 0;
    };
    client.once('close', settle);
    if (this.closing) {
      reset(client);
      return;
    }
    const clientIP = client.remoteAddress ?? '';
    // A client that leaves while we dial stops the fail-over loop.
    const gone = new AbortController();
    const onGone = () => gone.abort();
    client.once('close', onGone);
    const toClient = new Direction();
    dialWithRetry(
      (attempt) => this.ctx.balancer.next(key, clientIP, attempt > 0),
      (endpoint, timeoutMs) => dialTcp(endpoint, timeoutMs, toClient.onread),
      {
        service: key,
        timeoutsMs: this.ctx.dialTimeoutsMs,
        isFatal: isDescriptorExhaustion,
        signal: gone.signal,
        onFailure: (f) => {
          if (isDescriptorExhaustion(f.error)) return;
          this.ctx.metrics.connectFailures.inc({ service: key });
          this.ctx.log.debug({ service: key, endpoint: f.endpoint, timeoutMs: f.timeoutMs, err: f.error.message }, 'backend connect failed; trying the next endpoint');
        },
      },
    )
      .then(
        ({ value: backend }) => {
          if (gone.signal.aborted || client.destroyed) {
            backend.destroy();
            return;
          }
          conn.backend = backend;
          backend.once('close', settle);
          // The client moves to a socket that reads into our buffers; the
          // retired original must not count as the client closing.
          const toBackend = new Direction();
          client.off('close', settle);
          client.off('close', onGone);
          client.off('error', ignoreError);
          const adopted = adoptAccepted(client, toBackend.onread);
          if (adopted) conn.client = adopted;
          conn.client.once('close', settle);
          // Without adoption the client's bytes are piped (Node's own chunks).
          relay(conn.client, backend, adopted ? toBackend : undefined, toClient);
        },
        (err: unknown) => {
          if (gone.signal.aborted) return;
          const failures = err instanceof DialError ? err.failures : [];
          const fdLimit = failures.some((f) => isDescriptorExhaustion(f.error));
          const reason = fdLimit ? 'fd-limit' : failures.length ? 'all-failed' : 'no-endpoints';
          this.ctx.metrics.refused.inc({ service: key, reason });
          const what = fdLimit ? `service ${key}: cannot open a backend connection, client refused` : `service ${key}: client refused (${reason})`;
          // Rate-limited: a dead service under load must not flood the log.
          this.ctx.warnLimited(what, fdLimit ? failures.at(-1)!.error : (err as Error));
          reset(client);
        },
      )
      .catch((err: unknown) => {
        // Never let one connection's surprise become an unhandled rejection (a crash).
        this.ctx.log.error({ service: key, err: (err as Error).message }, 'proxying a connection failed');
        reset(conn.client);
        if (conn.backend) reset(conn.backend);
      });
  }
}

/**
 * Connects to `ip:port` within `timeoutMs`. With `onread` the socket reads
 * into those buffers and comes back paused (resume it once its reads have
 * somewhere to go).
 */
export function dialTcp(endpoint: string, timeoutMs: number, onread?: Direction['onread']): Promise<Socket> {
  const { host, port } = splitEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, allowHalfOpen: true, noDelay: true, ...(onread ? { onread } : {}) });
    if (onread) s.pause();
    const timer = setTimeout(() => {
      s.destroy();
      reject(Object.assign(new Error(`connect ${endpoint} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeListener('error', onError);
      resolve(s);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(err);
    };
    s.once('error', onError);
  });
}

/**
 * Ties the two sockets' fates: an error (RST, timeout) on one side resets the
 * other, so the peer sees what really happened, and a side destroyed without
 * an error event (e.g. by destroy()) never leaves its peer open forever.
 */
function linkFates(client: Socket, backend: Socket): void {
  backend.on('error', () => reset(client));
  client.on('error', () => reset(backend));
  client.once('close', (hadError) => {
    if (hadError || !client.readableEnded) reset(backend);
  });
  backend.once('close', (hadError) => {
    if (hadError || !backend.readableEnded) reset(client);
  });
}

/**
 * Joins a client and a backend that read through `toBackend` / `toClient`
 * (backend still paused from dialTcp). A FIN is passed on once the bytes
 * before it are written; an error or an unexpected close on one side resets
 * the other.
 */
export function relay(client: Socket, backend: Socket, toBackend: Direction | undefined, toClient: Direction): void {
  toClient.attach(backend, client);
  linkFates(client, backend);
  backend.once('end', () => client.end());
  if (toBackend) {
    toBackend.attach(client, backend);
    client.once('end', () => backend.end());
  } else {
    client.pipe(backend); // ends the backend when the client ends
  }
  backend.resume();
}

/** Sends an RST (SO_LINGER 0) when possible, else a plain destroy. */
function reset(s: Socket): void {
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}
