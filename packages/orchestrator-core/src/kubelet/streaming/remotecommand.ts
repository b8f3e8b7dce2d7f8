import type { Duplex, Readable, Writable } from 'node:stream';
import type { StreamOptions, StreamSession, TerminalSize } from '../runtime/runtime.js';
import { StreamProtocol, StreamType } from './protocols.js';
import { SpdyConnection, type SpdyStream } from './spdy/connection.js';

/**
 * remotecommand, the protocol of exec and attach, independent of the
 * transport: which streams a request asks for, the final Status on the error
 * channel (what makes kubectl print `command terminated with exit code N` and
 * exit N), terminal resizes, and the SPDY side of the transport (the
 * WebSocket side is websocket-channels.ts). Follows the kubelet's
 * cri/streaming/remotecommand package.
 */

export interface RemoteCommandOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}


const truthy = (v: string | null) => v === '1' || v === 'true';

/**
 * The streams a request asks for (`stdin`, `stdout`, `stderr`, `tty`; the
 * apiserver sends `1`, kubectl `true`). A TTY has one output stream, so
 * stderr is dropped with it, as the kubelet does. A string is the one-line
 * reason for a 400.
 */
export function parseRemoteCommandOptions(q: URLSearchParams): RemoteCommandOptions | string {
  const tty = truthy(q.get('tty'));
  const stdin = truthy(q.get('stdin'));
  const stdout = truthy(q.get('stdout'));
  const stderr = truthy(q.get('stderr')) && !tty;
  if (!stdin && !stdout && !stderr) return 'you must specify at least 1 of stdin, stdout, stderr';
  return { stdin, stdout, stderr, tty };
}

/** metav1.Status as the kubelet marshals it onto the error channel (no TypeMeta). */
export interface StreamStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message: string }[] };
  code?: number;
}

export function successStatus(): StreamStatus {
  return { metadata: {}, status: 'Success' };
}

/** The process exited non-zero: reason NonZeroExitCode with the code as the ExitCode cause. */
export function exitCodeStatus(code: number): StreamStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** The command could not be run at all (apierrors.NewInternalError). */
export function internalErrorStatus(message: string): StreamStatus {
  return { metadata: {}, status: 'Failure', message: `Internal error occurred: ${message}`, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 };
}

/** The outcome of exec (an exit code) or attach (undefined) as the final Status. */
export function outcomeStatus(outcome: number | undefined | Error, what: 'exec' | 'attach'): StreamStatus {
  if (outcome instanceof Error) return internalErrorStatus(`${what === 'exec' ? 'error executing command in container' : 'error attaching to container'}: ${outcome.message}`);
  if (outcome === undefined || outcome === 0) return successStatus();
  return exitCodeStatus(outcome);
}

/**
 * The bytes written to the error channel: v4 and v5 carry the Status as
 * JSON; v1-v3 only a failure's message (success is an empty channel).
 */
export function encodeStatus(status: StreamStatus, protocol: string): Buffer {
  const json = protocol === StreamProtocol.V5 || protocol === StreamProtocol.V4 || protocol.startsWith('v4.');
  if (json) return Buffer.from(JSON.stringify(status));
  return status.status === 'Success' ? Buffer.alloc(0) : Buffer.from(status.message ?? 'error');
}

/**
 * Splits the resize stream (Go's json.Encoder: one object per line) into
 * sizes; a partial line is kept for the next chunk, bad lines are skipped.
 */
export class ResizeDecoder {
  private partial = '';

  push(chunk: Buffer | string): TerminalSize[] {
    const text = this.partial + chunk.toString();
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const out: TerminalSize[] = [];
    for (const line of lines) {
      const size = parseTerminalSize(line);
      if (size) out.push(size);
    }
    return out;
  }
}

/** One JSON TerminalSize (Go's struct has no JSON tags: `{"Width":80,"Height":24}`), or undefined. */
export function parseTerminalSize(text: string): TerminalSize | undefined {
  if (!text.trim()) return undefined;
  try {
    const v = JSON.parse(text) as { Width?: unknown; Height?: unknown };
    const width = Number(v.Width);
    const height = Number(v.Height);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || width > 0xffff || height > 0xffff) return undefined;
    return { width, height };
  } catch {
    return undefined;
  }
}

/**
 * The streams of one exec or attach session, whichever transport carries
 * them. Output written to stdout/stderr is delivered in order; `finish`
 * ends the outputs, sends the Status and ends the session.
 */
export interface RemoteCommandStreams {
  readonly protocol: string;
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  readonly tty: boolean;
  /** Every terminal size the client sends, in order. */
  onResize(cb: (size: TerminalSize) => void): void;
  /** Aborted when the client goes away (or the session idles out). */
  readonly signal: AbortSignal;
  /** Ends the output streams, writes the Status, closes the session. */
  finish(status: StreamStatus): Promise<void>;
}

export class StreamSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamSetupError';
  }
}

export interface StreamTimeouts {
  /** How long the client has to open its streams (the kubelet's streamCreationTimeout). */
  streamCreationTimeoutMs: number;
  /** A session with no traffic for this long is closed (streamingConnectionIdleTimeout); 0 = never. */
  idleTimeoutMs: number;
}

