import { formatTime, isObject, TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE, type Binding, type KubeObject, type Node, type Pod, type Toleration } from '@pilot/api';
import { badRequest, conflict, invalid, successStatus } from '../status.js';
import { evictionSubresource } from './eviction.js';
import { kubeletConnect } from './kubelet-location.js';
import type { DeletePlan, Strategy, StrategyContext } from './strategy.js';
import { statusSubresource, type Subresource, type SubresourceMap } from './subresources.js';

/** Default grace period of a pod without terminationGracePeriodSeconds. */
export const DEFAULT_GRACE_SECONDS = 30;

/** What the apiserver's pod admission is configured with (kube-apiserver's DefaultTolerationSeconds flags). */
export interface PodAdmissionConfig {
  /** --default-not-ready-toleration-seconds */
  defaultNotReadyTolerationSeconds: number;
  /** --default-unreachable-toleration-seconds */
  defaultUnreachableTolerationSeconds: number;
}

export const DEFAULT_POD_ADMISSION: PodAdmissionConfig = { defaultNotReadyTolerationSeconds: 300, defaultUnreachableTolerationSeconds: 300 };

/**
 * The DefaultTolerationSeconds admission plugin, on create only: a pod that
 * does not tolerate `node.kubernetes.io/not-ready:NoExecute` (or
 * `unreachable`) gets an `Exists` toleration for it with the configured
 * tolerationSeconds, so the taint manager evicts it that long after its node
 * goes bad. A toleration counts when its key is that taint's or empty and its
 * effect NoExecute or empty, as upstream checks.
 */
export function addDefaultTolerations(pod: Pod, cfg: PodAdmissionConfig): void {
  const given: unknown = pod.spec?.tolerations ?? [];
  // Not a list of objects: validation answers 422 for it; admission adds nothing.
  if (!Array.isArray(given) || !given.every(isObject)) return;
  const tolerations = given as Toleration[];
  const tolerates = (key: string) => tolerations.some((t) => (!t.key || t.key === key) && (!t.effect || t.effect === 'NoExecute'));
  const add: Toleration[] = [];
  if (!tolerates(TAINT_NODE_NOT_READY)) add.push({ key: TAINT_NODE_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: cfg.defaultNotReadyTolerationSeconds });
  if (!tolerates(TAINT_NODE_UNREACHABLE)) add.push({ key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: cfg.defaultUnreachableTolerationSeconds });
  if (add.length === 0) return;
  pod.spec = { ...(pod.spec ?? { containers: [] }), tolerations: [...tolerations, ...add] };
}

export const podStrategy: Strategy = {
  prepareForCreate(obj) {
    const pod = obj as Pod;
    pod.status = { phase: 'Pending' };
    addDefaultTolerations(pod, DEFAULT_POD_ADMISSION);
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

/** The pod strategy with the admission the apiserver's flags configure. */
export function newPodStrategy(admission: PodAdmissionConfig): Strategy {
  return {
    ...podStrategy,
    prepareForCreate(obj) {
      const pod = obj as Pod;
      pod.status = { phase: 'Pending' };
      addDefaultTolerations(pod, admission);
    },
  };
}

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
 * (proxied by the HTTP layer over TLS); eviction is a delete that honours
 * disruption budgets (eviction.ts).
 */
export const podSubresources: SubresourceMap = {
  status: statusSubresource,
  binding: bindingSubresource,
  eviction: evictionSubresource,
  log: { connect: kubeletConnect('log', ['GET'], false) },
  exec: { connect: kubeletConnect('exec', ['GET', 'POST'], true) },
  attach: { connect: kubeletConnect('attach', ['GET', 'POST'], true) },
  portforward: { connect: kubeletConnect('portforward', ['GET', 'POST'], true) },
};
