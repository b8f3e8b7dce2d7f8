import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import {
  DEFAULT_INITIAL_WINDOW,
  FrameDecoder,
  FrameEncoder,
  GoAwayStatus,
  RstStatus,
  SettingsId,
  SpdyProtocolError,
  type SpdyFrame,
  type SpdyHeaders,
} from './frames.js';

/**
 * One SPDY/3.1 session over a byte stream (a TLS socket after the HTTP
 * upgrade, or the WebSocket tunnel of `SPDY/3.1+portforward.k8s.io`), in
 * the role moby/spdystream's server plays for the kubelet:
 *
 * - the peer opens streams (SYN_STREAM); `onStream` accepts one (a
 *   SYN_REPLY with no headers follows) or refuses it with a reason (RST_STREAM
 *   CANCEL, as apimachinery's Reset does);
 * - each stream is a Duplex: what the peer sends in DATA frames is read,
 *   what is written goes out as DATA, `end()` is a DATA frame with FIN;
 *   `reset()` is RST_STREAM;
 * - PINGs from the peer are echoed; GOAWAY stops new streams;
 * - an idle session (no frame either way for `idleTimeoutMs`) is reset and
 *   closed, as spdystream's idle-aware framer does.
 *
 * Flow control: the Kubernetes peers (spdystream) neither send WINDOW_UPDATE
 * nor honour one, so a sender that waited for window would stall after 64 KiB.
 * The send side therefore honours windows only once the peer shows it does
 * flow control (a WINDOW_UPDATE, or SETTINGS_INITIAL_WINDOW_SIZE); the
 * receive side always returns window as the reader consumes data. Back
 * pressure towards the peer is the socket's: a stream whose reader is full
 * pauses the socket, as spdystream's unbuffered per-stream hand-off does.
 */

export interface SpdyConnectionOptions {
  /** No frame in either direction for this long closes the session; 0 = never. */
  idleTimeoutMs?: number;
  /** Largest DATA frame written. */
  maxDataFrame?: number;
  /** Bytes that arrived with the HTTP upgrade, before the socket was handed over. */
  head?: Buffer;
}

/** Why `onStream` refused a stream (sent as RST_STREAM CANCEL). */
export type StreamDecision = undefined | string;

export class SpdyConnection extends EventEmitter {
  private readonly decoder = new FrameDecoder();
  private readonly encoder = new FrameEncoder();
  private readonly streams = new Map<number, SpdyStream>();
  private lastPeerStreamId = 0;
  private goneAway = false;
  private closed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly pausers = new Set<SpdyStream>();
  private drainWaiters: (() => void)[] = [];
  /** Whether the peer does flow control; see the class comment. */
  private peerFlowControl = false;
  private peerInitialWindow = DEFAULT_INITIAL_WINDOW;
  private sessionSendWindow = DEFAULT_INITIAL_WINDOW;
  private sessionUnacked = 0;
  readonly maxDataFrame: number;

