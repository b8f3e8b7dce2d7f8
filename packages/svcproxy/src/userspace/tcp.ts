import { connect, createServer, type Server, type Socket } from 'node:net';
import { dialWithRetry, DialError, isDescriptorExhaustion, type DialFailure } from './dial.js';
import { splitEndpoint, type PortalContext } from './context.js';
import type { ServiceTraffic } from './metrics.js';
import { Direction, useReadBuffers } from './relay.js';

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
// backend is connected, and per accepted connection no work that a short
// connection pays for without needing it (no second Socket for the client,
// one peer-address syscall for the per-source cap and none more, no
// AbortController): a short connection is CPU on the critical path (README,
// "Short connections").

interface Conn {
  readonly client: Socket;
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

  /** Counts and logs one failed connect attempt (one function per listener, not per connection). */
  private readonly onDialFailure = (f: DialFailure): void => {
    if (isDescriptorExhaustion(f.error)) return;
    this.ctx.metrics.connectFailures.inc({ service: this.ctx.key });
    this.ctx.log.debug({ service: this.ctx.key, endpoint: f.endpoint, timeoutMs: f.timeoutMs, err: f.error.message }, 'backend connect failed; trying the next endpoint');
  };

  // Per connection only what must be: the hot path of a short connection is
  // accept → dial → first bytes, and everything allocated or called here is on it.
  private accept(client: Socket): void {
    const { key, sourceLimit } = this.ctx;
    // The cap needs the peer address of every connection (one getpeername);
    // with the cap off that syscall stays reserved for ClientIP affinity.
    const source = sourceLimit.enabled ? (client.remoteAddress ?? '') : undefined;
    if (source !== undefined && !sourceLimit.tryAcquire(source)) {
      this.ctx.metrics.refused.inc({ service: key, reason: 'per-source-limit' });
      this.ctx.warnLimited(
        `service ${key}: client ${source} refused`,
        Object.assign(new Error(`${source} already holds ${sourceLimit.max} connections through the proxy (--max-connections-per-source)`), { code: 'PER_SOURCE_LIMIT' }),
      );
      reset(client);
      return;
    }
    const conn: Conn = { client };
    this.conns.add(conn);
    // Errors are handled on close (the backend gets a reset); the listener
    // stays, the relay adds its own.
    client.on('error', ignoreError);
    // A client that leaves while we dial stops the fail-over loop (a flag:
    // an AbortController per connection costs more and gives nothing here).
    const gone = { aborted: false };
    // A connection leaves the live set only when both of its sockets are
    // closed, and its bytes move to the closed totals at that moment, so the
    // byte counters never step backwards between scrapes.
    const settle = () => {
      if (!conn.client.destroyed || (conn.backend && !conn.backend.destroyed) || !this.conns.delete(conn)) return;
      this.closedIn += conn.client.bytesRead;
      this.closedOut += conn.backend?.bytesRead ?? 0;
    };
    client.once('close', () => {
      gone.aborted = true;
      if (source !== undefined) sourceLimit.release(source);
      settle();
    });
    if (this.closing) {
      reset(client);
      return;
    }
    const toClient = new Direction();
    dialWithRetry(
      // The peer address: the one the cap read, else read only when the balancer needs it (ClientIP affinity).
      (attempt) => this.ctx.balancer.next(key, () => source ?? client.remoteAddress ?? '', attempt > 0),
      (endpoint, timeoutMs) => dialTcp(endpoint, timeoutMs, toClient.onread),
      { service: key, timeoutsMs: this.ctx.dialTimeoutsMs, isFatal: isDescriptorExhaustion, signal: gone, onFailure: this.onDialFailure },
    )
      .then(
        ({ value: backend }) => {
          if (gone.aborted || client.destroyed) {
            backend.destroy();
            return;
          }
          conn.backend = backend;
          backend.once('close', settle);
          // The client reads into our buffers from now on; without that
          // (a Node that does not allow it) its bytes are piped.
          const toBackend = new Direction();
          relay(client, backend, useReadBuffers(client, toBackend.onread) ? toBackend : undefined, toClient);
        },
        (err: unknown) => {
          if (gone.aborted) return;
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

const ignoreError = (): void => {
  /* handled on close: the other side gets a reset */
};

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
 * (both still paused: the client accepted so, the backend from dialTcp). A
 * FIN is passed on once the bytes before it are written; an error or an
 * unexpected close on one side resets the other.
 */
export function relay(client: Socket, backend: Socket, toBackend: Direction | undefined, toClient: Direction): void {
  toClient.attach(backend, client);
  linkFates(client, backend);
  backend.once('end', () => client.end());
  if (toBackend) {
    toBackend.attach(client, backend);
    client.once('end', () => backend.end());
    client.resume();
  } else {
    client.pipe(backend); // ends the backend when the client ends (and resumes the client)
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
