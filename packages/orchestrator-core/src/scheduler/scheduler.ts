/**
 * `pilot scheduler` wired up (scheduler.go + eventhandlers.go): informers
 * for pods (not terminal), nodes, services and RCs; their handlers feed the
 * cache and the queue; the Scheduler runs while this process holds the
 * leader Lease (or always, without leader election).
 *
 * Informers run and sync before the election, as upstream: a standby keeps
 * a warm cache and queue, so taking over costs only the Lease.
 */
import { hostname } from 'node:os';
import {
  ApiClient,
  defaultIdentity,
  EventBroadcaster,
  InformerFactory,
  type Informer,
  type Node,
  type Pod,
  type ReplicationController,
  type Service,
} from '@pilot/api';
import { createRegistry, type Logger } from '@pilot/common';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { runElected } from '../component/elected.js';
import { Cache } from './cache.js';
import type { SchedulerConfig } from './flags.js';
import { defaultProfile } from './plugins/registry.js';
import { EVENTS, nodeUpdateEvent, SchedulingQueue } from './queue.js';
import { Framework } from './runtime.js';
import { Scheduler, type SchedulerMetrics } from './schedule-one.js';

/** Pods the scheduler watches: terminal ones leave the watch (so their resources free up). */
export const POD_FIELD_SELECTOR = 'status.phase!=Succeeded,status.phase!=Failed';

export interface StartOptions {
  log: Logger;
  /** Stops everything (a graceful stop releases the Lease). */
  signal: AbortSignal;
  /** Called when leadership is lost: upstream exits; the CLI does (tests may observe). */
  onLeadershipLost?: () => void;
  /** The client to use (tests); default from --master/--kubeconfig. */
  client?: ApiClient;
  /** Expiry of assumed pods that never show up bound (default: cache.ts). */
  assumedPodTtlMs?: number;
}

export interface RunningScheduler {
  /** The health server's port, when one runs. */
  readonly healthzPort: number | undefined;
  readonly identity: string;
  isLeader(): boolean;
  /** Resolves when the process should end: 'stopped' on the signal, 'lost' when the Lease was lost. */
  readonly done: Promise<'stopped' | 'lost'>;
  close(): Promise<void>;
}

function responsibleForPod(pod: Pod, schedulerName: string): boolean {
  return (pod.spec?.schedulerName ?? 'default-scheduler') === schedulerName;
}

const assigned = (pod: Pod) => Boolean(pod.spec?.nodeName);
const terminal = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

export function schedulerMetrics(registry: Registry, profile: string): SchedulerMetrics {
  const attempts = new Counter({
    name: 'scheduler_schedule_attempts_total',
    help: 'Number of attempts to schedule pods, by the result.',
    labelNames: ['result', 'profile'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'scheduler_scheduling_attempt_duration_seconds',
    help: 'Scheduling attempt latency in seconds (scheduling algorithm + binding).',
    labelNames: ['result', 'profile'],
    buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048],
    registers: [registry],
  });
  const sli = new Histogram({
    name: 'scheduler_pod_scheduling_sli_duration_seconds',
    help: 'E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue.',
    labelNames: ['attempts'],
    buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48],
    registers: [registry],
  });
  return {
    attempt(result, seconds) {
      attempts.inc({ result, profile });
      duration.observe({ result, profile }, seconds);
    },
    podScheduled(n, seconds) {
      sli.observe({ attempts: String(Math.min(n, 16)) }, seconds);
    },
  };
}

