import type { Pod } from '@pilot/api';
import { MAX_NODE_SCORE, Status, type CycleState, type Plugin } from '../framework.js';
import type { NodeInfo, Snapshot } from '../node-info.js';

export const IMAGE_LOCALITY = 'ImageLocality';

const MB = 1024 * 1024;
/** Below this sum a node scores 0 (so small images do not herd pods onto one node). */
const MIN_THRESHOLD = 23 * MB;
/** Per container: a sum above this scores 100. */
const MAX_CONTAINER_THRESHOLD = 1000 * MB;

const STATE = 'PreScoreImageLocality';

/** normalizedImageName: a name without a tag means `:latest` (a digest or registry port is not a tag). */
export function normalizedImageName(name: string): string {
  return name.lastIndexOf(':') <= name.lastIndexOf('/') ? `${name}:latest` : name;
}

/**
 * Prefers nodes that already hold the pod's images: each image counts its
 * size times the share of nodes that hold it (so an image everywhere does
 * not pull pods to one node), the sum clamped to 23 MB..1000 MB per container
 * and scaled to 0..100.
 */
export const imageLocality: Plugin = {
  name: IMAGE_LOCALITY,
  preScore(state: CycleState, pod: Pod): Status {
    const images = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => normalizedImageName(c.image ?? ''));
    state.write(STATE, images);
    return Status.SUCCESS;
  },
  score(state: CycleState, _pod: Pod, ni: NodeInfo, snapshot: Snapshot): number {
    const images = state.read<string[]>(STATE) ?? [];
    if (images.length === 0) return 0;
    const total = snapshot.numNodes;
    let sum = 0;
    for (const img of images) {
      const s = ni.imageStates.get(img);
      if (s) sum += Math.trunc(s.size * (s.numNodes / total));
    }
    const max = MAX_CONTAINER_THRESHOLD * images.length;
    const clamped = Math.min(Math.max(sum, MIN_THRESHOLD), max);
    return Math.trunc((MAX_NODE_SCORE * (clamped - MIN_THRESHOLD)) / (max - MIN_THRESHOLD));
  },
};
