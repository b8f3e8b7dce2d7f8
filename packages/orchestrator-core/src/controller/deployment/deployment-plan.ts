/**
 * The deployment controller's decisions as pure functions over plain data
 * (pkg/controller/deployment/{rolling,recreate,sync,progress}.go and
 * util/deployment_util.go), so they are table-tested apart from the loop
 * that performs them (controller.ts):
 *
 *   template + collisionCount ─→ podTemplateHash ─→ the new RS's name, selector, template
 *   RSs ─→ findNewReplicaSet / findOldReplicaSets
 *   rolling: reconcileNewReplicaSet (surge) → reconcileOldReplicaSets (unavailable) → scale actions
 *   recreate: old to 0, wait for their pods, new to replicas
 *   scaling event (replicas changed mid-rollout): proportionalScale over the active RSs
 *   RSs ─→ calculateStatus ─→ rolloutConditions (Progressing, Available) ─→ the status to write
 *   complete rollouts: cleanupVictims (revisionHistoryLimit)
 */
import {
  CHANGE_CAUSE_ANNOTATION,
  DEPLOYMENT_DESIRED_REPLICAS_ANNOTATION,
  DEPLOYMENT_MAX_REPLICAS_ANNOTATION,
  DEPLOYMENT_REVISION_ANNOTATION,
  DEPLOYMENT_REVISION_HISTORY_ANNOTATION,
  escapeJsonPointerToken,
  formatTime,
  POD_TEMPLATE_HASH_LABEL,
  type Deployment,
  type DeploymentStatus,
  type IntOrString,
  type JsonPatchOp,
  type LabelSelectorSpec,
  type PodTemplateSpec,
  type ReplicaSet,
  type WorkloadCondition,
} from '@pilot/api';

export const PROGRESSING = 'Progressing';
export const AVAILABLE = 'Available';
export const REPLICA_FAILURE = 'ReplicaFailure';

/** Upstream's condition reasons (util/deployment_util.go). */
export const REASON = {
  NewReplicaSet: 'NewReplicaSetCreated',
  FoundNewReplicaSet: 'FoundNewReplicaSet',
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  NewReplicaSetAvailable: 'NewReplicaSetAvailable',
  TimedOut: 'ProgressDeadlineExceeded',
  Paused: 'DeploymentPaused',
  Resumed: 'DeploymentResumed',
  FailedCreate: 'ReplicaSetCreateError',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

// ---------------------------------------------------------------- surge and unavailability

/** GetScaledValueFromIntOrPercent: an integer, or `N%` of total rounded up or down. */
export function scaledValue(v: IntOrString | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    const n = Number(v);
    if (Number.isInteger(n)) return n;
    throw new Error(`invalid value for IntOrString: invalid value ${JSON.stringify(v)}`);
  }
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** ResolveFenceposts: surge rounds up, unavailable down; both 0 makes unavailable 1. */
export function resolveFenceposts(maxSurge: IntOrString | undefined, maxUnavailable: IntOrString | undefined, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, desired, true);
  let unavailable = scaledValue(maxUnavailable, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

const replicasOf = (d: Deployment): number => d.spec?.replicas ?? 1;
const isRollingUpdate = (d: Deployment): boolean => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** MaxSurge: 0 unless RollingUpdate. */
export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec?.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge ?? '25%', ru?.maxUnavailable ?? '25%', replicasOf(d)).surge;
}

/** MaxUnavailable: 0 unless RollingUpdate with replicas; never more than replicas. */
export function maxUnavailable(d: Deployment): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  const ru = d.spec?.strategy?.rollingUpdate;
  const { unavailable } = resolveFenceposts(ru?.maxSurge ?? '25%', ru?.maxUnavailable ?? '25%', replicas);
  return Math.min(unavailable, replicas);
}

// ---------------------------------------------------------------- the pod-template-hash

