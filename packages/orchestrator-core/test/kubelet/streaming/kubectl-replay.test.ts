import { readFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { servePortForward } from '../../../src/kubelet/streaming/portforward.js';
import { serveRemoteCommand, spdyRemoteCommandStreams } from '../../../src/kubelet/streaming/remotecommand.js';
import { FrameDecoder, type SpdyFrame } from '../../../src/kubelet/streaming/spdy/frames.js';
import { createLogger } from '@pilot/common';

/**
 * Sessions of the real kubectl 1.32 (fixtures/, recorded as their README
 * says), replayed: kubectl's bytes go in, and the kubelet's answer must be
 * the same bytes kubectl accepted when it was recorded.
 */

interface Capture {
  exchange: { from: 'kubectl' | 'kubelet'; hex: string }[];
}
const load = (name: string): Capture => JSON.parse(readFileSync(new URL(`./fixtures/kubectl-${name}.json`, import.meta.url), 'utf8')) as Capture;
const bytesFrom = (c: Capture, who: 'kubectl' | 'kubelet') => c.exchange.filter((e) => e.from === who).map((e) => Buffer.from(e.hex, 'hex'));
/** The kubelet's bytes after its HTTP 101 head. */
function kubeletFrames(c: Capture): Buffer {
  const all = Buffer.concat(bytesFrom(c, 'kubelet'));
  const end = all.indexOf('\r\n\r\n');
  expect(all.subarray(0, 12).toString()).toBe('HTTP/1.1 101');
  return all.subarray(end + 4);
}

/** RFC 6455 client frames (masked) → their opcode and unmasked payload. */
function webSocketFrames(bytes: Buffer): { opcode: number; payload: Buffer }[] {
  const out: { opcode: number; payload: Buffer }[] = [];
  let off = 0;
  while (off < bytes.length) {
    const opcode = bytes[off]! & 0x0f;
    let len = bytes[off + 1]! & 0x7f;
    const masked = (bytes[off + 1]! & 0x80) !== 0;
    off += 2;
    if (len === 126) {
      len = bytes.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(off));
      off += 8;
    }
    const mask = masked ? bytes.subarray(off, off + 4) : undefined;
    if (mask) off += 4;
    const payload = Buffer.from(bytes.subarray(off, off + len));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
    out.push({ opcode, payload });
    off += len;
  }
  return out;
}

/** Two connected in-memory ends, like the two sides of a TCP connection. */
function socketPair(): [Duplex, Duplex] {
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
  const a = make();
  const b = make();
  const peer = (d: Duplex) => (d === a ? b : a);
  return [a, b];
}

function collect(d: Duplex): Promise<Buffer> {
  const chunks: Buffer[] = [];
  d.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => d.once('end', () => resolve(Buffer.concat(chunks))));
}

const log = createLogger('test', { level: 'silent' });
const timeouts = { streamCreationTimeoutMs: 5_000, idleTimeoutMs: 0 };

describe('kubectl 1.32 exec over SPDY/3.1, replayed', () => {
  const cap = load('exec-spdy');

  it('decodes kubectl\'s frames: error, stdin, stdout, stderr streams, then stdin data and its FIN', () => {
    const frames = new FrameDecoder().push(Buffer.concat(bytesFrom(cap, 'kubectl')));
    const syns = frames.filter((f): f is Extract<SpdyFrame, { type: 'SYN_STREAM' }> => f.type === 'SYN_STREAM');
    expect(syns.map((f) => [f.streamId, f.headers])).toEqual([
      [1, { streamtype: ['error'] }],
      [3, { streamtype: ['stdin'] }],
      [5, { streamtype: ['stdout'] }],
      [7, { streamtype: ['stderr'] }],
    ]);
    expect(frames.filter((f) => f.type === 'DATA')).toEqual([
      { type: 'DATA', streamId: 3, fin: false, data: Buffer.from('hello\n') },
      { type: 'DATA', streamId: 3, fin: true, data: Buffer.alloc(0) },
    ]);
  });

  it('answers with the bytes kubectl accepted: replies, stdout, stderr, the exit-code Status, GOAWAY', async () => {
    const [server, client] = socketPair();
    const answer = collect(client);
    const streams = spdyRemoteCommandStreams(server, Buffer.alloc(0), 'v4.channel.k8s.io', { stdin: true, stdout: true, stderr: true, tty: false }, timeouts);
    for (const chunk of bytesFrom(cap, 'kubectl')) client.write(chunk);
    // `sh -c 'cat; echo oops >&2; exit 3'` with stdin "hello\n".
    const outcome = await serveRemoteCommand(
      await streams,
      async (so) => {
        const input: Buffer[] = [];
        so.stdin!.on('data', (d: Buffer) => input.push(d));
        const done = new Promise<number>((resolve) =>
          so.stdin!.once('end', () => {
            so.stdout!.write(Buffer.concat(input));
            so.stderr!.write('oops\n');
            resolve(3);
          }),
        );
        return { resize: async () => undefined, done };
      },
      'exec',
    );
    expect(outcome).toBe(3);
    expect((await answer).toString('hex')).toBe(kubeletFrames(cap).toString('hex'));
  });
});

