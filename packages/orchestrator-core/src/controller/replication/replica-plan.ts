/**
 * The replication controller's decisions as pure functions (replica_set.go's
 * manageReplicas and calculateStatus, controller_utils.go's slowStartBatch,
 * ActivePodsWithRanks and GetPodFromTemplate), over plain data, so they are
 * table-tested and the ReplicaSet controller reuses them: an owner is
 * anything with a replica count, a pod template and minReadySeconds.
 *
 *   active pods the owner controls ─┐
 *   desired replicas ───────────────┴─→ planReplicas → create N | delete these pods (ranked) | nothing
 *                                        (at most BURST_REPLICAS per sync)
 *   create N → slowStartBatches(N, firstBatch): 1, 2, 4, … (the rest skipped after a failure),
 *              the first batch as large as the pods the owner already has
 *   pods + last error → calculateStatus → status (written only when it differs)
 */
import {
  formatTime,
  type KubeObject,
  isPodAvailable,
  isPodReady,
  podReadyCondition,
  labelSelectorFromSet,
  type OwnerReference,
  type Pod,
  type PodTemplateSpec,
  type ReplicationControllerCondition,
  type ReplicationControllerStatus,
} from '@pilot/api';

/** At most this many creates or deletes per sync (upstream's BurstReplicas). */
export const BURST_REPLICAS = 500;
/** The first create batch (upstream's SlowStartInitialBatchSize). */
export const SLOW_START_INITIAL_BATCH_SIZE = 1;
/** The annotation that orders scale-down before rank and age (PodDeletionCost, on since 1.22). */
export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';
/** The status condition set while creates or deletes fail. */
export const REPLICA_FAILURE = 'ReplicaFailure';

/** What the planner needs of an owner: a ReplicationController or an apps/v1 ReplicaSet. */
export interface ReplicaOwner extends KubeObject {
  spec?: { replicas?: number; minReadySeconds?: number; template?: PodTemplateSpec };
  status?: ReplicationControllerStatus;
}

// ---------------------------------------------------------------- manageReplicas

export type ReplicaPlan =
  | { action: 'none' }
  | { action: 'create'; count: number; firstBatch: number }
  | { action: 'delete'; pods: Pod[] };

export interface ReplicaPlanInput {
  /** spec.replicas. */
  replicas: number;
  /** The active pods the owner controls (claimed, neither terminal nor terminating). */
  pods: readonly Pod[];
  /**
   * Active pods of the owner's related controllers, for the doubled-up rank
   * (a ReplicaSet's siblings under one Deployment); default `pods`.
   */
  relatedPods?: readonly Pod[];
  /** Milliseconds since the epoch, for the logarithmic age comparison. */
  nowMs: number;
  burst?: number;
  /** The owner's status says its creates fail (ReplicaFailure True): slow start begins at 1 again. */
  failing?: boolean;
}

/** How many pods to create, or which to delete, to reach the replica count. */
export function planReplicas(input: ReplicaPlanInput): ReplicaPlan {
  const burst = input.burst ?? BURST_REPLICAS;
  const diff = input.pods.length - input.replicas;
  if (diff < 0) {
    const count = Math.min(-diff, burst);
    return { action: 'create', count, firstBatch: firstCreateBatch(input.pods.length, count, input.failing ?? false) };
  }
  if (diff > 0) return { action: 'delete', pods: podsToDelete(input.pods, input.relatedPods ?? input.pods, Math.min(diff, burst), input.nowMs) };
  return { action: 'none' };
}

/**
 * The first slow-start batch of a sync. Upstream starts every sync at 1, so
 * an owner growing in steps (a rolling update scales its new ReplicaSet by
 * maxSurge at a time) pays log2(step) round trips per step. Here the slow
 * start carries on across syncs: the `have` pods the owner already has were
 * created from its template and admitted, which is what the batches before
 * them would have proven, so the first batch may be that large. A broken
 * template still costs one failed create (it has no pods yet), and an owner
 * whose creates fail starts from 1 again.
 */