/** rand.SafeEncodeString's alphabet: no vowels, no 0/1/3 (no bad words, no look-alikes). */
export const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** SafeEncodeString: each character of `s` mapped by its code point into the safe alphabet. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** 32-bit FNV-1a over bytes. */
export function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * JSON with object keys sorted and null or undefined members dropped: the
 * template's canonical form. A null member is the Go zero value an absent
 * one decodes to (kubectl's rollout undo sends the template's
 * `creationTimestamp: null`), so both compare and hash alike.
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined && x !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * ComputeHash: fnv32a over the canonical JSON of the template (upstream
 * hashes a spew dump, so the values differ from upstream's but are stable
 * across restarts and versions), then the collision count as 8
 * little-endian bytes, printed in decimal and safe-encoded.
 */
export function podTemplateHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  const body = new TextEncoder().encode(canonicalJson(template ?? {}));
  let h = fnv32a(body);
  if (collisionCount !== undefined) {
    const extra = new Uint8Array(8);
    new DataView(extra.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(extra, h);
  }
  return safeEncodeString(String(h));
}

/** A template without the pod-template-hash label (EqualIgnoreHash compares these). */
function withoutHash(t: PodTemplateSpec | undefined): PodTemplateSpec {
  const copy = structuredClone(t ?? {});
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  if (copy.metadata && Object.keys(copy.metadata).length === 0) delete copy.metadata;
  return copy;
}

/** EqualIgnoreHash: the two templates are equal but for the pod-template-hash label. */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}

/** The RS a Deployment's current template makes (before its replica count and annotations). */
export function newReplicaSetFor(d: Deployment, controllerRef: NonNullable<ReplicaSet['metadata']['ownerReferences']>[number]): ReplicaSet {
  const hash = podTemplateHash(d.spec?.template, d.status?.collisionCount);
  const template = structuredClone(d.spec?.template ?? {});
  template.metadata ??= {};
  template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const selector: LabelSelectorSpec = structuredClone(d.spec?.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const rs: ReplicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace!,
      ownerReferences: [controllerRef],
      labels: { ...template.metadata.labels },
    },
    spec: { replicas: 0, selector, template },
  };
  if (d.spec?.minReadySeconds) rs.spec!.minReadySeconds = d.spec.minReadySeconds;
  return rs;
}

// ---------------------------------------------------------------- finding the RSs

const created = (rs: ReplicaSet): number => Date.parse(rs.metadata.creationTimestamp ?? '') || 0;
/** ReplicaSetsByCreationTimestamp: oldest first, ties by name. */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  return created(a) - created(b) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}
export const specReplicas = (rs: ReplicaSet | undefined): number => rs?.spec?.replicas ?? 0;
const sum = (rss: readonly (ReplicaSet | undefined)[], f: (rs: ReplicaSet) => number): number => rss.reduce((n, rs) => n + (rs ? f(rs) : 0), 0);

/** FindNewReplicaSet: the oldest RS whose template is the Deployment's (the oldest wins if several). */
export function findNewReplicaSet(d: Deployment, rss: readonly ReplicaSet[]): ReplicaSet | undefined {
  return [...rss].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** FindOldReplicaSets: every other RS. */
export function findOldReplicaSets(d: Deployment, rss: readonly ReplicaSet[]): ReplicaSet[] {
  const fresh = findNewReplicaSet(d, rss);
  return rss.filter((rs) => rs !== fresh && rs.metadata.uid !== fresh?.metadata.uid);
}

export const isActive = (rs: ReplicaSet): boolean => specReplicas(rs) > 0;

/** The `deployment.kubernetes.io/revision` of an RS (0 when absent or not a number). */
export function revisionOf(obj: { metadata: { annotations?: Record<string, string> } } | undefined): number {
  const v = obj?.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION];
  const n = v === undefined ? 0 : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

export function maxRevision(rss: readonly ReplicaSet[]): number {
  return rss.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
}

// ---------------------------------------------------------------- annotations

/** Annotations a Deployment does not hand down to its RSs (annotationsToSkip). */
const SKIPPED_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  DEPLOYMENT_REVISION_ANNOTATION,
  DEPLOYMENT_REVISION_HISTORY_ANNOTATION,
  DEPLOYMENT_DESIRED_REPLICAS_ANNOTATION,
  DEPLOYMENT_MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);