/**
 * Runs the SPDY session of an upgraded exec/attach request and waits for the
 * streams the client opens for `opts` (error, then stdin, stdout, stderr,
 * and resize for a TTY from v3 on). Rejects when they do not all arrive in
 * time or the client leaves first.
 */
export function spdyRemoteCommandStreams(socket: Duplex, head: Buffer, protocol: string, opts: RemoteCommandOptions, timeouts: StreamTimeouts): Promise<RemoteCommandStreams> {
  const resizing = opts.tty && protocol !== StreamProtocol.V1 && protocol !== StreamProtocol.V2;
  const wanted = new Set<string>([StreamType.ERROR]);
  if (opts.stdin) wanted.add(StreamType.STDIN);
  if (opts.stdout) wanted.add(StreamType.STDOUT);
  if (opts.stderr) wanted.add(StreamType.STDERR);
  if (resizing) wanted.add(StreamType.RESIZE);
  const got = new Map<string, SpdyStream>();
  const abort = new AbortController();
  return new Promise((resolve, reject) => {
    const conn = new SpdyConnection(
      socket,
      (s) => {
        const type = s.header('streamtype') ?? '';
        if (!wanted.has(type)) return `unexpected stream type: "${type}"`;
        if (got.has(type)) return `duplicate stream of type "${type}"`;
        got.set(type, s);
        if (got.size === wanted.size) {
          s.once('replied', () => {
            clearTimeout(timer);
            resolve(wrapSpdy(conn, got, protocol, opts, abort));
          });
        }
        return undefined;
      },
      { head, idleTimeoutMs: timeouts.idleTimeoutMs },
    );
    const timer = setTimeout(() => {
      reject(new StreamSetupError(`timed out waiting for client to create streams (have ${[...got.keys()].join(', ') || 'none'} of ${[...wanted].join(', ')})`));
      conn.close({ reset: true });
    }, timeouts.streamCreationTimeoutMs);
    conn.once('closed', () => {
      clearTimeout(timer);
      abort.abort(new Error('the client closed the stream connection'));
      reject(new StreamSetupError('the client closed the connection before creating its streams'));
    });
  });
}

function wrapSpdy(conn: SpdyConnection, got: Map<string, SpdyStream>, protocol: string, opts: RemoteCommandOptions, abort: AbortController): RemoteCommandStreams {
  const error = got.get(StreamType.ERROR)!;
  const stdout = got.get(StreamType.STDOUT);
  const stderr = got.get(StreamType.STDERR);
  const resize = got.get(StreamType.RESIZE);
  const listeners: ((size: TerminalSize) => void)[] = [];
  if (resize) {
    const dec = new ResizeDecoder();
    resize.on('data', (chunk: Buffer) => {
      for (const size of dec.push(chunk)) for (const l of listeners) l(size);
    });
  }
  // The client never writes on the error stream; drain it so it cannot pause the session.
  error.resume();
  return {
    protocol,
    ...(got.has(StreamType.STDIN) ? { stdin: got.get(StreamType.STDIN)! } : {}),
    ...(stdout ? { stdout } : {}),
    ...(stderr ? { stderr } : {}),
    tty: opts.tty,
    onResize: (cb) => listeners.push(cb),
    signal: abort.signal,
    finish: async (status) => {
      await Promise.all([stdout, stderr].map((s) => endStream(s)));
      await endStream(error, encodeStatus(status, protocol));
      conn.close();
    },
  };
}

/** Ends a writable (with a last chunk), resolving once it is flushed or the stream is gone. */
export function endStream(w: Writable | undefined, last?: Buffer): Promise<void> {
  if (!w || w.writableEnded || w.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    w.once('error', () => resolve());
    w.once('close', () => resolve());
    if (last && last.length) w.end(last, () => resolve());
    else w.end(() => resolve());
  });
}

/**
 * Runs one exec or attach session over its streams: starts it in the
 * runtime, passes terminal sizes on (those that arrive before the session
 * exists are kept, the last one applied), waits for the end and sends the
 * Status. The runtime is told to let go when the client leaves (the process
 * itself keeps running, as upstream).
 */
export async function serveRemoteCommand(streams: RemoteCommandStreams, start: (opts: StreamOptions) => Promise<StreamSession>, what: 'exec' | 'attach'): Promise<number | undefined | Error> {
  let session: StreamSession | undefined;
  let early: TerminalSize | undefined;
  streams.onResize((size) => {
    if (session) session.resize(size).catch(() => undefined);
    else early = size;
  });
  let outcome: number | undefined | Error;
  try {
    session = await start({
      ...(streams.stdin ? { stdin: streams.stdin } : {}),
      ...(streams.stdout ? { stdout: streams.stdout } : {}),
      ...(streams.stderr ? { stderr: streams.stderr } : {}),
      tty: streams.tty,
      signal: streams.signal,
    });
    if (early) session.resize(early).catch(() => undefined);
    outcome = await session.done;
  } catch (err) {
    outcome = err as Error;
  }
  if (!streams.signal.aborted) await streams.finish(outcomeStatus(outcome, what));
  return outcome;
}
