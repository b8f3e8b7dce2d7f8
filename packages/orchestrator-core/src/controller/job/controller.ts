/**
 * The job controller (pkg/controller/job): runs each Job's pods to
 * completion. Handlers only enqueue Job keys and count observed pod creates
 * and deletes against the expectations, so a cache that has not caught up
 * with the controller's own writes never starts more than `parallelism`
 * pods. `syncJob(key)` reads the Job and its pods from the informer caches,
 * claims the pods, lets the pure planner (job-plan.ts) decide, creates or
 * deletes pods, and writes the status through /status when it changed.
 */
import { hostname } from 'node:os';
import {
  controllerRefOf,
  isNamespaceTerminating,
  isNotFound,
  keyOf,
  labelSelectorFromObject,
  LabelSelector,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
  runWorkers,
  typeMetaFor,
  WorkQueue,
  type ApiClient,
  type EventRecorder,
  type Informer,
  type Job,
  type JobStatus,
  type OwnerReference,
  type Pod,
} from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Controller, ControllerFactory } from '../controller.js';
import { adoptPatch, claimDecision, releasePatch } from '../controller-ref.js';
import { Expectations } from '../expectations.js';
import { RealPodControl, type PodControl } from '../pod-control.js';
import { CONTROLLER_UID_INDEX } from '../replication/controller.js';
import { controllerRef, slowStartBatches } from '../replication/replica-plan.js';
import { isJobFinished, jobStatusEqual, planJob } from './job-plan.js';

const JOB_TYPE = typeMetaFor('jobs');
/** upstream's --concurrent-job-syncs default. */
const JOB_WORKERS = 5;

export interface JobControllerDeps {
  jobs: Informer<Job>;
  pods: Informer<Pod>;
  client: Pick<ApiClient, 'get' | 'updateStatus'>;
  podControl: PodControl;
  recorder: Pick<EventRecorder, 'event'>;
  workers: number;
  log: Logger;
  now: () => number;
}

export class JobController implements Controller {
  readonly name = 'job';
  readonly queue = new WorkQueue<string>({ name: 'job' });
  readonly expectations: Expectations;
  private readonly d: JobControllerDeps;

  constructor(deps: JobControllerDeps) {
    this.d = deps;
    this.expectations = new Expectations(deps.now);
    const pods = deps.pods.indexer;
    if (!pods.hasIndex(NAMESPACE_INDEX)) pods.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    if (!pods.hasIndex(CONTROLLER_UID_INDEX)) pods.addIndex(CONTROLLER_UID_INDEX, (p) => {
      const ref = controllerRefOf(p);
      return ref ? [ref.uid] : [];
    });
    if (!deps.jobs.indexer.hasIndex(NAMESPACE_INDEX)) deps.jobs.indexer.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    deps.jobs.addHandler({
      onAdd: (j) => this.queue.add(keyOf(j)),
      onUpdate: (_old, j) => this.queue.add(keyOf(j)),
      onDelete: (j) => {
        this.expectations.delete(keyOf(j));
        this.queue.add(keyOf(j));
      },
    });
    deps.pods.addHandler({
      onAdd: (p) => {
        const job = this.jobOf(p);
        if (!job) return;
        if (p.metadata.deletionTimestamp) this.expectations.deletionObserved(keyOf(job), keyOf(p));
        else this.expectations.creationObserved(keyOf(job));
        this.queue.add(keyOf(job));
      },
      onUpdate: (old, cur) => {
        if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
        const job = this.jobOf(cur) ?? this.jobOf(old);
        if (!job) return;
        if (cur.metadata.deletionTimestamp) this.expectations.deletionObserved(keyOf(job), keyOf(cur));
        this.queue.add(keyOf(job));
      },
      onDelete: (p) => {
        const job = this.jobOf(p);
        if (!job) return;
        this.expectations.deletionObserved(keyOf(job), keyOf(p));
        this.queue.add(keyOf(job));
      },
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await runWorkers(this.queue, this.d.workers, (key) => this.syncJob(key), {
      signal,
      onError: (key, err) => this.d.log.warn({ job: key, err: (err as Error).message }, 'sync failed; retrying'),
    });
  }

  /** The Job a pod's controller reference names, if it is one and still the same object. */
  private jobOf(pod: Pod): Job | undefined {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== JOB_TYPE.kind) return undefined;
    const job = this.d.jobs.indexer.getByName(pod.metadata.namespace, ref.name);
    return job && job.metadata.uid === ref.uid ? job : undefined;
  }

  async syncJob(key: string): Promise<void> {
    const cached = this.d.jobs.indexer.get(key);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const job: Job = { ...cached, ...JOB_TYPE };
    if (job.metadata.deletionTimestamp) return;
    const pods = await this.claimPods(job);
    // Until our last creates and deletes are observed the counts may be stale: only the status may be written.
    const settled = this.expectations.satisfied(key);
    const plan = planJob(job, pods, this.d.now());
    let manageError: Error | undefined;
    if (settled) manageError = await this.manageJob(key, job, plan.create, plan.deleteActive).then(() => undefined, (err: unknown) => err as Error);
    if (settled) {
      if (plan.create > 0) plan.status.active = (plan.status.active ?? 0) + plan.create;
      if (plan.deleteActive.length > 0) plan.status.active = Math.max(0, (plan.status.active ?? 0) - plan.deleteActive.length);
    }
    const wasFinished = isJobFinished(job);
    await this.updateStatus(job, plan.status);
    if (!wasFinished) this.recordFinish(job, plan.status);
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs);
    if (manageError) throw manageError;
  }

