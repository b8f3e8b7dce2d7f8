/**
 * The StatefulSet controller's decisions as pure functions over plain data
 * (pkg/controller/statefulset: stateful_set_control.go's updateStatefulSet,
 * processReplica, processCondemned and the RollingUpdate loop;
 * stateful_set_utils.go's identity helpers). No I/O: table-tested.
 *
 *   set + its pods + current/update revision (name, template)
 *     → replicas[0..N-1] by ordinal (missing ones made from the revision they belong to), condemned (ordinal ≥ N)
 *     → processReplica in ordinal order: delete failed, create missing, fix identity
 *         (OrderedReady: stop at the first create, or at a pod not Running+Ready)
 *     → processCondemned from the highest ordinal (OrderedReady: one at a time, predecessors healthy)
 *     → RollingUpdate: delete the highest-ordinal pod ≥ partition not of the update revision,
 *         waiting while one is unhealthy
 *     → status (currentRevision becomes updateRevision once every pod is updated and ready)
 *
 * pilot has no volumes: volumeClaimTemplates are stored as given and never
 * claimed.
 */
import { CONTROLLER_REVISION_HASH_LABEL, isPodAvailable, isPodReady, STATEFULSET_POD_INDEX_LABEL, STATEFULSET_POD_NAME_LABEL, type OwnerReference, type Pod, type PodTemplateSpec, type StatefulSet, type StatefulSetStatus } from '@pilot/api';

const ORDINAL = /^(.*)-([0-9]+)$/;

/** getParentNameAndOrdinal: `web-2` → ['web', 2]; a name without an ordinal → ['', -1]. */
export function parentAndOrdinal(pod: Pod): [string, number] {
  const m = ORDINAL.exec(pod.metadata.name ?? '');
  if (!m) return ['', -1];
  const ord = Number(m[2]);
  return Number.isSafeInteger(ord) && ord <= 2 ** 31 - 1 ? [m[1]!, ord] : ['', -1];
}

export function podName(set: StatefulSet, ordinal: number): string {
  return `${set.metadata.name}-${ordinal}`;
}

export function startOrdinal(set: StatefulSet): number {
  return set.spec?.ordinals?.start ?? 0;
}

export function podRevision(pod: Pod): string | undefined {
  return pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
}

const isTerminating = (p: Pod) => Boolean(p.metadata.deletionTimestamp);
const isRunningAndReady = (p: Pod) => p.status?.phase === 'Running' && isPodReady(p);
const isHealthy = (p: Pod) => isRunningAndReady(p) && !isTerminating(p);
const isFinished = (p: Pod) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';

/**
 * newStatefulSetPod + setPodRevision: the pod for one ordinal from a
 * template: name `<set>-<ordinal>`, labels `statefulset.kubernetes.io/pod-name`,
 * `apps.kubernetes.io/pod-index` and `controller-revision-hash` (the
 * revision's name), `hostname` = the pod name and `subdomain` = serviceName
 * (so the headless Service names it `<pod>.<service>.<ns>.svc.<zone>`).
 */
export function newStatefulSetPod(set: StatefulSet, template: PodTemplateSpec | undefined, ordinal: number, revisionName: string, ref: OwnerReference): Pod {
  const meta = template?.metadata ?? {};
  const name = podName(set, ordinal);
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: set.metadata.namespace,
      labels: { ...(meta.labels ?? {}), [STATEFULSET_POD_NAME_LABEL]: name, [STATEFULSET_POD_INDEX_LABEL]: String(ordinal), [CONTROLLER_REVISION_HASH_LABEL]: revisionName },
      ownerReferences: [ref],
    },
    spec: { ...structuredClone(template?.spec ?? { containers: [] }), hostname: name },
  };
  if (set.spec?.serviceName) pod.spec!.subdomain = set.spec.serviceName;
  if (meta.annotations) pod.metadata.annotations = { ...meta.annotations };
  if (meta.finalizers?.length) pod.metadata.finalizers = [...meta.finalizers];
  return pod;
}

/** identityMatches's labels, as a merge patch when they differ (updateIdentity); undefined when they match. */
export function identityPatch(pod: Pod): Record<string, unknown> | undefined {
  const [, ordinal] = parentAndOrdinal(pod);
  const labels = pod.metadata.labels ?? {};
  const want = { [STATEFULSET_POD_NAME_LABEL]: pod.metadata.name ?? '', [STATEFULSET_POD_INDEX_LABEL]: String(ordinal) };
  const diff = Object.entries(want).filter(([k, v]) => labels[k] !== v);
  return diff.length ? { metadata: { labels: Object.fromEntries(diff) } } : undefined;
}

