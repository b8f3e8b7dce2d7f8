/**
 * One pod at a time (schedule_one.go): `scheduleOne` pops a pod, runs the
 * scheduling cycle — PreFilter, Filter over the snapshot from a rotating
 * start until enough feasible nodes are found, PreScore/Score, selectHost —
 * synchronously, assumes the pod on the chosen node in the cache, and starts
 * the binding cycle (POST pods/binding) without waiting for it, so the next
 * pod is scheduled while the bind is on the wire and already sees the
 * capacity taken.
 *
 * A pod that fits nowhere gets a FitError whose message is the
 * FailedScheduling event and the PodScheduled=False/Unschedulable condition;
 * it goes back to the queue (unschedulablePods, or backoffQ on an error).
 */
import { ApiError, formatTime, isConflict, type ApiClient, type EventRecorder, type Pod, type PodCondition } from '@pilot/api';
import type { Logger } from '@pilot/common';
import {
  Code,
  CycleState,
  ERR_NO_NODES_AVAILABLE,
  FitError,
  preemptionMessage,
  Status,
  type Diagnosis,
  type NodeScore,
} from './framework.js';
import type { Cache } from './cache.js';
import { podKey, Snapshot, type NodeInfo } from './node-info.js';
import type { QueuedPodInfo, SchedulingQueue } from './queue.js';
import type { Framework } from './runtime.js';

/** minFeasibleNodesToFind: below this many nodes every node is evaluated. */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
/** minFeasibleNodesPercentageToFind */
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;
/** Binds in flight at once: each holds a connection to the apiserver (upstream bounds them with its client QPS instead). */
export const DEFAULT_MAX_BINDS_IN_FLIGHT = 256;

/**
 * numFeasibleNodesToFind: with percentageOfNodesToScore 0 (adaptive), 50 %
 * minus 1 % per 125 nodes, at least 5 %, never fewer than 100 nodes — so
 * 5,000 nodes stop after 500 feasible ones.
 */
