import type { Logger } from '@pilot/common';
import type { RoundRobinBalancer } from './roundrobin.js';
import type { UserspaceMetrics } from './metrics.js';
import type { SourceConnectionLimit } from './source-limit.js';

/** What a listener of one service port shares with the proxier. */
export interface PortalContext {
  /** ServicePortName `ns/svc:port`. */
  key: string;
  balancer: RoundRobinBalancer;
  metrics: UserspaceMetrics;
  log: Logger;
  dialTimeoutsMs: readonly number[];
  /** TCP connections one client address may hold at once, across all service ports. */
  sourceLimit: SourceConnectionLimit;
  /** Logs a repeated condition (overload, a dead service) at most once per interval per kind. */
  warnLimited: (what: string, err: Error) => void;
}

/** `ip:port` → parts (IPv4 only, as the model). */
export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
}

/**
 * A rate-limited logger for overload: the first occurrence is logged at once,
 * repeats within `intervalMs` are counted and summarised in the next line.
 */
const MAX_KINDS = 1024;

export function rateLimitedWarn(log: Logger, intervalMs = 5_000, now: () => number = Date.now): (what: string, err: Error) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (what, err) => {
    const code = (err as NodeJS.ErrnoException).code ?? err.name;
    const id = `${what}|${code}`;
    const t = now();
    const s = last.get(id);
    if (s && t - s.at < intervalMs) {
      s.suppressed++;
      return;
    }
    log.warn({ what, code, suppressed: s?.suppressed ?? 0 }, `${what}: ${err.message}`);
    last.set(id, { at: t, suppressed: 0 });
    // Kinds can name a client (the per-source cap), so forget the ones whose
    // interval is over once there are many: their next occurrence logs at once anyway
    // (only the count of repeats they summed is lost).
    if (last.size > MAX_KINDS) for (const [k, v] of last) if (t - v.at >= intervalMs) last.delete(k);
  };
}
