import { Informer, type ListWatchClient, type Pod } from '@pilot/api';
import type { Logger } from '@pilot/common';

/**
 * The apiserver pod source (pkg/kubelet/config/apiserver.go): one watch of
 * the pods bound to this node (`spec.nodeName=<node>` field selector),
 * turned into the kubelet's PodUpdate operations. A pod whose deletion
 * started arrives as UPDATE with its deletionTimestamp (the kubelet stops
 * it within the grace period); a pod gone from the API arrives as REMOVE.
 */

export type PodOperation = 'ADD' | 'UPDATE' | 'REMOVE';

export interface PodUpdate {
  op: PodOperation;
  pods: Pod[];
  source: 'api';
}

export interface ApiserverSource {
  readonly informer: Informer<Pod>;
  /** True once the first list has been delivered (the kubelet only removes orphans after that). */
  hasSynced(): boolean;
  /** The pod with this uid as the API last showed it. */
  get(uid: string): Pod | undefined;
  list(): Pod[];
  run(signal: AbortSignal): Promise<void>;
}

export function nodeFieldSelector(nodeName: string): string {
  return `spec.nodeName=${nodeName}`;
}

export function newApiserverSource(client: ListWatchClient, nodeName: string, log: Logger, onUpdate: (u: PodUpdate) => void): ApiserverSource {
  const informer = new Informer<Pod>(client, 'pods', { fieldSelector: nodeFieldSelector(nodeName), logger: log });
  const byUid = new Map<string, Pod>();
  informer.addHandler({
    onAdd: (pod) => {
      byUid.set(pod.metadata.uid!, pod);
      onUpdate({ op: 'ADD', pods: [pod], source: 'api' });
    },
    onUpdate: (old, pod) => {
      // The same name with another uid: the old pod was deleted and a new one made.
      if (old.metadata.uid !== pod.metadata.uid) {
        byUid.delete(old.metadata.uid!);
        onUpdate({ op: 'REMOVE', pods: [old], source: 'api' });
        byUid.set(pod.metadata.uid!, pod);
        onUpdate({ op: 'ADD', pods: [pod], source: 'api' });
        return;
      }
      byUid.set(pod.metadata.uid!, pod);
      onUpdate({ op: 'UPDATE', pods: [pod], source: 'api' });
    },
    onDelete: (pod) => {
      byUid.delete(pod.metadata.uid!);
      onUpdate({ op: 'REMOVE', pods: [pod], source: 'api' });
    },
  });
  return {
    informer,
    hasSynced: () => informer.hasSynced(),
    get: (uid) => byUid.get(uid),
    list: () => [...byUid.values()],
    run: (signal) => informer.start(signal),
  };
}