  private recordFinish(job: Job, status: JobStatus): void {
    for (const c of status.conditions ?? []) {
      if (c.status !== 'True') continue;
      if (c.type === 'Complete') this.d.recorder.event(job, 'Normal', 'Completed', 'Job completed');
      if (c.type === 'Failed') this.d.recorder.event(job, 'Warning', c.reason ?? 'Failed', c.message ?? '');
    }
  }

  /** The pods this Job controls after adopting matching orphans and releasing pods that stopped matching. */
  private async claimPods(job: Job): Promise<Pod[]> {
    let selector: LabelSelector;
    try {
      selector = labelSelectorFromObject(job.spec?.selector);
    } catch {
      selector = LabelSelector.nothing();
    }
    const ref = jobRef(job);
    const claimed: Pod[] = [];
    for (const pod of this.d.pods.indexer.byIndex(NAMESPACE_INDEX, job.metadata.namespace ?? '')) {
      const decision = claimDecision(job, pod, selector.matches(pod.metadata.labels));
      if (decision === 'own') claimed.push(pod);
      else if (decision === 'release') {
        await this.d.podControl.patchPod(pod.metadata.namespace!, pod.metadata.name!, releasePatch(job.metadata.uid!, pod.metadata.uid)).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      } else if (decision === 'adopt') {
        const fresh = await this.d.client.get<Job>('jobs', job.metadata.name!, { namespace: job.metadata.namespace! });
        if (fresh.metadata.uid !== job.metadata.uid || fresh.metadata.deletionTimestamp) continue;
        await this.d.podControl.patchPod(pod.metadata.namespace!, pod.metadata.name!, adoptPatch(ref, pod.metadata.uid));
        claimed.push(pod);
      }
    }
    return claimed;
  }

  /** manageJob: the creates and deletes, each recorded as an expectation first. */
  private async manageJob(key: string, job: Job, create: number, remove: readonly Pod[]): Promise<void> {
    const ns = job.metadata.namespace!;
    if (remove.length > 0) {
      this.expectations.expectDeletions(key, remove.map((p) => keyOf(p)));
      const errors: Error[] = [];
      await Promise.all(
        remove.map((p) =>
          this.d.podControl.deletePod(ns, p.metadata.name!, job).catch((err: unknown) => {
            this.expectations.deletionObserved(key, keyOf(p));
            if (!isNotFound(err)) errors.push(err as Error);
          }),
        ),
      );
      if (errors.length) throw errors[0]!;
      return;
    }
    if (create <= 0) return;
    const template = job.spec?.template;
    if (!template) throw new Error(`${key} has no pod template`);
    this.expectations.expectCreations(key, create);
    const ref = jobRef(job);
    let done = 0;
    let firstError: Error | undefined;
    for (const size of slowStartBatches(create)) {
      const results = await Promise.allSettled(Array.from({ length: size }, () => this.d.podControl.createPod(ns, template, job, ref)));
      for (const r of results) {
        if (r.status === 'fulfilled' || isNamespaceTerminating(r.reason)) done++;
        else firstError ??= r.reason as Error;
      }
      if (firstError) break;
    }
    for (let i = done; i < create; i++) this.expectations.creationObserved(key);
    if (firstError) throw firstError;
    this.d.log.info({ job: key, created: done }, 'created pods');
  }

  private async updateStatus(job: Job, status: JobStatus): Promise<void> {
    if (jobStatusEqual(job.status, status)) return;
    try {
      await this.d.client.updateStatus('jobs', { ...job, status });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}

function jobRef(job: Job): OwnerReference {
  return controllerRef({ apiVersion: JOB_TYPE.apiVersion, kind: JOB_TYPE.kind, name: job.metadata.name!, uid: job.metadata.uid! });
}

export const jobControllerFactory: ControllerFactory = (ctx) => {
  const recorder = ctx.events.newRecorder({ component: 'job-controller', host: hostname() });
  return new JobController({
    jobs: ctx.informers.informer<Job>('jobs'),
    pods: ctx.informers.informer<Pod>('pods'),
    client: ctx.client,
    podControl: new RealPodControl(ctx.client, recorder),
    recorder,
    workers: JOB_WORKERS,
    log: ctx.log,
    now: ctx.now,
  });
};
