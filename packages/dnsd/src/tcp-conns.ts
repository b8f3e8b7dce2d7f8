/**
 * The pure part of dnsd's TCP connection handling: which deadline applies to
 * a connection, and which one to close when the connection cap is reached.
 *
 * A message's deadline runs from its first byte (CoreDNS's read deadline), so
 * a client that drips one byte at a time cannot stretch it; the idle timeout
 * runs from the end of the last whole message and partial data never resets it.
 */
export interface TcpConnState {
  /** When the connection was accepted or its last whole message arrived (ms). */
  idleSince: number;
  /** When the first byte of the message being read arrived; undefined between messages. */
  messageSince: number | undefined;
  /** Whether a whole message has arrived on it yet. */
  served: boolean;
}

/** Why dnsd closed a TCP connection: the label of dnsd_tcp_closed_total. */
export type TcpCloseReason = 'read-timeout' | 'idle-timeout' | 'evicted-idle' | 'evicted-slow';

export interface TcpTimeouts {
  readMs: number;
  idleMs: number;
}

/** The time (ms) at which this connection is closed unless it completes a message. */
export function deadlineOf(c: TcpConnState, t: TcpTimeouts): number {
  return c.messageSince !== undefined ? c.messageSince + t.readMs : c.idleSince + t.idleMs;
}

/**
 * The connection to close so a new client gets in: one mid-message past its
 * deadline, else the oldest idle, else the one whose message began first
 * (the slowest). A connection that has not yet sent a whole message counts
 * as reading one since it was accepted: just accepted, it is the last to
 * go (the client that asks next must not be closed before its question
 * arrives), and silent for the read timeout, it is overdue. Never undefined
 * for a non-empty set, so the cap never locks out.
 */
export function pickVictim<C extends TcpConnState>(conns: Iterable<C>, now: number, t: TcpTimeouts): { conn: C; reason: Exclude<TcpCloseReason, 'idle-timeout'> } | undefined {
  let overdue: C | undefined;
  let overdueSince = Infinity;
  let idle: C | undefined;
  let slow: C | undefined;
  let slowSince = Infinity;
  for (const c of conns) {
    const since = c.messageSince ?? (c.served ? undefined : c.idleSince);
    if (since !== undefined) {
      if (since + t.readMs <= now && since < overdueSince) [overdue, overdueSince] = [c, since];
      if (since < slowSince) [slow, slowSince] = [c, since];
    } else if (!idle || c.idleSince < idle.idleSince) idle = c;
  }
  if (overdue) return { conn: overdue, reason: 'read-timeout' };
  if (idle) return { conn: idle, reason: 'evicted-idle' };
  if (slow) return { conn: slow, reason: 'evicted-slow' };
  return undefined;
}
