import { PassThrough, Writable } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { StreamProtocol } from './protocols.js';
import type { TerminalSize } from '../runtime/runtime.js';
import { encodeStatus, ResizeDecoder, type RemoteCommandOptions, type RemoteCommandStreams } from './remotecommand.js';

/**
 * remotecommand over WebSocket (apimachinery's wsstream channel protocol, as
 * client-go's WebSocket executor speaks it): every message is one channel
 * byte and that channel's data, binary for `*channel.k8s.io`, text with an
 * ASCII digit and base64 data for `*base64.channel.k8s.io`. Channels 0 stdin
 * and 4 resize come from the client, 1 stdout, 2 stderr and 3 error (the
 * final Status) go to it. v5 adds the close signal: [255, channel] half-closes
 * that channel (kubectl sends it when its stdin ends).
 */

export const Channel = { STDIN: 0, STDOUT: 1, STDERR: 2, ERROR: 3, RESIZE: 4, CLOSE: 255 } as const;

export function isBase64Protocol(protocol: string): boolean {
  return protocol.includes('base64.channel.k8s.io');
}

/** One outgoing message. */
export function encodeChannelFrame(channel: number, data: Buffer, base64: boolean): Buffer | string {
  if (base64) return String.fromCharCode(0x30 + channel) + data.toString('base64');
  const frame = Buffer.allocUnsafe(data.length + 1);
  frame[0] = channel;
  data.copy(frame, 1);
  return frame;
}

export type IncomingChannelMessage = { kind: 'data'; channel: number; data: Buffer } | { kind: 'close'; channel: number } | { kind: 'invalid'; why: string } | { kind: 'empty' };

/** One incoming message; `closeSignal` is v5's. */
export function decodeChannelFrame(msg: Buffer, base64: boolean, closeSignal: boolean): IncomingChannelMessage {
  if (msg.length === 0) return { kind: 'empty' };
  if (closeSignal && msg[0] === Channel.CLOSE) {
    if (msg.length !== 2) return { kind: 'invalid', why: `a close signal must name exactly one channel, got ${msg.length - 1} bytes` };
    return { kind: 'close', channel: msg[1]! };
  }
  if (base64) {
    const channel = msg[0]! - 0x30;
    const text = msg.subarray(1).toString('latin1');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return { kind: 'invalid', why: `channel ${channel} data is not base64` };
    return { kind: 'data', channel, data: Buffer.from(text, 'base64') };
  }
  return { kind: 'data', channel: msg[0]!, data: msg.subarray(1) };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Wraps an accepted WebSocket as the session's streams. The first message
 * is an empty one on the lowest channel the server writes (stdout, else
 * stderr, else error), which tells older clients the session is up.
 */
export function webSocketRemoteCommandStreams(ws: WebSocket, protocol: string, opts: RemoteCommandOptions, idleTimeoutMs: number): RemoteCommandStreams {
  const base64 = isBase64Protocol(protocol);
  const closeSignal = protocol === StreamProtocol.V5;
  const abort = new AbortController();
  const listeners: ((size: TerminalSize) => void)[] = [];
  const resize = new ResizeDecoder();
  let idle: NodeJS.Timeout | undefined;
  if (idleTimeoutMs > 0) {
    idle = setTimeout(() => {
      abort.abort(new Error(`no traffic for ${idleTimeoutMs} ms`));
      ws.terminate();
    }, idleTimeoutMs);
    idle.unref?.();
  }
  const touch = () => idle?.refresh();

  const send = (channel: number, data: Buffer, cb: () => void) => {
    if (ws.readyState !== ws.OPEN) return cb();
    touch();
    ws.send(encodeChannelFrame(channel, data, base64), { binary: !base64 }, () => cb());
  };
  const writer = (channel: number) =>
    new Writable({
      write: (chunk: Buffer, _enc, cb) => send(channel, chunk, () => cb()),
    });

  const stdin = opts.stdin ? new PassThrough() : undefined;
  stdin?.on('drain', () => ws.resume());
  const stdout = opts.stdout ? writer(Channel.STDOUT) : undefined;
  const stderr = opts.stderr ? writer(Channel.STDERR) : undefined;

  ws.on('message', (raw, isBinary) => {
    touch();
    const msg = decodeChannelFrame(toBuffer(raw), base64 || !isBinary, closeSignal);
    switch (msg.kind) {
      case 'close':
        if (msg.channel === Channel.STDIN) stdin?.end();
        return;
      case 'data':
        if (msg.channel === Channel.STDIN && stdin && !stdin.writableEnded) {
          if (!stdin.write(msg.data)) ws.pause();
        } else if (msg.channel === Channel.RESIZE && opts.tty) {
          for (const size of resize.push(msg.data)) for (const l of listeners) l(size);
        }
        return;
      case 'invalid':
        abort.abort(new Error(`websocket protocol error: ${msg.why}`));
        ws.close(1002, msg.why.slice(0, 120));
        return;
      case 'empty':
        return;
    }
  });
  ws.on('ping', touch);
  ws.on('pong', touch);
  ws.on('close', () => {
    if (idle) clearTimeout(idle);
    stdin?.end();
    abort.abort(new Error('the client closed the websocket'));
  });
  ws.on('error', () => ws.terminate());

  const first = opts.stdout ? Channel.STDOUT : opts.stderr ? Channel.STDERR : Channel.ERROR;
  send(first, Buffer.alloc(0), () => undefined);

  return {
    protocol,
    ...(stdin ? { stdin } : {}),
    ...(stdout ? { stdout } : {}),
    ...(stderr ? { stderr } : {}),
    tty: opts.tty,
    onResize: (cb) => listeners.push(cb),
    signal: abort.signal,
    finish: async (status) => {
      await Promise.all([stdout, stderr].map((w) => (w && !w.writableEnded ? new Promise<void>((resolve) => w.end(() => resolve())) : undefined)));
      const bytes = encodeStatus(status, protocol);
      if (bytes.length) await new Promise<void>((resolve) => send(Channel.ERROR, bytes, resolve));
      if (ws.readyState === ws.OPEN) ws.close(1000);
    },
  };
}
