/**
 * The node lifecycle controller (pkg/controller/nodelifecycle): notices
 * nodes whose kubelet went silent and makes the rest of the cluster act on it.
 *
 * - every --node-monitor-period, monitorNodeHealth: each node's health from
 *   its Ready heartbeat and its Lease in kube-node-lease (health.ts); past the
 *   grace period its kubelet conditions turn Unknown (`NodeStatusUnknown`),
 *   a `NodeNotReady` Event is recorded, and its pods are marked not Ready
 *   (MarkPodsNotReady, so the endpoints controller drops them at once); then
 *   the NoExecute taint its Ready status asks for (not-ready / unreachable)
 *   is set, rate-limited per zone (zones.ts), or removed when it is Ready
 *   again; the taint eviction controller evicts the pods;
 * - node events: the NoSchedule taints of the conditions and of
 *   spec.unschedulable (taints.ts);
 * - pod events: a pod on a node that is not Ready is marked not Ready.
 *
 * Handlers only enqueue; the decisions are the pure functions of health.ts,
 * taints.ts and zones.ts.
 */
import { hostname } from 'node:os';
import { formatTime, isConflict, isNotFound, keyOf, runWorkers, splitKey, WorkQueue, type ApiClient, type EventRecorder, type Informer, type Lease, type Node, type Pod, type PodCondition } from '@pilot/api';
import { sleep, type Logger } from '@pilot/common';
import type { Controller, ControllerContext } from '../controller.js';
import { indexPodsByNode, podsOnNode } from '../indexes.js';
import { assessNodeHealth, nodeCondition, observeNodeHealth, type NodeHealth } from './health.js';
import { NOT_READY_NO_EXECUTE, noExecuteTaintsFor, noScheduleTaintsFor, sameTaint, swapTaints, UNREACHABLE_NO_EXECUTE } from './taints.js';
import { TokenBucket, zoneEvictionRate, zoneKey, zoneStates, type ZoneState } from './zones.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export class NodeLifecycleController implements Controller {
  readonly name = 'nodelifecycle';
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly recorder: EventRecorder;
  private readonly cfg: ControllerContext['config'];
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  /** Node names whose NoSchedule taints to reconcile. */
  private readonly nodeQueue = new WorkQueue<string>({ name: 'node_lifecycle_taints' });
  /** Pod keys to mark not Ready when their node is not. */
  private readonly podQueue = new WorkQueue<string>({ name: 'node_lifecycle_pods' });
  private readonly health = new Map<string, NodeHealth>();
  /** The Ready status each node had at the last pass (a change to not Ready marks its pods). */
  private readonly lastReady = new Map<string, string | undefined>();
  /** The node objects this controller wrote last: newer than the cache until the watch brings them. */
  private readonly written = new Map<string, Node>();
  private readonly zones = new Map<string, { state: ZoneState; bucket: TokenBucket }>();
  private allWasFullyDisrupted = false;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.log = ctx.log;
    this.now = ctx.now;
    this.cfg = ctx.config;
    this.recorder = ctx.events.newRecorder({ component: 'node-controller', host: hostname() });
    this.nodes = ctx.informers.informer<Node>('nodes');
    this.leases = ctx.informers.informer<Lease>('leases', { namespace: NODE_LEASE_NAMESPACE });
    this.pods = ctx.informers.informer<Pod>('pods');
    indexPodsByNode(this.pods);
    this.nodes.addHandler({
      onAdd: (n) => this.nodeQueue.add(n.metadata.name!),
      onUpdate: (_o, n) => this.nodeQueue.add(n.metadata.name!),
      onDelete: (n) => {
        this.health.delete(n.metadata.name!);
        this.lastReady.delete(n.metadata.name!);
        this.written.delete(n.metadata.name!);
      },
    });
    this.pods.addHandler({
      onAdd: (p) => this.enqueuePod(p),
      onUpdate: (_o, p) => this.enqueuePod(p),
    });
  }

  async run(parent: AbortSignal): Promise<void> {
    const onError = (what: string) => (key: string, err: unknown) => this.log.warn({ [what]: key, err: String(err) }, `${what} sync failed; retrying`);
    // One listener on the shared signal; the workers listen here.
    const stop = new AbortController();
    const signal = stop.signal;
    parent.addEventListener(
      'abort',
      () => {
        this.nodeQueue.shutDown();
        this.podQueue.shutDown();
        stop.abort();
      },
      { once: true },
    );
    await Promise.all([
      runWorkers(this.nodeQueue, 1, (name) => this.syncNoScheduleTaints(name), { signal, onError: onError('node') }),
      runWorkers(this.podQueue, 2, (key) => this.markPodNotReady(key), { signal, onError: onError('pod') }),
      this.monitorLoop(signal),
    ]);
  }

  private enqueuePod(p: Pod): void {
    if (p.spec?.nodeName) this.podQueue.add(keyOf(p));
  }

  private async monitorLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.monitorNodeHealth();
      } catch (err) {
        this.log.error({ err: String(err) }, 'node health pass failed');
      }
      await sleep(this.cfg.nodeMonitorPeriodMs, signal).catch(() => undefined);
    }
  }

  /** One pass over every node (upstream's monitorNodeHealth). */
  async monitorNodeHealth(): Promise<void> {
    const now = this.now();
    const nowIso = formatTime(new Date(now));
    const grace = { monitorMs: this.cfg.nodeMonitorGracePeriodMs, startupMs: this.cfg.nodeStartupGracePeriodMs };
    const current: Node[] = [];
    for (const cached of this.nodes.indexer.list()) {
      const name = cached.metadata.name!;
      let node = cached;
      try {
        const h = observeNodeHealth(this.health.get(name), cached, this.leases.indexer.getByName(NODE_LEASE_NAMESPACE, name), now);
        this.health.set(name, h);
        const v = assessNodeHealth(cached, h, now, nowIso, grace);
        if (v.conditions) {
          node = await this.client.updateStatus<Node>('nodes', { ...cached, status: { ...cached.status, conditions: v.conditions } });
          this.written.set(name, node);
          // Its own write keeps the heartbeat, so the next observation sees no sign of life in it.
          this.log.info({ node: name, silentMs: now - h.probeTimestamp }, 'node stopped posting status: its conditions are Unknown');
        }
      } catch (err) {
        // A conflict means the kubelet just wrote: the next pass sees it.
        if (!isConflict(err)) this.log.warn({ node: name, err: String(err) }, 'cannot update node status');
      }
      current.push(node);
      this.noteReadiness(node);
    }
    this.handleDisruption(current, now);
    for (const node of current) {
      try {
        await this.processTaintBaseEviction(node, now, nowIso);
      } catch (err) {
        if (!isConflict(err)) this.log.warn({ node: node.metadata.name, err: String(err) }, 'cannot update node taints');
      }
    }
  }

  /** A node that turned not Ready: a NodeNotReady Event (once), and its pods marked not Ready. */
  private noteReadiness(node: Node): void {
    const name = node.metadata.name!;
    const ready = nodeCondition(node, 'Ready')?.status;
    const prev = this.lastReady.get(name);
    const seen = this.lastReady.has(name);
    this.lastReady.set(name, ready);
    if (ready === undefined || ready === 'True' || (seen && prev === ready)) return;
    if (prev === 'True') this.recorder.eventf(nodeRef(node), 'Normal', 'NodeNotReady', 'Node %s status is now: %s', name, 'NodeNotReady');
    for (const p of podsOnNode(this.pods, name)) this.podQueue.add(keyOf(p));
  }

  /** Zone states and their eviction rates (upstream's handleDisruption). */
  private handleDisruption(nodes: readonly Node[], now: number): void {
    const { states, allFullyDisrupted } = zoneStates(nodes, (n) => nodeCondition(n, 'Ready')?.status, this.cfg.unhealthyZoneThreshold);
    if (allFullyDisrupted && !this.allWasFullyDisrupted) this.log.warn('every node is not Ready: entering master disruption mode (no NoExecute taints, existing ones removed)');
    if (!allFullyDisrupted && this.allWasFullyDisrupted) {
      this.log.info('some node is Ready again: leaving master disruption mode');
      // Every node gets a full grace period again.
      for (const [name, h] of this.health) this.health.set(name, { ...h, probeTimestamp: now, readyTransitionTimestamp: now });
    }
    this.allWasFullyDisrupted = allFullyDisrupted;
    for (const [zone, { state, size }] of states) {
      const rate = zoneEvictionRate(state, size, this.cfg);
      const z = this.zones.get(zone);
      if (!z) this.zones.set(zone, { state, bucket: new TokenBucket(rate, 1, now) });
      else if (z.state !== state) {
        this.log.info({ zone: zone.replace('\x00', ''), state }, 'zone changed state');
        z.state = state;
        z.bucket.setRate(rate, now);
      }
    }
    for (const zone of [...this.zones.keys()]) if (!states.has(zone)) this.zones.delete(zone);
  }

  /**
   * The NoExecute taint the node's Ready status asks for (processTaintBaseEviction
   * + doNoExecuteTaintingPass): swapping not-ready ↔ unreachable is instant,
   * tainting a healthy node takes a token of its zone (retried next pass),
   * removing is instant; in master disruption mode only removal happens.
   */
  private async processTaintBaseEviction(node: Node, now: number, nowIso: string): Promise<void> {
    const want = noExecuteTaintsFor(nodeCondition(node, 'Ready')?.status);
    if (!want) return;
    const taints = node.spec?.taints ?? [];
    const has = (t: typeof NOT_READY_NO_EXECUTE) => taints.some((x) => sameTaint(x, t));
    let add = want.add;
    let remove = want.remove;
    if (this.allWasFullyDisrupted) {
      add = [];
      remove = [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE];
    } else if (add.length && !add.every(has)) {
      const swap = has(NOT_READY_NO_EXECUTE) || has(UNREACHABLE_NO_EXECUTE);
      if (!swap && !this.zones.get(zoneKey(node))?.bucket.tryAccept(now)) {
        this.log.info({ node: node.metadata.name }, 'NoExecute taint waits for its zone eviction rate');
        add = [];
      }
    }
    const next = swapTaints(node.spec?.taints, add, remove, nowIso);
    if (!next) return;
    this.written.set(node.metadata.name!, await this.client.update<Node>('nodes', { ...node, spec: { ...node.spec, taints: next } }));
    this.log.info({ node: node.metadata.name, taints: next.map((t) => `${t.key}:${t.effect}`) }, 'node NoExecute taints updated');
  }

  /** The NoSchedule taints of the node's conditions and spec.unschedulable (doNoScheduleTaintingPass). */
  async syncNoScheduleTaints(name: string): Promise<void> {
    const node = this.nodes.indexer.getByName(undefined, name);
    if (!node) return;
    const { add, remove } = noScheduleTaintsFor(node);
    const next = swapTaints(node.spec?.taints, add, remove, formatTime(new Date(this.now())));
    if (!next) return;
    try {
      await this.client.update<Node>('nodes', { ...node, spec: { ...node.spec, taints: next } });
    } catch (err) {
      // Gone: nothing to taint. Conflict: the update event brings the newer node back to this queue.
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
  }

  /** The cached node, or the one this controller just wrote when the watch has not brought it yet. */
  private newestNode(name: string): Node | undefined {
    const cached = this.nodes.indexer.getByName(undefined, name);
    const mine = this.written.get(name);
    if (!mine || !cached) return cached;
    return Number(mine.metadata.resourceVersion) > Number(cached.metadata.resourceVersion) ? mine : cached;
  }

  /** MarkPodsNotReady for one pod: its Ready condition turns False while its node is not Ready. */
  async markPodNotReady(key: string): Promise<void> {
    const pod = this.pods.indexer.get(key);
    const nodeName = pod?.spec?.nodeName;
    if (!pod || !nodeName) return;
    const node = this.newestNode(nodeName);
    const ready = node ? nodeCondition(node, 'Ready')?.status : undefined;
    if (ready === undefined || ready === 'True') return;
    const conditions = pod.status?.conditions ?? [];
    const cond = conditions.find((c) => c.type === 'Ready');
    if (!cond || cond.status === 'False') return;
    const updated: PodCondition = { ...cond, status: 'False', lastTransitionTime: formatTime(new Date(this.now())) };
    try {
      await this.client.updateStatus<Pod>('pods', { ...pod, status: { ...pod.status, conditions: conditions.map((c) => (c === cond ? updated : c)) } });
    } catch (err) {
      if (isNotFound(err)) return;
      // A conflict: the pod's update event queues it again with the newer object.
      if (isConflict(err)) return;
      throw err;
    }
    const { namespace, name } = splitKey(key);
    this.log.info({ pod: `${namespace}/${name}`, node: nodeName }, 'pod marked not Ready: its node is not Ready');
    this.recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
  }
}

/** Upstream records node events with the node's name as UID. */
function nodeRef(node: Node) {
  return { kind: 'Node', apiVersion: 'v1', name: node.metadata.name!, uid: node.metadata.name! };
}

export function nodeLifecycleControllerFactory(ctx: ControllerContext): Controller {
  return new NodeLifecycleController(ctx);
}
