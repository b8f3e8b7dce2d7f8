import { formatTime, type KubeObject, type Pod, type Node } from '@pilot/api';
import type { DeletePlan, Strategy, StrategyContext } from './strategy.js';

/** Default grace period of a pod without terminationGracePeriodSeconds. */
export const DEFAULT_GRACE_SECONDS = 30;

export const podStrategy: Strategy = {
  prepareForCreate(obj) {
    const pod = obj as Pod;
    pod.status = { phase: 'Pending' };
  },

  /**
   * Graceful deletion (kube-apiserver's CheckGracefulDelete): a pod running on
   * a Ready node gets deletionTimestamp + grace period and the kubelet
   * finishes it; an unscheduled or finished pod, or one on a node that is not
   * Ready (nobody would finish it), is deleted at once, so `kubectl delete`
   * never waits forever.
   */
  async planDelete(old, opts, ctx): Promise<DeletePlan> {
    const pod = old as Pod;
    if (opts.gracePeriodSeconds === 0) return { kind: 'now' };
    const node = pod.spec?.nodeName ? await readNode(ctx, pod.spec.nodeName) : undefined;
    const grace = opts.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    return planPodDelete(pod, node, grace, new Date());
  },
};

/** The pure decision behind graceful deletion. */
export function planPodDelete(pod: Pod, node: Node | undefined, graceSeconds: number, now: Date): DeletePlan {
  if (graceSeconds <= 0) return { kind: 'now' };
  if (!pod.spec?.nodeName) return { kind: 'now' };
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return { kind: 'now' };
  if (!node || !nodeReady(node)) return { kind: 'now' };
  const marked = structuredClone(pod) as KubeObject;
  const prevGrace = pod.metadata.deletionGracePeriodSeconds;
  // A second delete may shorten the grace period, never lengthen it.
  if (pod.metadata.deletionTimestamp && prevGrace !== undefined && prevGrace <= graceSeconds) return { kind: 'mark', obj: marked };
  marked.metadata.deletionTimestamp = formatTime(new Date(now.getTime() + graceSeconds * 1000));
  marked.metadata.deletionGracePeriodSeconds = graceSeconds;
  return { kind: 'mark', obj: marked };
}

export function nodeReady(node: Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

async function readNode(ctx: StrategyContext, name: string): Promise<Node | undefined> {
  const s = await ctx.storage.get(ctx.storage.keyFor('nodes', undefined, name));
  return s?.obj as Node | undefined;
}
