import { Duplex } from 'node:stream';
import { SpdyConnection, type SpdyStream } from '../../../src/kubelet/streaming/spdy/connection.js';
import { FrameDecoder, FrameEncoder, type SpdyFrame } from '../../../src/kubelet/streaming/spdy/frames.js';

/** A SPDY client made of our own encoder/decoder, on an in-memory connection. */
function setup(onStream: (s: SpdyStream) => string | undefined = () => undefined, opts: { idleTimeoutMs?: number } = {}) {
  const make = () =>
    new Duplex({
      allowHalfOpen: true,
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer(this).push(chunk);
        cb();
      },
      final(cb) {
        peer(this).push(null);
        cb();
      },
    });
  const server = make();
  const client = make();
  const peer = (d: Duplex) => (d === server ? client : server);
  const conn = new SpdyConnection(server, onStream, opts);
  const enc = new FrameEncoder();
  const dec = new FrameDecoder();
  const received: SpdyFrame[] = [];
  client.on('data', (c: Buffer) => received.push(...dec.push(c)));
  const send = (...frames: SpdyFrame[]) => {
    for (const f of frames) client.write(enc.encode(f));
  };
  const until = async (pred: () => boolean, what: string) => {
    for (let i = 0; i < 400 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
    if (!pred()) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(received.map((f) => f.type))}`);
  };
  return { conn, client, send, received, until };
}

const syn = (streamId: number, headers: Record<string, string[]> = {}): SpdyFrame => ({ type: 'SYN_STREAM', streamId, associatedStreamId: 0, priority: 0, fin: false, unidirectional: false, headers });

describe('SPDY session (server side)', () => {
  it('replies to an accepted stream, passes DATA through both ways, and FINs on end()', async () => {
    let stream: SpdyStream | undefined;
    const t = setup((s) => {
      stream = s;
      return undefined;
    });
    t.send(syn(1, { streamtype: ['stdout'] }), { type: 'DATA', streamId: 1, fin: true, data: Buffer.from('in') });
    await t.until(() => t.received.length >= 1, 'SYN_REPLY');
    expect(t.received[0]).toEqual({ type: 'SYN_REPLY', streamId: 1, fin: false, headers: {} });
    expect(stream!.header('streamType')).toBe('stdout');
    const input: Buffer[] = [];
    stream!.on('data', (d: Buffer) => input.push(d));
    await new Promise((r) => stream!.once('end', r));
    expect(Buffer.concat(input).toString()).toBe('in');
    stream!.end('out');
    await t.until(() => t.received.length >= 3, 'DATA and FIN');
    expect(t.received.slice(1)).toEqual([
      { type: 'DATA', streamId: 1, fin: false, data: Buffer.from('out') },
      { type: 'DATA', streamId: 1, fin: true, data: Buffer.alloc(0) },
    ]);
    expect(t.conn.openStreams).toBe(0);
  });

  it('refuses a stream the handler does not want with RST_STREAM CANCEL, and out-of-order ids with PROTOCOL_ERROR', async () => {
    const t = setup((s) => (s.header('streamtype') === 'bogus' ? 'unexpected stream type' : undefined));
    t.send(syn(1, { streamtype: ['bogus'] }), syn(5), syn(3), syn(6));
    await t.until(() => t.received.length >= 4, 'answers');
    expect(t.received).toEqual([
      { type: 'RST_STREAM', streamId: 1, status: 5 },
      { type: 'SYN_REPLY', streamId: 5, fin: false, headers: {} },
      { type: 'RST_STREAM', streamId: 3, status: 1 },
      { type: 'RST_STREAM', streamId: 6, status: 1 },
    ]);
  });

  it('echoes the client\'s PINGs (odd ids) and answers DATA for an unknown stream with INVALID_STREAM', async () => {
    const t = setup();
    t.send({ type: 'PING', id: 1 }, { type: 'PING', id: 2 }, { type: 'DATA', streamId: 9, fin: false, data: Buffer.from('x') });
    await t.until(() => t.received.length >= 2, 'answers');
    expect(t.received).toEqual([{ type: 'PING', id: 1 }, { type: 'RST_STREAM', streamId: 9, status: 2 }]);
  });

  it('ends the session with GOAWAY PROTOCOL_ERROR on a frame that is not SPDY/3 (here SPDY/2\'s PING)', async () => {
    const t = setup();
    const closed = new Promise((r) => t.conn.once('closed', r));
    t.client.write(Buffer.from('800200060000000400000001', 'hex'));
    await closed;
    expect(t.received).toEqual([{ type: 'GOAWAY', lastGoodStreamId: 0, status: 1 }]);
  });

  it('closes a session idle for streamingConnectionIdleTimeout: open streams reset, then GOAWAY', async () => {
    const t = setup(() => undefined, { idleTimeoutMs: 100 });
    t.send(syn(1));
    const idle = new Promise((r) => t.conn.once('idle', r));
    await idle;
    await t.until(() => t.received.some((f) => f.type === 'GOAWAY'), 'GOAWAY');
    expect(t.received.map((f) => f.type)).toEqual(['SYN_REPLY', 'RST_STREAM', 'GOAWAY']);
    expect(t.conn.isClosed).toBe(true);
  });

  it('sends without waiting for window while the peer does no flow control (kubectl\'s spdystream never grants any)', async () => {
    let stream: SpdyStream | undefined;
    const t = setup((s) => ((stream = s), undefined));
    t.send(syn(1));
    await t.until(() => stream !== undefined, 'stream');
    stream!.write(Buffer.alloc(200 * 1024, 1));
    await t.until(() => t.received.filter((f) => f.type === 'DATA').reduce((n, f) => n + (f as { data: Buffer }).data.length, 0) === 200 * 1024, '200 KiB');
  });

  it('honours the window once the peer shows flow control: stops at the window, goes on at WINDOW_UPDATE', async () => {
    let stream: SpdyStream | undefined;
    const t = setup((s) => ((stream = s), undefined));
    t.send({ type: 'SETTINGS', clear: false, settings: [{ id: 7, flags: 0, value: 1000 }] }, syn(1));
    await t.until(() => stream !== undefined, 'stream');
    const written = new Promise((r) => stream!.write(Buffer.alloc(1500, 2), r));
    const dataBytes = () => t.received.filter((f) => f.type === 'DATA').reduce((n, f) => n + (f as { data: Buffer }).data.length, 0);
    await t.until(() => dataBytes() === 1000, 'the first 1000 bytes');
    await new Promise((r) => setTimeout(r, 30));
    expect(dataBytes()).toBe(1000);
    t.send({ type: 'WINDOW_UPDATE', streamId: 1, delta: 500 });
    await written;
    await t.until(() => dataBytes() === 1500, 'the rest');
  });

  it('returns receive window as the reader consumes data', async () => {
    let stream: SpdyStream | undefined;
    const t = setup((s) => ((stream = s), undefined));
    t.send(syn(1));
    await t.until(() => stream !== undefined, 'stream');
    stream!.resume();
    t.send({ type: 'DATA', streamId: 1, fin: false, data: Buffer.alloc(40 * 1024) });
    await t.until(() => t.received.some((f) => f.type === 'WINDOW_UPDATE' && f.streamId === 1), 'WINDOW_UPDATE');
    expect(t.received.find((f) => f.type === 'WINDOW_UPDATE' && f.streamId === 1)).toEqual({ type: 'WINDOW_UPDATE', streamId: 1, delta: 40 * 1024 });
    expect(t.received.find((f) => f.type === 'WINDOW_UPDATE' && f.streamId === 0)).toEqual({ type: 'WINDOW_UPDATE', streamId: 0, delta: 40 * 1024 });
  });

  it('stops taking streams after the peer\'s GOAWAY and closes when the last one ends', async () => {
    let stream: SpdyStream | undefined;
    const t = setup((s) => ((stream = s), undefined));
    t.send(syn(1), { type: 'GOAWAY', lastGoodStreamId: 0, status: 0 }, syn(3));
    await t.until(() => t.received.length >= 2, 'answers');
    expect(t.received).toEqual([{ type: 'SYN_REPLY', streamId: 1, fin: false, headers: {} }, { type: 'RST_STREAM', streamId: 3, status: 3 }]);
    const closed = new Promise((r) => t.conn.once('closed', r));
    t.send({ type: 'DATA', streamId: 1, fin: true, data: Buffer.alloc(0) });
    stream!.resume();
    stream!.end();
    await closed;
    expect(t.received.at(-1)).toEqual({ type: 'GOAWAY', lastGoodStreamId: 1, status: 0 });
  });
});