  constructor(
    private readonly socket: Duplex,
    private readonly onStream: (stream: SpdyStream) => StreamDecision,
    opts: SpdyConnectionOptions = {},
  ) {
    super();
    this.maxDataFrame = opts.maxDataFrame ?? 32 * 1024;
    const idle = opts.idleTimeoutMs ?? 0;
    if (idle > 0) {
      this.idleTimer = setTimeout(() => this.onIdle(idle), idle);
      this.idleTimer.unref?.();
    }
    // On the next tick, so that whoever made the connection has attached its listeners.
    process.nextTick(() => {
      if (opts.head?.length) this.onBytes(opts.head);
      socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    });
    socket.on('end', () => this.teardown());
    socket.on('close', () => this.teardown());
    socket.on('error', (err: Error) => this.teardown(err));
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Ends the session: GOAWAY (OK) after whatever was written, then the byte
   * stream is ended. Streams still open are reset first when `reset` is set.
   */
  close(opts: { reset?: boolean; status?: number } = {}): void {
    if (this.closed) return;
    if (opts.reset) for (const s of [...this.streams.values()]) s.reset(RstStatus.CANCEL);
    this.send({ type: 'GOAWAY', lastGoodStreamId: this.lastPeerStreamId, status: opts.status ?? GoAwayStatus.OK });
    this.socket.end();
    this.teardown();
  }

  // ------------------------------------------------------------ input

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    let frames: SpdyFrame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.protocolError(err as Error);
      return;
    }
    if (frames.length) this.idleTimer?.refresh();
    for (const f of frames) {
      if (this.closed) return;
      this.onFrame(f);
    }
  }

  private onFrame(f: SpdyFrame): void {
    switch (f.type) {
      case 'SYN_STREAM':
        return this.onSynStream(f);
      case 'DATA': {
        const s = this.streams.get(f.streamId);
        if (!s) {
          this.send({ type: 'RST_STREAM', streamId: f.streamId, status: RstStatus.INVALID_STREAM });
          return;
        }
        this.sessionUnacked += f.data.length;
        s.onData(f.data, f.fin);
        return;
      }
      case 'RST_STREAM':
        this.streams.get(f.streamId)?.onReset(f.status);
        return;
      case 'PING':
        // Our own pings would be even ids; the peer's (odd from a client) are echoed.
        if (f.id % 2 === 1) this.send(f);
        return;
      case 'GOAWAY':
        this.goneAway = true;
        this.emit('goaway', f.status);
        if (this.streams.size === 0) this.close();
        return;
      case 'SETTINGS':
        for (const s of f.settings) {
          if (s.id !== SettingsId.INITIAL_WINDOW_SIZE) continue;
          const change = s.value - this.peerInitialWindow;
          this.peerInitialWindow = s.value;
          this.peerFlowControl = true;
          for (const st of this.streams.values()) st.addSendWindow(change);
        }
        return;
      case 'WINDOW_UPDATE':
        this.peerFlowControl = true;
        if (f.streamId === 0) {
          this.sessionSendWindow += f.delta;
          for (const st of this.streams.values()) st.flushPending();
        } else this.streams.get(f.streamId)?.addSendWindow(f.delta);
        return;
      case 'HEADERS':
      case 'SYN_REPLY':
        // The kubelet never opens streams, and Kubernetes sends no trailing headers.
        return;
    }
  }

  private onSynStream(f: Extract<SpdyFrame, { type: 'SYN_STREAM' }>): void {
    if (this.goneAway) {
      this.send({ type: 'RST_STREAM', streamId: f.streamId, status: RstStatus.REFUSED_STREAM });
      return;
    }
    // The client opens odd ids, each above the last.
    if (f.streamId % 2 === 0 || f.streamId <= this.lastPeerStreamId) {
      this.send({ type: 'RST_STREAM', streamId: f.streamId, status: RstStatus.PROTOCOL_ERROR });
      return;
    }
    this.lastPeerStreamId = f.streamId;
    const s = new SpdyStream(this, f.streamId, f.headers, this.peerInitialWindow);
    this.streams.set(f.streamId, s);
    if (f.unidirectional) s.markLocalClosed();
    if (f.fin) s.onData(Buffer.alloc(0), true);
    let refusal: StreamDecision;
    try {
      refusal = this.onStream(s);
    } catch (err) {
      refusal = (err as Error).message;
    }
    if (refusal !== undefined) {
      this.emit('refused', s, refusal);
      s.reset(RstStatus.CANCEL);
      return;
    }
    this.send({ type: 'SYN_REPLY', streamId: f.streamId, fin: false, headers: {} });
    s.emit('replied');
  }

  // ------------------------------------------------------------ output

  /** Writes one frame; false when the socket wants the writer to wait for 'drain'. */
  send(f: SpdyFrame): boolean {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) return true;
    this.idleTimer?.refresh();
    return this.socket.write(this.encoder.encode(f));
  }

  /** Calls `cb` once the socket can take more (now, or at 'drain', or when the session ends). */
  whenWritable(ok: boolean, cb: () => void): void {
    if (ok || this.closed) return cb();
    this.drainWaiters.push(cb);
    if (this.drainWaiters.length === 1) this.socket.once('drain', () => this.releaseWaiters());
  }

  private releaseWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const cb of waiters) cb();
  }

  /** How many bytes a stream may send now (Infinity while the peer does no flow control). */
  sendAllowance(streamWindow: number): number {
    return this.peerFlowControl ? Math.max(0, Math.min(streamWindow, this.sessionSendWindow)) : Infinity;
  }

  consumedSend(n: number): void {
    if (this.peerFlowControl) this.sessionSendWindow -= n;
  }

  /** Returns receive window for the session once half of it was consumed. */
  ackSession(): void {
    if (this.sessionUnacked >= DEFAULT_INITIAL_WINDOW / 2) {
      this.send({ type: 'WINDOW_UPDATE', streamId: 0, delta: this.sessionUnacked });
      this.sessionUnacked = 0;
    }
  }

  pauseFor(s: SpdyStream): void {
    this.pausers.add(s);
    this.socket.pause();
  }

  resumeFor(s: SpdyStream): void {
    if (!this.pausers.delete(s) || this.pausers.size > 0 || this.closed) return;
    this.socket.resume();
  }

  forget(s: SpdyStream): void {
    this.streams.delete(s.id);
    this.resumeFor(s);
    if (this.goneAway && this.streams.size === 0) this.close();
  }

  // ------------------------------------------------------------ ending

  private protocolError(err: Error): void {
    this.emit('protocolError', err);
    if (err instanceof SpdyProtocolError) this.close({ reset: true, status: GoAwayStatus.PROTOCOL_ERROR });
    else this.close({ reset: true, status: GoAwayStatus.INTERNAL_ERROR });
  }

  private onIdle(ms: number): void {
    this.emit('idle', ms);
    this.close({ reset: true });
  }

  private teardown(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const s of [...this.streams.values()]) s.onConnectionClosed();
    this.streams.clear();
    this.releaseWaiters();
    if (!this.socket.destroyed && this.socket.writableEnded) {
      // Ended by us: let the last frames flush, then drop the socket.
      this.socket.once('finish', () => this.socket.destroy());
    } else if (!this.socket.writableEnded) this.socket.destroy();
    this.emit('closed', err);
  }
}

