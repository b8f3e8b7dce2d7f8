/**
 * ClaimPods for the controllers that own pods by selector (controller_ref_manager.go's
 * PodControllerRefManager): the owner's pods after adopting matching orphans
 * (once a fresh read proved the owner still exists with the same UID) and
 * releasing pods that stopped matching. The decisions are controller-ref.ts's.
 */
import { isNotFound, labelSelectorFromObject, LabelSelector, type KubeObject, type LabelSelectorSpec, type OwnerReference, type Pod } from '@pilot/api';
import { adoptPatch, claimDecision, releasePatch } from './controller-ref.js';
import type { PodControl } from './pod-control.js';

export interface ClaimPodsInput {
  owner: KubeObject;
  selector: LabelSelectorSpec | undefined;
  /** The pods of the owner's namespace (informer cache). */
  candidates: readonly Pod[];
  ref: OwnerReference;
  podControl: Pick<PodControl, 'patchPod'>;
  /** Reads the owner again: false when it is gone, replaced (another UID) or being deleted. */
  recheck: () => Promise<boolean>;
}

export async function claimPods(input: ClaimPodsInput): Promise<Pod[]> {
  let selector: LabelSelector;
  try {
    selector = labelSelectorFromObject(input.selector);
  } catch {
    selector = LabelSelector.nothing();
  }
  // An empty selector selects nothing for a controller (upstream refuses to adopt everything).
  if (!input.selector || selector.isEmpty()) selector = LabelSelector.nothing();
  const claimed: Pod[] = [];
  let fresh: boolean | undefined;
  for (const pod of input.candidates) {
    const decision = claimDecision(input.owner, pod, selector.matches(pod.metadata.labels));
    if (decision === 'own') claimed.push(pod);
    else if (decision === 'release') {
      await input.podControl.patchPod(pod.metadata.namespace!, pod.metadata.name!, releasePatch(input.owner.metadata.uid!, pod.metadata.uid)).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    } else if (decision === 'adopt') {
      fresh ??= await input.recheck();
      if (!fresh) continue;
      try {
        await input.podControl.patchPod(pod.metadata.namespace!, pod.metadata.name!, adoptPatch(input.ref, pod.metadata.uid));
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      claimed.push(pod);
    }
  }
  return claimed;
}
