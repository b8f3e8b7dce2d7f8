/**
 * The taint eviction controller (pkg/controller/tainteviction, the NoExecute
 * taint manager; its own controller since 1.29): deletes the pods on a node
 * with NoExecute taints they do not tolerate at once, and the ones that
 * tolerate them for tolerationSeconds when that time is up (plan.ts).
 *
 * Node events whose NoExecute taints changed queue every pod on the node;
 * pod events queue the pod. A pod's eviction time counts from when this
 * process first saw it due (as upstream, a restart starts the clocks over);
 * the workqueue's addAfter brings the pod back when it is due. An eviction is
 * a `TaintManagerEviction` Event, the pod's `DisruptionTarget` condition
 * (`DeletionByTaintManager`), then the delete.
 */
import { hostname } from 'node:os';
import { formatTime, isNotFound, keyOf, runWorkers, WorkQueue, type ApiClient, type EventRecorder, type Informer, type Node, type Pod, type Taint } from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Controller, ControllerContext } from '../controller.js';
import { indexPodsByNode, podsOnNode } from '../indexes.js';
import { planPodEviction } from './plan.js';

export class TaintEvictionController implements Controller {
  readonly name = 'taint-eviction-controller';
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly recorder: EventRecorder;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly queue = new WorkQueue<string>({ name: 'taint_eviction' });
  /** Pod key → (uid, when its eviction was first scheduled). */
  private readonly scheduled = new Map<string, { uid: string | undefined; startMs: number }>();

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.log = ctx.log;
    this.now = ctx.now;
    this.recorder = ctx.events.newRecorder({ component: 'taint-eviction-controller', host: hostname() });
    this.nodes = ctx.informers.informer<Node>('nodes');
    this.pods = ctx.informers.informer<Pod>('pods');
    indexPodsByNode(this.pods);
    this.nodes.addHandler({
      onAdd: (n) => this.enqueueNode(n),
      onUpdate: (o, n) => {
        if (noExecuteKey(o.spec?.taints) !== noExecuteKey(n.spec?.taints)) this.enqueueNode(n);
      },
      onDelete: (n) => this.enqueueNode(n),
    });
    this.pods.addHandler({
      onAdd: (p) => this.enqueuePod(p),
      onUpdate: (_o, p) => this.enqueuePod(p),
      onDelete: (p) => {
        this.scheduled.delete(keyOf(p));
      },
    });
  }

  async run(parent: AbortSignal): Promise<void> {
    // One listener on the shared signal; the workers listen here.
    const stop = new AbortController();
    parent.addEventListener(
      'abort',
      () => {
        this.queue.shutDown();
        stop.abort();
      },
      { once: true },
    );
    await runWorkers(this.queue, 4, (key) => this.syncPod(key), {
      signal: stop.signal,
      onError: (key, err) => this.log.warn({ pod: key, err: String(err) }, 'pod eviction failed; retrying'),
    });
  }

  private enqueueNode(n: Node): void {
    for (const p of podsOnNode(this.pods, n.metadata.name!)) this.queue.add(keyOf(p));
  }

  private enqueuePod(p: Pod): void {
    if (p.spec?.nodeName || this.scheduled.has(keyOf(p))) this.queue.add(keyOf(p));
  }

  /** upstream's processPodOnNode: keep, cancel, schedule or evict one pod. */
  async syncPod(key: string): Promise<void> {
    const pod = this.pods.indexer.get(key);
    const nodeName = pod?.spec?.nodeName;
    if (!pod || !nodeName || pod.metadata.deletionTimestamp) {
      this.scheduled.delete(key);
      return;
    }
    const now = this.now();
    const prev = this.scheduled.get(key);
    const startMs = prev && prev.uid === pod.metadata.uid ? prev.startMs : now;
    const taints = this.nodes.indexer.getByName(undefined, nodeName)?.spec?.taints;
    const plan = planPodEviction(pod.spec?.tolerations, taints, startMs);
    if (plan.kind === 'keep') {
      if (prev) {
        this.scheduled.delete(key);
        this.recorder.eventf(pod, 'Normal', 'TaintManagerEviction', 'Cancelling deletion of Pod %s', key);
      }
      return;
    }
    if (plan.kind === 'at' && plan.atMs > now) {
      this.scheduled.set(key, { uid: pod.metadata.uid, startMs });
      this.queue.addAfter(key, plan.atMs - now);
      return;
    }
    await this.evict(pod, key);
    this.scheduled.delete(key);
  }

  private async evict(pod: Pod, key: string): Promise<void> {
    this.recorder.eventf(pod, 'Normal', 'TaintManagerEviction', 'Marking for deletion Pod %s', key);
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    try {
      const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
      conditions.push({ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: formatTime(new Date(this.now())) });
      await this.client.patchStatus('pods', name, { status: { conditions } }, 'merge', { namespace: ns }).catch((err: unknown) => {
        // The condition is informative; the delete is what matters.
        if (!isNotFound(err)) this.log.debug({ pod: key, err: String(err) }, 'cannot add DisruptionTarget');
      });
      await this.client.delete('pods', name, { namespace: ns, ...(pod.metadata.uid ? { preconditions: { uid: pod.metadata.uid } } : {}) });
      this.log.info({ pod: key, node: pod.spec?.nodeName }, 'pod evicted: NoExecute taint not tolerated (any longer)');
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}

/** The node's NoExecute taints as one comparable string. */
function noExecuteKey(taints: readonly Taint[] | undefined): string {
  return (taints ?? [])
    .filter((t) => t.effect === 'NoExecute')
    .map((t) => `${t.key}=${t.value ?? ''}`)
    .sort()
    .join(',');
}

export function taintEvictionControllerFactory(ctx: ControllerContext): Controller {
  return new TaintEvictionController(ctx);
}
