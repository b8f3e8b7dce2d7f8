/**
 * The DaemonSet controller's decisions as pure functions over plain data
 * (pkg/controller/daemon: daemon_controller.go's manage, podsShouldBeOnNode,
 * NodeShouldRunDaemonPod and updateDaemonSetStatus; update.go's
 * rollingUpdate; util/daemonset_util.go's pod template helpers). No I/O:
 * table-tested.
 *
 *   DaemonSet + nodes + the pods it controls (by target node) + current hash
 *     → manage: which nodes need a pod, which pods go (misscheduled, extra, failed, node gone)
 *     → when manage has nothing to do and the strategy is RollingUpdate:
 *       which old pods to delete now (maxUnavailable), their nodes refilled by the next manage
 *     → status
 *
 * As upstream since 1.12 the controller does not bind: each pod carries a
 * required node affinity on `metadata.name` for its node and the scheduler
 * binds it, so the scheduler's filters (resources, ports, taints) apply. A
 * pod's target node is its `spec.nodeName`, or the node its affinity names
 * while it waits for the scheduler.
 */
import {
  findUntoleratedTaint,
  isPodAvailable,
  isPodReady,
  TAINT_NODE_DISK_PRESSURE,
  TAINT_NODE_MEMORY_PRESSURE,
  TAINT_NODE_NETWORK_UNAVAILABLE,
  TAINT_NODE_NOT_READY,
  TAINT_NODE_PID_PRESSURE,
  TAINT_NODE_UNREACHABLE,
  TAINT_NODE_UNSCHEDULABLE,
  type Affinity,
  type Node,
  type Pod,
  type PodSpec,
  type PodTemplateSpec,
  type Taint,
  type Toleration,
  CONTROLLER_REVISION_HASH_LABEL,
  DAEMONSET_TEMPLATE_GENERATION_LABEL,
  type DaemonSet,
  type DaemonSetStatus,
  type IntOrString,
} from '@pilot/api';
import { RequiredNodeAffinity } from '../../scheduler/plugins/helpers.js';

/** metav1.ObjectNameField: the one field a node selector term may match. */
export const OBJECT_NAME_FIELD = 'metadata.name';

// ---------------------------------------------------------------- pods of a DaemonSet

/**
 * util.AddOrUpdateDaemonPodTolerations: a daemon pod stays on a node that is
 * not ready or unreachable (NoExecute, no tolerationSeconds: never evicted),
 * is placed on one under disk, memory or pid pressure or cordoned
 * (NoSchedule), and, with hostNetwork, on one whose network is unavailable.
 */