/** SetReplicasAnnotations: desired-replicas and max-replicas; whether they changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = (rs.metadata.annotations ??= {});
  let changed = false;
  if (a[DEPLOYMENT_DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    a[DEPLOYMENT_DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (a[DEPLOYMENT_MAX_REPLICAS_ANNOTATION] !== String(max)) {
    a[DEPLOYMENT_MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  return changed;
}

export function replicasAnnotationsNeedUpdate(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = rs.metadata.annotations ?? {};
  return a[DEPLOYMENT_DESIRED_REPLICAS_ANNOTATION] !== String(desired) || a[DEPLOYMENT_MAX_REPLICAS_ANNOTATION] !== String(max);
}

/**
 * The write that scales `rs` to `replicas` with the replica annotations of
 * the Deployment (desired, max): a JSON patch that first tests what the
 * decision was made on — the RS's uid and the spec.replicas it was read
 * with — and then replaces spec.replicas and sets the two annotations.
 * Upstream sends an Update at the cached resourceVersion, which any status
 * write of the ReplicaSet controller in between turns into a 409 and a
 * later sync; the tests fail only when the object or its replica count
 * moved, which is what would make the decision wrong.
 */
export function scalePatch(rs: ReplicaSet, replicas: number, desired: number, max: number): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [
    { op: 'test', path: '/metadata/uid', value: rs.metadata.uid },
    { op: 'test', path: '/spec/replicas', value: specReplicas(rs) },
    { op: 'replace', path: '/spec/replicas', value: replicas },
  ];
  const annotations = { [DEPLOYMENT_DESIRED_REPLICAS_ANNOTATION]: String(desired), [DEPLOYMENT_MAX_REPLICAS_ANNOTATION]: String(max) };
  if (!rs.metadata.annotations) ops.push({ op: 'add', path: '/metadata/annotations', value: annotations });
  else for (const [k, v] of Object.entries(annotations)) ops.push({ op: 'add', path: `/metadata/annotations/${escapeJsonPointerToken(k)}`, value: v });
  return ops;
}

/**
 * SetNewReplicaSetAnnotations (mutates `rs`, returns whether anything
 * changed): the Deployment's own annotations (change-cause among them), the
 * new revision (the old one moves to revision-history), and, on a new RS,
 * the replica annotations.
 */
export function setNewReplicaSetAnnotations(d: Deployment, rs: ReplicaSet, newRevision: number, exists: boolean): boolean {
  const a = (rs.metadata.annotations ??= {});
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (SKIPPED_ANNOTATIONS.has(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  const old = a[DEPLOYMENT_REVISION_ANNOTATION];
  const oldN = old === undefined ? 0 : Number(old);
  if (!Number.isInteger(oldN)) return changed;
  if (oldN < newRevision) {
    a[DEPLOYMENT_REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (old !== undefined && old !== '') {
      const history = a[DEPLOYMENT_REVISION_HISTORY_ANNOTATION];
      a[DEPLOYMENT_REVISION_HISTORY_ANNOTATION] = history ? `${history},${old}` : old;
    }
  }
  if (!exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d))) changed = true;
  return changed;
}

/** What `kubectl rollout history` prints for an RS. */
export const changeCauseOf = (rs: ReplicaSet): string | undefined => rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION];

// ---------------------------------------------------------------- rolling update

/** NewRSNewReplicas: how big the new RS may be now. */
export function newRSNewReplicas(d: Deployment, allRSs: readonly ReplicaSet[], newRS: ReplicaSet): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d)) return replicas;
  const current = sum(allRSs, specReplicas);
  const maxTotal = replicas + maxSurge(d);
  if (current >= maxTotal) return specReplicas(newRS);
  const up = Math.min(maxTotal - current, replicas - specReplicas(newRS));
  return specReplicas(newRS) + up;
}

/** reconcileNewReplicaSet: the new RS's next size, or undefined when it stays. */
export function reconcileNewReplicaSet(d: Deployment, allRSs: readonly ReplicaSet[], newRS: ReplicaSet): number | undefined {
  const replicas = replicasOf(d);
  const cur = specReplicas(newRS);
  if (cur === replicas) return undefined;
  if (cur > replicas) return replicas;
  const next = newRSNewReplicas(d, allRSs, newRS);
  return next === cur ? undefined : next;
}

/** A scale of one RS (its name → the new spec.replicas). */
export type ScaleActions = Map<string, number>;

