import type { Pod } from '@pilot/api';
import { MAX_NODE_SCORE, Status, type CycleState, type Plugin } from '../framework.js';
import { DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, podRequests, type NodeInfo } from '../node-info.js';

export const NODE_RESOURCES_FIT = 'NodeResourcesFit';
export const NODE_RESOURCES_BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';
export const REASON_TOO_MANY_PODS = 'Too many pods';
export const REASON_INSUFFICIENT_CPU = 'Insufficient cpu';
export const REASON_INSUFFICIENT_MEMORY = 'Insufficient memory';

interface Requests {
  milliCPU: number;
  memory: number;
}

const FIT_STATE = 'PreFilterNodeResourcesFit';
const SCORE_STATE = 'PreScoreNodeResourcesFit';
const BALANCED_STATE = 'PreScoreNodeResourcesBalancedAllocation';

/**
 * fitsRequest: the pod count against allocatable `pods`, then cpu and
 * memory against allocatable minus what the node's pods (bound and
 * assumed) request. A pod requesting nothing only needs a pod slot. Every
 * shortfall is a reason of its own (`Insufficient cpu`, `Insufficient memory`).
 */
export function insufficientResources(req: Requests, ni: NodeInfo): string[] {
  const out: string[] = [];
  if (ni.pods.length + 1 > ni.allocatable.allowedPodNumber) out.push(REASON_TOO_MANY_PODS);
  if (req.milliCPU === 0 && req.memory === 0) return out;
  if (req.milliCPU > 0 && req.milliCPU > ni.allocatable.milliCPU - ni.requested.milliCPU) out.push(REASON_INSUFFICIENT_CPU);
  if (req.memory > 0 && req.memory > ni.allocatable.memory - ni.requested.memory) out.push(REASON_INSUFFICIENT_MEMORY);
  return out;
}

/** leastRequestedScore: the free share of a resource after placing the pod, 0..100 (integer division). */
function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** The two resources scored, weight 1 each (upstream's default ScoringStrategy). */
function resourcePairs(ni: NodeInfo, pod: Requests, node: Requests): [number, number][] {
  return [
    [node.milliCPU + pod.milliCPU, ni.allocatable.milliCPU],
    [node.memory + pod.memory, ni.allocatable.memory],
  ];
}

/** LeastAllocated over cpu and memory (with 100m / 200Mi for containers without requests). */
export function leastAllocatedScore(pod: Requests, ni: NodeInfo): number {
  let score = 0;
  let weights = 0;
  for (const [requested, allocatable] of resourcePairs(ni, pod, ni.nonZeroRequested)) {
    if (allocatable === 0) continue;
    score += leastRequestedScore(requested, allocatable);
    weights += 1;
  }
  return weights === 0 ? 0 : Math.trunc(score / weights);
}

/**
 * balancedResourceScorer: 100 × (1 − the standard deviation of the cpu and
 * memory fractions), each capped at 1; for two resources that is |f1 − f2| / 2.
 * Counts the pods' real requests (useRequested), as upstream.
 */
export function balancedAllocationScore(pod: Requests, ni: NodeInfo): number {
  const fractions: number[] = [];
  for (const [requested, allocatable] of resourcePairs(ni, pod, ni.requested)) {
    if (allocatable === 0) continue;
    fractions.push(Math.min(1, requested / allocatable));
  }
  let std = 0;
  if (fractions.length === 2) std = Math.abs((fractions[0]! - fractions[1]!) / 2);
  else if (fractions.length > 2) {
    const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
    std = Math.sqrt(fractions.reduce((a, f) => a + (f - mean) ** 2, 0) / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

/** Filter on requests; score LeastAllocated. */
export const nodeResourcesFit: Plugin = {
  name: NODE_RESOURCES_FIT,
  preFilter(state: CycleState, pod: Pod): Status {
    state.write(FIT_STATE, podRequests(pod));
    return Status.SUCCESS;
  },
  filter(state: CycleState, pod: Pod, ni: NodeInfo): Status {
    const req = state.read<Requests>(FIT_STATE) ?? podRequests(pod);
    const reasons = insufficientResources(req, ni);
    return reasons.length ? Status.unschedulable(...reasons) : Status.SUCCESS;
  },
  preScore(state: CycleState, pod: Pod): Status {
    state.write(SCORE_STATE, podRequests(pod, { milliCPU: DEFAULT_MILLI_CPU_REQUEST, memory: DEFAULT_MEMORY_REQUEST }));
    return Status.SUCCESS;
  },
  score(state: CycleState, _pod: Pod, ni: NodeInfo): number {
    return leastAllocatedScore(state.read<Requests>(SCORE_STATE)!, ni);
  },
};

export const nodeResourcesBalancedAllocation: Plugin = {
  name: NODE_RESOURCES_BALANCED_ALLOCATION,
  preScore(state: CycleState, pod: Pod): Status {
    state.write(BALANCED_STATE, podRequests(pod));
    return Status.SUCCESS;
  },
  score(state: CycleState, _pod: Pod, ni: NodeInfo): number {
    return balancedAllocationScore(state.read<Requests>(BALANCED_STATE)!, ni);
  },
};
