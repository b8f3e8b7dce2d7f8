import type { Pod } from '@pilot/api';

/**
 * What every pod source gives the kubelet (pkg/kubelet/config/config.go's
 * PodConfig, without its channels): ADD / UPDATE / REMOVE operations as
 * they happen, and the pods it holds now, by UID. The sources are the
 * apiserver (pods bound to this node) and the static pod files; `merge`
 * makes one view of them for the syncLoop.
 */

export type PodOperation = 'ADD' | 'UPDATE' | 'REMOVE';

export type PodSourceName = 'api' | 'file';

export interface PodUpdate {
  op: PodOperation;
  pods: Pod[];
  source: PodSourceName;
}

export interface PodSource {
  /** True once the source has delivered its first full set (the kubelet only removes orphans after every source has). */
  hasSynced(): boolean;
  /** The pod with this uid as the source last showed it. */
  get(uid: string): Pod | undefined;
  list(): Pod[];
  run(signal: AbortSignal): Promise<void>;
}

/** One view of several sources (UIDs never collide: static pods' are hashes, the apiserver's random). */
export function mergeSources(sources: readonly PodSource[]): PodSource {
  return {
    hasSynced: () => sources.every((s) => s.hasSynced()),
    get: (uid) => {
      for (const s of sources) {
        const p = s.get(uid);
        if (p) return p;
      }
      return undefined;
    },
    list: () => sources.flatMap((s) => s.list()),
    run: async (signal) => {
      await Promise.all(sources.map((s) => s.run(signal)));
    },
  };
}
