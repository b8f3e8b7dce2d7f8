import type { Duplex } from 'node:stream';
import type { Logger } from '@pilot/common';
import { StreamType } from './protocols.js';
import type { StreamTimeouts } from './remotecommand.js';
import { SpdyConnection, type SpdyStream } from './spdy/connection.js';

/**
 * Port forwarding over one SPDY session (the kubelet's
 * cri/streaming/portforward httpStreamHandler): for every local connection
 * kubectl opens an `error` and a `data` stream with the same `port` and
 * `requestid` headers; once both are there the data stream is connected to
 * that port in the pod, and a failure is written as text on the error
 * stream (kubectl prints it and drops the session). The byte stream is the
 * upgraded socket (`Upgrade: SPDY/3.1`) or the WebSocket tunnel
 * (`SPDY/3.1+portforward.k8s.io`); both carry the same frames.
 */

export interface PortForwardTarget {
  /** For messages: namespace/name and uid of the pod. */
  pod: string;
  uid: string;
  /** Connects `stream` to `port` in the pod; resolves when both directions are done. */
  forward(port: number, stream: Duplex): Promise<void>;
}

/** The checks of the kubelet's httpStreamReceived: a port in 1-65535 and a known stream type. */
export function checkPortForwardHeaders(port: string | undefined, streamType: string | undefined): { port: number } | string {
  if (!port) return '"port" header is required';
  if (!/^\d+$/.test(port) || Number(port) > 65535) return `unable to parse "${port}" as a port`;
  if (Number(port) < 1) return `port "${port}" must be > 0`;
  if (!streamType) return '"streamType" header is required';
  if (streamType !== StreamType.ERROR && streamType !== StreamType.DATA) return `invalid stream type "${streamType}"`;
  return { port: Number(port) };
}

/**
 * The request a stream belongs to: its `requestid`, or for clients older
 * than that header the pairing by stream id the kubelet falls back to
 * (error = id, data = id - 2).
 */
export function requestIdOf(requestId: string | undefined, streamType: string, streamId: number): string {
  if (requestId) return requestId;
  return String(streamType === StreamType.DATA ? streamId - 2 : streamId);
}

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

export function servePortForward(transport: Duplex, head: Buffer, target: PortForwardTarget, timeouts: StreamTimeouts, log: Logger): SpdyConnection {
  const pairs = new Map<string, Pair>();
  const conn = new SpdyConnection(
    transport,
    (s) => {
      const type = s.header('streamtype');
      const checked = checkPortForwardHeaders(s.header('port'), type);
      if (typeof checked === 'string') return checked;
      const id = requestIdOf(s.header('requestid'), type!, s.id);
      let pair = pairs.get(id);
      if (!pair) {
        const timer = setTimeout(() => {
          const p = pairs.get(id);
          pairs.delete(id);
          if (p?.error) p.error.end(`(conn=${target.pod}, request=${id}) timed out waiting for streams`);
          p?.data?.reset();
        }, timeouts.streamCreationTimeoutMs);
        timer.unref?.();
        pair = { timer };
        pairs.set(id, pair);
      }
      const slot = type === StreamType.DATA ? 'data' : 'error';
      if (pair[slot]) {
        const msg = `error processing stream for request ${id}: ${slot} stream already assigned`;
        if (pair.error && !pair.error.writableEnded) pair.error.write(msg);
        return msg;
      }
      pair[slot] = s;
      if (pair.data && pair.error) {
        clearTimeout(pair.timer);
        pairs.delete(id);
        const { data, error } = pair;
        // The client never writes on the error stream (it half-closes it at once).
        error.resume();
        data.once('replied', () => void run(checked.port, id, data, error));
      }
      return undefined;
    },
    { head, idleTimeoutMs: timeouts.idleTimeoutMs },
  );

  const run = async (port: number, id: string, data: SpdyStream, error: SpdyStream) => {
    try {
      await target.forward(port, data);
    } catch (err) {
      const msg = `error forwarding port ${port} to pod ${target.pod}, uid ${target.uid}: ${(err as Error).message}`;
      log.info({ pod: target.pod, port, request: id, err: (err as Error).message }, 'port forward failed');
      if (!error.writableEnded && !error.isGone) error.write(msg);
    } finally {
      if (!data.writableEnded) data.end();
      if (!error.writableEnded) error.end();
    }
  };

  conn.once('closed', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
  return conn;
}
