/**
 * The scheduler's cache (internal/cache): nodes and the pods on them, from
 * the informers plus the pods the scheduler itself placed but the API has
 * not shown bound yet (assumed pods). A pod is assumed before its bind is
 * sent, so the next scheduling cycle already sees its capacity taken; a
 * failed bind forgets it; a bound pod arriving from the informer confirms
 * it; an assumed pod whose bind finished but that never shows up bound
 * expires after the TTL, so a lost watch event cannot hold capacity forever.
 *
 * Scheduling cycles read a Snapshot that updateSnapshot refreshes by copying
 * only the nodes that changed since the last one.
 */
import type { Node, Pod } from '@pilot/api';
import type { Logger } from '@pilot/common';
import { NodeInfo, newPodInfo, podKey, Snapshot, type ImageStateSummary, type PodInfo } from './node-info.js';

interface PodState {
  info: PodInfo;
  nodeName: string;
  /** Set once the bind answered; then the assumed pod may expire. */
  deadline?: number;
}

/** Upstream's pre-1.23 value; 1.32 never expires (0). pilot keeps a safety valve. */
export const DEFAULT_ASSUMED_POD_TTL_MS = 30_000;

export class Cache {
  private readonly nodes = new Map<string, NodeInfo>();
  /** Nodes whose Node object we have (a NodeInfo can exist for pods whose node is not seen yet). */
  private readonly known = new Set<string>();
  private readonly podStates = new Map<string, PodState>();
  private readonly assumed = new Set<string>();
  private readonly images = new Map<string, ImageStateSummary & { nodes: Set<string> }>();
  private readonly dirty = new Set<string>();
  private listChanged = true;

  constructor(
    private readonly log: Logger,
    private readonly ttlMs = DEFAULT_ASSUMED_POD_TTL_MS,
  ) {}

  // ------------------------------------------------------------ pods

  isAssumedPod(pod: Pod): boolean {
    return this.assumed.has(podKey(pod));
  }

  /** The node a pod is placed on in the cache (bound or assumed), if any. */
  nodeOf(pod: Pod): string | undefined {
    return this.podStates.get(podKey(pod))?.nodeName;
  }

