/**
 * SchedulingQueue (internal/queue/scheduling_queue.go): three places a
 * pending pod can wait.
 *
 * - activeQ: a heap in PrioritySort order (higher `spec.priority` first,
 *   then earlier timestamp); `pop` hands out its head.
 * - backoffQ: pods that failed and wait out their back-off (1 s, doubling per
 *   attempt, at most 10 s by default), ordered by when it ends; they move
 *   to activeQ when it does.
 * - unschedulablePods: pods no node fits. They stay until a cluster event
 *   could change that for the plugins that rejected them (a node added or
 *   changed in what those plugins read, a pod deleted or finished on a node),
 *   then go to backoffQ (if still backing off) or activeQ. A pod that waited
 *   there longer than 5 minutes is moved by the leftover flush (every 30 s).
 *
 * A pod that failed while a move request happened during its own scheduling
 * cycle goes to backoffQ, not unschedulablePods: the event may already have
 * fixed what its cycle saw (the moveRequestCycle rule). A pod that failed
 * with an error (no plugin rejected it) goes to backoffQ as well.
 */
import type { Node, Pod } from '@pilot/api';
import type { Logger } from '@pilot/common';
import { Heap } from './heap.js';
import { podKey } from './node-info.js';
import { NODE_AFFINITY } from './plugins/node-affinity.js';
import { NODE_NAME } from './plugins/node-name.js';
import { NODE_PORTS } from './plugins/node-ports.js';
import { NODE_RESOURCES_FIT } from './plugins/node-resources-fit.js';
import { NODE_UNSCHEDULABLE } from './plugins/node-unschedulable.js';
import { TAINT_TOLERATION } from './plugins/taint-toleration.js';

export const DEFAULT_POD_INITIAL_BACKOFF_MS = 1_000;
export const DEFAULT_POD_MAX_BACKOFF_MS = 10_000;
/** DefaultPodMaxInUnschedulablePodsDuration */
export const POD_MAX_IN_UNSCHEDULABLE_PODS_MS = 5 * 60_000;
/** How often the leftover flush runs. */
export const UNSCHEDULABLE_FLUSH_INTERVAL_MS = 30_000;

export interface QueuedPodInfo {
  pod: Pod;
  key: string;
  /** When it entered the queue it is in (activeQ order; back-off counts from a failure's). */
  timestamp: number;
  /** Scheduling attempts so far (counted at pop). */
  attempts: number;
  /** The first pop, for the e2e scheduling latency metric. */
  initialAttemptTimestamp?: number;
  /** Plugins that rejected it in its last cycle: the events that can help are theirs. */
  unschedulablePlugins: Set<string>;
}

/**
 * A cluster change that may make pods schedulable, named as upstream's
 * ClusterEvents, with the plugins whose rejection it can undo.
 */
export interface ClusterEvent {
  label: string;
  /** Plugins the change can help; '*' helps everyone. */
  plugins: ReadonlySet<string> | '*';
}

const NODE_FILTERS = [NODE_UNSCHEDULABLE, NODE_NAME, TAINT_TOLERATION, NODE_AFFINITY, NODE_PORTS, NODE_RESOURCES_FIT];

export const EVENTS = {
  NodeAdd: { label: 'NodeAdd', plugins: new Set(NODE_FILTERS) },
  /** A pod left a node (deleted, or finished): its resources and host ports are free. */
  AssignedPodDelete: { label: 'AssignedPodDelete', plugins: new Set([NODE_RESOURCES_FIT, NODE_PORTS]) },
  UnschedulableTimeout: { label: 'UnschedulableTimeout', plugins: '*' },
  ForceActivate: { label: 'ForceActivate', plugins: '*' },
} satisfies Record<string, ClusterEvent>;

/** What changed on a node, as the plugins that read it (upstream's NodeUpdate action types). */
export function nodeUpdateEvent(oldNode: Node, newNode: Node): ClusterEvent | undefined {
  const plugins = new Set<string>();
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  if (!same(oldNode.status?.allocatable, newNode.status?.allocatable)) plugins.add(NODE_RESOURCES_FIT);
  if (!same(oldNode.metadata.labels, newNode.metadata.labels)) plugins.add(NODE_AFFINITY);
  if (!same(oldNode.spec?.taints, newNode.spec?.taints)) plugins.add(TAINT_TOLERATION);
  if (Boolean(oldNode.spec?.unschedulable) !== Boolean(newNode.spec?.unschedulable)) plugins.add(NODE_UNSCHEDULABLE);
  if (plugins.size === 0) return undefined;
  return { label: 'NodeUpdate', plugins };
}

/** isPodUpdated: a change other than status, resourceVersion, generation, managedFields or finalizers. */
export function isPodUpdated(oldPod: Pod, newPod: Pod): boolean {
  const strip = (p: Pod) => {
    const { resourceVersion: _rv, generation: _g, managedFields: _mf, finalizers: _f, ...meta } = p.metadata;
    return JSON.stringify({ metadata: meta, spec: p.spec });
  };
  return strip(oldPod) !== strip(newPod);
}