export async function startScheduler(cfg: SchedulerConfig, o: StartOptions): Promise<RunningScheduler> {
  const log = o.log;
  const client = o.client ?? ApiClient.fromFlags({ master: cfg.master, kubeconfig: cfg.kubeconfig, userAgent: 'pilot-scheduler' });
  const identity = defaultIdentity();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });

  const factory = new InformerFactory(client, { logger: log });
  const pods = factory.informer<Pod>('pods', { fieldSelector: POD_FIELD_SELECTOR });
  const nodes = factory.informer<Node>('nodes');
  const services = factory.informer<Service>('services');
  const rcs = factory.informer<ReplicationController>('replicationcontrollers');
  services.indexer.addIndex('namespace', (s) => [s.metadata.namespace ?? '']);

  const cache = new Cache(log, o.assumedPodTtlMs);
  const queue = new SchedulingQueue({ podInitialBackoffMs: cfg.podInitialBackoffMs, podMaxBackoffMs: cfg.podMaxBackoffMs, log });
  const framework = new Framework(cfg.schedulerName, defaultProfile({
    services: (ns) => services.indexer.byIndex('namespace', ns),
    replicationController: (ns, name) => rcs.indexer.getByName(ns, name),
  }));
  const registry = createRegistry('scheduler');
  new Gauge({
    name: 'scheduler_pending_pods',
    help: 'Number of pending pods, by the queue type.',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      const p = queue.pendingPods();
      this.set({ queue: 'active' }, p.active);
      this.set({ queue: 'backoff' }, p.backoff);
      this.set({ queue: 'unschedulable' }, p.unschedulable);
    },
  });
  // Events through the shared broadcaster (client-go's record): one writer, bounded queue, repeats folded into count.
  const broadcaster = new EventBroadcaster(client, { logger: log });
  const recorder = broadcaster.newRecorder({ component: cfg.schedulerName, host: hostname() });
  const scheduler = new Scheduler({
    client,
    cache,
    queue,
    framework,
    recorder,
    log,
    currentPod: (key) => pods.indexer.get(key),
    metrics: schedulerMetrics(registry, cfg.schedulerName),
  });

  addAllEventHandlers({ pods, nodes, cache, queue, schedulerName: cfg.schedulerName });

  const elected = await runElected({
    cfg,
    client,
    identity,
    log,
    registry,
    signal: stop.signal,
    waitForSync: (signal) => factory.waitForSync(signal),
    hasSynced: () => factory.hasSynced(),
    lead: async (signal) => {
      log.info({ identity, nodes: cache.nodeCount() }, 'scheduling');
      await scheduler.run(signal);
    },
    onLeadershipLost: o.onLeadershipLost,
  });
  factory.start(stop.signal);
  const flush = setInterval(() => {
    // An assumed pod that expired is still pending in the informer: schedule it again.
    for (const key of cache.cleanupAssumedPods()) {
      const p = pods.indexer.get(key);
      if (p && !assigned(p) && responsibleForPod(p, cfg.schedulerName)) queue.add(p);
    }
  }, 1000);
  flush.unref();
  queue.run(stop.signal);

  return {
    get healthzPort() {
      return elected.healthzPort;
    },
    identity,
    isLeader: elected.isLeader,
    done: elected.done,
    async close() {
      stop.abort();
      o.signal.removeEventListener('abort', onAbort);
      clearInterval(flush);
      await elected.done;
      await factory.stopped();
      await broadcaster.shutdown(5000);
      await elected.closeHealth();
      if (!o.client) client.close();
    },
  };
}

/**
 * eventhandlers.go: unassigned pods of this scheduler go to the queue,
 * assigned ones to the cache; nodes to the cache; every change that could
 * make an unschedulable pod fit moves it back (NodeAdd, NodeUpdate of what
 * a plugin reads, AssignedPodDelete).
 */
export function addAllEventHandlers(h: {
  pods: Informer<Pod>;
  nodes: Informer<Node>;
  cache: Cache;
  queue: SchedulingQueue;
  schedulerName: string;
}): void {
  const { cache, queue, schedulerName } = h;
  const assignedPodGone = (pod: Pod) => {
    cache.removePod(pod);
    queue.moveAllToActiveOrBackoffQueue(EVENTS.AssignedPodDelete);
  };
  h.pods.addHandler({
    onAdd(pod) {
      if (assigned(pod)) {
        if (!terminal(pod)) cache.addPod(pod);
      } else if (responsibleForPod(pod, schedulerName)) queue.add(pod);
    },
    onUpdate(old, pod) {
      if (assigned(pod)) {
        // Bound (by us or anyone): it leaves the queue and the cache knows it for sure.
        if (!assigned(old)) queue.delete(pod);
        if (terminal(pod)) return assignedPodGone(pod);
        if (!assigned(old)) cache.addPod(pod);
        else cache.updatePod(pod);
      } else if (responsibleForPod(pod, schedulerName)) queue.update(old, pod);
    },
    onDelete(pod) {
      if (assigned(pod)) assignedPodGone(pod);
      else {
        queue.delete(pod);
        // We may have assumed it while its bind was on the wire.
        if (cache.isAssumedPod(pod)) cache.removePod(pod);
      }
    },
  });
  h.nodes.addHandler({
    onAdd(node) {
      cache.addNode(node);
      queue.moveAllToActiveOrBackoffQueue(EVENTS.NodeAdd);
    },
    onUpdate(old, node) {
      cache.updateNode(node);
      const ev = nodeUpdateEvent(old, node);
      if (ev) queue.moveAllToActiveOrBackoffQueue(ev);
    },
    onDelete(node) {
      cache.removeNode(node);
    },
  });
}

