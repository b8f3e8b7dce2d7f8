/**
 * What the plugins see: NodeInfo (a node with the pods on it, bound or
 * assumed, and the sums of their requests), PodInfo (a pod with its requests
 * computed once) and the Snapshot (every NodeInfo of one scheduling cycle),
 * as kube-scheduler's framework/types.go and internal/cache/snapshot.go.
 */
import { milliValue, parseQuantity, type Container, type Node, type Pod } from '@pilot/api';

/** schedutil.DefaultMilliCPURequest / DefaultMemoryRequest: what a container without requests counts as for scoring. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** framework.Resource: cpu in millicores, memory in bytes, pods as a count. */
export interface Resource {
  milliCPU: number;
  memory: number;
  allowedPodNumber: number;
}

function quantity(list: Record<string, string> | undefined, name: string): number | undefined {
  const v = list?.[name];
  if (v === undefined) return undefined;
  return name === 'cpu' ? milliValue(v) : Math.ceil(parseQuantity(v) - 1e-9);
}

interface Requests {
  milliCPU: number;
  memory: number;
}

/** One container's requests; `defaults` fills requests that are missing (not those set to 0), as NonMissingContainerRequests. */
function containerRequests(c: Container, defaults: Requests | undefined): Requests {
  const r = c.resources?.requests;
  return {
    milliCPU: quantity(r, 'cpu') ?? defaults?.milliCPU ?? 0,
    memory: quantity(r, 'memory') ?? defaults?.memory ?? 0,
  };
}

/**
 * resourcehelper.PodRequests: the sum of the app containers, raised to the
 * largest init container (init containers run one at a time before them;
 * sidecars — init containers with restartPolicy Always — keep running, so
 * they add to both), plus the pod's overhead.
 */
export function podRequests(pod: Pod, defaults?: Requests): Requests {
  const spec = pod.spec;
  const sum: Requests = { milliCPU: 0, memory: 0 };
  for (const c of spec?.containers ?? []) {
    const r = containerRequests(c, defaults);
    sum.milliCPU += r.milliCPU;
    sum.memory += r.memory;
  }
  const sidecars: Requests = { milliCPU: 0, memory: 0 };
  const init: Requests = { milliCPU: 0, memory: 0 };
  for (const c of spec?.initContainers ?? []) {
    const r = containerRequests(c, defaults);
    if (c.restartPolicy === 'Always') {
      sidecars.milliCPU += r.milliCPU;
      sidecars.memory += r.memory;
      init.milliCPU = Math.max(init.milliCPU, sidecars.milliCPU);
      init.memory = Math.max(init.memory, sidecars.memory);
    } else {
      init.milliCPU = Math.max(init.milliCPU, r.milliCPU + sidecars.milliCPU);
      init.memory = Math.max(init.memory, r.memory + sidecars.memory);
    }
  }
  const out: Requests = {
    milliCPU: Math.max(sum.milliCPU + sidecars.milliCPU, init.milliCPU),
    memory: Math.max(sum.memory + sidecars.memory, init.memory),
  };
  out.milliCPU += quantity(spec?.overhead, 'cpu') ?? 0;
  out.memory += quantity(spec?.overhead, 'memory') ?? 0;
  return out;
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** A pod as the scheduler keeps it: requests and host ports computed once. */
export interface PodInfo {
  pod: Pod;
  /** What NodeResourcesFit filters on. */
  requests: Requests;
  /** With 100m / 200Mi for containers that request nothing: what scoring counts. */
  nonZeroRequests: Requests;
  hostPorts: HostPort[];
}

export function podHostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (p.hostPort && p.hostPort > 0) out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
  return out;
}

export function newPodInfo(pod: Pod): PodInfo {
  return {
    pod,
    requests: podRequests(pod),
    nonZeroRequests: podRequests(pod, { milliCPU: DEFAULT_MILLI_CPU_REQUEST, memory: DEFAULT_MEMORY_REQUEST }),
    hostPorts: podHostPorts(pod),
  };
}

