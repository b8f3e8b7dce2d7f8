import { isDeepStrictEqual } from 'node:util';
import { Informer, type ListWatchClient, type Pod } from '@pilot/api';
import type { Logger } from '@pilot/common';
import { ANNOTATION_CONFIG_MIRROR } from './file.js';
import type { PodSource, PodUpdate } from './source.js';

export type { PodOperation, PodUpdate } from './source.js';

/**
 * The apiserver pod source (pkg/kubelet/config/apiserver.go): one watch of
 * the pods bound to this node (`spec.nodeName=<node>` field selector),
 * turned into the kubelet's PodUpdate operations. A pod whose deletion
 * started arrives as UPDATE with its deletionTimestamp (the kubelet stops
 * it within the grace period); a pod gone from the API arrives as REMOVE.
 *
 * Mirror pods (annotation kubernetes.io/config.mirror) are the API's view
 * of this node's static pods, never pods to run: they are kept apart
 * (`mirrorPods`) and each change of one is reported to `onMirror`, so the
 * mirror pod manager can recreate one that was deleted.
 */

export interface ApiserverSource extends PodSource {
  readonly informer: Informer<Pod>;
  /** The mirror pods bound to this node, as the API last showed them. */
  mirrorPods(): Pod[];
}

export function nodeFieldSelector(nodeName: string): string {
  return `spec.nodeName=${nodeName}`;
}

export function isMirrorPod(pod: Pod): boolean {
  return pod.metadata.annotations?.[ANNOTATION_CONFIG_MIRROR] !== undefined;
}

export function newApiserverSource(client: ListWatchClient, nodeName: string, log: Logger, onUpdate: (u: PodUpdate) => void, onMirror: (pod: Pod) => void = () => undefined): ApiserverSource {
  const informer = new Informer<Pod>(client, 'pods', { fieldSelector: nodeFieldSelector(nodeName), logger: log });
  const byUid = new Map<string, Pod>();
  const mirrors = new Map<string, Pod>();
  const add = (pod: Pod) => {
    if (isMirrorPod(pod)) {
      mirrors.set(pod.metadata.uid!, pod);
      onMirror(pod);
      return;
    }
    byUid.set(pod.metadata.uid!, pod);
    onUpdate({ op: 'ADD', pods: [pod], source: 'api' });
  };
  const remove = (pod: Pod) => {
    if (mirrors.delete(pod.metadata.uid!)) {
      onMirror(pod);
      return;
    }
    byUid.delete(pod.metadata.uid!);
    onUpdate({ op: 'REMOVE', pods: [pod], source: 'api' });
  };
  informer.addHandler({
    onAdd: add,
    onUpdate: (old, pod) => {
      // The same name with another uid (the old pod was deleted and a new one made), or a pod that became a mirror pod or stopped being one.
      if (old.metadata.uid !== pod.metadata.uid || isMirrorPod(old) !== isMirrorPod(pod)) {
        remove(old);
        add(pod);
        return;
      }
      if (isMirrorPod(pod)) {
        mirrors.set(pod.metadata.uid!, pod);
        onMirror(pod);
        return;
      }
      byUid.set(pod.metadata.uid!, pod);
      // The echo of our own status writes is no reason to sync (upstream's
      // config reconciles it instead): a sync right after a failed pull would
      // replace ErrImagePull with ImagePullBackOff before anyone could see it.
      if (!differsSemantically(old, pod)) return;
      onUpdate({ op: 'UPDATE', pods: [pod], source: 'api' });
    },
    onDelete: remove,
  });
  return {
    informer,
    hasSynced: () => informer.hasSynced(),
    get: (uid) => byUid.get(uid),
    list: () => [...byUid.values()],
    mirrorPods: () => [...mirrors.values()],
    run: (signal) => informer.start(signal),
  };
}

/** What makes an update of a pod worth a sync (upstream's podsDifferSemantically): anything but its status and bookkeeping. */
export function differsSemantically(a: Pod, b: Pod): boolean {
  const m = (p: Pod) => [p.metadata.labels, p.metadata.annotations, p.metadata.deletionTimestamp, p.metadata.deletionGracePeriodSeconds];
  return !isDeepStrictEqual(a.spec, b.spec) || !isDeepStrictEqual(m(a), m(b));
}