export function firstCreateBatch(have: number, count: number, failing: boolean): number {
  if (failing) return Math.min(count, SLOW_START_INITIAL_BATCH_SIZE);
  return Math.min(count, Math.max(SLOW_START_INITIAL_BATCH_SIZE, have));
}

/**
 * Batch sizes for `count` creates (slowStartBatch): each batch doubles the
 * last, the last is what remains; a broken template costs one failed create,
 * not hundreds. 100 pods: 1, 2, 4, 8, 16, 32, 37.
 */
export function slowStartBatches(count: number, initial = SLOW_START_INITIAL_BATCH_SIZE): number[] {
  const out: number[] = [];
  let remaining = count;
  for (let size = Math.min(remaining, initial); size > 0; size = Math.min(2 * size, remaining)) {
    out.push(size);
    remaining -= size;
  }
  return out;
}

// ---------------------------------------------------------------- scale-down order

/** The `diff` pods to delete first (getPodsToDelete): ranked by the number of related pods on their node. */
export function podsToDelete(pods: readonly Pod[], related: readonly Pod[], diff: number, nowMs: number): Pod[] {
  if (diff >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((a, b) => compareForDeletion(a.pod, a.rank, b.pod, b.rank, nowMs));
  return ranked.slice(0, diff).map((r) => r.pod);
}

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * ActivePodsWithRanks.Less as a comparator (negative: `a` goes first):
 * 1. unassigned before assigned; 2. Pending < Unknown < Running;
 * 3. not ready before ready; 4. lower pod-deletion-cost first;
 * 5. higher rank (more related pods on the same node) first;
 * 6. ready for less time first; 7. more container restarts first;
 * 8. newer first. 6 and 8 compare ages on a log2 scale, ties broken by UID
 * (LogarithmicScaleDown), so pods created within the same doubling of age
 * are picked pseudo-randomly rather than strictly newest first.
 */
export function compareForDeletion(a: Pod, rankA: number, b: Pod, rankB: number, nowMs: number): number {
  const na = a.spec?.nodeName ?? '';
  const nb = b.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '' ? -1 : 1;
  const pa = PHASE_ORDINAL[a.status?.phase ?? ''] ?? 0;
  const pb = PHASE_ORDINAL[b.status?.phase ?? ''] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  if (rankA !== rankB) return rankB - rankA;
  if (ra && rb) {
    const c = compareTimes(readyTime(a), readyTime(b), a, b, nowMs);
    if (c !== 0) return c;
  }
  const restarts = maxRestarts(b) - maxRestarts(a);
  if (restarts !== 0) return restarts;
  const sidecarRestarts = maxRestarts(b, true) - maxRestarts(a, true);
  if (sidecarRestarts !== 0) return sidecarRestarts;
  return compareTimes(timeOf(a.metadata.creationTimestamp), timeOf(b.metadata.creationTimestamp), a, b, nowMs);
}

/** Later (younger) first, a missing time before everything; on a log2 scale of age with a UID tie-break. */
function compareTimes(ta: number | undefined, tb: number | undefined, a: Pod, b: Pod, nowMs: number): number {
  if (ta === tb) return 0;
  if (ta === undefined || tb === undefined) return ta === undefined ? -1 : 1;
  const diff = log2Age(ta, nowMs) - log2Age(tb, nowMs);
  if (diff !== 0) return diff;
  const ua = a.metadata.uid ?? '';
  const ub = b.metadata.uid ?? '';
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/** upstream's logarithmicRankDiff operand: ⌊log2(age in ns)⌋, -1 for no age. */
function log2Age(t: number, nowMs: number): number {
  const ns = (nowMs - t) * 1e6;
  return ns > 0 ? Math.trunc(Math.log2(ns)) : -1;
}

function timeOf(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : undefined;
}

function readyTime(pod: Pod): number | undefined {
  return timeOf(podReadyCondition(pod)?.lastTransitionTime);
}

function deletionCost(pod: Pod): number {
  const v = pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (v === undefined || !/^-?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : 0;
}

/** The highest restart count of the app containers, or (sidecars) of the restartable init containers. */
function maxRestarts(pod: Pod, sidecars = false): number {
  let max = 0;
  if (!sidecars) {
    for (const s of pod.status?.containerStatuses ?? []) max = Math.max(max, s.restartCount ?? 0);
    return max;
  }
  const restartable = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  for (const s of pod.status?.initContainerStatuses ?? []) if (restartable.has(s.name)) max = Math.max(max, s.restartCount ?? 0);
  return max;
}

// ---------------------------------------------------------------- pods from the template

/** The ownerReference a controller puts on the pods it creates (controller + blockOwnerDeletion). */
export function controllerRef(owner: { apiVersion: string; kind: string; name: string; uid: string }): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

/**
 * The pod to create (GetPodFromTemplate): the template's labels,
 * annotations, finalizers and spec, `generateName: <owner>-` (the apiserver
 * appends 5 random characters), the controller reference.
 */
export function podFromTemplate(template: PodTemplateSpec, namespace: string, ownerName: string, ref: OwnerReference): Pod {
  const meta = template.metadata ?? {};
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ownerName}-`,
      namespace,
      labels: { ...(meta.labels ?? {}) },
      ownerReferences: [ref],
    },
    spec: structuredClone(template.spec ?? { containers: [] }),
  };
  if (meta.annotations) pod.metadata.annotations = { ...meta.annotations };
  if (meta.finalizers?.length) pod.metadata.finalizers = [...meta.finalizers];
  return pod;
}

// ---------------------------------------------------------------- status

/**
 * The status for these (claimed, active) pods (calculateStatus): counts,
 * the generation observed, and the ReplicaFailure condition while creates or
 * deletes fail (cleared by the next clean sync).
 */
export function calculateStatus(rc: ReplicaOwner, pods: readonly Pod[], manageError: Error | undefined, nowMs: number): ReplicationControllerStatus {
  const template = labelSelectorFromSet(rc.spec?.template?.metadata?.labels);
  const minReady = rc.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const p of pods) {
    if (template.matches(p.metadata.labels)) fullyLabeled++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, nowMs)) available++;
    }
  }
  const prev = rc.status?.conditions ?? [];
  let conditions = prev;
  const failure = prev.find((c) => c.type === REPLICA_FAILURE);
  if (manageError && !failure) {
    const diff = pods.length - (rc.spec?.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    const cond: ReplicationControllerCondition = { type: REPLICA_FAILURE, status: 'True', lastTransitionTime: formatTime(new Date(nowMs)), reason, message: manageError.message };
    conditions = [...prev, cond];
  } else if (!manageError && failure) {
    conditions = prev.filter((c) => c.type !== REPLICA_FAILURE);
  }
  const status: ReplicationControllerStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rc.metadata.generation ?? 0,
  };
  if (conditions.length) status.conditions = conditions;
  return status;
}

/** Whether writing `next` would change anything (absent counts are 0, as the API omits zeros). */
export function statusEqual(a: ReplicationControllerStatus | undefined, b: ReplicationControllerStatus): boolean {
  const n = (v: number | undefined) => v ?? 0;
  return (
    n(a?.replicas) === b.replicas &&
    n(a?.fullyLabeledReplicas) === n(b.fullyLabeledReplicas) &&
    n(a?.readyReplicas) === n(b.readyReplicas) &&
    n(a?.availableReplicas) === n(b.availableReplicas) &&
    n(a?.observedGeneration) === n(b.observedGeneration) &&
    JSON.stringify(a?.conditions ?? []) === JSON.stringify(b.conditions ?? [])
  );
}
