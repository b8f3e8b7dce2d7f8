import type { HealthStatus } from '@pilot/common';

export interface SyncHealthInput {
  now: number;
  /** When the daemon started (ms). */
  started: number;
  /** Last successful sync (ms), if any. */
  lastSuccess: number | undefined;
  /** Longer than this without a successful sync is unhealthy. */
  staleAfterMs: number;
}

/**
 * /healthz of the proxier: healthy while syncs keep succeeding; stale (503)
 * once none has succeeded for `staleAfterMs` — the daemon may be alive, but
 * the kernel no longer follows the API.
 */
export function syncHealth(h: SyncHealthInput): HealthStatus {
  const ref = h.lastSuccess ?? h.started;
  const age = h.now - ref;
  if (age > h.staleAfterMs) {
    return { ok: false, message: h.lastSuccess !== undefined ? `last successful sync ${Math.round(age / 1000)}s ago` : `no successful sync in ${Math.round(age / 1000)}s` };
  }
  return { ok: true, message: h.lastSuccess !== undefined ? `last sync ${Math.round(age / 1000)}s ago` : 'starting' };
}
