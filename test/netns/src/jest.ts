import type { Cluster } from './cluster.js';

/**
 * Wraps a test body so that, when it fails, the tail of every daemon log of
 * the cluster is printed beside the failure.
 */
export function withLogsOnFailure(getCluster: () => Cluster | undefined, fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await fn();
    } catch (err) {
      const c = getCluster();
      if (c) process.stderr.write(`\n---- daemon logs of ${c.prefix} ----\n${c.logs()}\n`);
      throw err;
    }
  };
}