/** framework.ImageStateSummary: an image's size and on how many nodes it is. */
export interface ImageStateSummary {
  size: number;
  numNodes: number;
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

/** A node and what the scheduler believes runs on it (framework.NodeInfo). */
export class NodeInfo {
  readonly pods: PodInfo[] = [];
  /** Sum of the pods' requests (filtering). */
  readonly requested: Requests = { milliCPU: 0, memory: 0 };
  /** Sum of the pods' requests with defaults for the missing ones (scoring). */
  readonly nonZeroRequested: Requests = { milliCPU: 0, memory: 0 };
  allocatable: Resource;
  /** `ip/protocol/port` of every host port in use. */
  readonly usedPorts = new Set<string>();
  /** Image name → summary (the numNodes are the cache's, cluster-wide). */
  imageStates = new Map<string, ImageStateSummary>();
  /** Bumped on every change; the snapshot copies only nodes whose generation moved. */
  generation = 0;

  constructor(public node: Node) {
    this.allocatable = nodeAllocatable(node);
  }

  get name(): string {
    return this.node.metadata.name ?? '';
  }

  setNode(node: Node): void {
    this.node = node;
    this.allocatable = nodeAllocatable(node);
  }

  addPod(pi: PodInfo): void {
    this.pods.push(pi);
    this.account(pi, 1);
  }

  /** Removes the pod with that key; false when it was not here. */
  removePod(key: string): boolean {
    const i = this.pods.findIndex((p) => podKey(p.pod) === key);
    if (i < 0) return false;
    const [pi] = this.pods.splice(i, 1);
    this.account(pi!, -1);
    return true;
  }

  private account(pi: PodInfo, sign: 1 | -1): void {
    this.requested.milliCPU += sign * pi.requests.milliCPU;
    this.requested.memory += sign * pi.requests.memory;
    this.nonZeroRequested.milliCPU += sign * pi.nonZeroRequests.milliCPU;
    this.nonZeroRequested.memory += sign * pi.nonZeroRequests.memory;
    for (const hp of pi.hostPorts) {
      if (sign > 0) this.usedPorts.add(portKey(hp));
      else if (!this.pods.some((p) => p.hostPorts.some((o) => portKey(o) === portKey(hp)))) this.usedPorts.delete(portKey(hp));
    }
  }

  /** A copy for a snapshot: the same PodInfos, own lists and sums. */
  clone(): NodeInfo {
    const c = new NodeInfo(this.node);
    c.allocatable = this.allocatable;
    c.pods.push(...this.pods);
    Object.assign(c.requested, this.requested);
    Object.assign(c.nonZeroRequested, this.nonZeroRequested);
    for (const p of this.usedPorts) c.usedPorts.add(p);
    c.imageStates = this.imageStates;
    c.generation = this.generation;
    return c;
  }
}

export function portKey(hp: HostPort): string {
  return `${hp.ip}/${hp.protocol}/${hp.port}`;
}

function nodeAllocatable(node: Node): Resource {
  // As upstream: what the node does not report allocatable is 0 (a node without `pods` takes none).
  const a = node.status?.allocatable;
  return {
    milliCPU: quantity(a, 'cpu') ?? 0,
    memory: quantity(a, 'memory') ?? 0,
    allowedPodNumber: quantity(a, 'pods') ?? 0,
  };
}

/**
 * The cluster as one scheduling cycle sees it (internal/cache.Snapshot):
 * every node's NodeInfo, in a fixed order so the round-robin start of
 * findNodesThatFitPod means something.
 */
export class Snapshot {
  readonly nodeInfoList: NodeInfo[] = [];
  readonly byName = new Map<string, NodeInfo>();
  /** Node name → position in nodeInfoList. */
  readonly index = new Map<string, number>();

  static of(infos: NodeInfo[]): Snapshot {
    const s = new Snapshot();
    for (const ni of infos) {
      s.index.set(ni.name, s.nodeInfoList.length);
      s.nodeInfoList.push(ni);
      s.byName.set(ni.name, ni);
    }
    return s;
  }

  get numNodes(): number {
    return this.nodeInfoList.length;
  }

  get(name: string): NodeInfo | undefined {
    return this.byName.get(name);
  }
}