  /** Places a pod (spec.nodeName set by the caller) before its bind is sent. */
  assumePod(pod: Pod): void {
    const key = podKey(pod);
    if (this.podStates.has(key)) throw new Error(`pod ${key} is in the cache, so can't be assumed`);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) throw new Error(`pod ${key} has no spec.nodeName to assume`);
    this.addToNode(key, newPodInfo(pod), nodeName);
    this.assumed.add(key);
  }

  /** The bind answered: the assumed pod may now expire if it never shows up bound. */
  finishBinding(pod: Pod, now = Date.now()): void {
    const st = this.podStates.get(podKey(pod));
    if (st && this.assumed.has(podKey(pod))) st.deadline = now + this.ttlMs;
  }

  /** The bind failed: the pod's capacity is free again. */
  forgetPod(pod: Pod): void {
    const key = podKey(pod);
    if (!this.assumed.has(key)) return;
    this.removeState(key);
  }

  /** A bound pod seen by the informer: confirms an assumed one, or adds it. */
  addPod(pod: Pod): void {
    const key = podKey(pod);
    const nodeName = pod.spec?.nodeName ?? '';
    const st = this.podStates.get(key);
    if (st && this.assumed.has(key)) {
      if (st.nodeName !== nodeName) this.log.warn({ pod: key, assumed: st.nodeName, bound: nodeName }, 'pod was added to a different node than it was assumed');
      this.removeState(key);
    } else if (st) this.removeState(key);
    this.addToNode(key, newPodInfo(pod), nodeName);
  }

  updatePod(pod: Pod): void {
    const key = podKey(pod);
    // An assumed pod is the scheduler's own guess until the informer confirms it.
    if (this.assumed.has(key)) return this.addPod(pod);
    this.removeState(key);
    this.addToNode(key, newPodInfo(pod), pod.spec?.nodeName ?? '');
  }

  removePod(pod: Pod): void {
    this.removeState(podKey(pod));
  }

  /** Expires assumed pods whose bind finished more than the TTL ago; returns their keys. */
  cleanupAssumedPods(now = Date.now()): string[] {
    if (this.ttlMs <= 0) return [];
    const expired: string[] = [];
    for (const key of this.assumed) {
      const st = this.podStates.get(key);
      if (st?.deadline !== undefined && now > st.deadline) expired.push(key);
    }
    for (const key of expired) {
      this.log.warn({ pod: key }, 'assumed pod expired: its bind finished but it never showed up bound');
      this.removeState(key);
    }
    return expired;
  }

  private addToNode(key: string, info: PodInfo, nodeName: string): void {
    let ni = this.nodes.get(nodeName);
    if (!ni) {
      ni = new NodeInfo({ metadata: { name: nodeName } });
      this.nodes.set(nodeName, ni);
    }
    ni.addPod(info);
    this.touch(nodeName);
    this.podStates.set(key, { info, nodeName });
  }

  private removeState(key: string): void {
    const st = this.podStates.get(key);
    if (!st) return;
    const ni = this.nodes.get(st.nodeName);
    if (ni) {
      ni.removePod(key);
      this.touch(st.nodeName);
      if (ni.pods.length === 0 && !this.known.has(st.nodeName)) this.nodes.delete(st.nodeName);
    }
    this.podStates.delete(key);
    this.assumed.delete(key);
  }

  // ------------------------------------------------------------ nodes

  addNode(node: Node): void {
    const name = node.metadata.name ?? '';
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo(node);
      this.nodes.set(name, ni);
    } else this.removeNodeImages(ni);
    ni.setNode(node);
    if (!this.known.has(name)) {
      this.known.add(name);
      this.listChanged = true;
    }
    this.addNodeImages(ni);
    this.touch(name);
  }

  updateNode(node: Node): void {
    this.addNode(node);
  }

  removeNode(node: Node): void {
    const name = node.metadata.name ?? '';
    const ni = this.nodes.get(name);
    if (!ni) return;
    this.removeNodeImages(ni);
    this.known.delete(name);
    this.listChanged = true;
    // Pods still on it keep their NodeInfo until they go (upstream keeps it too).
    if (ni.pods.length === 0) this.nodes.delete(name);
    this.touch(name);
  }

  nodeCount(): number {
    return this.known.size;
  }

  private addNodeImages(ni: NodeInfo): void {
    const states = new Map<string, ImageStateSummary>();
    for (const img of ni.node.status?.images ?? []) {
      for (const name of img.names ?? []) {
        let st = this.images.get(name);
        if (!st) {
          st = { size: img.sizeBytes ?? 0, numNodes: 0, nodes: new Set() };
          this.images.set(name, st);
        }
        if (!st.nodes.has(ni.name)) {
          st.nodes.add(ni.name);
          st.numNodes = st.nodes.size;
        }
        states.set(name, st);
      }
    }
    ni.imageStates = states;
  }

  private removeNodeImages(ni: NodeInfo): void {
    for (const name of ni.imageStates.keys()) {
      const st = this.images.get(name);
      if (!st) continue;
      st.nodes.delete(ni.name);
      st.numNodes = st.nodes.size;
      if (st.nodes.size === 0) this.images.delete(name);
    }
    ni.imageStates = new Map();
  }

  private touch(nodeName: string): void {
    const ni = this.nodes.get(nodeName);
    if (ni) ni.generation++;
    this.dirty.add(nodeName);
  }

  // ------------------------------------------------------------ snapshot

  /**
   * Brings the snapshot up to date: copies the nodes that changed since the
   * last call; rebuilds the node list only when nodes came or went.
   */
  updateSnapshot(snapshot: Snapshot): Snapshot {
    const list = snapshot.nodeInfoList;
    for (const name of this.dirty) {
      const ni = this.nodes.get(name);
      if (ni && this.known.has(name)) {
        const copy = ni.clone();
        snapshot.byName.set(name, copy);
        const i = snapshot.index.get(name);
        if (i !== undefined) list[i] = copy;
        else this.listChanged = true;
      } else snapshot.byName.delete(name);
    }
    this.dirty.clear();
    if (this.listChanged) {
      list.length = 0;
      snapshot.index.clear();
      for (const name of this.known) {
        snapshot.index.set(name, list.length);
        list.push(snapshot.byName.get(name)!);
      }
      this.listChanged = false;
    }
    return snapshot;
  }

  /** Counts, for logs and tests. */
  stats(): { nodes: number; pods: number; assumed: number } {
    return { nodes: this.known.size, pods: this.podStates.size, assumed: this.assumed.size };
  }
}