export function numFeasibleNodesToFind(numAllNodes: number, percentageOfNodesToScore = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let percentage = percentageOfNodesToScore;
  if (percentage === 0) {
    percentage = 50 - Math.trunc(numAllNodes / 125);
    if (percentage < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) percentage = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  const n = Math.trunc((numAllNodes * percentage) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/** The highest total; ties broken uniformly at random (reservoir sampling, as selectHost). */
export function selectHost(scores: readonly NodeScore[], random: () => number = Math.random): string {
  if (scores.length === 0) throw new Error('empty priorityList');
  let best = scores[0]!;
  let ties = 1;
  for (let i = 1; i < scores.length; i++) {
    const s = scores[i]!;
    if (s.score > best.score) {
      best = s;
      ties = 1;
    } else if (s.score === best.score) {
      ties++;
      if (Math.floor(random() * ties) === 0) best = s;
    }
  }
  return best.name;
}

export class NoNodesAvailableError extends Error {
  constructor() {
    super(ERR_NO_NODES_AVAILABLE);
    this.name = 'NoNodesAvailableError';
  }
}

export interface ScheduleResult {
  suggestedHost: string;
  evaluatedNodes: number;
  feasibleNodes: number;
}

export interface SchedulerMetrics {
  /** scheduler_schedule_attempts_total{result} */
  attempt(result: 'scheduled' | 'unschedulable' | 'error', seconds: number): void;
  /** Pod popped for the first time → bound (scheduler_pod_scheduling_sli_duration_seconds). */
  podScheduled(attempts: number, seconds: number): void;
}

export interface SchedulerOptions {
  /** Binds and status writes. The client must not throttle itself. */
  client: Pick<ApiClient, 'bind' | 'patchStatus'>;
  cache: Cache;
  queue: SchedulingQueue;
  framework: Framework;
  recorder: EventRecorder;
  log: Logger;
  /** Reads the informer's current copy of a pod (to drop a failed pod that is gone or bound meanwhile). */
  currentPod: (key: string) => Pod | undefined;
  metrics?: SchedulerMetrics;
  percentageOfNodesToScore?: number;
  maxBindsInFlight?: number;
  random?: () => number;
  now?: () => number;
}

export class Scheduler {
  private readonly snapshot = new Snapshot();
  private nextStartNodeIndex = 0;
  private bindsInFlight = 0;
  private bindSlot: (() => void) | undefined;
  private readonly binding = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly o: SchedulerOptions) {
    this.now = o.now ?? Date.now;
  }

  /** scheduleOne until the signal aborts; then waits for the binds in flight. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const q = await this.o.queue.pop(signal);
      if (!q) break;
      this.scheduleOne(q);
      // Let I/O (bind answers, watch events) in between cycles: pop resolves without it when pods wait.
      await new Promise<void>((r) => setImmediate(r));
      if (this.bindsInFlight >= (this.o.maxBindsInFlight ?? DEFAULT_MAX_BINDS_IN_FLIGHT)) await new Promise<void>((r) => (this.bindSlot = r));
    }
    await Promise.all([...this.binding]);
  }

  /** The scheduling cycle of one popped pod; starts its binding cycle. */
  scheduleOne(q: QueuedPodInfo): void {
    const pod = q.pod;
    const key = q.key;
    if (pod.metadata.deletionTimestamp || this.o.cache.isAssumedPod(pod) || pod.spec?.nodeName) {
      this.o.queue.done(key);
      return;
    }
    const start = this.now();
    const cycle = this.o.queue.cycle;
    const state = new CycleState();
    let result: ScheduleResult;
    try {
      result = this.schedulePod(state, pod);
    } catch (err) {
      let status: Status;
      if (err instanceof NoNodesAvailableError) status = new Status(Code.UnschedulableAndUnresolvable, [err.message]);
      else if (err instanceof FitError) {
        status = new Status(Code.Unschedulable, [err.message]);
        q.unschedulablePlugins = new Set(err.diagnosis.unschedulablePlugins);
      } else status = Status.error((err as Error).message);
      this.o.metrics?.attempt(status.isRejected() ? 'unschedulable' : 'error', (this.now() - start) / 1000);
      this.handleSchedulingFailure(q, status, cycle);
      return;
    }
    // assume: the next cycle sees this pod's requests on the node before the bind returns.
    const assumed: Pod = { ...pod, spec: { ...pod.spec!, nodeName: result.suggestedHost } };
    try {
      this.o.cache.assumePod(assumed);
    } catch (err) {
      this.handleSchedulingFailure(q, Status.error((err as Error).message), cycle);
      return;
    }
    this.bindsInFlight++;
    const p = this.bindingCycle(q, assumed, result.suggestedHost, start).finally(() => {
      this.binding.delete(p);
      this.bindsInFlight--;
      const slot = this.bindSlot;
      this.bindSlot = undefined;
      slot?.();
    });
    this.binding.add(p);
  }

  /**
   * Finds the feasible nodes and the best of them; throws FitError (with the
   * preemption message in its diagnosis) or NoNodesAvailableError.
   */
  schedulePod(state: CycleState, pod: Pod): ScheduleResult {
    const snapshot = this.o.cache.updateSnapshot(this.snapshot);
    if (snapshot.numNodes === 0) throw new NoNodesAvailableError();
    const { feasible, diagnosis } = this.findNodesThatFitPod(state, pod, snapshot);
    if (feasible.length === 0) {
      // PostFilter: DefaultPreemption with nothing to preempt says why not.
      diagnosis.postFilterMsg = preemptionMessage(snapshot.numNodes, diagnosis.nodeToStatus);
      throw new FitError(pod, snapshot.numNodes, diagnosis);
    }
    const evaluatedNodes = feasible.length + diagnosis.nodeToStatus.size;
    if (feasible.length === 1) return { suggestedHost: feasible[0]!.name, evaluatedNodes, feasibleNodes: 1 };
    const scores = this.prioritizeNodes(state, pod, feasible, snapshot);
    return { suggestedHost: selectHost(scores, this.o.random), evaluatedNodes, feasibleNodes: feasible.length };
  }

  findNodesThatFitPod(state: CycleState, pod: Pod, snapshot: Snapshot): { feasible: NodeInfo[]; diagnosis: Diagnosis } {
    const fw = this.o.framework;
    const diagnosis: Diagnosis = { nodeToStatus: new Map(), unschedulablePlugins: new Set() };
    const all = snapshot.nodeInfoList;
    const pre = fw.runPreFilterPlugins(state, pod, snapshot);
    if (!pre.isSuccess()) {
      if (!pre.isRejected()) throw new Error(`running PreFilter plugin "${pre.plugin}": ${pre.message()}`);
      for (const ni of all) diagnosis.nodeToStatus.set(ni.name, pre);
      diagnosis.unschedulablePlugins.add(pre.plugin);
      diagnosis.preFilterMsg = pre.message();
      return { feasible: [], diagnosis };
    }
    const want = numFeasibleNodesToFind(all.length, this.o.percentageOfNodesToScore);
    const filters = fw.activeFilters(state);
    const feasible: NodeInfo[] = [];
    let processed = 0;
    for (let i = 0; i < all.length && feasible.length < want; i++) {
      const ni = all[(this.nextStartNodeIndex + i) % all.length]!;
      processed++;
      const s = fw.runFilterPlugins(state, pod, ni, snapshot, filters);
      if (s.isSuccess()) feasible.push(ni);
      else if (s.isRejected()) {
        diagnosis.nodeToStatus.set(ni.name, s);
        diagnosis.unschedulablePlugins.add(s.plugin);
      } else throw new Error(`running "${s.plugin}" filter plugin on node ${ni.name}: ${s.message()}`);
    }
    this.nextStartNodeIndex = (this.nextStartNodeIndex + processed) % all.length;
    return { feasible, diagnosis };
  }

  prioritizeNodes(state: CycleState, pod: Pod, feasible: readonly NodeInfo[], snapshot: Snapshot): NodeScore[] {
    const fw = this.o.framework;
    const pre = fw.runPreScorePlugins(state, pod, feasible, snapshot);
    if (!pre.isSuccess()) throw new Error(`running PreScore plugin "${pre.plugin}": ${pre.message()}`);
    return fw.runScorePlugins(state, pod, feasible, snapshot);
  }

  /** POST pods/binding for an assumed pod; a failure forgets it and requeues the pod. */
  private async bindingCycle(q: QueuedPodInfo, assumed: Pod, host: string, start: number): Promise<void> {
    const ns = assumed.metadata.namespace ?? 'default';
    const name = assumed.metadata.name!;
    try {
      await this.o.client.bind(ns, name, host);
    } catch (err) {
      this.o.cache.forgetPod(assumed);
      const message = err instanceof ApiError ? err.status.message ?? err.message : (err as Error).message;
      this.o.metrics?.attempt('error', (this.now() - start) / 1000);
      this.o.log.warn({ pod: q.key, node: host, err: message }, 'binding rejected');
      this.handleSchedulingFailure(q, Status.error(`running Bind plugin "DefaultBinder": ${message}`), this.o.queue.cycle, isConflict(err));
      return;
    }
    this.o.cache.finishBinding(assumed, this.now());
    this.o.queue.done(q.key);
    const seconds = (this.now() - start) / 1000;
    this.o.metrics?.attempt('scheduled', seconds);
    if (q.initialAttemptTimestamp !== undefined) this.o.metrics?.podScheduled(q.attempts, (this.now() - q.initialAttemptTimestamp) / 1000);
    this.o.log.debug({ pod: q.key, node: host }, 'bound');
    this.o.recorder.eventf(assumed, 'Normal', 'Scheduled', 'Successfully assigned %s/%s to %s', ns, name, host);
  }

  /**
   * handleSchedulingFailure: back into the queue (unless the pod is gone or
   * already bound), a Warning FailedScheduling event, and the PodScheduled
   * condition (False, Unschedulable when plugins rejected it, SchedulerError
   * otherwise) when it changes. `bindConflict`: the apiserver says the pod is
   * already bound (another scheduler won), so its PodScheduled stays as the
   * binding wrote it.
   */
  private handleSchedulingFailure(q: QueuedPodInfo, status: Status, cycle: number, bindConflict = false): void {
    const pod = q.pod;
    const current = this.o.currentPod(q.key);
    if (!current) {
      this.o.log.info({ pod: q.key }, "pod doesn't exist in informer cache");
      this.o.queue.done(q.key);
    } else if (current.spec?.nodeName) {
      this.o.log.info({ pod: q.key, node: current.spec.nodeName }, 'pod has been assigned to node; not adding it back to the queue');
      this.o.queue.done(q.key);
    } else {
      if (!status.isRejected()) q.unschedulablePlugins = new Set();
      this.o.queue.addUnschedulableIfNotPresent({ ...q, pod: current }, cycle);
    }
    const message = status.message();
    if (status.isRejected()) this.o.log.info({ pod: q.key, err: message }, 'unable to schedule pod; no fit; waiting');
    else this.o.log.warn({ pod: q.key, err: message }, 'error scheduling pod; retrying');
    this.o.recorder.event(pod, 'Warning', 'FailedScheduling', truncateMessage(message));
    if (bindConflict) return;
    const condition: PodCondition = {
      type: 'PodScheduled',
      status: 'False',
      reason: status.isRejected() ? 'Unschedulable' : 'SchedulerError',
      message,
    };
    void this.updatePodCondition(current ?? pod, condition);
  }

  /** updatePod: patches pods/status only when the condition changes (UpdatePodCondition). */
  private async updatePodCondition(pod: Pod, c: PodCondition): Promise<void> {
    const old = pod.status?.conditions?.find((x) => x.type === c.type);
    if (old && old.status === c.status && old.reason === c.reason && old.message === c.message) return;
    const cond: PodCondition = {
      ...c,
      lastProbeTime: null,
      lastTransitionTime: old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : formatTime(new Date(this.now())),
    };
    try {
      await this.o.client.patchStatus('pods', pod.metadata.name!, { status: { conditions: [cond] } }, 'strategic', { namespace: pod.metadata.namespace ?? 'default' });
    } catch (err) {
      this.o.log.warn({ pod: podKey(pod), err: (err as Error).message }, 'error updating pod');
    }
  }
}

/** Events carry at most 1 KiB of message (truncateMessage, with " ..."). */
export function truncateMessage(message: string): string {
  const max = 1024;
  if (message.length <= max) return message;
  return `${message.slice(0, max - 4)} ...`;
}
