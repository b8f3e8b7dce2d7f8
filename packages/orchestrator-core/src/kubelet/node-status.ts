import { formatMicroTime, type Lease, type Node, type NodeCondition, type NodeSystemInfo } from '@pilot/api';
import { Cidr, parseEnvFile } from '@pilot/common';

/**
 * The node's own objects as the kubelet computes them (pkg/kubelet/nodestatus
 * and nodelease), pure so the node-status loop only decides when to post:
 * the Node it registers (capacity/allocatable cpu, memory, pods; addresses;
 * spec.podCIDR from overlayd's subnet.env; daemonEndpoints; nodeInfo, read
 * once by system-info.ts) and the Lease in
 * kube-node-lease (renewed every 10 s, 40 s duration, MicroTime renewTime).
 */

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const NODE_LEASE_DURATION_SECONDS = 40;

export interface NodeFacts {
  name: string;
  nodeIp: string;
  hostname: string;
  cpus: number;
  memoryBytes: number;
  maxPods: number;
  kubeletPort: number;
  podCidr?: string;
  /** status.nodeInfo: OS image, kernel, runtime and kubelet versions, machine and boot IDs. */
  nodeInfo?: NodeSystemInfo;
  labels?: Record<string, string>;
}

/** FLANNEL_SUBNET=10.1.15.1/24 from overlayd's subnet.env → the subnet's network CIDR (10.1.15.0/24). */
export function podCidrFromSubnetEnv(text: string): string | undefined {
  const subnet = parseEnvFile(text)['FLANNEL_SUBNET'];
  if (subnet === undefined) return undefined;
  try {
    return Cidr.parseInterface(subnet).cidr.toString();
  } catch {
    return undefined;
  }
}

export function readyCondition(ready: boolean, message: string, now: string, previous?: NodeCondition): NodeCondition {
  const status = ready ? 'True' : 'False';
  return {
    type: 'Ready',
    status,
    reason: ready ? 'KubeletReady' : 'KubeletNotReady',
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: previous && previous.status === status ? (previous.lastTransitionTime ?? now) : now,
  } as NodeCondition;
}

export function makeNode(f: NodeFacts, ready: { ready: boolean; message: string }, now: string, previous?: Node): Node {
  const resources = { cpu: String(f.cpus), memory: `${Math.floor(f.memoryBytes / 1024)}Ki`, pods: String(f.maxPods) };
  const prevReady = previous?.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      ...(previous?.metadata ?? {}),
      name: f.name,
      labels: {
        ...(previous?.metadata?.labels ?? {}),
        'kubernetes.io/hostname': f.hostname,
        'kubernetes.io/os': f.nodeInfo?.operatingSystem || 'linux',
        ...(f.nodeInfo?.architecture ? { 'kubernetes.io/arch': f.nodeInfo.architecture } : {}),
        ...(f.labels ?? {}),
      },
    },
    spec: { ...(previous?.spec ?? {}), ...(f.podCidr ? { podCIDR: f.podCidr, podCIDRs: [f.podCidr] } : {}) },
    status: {
      ...(previous?.status ?? {}),
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: 'InternalIP', address: f.nodeIp },
        { type: 'Hostname', address: f.hostname },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: f.kubeletPort } },
      ...(f.nodeInfo ? { nodeInfo: f.nodeInfo } : {}),
      conditions: [readyCondition(ready.ready, ready.message, now, prevReady)],
    },
  } as Node;
}

/** Whether a new status differs from the posted one other than in heartbeat times. */
export function nodeStatusChanged(a: Node | undefined, b: Node): boolean {
  if (!a) return true;
  const strip = (n: Node) =>
    JSON.stringify({ spec: n.spec, labels: n.metadata?.labels, status: { ...n.status, conditions: n.status?.conditions?.map((c) => ({ ...c, lastHeartbeatTime: undefined })) } });
  return strip(a) !== strip(b);
}

export function makeLease(nodeName: string, now: Date, previous?: Lease): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { ...(previous?.metadata ?? {}), name: nodeName, namespace: NODE_LEASE_NAMESPACE },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS, renewTime: formatMicroTime(now) },
  };
}
