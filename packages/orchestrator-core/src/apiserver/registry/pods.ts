import { formatTime, isObject, type Binding, type KubeObject, type Node, type Pod } from '@pilot/api';
import { badRequest, conflict, invalid, successStatus } from '../status.js';
import { kubeletConnect } from './kubelet-location.js';
import type { DeletePlan, Strategy, StrategyContext } from './strategy.js';
import { statusSubresource, type Subresource, type SubresourceMap } from './subresources.js';

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

/**
 * pods/binding (kube-apiserver's BindingREST): sets spec.nodeName exactly
 * once (the scheduler's write), with the PodScheduled condition; a bound or
 * terminating pod is 409. Answers 201 with a Success Status. The `Scheduled`
 * Event is the scheduler's to write (it knows who decided).
 */
export const bindingSubresource: Subresource = {
  async create(call, body, ctx) {
    const checked = call.checkFields(body);
    const b = checked as Binding;
    const name = call.name;
    const target = isObject(checked) && isObject(checked.target) ? b.target : undefined;
    if (!target?.name) throw invalid('Binding', name, [{ type: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
    if (b.metadata?.name && b.metadata.name !== name) throw badRequest(`the binding's name (${b.metadata.name}) does not match the pod (${name})`);
    if (target.kind && target.kind !== 'Node')
      throw invalid('Binding', name, [{ type: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: "${target.kind}": supported values: "Node"` }]);
    await ctx.objects.mutate(
      call.resource,
      call.namespace,
      name,
      undefined,
      (cur) => {
        const pod = cur as Pod;
        if (pod.metadata.deletionTimestamp) throw conflict('pods', name, 'the pod is being deleted');
        if (pod.spec?.nodeName) throw conflict('pods', name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
        pod.spec = { ...(pod.spec ?? { containers: [] }), nodeName: target.name! };
        const status = (pod.status ??= {});
        const conditions = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
        conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: formatTime() });
        status.conditions = conditions;
        return pod;
      },
      'internal',
    );
    return { code: 201, body: successStatus(undefined, 201) };
  },
};

/**
 * A pod's subresources. The kubelet serves log, exec, attach and portforward
 * (proxied by the HTTP layer over TLS); later ones are one row each, e.g.
 * `eviction: { create(call, body, ctx) {...} }` (a delete of the pod that
 * honours disruption budgets, answering 201).
 */
export const podSubresources: SubresourceMap = {
  status: statusSubresource,
  binding: bindingSubresource,
  log: { connect: kubeletConnect('log', ['GET'], false) },
  exec: { connect: kubeletConnect('exec', ['GET', 'POST'], true) },
  attach: { connect: kubeletConnect('attach', ['GET', 'POST'], true) },
  portforward: { connect: kubeletConnect('portforward', ['GET', 'POST'], true) },
};