/**
 * reconcileOldReplicaSets: how far the old RSs may shrink while at least
 * replicas − maxUnavailable pods stay available — first their unhealthy
 * replicas (cleanupUnhealthyReplicas), then available ones, oldest RS first
 * (scaleDownOldReplicaSetsForRollingUpdate). `oldRSs` are the active ones.
 */
export function reconcileOldReplicaSets(d: Deployment, allRSs: readonly ReplicaSet[], oldRSs: readonly ReplicaSet[], newRS: ReplicaSet | undefined): ScaleActions {
  const out: ScaleActions = new Map();
  const oldPods = sum(oldRSs, specReplicas);
  if (oldPods === 0) return out;
  const replicas = replicasOf(d);
  const allPods = sum(allRSs, specReplicas);
  const minAvailable = replicas - maxUnavailable(d);
  const newUnavailable = specReplicas(newRS) - (newRS?.status?.availableReplicas ?? 0);
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return out;

  const sorted = [...oldRSs].sort(byCreation);
  const size = new Map(sorted.map((rs) => [rs.metadata.name!, specReplicas(rs)]));
  // cleanupUnhealthyReplicas
  let cleaned = 0;
  for (const rs of sorted) {
    if (cleaned >= maxScaledDown) break;
    const cur = size.get(rs.metadata.name!)!;
    if (cur === 0) continue;
    const unhealthy = cur - (rs.status?.availableReplicas ?? 0);
    if (unhealthy <= 0) continue;
    const down = Math.min(maxScaledDown - cleaned, unhealthy);
    size.set(rs.metadata.name!, cur - down);
    cleaned += down;
  }
  // scaleDownOldReplicaSetsForRollingUpdate (availability is the RSs' status, as observed)
  const available = sum(allRSs, (rs) => rs.status?.availableReplicas ?? 0);
  if (available > minAvailable) {
    const total = available - minAvailable;
    let scaled = 0;
    for (const rs of sorted) {
      if (scaled >= total) break;
      const cur = size.get(rs.metadata.name!)!;
      if (cur === 0) continue;
      const down = Math.min(cur, total - scaled);
      size.set(rs.metadata.name!, cur - down);
      scaled += down;
    }
  }
  for (const rs of sorted) if (size.get(rs.metadata.name!) !== specReplicas(rs)) out.set(rs.metadata.name!, size.get(rs.metadata.name!)!);
  return out;
}

// ---------------------------------------------------------------- scaling events (sync.go scale)

/** isScalingEvent: an active RS was sized for another replica count than the Deployment's. */
export function isScalingEvent(d: Deployment, rss: readonly ReplicaSet[]): boolean {
  for (const rs of rss.filter(isActive)) {
    const desired = rs.metadata.annotations?.[DEPLOYMENT_DESIRED_REPLICAS_ANNOTATION];
    if (desired === undefined) continue;
    if (Number(desired) !== replicasOf(d)) return true;
  }
  return false;
}

/** getReplicaSetFraction: this RS's share of a resize, from the size it was given under max-replicas. */
function replicaSetFraction(rs: ReplicaSet, d: Deployment): number {
  if (replicasOf(d) === 0) return -specReplicas(rs);
  const deploymentReplicas = replicasOf(d) + maxSurge(d);
  const annotated = Number(rs.metadata.annotations?.[DEPLOYMENT_MAX_REPLICAS_ANNOTATION]);
  const base = Number.isInteger(annotated) && annotated > 0 ? annotated : (d.status?.replicas ?? 0);
  if (base === 0) return 0;
  return Math.round((specReplicas(rs) * deploymentReplicas) / base) - specReplicas(rs);
}

/**
 * scale (sync.go): the one active (or the latest) RS takes the new count; a
 * saturated new RS means the old ones go to 0; otherwise, in a rolling
 * update, the difference to replicas + maxSurge is spread over the active
 * RSs in proportion to their size (GetProportion), the rounding leftover on
 * the largest (newest on a tie when growing, oldest when shrinking).
 */