export function daemonPodTolerations(hostNetwork: boolean): Toleration[] {
  const t: Toleration[] = [
    { key: TAINT_NODE_NOT_READY, operator: 'Exists', effect: 'NoExecute' },
    { key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' },
    { key: TAINT_NODE_DISK_PRESSURE, operator: 'Exists', effect: 'NoSchedule' },
    { key: TAINT_NODE_MEMORY_PRESSURE, operator: 'Exists', effect: 'NoSchedule' },
    { key: TAINT_NODE_PID_PRESSURE, operator: 'Exists', effect: 'NoSchedule' },
    { key: TAINT_NODE_UNSCHEDULABLE, operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (hostNetwork) t.push({ key: TAINT_NODE_NETWORK_UNAVAILABLE, operator: 'Exists', effect: 'NoSchedule' });
  return t;
}

/** The spec's tolerations with the daemon ones added or replacing those of the same key and effect (v1helper.AddOrUpdateTolerationInPodSpec). */
export function withDaemonTolerations(spec: PodSpec): PodSpec {
  const tolerations = [...(spec.tolerations ?? [])];
  for (const want of daemonPodTolerations(spec.hostNetwork === true)) {
    const i = tolerations.findIndex((t) => t.key === want.key && t.effect === want.effect);
    if (i >= 0) tolerations[i] = want;
    else tolerations.push(want);
  }
  return { ...spec, tolerations };
}

/**
 * util.CreatePodTemplate: the DaemonSet's template with the daemon
 * tolerations, and the labels `pod-template-generation` (the DaemonSet's
 * generation) and `controller-revision-hash` (its current revision).
 */
export function daemonPodTemplate(ds: DaemonSet, hash: string): PodTemplateSpec {
  const t = structuredClone(ds.spec?.template ?? {});
  const meta = t.metadata ?? {};
  const labels: Record<string, string> = { ...(meta.labels ?? {}), [DAEMONSET_TEMPLATE_GENERATION_LABEL]: String(ds.metadata.generation ?? 1) };
  if (hash) labels[CONTROLLER_REVISION_HASH_LABEL] = hash;
  return { ...t, metadata: { ...meta, labels }, spec: withDaemonTolerations(t.spec ?? { containers: [] }) };
}

/**
 * util.ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity
 * becomes the one term `metadata.name In [node]` (the DaemonSet's own
 * required terms were checked by the controller before it chose the node);
 * preferred terms stay.
 */
export function nodeNameAffinity(affinity: Affinity | undefined, nodeName: string): Affinity {
  const required = { nodeSelectorTerms: [{ matchFields: [{ key: OBJECT_NAME_FIELD, operator: 'In' as const, values: [nodeName] }] }] };
  return { ...(affinity ?? {}), nodeAffinity: { ...(affinity?.nodeAffinity ?? {}), requiredDuringSchedulingIgnoredDuringExecution: required } };
}

/** The template of the daemon pod for one node: the node affinity added to the DaemonSet's pod template. */
export function templateForNode(template: PodTemplateSpec, nodeName: string): PodTemplateSpec {
  const spec = template.spec ?? { containers: [] };
  return { ...template, spec: { ...spec, affinity: nodeNameAffinity(spec.affinity, nodeName) } };
}

/**
 * util.GetTargetNodeName: the node the pod is bound to, else the one its
 * required node affinity names (a daemon pod the scheduler has not bound yet).
 */
export function targetNodeName(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === OBJECT_NAME_FIELD && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- which nodes

export interface NodeFit {
  /** A new daemon pod belongs on the node. */
  shouldRun: boolean;
  /** A daemon pod already there may stay (it tolerates the node's NoExecute taints). */
  shouldContinueRunning: boolean;
}

const noScheduleOrExecute = (t: Taint) => t.effect === 'NoSchedule' || t.effect === 'NoExecute';
const noExecute = (t: Taint) => t.effect === 'NoExecute';

/**
 * NodeShouldRunDaemonPod: the DaemonSet's pod (with the daemon tolerations)
 * on this node. A template naming another node, a nodeSelector or required
 * node affinity the node does not match: neither. A NoSchedule or NoExecute
 * taint the pod does not tolerate: no new pod, and one already there stays
 * unless a NoExecute taint is among them.
 */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet): NodeFit {
  const spec = withDaemonTolerations(ds.spec?.template?.spec ?? { containers: [] });
  const name = node.metadata.name ?? '';
  if (spec.nodeName && spec.nodeName !== name) return { shouldRun: false, shouldContinueRunning: false };
  if (!new RequiredNodeAffinity({ metadata: {}, spec }).match(node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints;
  if (findUntoleratedTaint(taints, spec.tolerations, noScheduleOrExecute)) {
    return { shouldRun: false, shouldContinueRunning: !findUntoleratedTaint(taints, spec.tolerations, noExecute) };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}

/** The DaemonSet's pods by target node (getNodesToDaemonPods); pods without one are under ''. */
export function podsByNode(pods: readonly Pod[]): Map<string, Pod[]> {
  const out = new Map<string, Pod[]>();
  for (const p of pods) {
    const n = targetNodeName(p) ?? '';
    const list = out.get(n);
    if (list) list.push(p);
    else out.set(n, [p]);
  }
  for (const list of out.values()) list.sort(byCreation);
  return out;
}

/** Oldest first, the name breaking ties. */
function byCreation(a: Pod, b: Pod): number {
  return (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

// ---------------------------------------------------------------- manage

export interface DaemonPlanInput {
  ds: DaemonSet;
  nodes: readonly Node[];
  /** The pods the DaemonSet controls (claimed), terminating and terminal ones included. */
  pods: readonly Pod[];
  /** The current revision's hash (the `controller-revision-hash` of new pods). */
  hash: string;
  nowMs: number;
}

export interface DaemonPlan {
  /** Nodes that get a new pod now (sorted). */
  createOn: string[];
  /** Pods to delete now (with their grace period). */
  deletePods: Pod[];
  /**
   * Pods bound to a node that no longer exists, to delete at once (grace 0):
   * no kubelet will ever finish them. Upstream leaves these to the pod GC
   * controller's orphan sweep, which pilot does not run.
   */
  orphaned: Pod[];
  /** Failed pods among deletePods, for the FailedDaemonPod event. */
  failed: Pod[];
  /** Which step chose them: creates and deletes of `manage`, or the deletes of a rolling update. */
  reason: 'manage' | 'rollingUpdate' | 'none';
}

/** The pods a DaemonSet's sync considers (getNodesToDaemonPods without includeDeletedTerminal): all but terminal ones being deleted. */
export function consideredPods(pods: readonly Pod[]): Pod[] {
  return pods.filter((p) => !(p.metadata.deletionTimestamp && (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed')));
}

/**
 * manage + rollingUpdate for one sync (podsShouldBeOnNode per node). A node
 * that should run the pod and has none (not even a terminating one) gets
 * one; a failed or succeeded pod is deleted (the node is refilled once it is
 * gone); of several pods on a node the oldest stays; a node that should not
 * run it (selector, affinity, untolerated NoExecute taint) loses its pods;
 * pods waiting for the scheduler on a node that is gone are deleted, and
 * pods bound to one are `orphaned`. Only when that leaves nothing to do does
 * a RollingUpdate delete old pods, so deletes and the creates that refill
 * them never happen in the same sync (as upstream, whose rolling update
 * waits for manage's expectations).
 */
export function planDaemonSet(input: DaemonPlanInput): DaemonPlan {
  const { ds, nodes } = input;
  const byNode = podsByNode(consideredPods(input.pods));
  const plan: DaemonPlan = { createOn: [], deletePods: [], orphaned: [], failed: [], reason: 'none' };
  const known = new Set<string>();
  for (const node of [...nodes].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))) {
    const name = node.metadata.name ?? '';
    known.add(name);
    const fit = nodeShouldRunDaemonPod(node, ds);
    const onNode = byNode.get(name) ?? [];
    if (fit.shouldRun && onNode.length === 0) plan.createOn.push(name);
    else if (fit.shouldContinueRunning) {
      const running: Pod[] = [];
      for (const p of onNode) {
        if (p.metadata.deletionTimestamp) continue;
        const phase = p.status?.phase;
        if (phase === 'Failed') {
          plan.deletePods.push(p);
          plan.failed.push(p);
        } else if (phase === 'Succeeded') plan.deletePods.push(p);
        else running.push(p);
      }
      // maxSurge 0: the oldest stays, the others are extra.
      plan.deletePods.push(...running.slice(1));
    } else {
      plan.deletePods.push(...onNode.filter((p) => !p.metadata.deletionTimestamp));
    }
  }
  for (const [name, pods] of byNode) {
    if (known.has(name)) continue;
    for (const p of pods) {
      if (!p.spec?.nodeName) {
        if (!p.metadata.deletionTimestamp) plan.deletePods.push(p);
      } else plan.orphaned.push(p);
    }
  }
  if (plan.createOn.length || plan.deletePods.length || plan.orphaned.length) return { ...plan, reason: 'manage' };
  if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
    const rolling = rollingUpdateDeletes(input, byNode);
    if (rolling.length) return { ...plan, deletePods: rolling, reason: 'rollingUpdate' };
  }
  return plan;
}

// ---------------------------------------------------------------- rolling update

/** util.IsPodUpdated: the pod was made from the current revision (its hash) or the DaemonSet's current generation. */
export function isPodUpdated(pod: Pod, hash: string, generation: number | undefined): boolean {
  const labels = pod.metadata.labels ?? {};
  const templateMatches = generation !== undefined && labels[DAEMONSET_TEMPLATE_GENERATION_LABEL] === String(generation);
  const hashMatches = hash.length > 0 && labels[CONTROLLER_REVISION_HASH_LABEL] === hash;
  return hashMatches || templateMatches;
}

/** An IntOrString against a total (intstr.GetScaledValueFromIntOrPercent): a percentage rounded up or down. */
export function scaledValue(v: IntOrString | undefined, total: number, roundUp: boolean, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return /^\d+$/.test(v) ? Number(v) : fallback;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** The DaemonSet's maxUnavailable over its desired number of nodes (default 1; percentages round up; 0 with no surge is 1). */
export function maxUnavailable(ds: DaemonSet, desired: number): number {
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  const unavailable = scaledValue(ru?.maxUnavailable, desired, true, 1);
  return unavailable === 0 ? 1 : unavailable;
}

/**
 * rollingUpdate with maxSurge 0: old pods are replaced by deleting them.
 * Nodes whose pods the manage step is still sorting out, and nodes whose new
 * pod is not available yet, count as unavailable; an old pod that is not
 * available is replaced at once (it costs nothing), the others only while
 * fewer than maxUnavailable nodes are unavailable. Nodes in name order.
 */
function rollingUpdateDeletes(input: DaemonPlanInput, byNode: Map<string, Pod[]>): Pod[] {
  const { ds, hash, nowMs } = input;
  const generation = ds.metadata.generation;
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const desired = input.nodes.filter((n) => nodeShouldRunDaemonPod(n, ds).shouldRun).length;
  const max = maxUnavailable(ds, desired);
  let unavailable = 0;
  const replaceNow: Pod[] = [];
  const candidates: Pod[] = [];
  for (const name of [...byNode.keys()].sort()) {
    let newPod: Pod | undefined;
    let oldPod: Pod | undefined;
    let ok = true;
    for (const p of byNode.get(name)!) {
      if (p.metadata.deletionTimestamp) continue;
      if (isPodUpdated(p, hash, generation)) {
        if (newPod) ok = false;
        newPod = p;
      } else {
        if (oldPod) ok = false;
        oldPod = p;
      }
    }
    if (!ok || (!oldPod && !newPod) || (oldPod && newPod)) {
      unavailable++;
      continue;
    }
    if (newPod) {
      if (!isPodAvailable(newPod, minReady, nowMs)) unavailable++;
      continue;
    }
    if (!isPodAvailable(oldPod!, minReady, nowMs)) replaceNow.push(oldPod!);
    else if (unavailable < max) candidates.push(oldPod!);
  }
  const room = Math.min(Math.max(0, max - unavailable), candidates.length);
  return [...replaceNow, ...candidates.slice(0, room)];
}

// ---------------------------------------------------------------- status

/**
 * updateDaemonSetStatus's counts: per node that should run the pod, whether
 * one is scheduled there (bound or waiting for the scheduler), and whether
 * the oldest is ready, available and of the current revision; per node that
 * should not, whether one is there anyway (misscheduled).
 */
export function calculateDaemonStatus(input: DaemonPlanInput): DaemonSetStatus {
  const { ds, hash, nowMs } = input;
  const byNode = podsByNode(consideredPods(input.pods));
  const minReady = ds.spec?.minReadySeconds ?? 0;
  let desired = 0;
  let current = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  let misscheduled = 0;
  for (const node of input.nodes) {
    const fit = nodeShouldRunDaemonPod(node, ds);
    const pods = byNode.get(node.metadata.name ?? '') ?? [];
    if (fit.shouldRun) {
      desired++;
      if (pods.length === 0) continue;
      current++;
      const oldest = pods[0]!;
      if (isPodReady(oldest)) {
        ready++;
        if (isPodAvailable(oldest, minReady, nowMs)) available++;
      }
      if (isPodUpdated(oldest, hash, ds.metadata.generation)) updated++;
    } else if (pods.length > 0) misscheduled++;
  }
  const status: DaemonSetStatus = {
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    observedGeneration: ds.metadata.generation ?? 0,
    updatedNumberScheduled: updated,
    numberAvailable: available,
    numberUnavailable: desired - available,
  };
  if (ds.status?.collisionCount !== undefined) status.collisionCount = ds.status.collisionCount;
  if (ds.status?.conditions?.length) status.conditions = ds.status.conditions;
  return status;
}

/** Whether writing `b` would change anything (absent counts are 0, as the API omits zeros). */
export function daemonStatusEqual(a: DaemonSetStatus | undefined, b: DaemonSetStatus): boolean {
  const keys = ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable', 'collisionCount'] as const;
  return keys.every((k) => (a?.[k] ?? 0) === (b[k] ?? 0));
}
