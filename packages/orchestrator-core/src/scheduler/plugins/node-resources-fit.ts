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
  const a = ni.allocatable;
  const tooMany = ni.pods.length + 1 > a.allowedPodNumber;
  const cpu = req.milliCPU > 0 && req.milliCPU > a.milliCPU - ni.requested.milliCPU;
  const mem = req.memory > 0 && req.memory > a.memory - ni.requested.memory;
  // The common case allocates nothing: this runs for every node of every pod.
  if (!tooMany && !cpu && !mem) return NONE;
  const out: string[] = [];
  if (tooMany) out.push(REASON_TOO_MANY_PODS);
  if (cpu) out.push(REASON_INSUFFICIENT_CPU);
  if (mem) out.push(REASON_INSUFFICIENT_MEMORY);
  return out;
}

const NONE: string[] = [];

/** leastRequestedScore: the free share of a resource after placing the pod, 0..100 (integer division). */
function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/**
 * LeastAllocated over cpu and memory, weight 1 each (upstream's default
 * ScoringStrategy), with 100m / 200Mi for containers without requests.
 * Written out per resource: it runs for every feasible node of every pod.
 */
export function leastAllocatedScore(pod: Requests, ni: NodeInfo): number {
  const a = ni.allocatable;
  let score = 0;
  let weights = 0;
  if (a.milliCPU !== 0) {
    score += leastRequestedScore(ni.nonZeroRequested.milliCPU + pod.milliCPU, a.milliCPU);
    weights++;
  }
  if (a.memory !== 0) {
    score += leastRequestedScore(ni.nonZeroRequested.memory + pod.memory, a.memory);
    weights++;
  }
  return weights === 0 ? 0 : Math.trunc(score / weights);
}

/**
 * balancedResourceScorer: 100 × (1 − the standard deviation of the cpu and
 * memory fractions), each capped at 1; for two resources that is |f1 − f2| / 2
 * (one resource: 0). Counts the pods' real requests (useRequested), as upstream.
 */
export function balancedAllocationScore(pod: Requests, ni: NodeInfo): number {
  const a = ni.allocatable;
  if (a.milliCPU === 0 || a.memory === 0) return MAX_NODE_SCORE;
  const cpu = Math.min(1, (ni.requested.milliCPU + pod.milliCPU) / a.milliCPU);
  const mem = Math.min(1, (ni.requested.memory + pod.memory) / a.memory);
  return Math.trunc((1 - Math.abs((cpu - mem) / 2)) * MAX_NODE_SCORE);
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