export interface SchedulingQueueOptions {
  podInitialBackoffMs?: number;
  podMaxBackoffMs?: number;
  podMaxInUnschedulablePodsMs?: number;
  log: Logger;
  now?: () => number;
}

const priority = (p: Pod) => p.spec?.priority ?? 0;

export class SchedulingQueue {
  private readonly activeQ = new Heap<QueuedPodInfo>(
    (q) => q.key,
    (a, b) => priority(a.pod) > priority(b.pod) || (priority(a.pod) === priority(b.pod) && a.timestamp < b.timestamp),
  );
  private readonly backoffQ = new Heap<QueuedPodInfo>(
    (q) => q.key,
    (a, b) => this.backoffExpiry(a) < this.backoffExpiry(b),
  );
  private readonly unschedulablePods = new Map<string, QueuedPodInfo>();
  /** Popped and not yet back: the newest pod object seen meanwhile, or null once deleted. */
  private readonly inFlight = new Map<string, Pod | null>();
  private schedulingCycle = 0;
  private moveRequestCycle = -1;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly maxUnschedulableMs: number;
  private readonly now: () => number;
  private waiters: (() => void)[] = [];
  private backoffTimer: NodeJS.Timeout | undefined;
  private backoffTimerAt = Infinity;
  private closed = false;

  constructor(private readonly opts: SchedulingQueueOptions) {
    this.initialMs = opts.podInitialBackoffMs ?? DEFAULT_POD_INITIAL_BACKOFF_MS;
    this.maxMs = opts.podMaxBackoffMs ?? DEFAULT_POD_MAX_BACKOFF_MS;
    this.maxUnschedulableMs = opts.podMaxInUnschedulablePodsMs ?? POD_MAX_IN_UNSCHEDULABLE_PODS_MS;
    this.now = opts.now ?? Date.now;
  }

  /** The cycle number of the last pop. */
  get cycle(): number {
    return this.schedulingCycle;
  }

  /** A new pending pod (informer add). */
  add(pod: Pod): void {
    const key = podKey(pod);
    if (this.inFlight.has(key)) {
      this.inFlight.set(key, pod);
      return;
    }
    this.unschedulablePods.delete(key);
    this.backoffQ.delete(key);
    const existing = this.activeQ.get(key);
    this.activeQ.addOrUpdate(existing ? { ...existing, pod } : this.newInfo(pod));
    this.wake();
  }

  /**
   * A pending pod changed. In activeQ or backoffQ it is updated in place; in
   * unschedulablePods a change other than status may make it fit, so it
   * moves on (a status write such as our own PodScheduled=False does not).
   */
  update(oldPod: Pod, newPod: Pod): void {
    const key = podKey(newPod);
    if (this.inFlight.has(key)) {
      this.inFlight.set(key, newPod);
      return;
    }
    const inActive = this.activeQ.get(key);
    if (inActive) return this.activeQ.addOrUpdate({ ...inActive, pod: newPod });
    const inBackoff = this.backoffQ.get(key);
    if (inBackoff) return this.backoffQ.addOrUpdate({ ...inBackoff, pod: newPod });
    const waiting = this.unschedulablePods.get(key);
    if (waiting) {
      const q = { ...waiting, pod: newPod };
      if (isPodUpdated(oldPod, newPod)) {
        this.unschedulablePods.delete(key);
        this.requeue(q, 'PodUpdate');
      } else this.unschedulablePods.set(key, q);
      return;
    }
    this.add(newPod);
  }

  /** The pod is gone or no longer ours to schedule (deleted, bound). */
  delete(pod: Pod): void {
    const key = podKey(pod);
    if (this.inFlight.has(key)) this.inFlight.set(key, null);
    this.activeQ.delete(key);
    this.backoffQ.delete(key);
    this.unschedulablePods.delete(key);
  }