export interface RevisionRef {
  name: string;
  template: PodTemplateSpec | undefined;
}

export interface StatefulSetPlanInput {
  set: StatefulSet;
  /** The pods the set controls (claimed), terminating and finished ones included. */
  pods: readonly Pod[];
  currentRevision: RevisionRef;
  updateRevision: RevisionRef;
  ownerRef: OwnerReference;
  nowMs: number;
}

export type StatefulSetAction =
  | { kind: 'create'; pod: Pod }
  | { kind: 'delete'; pod: Pod; why: 'failed' | 'scale-down' | 'update' }
  | { kind: 'patch'; pod: Pod; patch: Record<string, unknown> };

export interface StatefulSetPlan {
  /** In order; OrderedReady plans at most one create or delete. */
  actions: StatefulSetAction[];
  /** The status after the actions, as upstream counts them. */
  status: StatefulSetStatus;
  /** Sync again after this long (a pod Ready but not yet available for minReadySeconds). */
  requeueAfterMs?: number;
}

/** Whether pods go one at a time in ordinal order (OrderedReady, the default) rather than all at once (Parallel). */
export function isMonotonic(set: StatefulSet): boolean {
  return set.spec?.podManagementPolicy !== 'Parallel';
}

/** One sync of a StatefulSet (updateStatefulSet). */
export function planStatefulSet(input: StatefulSetPlanInput): StatefulSetPlan {
  const { set, currentRevision, updateRevision, nowMs } = input;
  const replicaCount = set.spec?.replicas ?? 1;
  const start = startOrdinal(set);
  const minReady = set.spec?.minReadySeconds ?? 0;
  const monotonic = isMonotonic(set);
  const strategy = set.spec?.updateStrategy?.type ?? 'RollingUpdate';
  const status = countStatus(input);
  const actions: StatefulSetAction[] = [];
  const plan: StatefulSetPlan = { actions, status };
  let requeue: number | undefined;
  const isAvailable = (p: Pod) => {
    if (!isRunningAndReady(p)) return false;
    if (minReady <= 0 || isPodAvailable(p, minReady, nowMs)) return true;
    const since = Date.parse(p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '');
    const wait = Number.isFinite(since) ? since + minReady * 1000 - nowMs + 1 : minReady * 1000;
    requeue = Math.min(requeue ?? Infinity, Math.max(1, wait));
    return false;
  };
  const done = () => {
    if (requeue !== undefined) plan.requeueAfterMs = requeue;
    return plan;
  };
  if (set.metadata.deletionTimestamp) return done();

  // Replicas by ordinal; condemned: valid ordinals outside [start, start+N).
  const replicas: (Pod | undefined)[] = new Array(replicaCount).fill(undefined);
  const condemned: Pod[] = [];
  for (const p of input.pods) {
    const [parent, ord] = parentAndOrdinal(p);
    if (parent !== set.metadata.name || ord < 0) continue;
    if (ord >= start && ord < start + replicaCount) replicas[ord - start] = p;
    else condemned.push(p);
  }
  condemned.sort((a, b) => parentAndOrdinal(b)[1] - parentAndOrdinal(a)[1]);
  const created = new Set<Pod>(input.pods);
  const partition = set.spec?.updateStrategy?.rollingUpdate?.partition;
  for (let i = 0; i < replicaCount; i++) {
    if (replicas[i]) continue;
    const ord = start + i;
    // newVersionedStatefulSetPod: ordinals below the partition (or, without rollingUpdate, below currentReplicas) keep the current revision.
    const keepCurrent =
      (strategy === 'RollingUpdate' && set.spec?.updateStrategy?.rollingUpdate === undefined && ord < start + (set.status?.currentReplicas ?? 0)) ||
      (set.spec?.updateStrategy?.rollingUpdate !== undefined && ord < start + (partition ?? 0));
    const rev = keepCurrent ? currentRevision : updateRevision;
    replicas[i] = newStatefulSetPod(set, rev.template, ord, rev.name, input.ownerRef);
  }

  // The first unhealthy pod: the lowest replica, else the lowest condemned one.
  let firstUnhealthy: Pod | undefined = replicas.find((p) => !isHealthy(p!));
  if (!firstUnhealthy) for (let i = condemned.length - 1; i >= 0; i--) if (!isHealthy(condemned[i]!)) {
    firstUnhealthy = condemned[i];
    break;
  }

  // processReplica, in ordinal order.
  let blocked = false;
  for (const pod of replicas as Pod[]) {
    if (created.has(pod) && isFinished(pod)) {
      if (!isTerminating(pod)) actions.push({ kind: 'delete', pod, why: 'failed' });
      // A new pod follows once this one is gone.
      if (monotonic) {
        blocked = true;
        break;
      }
      continue;
    }
    if (!created.has(pod)) {
      actions.push({ kind: 'create', pod });
      status.replicas++;
      const rev = podRevision(pod);
      if (rev === currentRevision.name) status.currentReplicas = (status.currentReplicas ?? 0) + 1;
      if (rev === updateRevision.name) status.updatedReplicas = (status.updatedReplicas ?? 0) + 1;
      if (monotonic) {
        blocked = true;
        break;
      }
      continue;
    }
    if (isTerminating(pod) && monotonic) {
      blocked = true;
      break;
    }
    if (!isRunningAndReady(pod) && monotonic) {
      blocked = true;
      break;
    }
    if (!isAvailable(pod) && monotonic) {
      blocked = true;
      break;
    }
    if (isTerminating(pod)) continue;
    const patch = identityPatch(pod);
    if (patch) actions.push({ kind: 'patch', pod, patch });
  }
  if (blocked) return done();

  // processCondemned, from the highest ordinal.
  for (const pod of condemned) {
    if (isTerminating(pod)) {
      if (monotonic) return done();
      continue;
    }
    if (monotonic && pod !== firstUnhealthy && (!isRunningAndReady(pod) || !isAvailable(pod))) return done();
    actions.push({ kind: 'delete', pod, why: 'scale-down' });
    if (monotonic) return done();
  }
  // Parallel: scaling comes before updates, as in OrderedReady (scaling takes precedence).
  if (actions.some((a) => a.kind !== 'patch')) return done();

  if (strategy === 'OnDelete') return done();
  // RollingUpdate: the highest ordinal not of the update revision, down to the partition; wait while one is unhealthy.
  const updateMin = partition ?? 0;
  for (let target = replicaCount - 1; target >= updateMin; target--) {
    const pod = replicas[target]!;
    if (podRevision(pod) !== updateRevision.name && !isTerminating(pod)) {
      actions.push({ kind: 'delete', pod, why: 'update' });
      status.currentReplicas = Math.max(0, (status.currentReplicas ?? 0) - 1);
      return done();
    }
    if (!isHealthy(pod)) return done();
  }
  return done();
}