export function proportionalScale(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): ScaleActions {
  const out: ScaleActions = new Map();
  const replicas = replicasOf(d);
  const sortedOld = [...oldRSs].sort(byCreation);
  const all = [...sortedOld, ...(newRS ? [newRS] : [])];
  const active = all.filter(isActive);
  if (active.length <= 1) {
    const target = active[0] ?? newRS ?? sortedOld[sortedOld.length - 1];
    if (target && specReplicas(target) !== replicas) out.set(target.metadata.name!, replicas);
    return out;
  }
  if (newRS && specReplicas(newRS) === replicas && newRS.metadata.annotations?.[DEPLOYMENT_DESIRED_REPLICAS_ANNOTATION] === String(replicas) && (newRS.status?.availableReplicas ?? 0) === replicas) {
    for (const rs of sortedOld.filter(isActive)) out.set(rs.metadata.name!, 0);
    return out;
  }
  if (!isRollingUpdate(d)) return out;
  const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
  const toAdd = allowed - sum(active, specReplicas);
  if (toAdd === 0) return out;
  const newer = (a: ReplicaSet, b: ReplicaSet) => created(b) - created(a) || (b.metadata.name ?? '').localeCompare(a.metadata.name ?? '');
  const ordered = [...active].sort((a, b) => (toAdd > 0 ? specReplicas(b) - specReplicas(a) || newer(a, b) : specReplicas(b) - specReplicas(a) || -newer(a, b)));
  const size = new Map<string, number>();
  let added = 0;
  for (const rs of ordered) {
    let proportion = 0;
    if (specReplicas(rs) !== 0 && toAdd !== added) {
      const fraction = replicaSetFraction(rs, d);
      const left = toAdd - added;
      proportion = toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
    }
    size.set(rs.metadata.name!, specReplicas(rs) + proportion);
    added += proportion;
  }
  const first = ordered[0]!.metadata.name!;
  size.set(first, Math.max(0, size.get(first)! + toAdd - added));
  for (const rs of ordered) out.set(rs.metadata.name!, size.get(rs.metadata.name!)!);
  return out;
}

// ---------------------------------------------------------------- history

/** cleanupDeployment: the old RSs to delete beyond revisionHistoryLimit, lowest revision first, only empty and settled ones. */
export function cleanupVictims(d: Deployment, oldRSs: readonly ReplicaSet[]): ReplicaSet[] {
  const limit = d.spec?.revisionHistoryLimit;
  if (limit === undefined || limit === null) return [];
  const alive = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
  const diff = alive.length - limit;
  if (diff <= 0) return [];
  const sorted = [...alive].sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  return sorted
    .slice(0, diff)
    .filter((rs) => (rs.status?.replicas ?? 0) === 0 && specReplicas(rs) === 0 && (rs.metadata.generation ?? 0) <= (rs.status?.observedGeneration ?? 0));
}

// ---------------------------------------------------------------- status and conditions

export function getCondition(status: DeploymentStatus | undefined, type: string): WorkloadCondition | undefined {
  return (status?.conditions ?? []).find((c) => c.type === type);
}

export function newCondition(type: string, status: WorkloadCondition['status'], reason: string, message: string, nowMs: number): WorkloadCondition {
  const t = formatTime(new Date(nowMs));
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** SetDeploymentCondition: the same status and reason changes nothing; the same status keeps its transition time. */
export function setCondition(status: DeploymentStatus, cond: WorkloadCondition): void {
  const cur = getCondition(status, cond.type);
  if (cur && cur.status === cond.status && cur.reason === cond.reason) return;
  const next = { ...cond };
  if (cur && cur.status === cond.status && cur.lastTransitionTime) next.lastTransitionTime = cur.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), next];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
  if (status.conditions.length === 0) delete status.conditions;
}

