import { createLogger } from '@pilot/common';
import type { Container, Node, Pod, PodSpec, Taint } from '@pilot/api';
import { NodeInfo, newPodInfo } from '../../src/scheduler/node-info.js';

export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  images?: { names: string[]; sizeBytes: number }[];
}

export function node(name: string, o: NodeOpts = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: {
      allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' },
      ...(o.images ? { images: o.images } : {}),
    },
  };
}

export interface PodOpts {
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  nodeName?: string;
  spec?: Partial<PodSpec>;
  containers?: Container[];
  ns?: string;
  uid?: string;
}

export function pod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: o.ns ?? 'default', uid: o.uid ?? `uid-${name}`, ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      containers: o.containers ?? [{ name: 'c', image: 'busybox', ...(Object.keys(requests).length ? { resources: { requests } } : {}) }],
      schedulerName: 'default-scheduler',
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...o.spec,
    },
    status: { phase: 'Pending' },
  };
}

/** A NodeInfo with these pods on it. */
export function nodeInfo(n: Node, pods: Pod[] = []): NodeInfo {
  const ni = new NodeInfo(n);
  for (const p of pods) ni.addPod(newPodInfo(p));
  return ni;
}

export const silentLog = createLogger('scheduler-test', { level: 'silent' });