/**
 * One stream of a session: readable = the peer's DATA, writable = ours.
 * `headers` are the peer's SYN_STREAM headers (lower-case names).
 */
export class SpdyStream extends Duplex {
  private sendWindow: number;
  private recvUnacked = 0;
  private remoteClosed = false;
  private localClosed = false;
  private pending: { data: Buffer; fin: boolean; cb: (err?: Error | null) => void } | undefined;
  private wasReset = false;
  /** Reset by either side, or the session ended. */
  isGone = false;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: SpdyHeaders,
    initialWindow: number,
  ) {
    super({ allowHalfOpen: true });
    this.sendWindow = initialWindow;
  }

  /** The first value of a header the peer sent. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** RST_STREAM: both directions end now, unsent data is dropped. */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.isGone || (this.localClosed && this.remoteClosed)) return;
    this.wasReset = true;
    this.conn.send({ type: 'RST_STREAM', streamId: this.id, status });
    this.finishBoth();
  }

  get isReset(): boolean {
    return this.wasReset;
  }

  // ------------------------------------------------------------ from the connection

  onData(data: Buffer, fin: boolean): void {
    if (this.remoteClosed) {
      this.conn.send({ type: 'RST_STREAM', streamId: this.id, status: RstStatus.STREAM_ALREADY_CLOSED });
      return;
    }
    if (data.length) {
      this.recvUnacked += data.length;
      if (!this.push(data)) this.conn.pauseFor(this);
      else this.ack();
    }
    if (fin) {
      this.remoteClosed = true;
      this.push(null);
      this.maybeForget();
    }
  }

  onReset(status: number): void {
    this.wasReset = true;
    this.emit('peerReset', status);
    this.finishBoth();
  }

  onConnectionClosed(): void {
    this.finishBoth();
  }

  markLocalClosed(): void {
    this.localClosed = true;
  }

  addSendWindow(delta: number): void {
    this.sendWindow += delta;
    this.flushPending();
  }

  flushPending(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.sendData(p.data, p.fin, p.cb);
  }

  // ------------------------------------------------------------ Duplex

  override _read(): void {
    this.conn.resumeFor(this);
    this.ack();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.sendData(chunk, false, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.sendData(Buffer.alloc(0), true, (err) => {
      this.localClosed = true;
      this.maybeForget();
      cb(err);
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Destroyed before both sides finished: the peer must not wait for it.
    if (!this.isGone && (!this.localClosed || !this.remoteClosed)) this.reset(RstStatus.CANCEL);
    cb(err);
  }

  private sendData(data: Buffer, fin: boolean, cb: (err?: Error | null) => void): void {
    // Writes after a reset or the session's end are dropped, not raised: the
    // peer is gone, and whoever pipes into this stream learns it from 'gone'.
    if (this.wasReset || this.conn.isClosed) return cb();
    let off = 0;
    let ok = true;
    while (off < data.length) {
      const allowed = this.conn.sendAllowance(this.sendWindow);
      if (allowed <= 0) {
        this.pending = { data: data.subarray(off), fin, cb };
        return;
      }
      const n = Math.min(data.length - off, this.conn.maxDataFrame, allowed);
      const last = off + n === data.length;
      ok = this.conn.send({ type: 'DATA', streamId: this.id, fin: fin && last, data: data.subarray(off, off + n) });
      this.sendWindow -= n;
      this.conn.consumedSend(n);
      off += n;
    }
    if (data.length === 0 && fin) ok = this.conn.send({ type: 'DATA', streamId: this.id, fin: true, data });
    this.conn.whenWritable(ok, () => cb());
  }

  private ack(): void {
    if (this.recvUnacked >= DEFAULT_INITIAL_WINDOW / 2 && !this.remoteClosed) {
      this.conn.send({ type: 'WINDOW_UPDATE', streamId: this.id, delta: this.recvUnacked });
      this.recvUnacked = 0;
    }
    this.conn.ackSession();
  }

  /** Reset or session end: the readable ends, later writes are dropped, 'gone' tells the user. */
  private finishBoth(): void {
    const wasOpen = !this.remoteClosed;
    const first = !this.isGone;
    this.remoteClosed = true;
    this.localClosed = true;
    this.isGone = true;
    if (this.pending) {
      const p = this.pending;
      this.pending = undefined;
      p.cb();
    }
    if (wasOpen) this.push(null);
    this.conn.forget(this);
    if (first) this.emit('gone');
  }

  private maybeForget(): void {
    if (this.remoteClosed && this.localClosed) this.conn.forget(this);
  }
}