/** calculateStatus: the counts over every RS, the new RS's as updatedReplicas, and Available. */
export function calculateStatus(d: Deployment, allRSs: readonly ReplicaSet[], newRS: ReplicaSet | undefined, nowMs: number): DeploymentStatus {
  const available = sum(allRSs, (rs) => rs.status?.availableReplicas ?? 0);
  const total = sum(allRSs, specReplicas);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: sum(allRSs, (rs) => rs.status?.replicas ?? 0),
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: sum(allRSs, (rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (d.status?.conditions?.length) status.conditions = d.status.conditions.map((c) => ({ ...c }));
  if (available >= replicasOf(d) - maxUnavailable(d)) setCondition(status, newCondition(AVAILABLE, 'True', REASON.MinimumReplicasAvailable, 'Deployment has minimum availability.', nowMs));
  else setCondition(status, newCondition(AVAILABLE, 'False', REASON.MinimumReplicasUnavailable, 'Deployment does not have minimum availability.', nowMs));
  return status;
}

/** HasProgressDeadline: set and not MaxInt32. */
export const hasProgressDeadline = (d: Deployment): boolean => d.spec?.progressDeadlineSeconds !== undefined && d.spec.progressDeadlineSeconds !== 2147483647;

/** DeploymentComplete: every replica updated and available, the latest spec observed. */
export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const r = replicasOf(d);
  return (s.updatedReplicas ?? 0) === r && (s.replicas ?? 0) === r && (s.availableReplicas ?? 0) === r && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** DeploymentProgressing: more updated, fewer old, more ready or more available than the stored status says. */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const o = d.status ?? {};
  const oldOld = (o.replicas ?? 0) - (o.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0);
}

/** DeploymentTimedOut: no progress since the Progressing condition's last update for progressDeadlineSeconds. */
export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getCondition(s, PROGRESSING);
  if (!cond) return false;
  if (cond.reason === REASON.NewReplicaSetAvailable) return false;
  if (cond.reason === REASON.TimedOut) return true;
  const from = Date.parse(cond.lastUpdateTime ?? '');
  return Number.isFinite(from) && from + d.spec!.progressDeadlineSeconds! * 1000 < nowMs;
}

/**
 * syncRolloutStatus's conditions (mutates `s`): Progressing True
 * NewReplicaSetAvailable when complete, ReplicaSetUpdated while progressing
 * (keeping its transition time), False ProgressDeadlineExceeded once the
 * deadline passes without progress; none without a deadline.
 */
export function rolloutConditions(d: Deployment, s: DeploymentStatus, newRS: ReplicaSet | undefined, nowMs: number): void {
  if (!hasProgressDeadline(d)) removeCondition(s, PROGRESSING);
  const cur = getCondition(s, PROGRESSING);
  const complete = s.replicas === s.updatedReplicas && cur?.reason === REASON.NewReplicaSetAvailable;
  if (!hasProgressDeadline(d) || complete) return;
  if (deploymentComplete(d, s)) {
    setCondition(s, newCondition(PROGRESSING, 'True', REASON.NewReplicaSetAvailable, newRS ? `ReplicaSet "${newRS.metadata.name}" has successfully progressed.` : 'Deployment has successfully progressed.', nowMs));
  } else if (deploymentProgressing(d, s)) {
    const msg = newRS ? `ReplicaSet "${newRS.metadata.name}" is progressing.` : 'Deployment is progressing.';
    const cond = newCondition(PROGRESSING, 'True', REASON.ReplicaSetUpdated, msg, nowMs);
    if (cur?.status === 'True' && cur.lastTransitionTime) cond.lastTransitionTime = cur.lastTransitionTime;
    // Removed first, so the update time moves even when the reason is the same (the deadline restarts).
    removeCondition(s, PROGRESSING);
    setCondition(s, cond);
  } else if (deploymentTimedOut(d, s, nowMs)) {
    setCondition(s, newCondition(PROGRESSING, 'False', REASON.TimedOut, newRS ? `ReplicaSet "${newRS.metadata.name}" has timed out progressing.` : 'Deployment has timed out progressing.', nowMs));
  }
}

/**
 * requeueStuckDeployment: when to look again for the progress deadline
 * (milliseconds from now), or undefined when nothing is pending.
 */
export function progressCheckDelay(d: Deployment, s: DeploymentStatus, nowMs: number): number | undefined {
  const cond = getCondition(s, PROGRESSING);
  if (!hasProgressDeadline(d) || !cond || deploymentComplete(d, s) || cond.reason === REASON.TimedOut) return undefined;
  const from = Date.parse(cond.lastUpdateTime ?? '');
  if (!Number.isFinite(from)) return undefined;
  const after = from + d.spec!.progressDeadlineSeconds! * 1000 - nowMs;
  return after < 1000 ? 0 : after + 1000;
}

/** Whether two statuses would print the same (the write is skipped otherwise). */
export function statusEqual(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b);
}
