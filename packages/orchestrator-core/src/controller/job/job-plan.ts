/**
 * The job controller's decisions as pure functions over plain data
 * (pkg/controller/job/job_controller.go's syncJob and manageJob): how many
 * pods are active, succeeded and failed; whether the Job has finished, and
 * why; how many pods to start now, or how long the failure back-off still
 * holds; the status to write. No I/O: table-tested.
 */
import { formatTime, isPodReady, type Job, type JobCondition, type JobStatus, type Pod } from '@pilot/api';

/** upstream's DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
export const POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 10 * 60_000;

export const REASON_BACKOFF_LIMIT_EXCEEDED = 'BackoffLimitExceeded';
export const MESSAGE_BACKOFF_LIMIT_EXCEEDED = 'Job has reached the specified backoff limit';
export const REASON_DEADLINE_EXCEEDED = 'DeadlineExceeded';
export const MESSAGE_DEADLINE_EXCEEDED = 'Job was active longer than specified deadline';
export const REASON_COMPLETIONS_REACHED = 'CompletionsReached';
export const MESSAGE_COMPLETIONS_REACHED = 'Reached expected number of succeeded pods';

export interface PodCounts {
  /** Not finished and not being deleted. */
  active: Pod[];
  /** Being deleted but not finished: they may still run (status.terminating). */
  terminating: number;
  succeeded: number;
  failed: number;
  ready: number;
  /** When the newest failure happened, as far as the pods tell (ms), for the back-off. */
  lastFailureMs: number | undefined;
}

/** Counts the Job's pods. Finished pods stay until the Job is deleted, so counting them is counting the Job's history. */
export function countPods(pods: readonly Pod[]): PodCounts {
  const c: PodCounts = { active: [], terminating: 0, succeeded: 0, failed: 0, ready: 0, lastFailureMs: undefined };
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase === 'Succeeded') c.succeeded++;
    else if (phase === 'Failed') {
      c.failed++;
      const t = failureTimeMs(p);
      if (t !== undefined && (c.lastFailureMs === undefined || t > c.lastFailureMs)) c.lastFailureMs = t;
    } else if (p.metadata.deletionTimestamp) c.terminating++;
    else {
      c.active.push(p);
      if (isPodReady(p)) c.ready++;
    }
  }
  return c;
}

/** The latest container finish of a failed pod, else its Ready condition's last change, else its creation. */
function failureTimeMs(p: Pod): number | undefined {
  let best: number | undefined;
  for (const cs of p.status?.containerStatuses ?? []) {
    const at = cs.state?.terminated?.finishedAt;
    const t = at ? Date.parse(at) : NaN;
    if (!Number.isNaN(t) && (best === undefined || t > best)) best = t;
  }
  if (best !== undefined) return best;
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
  const t = Date.parse(ready ?? p.metadata.creationTimestamp ?? '');
  return Number.isNaN(t) ? undefined : t;
}

/** How many pods should run now (upstream's wantActive): parallelism, never more than the completions still missing. */
export function wantActive(job: Job, succeeded: number): number {
  const parallelism = job.spec?.parallelism ?? 1;
  const completions = job.spec?.completions;
  if (completions === undefined || completions === null) return succeeded > 0 ? 0 : parallelism;
  return Math.max(0, Math.min(parallelism, completions - succeeded));
}

/** The back-off before the next pod after `failed` failures: 10 s doubling, capped at 10 min. */
export function failureBackoffMs(failed: number): number {
  if (failed <= 0) return 0;
  return Math.min(MAX_POD_FAILURE_BACKOFF_MS, POD_FAILURE_BACKOFF_MS * 2 ** Math.min(failed - 1, 20));
}

export type Finished = { type: 'Complete' | 'Failed'; reason: string; message: string };

export interface JobPlan {
  /** Pods to create now. */
  create: number;
  /** Active pods to delete: every one once the Job failed, the surplus when parallelism went down. */
  deleteActive: Pod[];
  status: JobStatus;
  /** Sync again after this long (the back-off ends, the deadline passes). */
  requeueAfterMs?: number;
}

