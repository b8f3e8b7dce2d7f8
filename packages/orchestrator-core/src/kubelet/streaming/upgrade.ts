import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '@pilot/common';
import { servePortForward, type PortForwardTarget } from './portforward.js';
import {
  commaSeparated,
  HEADER_ACCEPTED_PROTOCOL_VERSIONS,
  HEADER_PROTOCOL_VERSION,
  negotiateSpdy,
  negotiateWebSocket,
  PORT_FORWARD_PROTOCOL,
  SPDY_REMOTECOMMAND_PROTOCOLS,
  StreamProtocol,
  WS_PORT_FORWARD_PROTOCOL,
  WS_REMOTECOMMAND_PROTOCOLS,
} from './protocols.js';
import { spdyRemoteCommandStreams, type RemoteCommandOptions, type RemoteCommandStreams, type StreamTimeouts } from './remotecommand.js';
import { webSocketRemoteCommandStreams } from './websocket-channels.js';

/**
 * The HTTP upgrade of a streaming request, whichever way the client asks:
 * `Upgrade: websocket` with a Kubernetes subprotocol, or `Upgrade: SPDY/3.1`
 * with `X-Stream-Protocol-Version`. What cannot be upgraded is answered as
 * plain HTTP (400 with the reason, as the kubelet's upgraders do), which is
 * also what makes kubectl fall back from WebSocket to SPDY.
 */

export const SPDY_31 = 'SPDY/3.1';

export function isWebSocketRequest(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket' && /\bupgrade\b/i.test(req.headers.connection ?? '');
}