describe('kubectl 1.32 port-forward, replayed', () => {
  const spdy = load('portforward-spdy');
  const ws = load('portforward-websocket');

  it('opens an error and a data stream per connection with port and requestid, and half-closes the error stream at once', () => {
    const frames = new FrameDecoder().push(Buffer.concat(bytesFrom(spdy, 'kubectl')));
    expect(frames.slice(0, 3)).toEqual([
      { type: 'SYN_STREAM', streamId: 1, associatedStreamId: 0, priority: 0, fin: false, unidirectional: false, headers: { streamtype: ['error'], port: ['18998'], requestid: ['0'] } },
      { type: 'DATA', streamId: 1, fin: true, data: Buffer.alloc(0) },
      { type: 'SYN_STREAM', streamId: 3, associatedStreamId: 0, priority: 0, fin: false, unidirectional: false, headers: { streamtype: ['data'], port: ['18998'], requestid: ['0'] } },
    ]);
    expect(frames[3]).toMatchObject({ type: 'DATA', streamId: 3, fin: false });
    expect((frames[3] as { data: Buffer }).data.toString()).toMatch(/^GET \/ HTTP\/1.1\r\n/);
  });

  it('tunnels the same SPDY frames inside WebSocket binary messages (SPDY/3.1+portforward.k8s.io)', () => {
    const frames = webSocketFrames(Buffer.concat(bytesFrom(ws, 'kubectl')));
    // Binary messages only (opcode 2; kubectl was stopped, so no close frame).
    expect(new Set(frames.map((f) => f.opcode))).toEqual(new Set([2]));
    const tunnelled = frames.filter((f) => f.opcode === 2).map((f) => f.payload);
    // gorilla writes each of the Go framer's writes as its own message.
    expect(tunnelled.length).toBeGreaterThan(10);
    // Same frames (Go's header maps iterate in random order, so the compressed bytes differ).
    expect(new FrameDecoder().push(Buffer.concat(tunnelled))).toEqual(new FrameDecoder().push(Buffer.concat(bytesFrom(spdy, 'kubectl'))));
  });

  it('connects the data stream to the port and answers with the bytes kubectl accepted', async () => {
    // The pod's answer, as it was recorded (the DATA kubelet sent on stream 3).
    const recorded = new FrameDecoder().push(kubeletFrames(spdy));
    const response = Buffer.concat(recorded.filter((f): f is Extract<SpdyFrame, { type: 'DATA' }> => f.type === 'DATA' && f.streamId === 3).map((f) => f.data));
    expect(response.toString()).toContain('hello through port-forward');

    const [server, client] = socketPair();
    const answer: Buffer[] = [];
    client.on('data', (c: Buffer) => answer.push(c));
    const forwarded: { port: number; request: string }[] = [];
    const conn = servePortForward(
      server,
      Buffer.alloc(0),
      {
        pod: 'default/x',
        uid: 'u1',
        forward: async (port, stream) => {
          let request = '';
          stream.on('data', (d: Buffer) => (request += d.toString()));
          await new Promise<void>((resolve) => stream.once('end', () => resolve()));
          forwarded.push({ port, request });
          await new Promise<void>((resolve) => stream.write(response, () => resolve()));
        },
      },
      timeouts,
      log,
    );
    const closed = new Promise((resolve) => conn.once('closed', resolve));
    for (const chunk of bytesFrom(spdy, 'kubectl')) client.write(chunk);
    await new Promise<void>((resolve) => {
      const poll = () => (forwarded.length ? resolve() : setTimeout(poll, 5));
      poll();
    });
    expect(forwarded).toEqual([{ port: 18998, request: expect.stringMatching(/^GET \/ HTTP\/1.1\r\nHost: 127.0.0.1:18777\r\n/) }]);
    // Both streams finished; kubectl then drops the connection.
    await new Promise<void>((resolve) => {
      const poll = () => (Buffer.concat(answer).length >= kubeletFrames(spdy).length ? resolve() : setTimeout(poll, 5));
      poll();
    });
    expect(conn.openStreams).toBe(0);
    client.end();
    await closed;
    expect(Buffer.concat(answer).toString('hex')).toBe(kubeletFrames(spdy).toString('hex'));
  });
});

