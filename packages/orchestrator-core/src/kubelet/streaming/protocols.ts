/**
 * The names the Kubernetes streaming protocols negotiate with, and the pure
 * negotiation rules (apimachinery's httpstream.Handshake for SPDY, wsstream's
 * subprotocol choice for WebSocket).
 */

/** remotecommand (exec, attach) versions, newest first. */
export const StreamProtocol = {
  V5: 'v5.channel.k8s.io',
  V4: 'v4.channel.k8s.io',
  V3: 'v3.channel.k8s.io',
  V2: 'v2.channel.k8s.io',
  V1: 'channel.k8s.io',
} as const;
export type StreamProtocolName = (typeof StreamProtocol)[keyof typeof StreamProtocol];

/** What the kubelet accepts over SPDY (v5 adds nothing there: its close signal is WebSocket's). */
export const SPDY_REMOTECOMMAND_PROTOCOLS: readonly StreamProtocolName[] = [StreamProtocol.V5, StreamProtocol.V4, StreamProtocol.V3, StreamProtocol.V2, StreamProtocol.V1];

/** WebSocket subprotocols of remotecommand: binary channels, and the older base64 text channels. */
export const WS_REMOTECOMMAND_PROTOCOLS = [
  StreamProtocol.V5,
  StreamProtocol.V4,
  'v4.base64.channel.k8s.io',
  StreamProtocol.V1,
  'base64.channel.k8s.io',
] as const;
export type WsRemoteCommandProtocol = (typeof WS_REMOTECOMMAND_PROTOCOLS)[number];

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** kubectl 1.31+'s port-forward: SPDY/3.1 frames inside WebSocket binary messages. */
export const WS_SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';
export const WS_PORT_FORWARD_PROTOCOL = `${WS_SPDY_TUNNEL_PREFIX}${PORT_FORWARD_PROTOCOL}`;

export const HEADER_PROTOCOL_VERSION = 'X-Stream-Protocol-Version';
export const HEADER_ACCEPTED_PROTOCOL_VERSIONS = 'X-Accepted-Stream-Protocol-Versions';

/** The `streamtype` header of SPDY streams (api/core/v1 StreamType*). */
export const StreamType = {
  ERROR: 'error',
  STDIN: 'stdin',
  STDOUT: 'stdout',
  STDERR: 'stderr',
  RESIZE: 'resize',
  DATA: 'data',
} as const;

/** Comma-separated header values (any number of headers), trimmed, empties dropped. */
export function commaSeparated(values: string | readonly string[] | undefined): string[] {
  const list = values === undefined ? [] : typeof values === 'string' ? [values] : values;
  return list.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

export type Negotiation = { ok: true; protocol: string } | { ok: false; message: string; accepted: readonly string[] };

/**
 * httpstream.Handshake: the first protocol the client lists that the server
 * supports. No header at all is an error (the kubelet requires one), as is
 * no overlap, whose answer lists what the server accepts.
 */
export function negotiateSpdy(clientHeader: string | readonly string[] | undefined, server: readonly string[]): Negotiation {
  const client = commaSeparated(clientHeader);
  if (client.length === 0) return { ok: false, message: `unable to upgrade: ${HEADER_PROTOCOL_VERSION} is required`, accepted: server };
  const protocol = client.find((p) => server.includes(p));
  if (protocol === undefined)
    return { ok: false, message: `unable to upgrade: unable to negotiate protocol: client supports [${client.join(' ')}], server accepts [${server.join(' ')}]`, accepted: server };
  return { ok: true, protocol };
}

/**
 * WebSocket subprotocol choice (wsstream's handshake): the first the client
 * offers that the server supports; a client offering none gets the binary
 * v1 channels, as wsstream's "" entry does. Undefined: refuse.
 */
export function negotiateWebSocket(offered: readonly string[], server: readonly string[], noneMeans?: string): string | undefined {
  if (offered.length === 0) return noneMeans;
  return offered.find((p) => server.includes(p));
}