export function isSpdyRequest(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase().includes(SPDY_31.toLowerCase()) && /\bupgrade\b/i.test(req.headers.connection ?? '');
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** An HTTP reply on a socket handed over for an upgrade (nothing was written yet). */
export function writeUpgradeRefusal(socket: Duplex, code: number, body: string, contentType = 'text/plain; charset=utf-8', headers: Record<string, string | readonly string[]> = {}): void {
  if (socket.destroyed) return;
  const lines = [`HTTP/1.1 ${code} ${REASONS[code] ?? 'Error'}`, `Content-Type: ${contentType}`, `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) for (const one of typeof v === 'string' ? [v] : v) lines.push(`${k}: ${one}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** An upgrade that was refused with an HTTP answer already written. */
export class UpgradeRefused extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'UpgradeRefused';
  }
}

function offeredSubprotocols(req: IncomingMessage): string[] {
  return commaSeparated(req.headers['sec-websocket-protocol']);
}

/** The 101 of the SPDY upgrade, as apimachinery's responseUpgrader writes it. */
function writeSpdySwitch(socket: Duplex, protocol: string): void {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${SPDY_31}\r\n${HEADER_PROTOCOL_VERSION}: ${protocol}\r\n\r\n`);
}

export class StreamingUpgrader {
  /** The subprotocol negotiated for each request being upgraded (ws asks for it during handleUpgrade). */
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  /** One WebSocket server for the handshakes; it never listens itself. */
  private readonly wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    handleProtocols: (_offered, req) => this.chosen.get(req) ?? false,
  });

  constructor(
    private readonly timeouts: StreamTimeouts,
    private readonly log: Logger,
  ) {}

  /**
   * Completes the WebSocket handshake with `protocol` already chosen. ws
   * validates offered subprotocols as RFC 6455 tokens, which
   * `SPDY/3.1+portforward.k8s.io` is not ("/" is no token character; Go's
   * gorilla accepts it), so the offer is replaced by a placeholder token for
   * the handshake and the real name is what the response carries.
   */
  private acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string | undefined): Promise<WebSocket> {
    if (protocol) {
      this.chosen.set(req, protocol);
      req.headers['sec-websocket-protocol'] = 'negotiated';
    } else delete req.headers['sec-websocket-protocol'];
    return new Promise((resolve, reject) => {
      // ws answers a broken handshake itself (400) and never calls back.
      const gone = () => reject(new UpgradeRefused(400, 'invalid websocket handshake'));
      socket.once('close', gone);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        socket.off('close', gone);
        resolve(ws);
      });
    });
  }

  /** exec and attach: the session's streams over WebSocket or SPDY. */
  async remoteCommand(req: IncomingMessage, socket: Duplex, head: Buffer, opts: RemoteCommandOptions): Promise<RemoteCommandStreams> {
    if (isWebSocketRequest(req)) {
      const offered = offeredSubprotocols(req);
      // No subprotocol at all: wsstream's "" entry, binary channels of v1.
      const protocol = negotiateWebSocket(offered, WS_REMOTECOMMAND_PROTOCOLS, StreamProtocol.V1);
      if (protocol === undefined) {
        const msg = `unable to upgrade: requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${WS_REMOTECOMMAND_PROTOCOLS.join(' ')}]`;
        writeUpgradeRefusal(socket, 400, msg);
        throw new UpgradeRefused(400, msg);
      }
      const ws = await this.acceptWebSocket(req, socket, head, offered.length ? protocol : undefined);
      return webSocketRemoteCommandStreams(ws, protocol, opts, this.timeouts.idleTimeoutMs);
    }
    if (!isSpdyRequest(req)) {
      const msg = 'unable to upgrade: missing upgrade headers in request';
      writeUpgradeRefusal(socket, 400, msg);
      throw new UpgradeRefused(400, msg);
    }
    const n = negotiateSpdy(req.headers[HEADER_PROTOCOL_VERSION.toLowerCase()], SPDY_REMOTECOMMAND_PROTOCOLS);
    if (!n.ok) {
      writeUpgradeRefusal(socket, 400, n.message, undefined, { [HEADER_ACCEPTED_PROTOCOL_VERSIONS]: n.accepted });
      throw new UpgradeRefused(400, n.message);
    }
    writeSpdySwitch(socket, n.protocol);
    return spdyRemoteCommandStreams(socket, head, n.protocol, opts, this.timeouts);
  }

  /** port-forward: SPDY on the upgraded socket, or SPDY tunnelled in WebSocket messages. */
  async portForward(req: IncomingMessage, socket: Duplex, head: Buffer, target: PortForwardTarget): Promise<void> {
    if (isWebSocketRequest(req)) {
      const offered = offeredSubprotocols(req);
      if (!offered.includes(WS_PORT_FORWARD_PROTOCOL)) {
        const msg = `unable to upgrade: requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${WS_PORT_FORWARD_PROTOCOL}]`;
        writeUpgradeRefusal(socket, 400, msg);
        throw new UpgradeRefused(400, msg);
      }
      const ws = await this.acceptWebSocket(req, socket, head, WS_PORT_FORWARD_PROTOCOL);
      const tunnel = createWebSocketStream(ws, { allowHalfOpen: false });
      tunnel.on('error', () => tunnel.destroy());
      servePortForward(tunnel, Buffer.alloc(0), target, this.timeouts, this.log);
      return;
    }
    if (!isSpdyRequest(req)) {
      const msg = 'unable to upgrade: missing upgrade headers in request';
      writeUpgradeRefusal(socket, 400, msg);
      throw new UpgradeRefused(400, msg);
    }
    const n = negotiateSpdy(req.headers[HEADER_PROTOCOL_VERSION.toLowerCase()], [PORT_FORWARD_PROTOCOL]);
    if (!n.ok) {
      writeUpgradeRefusal(socket, 400, n.message, undefined, { [HEADER_ACCEPTED_PROTOCOL_VERSIONS]: n.accepted });
      throw new UpgradeRefused(400, n.message);
    }
    writeSpdySwitch(socket, n.protocol);
    servePortForward(socket, head, target, this.timeouts, this.log);
  }

  close(): void {
    this.wss.close();
  }
}