  /**
   * Waits for a pod in activeQ and hands it out (attempts + 1, a new
   * scheduling cycle). Resolves undefined when the queue closes or the
   * signal aborts.
   */
  async pop(signal?: AbortSignal): Promise<QueuedPodInfo | undefined> {
    while (!this.closed && !signal?.aborted && this.activeQ.size === 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.push(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    if (this.closed || signal?.aborted) return undefined;
    const q = this.activeQ.pop()!;
    q.attempts++;
    q.initialAttemptTimestamp ??= this.now();
    this.schedulingCycle++;
    this.inFlight.set(q.key, q.pod);
    return q;
  }

  /** The cycle of a popped pod ended with a bind on its way: it leaves the queue. */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  /**
   * A popped pod failed (framework says why through `q.unschedulablePlugins`,
   * empty for an error). Goes to unschedulablePods, or backoffQ when an event
   * came in during its cycle or it failed with an error. Dropped when it was
   * deleted meanwhile; the newest object seen meanwhile is what is queued.
   */
  addUnschedulableIfNotPresent(q: QueuedPodInfo, podSchedulingCycle: number): void {
    const latest = this.inFlight.get(q.key);
    this.inFlight.delete(q.key);
    if (latest === null) return;
    if (latest) q.pod = latest;
    if (this.activeQ.has(q.key) || this.backoffQ.has(q.key) || this.unschedulablePods.has(q.key)) return;
    q.timestamp = this.now();
    if (this.moveRequestCycle >= podSchedulingCycle || q.unschedulablePlugins.size === 0) {
      this.backoffQ.addOrUpdate(q);
      this.armBackoffTimer();
    } else this.unschedulablePods.set(q.key, q);
  }

  /**
   * A cluster event: every unschedulable pod that a plugin the event can
   * help rejected moves to backoffQ or activeQ. Pods in flight are covered by
   * the moveRequestCycle rule.
   */
  moveAllToActiveOrBackoffQueue(event: ClusterEvent): void {
    const moved: QueuedPodInfo[] = [];
    for (const q of this.unschedulablePods.values()) if (this.eventHelps(event, q)) moved.push(q);
    for (const q of moved) {
      this.unschedulablePods.delete(q.key);
      this.requeue(q, event.label);
    }
    this.moveRequestCycle = this.schedulingCycle;
  }

  /** Moves to activeQ every backoffQ pod whose back-off has ended. */
  flushBackoffQCompleted(now = this.now()): void {
    let moved = false;
    for (let q = this.backoffQ.peek(); q && this.backoffExpiry(q) <= now; q = this.backoffQ.peek()) {
      this.backoffQ.pop();
      this.activeQ.addOrUpdate(q);
      moved = true;
    }
    if (moved) this.wake();
    this.armBackoffTimer();
  }

  /** Moves on every pod that waited in unschedulablePods longer than the limit (5 min). */
  flushUnschedulablePodsLeftover(now = this.now()): void {
    const moved: QueuedPodInfo[] = [];
    for (const q of this.unschedulablePods.values()) if (now - q.timestamp > this.maxUnschedulableMs) moved.push(q);
    for (const q of moved) {
      this.unschedulablePods.delete(q.key);
      this.requeue(q, EVENTS.UnschedulableTimeout.label);
    }
  }

  /** Runs the leftover flush every 30 s until the signal aborts (the back-off flush runs on its own timer). */
  run(signal: AbortSignal, flushIntervalMs = UNSCHEDULABLE_FLUSH_INTERVAL_MS): void {
    const t = setInterval(() => this.flushUnschedulablePodsLeftover(), flushIntervalMs);
    t.unref();
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(t);
        this.close();
      },
      { once: true },
    );
  }

  close(): void {
    this.closed = true;
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.wake();
  }

  /** backoff duration for the attempts so far: initial, doubled per further attempt, capped. */
  backoffDuration(attempts: number): number {
    let d = this.initialMs;
    for (let i = 1; i < attempts; i++) {
      if (d > this.maxMs - d) return this.maxMs;
      d += d;
    }
    return d;
  }

  /** Pending pods per queue (the scheduler_pending_pods gauge). */
  pendingPods(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.activeQ.size, backoff: this.backoffQ.size, unschedulable: this.unschedulablePods.size };
  }

  /** Where a pod waits, for tests and logs. */
  where(pod: Pod): 'active' | 'backoff' | 'unschedulable' | 'inFlight' | undefined {
    const key = podKey(pod);
    if (this.activeQ.has(key)) return 'active';
    if (this.backoffQ.has(key)) return 'backoff';
    if (this.unschedulablePods.has(key)) return 'unschedulable';
    if (this.inFlight.has(key)) return 'inFlight';
    return undefined;
  }

  private newInfo(pod: Pod): QueuedPodInfo {
    return { pod, key: podKey(pod), timestamp: this.now(), attempts: 0, unschedulablePlugins: new Set() };
  }

  private backoffExpiry(q: QueuedPodInfo): number {
    return q.timestamp + this.backoffDuration(q.attempts);
  }

  private eventHelps(event: ClusterEvent, q: QueuedPodInfo): boolean {
    if (event.plugins === '*' || q.unschedulablePlugins.size === 0) return true;
    for (const p of q.unschedulablePlugins) if (event.plugins.has(p)) return true;
    return false;
  }

  private requeue(q: QueuedPodInfo, why: string): void {
    if (this.backoffExpiry(q) > this.now()) {
      this.backoffQ.addOrUpdate(q);
      this.armBackoffTimer();
    } else {
      q.timestamp = this.now();
      this.activeQ.addOrUpdate(q);
      this.wake();
    }
    this.opts.log.debug({ pod: q.key, event: why }, 'pod moved out of unschedulablePods');
  }

  /** One timer for the earliest back-off end (instead of upstream's 1 s poll). */
  private armBackoffTimer(): void {
    const head = this.backoffQ.peek();
    if (!head || this.closed) return;
    const at = this.backoffExpiry(head);
    if (this.backoffTimer && at >= this.backoffTimerAt) return;
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.backoffTimerAt = at;
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      this.backoffTimerAt = Infinity;
      this.flushBackoffQCompleted();
    }, Math.max(0, at - this.now()));
    this.backoffTimer.unref();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
