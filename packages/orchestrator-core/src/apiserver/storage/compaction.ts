import { every, type Logger } from '@pilot/common';
import { CompactedError } from './errors.js';
import type { Storage } from './interface.js';

/**
 * Periodic storage (etcd) compaction, as kube-apiserver does it: at each tick compact
 * to the revision seen at the previous tick, so watchers always have at least
 * one interval of history to resume from.
 */
export function startCompaction(storage: Storage, intervalMs: number, signal: AbortSignal, log: Logger): void {
  if (intervalMs <= 0) return;
  let previous = 0;
  let compacted = 0;
  void every(
    intervalMs,
    async () => {
      const rev = await storage.revision();
      if (previous > compacted) {
        try {
          await storage.compact(previous);
          log.info({ revision: previous }, 'compacted etcd');
        } catch (err) {
          // Another apiserver (or an operator) compacted further already: fine.
          if (!(err instanceof CompactedError)) throw err;
        }
        compacted = previous;
      }
      previous = rev;
    },
    { signal, immediate: true, onError: (err) => log.warn({ err: String(err) }, 'etcd compaction failed') },
  );
}