/** computeReplicaStatus over every claimed pod, with the revisions and generation. */
function countStatus(input: StatefulSetPlanInput): StatefulSetStatus {
  const { set, currentRevision, updateRevision, nowMs } = input;
  const minReady = set.spec?.minReadySeconds ?? 0;
  const status: StatefulSetStatus = {
    observedGeneration: set.metadata.generation ?? 0,
    replicas: 0,
    readyReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
    availableReplicas: 0,
    currentRevision: currentRevision.name,
    updateRevision: updateRevision.name,
  };
  if (set.status?.collisionCount !== undefined) status.collisionCount = set.status.collisionCount;
  for (const p of input.pods) {
    status.replicas++;
    if (isRunningAndReady(p)) {
      status.readyReplicas!++;
      if (isPodAvailable(p, minReady, nowMs)) status.availableReplicas!++;
    }
    if (!isTerminating(p)) {
      const rev = podRevision(p);
      if (rev === currentRevision.name) status.currentReplicas!++;
      if (rev === updateRevision.name) status.updatedReplicas!++;
    }
  }
  return status;
}

/**
 * completeRollingUpdate: once every pod is of the update revision and
 * ready, the update revision becomes the current one.
 */
export function completeRollingUpdate(set: StatefulSet, status: StatefulSetStatus): StatefulSetStatus {
  if ((set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    return { ...status, currentReplicas: status.updatedReplicas, currentRevision: status.updateRevision };
  }
  return status;
}

/** Whether writing `b` would change anything (absent counts are 0, as the API omits zeros). */
export function statefulSetStatusEqual(a: StatefulSetStatus | undefined, b: StatefulSetStatus): boolean {
  const counts = ['observedGeneration', 'replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas', 'collisionCount'] as const;
  return counts.every((k) => (a?.[k] ?? 0) === (b[k] ?? 0)) && a?.currentRevision === b.currentRevision && a?.updateRevision === b.updateRevision;
}