export function isJobFinished(job: Job): boolean {
  return (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/**
 * One sync of a Job. `pods` are the pods it controls. Counts never go down
 * (a finished pod removed by someone else stays counted), the finish
 * condition is written once the last active pod is gone (after the interim
 * FailureTarget / SuccessCriteriaMet, as 1.32 writes them), and new pods wait
 * out the failure back-off.
 */
export function planJob(job: Job, pods: readonly Pod[], nowMs: number): JobPlan {
  const prev = job.status ?? {};
  const c = countPods(pods);
  const succeeded = Math.max(prev.succeeded ?? 0, c.succeeded);
  const failed = Math.max(prev.failed ?? 0, c.failed);
  const now = formatTime(new Date(nowMs));
  const status: JobStatus = { ...prev, startTime: prev.startTime ?? now, active: c.active.length, ready: c.ready, succeeded, failed, terminating: c.terminating };
  const conditions = [...(prev.conditions ?? [])];
  status.conditions = conditions;
  if (isJobFinished(job)) {
    // A finished Job only stops what still runs.
    return { create: 0, deleteActive: c.active, status };
  }
  if (job.spec?.suspend) return { create: 0, deleteActive: c.active, status };

  let finished = interimFinish(conditions);
  const backoffLimit = job.spec?.backoffLimit ?? 6;
  const startMs = Date.parse(status.startTime!);
  const deadline = job.spec?.activeDeadlineSeconds;
  const completions = job.spec?.completions;
  if (!finished) {
    if (failed > backoffLimit) finished = { type: 'Failed', reason: REASON_BACKOFF_LIMIT_EXCEEDED, message: MESSAGE_BACKOFF_LIMIT_EXCEEDED };
    else if (deadline !== undefined && nowMs - startMs >= deadline * 1000) finished = { type: 'Failed', reason: REASON_DEADLINE_EXCEEDED, message: MESSAGE_DEADLINE_EXCEEDED };
    else if (completions !== undefined && completions !== null ? succeeded >= completions : succeeded > 0 && c.active.length === 0)
      finished = { type: 'Complete', reason: REASON_COMPLETIONS_REACHED, message: MESSAGE_COMPLETIONS_REACHED };
    if (finished) setCondition(conditions, finished.type === 'Failed' ? 'FailureTarget' : 'SuccessCriteriaMet', finished, now);
  }
  if (finished) {
    if (c.active.length === 0 && c.terminating === 0) {
      setCondition(conditions, finished.type, finished, now);
      if (finished.type === 'Complete') status.completionTime = now;
    }
    return { create: 0, deleteActive: c.active, status };
  }

  const want = wantActive(job, succeeded);
  const plan: JobPlan = { create: 0, deleteActive: [], status };
  if (c.active.length > want) {
    // Newest first, as upstream prefers to stop the pods that did the least work.
    plan.deleteActive = [...c.active].sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '')).slice(0, c.active.length - want);
  } else if (c.active.length < want) {
    const waitMs = c.lastFailureMs === undefined ? 0 : c.lastFailureMs + failureBackoffMs(failed) - nowMs;
    if (waitMs > 0) plan.requeueAfterMs = waitMs;
    else plan.create = want - c.active.length;
  }
  if (deadline !== undefined) {
    const left = startMs + deadline * 1000 - nowMs;
    plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? Infinity, Math.max(left, 0) + 1);
  }
  return plan;
}

/** A finish already decided in an earlier sync (its interim condition), waiting for pods to go. */
function interimFinish(conditions: readonly JobCondition[]): Finished | undefined {
  const c = conditions.find((x) => (x.type === 'FailureTarget' || x.type === 'SuccessCriteriaMet') && x.status === 'True');
  if (!c) return undefined;
  return { type: c.type === 'FailureTarget' ? 'Failed' : 'Complete', reason: c.reason ?? '', message: c.message ?? '' };
}

function setCondition(conditions: JobCondition[], type: string, f: Finished, now: string): void {
  if (conditions.some((c) => c.type === type && c.status === 'True')) return;
  conditions.push({ type, status: 'True', reason: f.reason, message: f.message, lastProbeTime: now, lastTransitionTime: now });
}

/** Whether two statuses say the same (so an unchanged Job is not written); key order does not matter. */
export function jobStatusEqual(a: JobStatus | undefined, b: JobStatus): boolean {
  const counts = (s: JobStatus | undefined) => [s?.startTime, s?.completionTime, s?.active ?? 0, s?.ready ?? 0, s?.succeeded ?? 0, s?.failed ?? 0, s?.terminating ?? 0];
  const conds = (s: JobStatus | undefined) => (s?.conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason ?? ''}`).join(',');
  return JSON.stringify(counts(a)) === JSON.stringify(counts(b)) && conds(a) === conds(b);
}
